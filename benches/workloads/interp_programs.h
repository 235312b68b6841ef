/* The instruction set and the two programs (Collatz sequence lengths and
 * recursive Fibonacci) shared by the benchmark's two interpreters, interp.c
 * (switch dispatch) and interp_tail.c (guaranteed tail calls), so their
 * checksums agree. Included once by each. */
#ifndef REMAP_BENCH_INTERP_PROGRAMS_H
#define REMAP_BENCH_INTERP_PROGRAMS_H

#include <stdint.h>

enum op {
    PUSH, LOAD, STORE, ADD, SUB, MUL, DIV, MOD, AND, LT, EQ,
    JMP, JZ, CALL, RET, POP, DUP, HALT, OP_COUNT
};

/* collatz(limit): sum over n in [1, limit) of the Collatz path length of n. */
static int64_t collatz_code[128];

static void build_collatz(void) {
    int i = 0;
#define E(x) collatz_code[i++] = (x)
    E(PUSH); E(1); E(STORE); E(1);                 /* 0: n = 1 */
    E(PUSH); E(0); E(STORE); E(2);                 /* 4: total = 0 */
    int loop = i;                                  /* 8 */
    E(LOAD); E(1); E(LOAD); E(0); E(LT); E(JZ); int exit_patch = i; E(0);
    E(LOAD); E(1); E(STORE); E(3);                 /* m = n */
    int inner = i;
    E(LOAD); E(3); E(PUSH); E(1); E(EQ); E(JZ); int body_patch = i; E(0);
    E(LOAD); E(1); E(PUSH); E(1); E(ADD); E(STORE); E(1); /* n++ */
    E(JMP); E(loop);
    collatz_code[body_patch] = i;
    E(LOAD); E(2); E(PUSH); E(1); E(ADD); E(STORE); E(2); /* total++ */
    E(LOAD); E(3); E(PUSH); E(1); E(AND); E(JZ); int even_patch = i; E(0);
    E(LOAD); E(3); E(PUSH); E(3); E(MUL); E(PUSH); E(1); E(ADD); E(STORE); E(3); /* m = 3m+1 */
    E(JMP); E(inner);
    collatz_code[even_patch] = i;
    E(LOAD); E(3); E(PUSH); E(2); E(DIV); E(STORE); E(3); /* m = m/2 */
    E(JMP); E(inner);
    collatz_code[exit_patch] = i;
    E(LOAD); E(2); E(HALT);
#undef E
}

/* fib(n) = n < 2 ? n : fib(n-1) + fib(n-2), with CALL/RET. */
static int64_t fib_code[64];

static void build_fib(void) {
    int i = 0;
#define E(x) fib_code[i++] = (x)
    E(LOAD); E(0); E(CALL); int call_patch = i; E(0); E(HALT);  /* main: fib(arg) */
    int fib = i;
    fib_code[call_patch] = fib;
    E(LOAD); E(0); E(PUSH); E(2); E(LT); E(JZ); int rec_patch = i; E(0);
    E(LOAD); E(0); E(RET);
    fib_code[rec_patch] = i;
    E(LOAD); E(0); E(PUSH); E(1); E(SUB); E(CALL); E(fib);
    E(LOAD); E(0); E(PUSH); E(2); E(SUB); E(CALL); E(fib);
    E(ADD); E(RET);
#undef E
}

#endif

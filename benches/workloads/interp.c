/* A small stack-based bytecode interpreter (switch dispatch, locals, calls)
 * running two programs: Collatz sequence lengths and recursive Fibonacci. */
#include <stdint.h>
#include <stdio.h>

enum op {
    PUSH, LOAD, STORE, ADD, SUB, MUL, DIV, MOD, AND, LT, EQ,
    JMP, JZ, CALL, RET, POP, DUP, HALT
};

#define STACK 4096
#define FRAMES 1024
#define LOCALS 8

struct frame { int64_t locals[LOCALS]; int return_pc; };

static int64_t run(const int64_t *code, int entry, int64_t argument) {
    int64_t stack[STACK];
    static struct frame frames[FRAMES];
    int sp = 0, fp = 0, pc = entry;
    frames[0].locals[0] = argument;
    for (;;) {
        int64_t op = code[pc++];
        switch (op) {
        case PUSH: stack[sp++] = code[pc++]; break;
        case LOAD: stack[sp++] = frames[fp].locals[code[pc++]]; break;
        case STORE: frames[fp].locals[code[pc++]] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case DIV: sp--; stack[sp - 1] /= stack[sp]; break;
        case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
        case AND: sp--; stack[sp - 1] &= stack[sp]; break;
        case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case EQ: sp--; stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
        case JMP: pc = (int)code[pc]; break;
        case JZ: if (stack[--sp] == 0) pc = (int)code[pc]; else pc++; break;
        case CALL:
            fp++;
            frames[fp].return_pc = pc + 1;
            frames[fp].locals[0] = stack[--sp];
            pc = (int)code[pc];
            break;
        case RET:
            pc = frames[fp].return_pc;
            fp--;
            break;
        case POP: sp--; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case HALT: return stack[sp - 1];
        }
    }
}

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
static int64_t fib_full[64];

static void build_fib(void) {
    int i = 0;
#define E(x) fib_full[i++] = (x)
    E(LOAD); E(0); E(CALL); int call_patch = i; E(0); E(HALT);  /* main: fib(arg) */
    int fib = i;
    fib_full[call_patch] = fib;
    E(LOAD); E(0); E(PUSH); E(2); E(LT); E(JZ); int rec_patch = i; E(0);
    E(LOAD); E(0); E(RET);
    fib_full[rec_patch] = i;
    E(LOAD); E(0); E(PUSH); E(1); E(SUB); E(CALL); E(fib);
    E(LOAD); E(0); E(PUSH); E(2); E(SUB); E(CALL); E(fib);
    E(ADD); E(RET);
#undef E
}

int main(void) {
    build_collatz();
    build_fib();
    int64_t steps = run(collatz_code, 0, 300000);
    int64_t fib = run(fib_full, 0, 28);
    printf("interp checksum %lld %lld\n", (long long)steps, (long long)fib);
    return 0;
}

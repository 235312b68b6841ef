/* The bytecode interpreter of interp.c (same instruction set, same two
 * programs: Collatz sequence lengths and recursive Fibonacci), dispatched by
 * guaranteed tail calls instead of a switch: every instruction is a function
 * that ends by tail-calling the next instruction's handler through a table
 * (`musttail`), the "threaded" style of fast interpreters such as CPython
 * 3.14's and wasm3. Built for wasm32-wasi with `-mtail-call`, each dispatch
 * is a `return_call_indirect`; without tail calls it would exhaust the stack.
 *
 * Usage: interp_tail [COLLATZ_LIMIT FIB_N]; the defaults are the benchmark's
 * size (the same as interp.c, so the checksums agree). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Without guaranteed tail calls every dispatch would grow the stack. */
#if !defined(__has_attribute) || !__has_attribute(musttail)
#error "needs __attribute__((musttail)): build with clang, and -mtail-call for wasm32"
#endif

#include "interp_programs.h"

#define STACK 4096
#define FRAMES 1024
#define LOCALS 8

struct frame { int64_t locals[LOCALS]; const int64_t *return_pc; };

/* Every handler has this signature, so each dispatch is a tail call. */
#define HANDLER_ARGS const int64_t *pc, int64_t *sp, struct frame *fp
typedef int64_t (*handler)(HANDLER_ARGS);
static const handler handlers[OP_COUNT];

#define NEXT() __attribute__((musttail)) return handlers[*pc](pc + 1, sp, fp)

static int64_t op_push(HANDLER_ARGS) { *sp++ = *pc++; NEXT(); }
static int64_t op_load(HANDLER_ARGS) { *sp++ = fp->locals[*pc++]; NEXT(); }
static int64_t op_store(HANDLER_ARGS) { fp->locals[*pc++] = *--sp; NEXT(); }
static int64_t op_add(HANDLER_ARGS) { sp--; sp[-1] += sp[0]; NEXT(); }
static int64_t op_sub(HANDLER_ARGS) { sp--; sp[-1] -= sp[0]; NEXT(); }
static int64_t op_mul(HANDLER_ARGS) { sp--; sp[-1] *= sp[0]; NEXT(); }
static int64_t op_div(HANDLER_ARGS) { sp--; sp[-1] /= sp[0]; NEXT(); }
static int64_t op_mod(HANDLER_ARGS) { sp--; sp[-1] %= sp[0]; NEXT(); }
static int64_t op_and(HANDLER_ARGS) { sp--; sp[-1] &= sp[0]; NEXT(); }
static int64_t op_lt(HANDLER_ARGS) { sp--; sp[-1] = sp[-1] < sp[0]; NEXT(); }
static int64_t op_eq(HANDLER_ARGS) { sp--; sp[-1] = sp[-1] == sp[0]; NEXT(); }
static int64_t op_jmp(HANDLER_ARGS);
static int64_t op_jz(HANDLER_ARGS);
static int64_t op_call(HANDLER_ARGS);
static int64_t op_ret(HANDLER_ARGS) { pc = fp->return_pc; fp--; NEXT(); }
static int64_t op_pop(HANDLER_ARGS) { sp--; NEXT(); }
static int64_t op_dup(HANDLER_ARGS) { sp[0] = sp[-1]; sp++; NEXT(); }
static int64_t op_halt(HANDLER_ARGS) { (void)pc; (void)fp; return sp[-1]; }

/* Jumps hold absolute instruction indices; `code_base` turns them into
 * addresses (one program runs at a time). */
static const int64_t *code_base;

static int64_t op_jmp(HANDLER_ARGS) { pc = code_base + *pc; NEXT(); }
static int64_t op_jz(HANDLER_ARGS) {
    if (*--sp == 0) pc = code_base + *pc; else pc++;
    NEXT();
}
static int64_t op_call(HANDLER_ARGS) {
    fp++;
    fp->return_pc = pc + 1;
    fp->locals[0] = *--sp;
    pc = code_base + *pc;
    NEXT();
}

static const handler handlers[OP_COUNT] = {
    [PUSH] = op_push, [LOAD] = op_load, [STORE] = op_store, [ADD] = op_add,
    [SUB] = op_sub, [MUL] = op_mul, [DIV] = op_div, [MOD] = op_mod,
    [AND] = op_and, [LT] = op_lt, [EQ] = op_eq, [JMP] = op_jmp, [JZ] = op_jz,
    [CALL] = op_call, [RET] = op_ret, [POP] = op_pop, [DUP] = op_dup,
    [HALT] = op_halt,
};

static int64_t run(const int64_t *code, int64_t argument) {
    static int64_t stack[STACK];
    static struct frame frames[FRAMES];
    code_base = code;
    frames[0].locals[0] = argument;
    return handlers[code[0]](code + 1, stack, frames);
}

int main(int argc, char **argv) {
    int64_t collatz_limit = argc > 1 ? atoll(argv[1]) : 300000;
    int64_t fib_n = argc > 2 ? atoll(argv[2]) : 28;
    build_collatz();
    build_fib();
    int64_t steps = run(collatz_code, collatz_limit);
    int64_t fib = run(fib_code, fib_n);
    printf("interp checksum %lld %lld\n", (long long)steps, (long long)fib);
    return 0;
}

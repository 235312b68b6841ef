/* A small stack-based bytecode interpreter (switch dispatch, locals, calls)
 * running two programs: Collatz sequence lengths and recursive Fibonacci. */
#include <stdint.h>
#include <stdio.h>

#include "interp_programs.h"

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

int main(void) {
    build_collatz();
    build_fib();
    int64_t steps = run(collatz_code, 0, 300000);
    int64_t fib = run(fib_code, 0, 28);
    printf("interp checksum %lld %lld\n", (long long)steps, (long long)fib);
    return 0;
}

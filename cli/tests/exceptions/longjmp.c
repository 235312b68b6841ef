/* setjmp/longjmp across recursive calls. Built for wasm32-wasi with
 * -fwasm-exceptions -mllvm -wasm-enable-sjlj, every longjmp is a Wasm
 * `throw` of the `__c_longjmp` tag that a handler in main catches; built
 * natively it is the C library's. Both builds must print the same. */
#include <stdio.h>

#ifdef __wasm__
#include <stdint.h>
/* wasi-libc before 2024 has no setjmp: the layout its runtime uses
 * (wasm_sjlj_runtime.c). */
typedef struct {
    void *func_invocation_id;
    uint32_t label;
    struct { void *env; int val; } arg;
} jmp_buf[1];
int setjmp(jmp_buf env) __attribute__((returns_twice));
void longjmp(jmp_buf env, int val) __attribute__((noreturn));
#else
#include <setjmp.h>
#endif

static jmp_buf env;
static int depth_reached;

static void descend(int depth, int target) {
    depth_reached = depth;
    if (depth == target) {
        longjmp(env, depth * 3 + 1);
    }
    descend(depth + 1, target);
    puts("not reached: longjmp skips every frame");
}

int main(void) {
    int total = 0;
    for (int round = 1; round <= 4; round++) {
        int value = setjmp(env);
        if (value == 0) {
            descend(0, round * 25);
        }
        printf("round %d: longjmp from depth %d delivered %d\n", round, depth_reached, value);
        total += value;
    }
    printf("total %d\n", total);
    return 0;
}

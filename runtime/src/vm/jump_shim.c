/* Non-local exit from Wasm back to the host: the one piece of the runtime
 * that Rust cannot express, because sigsetjmp returns twice. */
#include <setjmp.h>

typedef void (*remap_body_fn)(void *data);

/* Publishes a jump buffer in *slot and runs body(data). Returns 1 when body
 * returned normally and 0 when remap_jump_back unwound to here. The signal mask
 * is not saved: the runtime's handlers run with SA_NODEFER, so nothing stays
 * blocked after a jump out of a handler. */
int remap_call_with_jump_buffer(void **slot, remap_body_fn body, void *data) {
    sigjmp_buf buffer;
    if (sigsetjmp(buffer, 0) != 0) {
        return 0;
    }
    *slot = &buffer;
    body(data);
    return 1;
}

/* Unwinds to the remap_call_with_jump_buffer that published `buffer`. */
void remap_jump_back(void *buffer) {
    siglongjmp(*(sigjmp_buf *)buffer, 1);
}

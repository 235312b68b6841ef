/* A WASI command for `remap run` tests: reports its arguments and the
 * GREETING variable, copies the file named by argv[1] to stdout, and exits
 * with the status given as argv[2]. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    const char *greeting = getenv("GREETING");
    printf("argc=%d argv0=%s\n", argc, argv[0]);
    printf("greeting=%s\n", greeting ? greeting : "(unset)");
    if (argc > 1) {
        FILE *file = fopen(argv[1], "r");
        if (!file) {
            perror(argv[1]);
            return 3;
        }
        char buffer[256];
        size_t count;
        while ((count = fread(buffer, 1, sizeof buffer, file)) > 0) {
            fwrite(buffer, 1, count, stdout);
        }
        fclose(file);
    }
    return argc > 2 ? atoi(argv[2]) : 0;
}

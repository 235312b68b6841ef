/* Arguments, environment and standard streams. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("hello from wasm\n");
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) {
        printf("argv[%d]=%s\n", i, argv[i]);
    }
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    int count = 0;
    for (char **e = environ; *e; e++) {
        count++;
    }
    printf("environ entries=%d\n", count);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        for (char *c = line; *c; c++) {
            *c = (char)toupper((unsigned char)*c);
        }
        printf("stdin: %s", line);
    }
    fprintf(stderr, "this goes to stderr\n");
    return 0;
}

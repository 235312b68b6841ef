/* Exits with the status given as argv[1], through exit() or by returning from main. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: exit exit|return STATUS\n");
        return 100;
    }
    int status = atoi(argv[2]);
    printf("leaving with %d\n", status);
    fflush(stdout);
    if (strcmp(argv[1], "exit") == 0) {
        exit(status);
    }
    return status;
}

/* Sieve of Eratosthenes over 16 M numbers, repeated; a byte array walk
 * with strided stores. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#define LIMIT (16 * 1024 * 1024)
#define REPEATS 4

int main(void) {
    unsigned char *composite = malloc(LIMIT + 1);
    if (!composite) return 1;
    unsigned long long checksum = 0;
    for (int r = 0; r < REPEATS; r++) {
        for (int64_t i = 0; i <= LIMIT; i++) composite[i] = 0;
        unsigned count = 0;
        for (int64_t i = 2; i <= LIMIT; i++) {
            if (composite[i]) continue;
            count++;
            checksum += (unsigned long long)i * (r + 1);
            for (int64_t j = i * i; j <= LIMIT; j += i) composite[j] = 1;
        }
        checksum ^= count;
    }
    printf("sieve checksum %llu\n", checksum);
    free(composite);
    return 0;
}

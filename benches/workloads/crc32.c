/* Table-driven CRC-32 and FNV-1a hashing over an 8 MiB buffer, repeated. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SIZE (8 * 1024 * 1024)
#define REPEATS 12

static uint32_t table[256];

int main(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[n] = c;
    }
    uint8_t *data = malloc(SIZE);
    if (!data) return 1;
    uint32_t seed = 1;
    for (size_t i = 0; i < SIZE; i++) {
        seed = seed * 1664525u + 1013904223u;
        data[i] = (uint8_t)(seed >> 24);
    }
    uint32_t crc_total = 0;
    uint64_t fnv_total = 0;
    for (int r = 0; r < REPEATS; r++) {
        uint32_t crc = 0xFFFFFFFFu ^ (uint32_t)r;
        for (size_t i = 0; i < SIZE; i++) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
        crc_total = crc_total * 31u + ~crc;
        uint64_t fnv = 0xcbf29ce484222325ull + (uint64_t)r;
        for (size_t i = 0; i < SIZE; i += 4) fnv = (fnv ^ *(uint32_t *)(data + i)) * 0x100000001b3ull;
        fnv_total += fnv;
    }
    printf("crc32 checksum %08x %016llx\n", crc_total, (unsigned long long)fnv_total);
    free(data);
    return 0;
}

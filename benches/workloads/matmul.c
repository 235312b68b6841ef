/* Dense double-precision matrix multiply (i-k-j order), repeated. */
#include <stdio.h>

#define N 320
#define REPEATS 12

static double a[N][N], b[N][N], c[N][N];

int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (double)((i * 7 + j * 3) % 17) / 16.0;
            b[i][j] = (double)((i * 5 + j * 11) % 13) / 12.0;
        }
    double checksum = 0;
    for (int r = 0; r < REPEATS; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) c[i][j] = 0;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double aik = a[i][k] + r;
                for (int j = 0; j < N; j++) c[i][j] += aik * b[k][j];
            }
        for (int i = 0; i < N; i++) checksum += c[i][(i * 13 + r) % N];
    }
    printf("matmul checksum %.6f\n", checksum);
    return 0;
}

/* Clocks, randomness, sleeping through poll_oneoff, and poll() on descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, what)                                                     \
    do {                                                                      \
        if (cond) {                                                           \
            printf("ok %s\n", what);                                          \
        } else {                                                              \
            printf("FAIL %s (errno %d)\n", what, errno);                      \
            failures++;                                                       \
        }                                                                     \
    } while (0)

static int64_t ns(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) {
        return -1;
    }
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv) {
    struct timespec res;
    CHECK(ns(CLOCK_REALTIME) > (int64_t)1577836800 * 1000000000, "realtime is after 2020");
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0, "monotonic resolution");
    CHECK(ns(CLOCK_PROCESS_CPUTIME_ID) >= 0, "process cpu time");
    CHECK(ns(CLOCK_THREAD_CPUTIME_ID) >= 0, "thread cpu time");
    CHECK(time(NULL) > 1577836800, "time()");

    unsigned char a[64], b[64];
    CHECK(getentropy(a, sizeof a) == 0 && getentropy(b, sizeof b) == 0 && memcmp(a, b, sizeof a) != 0,
          "getentropy gives different bytes");
    uint32_t r1 = arc4random(), r2 = arc4random(), r3 = arc4random();
    CHECK(!(r1 == r2 && r2 == r3), "arc4random");

    int64_t before = ns(CLOCK_MONOTONIC);
    struct timespec nap = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
    CHECK(nanosleep(&nap, NULL) == 0, "nanosleep 50ms");
    int64_t slept = ns(CLOCK_MONOTONIC) - before;
    CHECK(slept >= 50 * 1000 * 1000, "monotonic clock advanced by the sleep");
    before = ns(CLOCK_MONOTONIC);
    CHECK(usleep(20000) == 0 && ns(CLOCK_MONOTONIC) - before >= 20 * 1000 * 1000, "usleep 20ms");

    if (argc > 1) {
        char path[1024];
        snprintf(path, sizeof path, "%s/pollme", argv[1]);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        CHECK(fd >= 0 && write(fd, "0123456789", 10) == 10 && lseek(fd, 0, SEEK_SET) == 0, "file for poll");
        struct pollfd fds[2] = {{.fd = fd, .events = POLLRDNORM}, {.fd = 1, .events = POLLWRNORM}};
        int n = poll(fds, 2, 1000);
        CHECK(n == 2 && (fds[0].revents & POLLRDNORM) && (fds[1].revents & POLLWRNORM), "poll: file readable, stdout writable");
        struct pollfd in = {.fd = 0, .events = POLLRDNORM};
        CHECK(poll(&in, 1, 1000) == 1 && (in.revents & POLLRDNORM), "poll: stdin readable");
        before = ns(CLOCK_MONOTONIC);
        CHECK(poll(NULL, 0, 30) == 0 && ns(CLOCK_MONOTONIC) - before >= 30 * 1000 * 1000, "poll with no fds sleeps");
        close(fd);
    }
    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}

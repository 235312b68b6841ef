// A line server on a preopened listening socket (fd 3): for each of argv[1]
// connections, accepts, reads one line, sends it back upper-cased, shuts down
// its writing side, and closes. Checks that a closed descriptor is refused.
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int serve(int listener) {
    int conn = accept(listener, NULL, NULL);
    if (conn < 0) {
        perror("accept");
        return -1;
    }
    char line[256];
    size_t len = 0;
    while (len < sizeof line && (len == 0 || line[len - 1] != '\n')) {
        ssize_t n = recv(conn, line + len, sizeof line - len, 0);
        if (n <= 0) {
            perror("recv");
            return -1;
        }
        len += (size_t)n;
    }
    for (size_t i = 0; i < len; i++)
        line[i] = (char)toupper((unsigned char)line[i]);
    if (send(conn, line, len, 0) != (ssize_t)len) {
        perror("send");
        return -1;
    }
    if (shutdown(conn, SHUT_WR) != 0) {
        perror("shutdown");
        return -1;
    }
    close(conn);
    if (send(conn, "x", 1, 0) != -1 || errno != EBADF) {
        fprintf(stderr, "send on a closed descriptor did not fail with EBADF\n");
        return -1;
    }
    return (int)len;
}

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 1;
    size_t total = 0;
    for (int i = 0; i < count; i++) {
        int served = serve(3);
        if (served < 0)
            return 1;
        total += (size_t)served;
    }
    printf("served %d connections, %zu bytes\n", count, total);
    return 0;
}

/* Tries to leave the preopened directory argv[1] in every way a path can; each attempt
 * must fail. Prints "refused <how> errno=<n>" or "ESCAPED <how>"; the secret outside
 * holds the text "secret". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int escaped;

static void try_open(const char *how, const char *path) {
    errno = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("refused %s errno=%d\n", how, errno);
        return;
    }
    char buf[16] = {0};
    read(fd, buf, sizeof buf - 1);
    printf("ESCAPED %s read=%s\n", how, buf);
    escaped = 1;
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        return 2;
    }
    char path[1024];
    const char *dir = argv[1];
    snprintf(path, sizeof path, "%s/../secret", dir);
    try_open("dotdot", path);
    snprintf(path, sizeof path, "%s/sub/../../secret", dir);
    try_open("nested-dotdot", path);
    try_open("absolute", "/etc/passwd");
    snprintf(path, sizeof path, "%s/link-up", dir);
    try_open("relative-symlink", path);
    snprintf(path, sizeof path, "%s/link-abs", dir);
    try_open("absolute-symlink", path);
    snprintf(path, sizeof path, "%s/link-dir/secret", dir);
    try_open("symlinked-directory", path);
    snprintf(path, sizeof path, "%s/sub/link-climb/secret", dir);
    try_open("symlink-climbing-dotdots", path);

    /* A link the guest makes itself is no way out either. */
    snprintf(path, sizeof path, "%s/made-by-guest", dir);
    if (symlink("../secret", path) == 0) {
        try_open("guest-made-symlink", path);
    }
    errno = 0;
    int r = symlink("/etc/passwd", path);
    printf("%s absolute-symlink-creation errno=%d\n", r == 0 ? "ESCAPED" : "refused", errno);
    escaped |= r == 0;

    snprintf(path, sizeof path, "%s/../escaped-dir", dir);
    errno = 0;
    r = mkdir(path, 0755);
    printf("%s mkdir-outside errno=%d\n", r == 0 ? "ESCAPED" : "refused", errno);
    escaped |= r == 0;

    char from[1024];
    snprintf(from, sizeof from, "%s/sub", dir);
    snprintf(path, sizeof path, "%s/../moved-out", dir);
    errno = 0;
    r = rename(from, path);
    printf("%s rename-outside errno=%d\n", r == 0 ? "ESCAPED" : "refused", errno);
    escaped |= r == 0;

    snprintf(path, sizeof path, "%s/../secret", dir);
    struct stat st;
    errno = 0;
    r = stat(path, &st);
    printf("%s stat-outside errno=%d\n", r == 0 ? "ESCAPED" : "refused", errno);
    escaped |= r == 0;

    printf("%s\n", escaped ? "SANDBOX BROKEN" : "sandbox held");
    return escaped;
}

/* File I/O inside a preopened directory (argv[1]): create, write, read back, seek,
 * pread/pwrite, truncate, stat, readdir of many entries, rename, link, symlink,
 * unlink, mkdir/rmdir, timestamps. Prints one line per check; exits 1 on failure. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static int failures;

#define CHECK(cond, what)                                                            \
    do {                                                                             \
        if (cond) {                                                                  \
            printf("ok %s\n", what);                                                 \
        } else {                                                                     \
            printf("FAIL %s (errno %d: %s)\n", what, errno, strerror(errno));        \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static char *at(const char *name) {
    static char buf[8][1024];
    static int next;
    char *out = buf[next++ % 8];
    snprintf(out, 1024, "%s/%s", dir, name);
    return out;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        return 2;
    }
    dir = argv[1];

    FILE *f = fopen(at("notes.txt"), "w");
    CHECK(f != NULL, "create with fopen");
    for (int i = 0; i < 1000; i++) {
        fprintf(f, "line %04d\n", i);
    }
    CHECK(fclose(f) == 0, "write 1000 lines");

    f = fopen(at("notes.txt"), "r");
    char line[64];
    int lines = 0, in_order = 1;
    while (fgets(line, sizeof line, f)) {
        char expected[64];
        snprintf(expected, sizeof expected, "line %04d\n", lines);
        in_order &= strcmp(line, expected) == 0;
        lines++;
    }
    CHECK(lines == 1000 && in_order, "read back 1000 lines");
    CHECK(fseek(f, 10 * 500, SEEK_SET) == 0 && fgets(line, sizeof line, f) && strcmp(line, "line 0500\n") == 0,
          "fseek to line 500");
    CHECK(ftell(f) == 10 * 501, "ftell");
    fclose(f);

    int fd = open(at("notes.txt"), O_RDWR);
    CHECK(fd >= 0, "open O_RDWR");
    CHECK(pwrite(fd, "LINE", 4, 10 * 7) == 4, "pwrite");
    char buf[16] = {0};
    CHECK(pread(fd, buf, 9, 10 * 7) == 9 && strcmp(buf, "LINE 0007") == 0, "pread sees pwrite");
    CHECK(lseek(fd, 0, SEEK_CUR) == 0, "pread/pwrite keep the offset");
    CHECK(lseek(fd, -10, SEEK_END) == 9990, "lseek from end");
    CHECK(ftruncate(fd, 100) == 0, "ftruncate");
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 100 && S_ISREG(st.st_mode), "fstat size after truncate");
    CHECK(fsync(fd) == 0 && fdatasync(fd) == 0, "fsync and fdatasync");
    CHECK(posix_fadvise(fd, 0, 100, POSIX_FADV_SEQUENTIAL) == 0, "posix_fadvise");
    CHECK(close(fd) == 0, "close");
    CHECK(close(fd) == -1 && errno == EBADF, "double close is EBADF");

    fd = open(at("appended"), O_WRONLY | O_CREAT | O_APPEND, 0644);
    CHECK(write(fd, "abc", 3) == 3 && lseek(fd, 0, SEEK_SET) == 0 && write(fd, "def", 3) == 3, "append writes");
    close(fd);
    fd = open(at("appended"), O_RDONLY);
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == 6 && strcmp(buf, "abcdef") == 0, "append mode appends");
    CHECK(write(fd, "x", 1) == -1 && errno == EBADF, "write on read-only fd fails");
    close(fd);
    CHECK(open(at("appended"), O_CREAT | O_EXCL | O_WRONLY, 0644) == -1 && errno == EEXIST, "O_EXCL on existing");
    CHECK(open(at("missing"), O_RDONLY) == -1 && errno == ENOENT, "open missing is ENOENT");

    CHECK(mkdir(at("many"), 0755) == 0, "mkdir");
    CHECK(mkdir(at("many"), 0755) == -1 && errno == EEXIST, "mkdir existing is EEXIST");
    for (int i = 0; i < 500; i++) {
        char name[64];
        snprintf(name, sizeof name, "many/entry-number-%04d-with-a-long-name", i);
        int efd = open(at(name), O_WRONLY | O_CREAT, 0644);
        if (efd < 0) {
            failures++;
            break;
        }
        close(efd);
    }
    DIR *d = opendir(at("many"));
    CHECK(d != NULL, "opendir");
    int entries = 0, dots = 0;
    unsigned char seen[500] = {0};
    struct dirent *e;
    long middle = -1;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            dots++;
            continue;
        }
        int n;
        if (sscanf(e->d_name, "entry-number-%d", &n) == 1 && n >= 0 && n < 500 && !seen[n] &&
            e->d_type == DT_REG) {
            seen[n] = 1;
            entries++;
        }
        if (entries == 250) {
            middle = telldir(d);
        }
    }
    CHECK(entries == 500 && dots == 2, "readdir returns all 500 entries once");
    seekdir(d, middle);
    int rest = 0;
    while (readdir(d)) {
        rest++;
    }
    CHECK(middle >= 0 && rest > 0 && rest < 502, "telldir/seekdir resume");
    rewinddir(d);
    int again = 0;
    while (readdir(d)) {
        again++;
    }
    CHECK(again == 502, "rewinddir");
    closedir(d);
    CHECK(rmdir(at("many")) == -1 && errno == ENOTEMPTY, "rmdir non-empty is ENOTEMPTY");
    for (int i = 0; i < 500; i++) {
        char name[64];
        snprintf(name, sizeof name, "many/entry-number-%04d-with-a-long-name", i);
        if (unlink(at(name)) != 0) {
            failures++;
            break;
        }
    }
    CHECK(rmdir(at("many")) == 0, "unlink 500 files and rmdir");

    CHECK(rename(at("notes.txt"), at("renamed.txt")) == 0, "rename");
    CHECK(access(at("notes.txt"), F_OK) == -1 && access(at("renamed.txt"), F_OK) == 0, "rename moved the file");
    CHECK(link(at("renamed.txt"), at("hardlink")) == 0, "link");
    CHECK(stat(at("hardlink"), &st) == 0 && st.st_nlink == 2 && st.st_size == 100, "stat through hard link");
    CHECK(symlink("renamed.txt", at("symlink")) == 0, "symlink");
    char target[64] = {0};
    CHECK(readlink(at("symlink"), target, sizeof target - 1) == 11 && strcmp(target, "renamed.txt") == 0, "readlink");
    CHECK(lstat(at("symlink"), &st) == 0 && S_ISLNK(st.st_mode), "lstat sees the link");
    CHECK(stat(at("symlink"), &st) == 0 && S_ISREG(st.st_mode), "stat follows the link");

    struct timespec times[2] = {{.tv_sec = 1000000000, .tv_nsec = 0}, {.tv_sec = 1234567890, .tv_nsec = 5}};
    CHECK(utimensat(AT_FDCWD, at("renamed.txt"), times, 0) == 0, "utimensat");
    CHECK(stat(at("renamed.txt"), &st) == 0 && st.st_mtim.tv_sec == 1234567890 && st.st_atim.tv_sec == 1000000000,
          "stat shows the new times");

    CHECK(unlink(at("symlink")) == 0 && unlink(at("hardlink")) == 0, "unlink links");
    CHECK(unlink(at("renamed.txt")) == 0 && unlink(at("appended")) == 0, "unlink files");
    CHECK(unlink(at("renamed.txt")) == -1 && errno == ENOENT, "unlink missing is ENOENT");

    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}

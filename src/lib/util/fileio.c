/* fileio.c - capped reads, atomic writes, mkdir -p. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aieb/fileio.h"

int aieb_read_file(const char *path, size_t max_len, char **data, size_t *len, aieb_err *err)
{
    *data = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return aieb_errf(err, e == ENOENT ? AIEB_ENOTFOUND : AIEB_EIO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return aieb_errf(err, AIEB_EIO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return aieb_errf(err, AIEB_EINVAL, "%s: is a directory, expected a file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return aieb_errf(err, AIEB_EINVAL, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > max_len) {
        close(fd);
        return aieb_errf(err, AIEB_ETOOBIG, "%s: %lld bytes, larger than the %zu-byte limit", path,
                         (long long)st.st_size, max_len);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return aieb_errf(err, AIEB_EIO, "%s: %s", path, strerror(e));
        }
        if (r == 0)
            break; /* file shrank while reading */
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    if (len)
        *len = got;
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int aieb_write_file_atomic(const char *path, const void *data, size_t len, aieb_err *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return aieb_errf(err, AIEB_EINVAL, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return aieb_errf(err, AIEB_EIO, "%s: cannot create a temporary file: %s", path,
                         strerror(errno));
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return aieb_errf(err, AIEB_EIO, "%s: write failed: %s", path, strerror(e));
    }
    fchmod(fd, 0644);
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return aieb_errf(err, AIEB_EIO, "%s: rename failed: %s", path, strerror(e));
    }
    return 0;
}

int aieb_mkdir_p(const char *path, aieb_err *err)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return aieb_errf(err, AIEB_EINVAL, "invalid directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return aieb_errf(err, AIEB_EIO, "%s: cannot create directory: %s", buf,
                             strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return aieb_errf(err, AIEB_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return aieb_errf(err, AIEB_EIO, "%s: exists and is not a directory", buf);
    return 0;
}

int aieb_append_file(const char *path, const void *data, size_t len, aieb_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return aieb_errf(err, AIEB_EIO, "%s: cannot open for append: %s", path, strerror(errno));
    if (write_all(fd, data, len) != 0) {
        int e = errno;
        close(fd);
        return aieb_errf(err, AIEB_EIO, "%s: append failed: %s", path, strerror(e));
    }
    fdatasync(fd);
    close(fd);
    return 0;
}

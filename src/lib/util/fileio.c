/* fileio.c - capped reads, atomic writes, mkdir -p. */
#include <errno.h>
#include <pthread.h>
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

/* fsyncs the directory holding path, so a rename into it is durable. */
static int sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The last steps of every atomic write: fsync, 0644, checked close, rename,
 * directory fsync. Closes fd in any case; removes tmp on failure. */
static int finish_atomic(int fd, const char *tmp, const char *path, aieb_err *err)
{
    int bad = fsync(fd) != 0 || fchmod(fd, 0644) != 0;
    int e = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        return aieb_errf(err, AIEB_EIO, "%s: write failed: %s", path, strerror(e ? e : EIO));
    }
    sync_dir_of(path); /* best effort: the file itself is whole either way */
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
    if (write_all(fd, data, len) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return aieb_errf(err, AIEB_EIO, "%s: write failed: %s", path, strerror(e));
    }
    return finish_atomic(fd, tmp, path, err);
}

int aieb_atomic_open(aieb_atomic_file *af, const char *path, aieb_err *err)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(path);
    af->path = strdup(path);
    af->tmp = malloc(n + 16);
    if (!af->path || !af->tmp) {
        aieb_atomic_abort(af);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    snprintf(af->tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(af->tmp);
    af->f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!af->f) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(af->tmp);
        }
        free(af->tmp);
        af->tmp = NULL;
        aieb_atomic_abort(af);
        return aieb_errf(err, AIEB_EIO, "%s: cannot create a temporary file: %s", path,
                         strerror(e));
    }
    return 0;
}

int aieb_atomic_commit(aieb_atomic_file *af, aieb_err *err)
{
    int bad = ferror(af->f) || fflush(af->f) != 0;
    int e = errno;
    int fd = dup(fileno(af->f)); /* fclose closes its fd; finish_atomic wants one */
    if (fclose(af->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    af->f = NULL;
    int rc;
    if (bad || fd < 0) {
        if (fd >= 0)
            close(fd);
        unlink(af->tmp);
        rc = aieb_errf(err, AIEB_EIO, "%s: write failed: %s", af->path, strerror(e ? e : EIO));
    } else {
        rc = finish_atomic(fd, af->tmp, af->path, err);
    }
    free(af->tmp);
    af->tmp = NULL;
    aieb_atomic_abort(af);
    return rc;
}

void aieb_atomic_abort(aieb_atomic_file *af)
{
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
    }
    if (af->tmp) {
        unlink(af->tmp);
        free(af->tmp);
        af->tmp = NULL;
    }
    free(af->path);
    af->path = NULL;
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

/* ==== Lines appended from a thread of their own ============================ */

struct aieb_line_writer {
    char *path;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *queued; /* bytes waiting, guarded by mu */
    size_t len, cap;
    int closing;
    int err_no; /* first write error (errno), 0 when none */
    pthread_t thread;
};

static void *line_writer_main(void *arg)
{
    aieb_line_writer *w = arg;
    char *mine = NULL;
    size_t mine_cap = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->len && !w->closing)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->len && w->closing)
            break;
        /* take the whole batch; the caller goes on filling a fresh buffer */
        char *batch = w->queued;
        size_t n = w->len, cap = w->cap;
        w->queued = mine;
        w->cap = mine_cap;
        w->len = 0;
        pthread_mutex_unlock(&w->mu);
        int fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int e = 0;
        if (fd < 0 || write_all(fd, batch, n) != 0 || fdatasync(fd) != 0)
            e = errno ? errno : EIO;
        if (fd >= 0)
            close(fd);
        mine = batch;
        mine_cap = cap;
        pthread_mutex_lock(&w->mu);
        if (e && !w->err_no)
            w->err_no = e;
    }
    pthread_mutex_unlock(&w->mu);
    free(mine);
    return NULL;
}

int aieb_line_writer_open(const char *path, aieb_line_writer **out, aieb_err *err)
{
    *out = NULL;
    aieb_line_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int rc = pthread_create(&w->thread, NULL, line_writer_main, w);
    if (rc != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w->path);
        free(w);
        return aieb_errf(err, AIEB_EIO, "%s: cannot start a writer thread: %s", path, strerror(rc));
    }
    *out = w;
    return 0;
}

int aieb_line_writer_push(aieb_line_writer *w, const char *data, size_t len)
{
    pthread_mutex_lock(&w->mu);
    if (w->len + len > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + len)
            cap *= 2;
        char *p = realloc(w->queued, cap);
        if (!p) {
            pthread_mutex_unlock(&w->mu);
            return AIEB_ENOMEM;
        }
        w->queued = p;
        w->cap = cap;
    }
    memcpy(w->queued + w->len, data, len);
    w->len += len;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int aieb_line_writer_close(aieb_line_writer *w, aieb_err *err)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->closing = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    int rc = w->err_no
                 ? aieb_errf(err, AIEB_EIO, "%s: append failed: %s", w->path, strerror(w->err_no))
                 : 0;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->queued);
    free(w->path);
    free(w);
    return rc;
}

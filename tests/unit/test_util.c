/* test_util.c - buf, stats, fileio, err, log level parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aieb/buf.h"
#include "aieb/clock.h"
#include "aieb/err.h"
#include "aieb/fileio.h"
#include "aieb/log.h"
#include "aieb/stats.h"
#include "util/embedded.h"

static void buf_grows_and_caps(void **state)
{
    aieb_buf b;
    aieb_buf_init(&b, 10);
    assert_int_equal(aieb_buf_puts(&b, "hello"), 0);
    assert_int_equal(aieb_buf_printf(&b, "%d", 1234), 0);
    assert_string_equal(b.data, "hello1234");
    /* 9 + 1 = 10 is the cap exactly; one more byte is too big and changes nothing */
    assert_int_equal(aieb_buf_puts(&b, "x"), 0);
    assert_int_equal(aieb_buf_puts(&b, "y"), AIEB_ETOOBIG);
    assert_int_equal(aieb_buf_printf(&b, "%s", "zz"), AIEB_ETOOBIG);
    assert_string_equal(b.data, "hello1234x");
    aieb_buf_consume(&b, 5);
    assert_string_equal(b.data, "1234x");
    aieb_buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    char *s = aieb_buf_steal(&b);
    assert_string_equal(s, "");
    free(s);
    aieb_buf_free(&b);
}

static void stats_match_numpy(void **state)
{
    /* numpy: mean 5.5, median 5.5, std(ddof=1) 3.0276503540974917,
     * percentile 90 -> 9.1, 95 -> 9.55, 99 -> 9.91 */
    double v[] = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5, NAN};
    aieb_stats s;
    aieb_stats_compute(v, 11, &s);
    assert_int_equal(s.n, 10);
    assert_float_equal(s.mean, 5.5, 1e-12);
    assert_float_equal(s.median, 5.5, 1e-12);
    assert_float_equal(s.std, 3.0276503540974917, 1e-12);
    assert_float_equal(s.p90, 9.1, 1e-12);
    assert_float_equal(s.p95, 9.55, 1e-12);
    assert_float_equal(s.p99, 9.91, 1e-12);
    assert_float_equal(s.min, 1, 0);
    assert_float_equal(s.max, 10, 0);

    aieb_stats e;
    aieb_stats_compute(v, 0, &e);
    assert_int_equal(e.n, 0);
    assert_float_equal(e.mean, 0, 0);
    double one = 3.5;
    aieb_stats_compute(&one, 1, &e);
    assert_float_equal(e.p99, 3.5, 0);
    assert_float_equal(e.std, 0, 0);
}

/* Student's t against published quantiles (df 40, 60, 120: 2.0211, 2.0003,
 * 1.9799) and a hand-computed interval. */
static void student_t_and_ci(void **state)
{
    (void)state;
    assert_float_equal(aieb_student_t975(1), 12.7062, 1e-9);
    assert_float_equal(aieb_student_t975(2), 4.3027, 1e-9);
    assert_float_equal(aieb_student_t975(30), 2.0423, 1e-9);
    assert_float_equal(aieb_student_t975(31), 2.0395, 2e-4); /* the expansion meets the table */
    assert_float_equal(aieb_student_t975(40), 2.0211, 2e-4);
    assert_float_equal(aieb_student_t975(60), 2.0003, 2e-4);
    assert_float_equal(aieb_student_t975(120), 1.9799, 2e-4);
    assert_true(isnan(aieb_student_t975(0)));
    double v[] = {10, NAN, 12, 14, INFINITY};
    aieb_mean_ci ci;
    aieb_mean_ci95(v, 5, &ci);
    assert_int_equal(ci.n, 3);
    assert_float_equal(ci.mean, 12, 1e-12);
    assert_float_equal(ci.std, 2, 1e-12);
    assert_float_equal(ci.lo, 12 - 4.3027 * 2 / sqrt(3), 1e-9);
    assert_float_equal(ci.hi, 12 + 4.3027 * 2 / sqrt(3), 1e-9);
    assert_true(isnan(v[1]));  /* not reordered */
    aieb_mean_ci95(v, 1, &ci); /* one value: a mean, no spread */
    assert_int_equal(ci.n, 1);
    assert_float_equal(ci.mean, 10, 0);
    assert_true(isnan(ci.std) && isnan(ci.lo) && isnan(ci.hi));
    aieb_mean_ci95(v + 1, 1, &ci); /* none */
    assert_int_equal(ci.n, 0);
    assert_true(isnan(ci.mean));
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 0777;
}

/* Every output the same way: whole or not at all, 0644 whatever the umask. */
static void atomic_writers(void **state)
{
    (void)state;
    char dir[] = "/tmp/aieb-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    snprintf(bad, sizeof bad, "%s/no/such/dir/out.csv", dir);
    mode_t old = umask(077);
    aieb_err err = {0};
    assert_int_equal(aieb_write_file_atomic(path, "a\n", 2, &err), 0);
    assert_int_equal(mode_of(path), 0644);
    aieb_atomic_file af;
    assert_int_equal(aieb_atomic_open(&af, path, &err), 0);
    fprintf(af.f, "streamed %d\n", 42);
    assert_int_equal(aieb_atomic_commit(&af, &err), 0);
    umask(old);
    assert_int_equal(mode_of(path), 0644);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(aieb_read_file(path, 1024, &data, &len, &err), 0);
    assert_string_equal(data, "streamed 42\n");
    free(data);
    /* abort: the old file stays, no temporary left */
    assert_int_equal(aieb_atomic_open(&af, path, &err), 0);
    fputs("half", af.f);
    aieb_atomic_abort(&af);
    assert_int_equal(aieb_read_file(path, 1024, &data, &len, &err), 0);
    assert_string_equal(data, "streamed 42\n");
    free(data);
    DIR *d = opendir(dir);
    struct dirent *de;
    int entries = 0;
    while ((de = readdir(d)) != NULL)
        entries += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1);
    assert_int_equal(aieb_atomic_open(&af, bad, &err), AIEB_EIO);
    assert_non_null(strstr(err.msg, "no/such/dir"));
    assert_int_equal(aieb_write_file_atomic(bad, "x", 1, &err), AIEB_EIO);
    unlink(path);

    /* lines appended from a thread of their own: all of them, in order */
    aieb_line_writer *w = NULL;
    assert_int_equal(aieb_line_writer_open(path, &w, &err), 0);
    char line[32];
    for (int i = 0; i < 500; i++) {
        int n = snprintf(line, sizeof line, "line %d\n", i);
        assert_int_equal(aieb_line_writer_push(w, line, (size_t)n), 0);
    }
    assert_int_equal(aieb_line_writer_close(w, &err), 0);
    assert_int_equal(aieb_read_file(path, 1 << 20, &data, &len, &err), 0);
    char *p = data;
    for (int i = 0; i < 500; i++) {
        int n = snprintf(line, sizeof line, "line %d\n", i);
        assert_memory_equal(p, line, (size_t)n);
        p += n;
    }
    assert_int_equal(*p, 0);
    free(data);
    assert_int_equal(mode_of(path), 0644);
    unlink(path);
    /* a file that cannot be written: the error comes back at close */
    assert_int_equal(aieb_line_writer_open(bad, &w, &err), 0);
    assert_int_equal(aieb_line_writer_push(w, "x\n", 2), 0);
    assert_int_equal(aieb_line_writer_close(w, &err), AIEB_EIO);
    assert_non_null(strstr(err.msg, "no/such/dir"));
    assert_int_equal(aieb_line_writer_close(NULL, &err), 0);
    rmdir(dir);
}

static void fileio_roundtrip_and_errors(void **state)
{
    char dir[] = "/tmp/aieb-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512], sub[512];
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    aieb_err err = {0};
    assert_int_equal(aieb_mkdir_p(sub, &err), 0);
    assert_int_equal(aieb_mkdir_p(sub, &err), 0); /* existing is fine */
    snprintf(path, sizeof path, "%s/f.txt", sub);
    assert_int_equal(aieb_write_file_atomic(path, "abc", 3, &err), 0);
    assert_int_equal(aieb_append_file(path, "de", 2, &err), 0);
    char *data;
    size_t len;
    assert_int_equal(aieb_read_file(path, 100, &data, &len, &err), 0);
    assert_int_equal(len, 5);
    assert_string_equal(data, "abcde");
    free(data);

    assert_int_equal(aieb_read_file(path, 4, &data, &len, &err), AIEB_ETOOBIG);
    assert_non_null(strstr(err.msg, "limit"));
    assert_int_equal(aieb_read_file(sub, 100, &data, &len, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "directory"));
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(aieb_read_file(path, 100, &data, &len, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, path));
    /* a file where a directory is wanted */
    snprintf(path, sizeof path, "%s/f.txt/x", sub);
    assert_int_not_equal(aieb_mkdir_p(path, &err), 0);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void err_and_exit_status(void **state)
{
    aieb_err err = {0};
    assert_int_equal(aieb_errf(&err, AIEB_EIO, "read %s", "x"), AIEB_EIO);
    aieb_err_prefix(&err, "rapl");
    assert_string_equal(err.msg, "rapl: read x");
    assert_int_equal(err.code, AIEB_EIO);
    assert_int_equal(aieb_exit_status(0), 0);
    assert_int_equal(aieb_exit_status(AIEB_EINVAL), 2);
    assert_int_equal(aieb_exit_status(AIEB_EENV), 3);
    assert_int_equal(aieb_exit_status(AIEB_EINTR), 130);
    assert_int_equal(aieb_exit_status(AIEB_EFAIL), 1);
    assert_int_equal(aieb_errf(NULL, AIEB_EIO, "ignored"), AIEB_EIO);
}

static void log_levels_parse(void **state)
{
    aieb_log_level lv = AIEB_LOG_INFO;
    assert_int_equal(aieb_log_parse_level("debug", &lv), 0);
    assert_int_equal(lv, AIEB_LOG_DEBUG);
    assert_int_equal(aieb_log_parse_level("WARNING", &lv), 0);
    assert_int_equal(lv, AIEB_LOG_WARNING);
    assert_int_equal(aieb_log_parse_level("loud", &lv), AIEB_EINVAL);
    assert_int_equal(lv, AIEB_LOG_WARNING);
}

/* A URL's password is shown as ***; a token as user name likewise; nothing else. */
static void url_redact(void **state)
{
    static const struct {
        const char *in, *want;
        int has;
    } cases[] = {
        {"http://user:secret@host:9090/api", "http://user:***@host:9090/api", 1},
        {"https://TOKEN@host/v1", "https://***@host/v1", 1},
        {"http://u:p@ss@host/", "http://u:***@host/", 1}, /* the last '@' ends it */
        {"http://host:8000/v1", "http://host:8000/v1", 0},
        {"http://host/a@b?x=@#@", "http://host/a@b?x=@#@", 0}, /* '@' past the authority */
        {"user:pass@host", "user:pass@host", 0},               /* no scheme: not a URL */
        {"://u:p@host", "://u:p@host", 0},
        {"my model@2", "my model@2", 0},
        {"", "", 0},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_string_equal(aieb_url_redact(cases[i].in, buf, sizeof buf), cases[i].want);
        assert_int_equal(aieb_url_has_userinfo(cases[i].in), cases[i].has);
    }
    assert_string_equal(aieb_url_redact(NULL, buf, sizeof buf), "");
    assert_int_equal(aieb_url_has_userinfo(NULL), 0);
    char small[12]; /* truncated, never past cap, password never partly shown */
    assert_string_equal(aieb_url_redact("http://user:secret@host", small, sizeof small),
                        "http://user");
}

static void clock_is_monotonic(void **state)
{
    int64_t a = aieb_now_ns();
    assert_int_equal(aieb_sleep_ns(2 * AIEB_NS_PER_MS, NULL), 0);
    int64_t b = aieb_now_ns();
    assert_true(b - a >= 2 * AIEB_NS_PER_MS);
    volatile int stop = 1;
    assert_int_equal(aieb_sleep_ns(AIEB_NS_PER_S, &stop), AIEB_EINTR);
    char buf[32];
    assert_string_equal(aieb_format_utc(0, 1, buf), "19700101T000000Z");
    assert_string_equal(aieb_format_utc(86400LL * AIEB_NS_PER_S, 0, buf), "1970-01-02T00:00:00");
}

static void embedded_table_ends(void **state)
{
    assert_null(aieb_embedded_find("no-such-file"));
    for (const aieb_embedded_file *f = aieb_embedded_files; f->name; f++)
        assert_int_equal(f->data[f->len], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_grows_and_caps), cmocka_unit_test(stats_match_numpy),
        cmocka_unit_test(student_t_and_ci),   cmocka_unit_test(fileio_roundtrip_and_errors),
        cmocka_unit_test(atomic_writers),     cmocka_unit_test(err_and_exit_status),
        cmocka_unit_test(log_levels_parse),   cmocka_unit_test(url_redact),
        cmocka_unit_test(clock_is_monotonic), cmocka_unit_test(embedded_table_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

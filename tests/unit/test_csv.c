/* test_csv.c - quoting, header once, differing header -> side file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/csv.h"
#include "aieb/fileio.h"

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/aieb-csv-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static char *slurp(const char *path)
{
    char *d;
    size_t n;
    aieb_err err;
    if (aieb_read_file(path, 1 << 20, &d, &n, &err) != 0)
        return NULL;
    return d;
}

static void quoting(void **state)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_csv_field(&b, "plain"), 0);
    assert_int_equal(aieb_csv_field(&b, "a,b"), 0);
    assert_int_equal(aieb_csv_field(&b, "say \"hi\"\n"), 0);
    assert_int_equal(aieb_csv_field(&b, NULL), 0);
    assert_string_equal(b.data, "plain\"a,b\"\"say \"\"hi\"\"\n\"");
    aieb_buf_free(&b);
}

static void header_once_then_rows(void **state)
{
    char path[128];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    const char *cols[] = {"name", "energy_wh"};
    const char *v1[] = {"a", "1.5"};
    const char *v2[] = {"b,c", NULL};
    aieb_err err = {0};
    char *w = NULL;
    assert_int_equal(aieb_csv_append_row(path, cols, v1, 2, &w, &err), 0);
    assert_string_equal(w, path);
    free(w);
    assert_int_equal(aieb_csv_append_row(path, cols, v2, 2, NULL, &err), 0);
    char *d = slurp(path);
    assert_string_equal(d, "name,energy_wh\na,1.5\n\"b,c\",\n");
    free(d);
}

static void differing_header_goes_beside(void **state)
{
    char path[128], side[128];
    snprintf(path, sizeof path, "%s/old.csv", dir);
    snprintf(side, sizeof side, "%s/old.1.csv", dir);
    aieb_err err = {0};
    assert_int_equal(aieb_write_file_atomic(path, "x,y\n1,2\n", 8, &err), 0);
    const char *cols[] = {"name", "energy_wh"};
    const char *v[] = {"a", "1"};
    char *w = NULL;
    assert_int_equal(aieb_csv_append_row(path, cols, v, 2, &w, &err), 0);
    assert_string_equal(w, side);
    free(w);
    char *d = slurp(path);
    assert_string_equal(d, "x,y\n1,2\n"); /* untouched */
    free(d);
    /* the next row finds the side file's matching header and appends there */
    assert_int_equal(aieb_csv_append_row(path, cols, v, 2, &w, &err), 0);
    assert_string_equal(w, side);
    free(w);
    d = slurp(side);
    assert_string_equal(d, "name,energy_wh\na,1\na,1\n");
    free(d);
}

static void unwritable_directory_fails(void **state)
{
    const char *cols[] = {"a"};
    const char *v[] = {"1"};
    aieb_err err = {0};
    assert_int_equal(aieb_csv_append_row("/nonexistent-dir/x.csv", cols, v, 1, NULL, &err),
                     AIEB_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.csv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quoting),
        cmocka_unit_test(header_once_then_rows),
        cmocka_unit_test(differing_header_goes_beside),
        cmocka_unit_test(unwritable_directory_fails),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

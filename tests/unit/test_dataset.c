/* test_dataset.c - built-in prompts, local files (.jsonl .json .csv .txt), caps,
 * num_samples, empty rows, truncation, UTF-8. Fixtures: tests/fixtures/datasets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aieb/dataset.h"

static char fixture_dir[1024];

static const char *fx(const char *name)
{
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", fixture_dir, name);
    return path;
}

static void load_ok(const char *name, const aieb_dataset_options *base, aieb_dataset *ds)
{
    aieb_dataset_options o;
    if (base)
        o = *base;
    else
        aieb_dataset_options_init(&o);
    o.name = name;
    aieb_err err = {0};
    int rc = aieb_dataset_load(&o, ds, &err);
    if (rc)
        fail_msg("%s: rc %d: %s", name, rc, err.msg);
}

/* Loads name expecting code, with needle(s) in the message. */
static void load_fails(const char *name, const aieb_dataset_options *base, int code,
                       const char *needle1, const char *needle2)
{
    aieb_dataset_options o;
    if (base)
        o = *base;
    else
        aieb_dataset_options_init(&o);
    o.name = name;
    aieb_err err = {0};
    aieb_dataset ds;
    int rc = aieb_dataset_load(&o, &ds, &err);
    if (rc != code || (needle1 && !strstr(err.msg, needle1)) ||
        (needle2 && !strstr(err.msg, needle2)))
        fail_msg("%s: rc %d '%s'; want %d with '%s' and '%s'", name, rc, err.msg, code,
                 needle1 ? needle1 : "", needle2 ? needle2 : "");
    assert_int_equal(ds.n, 0);
    assert_null(ds.prompts);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* ==== Built-in ================================================================ */

static void builtin_has_100_varied_prompts(void **state)
{
    aieb_dataset ds;
    load_ok("builtin", NULL, &ds);
    assert_true(ds.n >= 100);
    assert_int_equal(ds.rows_empty, 0);
    assert_string_equal(ds.source, "builtin");
    size_t min = SIZE_MAX, max = 0, short_n = 0, long_n = 0, code_n = 0, summary_n = 0;
    for (size_t i = 0; i < ds.n; i++) {
        const aieb_prompt *p = &ds.prompts[i];
        assert_true(p->chars > 0);
        assert_true(strlen(p->text) >= p->chars);
        assert_int_equal(p->source_row, i);
        min = p->chars < min ? p->chars : min;
        max = p->chars > max ? p->chars : max;
        short_n += p->chars < 80;
        long_n += p->chars > 400;
        code_n += strstr(p->text, "function") || strstr(p->text, "program") ? 1 : 0;
        summary_n += strncmp(p->text, "Summar", 6) == 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->text, ds.prompts[j].text) == 0)
                fail_msg("builtin prompts %zu and %zu are the same", j, i);
    }
    assert_true(min < 60);
    assert_true(max > 1500);
    assert_true(short_n >= 15);
    assert_true(long_n >= 15);
    assert_true(code_n >= 10);
    assert_true(summary_n >= 10);
    aieb_dataset_free(&ds);

    /* "Builtin" in any case; its column is always "text"; num_samples applies */
    aieb_dataset_options o;
    aieb_dataset_options_init(&o);
    o.text_column = "prompt";
    o.num_samples = 7;
    load_ok("BUILTIN", &o, &ds);
    assert_int_equal(ds.n, 7);
    aieb_dataset_free(&ds);
    o.name = NULL; /* NULL name = builtin */
    aieb_err err = {0};
    assert_int_equal(aieb_dataset_load(&o, &ds, &err), 0);
    assert_int_equal(ds.n, 7);
    aieb_dataset_free(&ds);
    aieb_dataset_free(NULL);
}

/* ==== Formats ================================================================ */

static void jsonl_reads_rows(void **state)
{
    aieb_dataset ds;
    load_ok(fx("prompts.jsonl"), NULL, &ds);
    assert_int_equal(ds.n, 3);
    assert_string_equal(ds.prompts[0].text, "What is the capital of France?");
    assert_int_equal(ds.prompts[0].source_row, 0);
    assert_string_equal(ds.prompts[1].text,
                        "Caf\xc3\xa9 au lait, s\xe2\x80\x99il vous pla\xc3\xaet");
    assert_int_equal(ds.prompts[1].chars, 29);
    assert_int_equal(ds.prompts[1].source_row, 3);
    assert_string_equal(ds.prompts[2].text, "Line one\nLine two");
    assert_int_equal(ds.prompts[2].source_row, 6);
    assert_int_equal(ds.rows_read, 6); /* the blank line is not a row */
    assert_int_equal(ds.rows_empty, 3);
    assert_false(ds.from_cache);
    assert_null(ds.cache_path);
    aieb_dataset_free(&ds);
    assert_null(ds.prompts);
}

static void json_reads_arrays_and_data(void **state)
{
    aieb_dataset ds;
    load_ok(fx("prompts.json"), NULL, &ds);
    assert_int_equal(ds.n, 2);
    assert_string_equal(ds.prompts[1].text, "Third prompt");
    assert_int_equal(ds.prompts[1].source_row, 2);
    aieb_dataset_free(&ds);

    aieb_dataset_options o;
    aieb_dataset_options_init(&o);
    o.text_column = "prompt";
    load_ok(fx("prompts_data.json"), &o, &ds);
    assert_int_equal(ds.n, 3);
    assert_string_equal(ds.prompts[2].text, "Gamma");
    assert_int_equal(ds.prompts[2].source_row, 3);
    assert_int_equal(ds.rows_empty, 1);
    aieb_dataset_free(&ds);

    load_ok(fx("strings.json"), NULL, &ds);
    assert_int_equal(ds.n, 2);
    assert_string_equal(ds.prompts[1].text, "four");
    aieb_dataset_free(&ds);

    load_fails(fx("numbers.json"), NULL, AIEB_EINVAL, "element 0", "found a number");
    load_fails(fx("wrong_shape.json"), NULL, AIEB_EINVAL, "wrong_shape.json", "\"data\" array");
}

static void csv_handles_rfc4180_quoting(void **state)
{
    aieb_dataset ds;
    load_ok(fx("prompts.csv"), NULL, &ds);
    assert_int_equal(ds.n, 5);
    assert_string_equal(ds.prompts[0].text, "Hello, world");
    assert_string_equal(ds.prompts[1].text, "She said \"hi\" twice");
    assert_string_equal(ds.prompts[2].text, "Line one\r\nLine two\nLine three");
    assert_string_equal(ds.prompts[3].text, "plain text here");
    assert_string_equal(ds.prompts[4].text, "trailing quote field \"x\"");
    assert_int_equal(ds.prompts[3].source_row, 4);
    assert_int_equal(ds.prompts[4].source_row, 5);
    assert_int_equal(ds.rows_empty, 1);
    aieb_dataset_free(&ds);

    load_fails(fx("unterminated.csv"), NULL, AIEB_EINVAL, "unterminated.csv: line 2",
               "never closes");
    load_fails(fx("ragged.csv"), NULL, AIEB_EINVAL, "ragged.csv: line 3",
               "3 fields, the header has 2");
    load_fails(fx("after_quote.csv"), NULL, AIEB_EINVAL, "after_quote.csv: line 2",
               "after a closing quote");
    load_fails(fx("no_text_column.csv"), NULL, AIEB_EINVAL, "no column 'text'", "prompt, id");

    /* a single-column CSV, no final newline, a quoted header */
    aieb_dataset_options o;
    aieb_dataset_options_init(&o);
    const char *one = "\"text\"\nalpha\n\"beta, gamma\"";
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_CSV, one, strlen(one), "one.csv", &o, &ds, NULL), 0);
    assert_int_equal(ds.n, 2);
    assert_string_equal(ds.prompts[1].text, "beta, gamma");
    aieb_dataset_free(&ds);
    /* header only */
    aieb_err err = {0};
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_CSV, "text\n", 5, "h.csv", &o, &ds, &err),
        AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "no prompts"));
}

static void txt_reads_lines(void **state)
{
    aieb_dataset ds;
    load_ok(fx("prompts.txt"), NULL, &ds);
    assert_int_equal(ds.n, 3);
    assert_string_equal(ds.prompts[0].text, "First line"); /* BOM and CR gone */
    assert_string_equal(ds.prompts[1].text, "Second line");
    assert_int_equal(ds.prompts[1].source_row, 2);
    assert_string_equal(ds.prompts[2].text, "Third line");
    assert_int_equal(ds.prompts[2].source_row, 4);
    assert_int_equal(ds.rows_empty, 2);
    aieb_dataset_free(&ds);
}

/* ==== Bad input ============================================================== */

static void bad_inputs_name_file_and_line(void **state)
{
    load_fails(fx("bad_line3.jsonl"), NULL, AIEB_EINVAL, "bad_line3.jsonl: line 3",
               "malformed JSON");
    load_fails(fx("missing_column.jsonl"), NULL, AIEB_EINVAL, "line 1: no field 'text'",
               "prompt, id");
    load_fails(fx("number_column.jsonl"), NULL, AIEB_EINVAL, "field 'text' is a number", NULL);
    load_fails(fx("empty.jsonl"), NULL, AIEB_EINVAL, "empty.jsonl", "empty");
    load_fails(fx("bad_utf8.txt"), NULL, AIEB_EINVAL, "bad_utf8.txt: line 2", "not valid UTF-8");
    load_fails(fx("prompts.tsv"), NULL, AIEB_EINVAL, "unsupported", ".csv");
    load_fails(fx("does-not-exist.jsonl"), NULL, AIEB_ENOTFOUND, "does-not-exist.jsonl", NULL);
    load_fails("./nothing-here", NULL, AIEB_ENOTFOUND, "nothing-here", NULL);
    load_fails("not a dataset", NULL, AIEB_EINVAL, "not 'builtin'", NULL);
    load_fails(fixture_dir, NULL, AIEB_EINVAL, "is a directory", NULL);

    /* a JSON line that is not an object */
    aieb_dataset_options o;
    aieb_dataset_options_init(&o);
    aieb_dataset ds;
    aieb_err err = {0};
    const char *arr = "{\"text\": \"a\"}\n[1]\n";
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_JSONL, arr, strlen(arr), "x.jsonl", &o, &ds, &err),
        AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "x.jsonl: line 2: expected a JSON object, found an array"));
    /* invalid UTF-8 inside JSON: jansson refuses it, naming the line */
    const char *bad = "{\"text\": \"ok\"}\n{\"text\": \"\xc3\x28\"}\n";
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_JSONL, bad, strlen(bad), "u.jsonl", &o, &ds, &err),
        AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "u.jsonl: line 2"));
    /* invalid UTF-8 and NUL bytes in CSV */
    const char *csv = "text\nfine\n\"bad \xed\xa0\x80 surrogate\"\n";
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_CSV, csv, strlen(csv), "u.csv", &o, &ds, &err),
        AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "u.csv: line 3: not valid UTF-8"));
    const char nul[] = "a\nb\0c\n";
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_TXT, nul, sizeof nul - 1, "n.txt", &o, &ds, &err),
        AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "n.txt: line 2: the text contains a NUL byte"));
}

static void utf8_is_checked_strictly(void **state)
{
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        {"plain", true},
        {"\xf0\x9f\x98\x80 emoji", true},
        {"\xe2\x82\xac euro", true},
        {"\xf4\x8f\xbf\xbf max", true},
        {"\xc0\x80 overlong nul", false},
        {"\xe0\x80\xaf overlong slash", false},
        {"\xed\xa0\x80 surrogate", false},
        {"\xf4\x90\x80\x80 past max", false},
        {"\xe2\x82 cut", false},
        {"tail \xe2\x82", false},
        {"\x80 lone continuation", false},
        {"\xff", false},
    };
    aieb_dataset_options o;
    aieb_dataset_options_init(&o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aieb_dataset ds;
        aieb_err err = {0};
        const char *t = cases[i].text;
        int rc =
            aieb_dataset_parse_buffer(AIEB_DATASET_TXT, t, strlen(t), "utf8.txt", &o, &ds, &err);
        if ((rc == 0) != cases[i].ok)
            fail_msg("case %zu: rc %d (%s)", i, rc, err.msg);
        aieb_dataset_free(&ds);
    }
}

static void caps_are_enforced(void **state)
{
    char dir[] = "/tmp/aieb-ds-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[1100];
    /* a line just over the default cap, in a .txt and a .jsonl */
    size_t big = AIEB_DATASET_MAX_LINE_BYTES + 1;
    char *buf = malloc(big + 64);
    assert_non_null(buf);
    memcpy(buf, "short\n", 6);
    memset(buf + 6, 'x', big);
    buf[6 + big] = '\n';
    snprintf(path, sizeof path, "%s/huge.txt", dir);
    write_file(path, buf, big + 7);
    load_fails(path, NULL, AIEB_ETOOBIG, "huge.txt: line 2", "line limit");
    /* exactly at the cap is fine */
    snprintf(path, sizeof path, "%s/edge.txt", dir);
    write_file(path, buf + 6, big - 1);
    aieb_dataset ds;
    load_ok(path, NULL, &ds);
    assert_int_equal(ds.n, 1);
    assert_int_equal(strlen(ds.prompts[0].text), AIEB_DATASET_MAX_LINE_BYTES);
    aieb_dataset_free(&ds);
    free(buf);
    unlink(path);
    snprintf(path, sizeof path, "%s/huge.txt", dir);
    unlink(path);

    /* lower caps through the options: line, CSV record, rows */
    aieb_dataset_options o;
    aieb_dataset_options_init(&o);
    o.max_line_bytes = 8;
    const char *lines = "12345678\n123456789\n";
    aieb_err err = {0};
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_TXT, lines, strlen(lines), "l.txt", &o, &ds, &err),
        AIEB_ETOOBIG);
    assert_non_null(strstr(err.msg, "l.txt: line 2: 9 bytes"));
    const char *csv = "text\n\"1234\n567\"\n\"1234\n5678\"\n";
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_CSV, csv, strlen(csv), "r.csv", &o, &ds, &err),
        AIEB_ETOOBIG);
    assert_non_null(strstr(err.msg, "r.csv: record starting on line 4"));
    aieb_dataset_options_init(&o);
    o.max_rows = 3;
    const char *rows = "a\nb\nc\nd\n";
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_TXT, rows, strlen(rows), "m.txt", &o, &ds, &err),
        AIEB_ETOOBIG);
    assert_non_null(strstr(err.msg, "m.txt: line 4: more than 3 rows"));
    const char *js = "[\"a\", \"b\", \"c\", \"d\"]";
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_JSON, js, strlen(js), "m.json", &o, &ds, &err),
        AIEB_ETOOBIG);
    /* num_samples stops reading before the row cap is reached */
    o.num_samples = 2;
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_TXT, rows, strlen(rows), "m.txt", &o, &ds, &err), 0);
    assert_int_equal(ds.n, 2);
    aieb_dataset_free(&ds);
    /* the buffer size cap */
    assert_int_equal(aieb_dataset_parse_buffer(AIEB_DATASET_TXT, "x",
                                               (size_t)AIEB_DATASET_MAX_FILE_BYTES + 1, "big", &o,
                                               &ds, &err),
                     AIEB_ETOOBIG);
    rmdir(dir);
}

/* ==== Post-processing ======================================================== */

static void num_samples_empty_rows_truncation(void **state)
{
    const char *text = "one\n\n  \ntwo\nthree\n\t\nfour\nfive\n";
    aieb_dataset_options o;
    aieb_dataset_options_init(&o);
    o.num_samples = 3;
    aieb_dataset ds;
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_TXT, text, strlen(text), "t.txt", &o, &ds, NULL), 0);
    assert_int_equal(ds.n, 3);
    assert_string_equal(ds.prompts[2].text, "three");
    assert_int_equal(ds.prompts[2].source_row, 4);
    assert_int_equal(ds.rows_empty, 2);
    aieb_dataset_free(&ds);

    /* more samples asked than exist: all of them (a warning is logged) */
    o.num_samples = 50;
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_TXT, text, strlen(text), "t.txt", &o, &ds, NULL), 0);
    assert_int_equal(ds.n, 5);
    assert_int_equal(ds.rows_empty, 3);
    aieb_dataset_free(&ds);

    /* only empty rows */
    aieb_err err = {0};
    o.num_samples = 0;
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_TXT, "\n \n", 3, "e.txt", &o, &ds, &err),
        AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "e.txt: no prompts (2 rows read, 2 empty)"));

    /* truncation counts characters, never cuts inside one */
    const char *wide = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\nabc\n";
    o.truncation = true;
    o.truncation_max_chars = 5;
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_TXT, wide, strlen(wide), "w.txt", &o, &ds, NULL), 0);
    assert_string_equal(ds.prompts[0].text, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    assert_int_equal(ds.prompts[0].chars, 5);
    assert_true(ds.prompts[0].truncated);
    assert_string_equal(ds.prompts[1].text, "abc");
    assert_false(ds.prompts[1].truncated);
    assert_int_equal(ds.n_truncated, 1);
    aieb_dataset_free(&ds);

    /* a prompt that truncation leaves blank is dropped as empty */
    const char *blank = "\t\t\t\t\t\t\tlate text\nkept\n";
    assert_int_equal(
        aieb_dataset_parse_buffer(AIEB_DATASET_TXT, blank, strlen(blank), "b.txt", &o, &ds, NULL),
        0);
    assert_int_equal(ds.n, 1);
    assert_string_equal(ds.prompts[0].text, "kept");
    assert_int_equal(ds.rows_empty, 1);
    aieb_dataset_free(&ds);

    /* the default length, and no truncation without the flag */
    size_t n = AIEB_DATASET_TRUNCATE_CHARS + 100;
    char *lng = malloc(n + 1);
    memset(lng, 'a', n);
    lng[n] = '\0';
    o.truncation_max_chars = 0;
    assert_int_equal(aieb_dataset_parse_buffer(AIEB_DATASET_TXT, lng, n, "l.txt", &o, &ds, NULL),
                     0);
    assert_int_equal(strlen(ds.prompts[0].text), AIEB_DATASET_TRUNCATE_CHARS);
    aieb_dataset_free(&ds);
    o.truncation = false;
    assert_int_equal(aieb_dataset_parse_buffer(AIEB_DATASET_TXT, lng, n, "l.txt", &o, &ds, NULL),
                     0);
    assert_int_equal(ds.prompts[0].chars, n);
    assert_int_equal(ds.n_truncated, 0);
    aieb_dataset_free(&ds);
    free(lng);

    /* builtin with truncation: the longest prompts are cut, none is longer */
    aieb_dataset_options_init(&o);
    o.truncation = true;
    o.truncation_max_chars = 300;
    load_ok("builtin", &o, &ds);
    assert_true(ds.n_truncated > 5);
    for (size_t i = 0; i < ds.n; i++)
        assert_true(ds.prompts[i].chars <= 300);
    aieb_dataset_free(&ds);
}

static void home_and_cache_dir(void **state)
{
    aieb_dataset_options o;
    aieb_dataset_options_init(&o);
    char *dir = NULL;
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    assert_int_equal(aieb_dataset_cache_dir(&o, &dir, NULL), 0);
    assert_string_equal(dir, "/xdg/aieb/datasets");
    free(dir);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/someone", 1);
    assert_int_equal(aieb_dataset_cache_dir(&o, &dir, NULL), 0);
    assert_string_equal(dir, "/home/someone/.cache/aieb/datasets");
    free(dir);
    o.cache_dir = "/elsewhere";
    assert_int_equal(aieb_dataset_cache_dir(&o, &dir, NULL), 0);
    assert_string_equal(dir, "/elsewhere");
    free(dir);
    o.cache_dir = NULL;
    unsetenv("HOME");
    assert_int_equal(aieb_dataset_cache_dir(&o, &dir, NULL), AIEB_ENOTFOUND);
    assert_null(dir);

    /* "~/" names a file under $HOME */
    char home[] = "/tmp/aieb-home-XXXXXX";
    assert_non_null(mkdtemp(home));
    setenv("HOME", home, 1);
    char path[1100];
    snprintf(path, sizeof path, "%s/p.txt", home);
    write_file(path, "tilde\n", 6);
    aieb_dataset ds;
    load_ok("~/p.txt", NULL, &ds);
    assert_string_equal(ds.prompts[0].text, "tilde");
    aieb_dataset_free(&ds);
    unlink(path);
    rmdir(home);
}

int main(void)
{
    const char *src = getenv("AIEB_SOURCE_DIR");
    snprintf(fixture_dir, sizeof fixture_dir, "%s/tests/fixtures/datasets", src ? src : ".");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_has_100_varied_prompts),
        cmocka_unit_test(jsonl_reads_rows),
        cmocka_unit_test(json_reads_arrays_and_data),
        cmocka_unit_test(csv_handles_rfc4180_quoting),
        cmocka_unit_test(txt_reads_lines),
        cmocka_unit_test(bad_inputs_name_file_and_line),
        cmocka_unit_test(utf8_is_checked_strictly),
        cmocka_unit_test(caps_are_enforced),
        cmocka_unit_test(num_samples_empty_rows_truncation),
        cmocka_unit_test(home_and_cache_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

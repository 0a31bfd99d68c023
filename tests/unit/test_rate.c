/* test_rate.c - reference tables, size classes, bins and stars (rate.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "aieb/rate.h"

static int parse(const char *text, aieb_rate_table *t, aieb_err *err)
{
    return aieb_rate_table_parse("ref.csv", text, strlen(text), t, err);
}

static void test_parse(void **state)
{
    (void)state;
    aieb_rate_table t;
    aieb_err err = {0};
    /* BOM, columns in another order, an extra column, quotes with a comma and a
     * doubled quote, CRLF line ends, a blank line, spaces around values */
    const char *csv = "\xEF\xBB\xBFtask,Class,extra,GPU_WH_PER_1000_QUERIES,model\r\n"
                      "text_generation,A,x,\" 1.5 \",\"org/a, \"\"quoted\"\"\"\r\n"
                      "\r\n"
                      "text_generation, B ,y,20,org/b\n"
                      "image_classification,,z,3e-1,org/c";
    assert_int_equal(parse(csv, &t, &err), 0);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.rows[0].model, "org/a, \"quoted\"");
    assert_string_equal(t.rows[0].task, "text_generation");
    assert_string_equal(t.rows[0].cls, "A");
    assert_true(t.rows[0].gpu_wh_per_1000_queries == 1.5);
    assert_string_equal(t.rows[1].cls, "B");
    assert_string_equal(t.rows[2].cls, "");
    assert_true(fabs(t.rows[2].gpu_wh_per_1000_queries - 0.3) < 1e-15);
    aieb_rate_table_free(&t);
}

static void test_parse_errors(void **state)
{
    (void)state;
    aieb_rate_table t;
    aieb_err err = {0};
    assert_int_equal(parse("", &t, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "empty file"));
    assert_int_equal(parse("model,task,gpu_wh_per_1000_queries\nx,t,1\n", &t, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "no column \"class\""));
    assert_int_equal(parse("model,task,class,gpu_wh_per_1000_queries\n", &t, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "no rows"));
    assert_int_equal(
        parse("model,task,class,gpu_wh_per_1000_queries\nx,t,A,1\ny,t,A,abc\n", &t, &err),
        AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "ref.csv:3:"));
    assert_non_null(strstr(err.msg, "\"abc\" is not a positive number"));
    assert_int_equal(parse("model,task,class,gpu_wh_per_1000_queries\nx,t,A,-2\n", &t, &err),
                     AIEB_EINVAL);
    assert_int_equal(parse("model,task,class,gpu_wh_per_1000_queries\nx,t,A,nan\n", &t, &err),
                     AIEB_EINVAL);
    assert_int_equal(parse("model,task,class,gpu_wh_per_1000_queries\nx,t\n", &t, &err),
                     AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "ref.csv:2: 2 field(s)"));
    assert_int_equal(parse("model,task,class,gpu_wh_per_1000_queries\n\"x,t,A,1\n", &t, &err),
                     AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "quote left open"));
    /* nothing is left allocated on failure */
    assert_int_equal(t.n, 0);
    assert_null(t.rows);
    assert_int_equal(aieb_rate_table_load("/nonexistent/ref.csv", &t, &err), AIEB_ENOTFOUND);
}

static void test_classes(void **state)
{
    (void)state;
    assert_null(aieb_rate_class(0));
    assert_null(aieb_rate_class(NAN));
    assert_string_equal(aieb_rate_class(135e6), "A");
    assert_string_equal(aieb_rate_class(20e9), "A");
    assert_string_equal(aieb_rate_class(20e9 + 1), "B");
    assert_string_equal(aieb_rate_class(66e9), "B");
    assert_string_equal(aieb_rate_class(70e9), "C");
}

static void test_bins_and_stars(void **state)
{
    (void)state;
    aieb_rate_table t;
    aieb_err err = {0};
    assert_int_equal(parse("model,task,class,gpu_wh_per_1000_queries\n"
                           "a,tg,A,10\nb,tg,A,60\nc,tg,A,35\nd,tg,C,500\ne,ic,,3\n",
                           &t, &err),
                     0);
    double e[6];
    assert_int_equal(aieb_rate_bins(&t, "tg", "A", e, &err), 0);
    const double want[6] = {10, 20, 30, 40, 50, 60};
    for (int k = 0; k < 6; k++)
        assert_true(fabs(e[k] - want[k]) < 1e-12);
    assert_int_equal(aieb_rate_stars(1, e), 5); /* below the range */
    assert_int_equal(aieb_rate_stars(10, e), 5);
    assert_int_equal(aieb_rate_stars(20, e), 5); /* an edge belongs to the lower bin */
    assert_int_equal(aieb_rate_stars(20.001, e), 4);
    assert_int_equal(aieb_rate_stars(30, e), 4);
    assert_int_equal(aieb_rate_stars(39, e), 3);
    assert_int_equal(aieb_rate_stars(41, e), 2);
    assert_int_equal(aieb_rate_stars(60, e), 1);
    assert_int_equal(aieb_rate_stars(1e9, e), 1); /* above the range */
    assert_int_equal(aieb_rate_stars(NAN, e), 0);
    /* any class: 10..500 */
    assert_int_equal(aieb_rate_bins(&t, "TG", NULL, e, &err), 0);
    assert_true(e[0] == 10 && e[5] == 500);
    /* one value, or none: no range */
    assert_int_equal(aieb_rate_bins(&t, "tg", "C", e, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "single value for task tg and class C"));
    assert_int_equal(aieb_rate_bins(&t, "ic", "", e, &err), AIEB_ENOTFOUND);
    assert_int_equal(aieb_rate_bins(&t, "nope", NULL, e, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no rows for task nope"));
    aieb_rate_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_bins_and_stars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

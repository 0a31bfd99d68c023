/* test_openai_redact.c - the API key is taken out of every message that may be
 * shown (server errors, curl errors), in place, without growing the string and
 * without looping on keys that look like the mark. Each message lives in a
 * heap block of exactly its size, so a write past it is caught by ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "backend/openai_internal.h"

/* Redacts a heap copy of msg (exactly strlen + 1 bytes) and compares. */
static void check(const char *msg, const char *key, const char *want)
{
    char *s = strdup(msg);
    assert_non_null(s);
    oa_redact(s, key);
    assert_string_equal(s, want);
    assert_true(strlen(s) <= strlen(msg));
    free(s);
}

static void short_keys_never_grow(void **state)
{
    (void)state;
    check("x", "x", "*");
    check("key=x", "x", "key=*");
    check("ab", "ab", "**");
    check("xab", "ab", "x**");
    check("abab", "ab", "****");
}

static void long_keys_become_three_stars(void **state)
{
    (void)state;
    check("Bearer sk-0123456789abcdef rejected", "sk-0123456789abcdef", "Bearer *** rejected");
    check("sk-0123456789abcdef", "sk-0123456789abcdef", "***");
    check("abc", "abc", "***");
    check("no secret here", "sk-0123456789abcdef", "no secret here");
    /* a prefix of the key at the end of the message is not the key */
    check("ends with sk-0123", "sk-0123456789abcdef", "ends with sk-0123");
}

static void repeated_and_overlapping(void **state)
{
    (void)state;
    check("k1 k1 k1", "k1", "** ** **");
    check("secretsecret", "secret", "******");
    /* leftmost occurrences, not overlapping: "aa" in "aaaaa" */
    check("aaaaa", "aa", "****a");
    check("abcabcab", "abcab", "***cab");
}

static void keys_made_of_stars_end(void **state)
{
    (void)state;
    /* the old in-place rewrite rescanned its own "***" and never ended */
    check("*", "*", "*");
    check("a**b", "**", "a**b");
    check("***", "***", "***");
    check("x****y", "***", "x****y");
}

static void nothing_to_do(void **state)
{
    (void)state;
    check("", "key", "");
    check("message", "", "message");
    check("message", NULL, "message");
    oa_redact(NULL, "key"); /* no crash */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_keys_never_grow),
        cmocka_unit_test(long_keys_become_three_stars),
        cmocka_unit_test(repeated_and_overlapping),
        cmocka_unit_test(keys_made_of_stars_end),
        cmocka_unit_test(nothing_to_do),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

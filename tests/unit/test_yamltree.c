/* test_yamltree.c - the shared YAML tree (src/lib/util/yamltree.c) under caps
 * other than the config module's, and the reasoning-format registry read
 * through it: positions, each cap with its message, anchors refused or counted,
 * "<<" merges, duplicate keys named with file, line and key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/format.h"
#include "util/yamltree.h"

static const yt_limits small = {
    .what = "a test file",
    .doc_noun = "test",
    .max_file_bytes = 4096,
    .max_scalar_bytes = 16,
    .max_depth = 3,
    .max_nodes = 40,
    .max_aliases = 2,
};

/* Parses text under lim; returns the code and leaves the problems in d. */
static int parse(const char *text, const yt_limits *lim, yt_doc *doc, aieb_diags *d)
{
    memset(doc, 0, sizeof *doc);
    aieb_diags_init(d);
    return yt_parse("t.yaml", text, strlen(text), lim, doc, d);
}

/* Fails unless parsing text gives code with one error at line containing needle. */
static void expect_fail(const char *text, const yt_limits *lim, int code, int line,
                        const char *needle)
{
    yt_doc doc;
    aieb_diags d;
    int rc = parse(text, lim, &doc, &d);
    if (rc != code || d.n_errors != 1 || d.n != 1 || d.items[0].line != line ||
        !strstr(d.items[0].message, needle) || strcmp(d.items[0].file, "t.yaml") != 0)
        fail_msg("'%s': rc %d, %zu errors, line %d, '%s'; want rc %d, line %d, '%s'", text, rc,
                 d.n_errors, d.n ? d.items[0].line : -1, d.n ? d.items[0].message : "", code, line,
                 needle);
    assert_null(doc.root);
    yt_doc_free(&doc);
    aieb_diags_free(&d);
}

static void tree_positions_and_words(void **state)
{
    (void)state;
    yt_doc doc;
    aieb_diags d;
    assert_int_equal(parse("a: 1\nb: 'null'\nc:\n  - ~\n  - {d: yes}\n", &small, &doc, &d), 0);
    assert_int_equal(d.n, 0);
    const yt_node *r = doc.root;
    assert_int_equal(r->kind, YT_MAP);
    assert_int_equal(r->n, 6);
    assert_string_equal(yt_describe(r), "a mapping");
    const yt_node *b = r->kids[3], *c = r->kids[5];
    assert_string_equal(b->text, "null");
    assert_false(b->plain); /* quoted: a string, not null */
    assert_false(yt_is_null(b));
    assert_string_equal(yt_describe(b), "text");
    assert_int_equal(b->line, 2);
    assert_int_equal(b->col, 4);
    assert_int_equal(c->kind, YT_SEQ);
    assert_string_equal(yt_describe(c), "a list");
    assert_true(yt_is_null(c->kids[0]));
    assert_string_equal(yt_describe(c->kids[0]), "null");
    assert_int_equal(c->kids[1]->line, 5);
    assert_int_equal(c->kids[1]->col, 5);
    int v = 0;
    assert_int_equal(yt_word_bool(c->kids[1]->kids[1]->text, &v), 1);
    assert_int_equal(v, 1);
    assert_int_equal(yt_word_bool("Off", &v), 1);
    assert_int_equal(v, 0);
    assert_int_equal(yt_word_bool("tRUE", &v), 0);
    assert_string_equal(yt_describe(NULL), "nothing");
    yt_doc_free(&doc);
    assert_null(doc.all);
    aieb_diags_free(&d);

    /* an empty document has no root */
    assert_int_equal(parse("# nothing\n", &small, &doc, &d), 0);
    assert_null(doc.root);
    yt_doc_free(&doc);
    aieb_diags_free(&d);
}

static void each_cap_has_its_message(void **state)
{
    (void)state;
    yt_doc doc;
    aieb_diags d;
    assert_int_equal(parse("[[[x]]]\n", &small, &doc, &d), 0); /* at the depth cap: fine */
    yt_doc_free(&doc);
    aieb_diags_free(&d);
    expect_fail("[[[[x]]]]\n", &small, AIEB_ETOOBIG, 1, "nested too deeply (more than 3 levels)");
    expect_fail("a: 12345678901234567\n", &small, AIEB_ETOOBIG, 1,
                "value too long (17 bytes, more than the 16-byte limit)");
    char many[200] = "[";
    for (int i = 0; i < 40; i++)
        strcat(many, "1,");
    strcat(many, "1]\n");
    expect_fail(many, &small, AIEB_ETOOBIG, 1, "too many YAML nodes (more than 40");
    expect_fail("a: 1\n---\nb: 2\n", &small, AIEB_EINVAL, 2, "keep one test per file");
    expect_fail("a: \x01\n", &small, AIEB_EINVAL, 1, "a test file must be YAML text");
    expect_fail("a: \xc3\n", &small, AIEB_EINVAL, 1, "invalid UTF-8");
    expect_fail("a: [1\n", &small, AIEB_EINVAL, 2, "YAML syntax error");
    char *big = malloc(small.max_file_bytes + 2);
    memset(big, '#', small.max_file_bytes + 1);
    big[small.max_file_bytes + 1] = '\0';
    expect_fail(big, &small, AIEB_ETOOBIG, 0, "larger than the 4096-byte limit for a test file");
    free(big);

    /* a depth past the ceiling is clamped to it */
    yt_limits deep = small;
    deep.max_depth = 1000;
    deep.max_nodes = 1000;
    char nest[2 * YT_DEPTH_CEILING + 4];
    size_t n = 0;
    for (int i = 0; i <= YT_DEPTH_CEILING; i++)
        nest[n++] = '[';
    for (int i = 0; i <= YT_DEPTH_CEILING; i++)
        nest[n++] = ']';
    nest[n] = '\0';
    expect_fail(nest, &deep, AIEB_ETOOBIG, 1, "nested too deeply (more than 64 levels)");
}

static void anchors_counted_or_refused(void **state)
{
    (void)state;
    /* two aliases fit, a third does not */
    yt_doc doc;
    aieb_diags d;
    assert_int_equal(parse("a: &x [1, 2]\nb: *x\nc: *x\n", &small, &doc, &d), 0);
    assert_ptr_equal(doc.root->kids[3], doc.root->kids[1]); /* shared, not copied */
    yt_doc_free(&doc);
    aieb_diags_free(&d);
    expect_fail("a: &x 1\nb: *x\nc: *x\nd: *x\n", &small, AIEB_ETOOBIG, 4,
                "too many aliases (more than 2 uses of *name)");
    expect_fail("a: &x 1\nb: &y 2\nc: &z 3\n", &small, AIEB_ETOOBIG, 3,
                "too many anchors (more than 2)");
    expect_fail("a: *nope\n", &small, AIEB_EINVAL, 1, "unknown alias *nope");
    /* each alias counts as a copy of what it names */
    expect_fail("a: &x [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]\nb: *x\n",
                &small, AIEB_ETOOBIG, 2, "is this an alias expansion bomb?");

    /* max_aliases 0 refuses anchors where they are written */
    yt_limits none = small;
    none.max_aliases = 0;
    expect_fail("a: 1\nb: &x 2\n", &none, AIEB_EINVAL, 2,
                "anchor &x: YAML anchors and aliases are not supported in a test file");
    expect_fail("a: 1\nb: &m\n  c: 3\n", &none, AIEB_EINVAL, 2, "anchor &m");
    expect_fail("a: 1\nb: *x\n", &none, AIEB_EINVAL, 2, "alias *x: YAML anchors");
}

static void pairs_merge_and_duplicates(void **state)
{
    (void)state;
    yt_doc doc;
    aieb_diags d;
    assert_int_equal(parse("m:\n  <<: {a: 1, b: 2}\n  b: 3\n  c: 4\n  c: 5\n", &small, &doc, &d),
                     0);
    const yt_node *m = doc.root->kids[1];
    yt_pair *p = NULL;
    size_t n = 0;
    assert_int_equal(yt_map_pairs(m, "t.yaml", "m", &d, &p, &n), 0);
    /* explicit keys in order (the duplicate dropped), then merged ones not given */
    assert_int_equal(n, 3);
    assert_string_equal(p[0].key->text, "b");
    assert_string_equal(p[0].value->text, "3");
    assert_string_equal(p[1].key->text, "c");
    assert_string_equal(p[1].value->text, "4");
    assert_string_equal(p[2].key->text, "a");
    free(p);
    assert_int_equal(d.n_errors, 1);
    assert_string_equal(d.items[0].key, "m.c");
    assert_int_equal(d.items[0].line, 5);
    assert_non_null(strstr(d.items[0].message, "duplicate key (first given on line 4)"));
    /* without a list, nothing is reported and the result is the same */
    assert_int_equal(yt_map_pairs(m, NULL, NULL, NULL, &p, &n), 0);
    assert_int_equal(n, 3);
    free(p);
    yt_doc_free(&doc);
    aieb_diags_free(&d);
}

/* ==== The registry, read through the tree ==== */

static void registry_errors_name_file_line_key(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        int code;
        const char *needle;
    } cases[] = {
        {"families:\n  a:\n    patterns: [a]\n    type: prefix\n  a:\n    patterns: [b]\n",
         AIEB_EINVAL, "r.yaml: line 5: families.a: duplicate key (first given on line 2)"},
        {"families:\n  a:\n    patterns: [a]\n    type: prefix\n    type: harmony\n", AIEB_EINVAL,
         "r.yaml: line 5: families.a.type: duplicate key"},
        {"families:\n  a:\n    patterns: [a]\n    type: prefix\n    model_overrides:\n"
         "      x:\n        prefix: p\n        prefix: q\n",
         AIEB_EINVAL, "r.yaml: line 8: families.a.model_overrides.x.prefix: duplicate key"},
        {"models:\n  m:\n    type: prefix\n    type: harmony\n", AIEB_EINVAL,
         "r.yaml: line 4: models.m.type: duplicate key"},
        {"default:\n  type: prefix\n  type: harmony\n", AIEB_EINVAL,
         "r.yaml: line 3: default.type: duplicate key"},
        {"families: {}\nfamilies: {}\n", AIEB_EINVAL, "r.yaml: line 2: families: duplicate key"},
        {"families:\n  [a]: {}\n", AIEB_EINVAL, "r.yaml: line 2: families: a key must be a plain"},
        {"default:\n  type: prefix\n  prefix: \x02\n", AIEB_EINVAL, "r.yaml: line 3: binary data"},
        {"default:\n  type: \xff\n", AIEB_EINVAL, "r.yaml: line 2: invalid UTF-8"},
        {"default: &d\n  type: prefix\n", AIEB_EINVAL,
         "r.yaml: line 1: anchor &d: YAML anchors and aliases are not supported"},
        {"a: 1\n---\nb: 2\n", AIEB_EINVAL, "keep one registry per file"},
        {"default:\n  default_enabled: tRUE\n", AIEB_EINVAL, "line 2: default_enabled must be"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aieb_format_registry *reg = (aieb_format_registry *)1;
        aieb_err err = {0};
        int rc =
            aieb_format_registry_parse(cases[i].yaml, strlen(cases[i].yaml), "r.yaml", &reg, &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].needle))
            fail_msg("case %zu: rc %d, msg '%s', want %d with '%s'", i, rc, err.msg, cases[i].code,
                     cases[i].needle);
        assert_null(reg);
    }
}

static void registry_takes_merges_and_yaml_words(void **state)
{
    (void)state;
    const char *y = "default:\n"
                    "  <<: {type: prefix, prefix: P, default_enabled: yes}\n"
                    "  prefix: Q\n"
                    "families:\n"
                    "  f:\n"
                    "    patterns: [foo]\n"
                    "    type: system_prompt\n"
                    "    default_enabled: Off\n";
    aieb_format_registry *reg = NULL;
    aieb_err err = {0};
    if (aieb_format_registry_parse(y, strlen(y), "r.yaml", &reg, &err))
        fail_msg("parse: %s", err.msg);
    aieb_format_rule r;
    aieb_format_lookup(reg, "bar", &r);
    assert_int_equal(r.type, AIEB_FORMAT_PREFIX);
    assert_string_equal(r.prefix, "Q"); /* written in the mapping: wins over the merge */
    assert_true(r.default_enabled);
    aieb_format_lookup(reg, "foo-1", &r);
    assert_int_equal(r.type, AIEB_FORMAT_SYSTEM_PROMPT);
    assert_false(r.default_enabled);
    aieb_format_registry_free(reg);

    /* a null document is an empty registry */
    assert_int_equal(aieb_format_registry_parse("~\n", 2, "r.yaml", &reg, &err), 0);
    assert_int_equal(aieb_format_registry_family_count(reg), 0);
    aieb_format_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tree_positions_and_words),
        cmocka_unit_test(each_cap_has_its_message),
        cmocka_unit_test(anchors_counted_or_refused),
        cmocka_unit_test(pairs_merge_and_duplicates),
        cmocka_unit_test(registry_errors_name_file_line_key),
        cmocka_unit_test(registry_takes_merges_and_yaml_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

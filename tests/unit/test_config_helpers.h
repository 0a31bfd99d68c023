/* test_config_helpers.h - shared by the config module's unit tests. */
#ifndef TEST_CONFIG_HELPERS_H
#define TEST_CONFIG_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/config.h"

/* The environment overrides; tests start from none of them set. */
static const char *const override_vars[] = {
    "BENCHMARK_BACKEND", "BENCHMARK_MODEL", "VLLM_ENDPOINT", "NUM_SAMPLES",  "MAX_NEW_TOKENS",
    "COUNTRY_ISO_CODE",  "REGION",          "OUTPUT_DIR",    "RESULTS_FILE", NULL,
};

static inline void clear_override_env(void)
{
    for (int i = 0; override_vars[i]; i++)
        unsetenv(override_vars[i]);
}

static inline void dump_diags(const aieb_diags *d)
{
    aieb_diags_print(d, stderr, 0);
}

/* Loads yaml (a C string) with sets and aieb_config_load_flags flags; fails the
 * test unless it loads. */
static inline aieb_config *load_ok_flags(const char *yaml, const char *const *sets, size_t n_sets,
                                         unsigned flags, aieb_diags *d)
{
    aieb_config *cfg = NULL;
    aieb_err err = {0};
    int rc = aieb_config_load_string_flags("t.yaml", yaml, strlen(yaml), sets, n_sets, flags, &cfg,
                                           d, &err);
    if (rc != 0 || !cfg) {
        fprintf(stderr, "load failed: %s\n", err.msg);
        dump_diags(d);
    }
    assert_int_equal(rc, 0);
    assert_non_null(cfg);
    return cfg;
}

/* Loads yaml (a C string) with sets; fails the test unless it loads. */
static inline aieb_config *load_ok_sets(const char *yaml, const char *const *sets, size_t n_sets,
                                        aieb_diags *d)
{
    return load_ok_flags(yaml, sets, n_sets, 0, d);
}

static inline aieb_config *load_ok(const char *yaml, aieb_diags *d)
{
    return load_ok_sets(yaml, NULL, 0, d);
}

/* Loads yaml and expects failure; returns the code. */
static inline int load_fails_sets(const char *yaml, size_t len, const char *const *sets,
                                  size_t n_sets, aieb_diags *d)
{
    aieb_config *cfg = (aieb_config *)1;
    aieb_err err = {0};
    int rc = aieb_config_load_string("t.yaml", yaml, len, sets, n_sets, &cfg, d, &err);
    if (rc == 0)
        dump_diags(d);
    assert_int_not_equal(rc, 0);
    assert_null(cfg);
    assert_true(err.msg[0] != '\0');
    assert_true(d->n_errors > 0);
    return rc;
}

static inline int load_fails(const char *yaml, aieb_diags *d)
{
    return load_fails_sets(yaml, strlen(yaml), NULL, 0, d);
}

/* Finds a diagnostic of severity sev whose key equals key (NULL: any) and whose
 * message contains text; line 0 matches any line. Returns it or NULL. */
static inline const aieb_diag *find_diag(const aieb_diags *d, aieb_diag_severity sev,
                                         const char *key, int line, const char *text)
{
    for (size_t i = 0; i < d->n; i++) {
        const aieb_diag *g = &d->items[i];
        if (g->severity != sev)
            continue;
        if (key && (!g->key || strcmp(g->key, key) != 0))
            continue;
        if (line && g->line != line)
            continue;
        if (text && !strstr(g->message, text))
            continue;
        return g;
    }
    return NULL;
}

static inline void expect_diag(const aieb_diags *d, aieb_diag_severity sev, const char *key,
                               int line, const char *text)
{
    if (!find_diag(d, sev, key, line, text)) {
        fprintf(stderr, "expected %s at %s line %d containing \"%s\"; got:\n",
                sev == AIEB_DIAG_ERROR ? "an error" : "a warning", key ? key : "(any key)", line,
                text ? text : "");
        dump_diags(d);
        fail();
    }
}

#endif

/* fuzz_config.c - libFuzzer target for the configuration loader.
 *
 * Input: YAML bytes, optionally followed by a line "#SETS" and up to 8 lines,
 * each one --set argument. Beyond "no crash, no leak, no undefined behaviour",
 * it checks the round-trip promise of aieb_config_emit_yaml(): a config that
 * loads, printed and loaded again, prints the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/config.h"

#define MAX_SETS 8

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* variables the corpus refers to with ${...}; the overrides stay unset */
    setenv("AIEB_FUZZ_A", "alpha", 1);
    setenv("AIEB_FUZZ_N", "12", 1);
    setenv("AIEB_FUZZ_EMPTY", "", 1);
    static const char *const overrides[] = {
        "BENCHMARK_BACKEND", "BENCHMARK_MODEL", "VLLM_ENDPOINT", "NUM_SAMPLES",  "MAX_NEW_TOKENS",
        "COUNTRY_ISO_CODE",  "REGION",          "OUTPUT_DIR",    "RESULTS_FILE", NULL};
    for (int i = 0; overrides[i]; i++)
        unsetenv(overrides[i]);
    return 0;
}

static char *emit(const aieb_config *cfg, int sources)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    if (aieb_config_emit_yaml(cfg, sources, &b) != 0)
        abort();
    return aieb_buf_steal(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t yaml_len = size;
    char *sets_copy = NULL;
    const char *sets[MAX_SETS];
    size_t n_sets = 0;
    const char *marker = "\n#SETS\n";
    for (size_t i = 0; i + 7 <= size; i++)
        if (memcmp(text + i, marker, 7) == 0) {
            yaml_len = i + 1;
            sets_copy = strndup(text + i + 7, size - i - 7); /* stops at a NUL byte */
            break;
        }
    for (char *line = sets_copy; line && *line && n_sets < MAX_SETS;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        sets[n_sets++] = line;
        line = nl ? nl + 1 : NULL;
    }

    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *cfg = NULL;
    aieb_err err = {0};
    int rc = aieb_config_load_string("fuzz.yaml", text, yaml_len, sets, n_sets, &cfg, &d, &err);
    if ((rc == 0) != (cfg != NULL) || (rc != 0 && d.n_errors == 0))
        abort(); /* every failure must leave a reason */
    aieb_buf line;
    aieb_buf_init(&line, 0);
    for (size_t i = 0; i < d.n; i++) {
        aieb_buf_reset(&line);
        aieb_diag_format(&d.items[i], &line);
    }
    aieb_buf_free(&line);
    aieb_diags_free(&d);

    if (cfg) {
        char *once = emit(cfg, 0);
        char *with_sources = emit(cfg, 1);
        char src[256];
        aieb_config_source(cfg, "scenario.reasoning_params.x", src, sizeof src);
        aieb_config *again = NULL;
        aieb_diags_init(&d);
        if (aieb_config_load_string("again.yaml", once, strlen(once), NULL, 0, &again, &d, &err) !=
            0) {
            fprintf(stderr, "emitted YAML does not load back:\n%s\n", once);
            aieb_diags_print(&d, stderr, 0);
            abort();
        }
        char *twice = emit(again, 0);
        if (strcmp(once, twice) != 0) {
            fprintf(stderr, "round trip differs:\n--- once\n%s\n--- twice\n%s\n", once, twice);
            abort();
        }
        aieb_diags_free(&d);
        aieb_config_free(again);
        free(once);
        free(twice);
        free(with_sources);
        aieb_config_free(cfg);
    }
    free(sets_copy);
    return 0;
}

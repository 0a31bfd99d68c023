/* fuzz_format.c - libFuzzer target for the reasoning-format registry parser.
 *
 * Input: a registry YAML file (data/reasoning_formats.yaml's schema). Checks,
 * beyond "no crash, no leak": a registry that parses answers every lookup, and
 * applying the rule it finds to a prompt either succeeds with a prompt or fails
 * with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aieb_format_registry *reg = NULL;
    aieb_err err = {0};
    if (aieb_format_registry_parse((const char *)data, size, "fuzz.yaml", &reg, &err) != 0) {
        if (!err.msg[0])
            abort(); /* every failure says why */
        return 0;
    }
    static const char *const models[] = {"openai/gpt-oss-20b", "Qwen/Qwen3-8B",
                                         "HuggingFaceTB/SmolLM3-3B", "unknown-model", ""};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        aieb_format_rule rule;
        aieb_format_lookup(reg, models[i], &rule);
        for (int enabled = 0; enabled < 2; enabled++) {
            aieb_formatted f;
            memset(&f, 0, sizeof f);
            aieb_err e = {0};
            int rc = aieb_format_apply(&rule, "What is 2+2?", enabled, NULL, &f, &e);
            if (rc == 0 && !f.prompt)
                abort();
            if (rc != 0 && !e.msg[0])
                abort();
            aieb_formatted_free(&f);
        }
    }
    aieb_format_registry_free(reg);
    return 0;
}

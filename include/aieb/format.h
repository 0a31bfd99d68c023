/* format.h - reasoning formats: how each model family switches reasoning on or off.
 *
 * A registry (data/reasoning_formats.yaml, embedded; or a file of the same schema)
 * maps model names to a rule; a formatter applies the rule to one prompt and returns
 * the shaped prompt, an optional system prompt, and extra request parameters (e.g.
 * {"chat_template_kwargs": {"enable_thinking": true}} or {"reasoning_effort": "high"}).
 * docs/reasoning-formats.md describes the schema and each type.
 *
 * Lookup is case-insensitive: explicit models first (exact name; a key without '/'
 * also matches the part after the last '/'), then family patterns in file order (a
 * pattern containing * ? or [ is a glob over the whole name, any other pattern a
 * substring), then the default. Within the family, the first matching model_overrides
 * key (same pattern rules) is laid over the family's keys.
 */
#ifndef AIEB_FORMAT_H
#define AIEB_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest registry file accepted, in bytes. */
#define AIEB_FORMAT_MAX_FILE_BYTES (1024 * 1024)

typedef enum {
    AIEB_FORMAT_NONE = 0,      /* "null": nothing changes */
    AIEB_FORMAT_HARMONY,       /* gpt-oss Harmony: reasoning_effort */
    AIEB_FORMAT_SYSTEM_PROMPT, /* flags in the system prompt */
    AIEB_FORMAT_PREFIX,        /* text around the user prompt */
    AIEB_FORMAT_PARAMETER,     /* a request parameter set to true/false */
} aieb_format_type;

/* How a lookup found its rule. */
typedef enum {
    AIEB_FORMAT_BY_DEFAULT = 0, /* no model or family matched */
    AIEB_FORMAT_BY_MODEL,       /* an explicit entry under models: */
    AIEB_FORMAT_BY_FAMILY,      /* a family pattern */
} aieb_format_match;

/* A resolved rule for one model. Strings point into the registry and live as long
 * as it does; NULL means "not set". */
typedef struct aieb_format_rule {
    aieb_format_type type;
    aieb_format_match matched_by;
    const char *name;             /* family name, explicit model key, or "default" */
    const char *pattern;          /* the family pattern that matched, or NULL */
    const char *override_key;     /* the model_overrides key applied, or NULL */
    const char *enable_flag;      /* text that turns reasoning on, or NULL */
    const char *disable_flag;     /* text that turns it off, or NULL */
    const char *prefix;           /* prefix type: text before the prompt when enabled */
    const char *suffix;           /* prefix type: text after the prompt when enabled */
    const char *parameter;        /* parameter type: dotted path of the request field */
    const char *reasoning_effort; /* harmony: effort used when the caller gives none */
    const char *description;
    bool default_enabled; /* the model reasons when nothing is said */
} aieb_format_rule;

typedef struct aieb_format_registry aieb_format_registry;

/* Loads a registry from the YAML file at path, or from the embedded
 * data/reasoning_formats.yaml when path is NULL. Fails with AIEB_ENOTFOUND (no
 * file), AIEB_ETOOBIG (over AIEB_FORMAT_MAX_FILE_BYTES), AIEB_EINVAL (bad YAML or
 * schema: the message names the file, line and key) or AIEB_ENOMEM. On success
 * *out is the caller's to free with aieb_format_registry_free. */
AIEB_API int aieb_format_registry_load(const char *path, aieb_format_registry **out, aieb_err *err);

/* Same as aieb_format_registry_load, from len bytes of YAML text; origin names the
 * text in error messages. */
AIEB_API int aieb_format_registry_parse(const char *yaml, size_t len, const char *origin,
                                        aieb_format_registry **out, aieb_err *err);

/* Frees a registry (NULL is fine). Rules from it must not be used afterwards. */
AIEB_API void aieb_format_registry_free(aieb_format_registry *reg);

/* Number of families in the registry (for listings). Can't fail. */
AIEB_API size_t aieb_format_registry_family_count(const aieb_format_registry *reg);

/* Finds the rule for model (see the lookup order above). A NULL or empty model, or
 * one that nothing matches, gets the default rule. This function can't fail. */
AIEB_API void aieb_format_lookup(const aieb_format_registry *reg, const char *model,
                                 aieb_format_rule *out);

/* What the formatter produced for one prompt. */
typedef struct aieb_formatted {
    char *prompt;         /* the user message, shaped; never NULL after success */
    char *system_prompt;  /* the system message, or NULL for none */
    char *raw_prompt;     /* harmony: the whole conversation rendered as Harmony text,
                             for servers that take raw text (/v1/completions); else NULL */
    json_t *extra_params; /* JSON object to merge into the request body (maybe empty) */
    char *note;           /* why the request could not be fully honoured, or NULL */
} aieb_formatted;

/* Applies rule to prompt. enabled says whether reasoning is wanted; params (a JSON
 * object or NULL) refines it:
 *   "enable_thinking": bool    overrides enabled
 *   "reasoning_effort": string harmony effort: "low", "medium" or "high"
 *   "thinking_budget": integer passed on as the request field thinking_budget
 *   "system_prompt": string    a base system prompt; system-prompt flags follow it on
 *                              a new line (harmony: the developer instructions)
 *   "current_date": string     harmony: the "Current date:" line (omitted when absent)
 *   any other key              copied into extra_params unchanged
 * Fails with AIEB_EINVAL (params not an object, a key of the wrong type, an unknown
 * effort) or AIEB_ENOMEM; out is then empty. On success free out with
 * aieb_formatted_free. */
AIEB_API int aieb_format_apply(const aieb_format_rule *rule, const char *prompt, bool enabled,
                               const json_t *params, aieb_formatted *out, aieb_err *err);

/* aieb_format_lookup followed by aieb_format_apply; same failures. */
AIEB_API int aieb_format_prompt(const aieb_format_registry *reg, const char *model,
                                const char *prompt, bool enabled, const json_t *params,
                                aieb_formatted *out, aieb_err *err);

/* Frees the contents of f (not f) and zeroes it. NULL is fine. */
AIEB_API void aieb_formatted_free(aieb_formatted *f);

/* "harmony", "system_prompt", "prefix", "parameter" or "null". Can't fail. */
AIEB_API const char *aieb_format_type_name(aieb_format_type type);

#ifdef __cplusplus
}
#endif
#endif

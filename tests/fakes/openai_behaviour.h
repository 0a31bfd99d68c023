/* openai_behaviour.h - how the test server answers: every option of
 * openai_server (--tokens, --token-ms, --status, ...) as one struct, set from
 * the command line or per request ("X-Fake: key=value ..." or "[[fake
 * key=value ...]]" in the prompt). openai_server.c lists what each does. */
#ifndef AIEB_FAKE_OPENAI_BEHAVIOUR_H
#define AIEB_FAKE_OPENAI_BEHAVIOUR_H

#include <stddef.h>

enum usage_mode { USAGE_OWN, USAGE_LAST, USAGE_NONE };

typedef struct behaviour {
    int tokens; /* -1: the request's max_tokens */
    int reasoning;
    int reasoning_field_plain; /* 1: "reasoning", 0: "reasoning_content" */
    int first_token_ms;
    int token_ms;
    int pause_after;
    int pause_ms;
    int first_byte_ms;
    int usage;
    int status;
    int error_shape_object;
    int error_after;
    int disconnect_after;
    int garbage_after;
    int huge_line;
    int no_done;
    int drop;
    int crlf;
    int no_space;
    int comments;
    int coalesce;
    int faults_first; /* -1: every request */
} behaviour;

/* The defaults: every fault off, usage in its own chunk. */
extern const behaviour fake_behaviour_defaults;

/* Applies key=value (an option's name without --) to b. Returns 0, or -1 for
 * an unknown key or a bad value (b unchanged then). */
int fake_behaviour_set(behaviour *b, const char *key, const char *val);

/* Applies "k=v k=v" (space or comma separated) from text[0..n); unknown ones
 * are reported on stderr and skipped. */
void fake_behaviour_apply(behaviour *b, const char *text, size_t n);

#endif

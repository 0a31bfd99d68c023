/* openai_behaviour.c - the test server's options (openai_behaviour.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openai_behaviour.h"

const behaviour fake_behaviour_defaults = {
    .tokens = -1,
    .pause_after = -1,
    .usage = USAGE_OWN,
    .error_after = -1,
    .disconnect_after = -1,
    .garbage_after = -1,
    .faults_first = -1,
};

int fake_behaviour_set(behaviour *b, const char *key, const char *val)
{
    char *end;
    long v = strtol(val, &end, 10);
    int num = *val && *end == '\0';
    struct {
        const char *key;
        int *field;
    } ints[] = {
        {"tokens", &b->tokens},
        {"reasoning", &b->reasoning},
        {"first-token-ms", &b->first_token_ms},
        {"token-ms", &b->token_ms},
        {"pause-after", &b->pause_after},
        {"pause-ms", &b->pause_ms},
        {"first-byte-ms", &b->first_byte_ms},
        {"status", &b->status},
        {"error-after", &b->error_after},
        {"disconnect-after", &b->disconnect_after},
        {"garbage-after", &b->garbage_after},
        {"huge-line", &b->huge_line},
        {"no-done", &b->no_done},
        {"drop", &b->drop},
        {"crlf", &b->crlf},
        {"no-space", &b->no_space},
        {"comments", &b->comments},
        {"coalesce", &b->coalesce},
        {"faults-first", &b->faults_first},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(key, ints[i].key) == 0) {
            if (!num)
                return -1;
            *ints[i].field = (int)v;
            return 0;
        }
    }
    if (strcmp(key, "usage") == 0) {
        if (strcmp(val, "own") == 0)
            b->usage = USAGE_OWN;
        else if (strcmp(val, "last") == 0)
            b->usage = USAGE_LAST;
        else if (strcmp(val, "none") == 0)
            b->usage = USAGE_NONE;
        else
            return -1;
        return 0;
    }
    if (strcmp(key, "error-shape") == 0) {
        b->error_shape_object = strcmp(val, "object") == 0;
        return strcmp(val, "object") == 0 || strcmp(val, "openai") == 0 ? 0 : -1;
    }
    if (strcmp(key, "reasoning-field") == 0) {
        b->reasoning_field_plain = strcmp(val, "reasoning") == 0;
        return strcmp(val, "reasoning") == 0 || strcmp(val, "reasoning_content") == 0 ? 0 : -1;
    }
    return -1;
}

void fake_behaviour_apply(behaviour *b, const char *text, size_t n)
{
    char buf[512];
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (fake_behaviour_set(b, tok, eq + 1) != 0)
            fprintf(stderr, "openai_server: ignoring override %s=%s\n", tok, eq + 1);
    }
}

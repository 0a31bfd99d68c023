/* builtin.c - the project's own prompt set, data/builtin_prompts.jsonl, embedded. */
#include <string.h>

#include "dataset/internal.h"
#include "util/embedded.h"

#define BUILTIN_FILE "builtin_prompts.jsonl"

int ds_load_builtin(const ds_opts *opts, aieb_dataset *out, aieb_err *err)
{
    memset(out, 0, sizeof *out);
    const aieb_embedded_file *f = aieb_embedded_find(BUILTIN_FILE);
    if (!f)
        return aieb_errf(err, AIEB_ENOTFOUND, "builtin: %s is not embedded in this build",
                         BUILTIN_FILE);
    /* The built-in set always keeps its prompts in "text", whatever text_column says. */
    ds_opts o = *opts;
    o.text_column = "text";
    return ds_parse_buffer(AIEB_DATASET_JSONL, (const char *)f->data, f->len, "builtin", &o, out,
                           err);
}

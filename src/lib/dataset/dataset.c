/* dataset.c - options, choosing the source for a name, freeing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "aieb/log.h"
#include "dataset/internal.h"

void aieb_dataset_options_init(aieb_dataset_options *o)
{
    memset(o, 0, sizeof *o);
    o->hf_retries = 2;
}

void aieb_dataset_free(aieb_dataset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->n; i++)
        free(ds->prompts[i].text);
    free(ds->prompts);
    free(ds->source);
    free(ds->cache_path);
    memset(ds, 0, sizeof *ds);
}

bool ds_is_hub_name(const char *name)
{
    const char *slash = strchr(name, '/');
    if (!slash || slash == name || slash[1] == '\0' || strchr(slash + 1, '/'))
        return false;
    for (const char *s = name; *s; s++)
        if (s != slash && !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789._-",
                                  *s))
            return false;
    /* "." and ".." are paths, not names */
    return strncmp(name, "./", 2) && strncmp(name, "../", 3) && strcmp(slash + 1, ".") &&
           strcmp(slash + 1, "..");
}

/* True when name is written like a path: it names a file even if none exists. */
static bool looks_like_path(const char *name)
{
    static const char *const exts[] = {".jsonl", ".ndjson", ".json", ".csv", ".txt"};
    if (name[0] == '/' || name[0] == '.' || name[0] == '~')
        return true;
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot, exts[i]) == 0)
            return true;
    return false;
}

int aieb_dataset_load(const aieb_dataset_options *opts, aieb_dataset *out, aieb_err *err)
{
    memset(out, 0, sizeof *out);
    ds_opts o;
    ds_opts_resolve(opts, &o);
    const char *name = opts && opts->name && *opts->name ? opts->name : "builtin";
    if (strcasecmp(name, "builtin") == 0)
        return ds_load_builtin(&o, out, err);
    if (strncmp(name, "hf://", 5) == 0)
        return ds_load_hub(name + 5, opts, &o, out, err);

    char *expanded = NULL;
    if (strncmp(name, "~/", 2) == 0 && getenv("HOME")) {
        if (asprintf(&expanded, "%s/%s", getenv("HOME"), name + 2) < 0)
            return aieb_errf(err, AIEB_ENOMEM, "dataset: out of memory");
        name = expanded;
    }
    struct stat st;
    int rc;
    if (stat(name, &st) == 0 || looks_like_path(name))
        rc = ds_load_file(name, &o, out, err);
    else if (ds_is_hub_name(name))
        rc = ds_load_hub(name, opts, &o, out, err);
    else
        rc = aieb_errf(err, AIEB_EINVAL,
                       "dataset '%s': not 'builtin', not an existing file, and not a Hugging "
                       "Face dataset name like org/name",
                       name);
    free(expanded);
    if (!rc)
        AIEB_DEBUG("%s: %zu prompts (%zu rows, %zu empty dropped)", out->source, out->n,
                   out->rows_read, out->rows_empty);
    return rc;
}

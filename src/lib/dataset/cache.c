/* cache.c - hub rows cached on disk, one JSON file per dataset/config/split:
 *   <cache_dir>/<org>--<name>/<config>/<split>.json
 * Written atomically (temporary file + rename), so readers never see half a file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/buf.h"
#include "aieb/fileio.h"
#include "dataset/cache.h"

int aieb_dataset_cache_dir(const aieb_dataset_options *opts, char **dir, aieb_err *err)
{
    *dir = NULL;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (opts && opts->cache_dir && *opts->cache_dir)
        n = asprintf(dir, "%s", opts->cache_dir);
    else if (xdg && *xdg == '/')
        n = asprintf(dir, "%s/aieb/datasets", xdg);
    else if (home && *home)
        n = asprintf(dir, "%s/.cache/aieb/datasets", home);
    else
        return aieb_errf(err, AIEB_ENOTFOUND,
                         "no dataset cache directory: set XDG_CACHE_HOME or HOME, or give one");
    if (n < 0) {
        *dir = NULL;
        return aieb_errf(err, AIEB_ENOMEM, "dataset cache: out of memory");
    }
    return 0;
}

/* Appends s to b with every byte outside [A-Za-z0-9._-] written as %XX (and the
 * dots too when s is only dots), so that a component is one safe file name. */
static int put_component(aieb_buf *b, const char *s, size_t n)
{
    bool dots_only = strspn(s, ".") >= n;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || (c == '.' && !dots_only);
        rc = keep ? aieb_buf_append(b, &s[i], 1) : aieb_buf_printf(b, "%%%02X", c);
    }
    if (!rc && n == 0)
        rc = aieb_buf_puts(b, "%00");
    return rc;
}

/* The directory of one dataset: <dir>/<org>--<name>. */
static int put_dataset_dir(aieb_buf *b, const char *dir, const char *dataset)
{
    int rc = aieb_buf_printf(b, "%s/", dir);
    const char *slash = strchr(dataset, '/');
    if (!rc && slash) {
        rc = put_component(b, dataset, (size_t)(slash - dataset));
        if (!rc)
            rc = aieb_buf_puts(b, "--");
        if (!rc)
            rc = put_component(b, slash + 1, strlen(slash + 1));
    } else if (!rc) {
        rc = put_component(b, dataset, strlen(dataset));
    }
    return rc;
}

int ds_cache_path(const char *dir, const char *dataset, const char *config, const char *split,
                  char **path, aieb_err *err)
{
    *path = NULL;
    aieb_buf b;
    aieb_buf_init(&b, 8192);
    int rc = put_dataset_dir(&b, dir, dataset);
    if (!rc)
        rc = aieb_buf_puts(&b, "/");
    if (!rc)
        rc = put_component(&b, config, strlen(config));
    if (!rc)
        rc = aieb_buf_puts(&b, "/");
    if (!rc)
        rc = put_component(&b, split, strlen(split));
    if (!rc)
        rc = aieb_buf_puts(&b, ".json");
    if (rc) {
        aieb_buf_free(&b);
        return aieb_errf(err, rc, "dataset cache: path for %s is too long or out of memory",
                         dataset);
    }
    *path = aieb_buf_steal(&b);
    return *path ? 0 : aieb_errf(err, AIEB_ENOMEM, "dataset cache: out of memory");
}

static bool same_text(const json_t *doc, const char *key, const char *want)
{
    const char *s = json_string_value(json_object_get(doc, key));
    return s && strcmp(s, want) == 0;
}

int ds_cache_read(const char *path, const char *dataset, const char *config, const char *split,
                  json_t **doc, aieb_err *err)
{
    *doc = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc = aieb_read_file(path, AIEB_DATASET_MAX_FILE_BYTES, &data, &len, err);
    if (rc)
        return rc;
    json_error_t jerr;
    json_t *d = json_loadb(data, len, 0, &jerr);
    free(data);
    if (!d)
        return aieb_errf(err, AIEB_EINVAL, "%s: corrupt cache file (line %d: %s)", path, jerr.line,
                         jerr.text);
    if (!same_text(d, "format", DS_CACHE_FORMAT) || !same_text(d, "dataset", dataset) ||
        !same_text(d, "config", config) || !same_text(d, "split", split) ||
        !json_is_array(json_object_get(d, "rows")) ||
        !json_is_integer(json_object_get(d, "num_rows_total"))) {
        json_decref(d);
        return aieb_errf(err, AIEB_EINVAL, "%s: not a cache file of %s/%s/%s (format %s)", path,
                         dataset, config, split, DS_CACHE_FORMAT);
    }
    *doc = d;
    return 0;
}

int ds_cache_write(const char *path, const json_t *doc, aieb_err *err)
{
    char *dir = strdup(path);
    if (!dir)
        return aieb_errf(err, AIEB_ENOMEM, "dataset cache: out of memory");
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = aieb_mkdir_p(dir, err);
    }
    free(dir);
    if (rc)
        return rc;
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory writing the cache", path);
    rc = aieb_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

char *ds_cache_find_config(const char *dir, const char *dataset, const char *split)
{
    aieb_buf b;
    aieb_buf_init(&b, 8192);
    if (put_dataset_dir(&b, dir, dataset)) {
        aieb_buf_free(&b);
        return NULL;
    }
    DIR *d = opendir(b.data);
    char *best = NULL;
    while (d) {
        struct dirent *e = readdir(d);
        if (!e)
            break;
        if (e->d_name[0] == '.')
            continue;
        char *cfg = NULL, *path = NULL;
        /* the directory name is the escaped config; only plain names are candidates */
        if (strchr(e->d_name, '%'))
            continue;
        cfg = e->d_name;
        if (ds_cache_path(dir, dataset, cfg, split, &path, NULL) == 0 && access(path, R_OK) == 0) {
            bool better = !best || strcmp(cfg, "default") == 0 ||
                          (strcmp(best, "default") != 0 && strcmp(cfg, best) < 0);
            if (better) {
                free(best);
                best = strdup(cfg);
            }
        }
        free(path);
    }
    if (d)
        closedir(d);
    aieb_buf_free(&b);
    return best;
}

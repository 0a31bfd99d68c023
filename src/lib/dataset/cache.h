/* cache.h - on-disk cache of hub dataset rows. Internal to src/lib/dataset.
 *
 * A cache file is one JSON object:
 *   {"format": "aieb-hf-rows/1", "dataset", "config", "split", "endpoint",
 *    "fetched_at", "num_rows_total": N, "features": ["text", ...],
 *    "rows": [{...row 0...}, {...row 1...}, ...]}
 * rows holds rows 0..k-1 of the split (all columns); k < num_rows_total means only
 * a prefix was fetched (enough for the num_samples asked for then). */
#ifndef AIEB_DATASET_CACHE_H
#define AIEB_DATASET_CACHE_H

#include <jansson.h>

#include "aieb/dataset.h"

#define DS_CACHE_FORMAT "aieb-hf-rows/1"

/* <dir>/<org>--<name>/<config>/<split>.json with unsafe bytes %-escaped; malloc'd. */
int ds_cache_path(const char *dir, const char *dataset, const char *config, const char *split,
                  char **path, aieb_err *err);

/* Reads and checks a cache file. Returns 0 with *doc, AIEB_ENOTFOUND when there is
 * none, or AIEB_EINVAL/AIEB_ETOOBIG when it is unusable (the message says why). */
int ds_cache_read(const char *path, const char *dataset, const char *config, const char *split,
                  json_t **doc, aieb_err *err);

/* Writes doc to path atomically, creating directories. */
int ds_cache_write(const char *path, const json_t *doc, aieb_err *err);

/* The config of dataset that has split cached under dir: "default" if present, else
 * the first by name; malloc'd, or NULL when none. */
char *ds_cache_find_config(const char *dir, const char *dataset, const char *split);

#endif

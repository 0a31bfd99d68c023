/* rate.h - AI Energy Score star ratings (docs/ratings.md).
 *
 * A rating places a run's GPU energy per 1000 queries within a reference set:
 * the published leaderboard values for one task (and, for text generation, one
 * model-size class), or the user's own. The reference range min..max is split
 * into 5 equal-width bins; the lowest-energy bin is 5 stars, the highest 1;
 * values below the range get 5, above it 1. (AIEnergyScore's FAQ: "dividing
 * the GPU energy range for a specific task into five equal sections (20%
 * intervals)", https://huggingface.github.io/AIEnergyScore.)
 */
#ifndef AIEB_RATE_H
#define AIEB_RATE_H

#include <stddef.h>

#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aieb_rate_row {
    char *model, *task, *cls; /* cls: "A", "B", "C", or "" for tasks without classes */
    double gpu_wh_per_1000_queries;
} aieb_rate_row;

typedef struct aieb_rate_table {
    aieb_rate_row *rows;
    size_t n;
} aieb_rate_table;

/* Reads a reference table: CSV (RFC 4180) with a header naming at least the
 * columns model, task, class and gpu_wh_per_1000_queries, in any order (others
 * are ignored). Fails with AIEB_EIO when the file cannot be read, AIEB_EINVAL
 * naming the line when a column is missing or a value is not a positive
 * number, AIEB_ENOMEM. */
AIEB_API int aieb_rate_table_load(const char *path, aieb_rate_table *out, aieb_err *err);

/* Same, from a buffer; name labels the messages. */
AIEB_API int aieb_rate_table_parse(const char *name, const char *buf, size_t len,
                                   aieb_rate_table *out, aieb_err *err);

AIEB_API void aieb_rate_table_free(aieb_rate_table *t);

/* The size class of a model with n_params parameters: "A" up to 20 billion,
 * "B" up to 66 billion, "C" above (AIEnergyScore's text-generation classes);
 * NULL when n_params is not positive. */
AIEB_API const char *aieb_rate_class(double n_params);

/* The six bin edges (min, four cuts, max) of the reference values for task and
 * cls (cls NULL or "" matches rows of any class). Fails with AIEB_ENOTFOUND when
 * fewer than two distinct values match (no range to split). */
AIEB_API int aieb_rate_bins(const aieb_rate_table *t, const char *task, const char *cls,
                            double edges[6], aieb_err *err);

/* Stars (1..5) of value against edges: 5 in the first bin [edges[0],
 * edges[1]], 4 in (edges[1], edges[2]], ..., 1 in the last; below edges[0] 5,
 * above edges[5] 1. 0 when value is not a finite number. */
AIEB_API int aieb_rate_stars(double value, const double edges[6]);

#ifdef __cplusplus
}
#endif
#endif

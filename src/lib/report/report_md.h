/* report_md.h - report.md's writer state and sections, shared by
 * report_md.c (summary, configuration, steps 1-3, entry points) and
 * report_md_sections.c (statistics, energy, evidence, cleanup, methods). */
#ifndef AIEB_REPORT_MD_H
#define AIEB_REPORT_MD_H

#include <stddef.h>

#include <jansson.h>

#include "aieb/report.h"
#include "report/report_internal.h"

#define J_PER_WH 3600.0
/* The verdict rule's thresholds as summary.json's evidence.rule states them;
 * used only to say which ground was met (the verdict itself is summary.json's). */
#define RULE_MEM_GROWTH_MB 64.0
#define RULE_POWER_RISE_W  5.0
#define RULE_POWER_RISE_FR 0.10
/* Below this peak utilisation the figure is flagged: NVML's utilisation is the
 * share of a sample period (1/6 s to 1 s) with a kernel running, so short
 * bursts between samples read as near zero. */
#define LOW_UTIL_PCT 10.0

typedef struct ctx {
    const aieb_run_files *f;
    json_t *s;
    md m;
    const char *primary; /* "gpu" or "cpu+ram" */
    int has_gpu;
    json_t *gpus;     /* summary gpu_stats (array) */
    json_t *channels; /* summary meter.channels (array) */
    int *pcols;       /* timeseries power columns of the primary domain(s) */
    size_t n_pcols;
    char ring[16][48]; /* formatted numbers: one printf uses at most 16 */
    unsigned ring_i;
} ctx;

#define P(...) md_printf(&c->m, __VA_ARGS__)

static inline char *slot(ctx *c)
{
    return c->ring[c->ring_i++ % 16];
}

/* Numbers for one P(): 4 significant digits, fixed decimals, with a sign. */
#define S(v)    fmt_sig(slot(c), 48, (v))
#define F(v, d) fmt_fix(slot(c), 48, (v), (d))
#define SG(v)   fmt_signed(slot(c), 48, (v))

/* ==== Helpers (report_md.c) ================================================ */

/* "measured: NVML total-energy counter", ... for a method name. */
const char *md_method_text(const char *method);
/* The method is an estimate ("estimate_tdp_load", "estimate_dimm"). */
int md_is_estimate(const char *method);
/* The timeseries column <label>_<what> of the k-th GPU, -1 if absent. */
int md_gpu_col(ctx *c, size_t k, const char *what);
/* "GPU" or "CPU + RAM". */
const char *md_primary_name(ctx *c);

/* ==== Sections (report_md_sections.c) ====================================== */

void md_aggregates(ctx *c);
void md_energy(ctx *c);
/* "## Repetitions": mean ± 95% interval per figure, when the run repeated its
 * workload (summary.repetitions.n > 1); nothing otherwise. */
void md_repetitions(ctx *c);
void md_energy_star(ctx *c);
void md_gpu_evidence(ctx *c);
void md_cpu_evidence(ctx *c);
void md_cleanup(ctx *c);
void md_methods(ctx *c);

#endif

/* meter_open.c - a meter over the sources this machine has.
 *
 * GPU: NVML, or nothing (said once). CPU: RAPL packages, else the TDP x load
 * estimate (the reason said once). RAM: the DIMM estimate, informational when
 * RAPL measures DRAM. Kept apart from meter.c so that tests and benchmarks can
 * build meters over their own sources without these.
 */
#include <stdio.h>
#include <stdlib.h>

#include "aieb/clock.h"
#include "aieb/log.h"
#include "meter/source.h"

/* Estimates are read at most every 100 ms: /proc/stat counts in 10 ms ticks, so
 * a load over one 10 ms interval is mostly noise, and each read costs CPU. */
#define ESTIMATE_READ_INTERVAL_NS (100 * AIEB_NS_PER_MS)

/* A channel of s in the DRAM domain. */
static int has_dram(const aieb_source *s)
{
    for (int i = 0; s && i < s->n_channels; i++)
        if (s->channels[i].domain == AIEB_DOMAIN_DRAM)
            return 1;
    return 0;
}

/* Notes collected before the meter exists, then handed to it. */
typedef struct pending_notes {
    int n;
    int level[4];
    char msg[4][AIEB_ERR_MSG_MAX];
} pending_notes;

static void pend(pending_notes *p, int level, const aieb_err *e)
{
    if (p->n < 4) {
        p->level[p->n] = level;
        snprintf(p->msg[p->n], sizeof p->msg[0], "%s", e->msg);
        p->n++;
    }
}

int aieb_meter_open(aieb_meter **out, const aieb_meter_opts *opts, aieb_err *err)
{
    aieb_meter_opts dflt;
    aieb_meter_opts_init(&dflt);
    if (!opts)
        opts = &dflt;
    aieb_source *src[3] = {NULL, NULL, NULL};
    int n = 0, rc = 0;
    pending_notes notes = {0};
    aieb_err e;

    if (!opts->no_gpu) {
        aieb_err_clear(&e);
        rc = aieb_nvml_source_open(&src[n], opts->nvml_library, opts->gpu_ids, &e);
        if (rc == 0)
            n++;
        else if (rc == AIEB_EINVAL || rc == AIEB_ENOMEM)
            return aieb_errf(err, rc, "%s", e.msg); /* the user's gpu ids are wrong */
        else
            pend(&notes, AIEB_LOG_INFO, &e);
    }
    int dram = 0;
    if (!opts->no_cpu) {
        aieb_err_clear(&e);
        rc = aieb_rapl_source_open(&src[n], opts->powercap_root, &e);
        if (rc == 0) {
            dram = has_dram(src[n]);
            n++;
        } else {
            if (rc == AIEB_ENOTFOUND)
                aieb_err_prefix(&e, "no RAPL here, CPU energy is estimated (TDP x load)");
            pend(&notes, rc == AIEB_ENOTFOUND ? AIEB_LOG_INFO : AIEB_LOG_WARNING, &e);
            aieb_err_clear(&e);
            rc = aieb_cpu_estimate_source_open(&src[n], opts->cpu_tdp_w, opts->proc_root, &e);
            if (rc == 0)
                src[n++]->min_read_interval_ns = ESTIMATE_READ_INTERVAL_NS;
            else
                pend(&notes, AIEB_LOG_WARNING, &e);
        }
    }
    if (!opts->no_ram) {
        aieb_err_clear(&e);
        rc = aieb_ram_estimate_source_open(&src[n], opts->ram_total_gb, -1, dram, &e);
        if (rc == 0)
            src[n++]->min_read_interval_ns = ESTIMATE_READ_INTERVAL_NS;
        else
            pend(&notes, AIEB_LOG_WARNING, &e);
    }
    rc = aieb_meter_open_with(out, opts, src, n, err);
    if (rc)
        return rc;
    for (int i = 0; i < notes.n; i++)
        aieb_meter_add_note(*out, notes.level[i], "%s", notes.msg[i]);
    return 0;
}

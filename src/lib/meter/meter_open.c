/* meter_open.c - a meter over the sources this machine has.
 *
 * GPU: NVML and ROCm SMI, each where present, or nothing (said once). CPU: RAPL packages, else the
 * TDP x load estimate (the reason said once). RAM: the DIMM estimate, informational when RAPL
 * measures DRAM. Kept apart from meter.c so that tests and benchmarks can build meters over their
 * own sources without these.
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

/* A vendor's GPUs are here when its library counted some, even if the gpu ids
 * named none of them (the sources check ids after counting). */
static int gpus_here(int rc)
{
    return rc == 0 || rc == AIEB_EINVAL;
}

/* NVIDIA GPUs (NVML) and AMD GPUs (ROCm SMI), each where present. A vendor
 * absent is said in one note only when no GPU is measured at all; gpu ids
 * cannot be meant for both vendors at once. Fails only for bad gpu ids (or
 * memory), with nothing left open. */
static int open_gpus(aieb_source **src, int *n, const aieb_meter_opts *opts, pending_notes *notes,
                     aieb_err *err)
{
    aieb_source *nv = NULL, *amd = NULL;
    aieb_err en, ea;
    aieb_err_clear(&en);
    aieb_err_clear(&ea);
    int rn = aieb_nvml_source_open(&nv, opts->nvml_library, opts->gpu_ids, &en);
    int ra = aieb_rocm_source_open(&amd, NULL, opts->gpu_ids, &ea);
    int rc = 0;
    if (opts->gpu_ids && *opts->gpu_ids && gpus_here(rn) && gpus_here(ra))
        rc = aieb_errf(err, AIEB_EINVAL,
                       "gpu ids '%s': this machine has NVIDIA and AMD GPUs, and gpu ids cannot "
                       "say whose they are; leave them unset to measure every GPU",
                       opts->gpu_ids);
    else if (rn == AIEB_EINVAL || rn == AIEB_ENOMEM)
        rc = aieb_errf(err, rn, "%s", en.msg); /* the user's gpu ids are wrong */
    else if (ra == AIEB_EINVAL || ra == AIEB_ENOMEM)
        rc = aieb_errf(err, ra, "%s", ea.msg);
    if (rc) {
        if (nv)
            nv->close(nv);
        if (amd)
            amd->close(amd);
        return rc;
    }
    if (nv)
        src[(*n)++] = nv;
    if (amd)
        src[(*n)++] = amd;
    if (!nv && !amd) {
        aieb_err both;
        aieb_errf(&both, rn, "%s; %s", en.msg, ea.msg);
        pend(notes, AIEB_LOG_INFO, &both);
    } else if (!nv || !amd) {
        AIEB_DEBUG("%s", nv ? ea.msg : en.msg);
    }
    return 0;
}

int aieb_meter_open(aieb_meter **out, const aieb_meter_opts *opts, aieb_err *err)
{
    *out = NULL;
    aieb_meter_opts dflt;
    aieb_meter_opts_init(&dflt);
    if (!opts)
        opts = &dflt;
    aieb_source *src[4] = {NULL, NULL, NULL, NULL};
    int n = 0, rc = 0;
    pending_notes notes = {0};
    aieb_err e;

    if (!opts->no_gpu && (rc = open_gpus(src, &n, opts, &notes, err)) != 0)
        return rc;
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

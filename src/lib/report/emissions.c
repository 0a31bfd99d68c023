/* emissions.c - emissions.csv rows in CodeCarbon 3.2+'s format (header, order
 * and units from CodeCarbon's output/file writer and EmissionsData). Quoting,
 * header-once and side files are aieb_csv_append_row's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/csv.h"
#include "aieb/emissions.h"

static const char *const columns[AIEB_EMISSIONS_N_COLUMNS] = {
    "timestamp",
    "project_name",
    "run_id",
    "experiment_id",
    "duration",
    "emissions",
    "emissions_rate",
    "cpu_power",
    "gpu_power",
    "ram_power",
    "cpu_energy",
    "gpu_energy",
    "ram_energy",
    "energy_consumed",
    "water_consumed",
    "country_name",
    "country_iso_code",
    "region",
    "cloud_provider",
    "cloud_region",
    "os",
    "python_version",
    "codecarbon_version",
    "cpu_count",
    "cpu_model",
    "gpu_count",
    "gpu_model",
    "longitude",
    "latitude",
    "ram_total_size",
    "tracking_mode",
    "cpu_utilization_percent",
    "gpu_utilization_percent",
    "ram_utilization_percent",
    "ram_used_gb",
    "on_cloud",
    "pue",
    "wue",
};

const char *const *aieb_emissions_columns(void)
{
    return columns;
}

void aieb_emissions_row_init(aieb_emissions_row *r)
{
    memset(r, 0, sizeof *r); /* strings NULL */
    r->duration_s = r->emissions_kg = r->emissions_rate_kg_per_s = NAN;
    r->cpu_power_w = r->gpu_power_w = r->ram_power_w = NAN;
    r->cpu_energy_kwh = r->gpu_energy_kwh = r->ram_energy_kwh = NAN;
    r->energy_consumed_kwh = r->water_consumed_l = NAN;
    r->cpu_count = r->gpu_count = -1;
    r->longitude = r->latitude = r->ram_total_size_gb = NAN;
    r->cpu_utilization_percent = r->gpu_utilization_percent = NAN;
    r->ram_utilization_percent = r->ram_used_gb = NAN;
    r->pue = r->wue = NAN;
}

/* Average power in W over duration_s of energy_kwh measured after the PUE. */
static double avg_power_w(double kwh, double pue, double duration_s)
{
    if (isnan(kwh) || !(duration_s > 0))
        return NAN;
    return kwh / pue * AIEB_J_PER_KWH / duration_s;
}

void aieb_emissions_row_fill(aieb_emissions_row *r, const aieb_emissions *e, const aieb_carbon *c,
                             double duration_s)
{
    r->duration_s = duration_s;
    r->emissions_kg = e->emissions_g / 1000.0;
    r->emissions_rate_kg_per_s = duration_s > 0 ? r->emissions_kg / duration_s : NAN;
    r->cpu_energy_kwh = e->cpu_kwh;
    r->gpu_energy_kwh = e->gpu_kwh;
    r->ram_energy_kwh = e->ram_kwh;
    r->energy_consumed_kwh = e->total_kwh;
    r->cpu_power_w = avg_power_w(e->cpu_kwh, e->pue, duration_s);
    r->gpu_power_w = avg_power_w(e->gpu_kwh, e->pue, duration_s);
    r->ram_power_w = avg_power_w(e->ram_kwh, e->pue, duration_s);
    r->pue = e->pue;
    if (c) {
        r->country_name = c->country[0] ? c->country : NULL;
        r->country_iso_code = c->iso3[0] ? c->iso3 : NULL;
        r->region = c->region[0] ? c->region : NULL;
    }
}

/* Python's float repr, which CodeCarbon's pandas writer uses: the shortest
 * digits that read back to v; fixed notation with at least one decimal ("42.0")
 * for exponents -4..15, else "9.84e-05". NULL for NAN. */
static const char *fmt_num(double v, char *buf)
{
    if (isnan(v))
        return NULL;
    if (!isfinite(v)) {
        snprintf(buf, 32, "%s", v < 0 ? "-inf" : "inf");
        return buf;
    }
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, 32, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    snprintf(buf, 32, "%.*e", prec - 1, v);
    int exp10 = atoi(strchr(buf, 'e') + 1);
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = prec - 1 - exp10;
        snprintf(buf, 32, "%.*f", decimals < 1 ? 1 : decimals, v);
    }
    return buf;
}

static const char *fmt_int(int v, char *buf)
{
    if (v < 0)
        return NULL;
    snprintf(buf, 32, "%d", v);
    return buf;
}

void aieb_emissions_row_values(const aieb_emissions_row *r, const char **vals, char (*store)[32])
{
    int i = 0;
    if (r->timestamp) {
        vals[i++] = r->timestamp;
    } else {
        aieb_format_utc(aieb_wall_ns(), 0, store[0]);
        vals[i++] = store[0];
    }
    vals[i++] = r->project_name;
    vals[i++] = r->run_id;
    vals[i++] = r->experiment_id;
    const double a[] = {r->duration_s,          r->emissions_kg,    r->emissions_rate_kg_per_s,
                        r->cpu_power_w,         r->gpu_power_w,     r->ram_power_w,
                        r->cpu_energy_kwh,      r->gpu_energy_kwh,  r->ram_energy_kwh,
                        r->energy_consumed_kwh, r->water_consumed_l};
    for (size_t k = 0; k < sizeof a / sizeof a[0]; k++, i++)
        vals[i] = fmt_num(a[k], store[i]);
    vals[i++] = r->country_name;
    vals[i++] = r->country_iso_code;
    vals[i++] = r->region;
    vals[i++] = r->cloud_provider;
    vals[i++] = r->cloud_region;
    vals[i++] = r->os;
    vals[i++] = r->python_version;
    vals[i++] = r->codecarbon_version;
    vals[i] = fmt_int(r->cpu_count, store[i]);
    i++;
    vals[i++] = r->cpu_model;
    vals[i] = fmt_int(r->gpu_count, store[i]);
    i++;
    vals[i++] = r->gpu_model;
    vals[i] = fmt_num(r->longitude, store[i]);
    i++;
    vals[i] = fmt_num(r->latitude, store[i]);
    i++;
    vals[i] = fmt_num(r->ram_total_size_gb, store[i]);
    i++;
    vals[i++] = r->tracking_mode;
    const double b[] = {r->cpu_utilization_percent, r->gpu_utilization_percent,
                        r->ram_utilization_percent, r->ram_used_gb};
    for (size_t k = 0; k < sizeof b / sizeof b[0]; k++, i++)
        vals[i] = fmt_num(b[k], store[i]);
    vals[i++] = r->on_cloud;
    vals[i] = fmt_num(r->pue, store[i]);
    i++;
    vals[i] = fmt_num(r->wue, store[i]);
}

int aieb_emissions_append(const char *path, const aieb_emissions_row *r, char **written,
                          aieb_err *err)
{
    const char *vals[AIEB_EMISSIONS_N_COLUMNS];
    char store[AIEB_EMISSIONS_N_COLUMNS][32];
    aieb_emissions_row_values(r, vals, store);
    return aieb_csv_append_row(path, columns, vals, AIEB_EMISSIONS_N_COLUMNS, written, err);
}

/* ==== The machine ========================================================== */

/* The first "model name" of /proc/cpuinfo (x86; Arm kernels have none). */
static void cpu_model(const char *proc_root, char *out, size_t size)
{
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/cpuinfo", proc_root ? proc_root : "/proc");
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *v = strchr(line, ':');
        if (!v)
            break;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t n = strcspn(v, "\n");
        snprintf(out, size, "%.*s", (int)n, v);
        break;
    }
    fclose(f);
}

void aieb_emissions_machine_probe(aieb_emissions_machine *m, const aieb_meter_summary *s,
                                  const char *proc_root)
{
    memset(m, 0, sizeof *m);
    m->gpu_utilization_percent = NAN;
    m->ram_total_size_gb = NAN;
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->os, sizeof m->os, "%s-%s-%s", u.sysname, u.release, u.machine);
    cpu_model(proc_root, m->cpu_model, sizeof m->cpu_model);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    m->cpu_count = n > 0 ? (int)n : -1;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0)
        m->ram_total_size_gb = (double)pages * (double)page / 1e9;
    const char *name = NULL;
    double util = 0;
    int n_util = 0;
    for (int c = 0; s && c < s->n_channels; c++) {
        const aieb_meter_channel_summary *cs = &s->channels[c];
        if (cs->info->domain != AIEB_DOMAIN_GPU)
            continue;
        m->gpu_count++;
        if (!name)
            name = cs->info->name;
        if (isfinite(cs->util_avg_pct)) {
            util += cs->util_avg_pct;
            n_util++;
        }
    }
    if (name)
        snprintf(m->gpu_model, sizeof m->gpu_model, "%d x %s", m->gpu_count, name);
    if (n_util)
        m->gpu_utilization_percent = util / n_util;
}

void aieb_emissions_row_machine(aieb_emissions_row *r, const aieb_emissions_machine *m)
{
    r->os = m->os[0] ? m->os : NULL;
    r->cpu_count = m->cpu_count;
    r->cpu_model = m->cpu_model[0] ? m->cpu_model : NULL;
    r->gpu_count = m->gpu_count;
    r->gpu_model = m->gpu_model[0] ? m->gpu_model : NULL;
    r->gpu_utilization_percent = m->gpu_utilization_percent;
    r->ram_total_size_gb = m->ram_total_size_gb;
    r->tracking_mode = "machine";
    r->on_cloud = "N";
}

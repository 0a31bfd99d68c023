/* emissions.h - one row of emissions.csv in CodeCarbon 3.2+'s format.
 *
 * The file is appended to, its header written once, with exactly CodeCarbon's 38
 * columns in its order and units: duration in s, emissions in kg CO2e,
 * emissions_rate in kg/s, powers in W, energies in kWh, ram_total_size and
 * ram_used_gb in GB. Fields aieb does not have stay empty. A file whose header
 * differs is never touched: the row goes to a side file (emissions.1.csv).
 */
#ifndef AIEB_EMISSIONS_H
#define AIEB_EMISSIONS_H

#include "aieb/carbon.h"
#include "aieb/err.h"
#include "aieb/meter.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AIEB_EMISSIONS_N_COLUMNS 38

/* Values of one row. Numbers that are NAN, counts below 0 and NULL strings are
 * written as empty fields. aieb_emissions_row_init sets every field empty. */
typedef struct aieb_emissions_row {
    const char *timestamp;    /* "%Y-%m-%dT%H:%M:%S"; NULL: now, in UTC */
    const char *project_name; /* CodeCarbon's default is "codecarbon" */
    const char *run_id;       /* a UUID in CodeCarbon */
    const char *experiment_id;
    double duration_s;
    double emissions_kg;
    double emissions_rate_kg_per_s;
    double cpu_power_w, gpu_power_w, ram_power_w;
    double cpu_energy_kwh, gpu_energy_kwh, ram_energy_kwh;
    double energy_consumed_kwh;
    double water_consumed_l;
    const char *country_name;
    const char *country_iso_code;
    const char *region;
    const char *cloud_provider;
    const char *cloud_region;
    const char *os;
    const char *python_version;
    const char *codecarbon_version;
    int cpu_count;
    const char *cpu_model;
    int gpu_count;
    const char *gpu_model;
    double longitude, latitude;
    double ram_total_size_gb;
    const char *tracking_mode; /* "machine" or "process" */
    double cpu_utilization_percent;
    double gpu_utilization_percent;
    double ram_utilization_percent;
    double ram_used_gb;
    const char *on_cloud; /* "N" or "Y" */
    double pue;
    double wue;
} aieb_emissions_row;

/* The 38 column names in CodeCarbon 3.2+'s order (a read-only table). Can't fail. */
AIEB_API const char *const *aieb_emissions_columns(void);

/* Sets every field of r to empty (NAN, -1, NULL). Can't fail. */
AIEB_API void aieb_emissions_row_init(aieb_emissions_row *r);

/* Fills the energy fields of r from a run: duration_s, emissions_kg (g / 1000),
 * emissions_rate_kg_per_s, {cpu,gpu,ram}_energy_kwh and energy_consumed_kwh
 * (after the PUE, as CodeCarbon), {cpu,gpu,ram}_power_w (average power over the
 * run, before the PUE), pue, and from c (may be NULL) country_name,
 * country_iso_code and region. Strings point into c, which must outlive r.
 * Can't fail. */
AIEB_API void aieb_emissions_row_fill(aieb_emissions_row *r, const aieb_emissions *e,
                                      const aieb_carbon *c, double duration_s);

/* What a row says about the machine, the same for `aieb run` and `aieb
 * measure`. A row's strings point into it, so it must outlive the row. */
typedef struct aieb_emissions_machine {
    char os[256];        /* "Linux-<release>-<arch>", from uname */
    char cpu_model[256]; /* /proc/cpuinfo's first "model name" */
    char gpu_model[192]; /* "<n> x <name>", CodeCarbon's form */
    int cpu_count, gpu_count;
    double gpu_utilization_percent; /* mean of the GPUs' averages; display only */
    double ram_total_size_gb;       /* physical memory, GB */
} aieb_emissions_machine;

/* Fills m from this machine (uname, /proc/cpuinfo under proc_root, NULL for
 * "/proc"; sysconf) and from the GPU channels of s (may be NULL: no GPU).
 * Can't fail: what cannot be read stays empty. */
AIEB_API void aieb_emissions_machine_probe(aieb_emissions_machine *m, const aieb_meter_summary *s,
                                           const char *proc_root);

/* Sets r's machine fields from m (os, cpu_count, cpu_model, gpu_count,
 * gpu_model, gpu_utilization_percent, ram_total_size_gb; tracking_mode
 * "machine", on_cloud "N"). Strings point into m. Can't fail. */
AIEB_API void aieb_emissions_row_machine(aieb_emissions_row *r, const aieb_emissions_machine *m);

/* Formats the 38 values of r as strings, the way the row is written: numbers in
 * the shortest form that reads back exactly, with ".0" on whole numbers (as
 * Python writes floats). vals[i] points into store or into r's strings; NULL for
 * empty. store must hold AIEB_EMISSIONS_N_COLUMNS x 32 bytes. Can't fail. */
AIEB_API void aieb_emissions_row_values(const aieb_emissions_row *r, const char **vals,
                                        char (*store)[32]);

/* Appends r to the emissions.csv at path: header first when the file is absent
 * or empty; the row only when its header is CodeCarbon's; otherwise the file is
 * left as it is and the row goes to "<stem>.<k>.csv" beside it (a warning is
 * logged). *written (may be NULL) receives a malloc'd copy of the path actually
 * written, for the caller to report. Fails with AIEB_EIO naming the file, or
 * AIEB_ENOMEM. */
AIEB_API int aieb_emissions_append(const char *path, const aieb_emissions_row *r, char **written,
                                   aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif

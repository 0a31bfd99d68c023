/* carbon.h - carbon intensity of electricity and the emissions of a run.
 *
 * The table is data/carbon_intensity.csv, embedded in the library: countries by
 * ISO 3166 alpha-3 code (Ember figures via Our World in Data), and US regions
 * (EPA eGRID subregions, and states that lie in one subregion). An explicit
 * intensity (metrics.carbon_intensity_g_per_kwh) overrides the table; codes the
 * table lacks use the world average and say so. Emissions are energy (kWh, every
 * component multiplied by the PUE, as CodeCarbon does) times intensity.
 */
#ifndef AIEB_CARBON_H
#define AIEB_CARBON_H

#include <stddef.h>

#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* World average carbon intensity, used for unknown countries: IEA, Global Energy
 * & CO2 Status Report 2019, the figure CodeCarbon falls back to. */
#define AIEB_CARBON_WORLD_G_PER_KWH 475.0

/* The most bytes a carbon table may have (tables given to aieb_carbon_lookup_in). */
#define AIEB_CARBON_TABLE_MAX_BYTES (1u << 20)

#define AIEB_J_PER_KWH 3.6e6

typedef enum {
    AIEB_CARBON_OVERRIDE = 0, /* metrics.carbon_intensity_g_per_kwh */
    AIEB_CARBON_REGION = 1,   /* a region row (US state or eGRID subregion) */
    AIEB_CARBON_COUNTRY = 2,  /* a country row */
    AIEB_CARBON_WORLD = 3,    /* no country given, or not in the table: 475 g/kWh */
} aieb_carbon_basis;

/* The intensity in force and where it comes from. */
typedef struct aieb_carbon {
    double g_per_kwh; /* gCO2e per kWh */
    aieb_carbon_basis basis;
    char iso3[4];         /* upper case; "" when none was given */
    char country[64];     /* from the table; "" when unknown */
    char region[32];      /* region code as in the table ("CA", "CAMX"); "" when none */
    char region_name[64]; /* "California"; "" when none */
    int year;             /* year of the figure; 0 for overrides and the world average */
    char source[96];      /* "Ember via OWID", "EPA eGRID2022 CAMX", "override", ... */
    char note[256];       /* why a fallback was taken (unknown code or region); "" if none */
} aieb_carbon;

/* Looks up the carbon intensity in force.
 *   iso3: ISO 3166 alpha-3 code or country name, any case; NULL or "" for none.
 *   region: a region code or name of that country (US: state code "CA" or name
 *           "California", or eGRID subregion "CAMX"), any case; NULL or "" for none.
 *           Without iso3, a region is looked up among all regions.
 *   override_g_per_kwh: >= 0 to force that intensity (country and region are
 *           still filled in when known); NAN for none.
 * An unknown country gives the world average (basis AIEB_CARBON_WORLD) and an
 * unknown region its country's figure, both with note saying so; these are not
 * errors. Fails with AIEB_EINVAL for a negative or infinite override, and
 * AIEB_ENOTFOUND / AIEB_EINVAL when the embedded table is missing or malformed
 * (a build fault). */
AIEB_API int aieb_carbon_lookup(const char *iso3, const char *region, double override_g_per_kwh,
                                aieb_carbon *out, aieb_err *err);

/* As aieb_carbon_lookup, against the CSV text csv[0..len) in the embedded
 * table's format (header iso3,country,g_co2e_per_kwh,year,source,region,
 * region_name; '#' comment lines). Fails with AIEB_EINVAL naming the line of a
 * malformed row, AIEB_ETOOBIG past AIEB_CARBON_TABLE_MAX_BYTES. */
AIEB_API int aieb_carbon_lookup_in(const char *csv, size_t len, const char *iso3,
                                   const char *region, double override_g_per_kwh, aieb_carbon *out,
                                   aieb_err *err);

/* Counts the distinct countries of the embedded table (for probe and tests).
 * Returns the count, or an AIEB_E* code. */
AIEB_API int aieb_carbon_table_countries(aieb_err *err);

/* Energy of one run by component, in J; NAN for a component not measured. */
typedef struct aieb_energy_parts {
    double cpu_j;
    double gpu_j;
    double ram_j; /* measured DRAM where RAPL has it, else the RAM estimate */
} aieb_energy_parts;

/* The same after the PUE, in kWh, and the emissions. */
typedef struct aieb_emissions {
    double pue;
    double cpu_kwh, gpu_kwh, ram_kwh; /* x PUE; NAN where the input was NAN */
    double total_kwh;                 /* sum of the components present */
    double g_per_kwh;
    double emissions_g; /* total_kwh x g_per_kwh */
} aieb_emissions;

/* kWh from J (/ 3.6e6). Can't fail. */
AIEB_API double aieb_kwh_from_j(double j);

/* Grams CO2e of energy_kwh at g_per_kwh. Can't fail. */
AIEB_API double aieb_carbon_grams(double energy_kwh, double g_per_kwh);

/* Applies the PUE (metrics.pue; each component's energy x pue, as CodeCarbon)
 * and the intensity. Fails with AIEB_EINVAL when pue is below 1 or not finite,
 * or g_per_kwh is negative or not finite; out is then untouched. */
AIEB_API int aieb_carbon_emissions(const aieb_energy_parts *parts, double pue, double g_per_kwh,
                                   aieb_emissions *out, aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif

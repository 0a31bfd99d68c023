/* carbon.h - carbon intensity of electricity and the emissions of a run.
 *
 * The table is data/carbon_intensity.csv, embedded in the library: countries by
 * ISO 3166 alpha-3 code (Ember figures via Our World in Data), and US regions
 * (EPA eGRID subregions, and states that lie in one subregion). An explicit
 * intensity (metrics.carbon_intensity_g_per_kwh) overrides the table. The
 * commands resolve the intensity through aieb_carbon_resolve (defaults and
 * environment included); the lower-level lookup gives codes the table lacks the
 * world average and says so. Emissions are energy (kWh, every component
 * multiplied by the PUE, as CodeCarbon does) times intensity.
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

/* What aieb_carbon_resolve takes when it is given no country or region: the
 * environment variables of metrics.country_iso_code and metrics.region, and the
 * former's default (the config schema's; a unit test keeps them equal). */
#define AIEB_CARBON_ENV_COUNTRY     "COUNTRY_ISO_CODE"
#define AIEB_CARBON_ENV_REGION      "REGION"
#define AIEB_CARBON_DEFAULT_COUNTRY "USA"

/* The most bytes a carbon table may have (tables given to aieb_carbon_lookup_in). */
#define AIEB_CARBON_TABLE_MAX_BYTES (1u << 20)

#define AIEB_J_PER_KWH 3.6e6

typedef enum {
    AIEB_CARBON_OVERRIDE = 0, /* metrics.carbon_intensity_g_per_kwh */
    AIEB_CARBON_REGION = 1,   /* a region row (US state or eGRID subregion) */
    AIEB_CARBON_COUNTRY = 2,  /* a country row */
    AIEB_CARBON_WORLD = 3,    /* no country given, or not in the table: 475 g/kWh */
} aieb_carbon_basis;

/* Where the country or region of a resolved intensity came from. */
typedef enum {
    AIEB_CARBON_FROM_NONE = 0,    /* not given anywhere (no region) */
    AIEB_CARBON_FROM_GIVEN = 1,   /* the caller's argument (a config key, an option) */
    AIEB_CARBON_FROM_ENV = 2,     /* AIEB_CARBON_ENV_COUNTRY or AIEB_CARBON_ENV_REGION */
    AIEB_CARBON_FROM_DEFAULT = 3, /* AIEB_CARBON_DEFAULT_COUNTRY */
} aieb_carbon_from;

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
    aieb_carbon_from country_from; /* GIVEN or NONE from aieb_carbon_lookup */
    aieb_carbon_from region_from;
} aieb_carbon;

/* Resolves the carbon intensity the way every command does (`aieb run`, `aieb
 * measure`, `aieb probe`), so that one place gives one figure:
 *   country: an ISO 3166 alpha-3 code or a country name, any case; NULL for
 *            not given: then $COUNTRY_ISO_CODE when set and not empty (three
 *            letters), else AIEB_CARBON_DEFAULT_COUNTRY ("USA", as the config).
 *   region:  a region of that country (see aieb_carbon_lookup); "" for none;
 *            NULL for not given: then $REGION when set, not empty and not a
 *            YAML null ("null", "~"), else none.
 *   override_g_per_kwh: >= 0 to use that intensity; NAN for the table's.
 * A config passes its final metrics.* values (the loader has applied the same
 * environment variables already) with a NULL region as "": "none". out says
 * where the country and region came from (country_from, region_from). An
 * unknown region gives the country's figure with a note, as the lookup.
 * Fails with AIEB_EINVAL, out untouched, for a country the table does not know
 * when no override is given (an override makes the country a label only), an
 * empty country, a $COUNTRY_ISO_CODE that is not three letters, or a negative
 * or infinite override; with the lookup's errors for a broken table. */
AIEB_API int aieb_carbon_resolve(const char *country, const char *region, double override_g_per_kwh,
                                 aieb_carbon *out, aieb_err *err);

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

/* carbon.c - carbon intensity lookup in the embedded table and the emissions of
 * a run (energy x PUE x intensity). Table format and sources: the header of
 * data/carbon_intensity.csv and docs/methodology.md. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aieb/carbon.h"
#include "util/embedded.h"

#define TABLE_NAME   "carbon_intensity.csv"
#define TABLE_HEADER "iso3,country,g_co2e_per_kwh,year,source,region,region_name"
#define N_FIELDS     7
#define FIELD_MAX    96

enum { F_ISO3, F_COUNTRY, F_G, F_YEAR, F_SOURCE, F_REGION, F_REGION_NAME };

typedef struct row {
    char f[N_FIELDS][FIELD_MAX];
    double g;
    int year;
} row;

/* ==== Reading the table ===================================================== */

/* Splits one CSV line (RFC 4180 quoting) into exactly N_FIELDS fields. Returns
 * 0, or -1 with why set. */
static int split(const char *s, size_t len, row *r, const char **why)
{
    const char *end = s + len;
    int n = 0;
    for (;;) {
        if (n == N_FIELDS) {
            *why = "more than 7 fields";
            return -1;
        }
        char *out = r->f[n];
        size_t k = 0;
        if (s < end && *s == '"') {
            s++;
            for (;;) {
                if (s >= end) {
                    *why = "unterminated quote";
                    return -1;
                }
                if (*s == '"' && (s + 1 >= end || s[1] != '"')) {
                    s++;
                    break;
                }
                if (*s == '"')
                    s++; /* "" is one quote */
                if (k + 1 >= FIELD_MAX) {
                    *why = "field too long";
                    return -1;
                }
                out[k++] = *s++;
            }
            if (s < end && *s != ',') {
                *why = "text after a closing quote";
                return -1;
            }
        } else {
            while (s < end && *s != ',') {
                if (k + 1 >= FIELD_MAX) {
                    *why = "field too long";
                    return -1;
                }
                out[k++] = *s++;
            }
        }
        out[k] = '\0';
        n++;
        if (s >= end)
            break;
        s++; /* the comma */
    }
    if (n != N_FIELDS) {
        *why = "fewer than 7 fields";
        return -1;
    }
    return 0;
}

static int check_row(row *r, const char **why)
{
    const char *iso = r->f[F_ISO3];
    if (strlen(iso) != 3 || !isupper((unsigned char)iso[0]) || !isupper((unsigned char)iso[1]) ||
        !isupper((unsigned char)iso[2])) {
        *why = "iso3 is not three capital letters";
        return -1;
    }
    if (!r->f[F_COUNTRY][0] || !r->f[F_SOURCE][0]) {
        *why = "empty country or source";
        return -1;
    }
    char *end;
    r->g = strtod(r->f[F_G], &end);
    if (end == r->f[F_G] || *end || !isfinite(r->g) || r->g < 0) {
        *why = "g_co2e_per_kwh is not a non-negative number";
        return -1;
    }
    long y = strtol(r->f[F_YEAR], &end, 10);
    if (end == r->f[F_YEAR] || *end || y < 1990 || y > 2100) {
        *why = "year is not a year";
        return -1;
    }
    r->year = (int)y;
    if (!r->f[F_REGION][0] != !r->f[F_REGION_NAME][0]) {
        *why = "region without region_name or the reverse";
        return -1;
    }
    return 0;
}

typedef int (*row_fn)(const row *r, void *arg);

/* Calls fn for every data row; validates all of them. Returns 0, fn's non-zero
 * return, or AIEB_EINVAL naming the line. */
static int each_row(const char *csv, size_t len, row_fn fn, void *arg, aieb_err *err)
{
    if (len > AIEB_CARBON_TABLE_MAX_BYTES)
        return aieb_errf(err, AIEB_ETOOBIG, "carbon table: %zu bytes, over the %u-byte limit", len,
                         AIEB_CARBON_TABLE_MAX_BYTES);
    const char *p = csv, *end = csv + len;
    int line_no = 0, seen_header = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n && p[n - 1] == '\r')
            n--;
        const char *line = p;
        p = nl ? nl + 1 : end;
        line_no++;
        if (n == 0 || line[0] == '#')
            continue;
        if (!seen_header) {
            if (n != strlen(TABLE_HEADER) || memcmp(line, TABLE_HEADER, n) != 0)
                return aieb_errf(err, AIEB_EINVAL, "carbon table line %d: header is not '%s'",
                                 line_no, TABLE_HEADER);
            seen_header = 1;
            continue;
        }
        row r = {0};
        const char *why = NULL;
        if (split(line, n, &r, &why) != 0 || check_row(&r, &why) != 0)
            return aieb_errf(err, AIEB_EINVAL, "carbon table line %d: %s", line_no, why);
        int rc = fn(&r, arg);
        if (rc)
            return rc;
    }
    if (!seen_header)
        return aieb_errf(err, AIEB_EINVAL, "carbon table: no header line");
    return 0;
}

static int embedded_table(const char **csv, size_t *len, aieb_err *err)
{
    const aieb_embedded_file *f = aieb_embedded_find(TABLE_NAME);
    if (!f)
        return aieb_errf(err, AIEB_ENOTFOUND, "carbon: %s is not embedded in this build",
                         TABLE_NAME);
    *csv = (const char *)f->data;
    *len = f->len;
    return 0;
}

/* ==== Lookup ================================================================ */

typedef struct query {
    char want_country[64]; /* trimmed input */
    char want_region[64];
    row country;
    int have_country;
    row region;
    int have_region;
    char region_iso3[4]; /* the wanted country as seen in region rows */
} query;

static void trim_copy(char *dst, size_t n, const char *src)
{
    dst[0] = '\0';
    if (!src)
        return;
    while (isspace((unsigned char)*src))
        src++;
    size_t k = strlen(src);
    while (k && isspace((unsigned char)src[k - 1]))
        k--;
    if (k >= n)
        k = n - 1;
    memcpy(dst, src, k);
    dst[k] = '\0';
}

static int country_matches(const row *r, const char *want)
{
    return strcasecmp(r->f[F_ISO3], want) == 0 || strcasecmp(r->f[F_COUNTRY], want) == 0;
}

static int collect(const row *r, void *arg)
{
    query *q = arg;
    if (!r->f[F_REGION][0]) {
        if (q->want_country[0] && !q->have_country && country_matches(r, q->want_country)) {
            q->country = *r;
            q->have_country = 1;
        }
        return 0;
    }
    if (q->want_country[0] && !q->region_iso3[0] && country_matches(r, q->want_country))
        memcpy(q->region_iso3, r->f[F_ISO3], 4);
    if (q->want_region[0] && !q->have_region &&
        (strcasecmp(r->f[F_REGION], q->want_region) == 0 ||
         strcasecmp(r->f[F_REGION_NAME], q->want_region) == 0)) {
        /* With a country given, only its regions; checked after the pass,
         * since the country row may come later. */
        q->region = *r;
        q->have_region = 1;
    }
    return 0;
}

/* A second pass for regions when the first region match was another country's. */
static int collect_region_of(const row *r, void *arg)
{
    query *q = arg;
    if (r->f[F_REGION][0] && strcmp(r->f[F_ISO3], q->region_iso3) == 0 &&
        (strcasecmp(r->f[F_REGION], q->want_region) == 0 ||
         strcasecmp(r->f[F_REGION_NAME], q->want_region) == 0)) {
        q->region = *r;
        q->have_region = 1;
        return 1; /* found: stop */
    }
    return 0;
}

static void fill_from(aieb_carbon *out, const row *r)
{
    snprintf(out->iso3, sizeof out->iso3, "%s", r->f[F_ISO3]);
    snprintf(out->country, sizeof out->country, "%s", r->f[F_COUNTRY]);
}

int aieb_carbon_lookup_in(const char *csv, size_t len, const char *iso3, const char *region,
                          double override_g_per_kwh, aieb_carbon *out, aieb_err *err)
{
    if (!isnan(override_g_per_kwh) && (override_g_per_kwh < 0 || isinf(override_g_per_kwh)))
        return aieb_errf(err, AIEB_EINVAL,
                         "carbon_intensity_g_per_kwh must be a number >= 0 (got %g)",
                         override_g_per_kwh);
    query *q = calloc(1, sizeof *q);
    if (!q)
        return aieb_errf(err, AIEB_ENOMEM, "carbon: out of memory");
    trim_copy(q->want_country, sizeof q->want_country, iso3);
    trim_copy(q->want_region, sizeof q->want_region, region);
    int rc = each_row(csv, len, collect, q, err);
    if (!rc && q->have_country)
        memcpy(q->region_iso3, q->country.f[F_ISO3], 4);
    if (!rc && q->region_iso3[0] && q->have_region &&
        strcmp(q->region.f[F_ISO3], q->region_iso3) != 0) {
        q->have_region = 0;
        rc = each_row(csv, len, collect_region_of, q, err);
        rc = rc == 1 ? 0 : rc;
    }
    if (rc) {
        free(q);
        return rc;
    }
    aieb_carbon c;
    memset(&c, 0, sizeof c);
    /* A country is known by its own row or by region rows of its own. */
    int country_unknown = q->want_country[0] && !q->region_iso3[0];
    if (country_unknown)
        q->have_region = 0; /* a region of an unknown country means nothing */
    if (q->have_region) {
        const row *r = &q->region;
        fill_from(&c, r);
        snprintf(c.region, sizeof c.region, "%s", r->f[F_REGION]);
        snprintf(c.region_name, sizeof c.region_name, "%s", r->f[F_REGION_NAME]);
        c.basis = AIEB_CARBON_REGION;
        c.g_per_kwh = r->g;
        c.year = r->year;
        snprintf(c.source, sizeof c.source, "%s", r->f[F_SOURCE]);
    } else if (q->have_country) {
        fill_from(&c, &q->country);
        c.basis = AIEB_CARBON_COUNTRY;
        c.g_per_kwh = q->country.g;
        c.year = q->country.year;
        snprintf(c.source, sizeof c.source, "%s", q->country.f[F_SOURCE]);
        if (q->want_region[0])
            snprintf(c.note, sizeof c.note,
                     "region '%s' is not in the carbon table for %s; using the country's %.0f "
                     "g/kWh",
                     q->want_region, c.iso3, c.g_per_kwh);
    } else {
        c.basis = AIEB_CARBON_WORLD;
        c.g_per_kwh = AIEB_CARBON_WORLD_G_PER_KWH;
        snprintf(c.source, sizeof c.source, "world average (IEA 2019)");
        if (q->want_country[0])
            snprintf(c.note, sizeof c.note,
                     "country '%s' has no figure in the carbon table; using the world average "
                     "%.0f g/kWh",
                     q->want_country, AIEB_CARBON_WORLD_G_PER_KWH);
        else if (q->want_region[0])
            snprintf(c.note, sizeof c.note,
                     "region '%s' is not in the carbon table and no country is given; using "
                     "the world average %.0f g/kWh",
                     q->want_region, AIEB_CARBON_WORLD_G_PER_KWH);
        else
            snprintf(c.note, sizeof c.note, "no country given; using the world average %.0f g/kWh",
                     AIEB_CARBON_WORLD_G_PER_KWH);
    }
    c.country_from = q->want_country[0] ? AIEB_CARBON_FROM_GIVEN : AIEB_CARBON_FROM_NONE;
    c.region_from = q->want_region[0] ? AIEB_CARBON_FROM_GIVEN : AIEB_CARBON_FROM_NONE;
    if (!isnan(override_g_per_kwh)) {
        c.basis = AIEB_CARBON_OVERRIDE;
        c.g_per_kwh = override_g_per_kwh;
        c.year = 0;
        snprintf(c.source, sizeof c.source, "override (carbon_intensity_g_per_kwh)");
        c.note[0] = '\0';
    }
    free(q);
    *out = c;
    return 0;
}

int aieb_carbon_lookup(const char *iso3, const char *region, double override_g_per_kwh,
                       aieb_carbon *out, aieb_err *err)
{
    const char *csv = NULL;
    size_t len = 0;
    int rc = embedded_table(&csv, &len, err);
    if (rc)
        return rc;
    return aieb_carbon_lookup_in(csv, len, iso3, region, override_g_per_kwh, out, err);
}

/* YAML's null words, as the config reads an environment variable. */
static int is_null_word(const char *s)
{
    return strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

static int is_iso3(const char *s)
{
    return strlen(s) == 3 && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
           isalpha((unsigned char)s[2]);
}

int aieb_carbon_resolve(const char *country, const char *region, double override_g_per_kwh,
                        aieb_carbon *out, aieb_err *err)
{
    aieb_carbon_from cfrom = AIEB_CARBON_FROM_GIVEN, rfrom = AIEB_CARBON_FROM_GIVEN;
    if (!country) {
        const char *v = getenv(AIEB_CARBON_ENV_COUNTRY);
        if (v && *v && !is_null_word(v)) {
            if (!is_iso3(v))
                return aieb_errf(err, AIEB_EINVAL,
                                 "%s=%.64s: not an ISO 3166 alpha-3 country code (expected three "
                                 "letters such as USA, FRA, DEU)",
                                 AIEB_CARBON_ENV_COUNTRY, v);
            country = v;
            cfrom = AIEB_CARBON_FROM_ENV;
        } else {
            country = AIEB_CARBON_DEFAULT_COUNTRY;
            cfrom = AIEB_CARBON_FROM_DEFAULT;
        }
    }
    const char *p = country;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return aieb_errf(err, AIEB_EINVAL,
                         "carbon intensity: the country is empty (expected an ISO 3166 alpha-3 "
                         "code or a name, such as FRA or France)");
    if (!region) {
        const char *v = getenv(AIEB_CARBON_ENV_REGION);
        region = v && *v && !is_null_word(v) ? v : "";
        rfrom = AIEB_CARBON_FROM_ENV;
    }
    if (!*region)
        rfrom = AIEB_CARBON_FROM_NONE;

    aieb_carbon c;
    int rc = aieb_carbon_lookup(country, region, NAN, &c, err);
    if (rc)
        return rc;
    if (c.basis == AIEB_CARBON_WORLD && isnan(override_g_per_kwh))
        return aieb_errf(err, AIEB_EINVAL,
                         "carbon intensity: country '%.64s'%s%s is not in the carbon table (ISO "
                         "3166 alpha-3 codes or names, such as FRA or France); check it, or give "
                         "the intensity itself (metrics.carbon_intensity_g_per_kwh, "
                         "--carbon-intensity)",
                         country, cfrom == AIEB_CARBON_FROM_ENV ? " from " : "",
                         cfrom == AIEB_CARBON_FROM_ENV ? AIEB_CARBON_ENV_COUNTRY : "");
    if (!isnan(override_g_per_kwh)) {
        rc = aieb_carbon_lookup(country, region, override_g_per_kwh, &c, err);
        if (rc)
            return rc;
        if (!c.iso3[0] && is_iso3(country)) /* a country the table lacks: its code as given */
            for (int i = 0; i < 3; i++)
                c.iso3[i] = (char)toupper((unsigned char)country[i]);
    }
    c.country_from = cfrom;
    c.region_from = rfrom;
    *out = c;
    return 0;
}

typedef struct counter {
    char seen[512][4];
    int n;
} counter;

static int count_country(const row *r, void *arg)
{
    counter *c = arg;
    if (r->f[F_REGION][0])
        return 0;
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->seen[i], r->f[F_ISO3]) == 0)
            return 0;
    if (c->n == (int)(sizeof c->seen / sizeof c->seen[0]))
        return AIEB_ETOOBIG;
    memcpy(c->seen[c->n++], r->f[F_ISO3], 4);
    return 0;
}

int aieb_carbon_table_countries(aieb_err *err)
{
    const char *csv = NULL;
    size_t len = 0;
    int rc = embedded_table(&csv, &len, err);
    if (rc)
        return rc;
    counter *c = calloc(1, sizeof *c);
    if (!c)
        return aieb_errf(err, AIEB_ENOMEM, "carbon: out of memory");
    rc = each_row(csv, len, count_country, c, err);
    if (rc == AIEB_ETOOBIG)
        aieb_errf(err, rc, "carbon table: more than 512 countries");
    int n = rc ? rc : c->n;
    free(c);
    return n;
}

/* ==== Emissions ============================================================= */

double aieb_kwh_from_j(double j)
{
    return j / AIEB_J_PER_KWH;
}

double aieb_carbon_grams(double energy_kwh, double g_per_kwh)
{
    return energy_kwh * g_per_kwh;
}

int aieb_carbon_emissions(const aieb_energy_parts *parts, double pue, double g_per_kwh,
                          aieb_emissions *out, aieb_err *err)
{
    if (!isfinite(pue) || pue < 1.0)
        return aieb_errf(err, AIEB_EINVAL, "pue must be a number >= 1.0 (got %g)", pue);
    if (!isfinite(g_per_kwh) || g_per_kwh < 0)
        return aieb_errf(err, AIEB_EINVAL, "carbon intensity must be a number >= 0 (got %g)",
                         g_per_kwh);
    aieb_emissions e;
    e.pue = pue;
    e.g_per_kwh = g_per_kwh;
    /* CodeCarbon multiplies each hardware component's energy by the PUE. */
    e.cpu_kwh = aieb_kwh_from_j(parts->cpu_j) * pue;
    e.gpu_kwh = aieb_kwh_from_j(parts->gpu_j) * pue;
    e.ram_kwh = aieb_kwh_from_j(parts->ram_j) * pue;
    e.total_kwh = 0;
    const double parts_kwh[] = {e.cpu_kwh, e.gpu_kwh, e.ram_kwh};
    for (int i = 0; i < 3; i++)
        if (!isnan(parts_kwh[i]))
            e.total_kwh += parts_kwh[i];
    e.emissions_g = aieb_carbon_grams(e.total_kwh, g_per_kwh);
    *out = e;
    return 0;
}

/* test_carbon.c - carbon intensity lookups in the embedded table (known code,
 * any case, names, unknown -> 475, US regions, overrides), the table's coverage
 * and format checks, and emissions with the PUE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/carbon.h"
#include "aieb/config.h"
#include "config/internal.h"

static aieb_carbon look(const char *iso3, const char *region, double override)
{
    aieb_carbon c;
    aieb_err err = {0};
    int rc = aieb_carbon_lookup(iso3, region, override, &c, &err);
    if (rc)
        fail_msg("lookup(%s, %s): %s", iso3 ? iso3 : "NULL", region ? region : "NULL", err.msg);
    return c;
}

static void known_country(void **state)
{
    aieb_carbon c = look("FRA", NULL, NAN);
    assert_int_equal(c.basis, AIEB_CARBON_COUNTRY);
    assert_float_equal(c.g_per_kwh, 55.28, 1e-9);
    assert_string_equal(c.iso3, "FRA");
    assert_string_equal(c.country, "France");
    assert_int_equal(c.year, 2023);
    assert_non_null(strstr(c.source, "Ember"));
    assert_string_equal(c.note, "");
    assert_string_equal(c.region, "");

    aieb_carbon l = look("fra", NULL, NAN); /* any case */
    assert_float_equal(l.g_per_kwh, 55.28, 1e-9);
    assert_string_equal(l.iso3, "FRA");
    aieb_carbon n = look(" france ", NULL, NAN); /* by name, trimmed */
    assert_string_equal(n.iso3, "FRA");
    aieb_carbon u = look("USA", NULL, NAN);
    assert_float_equal(u.g_per_kwh, 392.85, 1e-9);
    aieb_carbon k = look("ukr", NULL, NAN); /* no 2023 figure: 2022 */
    assert_int_equal(k.year, 2022);
}

static void unknown_is_world_average(void **state)
{
    aieb_carbon c = look("XYZ", NULL, NAN);
    assert_int_equal(c.basis, AIEB_CARBON_WORLD);
    assert_float_equal(c.g_per_kwh, 475, 0);
    assert_float_equal(AIEB_CARBON_WORLD_G_PER_KWH, 475, 0);
    assert_non_null(strstr(c.note, "'XYZ'"));
    assert_non_null(strstr(c.note, "475"));
    assert_string_equal(c.country, "");
    aieb_carbon none = look(NULL, NULL, NAN);
    assert_int_equal(none.basis, AIEB_CARBON_WORLD);
    assert_non_null(strstr(none.note, "no country"));
    aieb_carbon empty = look("", "", NAN);
    assert_int_equal(empty.basis, AIEB_CARBON_WORLD);
    /* a region of an unknown country means nothing */
    aieb_carbon r = look("XYZ", "CA", NAN);
    assert_int_equal(r.basis, AIEB_CARBON_WORLD);
}

static void us_regions(void **state)
{
    aieb_carbon c = look("USA", "CA", NAN);
    assert_int_equal(c.basis, AIEB_CARBON_REGION);
    assert_float_equal(c.g_per_kwh, 226.5, 1e-9); /* eGRID2022 CAMX */
    assert_string_equal(c.region, "CA");
    assert_string_equal(c.region_name, "California");
    assert_non_null(strstr(c.source, "eGRID2022 CAMX"));
    assert_int_equal(c.year, 2022);
    assert_string_equal(c.country, "United States");

    aieb_carbon n = look("usa", "california", NAN);
    assert_string_equal(n.region, "CA");
    aieb_carbon s = look(NULL, "camx", NAN); /* a subregion, no country given */
    assert_string_equal(s.region, "CAMX");
    assert_string_equal(s.iso3, "USA");
    assert_float_equal(s.g_per_kwh, 226.5, 1e-9);
    aieb_carbon tx = look("USA", "TX", NAN);
    assert_float_equal(tx.g_per_kwh, 351.2, 1e-9); /* ERCT */
    aieb_carbon ny = look("USA", "NYUP", NAN);
    assert_float_equal(ny.g_per_kwh, 124.9, 1e-9);

    /* unknown region: the country's figure, said */
    aieb_carbon z = look("USA", "ZZ", NAN);
    assert_int_equal(z.basis, AIEB_CARBON_COUNTRY);
    assert_float_equal(z.g_per_kwh, 392.85, 1e-9);
    assert_non_null(strstr(z.note, "'ZZ'"));
    /* another country's region does not apply */
    aieb_carbon f = look("FRA", "CA", NAN);
    assert_int_equal(f.basis, AIEB_CARBON_COUNTRY);
    assert_string_equal(f.iso3, "FRA");
    assert_non_null(strstr(f.note, "'CA'"));
    /* a region alone that nobody has */
    aieb_carbon w = look(NULL, "Atlantis", NAN);
    assert_int_equal(w.basis, AIEB_CARBON_WORLD);
    assert_non_null(strstr(w.note, "Atlantis"));
}

static void override(void **state)
{
    aieb_carbon c = look("FRA", NULL, 100);
    assert_int_equal(c.basis, AIEB_CARBON_OVERRIDE);
    assert_float_equal(c.g_per_kwh, 100, 0);
    assert_string_equal(c.country, "France"); /* still known */
    assert_int_equal(c.year, 0);
    aieb_carbon z = look("XYZ", NULL, 0); /* 0 is a valid intensity */
    assert_int_equal(z.basis, AIEB_CARBON_OVERRIDE);
    assert_float_equal(z.g_per_kwh, 0, 0);
    assert_string_equal(z.note, "");
    aieb_carbon out;
    aieb_err err = {0};
    assert_int_equal(aieb_carbon_lookup("FRA", NULL, -1, &out, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "carbon_intensity_g_per_kwh"));
    assert_int_equal(aieb_carbon_lookup("FRA", NULL, INFINITY, &out, &err), AIEB_EINVAL);
}

static void covers_largest_consumers(void **state)
{
    aieb_err err = {0};
    int n = aieb_carbon_table_countries(&err);
    assert_true(n >= 60);
    /* The 60 largest electricity consumers (Ember / EI generation, 2023). */
    static const char *big[] = {
        "CHN", "USA", "IND", "RUS", "JPN", "BRA", "CAN", "KOR", "DEU", "FRA", "SAU", "IRN",
        "IDN", "MEX", "GBR", "TUR", "ITA", "ESP", "TWN", "AUS", "VNM", "ZAF", "EGY", "THA",
        "POL", "MYS", "UKR", "ARG", "SWE", "NOR", "PAK", "KAZ", "PHL", "ARE", "NLD", "UZB",
        "BEL", "CHL", "FIN", "AUT", "CZE", "IRQ", "DZA", "KWT", "ISR", "VEN", "COL", "BGD",
        "CHE", "GRC", "ROU", "PRT", "QAT", "HUN", "NGA", "PER", "MAR", "OMN", "SGP", "NZL",
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        aieb_carbon c = look(big[i], NULL, NAN);
        if (c.basis != AIEB_CARBON_COUNTRY || !(c.g_per_kwh > 0 && c.g_per_kwh < 1500))
            fail_msg("%s missing or implausible: %g", big[i], c.g_per_kwh);
    }
}

static void custom_tables(void **state)
{
    const char *hdr = "iso3,country,g_co2e_per_kwh,year,source,region,region_name\n";
    char csv[1024];
    aieb_carbon c;
    aieb_err err = {0};
    /* quoted fields, CRLF, comments */
    snprintf(csv, sizeof csv,
             "# comment\r\n%s"
             "KOR,\"Korea, Republic of\",432.11,2023,\"src \"\"x\"\"\",,\r\n"
             "USA,United States,300,2023,s,ZZ,Zedland\n",
             hdr);
    assert_int_equal(
        aieb_carbon_lookup_in(csv, strlen(csv), "korea, republic of", NULL, NAN, &c, &err), 0);
    assert_string_equal(c.iso3, "KOR");
    assert_string_equal(c.source, "src \"x\"");
    assert_int_equal(aieb_carbon_lookup_in(csv, strlen(csv), "USA", "zedland", NAN, &c, &err), 0);
    assert_int_equal(c.basis, AIEB_CARBON_REGION);
    assert_float_equal(c.g_per_kwh, 300, 0);

    static const struct {
        const char *body;
        const char *why;
    } bad[] = {
        {"FRA,France,55,2023\n", "fewer than 7"},
        {"FRA,France,55,2023,s,,,x\n", "more than 7"},
        {"FR,France,55,2023,s,,\n", "three capital"},
        {"FRA,France,lots,2023,s,,\n", "non-negative number"},
        {"FRA,France,-5,2023,s,,\n", "non-negative number"},
        {"FRA,France,55,23,s,,\n", "year"},
        {"FRA,France,55,2023,s,CA,\n", "region"},
        {"FRA,\"France,55,2023,s,,\n", "quote"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(csv, sizeof csv, "%sDEU,Germany,371,2023,s,,\n%s", hdr, bad[i].body);
        int rc = aieb_carbon_lookup_in(csv, strlen(csv), "DEU", NULL, NAN, &c, &err);
        if (rc != AIEB_EINVAL || !strstr(err.msg, "line 3") || !strstr(err.msg, bad[i].why))
            fail_msg("row '%s': rc %d, '%s'", bad[i].body, rc, err.msg);
    }
    snprintf(csv, sizeof csv, "iso3,country\nFRA,France\n");
    assert_int_equal(aieb_carbon_lookup_in(csv, strlen(csv), "FRA", NULL, NAN, &c, &err),
                     AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "header"));
    assert_int_equal(aieb_carbon_lookup_in("", 0, "FRA", NULL, NAN, &c, &err), AIEB_EINVAL);
    size_t big = AIEB_CARBON_TABLE_MAX_BYTES + 1;
    char *huge = calloc(1, big);
    assert_non_null(huge);
    assert_int_equal(aieb_carbon_lookup_in(huge, big, "FRA", NULL, NAN, &c, &err), AIEB_ETOOBIG);
    free(huge);
}

static void emissions_with_pue(void **state)
{
    assert_float_equal(aieb_kwh_from_j(3.6e6), 1, 0);
    assert_float_equal(aieb_carbon_grams(2.5, 400), 1000, 1e-12);
    aieb_energy_parts p = {.cpu_j = 3.6e6, .gpu_j = 7.2e6, .ram_j = NAN};
    aieb_emissions e;
    aieb_err err = {0};
    assert_int_equal(aieb_carbon_emissions(&p, 1.5, 400, &e, &err), 0);
    assert_float_equal(e.cpu_kwh, 1.5, 1e-12);
    assert_float_equal(e.gpu_kwh, 3.0, 1e-12);
    assert_true(isnan(e.ram_kwh));
    assert_float_equal(e.total_kwh, 4.5, 1e-12);
    assert_float_equal(e.emissions_g, 1800, 1e-9);
    assert_float_equal(e.pue, 1.5, 0);
    p.ram_j = 1.8e6;
    assert_int_equal(aieb_carbon_emissions(&p, 1.0, 475, &e, &err), 0);
    assert_float_equal(e.total_kwh, 3.5, 1e-12);
    assert_float_equal(e.emissions_g, 3.5 * 475, 1e-9);
    assert_int_equal(aieb_carbon_emissions(&p, 0.9, 400, &e, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "pue"));
    assert_int_equal(aieb_carbon_emissions(&p, NAN, 400, &e, &err), AIEB_EINVAL);
    assert_int_equal(aieb_carbon_emissions(&p, 1.2, -1, &e, &err), AIEB_EINVAL);
    assert_int_equal(aieb_carbon_emissions(&p, 1.2, NAN, &e, &err), AIEB_EINVAL);
}

/* ==== One resolution for every command ==== */

static aieb_carbon resolve(const char *country, const char *region, double override)
{
    aieb_carbon c;
    aieb_err err = {0};
    int rc = aieb_carbon_resolve(country, region, override, &c, &err);
    if (rc)
        fail_msg("resolve(%s, %s): %s", country ? country : "NULL", region ? region : "NULL",
                 err.msg);
    return c;
}

static int clear_env(void **state)
{
    unsetenv(AIEB_CARBON_ENV_COUNTRY);
    unsetenv(AIEB_CARBON_ENV_REGION);
    return 0;
}

static void resolve_defaults_and_environment(void **state)
{
    /* nothing given anywhere: the config's default country, no region */
    aieb_carbon d = resolve(NULL, NULL, NAN);
    assert_string_equal(d.iso3, "USA");
    assert_int_equal(d.basis, AIEB_CARBON_COUNTRY);
    assert_float_equal(d.g_per_kwh, 392.85, 1e-9);
    assert_int_equal(d.country_from, AIEB_CARBON_FROM_DEFAULT);
    assert_int_equal(d.region_from, AIEB_CARBON_FROM_NONE);
    /* the environment, as the config reads it */
    setenv(AIEB_CARBON_ENV_COUNTRY, "fra", 1);
    aieb_carbon e = resolve(NULL, NULL, NAN);
    assert_string_equal(e.iso3, "FRA");
    assert_float_equal(e.g_per_kwh, 55.28, 1e-9);
    assert_int_equal(e.country_from, AIEB_CARBON_FROM_ENV);
    setenv(AIEB_CARBON_ENV_COUNTRY, "USA", 1);
    setenv(AIEB_CARBON_ENV_REGION, "CA", 1);
    aieb_carbon r = resolve(NULL, NULL, NAN);
    assert_int_equal(r.basis, AIEB_CARBON_REGION);
    assert_string_equal(r.region, "CA");
    assert_int_equal(r.region_from, AIEB_CARBON_FROM_ENV);
    setenv(AIEB_CARBON_ENV_REGION, "null", 1); /* REGION=null clears it, as in the config */
    assert_int_equal(resolve(NULL, NULL, NAN).region_from, AIEB_CARBON_FROM_NONE);
    setenv(AIEB_CARBON_ENV_REGION, "", 1);
    assert_int_equal(resolve(NULL, NULL, NAN).basis, AIEB_CARBON_COUNTRY);
    /* given values win over the environment; "" is no region, given */
    setenv(AIEB_CARBON_ENV_COUNTRY, "FRA", 1);
    setenv(AIEB_CARBON_ENV_REGION, "CA", 1);
    aieb_carbon g = resolve("deu", "", NAN);
    assert_string_equal(g.iso3, "DEU");
    assert_int_equal(g.basis, AIEB_CARBON_COUNTRY);
    assert_int_equal(g.country_from, AIEB_CARBON_FROM_GIVEN);
    assert_int_equal(g.region_from, AIEB_CARBON_FROM_NONE);
    aieb_carbon n = resolve("France", NULL, NAN); /* a name; REGION=CA is not France's */
    assert_string_equal(n.iso3, "FRA");
    assert_int_equal(n.basis, AIEB_CARBON_COUNTRY);
    assert_non_null(strstr(n.note, "'CA'"));
}

static void resolve_override(void **state)
{
    aieb_carbon o = resolve(NULL, NULL, 100);
    assert_int_equal(o.basis, AIEB_CARBON_OVERRIDE);
    assert_float_equal(o.g_per_kwh, 100, 0);
    assert_string_equal(o.iso3, "USA");
    assert_int_equal(o.country_from, AIEB_CARBON_FROM_DEFAULT);
    /* with an override, a country the table lacks is a label */
    aieb_carbon x = resolve("xyz", "", 0);
    assert_int_equal(x.basis, AIEB_CARBON_OVERRIDE);
    assert_float_equal(x.g_per_kwh, 0, 0);
    assert_string_equal(x.iso3, "XYZ");
    assert_string_equal(x.note, "");
}

static void resolve_errors(void **state)
{
    aieb_carbon out;
    memset(&out, 0x5a, sizeof out);
    aieb_carbon before = out;
    aieb_err err = {0};
    /* a country the table does not know, without an override */
    assert_int_equal(aieb_carbon_resolve("XYZ", NULL, NAN, &out, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "country 'XYZ' is not in the carbon table"));
    assert_non_null(strstr(err.msg, "carbon_intensity_g_per_kwh"));
    assert_memory_equal(&out, &before, sizeof out);
    setenv(AIEB_CARBON_ENV_COUNTRY, "ZZZ", 1);
    assert_int_equal(aieb_carbon_resolve(NULL, NULL, NAN, &out, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "'ZZZ' from COUNTRY_ISO_CODE"));
    /* the environment takes codes, as the config does */
    setenv(AIEB_CARBON_ENV_COUNTRY, "France", 1);
    assert_int_equal(aieb_carbon_resolve(NULL, NULL, NAN, &out, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "COUNTRY_ISO_CODE=France: not an ISO 3166 alpha-3"));
    unsetenv(AIEB_CARBON_ENV_COUNTRY);
    assert_int_equal(aieb_carbon_resolve(" ", NULL, NAN, &out, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "empty"));
    assert_int_equal(aieb_carbon_resolve(NULL, NULL, -1, &out, &err), AIEB_EINVAL);
    assert_int_equal(aieb_carbon_resolve("XYZ", NULL, INFINITY, &out, &err), AIEB_EINVAL);
    assert_memory_equal(&out, &before, sizeof out);
}

/* The config's default and variables are the resolver's: a run configured by the
 * environment alone gets what probe and measure get. */
static void resolve_matches_the_config(void **state)
{
    int ki = cfg_key_index("metrics.country_iso_code");
    assert_true(ki >= 0);
    assert_string_equal(cfg_keys[ki].env, AIEB_CARBON_ENV_COUNTRY);
    assert_string_equal(cfg_keys[ki].def, AIEB_CARBON_DEFAULT_COUNTRY);
    ki = cfg_key_index("metrics.region");
    assert_string_equal(cfg_keys[ki].env, AIEB_CARBON_ENV_REGION);
    static const char *const envs[][2] = {
        {NULL, NULL}, {"fra", NULL}, {"USA", "CAMX"}, {"USA", "null"}, {"deu", "Bavaria"},
    };
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        clear_env(NULL);
        if (envs[i][0])
            setenv(AIEB_CARBON_ENV_COUNTRY, envs[i][0], 1);
        if (envs[i][1])
            setenv(AIEB_CARBON_ENV_REGION, envs[i][1], 1);
        aieb_diags d;
        aieb_diags_init(&d);
        aieb_config *cfg = NULL;
        aieb_err err = {0};
        assert_int_equal(aieb_config_load(NULL, NULL, 0, &cfg, &d, &err), 0);
        aieb_carbon run =
            resolve(cfg->metrics.country_iso_code, cfg->metrics.region ? cfg->metrics.region : "",
                    cfg->metrics.carbon_intensity_g_per_kwh);
        aieb_carbon cmd = resolve(NULL, NULL, NAN);
        assert_float_equal(run.g_per_kwh, cmd.g_per_kwh, 0);
        assert_string_equal(run.iso3, cmd.iso3);
        assert_string_equal(run.region, cmd.region);
        assert_int_equal(run.basis, cmd.basis);
        aieb_config_free(cfg);
        aieb_diags_free(&d);
    }
    clear_env(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_country),
        cmocka_unit_test(unknown_is_world_average),
        cmocka_unit_test(us_regions),
        cmocka_unit_test(override),
        cmocka_unit_test(covers_largest_consumers),
        cmocka_unit_test(custom_tables),
        cmocka_unit_test(emissions_with_pue),
        cmocka_unit_test_setup(resolve_defaults_and_environment, clear_env),
        cmocka_unit_test_setup(resolve_override, clear_env),
        cmocka_unit_test_setup(resolve_errors, clear_env),
        cmocka_unit_test_setup(resolve_matches_the_config, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

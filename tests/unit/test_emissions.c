/* test_emissions.c - emissions.csv: CodeCarbon 3.2+'s header byte for byte, a
 * row with empty, quoted and numeric fields, appending without a second header,
 * and a differing header sending rows to a side file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/emissions.h"
#include "aieb/fileio.h"

/* Typed from the list of CodeCarbon 3.2+ columns, in order. */
#define HEADER                                                                                     \
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,"     \
    "gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,"         \
    "country_name,country_iso_code,region,cloud_provider,cloud_region,os,python_version,"          \
    "codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,"               \
    "ram_total_size,tracking_mode,cpu_utilization_percent,gpu_utilization_percent,"                \
    "ram_utilization_percent,ram_used_gb,on_cloud,pue,wue\n"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/aieb-emis-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/emissions.csv", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *p)
{
    char *d = NULL;
    size_t n;
    aieb_err err = {0};
    if (aieb_read_file(p, 1 << 20, &d, &n, &err) != 0)
        fail_msg("%s", err.msg);
    return d;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void sample_row(aieb_emissions_row *r)
{
    aieb_emissions_row_init(r);
    r->timestamp = "2025-01-02T03:04:05";
    r->project_name = "aieb";
    r->run_id = "5f1c0c1e-0000-4000-8000-000000000001";
    r->duration_s = 12.5;
    r->emissions_kg = 0.00123;
    r->emissions_rate_kg_per_s = 9.84e-05;
    r->cpu_power_w = 42;
    r->gpu_power_w = 301.25;
    r->cpu_energy_kwh = 1.0 / 3.0;
    r->gpu_energy_kwh = 1e-05;
    r->country_name = "France";
    r->country_iso_code = "FRA";
    r->cpu_count = 8;
    r->cpu_model = "Intel(R) Xeon(R) Gold 6338, 2.0GHz";
    r->gpu_count = 0;
    r->gpu_model = "NVIDIA \"H100\"";
    r->ram_total_size_gb = 15.5;
    r->tracking_mode = "machine";
    r->on_cloud = "N";
    r->pue = 1.0;
}

#define SAMPLE_LINE                                                                                \
    "2025-01-02T03:04:05,aieb,5f1c0c1e-0000-4000-8000-000000000001,,12.5,0.00123,9.84e-05,42.0,"   \
    "301.25,,0.3333333333333333,1e-05,,,,France,FRA,,,,,,,8,\"Intel(R) Xeon(R) Gold 6338, "        \
    "2.0GHz\",0,\"NVIDIA \"\"H100\"\"\",,,15.5,machine,,,,,N,1.0,\n"

static void header_and_row_exact(void **state)
{
    const char *const *cols = aieb_emissions_columns();
    assert_string_equal(cols[0], "timestamp");
    assert_string_equal(cols[AIEB_EMISSIONS_N_COLUMNS - 1], "wue");

    aieb_emissions_row r;
    sample_row(&r);
    char *written = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_emissions_append(path, &r, &written, &err), 0);
    assert_string_equal(written, path);
    free(written);
    char *s = slurp(path);
    assert_string_equal(s, HEADER SAMPLE_LINE);
    free(s);

    /* appending writes the row only */
    assert_int_equal(aieb_emissions_append(path, &r, NULL, &err), 0);
    s = slurp(path);
    assert_string_equal(s, HEADER SAMPLE_LINE SAMPLE_LINE);
    assert_int_equal(count_lines(s), 3);
    free(s);
}

static void empty_row_and_now(void **state)
{
    aieb_emissions_row r;
    aieb_emissions_row_init(&r); /* everything empty; timestamp: now */
    aieb_err err = {0};
    assert_int_equal(aieb_emissions_append(path, &r, NULL, &err), 0);
    char *s = slurp(path);
    const char *row = s + strlen(HEADER);
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2},{37}\n$",
                             REG_EXTENDED),
                     0);
    if (regexec(&re, row, 0, NULL, 0) != 0)
        fail_msg("row '%s'", row);
    regfree(&re);
    free(s);
}

static void differing_header_goes_beside(void **state)
{
    const char *other = "timestamp,project_name,duration\n2024-01-01T00:00:00,x,1.0\n";
    aieb_err err = {0};
    assert_int_equal(aieb_write_file_atomic(path, other, strlen(other), &err), 0);
    aieb_emissions_row r;
    sample_row(&r);
    char *written = NULL;
    assert_int_equal(aieb_emissions_append(path, &r, &written, &err), 0);
    char side[160];
    snprintf(side, sizeof side, "%s/emissions.1.csv", dir);
    assert_string_equal(written, side);
    free(written);
    char *s = slurp(path);
    assert_string_equal(s, other); /* untouched */
    free(s);
    s = slurp(side);
    assert_string_equal(s, HEADER SAMPLE_LINE);
    free(s);
    /* the next run continues in the side file */
    assert_int_equal(aieb_emissions_append(path, &r, &written, &err), 0);
    assert_string_equal(written, side);
    free(written);
    s = slurp(side);
    assert_int_equal(count_lines(s), 3);
    free(s);
}

static void unwritable_fails(void **state)
{
    char bad[160];
    snprintf(bad, sizeof bad, "%s/missing-dir/emissions.csv", dir);
    aieb_emissions_row r;
    sample_row(&r);
    aieb_err err = {0};
    assert_int_equal(aieb_emissions_append(bad, &r, NULL, &err), AIEB_EIO);
    assert_non_null(strstr(err.msg, "missing-dir"));
}

static void fill_from_a_run(void **state)
{
    aieb_energy_parts p = {.cpu_j = 36000, .gpu_j = 360000, .ram_j = 3600};
    aieb_emissions e;
    aieb_err err = {0};
    assert_int_equal(aieb_carbon_emissions(&p, 1.2, 400, &e, &err), 0);
    aieb_carbon c;
    assert_int_equal(aieb_carbon_lookup("USA", "CA", NAN, &c, &err), 0);
    aieb_emissions_row r;
    aieb_emissions_row_init(&r);
    aieb_emissions_row_fill(&r, &e, &c, 10.0);
    /* (0.01 + 0.1 + 0.001) kWh x 1.2 = 0.1332 kWh; x 400 g = 53.28 g */
    assert_float_equal(r.energy_consumed_kwh, 0.1332, 1e-12);
    assert_float_equal(r.emissions_kg, 0.05328, 1e-12);
    assert_float_equal(r.emissions_rate_kg_per_s, 0.005328, 1e-12);
    assert_float_equal(r.cpu_energy_kwh, 0.012, 1e-12);
    assert_float_equal(r.cpu_power_w, 3600, 1e-9); /* 36000 J over 10 s, before PUE */
    assert_float_equal(r.gpu_power_w, 36000, 1e-9);
    assert_float_equal(r.ram_power_w, 360, 1e-9);
    assert_float_equal(r.pue, 1.2, 0);
    assert_string_equal(r.country_iso_code, "USA");
    assert_string_equal(r.country_name, "United States");
    assert_string_equal(r.region, "CA");
    const char *vals[AIEB_EMISSIONS_N_COLUMNS];
    char store[AIEB_EMISSIONS_N_COLUMNS][32];
    aieb_emissions_row_values(&r, vals, store);
    const char *const *cols = aieb_emissions_columns();
    for (int i = 0; i < AIEB_EMISSIONS_N_COLUMNS; i++) {
        if (strcmp(cols[i], "duration") == 0)
            assert_string_equal(vals[i], "10.0");
        if (strcmp(cols[i], "energy_consumed") == 0) /* shortest form that reads back */
            assert_true(strtod(vals[i], NULL) == r.energy_consumed_kwh);
        if (strcmp(cols[i], "pue") == 0)
            assert_string_equal(vals[i], "1.2");
        if (strcmp(cols[i], "region") == 0)
            assert_string_equal(vals[i], "CA");
        if (strcmp(cols[i], "gpu_energy") == 0)
            assert_true(strtod(vals[i], NULL) == r.gpu_energy_kwh);
        if (strcmp(cols[i], "wue") == 0 || strcmp(cols[i], "os") == 0)
            assert_null(vals[i]);
    }
}

/* The machine's fields, the same for run and measure: from a fixture
 * /proc/cpuinfo, this machine's uname and memory, and the GPU channels. */
static void machine_fields(void **state)
{
    (void)state;
    char proc[] = "/tmp/aieb-proc-XXXXXX";
    assert_non_null(mkdtemp(proc));
    char p[256];
    snprintf(p, sizeof p, "%s/cpuinfo", proc);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Test "
          "CPU @ 2.00GHz\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: other\n",
          f);
    fclose(f);
    aieb_channel_info gi[2] = {
        {.domain = AIEB_DOMAIN_GPU,
         .label = "gpu0",
         .method = "nvml_counter",
         .name = "NVIDIA H100"},
        {.domain = AIEB_DOMAIN_GPU,
         .label = "gpu1",
         .method = "nvml_counter",
         .name = "NVIDIA H100"},
    };
    aieb_channel_info ci = {.domain = AIEB_DOMAIN_CPU, .label = "cpu", .method = "rapl"};
    aieb_meter_channel_summary ch[3] = {
        {.info = &gi[0], .util_avg_pct = 40},
        {.info = &ci, .util_avg_pct = NAN},
        {.info = &gi[1], .util_avg_pct = 60},
    };
    aieb_meter_summary s;
    memset(&s, 0, sizeof s);
    s.n_channels = 3;
    s.channels = ch;
    aieb_emissions_machine m;
    aieb_emissions_machine_probe(&m, &s, proc);
    assert_string_equal(m.cpu_model, "Intel(R) Xeon(R) Test CPU @ 2.00GHz");
    assert_string_equal(m.gpu_model, "2 x NVIDIA H100");
    assert_int_equal(m.gpu_count, 2);
    assert_float_equal(m.gpu_utilization_percent, 50, 1e-12);
    assert_true(m.cpu_count >= 1);
    assert_true(m.ram_total_size_gb > 0.1);
    assert_non_null(strstr(m.os, "Linux-"));
    aieb_emissions_row r;
    aieb_emissions_row_init(&r);
    aieb_emissions_row_machine(&r, &m);
    assert_string_equal(r.cpu_model, m.cpu_model);
    assert_string_equal(r.os, m.os);
    assert_string_equal(r.tracking_mode, "machine");
    assert_float_equal(r.ram_total_size_gb, m.ram_total_size_gb, 0);
    /* no GPU, no cpuinfo: those fields stay empty */
    unlink(p);
    aieb_emissions_machine_probe(&m, NULL, proc);
    aieb_emissions_row_init(&r);
    aieb_emissions_row_machine(&r, &m);
    assert_null(r.cpu_model);
    assert_null(r.gpu_model);
    assert_int_equal(r.gpu_count, 0);
    assert_true(isnan(r.gpu_utilization_percent));
    rmdir(proc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(header_and_row_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_row_and_now, setup, teardown),
        cmocka_unit_test_setup_teardown(differing_header_goes_beside, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_fails, setup, teardown),
        cmocka_unit_test(fill_from_a_run),
        cmocka_unit_test(machine_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

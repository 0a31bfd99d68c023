/* test_rapl.c - the RAPL source against powercap fixture trees built in a temp
 * directory and advanced between reads: package summing, wrap-around (also at
 * exactly the range), psys/core/uncore ignored, MSR+MMIO counted once, DRAM
 * sub-zones, unreadable energy_uj, no zones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "meter/rapl.h"
#include "meter/source.h"

#define RANGE_UJ 262143328850ULL /* a real max_energy_range_uj */

static char root[64];

static int setup(void **state)
{
    snprintf(root, sizeof root, "/tmp/aieb-rapl-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    return chmod(root, 0755); /* the unprivileged child below must enter it */
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx %s; rm -rf %s", root, root);
    return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *zone, const char *file, const char *fmt, ...)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s/%s", root, zone, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    assert_int_equal(fclose(f), 0);
}

/* Creates root/<zone> with name, energy_uj and max_energy_range_uj. */
static void mkzone(const char *zone, const char *name, unsigned long long uj,
                   unsigned long long range)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, zone);
    assert_int_equal(mkdir(path, 0755), 0);
    put(zone, "name", "%s", name);
    put(zone, "energy_uj", "%llu", uj);
    put(zone, "max_energy_range_uj", "%llu", range);
}

static void set_uj(const char *zone, unsigned long long uj)
{
    put(zone, "energy_uj", "%llu", uj);
}

static aieb_source *open_ok(void)
{
    aieb_source *s = NULL;
    aieb_err err = {0};
    int rc = aieb_rapl_source_open(&s, root, &err);
    if (rc)
        fail_msg("open failed: %s", err.msg);
    assert_non_null(s);
    assert_string_equal(s->name, "rapl");
    return s;
}

static const aieb_channel_info *channel(aieb_source *s, const char *label, int *idx)
{
    for (int i = 0; i < s->n_channels; i++)
        if (strcmp(s->channels[i].label, label) == 0) {
            *idx = i;
            return &s->channels[i];
        }
    return NULL;
}

static void read_ok(aieb_source *s, aieb_channel_reading *out)
{
    aieb_err err = {0};
    int rc = s->read(s, 0, out, &err);
    if (rc)
        fail_msg("read failed: %s", err.msg);
}

/* The role describe() gives the zone id. */
static const char *role_of(aieb_source *s, const char *id, int *summed)
{
    static char role[256];
    json_t *d = s->describe(s);
    assert_non_null(d);
    json_t *zones = json_object_get(d, "zones");
    size_t i;
    json_t *z;
    role[0] = '\0';
    json_array_foreach(zones, i, z)
    {
        if (strcmp(json_string_value(json_object_get(z, "zone")), id) == 0) {
            snprintf(role, sizeof role, "%s", json_string_value(json_object_get(z, "role")));
            *summed = json_is_true(json_object_get(z, "summed"));
        }
    }
    json_decref(d);
    return role;
}

static void two_packages_summed(void **state)
{
    mkzone("intel-rapl:0", "package-0", 1000, RANGE_UJ);
    mkzone("intel-rapl:1", "package-1", 5000000, RANGE_UJ);
    aieb_source *s = open_ok();
    assert_int_equal(s->n_channels, 1);
    int ci = -1;
    const aieb_channel_info *cpu = channel(s, "cpu", &ci);
    assert_non_null(cpu);
    assert_int_equal(cpu->domain, AIEB_DOMAIN_CPU);
    assert_string_equal(cpu->method, "rapl");
    assert_true(cpu->has_counter);
    assert_false(cpu->has_power);
    /* 262143 J / 1000 W = 262 s, halved for margin */
    assert_int_equal(s->max_read_interval_ns, (int64_t)(RANGE_UJ / 2));

    aieb_channel_reading r[1];
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 0, 0);
    assert_true(isnan(r[0].power_w));
    set_uj("intel-rapl:0", 1000 + 1000000);    /* +1 J */
    set_uj("intel-rapl:1", 5000000 + 2500000); /* +2.5 J */
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 3.5, 1e-9);
    set_uj("intel-rapl:1", 5000000 + 2500000 + 250); /* +250 uJ */
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 3.50025, 1e-12);
    int summed;
    assert_string_equal(role_of(s, "intel-rapl:1", &summed), "summed into cpu");
    assert_true(summed);
    s->close(s);
}

static void wrap_around(void **state)
{
    const unsigned long long range = 10000000; /* 10 J */
    mkzone("intel-rapl:0", "package-0", 9000000, range);
    aieb_source *s = open_ok();
    /* 10 J at 1000 W wraps in 10 ms; read at least every 5 ms */
    assert_int_equal(s->max_read_interval_ns, 5000000);
    aieb_channel_reading r[1];
    set_uj("intel-rapl:0", 500000); /* wrapped: 1 J to the range, then 0.5 J */
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 1.5, 1e-12);
    set_uj("intel-rapl:0", range); /* exactly at the range: no wrap yet */
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 1.5 + 9.5, 1e-12);
    set_uj("intel-rapl:0", 0); /* range -> 0 is one wrap: + range - range = 0 */
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 11.0, 1e-12);
    set_uj("intel-rapl:0", 250000);
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 11.25, 1e-12);
    set_uj("intel-rapl:0", 250000); /* no change */
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 11.25, 1e-12);
    /* two wraps' worth of steps read one at a time are all counted */
    for (int i = 0; i < 4; i++) {
        set_uj("intel-rapl:0", (250000 + (unsigned long long)(i + 1) * 6000000) % range);
        read_ok(s, r);
    }
    assert_float_equal(r[0].energy_j, 11.25 + 24.0, 1e-9);
    s->close(s);
}

static void wrap_from_range_at_open(void **state)
{
    mkzone("intel-rapl:0", "package-0", 4000, 4000); /* opens sitting at the range */
    aieb_source *s = open_ok();
    aieb_channel_reading r[1];
    set_uj("intel-rapl:0", 100);
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 100e-6, 1e-15);
    /* the smallest interval is still positive */
    assert_true(s->max_read_interval_ns >= 1);
    s->close(s);
}

static void psys_core_uncore_ignored(void **state)
{
    mkzone("intel-rapl:0", "package-0", 0, RANGE_UJ);
    mkzone("intel-rapl:0:0", "core", 0, RANGE_UJ);
    mkzone("intel-rapl:0:1", "uncore", 0, RANGE_UJ);
    mkzone("intel-rapl:1", "psys", 0, RANGE_UJ);
    aieb_source *s = open_ok();
    assert_int_equal(s->n_channels, 1); /* no dram */
    aieb_channel_reading r[1];
    set_uj("intel-rapl:0", 1000000);
    set_uj("intel-rapl:0:0", 700000);
    set_uj("intel-rapl:0:1", 200000);
    set_uj("intel-rapl:1", 9000000);
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 1.0, 1e-12);
    int summed = 1;
    const char *role = role_of(s, "intel-rapl:1", &summed);
    assert_false(summed);
    assert_non_null(strstr(role, "platform"));
    role = role_of(s, "intel-rapl:0:0", &summed);
    assert_false(summed);
    assert_non_null(strstr(role, "part of package-0"));
    role_of(s, "intel-rapl:0:1", &summed);
    assert_false(summed);
    s->close(s);
}

static void msr_and_mmio_counted_once(void **state)
{
    mkzone("intel-rapl:0", "package-0", 0, RANGE_UJ);
    mkzone("intel-rapl-mmio:0", "package-0", 0, RANGE_UJ);
    aieb_source *s = open_ok();
    aieb_channel_reading r[1];
    set_uj("intel-rapl:0", 2000000);
    set_uj("intel-rapl-mmio:0", 2000000);
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 2.0, 1e-12); /* not 4 */
    int summed = 1;
    const char *role = role_of(s, "intel-rapl-mmio:0", &summed);
    assert_false(summed);
    assert_non_null(strstr(role, "duplicate"));
    assert_non_null(strstr(role, "intel-rapl:0"));
    role_of(s, "intel-rapl:0", &summed);
    assert_true(summed);
    s->close(s);
}

static void mmio_used_when_msr_unreadable(void **state)
{
    /* energy_uj as a directory cannot be read, even by root */
    char path[256];
    snprintf(path, sizeof path, "%s/intel-rapl:0", root);
    assert_int_equal(mkdir(path, 0755), 0);
    put("intel-rapl:0", "name", "package-0");
    put("intel-rapl:0", "max_energy_range_uj", "%llu", RANGE_UJ);
    snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", root);
    assert_int_equal(mkdir(path, 0755), 0);
    mkzone("intel-rapl-mmio:0", "package-0", 10, RANGE_UJ);
    aieb_source *s = open_ok();
    aieb_channel_reading r[1];
    set_uj("intel-rapl-mmio:0", 10 + 3000000);
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 3.0, 1e-12);
    int summed = 0;
    role_of(s, "intel-rapl-mmio:0", &summed);
    assert_true(summed);
    s->close(s);
}

static void dram_sub_zones(void **state)
{
    mkzone("intel-rapl:0", "package-0", 0, RANGE_UJ);
    mkzone("intel-rapl:0:0", "dram", 0, 65532610987ULL);
    mkzone("intel-rapl:1", "package-1", 0, RANGE_UJ);
    mkzone("intel-rapl:1:0", "dram", 0, 65532610987ULL);
    aieb_source *s = open_ok();
    assert_int_equal(s->n_channels, 2);
    int ci = -1, di = -1;
    const aieb_channel_info *cpu = channel(s, "cpu", &ci);
    const aieb_channel_info *dram = channel(s, "dram", &di);
    assert_non_null(cpu);
    assert_non_null(dram);
    assert_int_equal(dram->domain, AIEB_DOMAIN_DRAM);
    assert_string_equal(dram->method, "rapl");
    /* the smaller dram range sets the read interval: 65532 J / 1000 W / 2 */
    assert_int_equal(s->max_read_interval_ns, 32766305493LL);
    aieb_channel_reading r[2];
    set_uj("intel-rapl:0", 1000000);
    set_uj("intel-rapl:1", 1000000);
    set_uj("intel-rapl:0:0", 400000);
    set_uj("intel-rapl:1:0", 300000);
    read_ok(s, r);
    assert_float_equal(r[ci].energy_j, 2.0, 1e-12);
    assert_float_equal(r[di].energy_j, 0.7, 1e-12);
    s->close(s);
}

static void nested_layout(void **state)
{
    /* /sys/devices/virtual/powercap/intel-rapl: sub-zones inside the package */
    mkzone("intel-rapl:0", "package-0", 0, RANGE_UJ);
    mkzone("intel-rapl:0/intel-rapl:0:0", "dram", 0, RANGE_UJ);
    aieb_source *s = open_ok();
    assert_int_equal(s->n_channels, 2);
    aieb_channel_reading r[2];
    set_uj("intel-rapl:0/intel-rapl:0:0", 123000);
    read_ok(s, r);
    int di = -1;
    assert_non_null(channel(s, "dram", &di));
    assert_float_equal(r[di].energy_j, 0.123, 1e-12);
    s->close(s);
}

static void garbage_and_directory_fail(void **state)
{
    aieb_source *s = NULL;
    aieb_err err = {0};
    mkzone("intel-rapl:0", "package-0", 0, RANGE_UJ);
    put("intel-rapl:0", "energy_uj", "not-a-counter");
    assert_int_equal(aieb_rapl_source_open(&s, root, &err), AIEB_EIO);
    assert_null(s);
    assert_non_null(strstr(err.msg, "intel-rapl:0/energy_uj"));
    assert_non_null(strstr(err.msg, "not a number"));
    assert_non_null(strstr(err.msg, "estimate"));

    /* energy_uj a directory */
    char path[256];
    snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", root);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(aieb_rapl_source_open(&s, root, &err), AIEB_EIO);
    assert_non_null(strstr(err.msg, "intel-rapl:0/energy_uj"));
    assert_non_null(strstr(err.msg, strerror(EISDIR)));
    /* probe still lists the zone and why */
    json_t *p = aieb_rapl_probe(root);
    assert_non_null(p);
    assert_false(json_is_true(json_object_get(p, "usable")));
    json_t *z0 = json_array_get(json_object_get(p, "zones"), 0);
    assert_false(json_is_true(json_object_get(z0, "readable")));
    assert_non_null(strstr(json_string_value(json_object_get(z0, "why")), "energy_uj"));
    json_decref(p);
}

static void garbage_after_open_recovers(void **state)
{
    mkzone("intel-rapl:0", "package-0", 0, RANGE_UJ);
    aieb_source *s = open_ok();
    aieb_channel_reading r[1];
    aieb_err err = {0};
    set_uj("intel-rapl:0", 1000000);
    read_ok(s, r);
    put("intel-rapl:0", "energy_uj", "garbage");
    assert_int_equal(s->read(s, 0, r, &err), AIEB_EIO);
    assert_true(isnan(r[0].energy_j));
    assert_non_null(strstr(err.msg, "energy_uj"));
    set_uj("intel-rapl:0", 3000000);
    read_ok(s, r);
    assert_float_equal(r[0].energy_j, 3.0, 1e-12); /* nothing lost */
    s->close(s);
}

/* Opens the source as an unprivileged user in a child (root reads through file
 * modes, as the kernel's CAP_DAC_OVERRIDE lets it). Returns the open() code and
 * copies the message. Returns 1 when the privileges cannot be dropped. */
static int open_unprivileged(char *msg, size_t len)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(101);
        aieb_source *s = NULL;
        aieb_err err = {0};
        int rc = aieb_rapl_source_open(&s, root, &err);
        if (write(fds[1], err.msg, strlen(err.msg)) < 0)
            _exit(102);
        _exit(rc == AIEB_EIO ? 0 : rc == 0 ? 10 : 11);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], msg, len - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void permission_denied_names_file_and_fix(void **state)
{
    /* As on kernels patched for Platypus: energy_uj is 0400 root. The test runs
     * as root, which reads through 0400 and even 0000, so the open happens in a
     * child that drops to nobody first (or directly when not root). */
    mkzone("intel-rapl:0", "package-0", 0, RANGE_UJ);
    char path[256];
    snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", root);
    assert_int_equal(chmod(path, 0400), 0);
    char msg[1024];
    int st = open_unprivileged(msg, sizeof msg);
    if (st == 101)
        skip(); /* cannot drop privileges here; the error path is covered above */
    assert_int_equal(st, 0);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "permission denied"));
    assert_non_null(strstr(msg, "run as root"));
    assert_non_null(strstr(msg, "chmod a+r"));
    assert_non_null(strstr(msg, "estimate"));
}

static void no_zones(void **state)
{
    aieb_source *s = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_rapl_source_open(&s, root, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no intel-rapl zones"));
    char missing[128];
    snprintf(missing, sizeof missing, "%s/absent", root);
    assert_int_equal(aieb_rapl_source_open(&s, missing, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, missing));
    /* only psys: nothing to count without double counting */
    mkzone("intel-rapl:0", "psys", 0, RANGE_UJ);
    assert_int_equal(aieb_rapl_source_open(&s, root, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no package zone"));
    assert_null(s);
    /* the control-type directory and unrelated entries are not zones */
    char path[256];
    snprintf(path, sizeof path, "%s/intel-rapl", root);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/dtpm", root);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(aieb_rapl_source_open(&s, root, &err), AIEB_ENOTFOUND);
}

static void env_root(void **state)
{
    mkzone("intel-rapl:0", "package-0", 0, RANGE_UJ);
    setenv("AIEB_POWERCAP_ROOT", root, 1);
    aieb_source *s = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_rapl_source_open(&s, NULL, &err), 0);
    json_t *d = s->describe(s);
    assert_string_equal(json_string_value(json_object_get(d, "root")), root);
    json_decref(d);
    s->close(s);
    unsetenv("AIEB_POWERCAP_ROOT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(two_packages_summed, setup, teardown),
        cmocka_unit_test_setup_teardown(wrap_around, setup, teardown),
        cmocka_unit_test_setup_teardown(wrap_from_range_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(psys_core_uncore_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(msr_and_mmio_counted_once, setup, teardown),
        cmocka_unit_test_setup_teardown(mmio_used_when_msr_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(dram_sub_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(nested_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_and_directory_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_after_open_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(permission_denied_names_file_and_fix, setup, teardown),
        cmocka_unit_test_setup_teardown(no_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(env_root, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

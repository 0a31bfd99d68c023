/* rapl.c - CPU package and DRAM energy from Linux powercap (Intel RAPL, and AMD
 * RAPL through the same intel-rapl driver).
 *
 * Zones live under /sys/class/powercap as intel-rapl:N (packages and psys, MSR
 * interface), intel-rapl:N:M (sub-zones: core, uncore, dram) and
 * intel-rapl-mmio:N (the same package through the MMIO interface on recent
 * client parts). Each has name, energy_uj (a wrapping counter in uJ) and
 * max_energy_range_uj (where it wraps).
 *
 * What is summed, and why (docs/methodology.md):
 * - "package-*" top-level zones into channel "cpu";
 * - sub-zones named "dram" into channel "dram";
 * - never psys (the platform domain already contains the packages), never core
 *   or uncore (parts of a package);
 * - a package visible through both MSR and MMIO counts once (MSR preferred,
 *   MMIO used only where the MSR zone cannot be read).
 * Counters are unfolded: each read adds the delta since the previous read, plus
 * max_energy_range_uj when the counter went backwards (one wrap). The sampler
 * reads at least every max_read_interval_ns, which keeps a counter to one wrap
 * between reads at up to 1000 W.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aieb/log.h"
#include "meter/rapl.h"
#include "meter/source.h"

/* Power bound used to size the read interval (the 1000 W), and the
 * safety margin: read twice as often as strictly needed. */
#define RAPL_MAX_POWER_W      1000ULL
#define RAPL_INTERVAL_DIVISOR 2ULL
/* Intel SDM: the energy status counters update about every 1 ms. */
#define RAPL_UPDATE_PERIOD_NS 1000000LL

typedef enum {
    ROLE_IGNORED = 0,
    ROLE_CPU,
    ROLE_DRAM,
} zone_role;

typedef struct zone {
    char id[64];       /* directory name: "intel-rapl:0:2" */
    char *dir;         /* full path */
    char name[64];     /* contents of name: "package-0", "dram", "psys" */
    int mmio;          /* intel-rapl-mmio:* */
    int top, sub;      /* N and M of intel-rapl:N:M; sub -1 for top-level zones */
    char key[160];     /* identity for MSR/MMIO dedupe: "package-0", "package-0/dram" */
    uint64_t range_uj; /* max_energy_range_uj, 0 when unreadable */
    int readable;      /* energy_uj and max_energy_range_uj parse */
    int eacces;        /* energy_uj refused with EACCES/EPERM */
    char why[256];     /* why not readable */
    zone_role role;
    char note[160]; /* why ignored / which zone it duplicates */
    uint64_t last_uj;
    uint64_t acc_uj; /* energy since open, wraps unfolded */
} zone;

typedef struct rapl_ctx {
    char root[PATH_MAX];
    zone *zones;
    int n_zones;
    aieb_channel_info ch[2];
    int ch_role[2];
} rapl_ctx;

/* ==== Reading one sysfs file =============================================== */

/* Reads a small sysfs attribute into buf (NUL-terminated, trailing newline
 * dropped). Returns 0 or errno (EISDIR for a directory). */
static int read_attr(const char *dir, const char *file, char *buf, size_t cap)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ssize_t r;
    do {
        r = read(fd, buf, cap - 1);
    } while (r < 0 && errno == EINTR);
    int e = r < 0 ? errno : 0;
    close(fd);
    if (e)
        return e;
    buf[r] = '\0';
    while (r > 0 && isspace((unsigned char)buf[r - 1]))
        buf[--r] = '\0';
    return 0;
}

/* Parses a whole decimal uint64 (sysfs counters). Returns 0 or -1. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Reads dir/energy_uj. Returns 0, or errno / EINVAL (not a number) with why set. */
static int read_counter(const char *dir, uint64_t *uj, char *why, size_t why_len)
{
    char buf[64];
    int e = read_attr(dir, "energy_uj", buf, sizeof buf);
    if (e) {
        snprintf(why, why_len, "%s/energy_uj: %s", dir, strerror(e));
        return e;
    }
    if (parse_u64(buf, uj) != 0) {
        snprintf(why, why_len, "%s/energy_uj: not a number: '%.20s'", dir, buf);
        return EINVAL;
    }
    return 0;
}

/* ==== Finding zones ======================================================== */

/* Parses "intel-rapl:N", "intel-rapl:N:M", "intel-rapl-mmio:N[:M]". */
static int parse_zone_id(const char *id, int *mmio, int *top, int *sub)
{
    const char *p;
    if (strncmp(id, "intel-rapl-mmio:", 16) == 0) {
        *mmio = 1;
        p = id + 16;
    } else if (strncmp(id, "intel-rapl:", 11) == 0) {
        *mmio = 0;
        p = id + 11;
    } else {
        return -1;
    }
    char *end;
    if (!isdigit((unsigned char)*p))
        return -1;
    long a = strtol(p, &end, 10);
    long b = -1;
    if (*end == ':') {
        if (!isdigit((unsigned char)end[1]))
            return -1;
        b = strtol(end + 1, &end, 10);
    }
    if (*end || a > 100000 || b > 100000)
        return -1;
    *top = (int)a;
    *sub = (int)b;
    return 0;
}

typedef struct scan {
    zone *z;
    int n, cap;
} scan;

static int have_zone(const scan *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->z[i].id, id) == 0)
            return 1;
    return 0;
}

/* Adds dir/<entry> when it is a RAPL zone not seen yet. */
static int add_zone(scan *s, const char *dir, const char *entry, aieb_err *err)
{
    int mmio, top, sub;
    if (parse_zone_id(entry, &mmio, &top, &sub) != 0 || strlen(entry) >= sizeof s->z[0].id ||
        have_zone(s, entry))
        return 0;
    if (s->n >= AIEB_RAPL_MAX_ZONES)
        return aieb_errf(err, AIEB_ETOOBIG,
                         "rapl: %s: more than %d RAPL zones; not a powercap tree?", dir,
                         AIEB_RAPL_MAX_ZONES);
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        zone *z = realloc(s->z, (size_t)cap * sizeof *z);
        if (!z)
            return aieb_errf(err, AIEB_ENOMEM, "rapl: out of memory");
        s->z = z;
        s->cap = cap;
    }
    zone *z = &s->z[s->n];
    memset(z, 0, sizeof *z);
    size_t n = strlen(dir) + strlen(entry) + 2;
    z->dir = malloc(n);
    if (!z->dir)
        return aieb_errf(err, AIEB_ENOMEM, "rapl: out of memory");
    snprintf(z->dir, n, "%s/%s", dir, entry);
    snprintf(z->id, sizeof z->id, "%s", entry);
    z->mmio = mmio;
    z->top = top;
    z->sub = sub;
    s->n++;
    return 0;
}

/* Lists zones in dir; when nested is set, also each top-level zone's children
 * (the layout under /sys/devices/virtual/powercap, where sub-zones nest). */
static int list_zones(scan *s, const char *dir, int nested, aieb_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* the caller reports a missing root */
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d)) != NULL)
        rc = add_zone(s, dir, de->d_name, err);
    closedir(d);
    if (rc || !nested)
        return rc;
    int top_n = s->n;
    for (int i = 0; !rc && i < top_n; i++) {
        if (s->z[i].sub >= 0)
            continue;
        char *sub_dir = strdup(s->z[i].dir);
        if (!sub_dir)
            return aieb_errf(err, AIEB_ENOMEM, "rapl: out of memory");
        rc = list_zones(s, sub_dir, 0, err);
        free(sub_dir);
    }
    return rc;
}

static int zone_cmp(const void *a, const void *b)
{
    const zone *x = a, *y = b;
    if (x->mmio != y->mmio)
        return x->mmio - y->mmio; /* MSR first: preferred when deduplicating */
    if (x->top != y->top)
        return x->top - y->top;
    return x->sub - y->sub;
}

static const zone *parent_of(const scan *s, const zone *z)
{
    for (int i = 0; i < s->n; i++)
        if (s->z[i].mmio == z->mmio && s->z[i].top == z->top && s->z[i].sub < 0)
            return &s->z[i];
    return NULL;
}

/* Reads name, range and a first counter value, then decides each zone's role. */
static void classify(scan *s)
{
    for (int i = 0; i < s->n; i++) {
        zone *z = &s->z[i];
        if (read_attr(z->dir, "name", z->name, sizeof z->name) != 0)
            snprintf(z->name, sizeof z->name, "?");
        char buf[64];
        int e = read_counter(z->dir, &z->last_uj, z->why, sizeof z->why);
        z->eacces = e == EACCES || e == EPERM;
        if (!e) {
            e = read_attr(z->dir, "max_energy_range_uj", buf, sizeof buf);
            if (e || parse_u64(buf, &z->range_uj) != 0 || z->range_uj == 0) {
                snprintf(z->why, sizeof z->why, "%s/max_energy_range_uj: %s", z->dir,
                         e ? strerror(e) : "not a positive number");
                e = EINVAL;
                z->range_uj = 0;
            }
        } else if (read_attr(z->dir, "max_energy_range_uj", buf, sizeof buf) == 0) {
            parse_u64(buf, &z->range_uj); /* informative only */
        }
        z->readable = e == 0;
    }
    /* Roles and identity keys. */
    for (int i = 0; i < s->n; i++) {
        zone *z = &s->z[i];
        const zone *p = z->sub >= 0 ? parent_of(s, z) : NULL;
        if (z->sub < 0 && strncmp(z->name, "package-", 8) == 0) {
            z->role = ROLE_CPU;
            snprintf(z->key, sizeof z->key, "%s", z->name);
        } else if (strcmp(z->name, "dram") == 0) {
            z->role = ROLE_DRAM;
            snprintf(z->key, sizeof z->key, "%s/dram", p ? p->name : "?");
        } else if (strcmp(z->name, "psys") == 0) {
            snprintf(z->note, sizeof z->note,
                     "ignored: platform domain, it already contains the packages");
        } else if (strcmp(z->name, "core") == 0 || strcmp(z->name, "uncore") == 0) {
            snprintf(z->note, sizeof z->note, "ignored: part of %s", p ? p->name : "its package");
        } else {
            snprintf(z->note, sizeof z->note, "ignored: domain not used by aieb");
        }
    }
    /* One zone per key: the first readable one in MSR-then-MMIO order. */
    for (int i = 0; i < s->n; i++) {
        zone *z = &s->z[i];
        if (z->role == ROLE_IGNORED)
            continue;
        for (int j = 0; j < s->n; j++) {
            zone *o = &s->z[j];
            if (j == i || o->role != z->role || strcmp(o->key, z->key) != 0)
                continue;
            /* z loses to o when o is readable and z is not, or both are equal
             * in readability and o comes first (MSR before MMIO). */
            if ((o->readable && !z->readable) || (o->readable == z->readable && j < i)) {
                z->role = ROLE_IGNORED;
                snprintf(z->note, sizeof z->note, "duplicate: %s is %s through %s; counted once",
                         z->key, o->id, o->mmio ? "MMIO" : "MSR");
                break;
            }
        }
    }
}

static void free_zones(zone *z, int n)
{
    for (int i = 0; i < n; i++)
        free(z[i].dir);
    free(z);
}

static const char *powercap_root(const char *root)
{
    if (root && *root)
        return root;
    const char *env = getenv(AIEB_POWERCAP_ROOT_ENV);
    return env && *env ? env : AIEB_POWERCAP_DEFAULT_ROOT;
}

/* Scans root and classifies its zones. On success s holds them (caller frees).
 * Fails as aieb_rapl_source_open documents, leaving the zones in s for probe. */
static int scan_root(const char *root, scan *s, aieb_err *err)
{
    memset(s, 0, sizeof *s);
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return aieb_errf(err, AIEB_ENOTFOUND,
                         "rapl: %s: no such directory (no powercap here: not Linux, or the "
                         "intel_rapl driver is not loaded)",
                         root);
    int rc = list_zones(s, root, 1, err);
    if (rc)
        return rc;
    if (s->n > 1)
        qsort(s->z, (size_t)s->n, sizeof *s->z, zone_cmp);
    classify(s);
    int n_cpu = 0;
    const zone *denied = NULL, *broken = NULL;
    for (int i = 0; i < s->n; i++) {
        const zone *z = &s->z[i];
        if (z->role != ROLE_CPU)
            continue;
        n_cpu++;
        if (!z->readable && z->eacces && !denied)
            denied = z;
        else if (!z->readable && !broken)
            broken = z;
    }
    if (s->n == 0)
        return aieb_errf(err, AIEB_ENOTFOUND, "rapl: no intel-rapl zones under %s", root);
    if (n_cpu == 0)
        return aieb_errf(err, AIEB_ENOTFOUND,
                         "rapl: no package zone under %s (%d other zone%s, e.g. %s named '%s')",
                         root, s->n, s->n == 1 ? "" : "s", s->z[0].id, s->z[0].name);
    if (denied)
        return aieb_errf(err, AIEB_EIO,
                         "rapl: %s/energy_uj: permission denied (kernels patched for the 2020 "
                         "RAPL side channel, Platypus, let only root read it); run as root, or "
                         "`sudo chmod a+r %s/intel-rapl*/energy_uj`; CPU energy falls back to "
                         "the TDP x load estimate",
                         denied->dir, root);
    if (broken)
        return aieb_errf(err, AIEB_EIO,
                         "rapl: %s; cannot use RAPL, CPU energy falls back to the TDP x load "
                         "estimate",
                         broken->why);
    return 0;
}

/* ==== Describing ========================================================== */

static const char *role_text(const zone *z)
{
    switch (z->role) {
    case ROLE_CPU:
        return "summed into cpu";
    case ROLE_DRAM:
        return "summed into dram";
    default:
        return z->note;
    }
}

static json_t *zones_json(const zone *zs, int n)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        const zone *z = &zs[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s?, s:s, s:b}", "zone", z->id, "path",
                              z->dir, "name", z->name, "interface", z->mmio ? "mmio" : "msr",
                              "readable", z->readable, "why", z->readable ? NULL : z->why, "role",
                              role_text(z), "summed", z->role != ROLE_IGNORED);
        if (o && z->range_uj)
            json_object_set_new(o, "max_energy_range_uj", json_integer((json_int_t)z->range_uj));
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *aieb_rapl_probe(const char *root)
{
    const char *r = powercap_root(root);
    scan s;
    aieb_err err = {0};
    int rc = scan_root(r, &s, &err);
    json_t *o = json_pack("{s:s, s:b, s:s?, s:o}", "root", r, "usable", rc == 0, "error",
                          rc ? err.msg : NULL, "zones", zones_json(s.z, s.n));
    free_zones(s.z, s.n);
    return o;
}

static json_t *rapl_describe(aieb_source *src)
{
    rapl_ctx *c = src->ctx;
    return json_pack("{s:s, s:s, s:b, s:o, s:f}", "source", "rapl", "root", c->root, "usable", 1,
                     "zones", zones_json(c->zones, c->n_zones), "max_read_interval_s",
                     (double)src->max_read_interval_ns / 1e9);
}

/* ==== The source =========================================================== */

static int rapl_read(aieb_source *src, int64_t t_ns, aieb_channel_reading *out, aieb_err *err)
{
    rapl_ctx *c = src->ctx;
    uint64_t sum[2] = {0, 0};
    int failed[2] = {0, 0};
    int rc = 0;
    for (int i = 0; i < c->n_zones; i++) {
        zone *z = &c->zones[i];
        if (z->role == ROLE_IGNORED)
            continue;
        int k = z->role == ROLE_CPU ? 0 : 1;
        uint64_t now;
        char why[256];
        if (read_counter(z->dir, &now, why, sizeof why) != 0) {
            /* Keep last_uj: the next good read covers this interval too. */
            failed[k] = 1;
            if (!rc)
                rc = aieb_errf(err, AIEB_EIO, "rapl: %s", why);
        } else {
            uint64_t delta = now >= z->last_uj ? now - z->last_uj : now + z->range_uj - z->last_uj;
            z->acc_uj += delta;
            z->last_uj = now;
        }
        sum[k] += z->acc_uj;
    }
    for (int j = 0; j < src->n_channels; j++) {
        int k = c->ch_role[j] == ROLE_CPU ? 0 : 1;
        aieb_reading_clear(&out[j]);
        if (!failed[k])
            out[j].energy_j = (double)sum[k] / 1e6;
    }
    return rc;
}

static void rapl_close(aieb_source *src)
{
    if (!src)
        return;
    rapl_ctx *c = src->ctx;
    if (c)
        free_zones(c->zones, c->n_zones);
    free(c);
    free(src);
}

static void counter_channel(aieb_channel_info *ch, aieb_domain d, const char *label)
{
    memset(ch, 0, sizeof *ch);
    ch->domain = d;
    ch->label = label;
    ch->method = "rapl";
    ch->has_counter = 1;
    ch->has_power = 0;
    ch->counter_period_ns = RAPL_UPDATE_PERIOD_NS;
    ch->gpu_index = -1;
}

int aieb_rapl_source_open(aieb_source **out, const char *root, aieb_err *err)
{
    *out = NULL;
    const char *r = powercap_root(root);
    scan s;
    int rc = scan_root(r, &s, err);
    if (rc) {
        free_zones(s.z, s.n);
        return rc;
    }
    aieb_source *src = calloc(1, sizeof *src);
    rapl_ctx *c = calloc(1, sizeof *c);
    if (!src || !c) {
        free(src);
        free(c);
        free_zones(s.z, s.n);
        return aieb_errf(err, AIEB_ENOMEM, "rapl: out of memory");
    }
    snprintf(c->root, sizeof c->root, "%s", r);
    c->zones = s.z;
    c->n_zones = s.n;
    int have_dram = 0;
    uint64_t min_range = UINT64_MAX;
    for (int i = 0; i < s.n; i++) {
        zone *z = &s.z[i];
        if (z->role == ROLE_DRAM && !z->readable) {
            AIEB_WARN("rapl: DRAM zone %s not readable (%s); DRAM will be estimated", z->id,
                      z->why);
            z->role = ROLE_IGNORED;
            snprintf(z->note, sizeof z->note, "ignored: not readable");
        }
        if (z->role == ROLE_IGNORED)
            continue;
        have_dram |= z->role == ROLE_DRAM;
        if (z->range_uj < min_range)
            min_range = z->range_uj;
    }
    counter_channel(&c->ch[0], AIEB_DOMAIN_CPU, "cpu");
    c->ch_role[0] = ROLE_CPU;
    if (have_dram) {
        counter_channel(&c->ch[1], AIEB_DOMAIN_DRAM, "dram");
        c->ch_role[1] = ROLE_DRAM;
    }
    /* range_uj / 1000 W is the shortest time in which a counter can wrap:
     * uJ x 1000 / W = ns. Halved for margin. */
    uint64_t interval_ns = min_range > UINT64_MAX / 1000 ? UINT64_MAX : min_range * 1000;
    interval_ns = interval_ns / RAPL_MAX_POWER_W / RAPL_INTERVAL_DIVISOR;
    src->name = "rapl";
    src->n_channels = have_dram ? 2 : 1;
    src->channels = c->ch;
    src->max_read_interval_ns = interval_ns < 1           ? 1
                                : interval_ns > INT64_MAX ? INT64_MAX
                                                          : (int64_t)interval_ns;
    src->read = rapl_read;
    src->describe = rapl_describe;
    src->close = rapl_close;
    src->ctx = c;
    *out = src;
    return 0;
}

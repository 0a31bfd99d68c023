/* estimate.c - CPU (TDP x load) and RAM (DIMM count) power estimates, used where
 * no energy counter exists. Both are power-only channels: the sampler integrates
 * their power over time. Models and constants: estimate.h and
 * docs/methodology.md. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "aieb/log.h"
#include "meter/estimate.h"
#include "meter/source.h"

/* ==== Pure models ========================================================== */

double aieb_estimate_cpu_power_w(double tdp_w, double load)
{
    if (isnan(load))
        return NAN;
    if (load < 0)
        load = 0;
    if (load > 1)
        load = 1;
    return tdp_w * (0.1 + 0.9 * load * load * load);
}

int aieb_estimate_dimm_count(double total_gb)
{
    /* Thresholds from CodeCarbon 3.x RAM._estimate_dimm_count. */
    if (total_gb <= 2)
        return 1;
    if (total_gb <= 16)
        return 2;
    if (total_gb <= 64)
        return 4;
    if (total_gb <= 128)
        return 8;
    static const double sizes_gb[] = {128, 64, 32, 16, 8, 4}; /* largest first */
    for (size_t i = 0; i < sizeof sizes_gb / sizeof sizes_gb[0]; i++) {
        if (sizes_gb[i] <= total_gb / 8) {
            double n = ceil(total_gb / sizes_gb[i]);
            return n > AIEB_ESTIMATE_DIMM_MAX ? AIEB_ESTIMATE_DIMM_MAX : (int)n;
        }
    }
    return 8; /* unreachable above 128 GB (total / 8 > 16); CodeCarbon's default */
}

double aieb_estimate_ram_power_w(double total_gb, int arm)
{
    double per_dimm = arm ? AIEB_ESTIMATE_DIMM_W_ARM : AIEB_ESTIMATE_DIMM_W_X86;
    double floor_w = arm ? AIEB_ESTIMATE_RAM_MIN_W_ARM : AIEB_ESTIMATE_RAM_MIN_W_X86;
    int n = aieb_estimate_dimm_count(total_gb);
    /* Marginal power per DIMM falls with the count: 100%, 90%, 80%, 70%. */
    static const struct {
        int upto;
        double share;
    } tiers[] = {{4, 1.0}, {8, 0.9}, {16, 0.8}, {AIEB_ESTIMATE_DIMM_MAX, 0.7}};
    double w = 0;
    int counted = 0;
    for (size_t i = 0; i < sizeof tiers / sizeof tiers[0] && counted < n; i++) {
        int upto = n < tiers[i].upto ? n : tiers[i].upto;
        w += per_dimm * tiers[i].share * (upto - counted);
        counted = upto;
    }
    return w > floor_w ? w : floor_w;
}

double aieb_estimate_default_tdp_w(int n_threads)
{
    return AIEB_ESTIMATE_W_PER_THREAD * (n_threads > 0 ? n_threads : 1);
}

double aieb_cpu_load_between(const aieb_cpu_times *before, const aieb_cpu_times *after)
{
    if (after->total <= before->total || after->busy < before->busy)
        return NAN;
    double total = (double)(after->total - before->total);
    double busy = (double)(after->busy - before->busy);
    return busy > total ? 1.0 : busy / total;
}

/* ==== /proc readers ======================================================== */

static void proc_path(char *buf, size_t n, const char *proc_root, const char *file)
{
    snprintf(buf, n, "%s/%s", proc_root ? proc_root : "/proc", file);
}

/* Reads up to cap-1 bytes from the start of path (procfs files report size 0,
 * so aieb_read_file does not apply). Returns bytes read or -errno. */
static ssize_t read_head(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

static int open_error(aieb_err *err, const char *path, ssize_t neg_errno)
{
    int e = (int)-neg_errno;
    return aieb_errf(err, e == ENOENT ? AIEB_ENOTFOUND : AIEB_EIO, "%s: %s", path, strerror(e));
}

/* Parses "cpu  user nice system idle iowait irq softirq steal guest guest_nice". */
static int parse_cpu_line(const char *line, aieb_cpu_times *out)
{
    if (strncmp(line, "cpu ", 4) != 0)
        return -1;
    unsigned long long v[10] = {0};
    const char *p = line + 4;
    int n = 0;
    while (n < 10) {
        while (*p == ' ')
            p++;
        if (!isdigit((unsigned char)*p))
            break;
        char *end;
        errno = 0;
        v[n] = strtoull(p, &end, 10);
        if (errno)
            return -1;
        p = end;
        n++;
    }
    if (n < 4) /* user nice system idle at the least */
        return -1;
    /* guest and guest_nice (v[8], v[9]) are already inside user and nice. */
    unsigned long long total = 0;
    for (int i = 0; i < 8; i++)
        total += v[i];
    out->total = total;
    out->busy = total - v[3] - v[4]; /* idle and iowait are idle time */
    return 0;
}

int aieb_proc_stat_read(const char *proc_root, aieb_cpu_times *out, aieb_err *err)
{
    char path[4096];
    proc_path(path, sizeof path, proc_root, "stat");
    /* The "cpu " line comes first and is < 256 bytes; the rest of the file (one
     * line per CPU, interrupt counts) is not needed at every tick. */
    char buf[512];
    ssize_t n = read_head(path, buf, sizeof buf);
    if (n < 0)
        return open_error(err, path, n);
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    if (parse_cpu_line(buf, out) != 0)
        return aieb_errf(err, AIEB_EIO, "%s: no parsable \"cpu \" line at the top", path);
    return 0;
}

int aieb_proc_stat_threads(const char *proc_root, aieb_err *err)
{
    char path[4096];
    proc_path(path, sizeof path, proc_root, "stat");
    FILE *f = fopen(path, "re");
    if (!f)
        return open_error(err, path, -errno);
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    /* cpuN lines follow the "cpu " line; stop at the first other line. */
    while (getline(&line, &cap, f) > 0 && strncmp(line, "cpu", 3) == 0)
        if (isdigit((unsigned char)line[3]))
            n++;
    free(line);
    fclose(f);
    if (n == 0)
        return aieb_errf(err, AIEB_EIO, "%s: no cpuN lines", path);
    return n;
}

int aieb_meminfo_total_gib(const char *proc_root, double *gib, aieb_err *err)
{
    char path[4096];
    proc_path(path, sizeof path, proc_root, "meminfo");
    char buf[4096]; /* MemTotal is the first line */
    ssize_t n = read_head(path, buf, sizeof buf);
    if (n < 0)
        return open_error(err, path, n);
    const char *p = strstr(buf, "MemTotal:");
    if (!p)
        return aieb_errf(err, AIEB_EIO, "%s: no MemTotal line", path);
    char *end;
    errno = 0;
    unsigned long long kib = strtoull(p + strlen("MemTotal:"), &end, 10);
    if (errno || end == p + strlen("MemTotal:") || kib == 0)
        return aieb_errf(err, AIEB_EIO, "%s: MemTotal is not a number of kB", path);
    *gib = (double)kib / (1024.0 * 1024.0);
    return 0;
}

int aieb_estimate_is_arm(void)
{
    struct utsname u;
    if (uname(&u) != 0)
        return 0;
    char m[sizeof u.machine];
    size_t i = 0;
    for (; u.machine[i] && i + 1 < sizeof m; i++)
        m[i] = (char)tolower((unsigned char)u.machine[i]);
    m[i] = '\0';
    return strstr(m, "arm") || strstr(m, "aarch") ? 1 : 0;
}

/* ==== CPU estimate source ================================================== */

typedef struct cpu_ctx {
    aieb_channel_info channel;
    char proc_root[4096];
    double tdp_w;
    int tdp_from_threads; /* 1: 4 W per thread; 0: configured */
    int threads;
    aieb_cpu_times last; /* reading the next load is measured from */
    double last_load;    /* load of the latest interval with ticks; NAN before one */
} cpu_ctx;

static int cpu_read(aieb_source *s, int64_t t_ns, aieb_channel_reading *out, aieb_err *err)
{
    cpu_ctx *c = s->ctx;
    aieb_reading_clear(out);
    aieb_cpu_times now;
    int rc = aieb_proc_stat_read(c->proc_root, &now, err);
    if (rc)
        return aieb_err_prefix(err, "cpu estimate");
    double load = aieb_cpu_load_between(&c->last, &now);
    if (!isnan(load)) {
        c->last = now;
        c->last_load = load;
    }
    /* No tick since the last reading (ticks are 10 ms): keep the last load and
     * keep measuring from the same reading. Before the first tick there is no
     * load, so no power: the meter holds the first real one back over the gap
     * (the load since boot once stood in, about 0.9 W against a steady 8 W). */
    if (isnan(c->last_load))
        return 0;
    out->power_w = aieb_estimate_cpu_power_w(c->tdp_w, c->last_load);
    out->util_pct = 100.0 * c->last_load;
    return 0;
}

static json_t *cpu_describe(aieb_source *s)
{
    cpu_ctx *c = s->ctx;
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:s, s:i, s:s, s:s}", "source", "estimate",
                     "channel", "cpu", "method", "estimate_tdp_load", "model",
                     "P = TDP x (0.1 + 0.9 x load^3)", "tdp_w", c->tdp_w, "tdp_from",
                     c->tdp_from_threads ? "4 W per hardware thread" : "configured (cpu_tdp_w)",
                     "hardware_threads", c->threads, "load_from", "/proc/stat between readings",
                     "model_source", "CodeCarbon 3.1+ cpu_load mode");
}

static void source_close(aieb_source *s)
{
    if (!s)
        return;
    free(s->ctx);
    free(s->channels);
    free(s);
}

static int new_source(aieb_source **out, const char *name, void *ctx, aieb_channel_info *ch,
                      aieb_err *err)
{
    aieb_source *s = calloc(1, sizeof *s);
    aieb_channel_info *chs = calloc(1, sizeof *chs);
    if (!s || !chs) {
        free(s);
        free(chs);
        free(ctx);
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory", name);
    }
    *chs = *ch;
    s->name = name;
    s->n_channels = 1;
    s->channels = chs;
    s->ctx = ctx;
    s->close = source_close;
    *out = s;
    return 0;
}

static void estimate_channel(aieb_channel_info *ch, aieb_domain d, const char *label,
                             const char *method)
{
    memset(ch, 0, sizeof *ch);
    ch->domain = d;
    ch->label = label;
    ch->method = method;
    ch->has_counter = 0;
    ch->has_power = 1;
    ch->gpu_index = -1;
}

int aieb_cpu_estimate_source_open(aieb_source **out, double tdp_w, const char *proc_root,
                                  aieb_err *err)
{
    *out = NULL;
    if (isnan(tdp_w) || isinf(tdp_w))
        return aieb_errf(err, AIEB_EINVAL, "cpu estimate: cpu_tdp_w must be a number of W");
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return aieb_errf(err, AIEB_ENOMEM, "cpu estimate: out of memory");
    snprintf(c->proc_root, sizeof c->proc_root, "%s", proc_root ? proc_root : "/proc");
    int rc = aieb_proc_stat_read(c->proc_root, &c->last, err);
    if (rc) {
        free(c);
        return aieb_err_prefix(err, "cpu estimate");
    }
    int threads = aieb_proc_stat_threads(c->proc_root, err);
    if (threads < 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
        aieb_err_clear(err);
    }
    c->threads = threads;
    c->tdp_from_threads = tdp_w <= 0;
    c->tdp_w = tdp_w > 0 ? tdp_w : aieb_estimate_default_tdp_w(threads);
    c->last_load = NAN; /* until a tick elapses after this reading */
    aieb_channel_info ch;
    estimate_channel(&ch, AIEB_DOMAIN_CPU, "cpu", "estimate_tdp_load");
    rc = new_source(out, "estimate", c, &ch, err);
    if (rc)
        return rc;
    (*out)->read = cpu_read;
    (*out)->describe = cpu_describe;
    return 0;
}

/* ==== RAM estimate source ================================================== */

typedef struct ram_ctx {
    double total_gib;
    int total_from_meminfo;
    int arm;
    int dimms;
    double power_w;
    int informational;
} ram_ctx;

static int ram_read(aieb_source *s, int64_t t_ns, aieb_channel_reading *out, aieb_err *err)
{
    ram_ctx *r = s->ctx;
    aieb_reading_clear(out);
    out->power_w = r->power_w;
    return 0;
}

static json_t *ram_describe(aieb_source *s)
{
    ram_ctx *r = s->ctx;
    return json_pack("{s:s, s:s, s:s, s:f, s:s, s:b, s:i, s:f, s:b, s:s}", "source", "estimate",
                     "channel", "ram", "method", "estimate_dimm", "total_gib", r->total_gib,
                     "total_from", r->total_from_meminfo ? "/proc/meminfo MemTotal" : "configured",
                     "arm", r->arm, "dimm_count", r->dimms, "power_w", r->power_w, "informational",
                     r->informational, "model_source", "CodeCarbon 3.x RAM model (ram.py)");
}

int aieb_ram_estimate_source_open(aieb_source **out, double total_gb, int arm, int informational,
                                  aieb_err *err)
{
    *out = NULL;
    if (isnan(total_gb) || isinf(total_gb))
        return aieb_errf(err, AIEB_EINVAL, "ram estimate: total RAM must be a number of GB");
    ram_ctx *r = calloc(1, sizeof *r);
    if (!r)
        return aieb_errf(err, AIEB_ENOMEM, "ram estimate: out of memory");
    if (total_gb <= 0) {
        int rc = aieb_meminfo_total_gib(NULL, &r->total_gib, err);
        if (rc) {
            free(r);
            return aieb_err_prefix(err, "ram estimate");
        }
        r->total_from_meminfo = 1;
    } else {
        r->total_gib = total_gb;
    }
    r->arm = arm < 0 ? aieb_estimate_is_arm() : (arm != 0);
    r->dimms = aieb_estimate_dimm_count(r->total_gib);
    r->power_w = aieb_estimate_ram_power_w(r->total_gib, r->arm);
    r->informational = informational != 0;
    aieb_channel_info ch;
    estimate_channel(&ch, AIEB_DOMAIN_RAM, "ram", "estimate_dimm");
    ch.informational = r->informational;
    int rc = new_source(out, "estimate", r, &ch, err);
    if (rc)
        return rc;
    (*out)->read = ram_read;
    (*out)->describe = ram_describe;
    return 0;
}

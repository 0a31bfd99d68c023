/* remote_prom.c - energy read from a Prometheus server (prom.h).
 *
 * Prometheus HTTP API (prometheus.io/docs/prometheus/latest/querying/api/):
 * GET /api/v1/query?query=Q&time=T answers
 *   {"status":"success","data":{"resultType":"matrix"|"vector","result":[...]}}
 * where a range-vector query (metric{sel}[Ns]) gives each series' raw samples as
 * {"metric":{labels},"values":[[unix_s, "value"], ...]} and an instant query
 * gives {"metric":{...},"value":[unix_s, "value"]}. Errors come as
 * {"status":"error","errorType":...,"error":...}.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "aieb/buf.h"
#include "aieb/clock.h"
#include "aieb/log.h"
#include "aieb/prom.h"

#define DEFAULT_GPU_ENERGY "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
#define DEFAULT_GPU_POWER  "DCGM_FI_DEV_POWER_USAGE"
#define MAX_BODY_BYTES     (256u << 20)
#define MARGIN_S           120.0 /* samples read beyond each end of the run */
#define MAX_NOTES          32

/* ==== One series' arithmetic ============================================== */

void aieb_prom_series_free(aieb_prom_series *s)
{
    if (!s)
        return;
    free(s->t_s);
    free(s->cum_j);
    free(s->dp_j);
    free(s->reset_t_s);
    memset(s, 0, sizeof *s);
}

int aieb_prom_series_build(const double *t_s, const double *v, size_t n, aieb_prom_kind kind,
                           double scale, aieb_prom_series *s)
{
    memset(s, 0, sizeof *s);
    s->t_s = malloc((n + 1) * sizeof *s->t_s);
    s->cum_j = malloc((n + 1) * sizeof *s->cum_j);
    s->dp_j = calloc(n + 1, sizeof *s->dp_j);
    s->reset_t_s = malloc((n + 1) * sizeof *s->reset_t_s);
    if (!s->t_s || !s->cum_j || !s->dp_j || !s->reset_t_s) {
        aieb_prom_series_free(s);
        return AIEB_ENOMEM;
    }
    double prev_v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t_s[i]) || !isfinite(v[i]))
            continue;
        if (s->n && t_s[i] <= s->t_s[s->n - 1])
            continue;
        size_t k = s->n;
        s->t_s[k] = t_s[i];
        if (k == 0) {
            s->cum_j[k] = 0;
        } else if (kind == AIEB_PROM_COUNTER) {
            double d = v[i] - prev_v;
            if (d < 0) { /* restarted from 0: what it shows now is all since then */
                d = v[i];
                s->reset_t_s[s->resets++] = t_s[i];
            }
            s->cum_j[k] = s->cum_j[k - 1] + d * scale;
        } else {
            double dt = t_s[i] - s->t_s[k - 1];
            s->cum_j[k] = s->cum_j[k - 1] + (v[i] + prev_v) / 2 * dt * scale;
            s->dp_j[k] = fabs(v[i] - prev_v) * dt / 2 * scale;
        }
        prev_v = v[i];
        s->n++;
    }
    return 0;
}

/* Index a with t_s[a] <= t < t_s[a + 1]; the caller ensures t_s[0] <= t < t_s[n-1]. */
static size_t bracket(const aieb_prom_series *s, double t)
{
    size_t lo = 0, hi = s->n - 1;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->t_s[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int aieb_prom_series_at(const aieb_prom_series *s, double t_s, double *e_j, double *bound_j)
{
    *e_j = 0;
    *bound_j = 0;
    if (s->n == 0)
        return 1;
    if (t_s <= s->t_s[0]) {
        *e_j = s->cum_j[0];
        return t_s < s->t_s[0];
    }
    if (t_s >= s->t_s[s->n - 1]) {
        *e_j = s->cum_j[s->n - 1];
        return t_s > s->t_s[s->n - 1];
    }
    size_t a = bracket(s, t_s);
    if (t_s == s->t_s[a]) { /* on a sample: read, not interpolated */
        *e_j = s->cum_j[a];
        return 0;
    }
    double ta = s->t_s[a], tb = s->t_s[a + 1];
    double ea = s->cum_j[a], eb = s->cum_j[a + 1];
    double e = ea + (eb - ea) * (t_s - ta) / (tb - ta);
    *e_j = e;
    *bound_j = fmax(e - ea, eb - e);
    return 0;
}

int aieb_prom_series_window(const aieb_prom_series *s, double t0_s, double t1_s, double *energy_j,
                            double *bound_j, int *covered)
{
    *energy_j = 0;
    *bound_j = 0;
    *covered = 0;
    if (s->n == 0)
        return AIEB_EINVAL;
    double e0, b0, e1, b1;
    int out0 = aieb_prom_series_at(s, t0_s, &e0, &b0);
    int out1 = aieb_prom_series_at(s, t1_s, &e1, &b1);
    *covered = !out0 && !out1;
    *energy_j = e1 - e0;
    double bound = b0 + b1;
    /* The trapezoid's own bound (power gauges), for each interval's part inside. */
    for (size_t k = 1; k < s->n; k++) {
        if (s->dp_j[k] == 0)
            continue;
        double a = fmax(s->t_s[k - 1], t0_s), b = fmin(s->t_s[k], t1_s);
        if (b > a)
            bound += s->dp_j[k] * (b - a) / (s->t_s[k] - s->t_s[k - 1]);
    }
    *bound_j = bound;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double aieb_prom_series_interval(const aieb_prom_series *s)
{
    if (s->n < 2)
        return NAN;
    double *gaps = malloc((s->n - 1) * sizeof *gaps);
    if (!gaps)
        return NAN;
    for (size_t i = 1; i < s->n; i++)
        gaps[i - 1] = s->t_s[i] - s->t_s[i - 1];
    qsort(gaps, s->n - 1, sizeof *gaps, cmp_double);
    size_t m = s->n - 1;
    double med = m % 2 ? gaps[m / 2] : (gaps[m / 2 - 1] + gaps[m / 2]) / 2;
    free(gaps);
    return med;
}

/* ==== Clock mapping ======================================================== */

void aieb_prom_clock_pair(int64_t *mono_ns, int64_t *wall_ns)
{
    /* The wall clock read between two monotonic reads, paired with their
     * midpoint: off by at most half the (tiny) gap between them. */
    int64_t m0 = aieb_now_ns();
    int64_t w = aieb_wall_ns();
    int64_t m1 = aieb_now_ns();
    *mono_ns = m0 + (m1 - m0) / 2;
    *wall_ns = w;
}

double aieb_prom_clock_wall_s(const aieb_prom_clock *c, int64_t mono_ns)
{
    double rate = 1.0;
    if (c->mono1_ns > c->mono0_ns && c->wall1_ns > c->wall0_ns)
        rate = (double)(c->wall1_ns - c->wall0_ns) / (double)(c->mono1_ns - c->mono0_ns);
    return ((double)c->wall0_ns + (double)(mono_ns - c->mono0_ns) * rate) / 1e9;
}

/* ==== Options ============================================================== */

static const char *str_or(const json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : def;
}

static int secret(const char *env_name, const char **out, aieb_err *err)
{
    *out = NULL;
    if (!env_name)
        return 0;
    const char *v = getenv(env_name);
    if (!v || !*v)
        return aieb_errf(err, AIEB_EENV,
                         "metrics.remote: the environment variable %s is not set (it should hold "
                         "the Prometheus credential the config names)",
                         env_name);
    *out = v;
    return 0;
}

int aieb_prom_opts_from_json(const json_t *entry, aieb_prom_opts *o, aieb_err *err)
{
    memset(o, 0, sizeof *o);
    o->url = str_or(entry, "url", NULL);
    if (!o->url)
        return aieb_errf(err, AIEB_EINVAL, "metrics.remote: an entry without url");
    o->selector = str_or(entry, "selector", NULL);
    o->gpu_energy_metric = str_or(entry, "gpu_energy_metric", DEFAULT_GPU_ENERGY);
    o->gpu_power_metric = str_or(entry, "gpu_power_metric", DEFAULT_GPU_POWER);
    o->cpu_energy_metric = str_or(entry, "cpu_energy_metric", NULL);
    o->cpu_selector = str_or(entry, "cpu_selector", NULL);
    int rc = secret(str_or(entry, "bearer_token_env", NULL), &o->bearer_token, err);
    if (!rc)
        rc = secret(str_or(entry, "basic_auth_user_env", NULL), &o->basic_user, err);
    if (!rc)
        rc = secret(str_or(entry, "basic_auth_password_env", NULL), &o->basic_password, err);
    return rc;
}

/* ==== HTTP ================================================================= */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return aieb_buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

/* GETs url's /api/v1/query for query at time t (unix s) and returns its "data"
 * object (a new reference) in *data. */
static int prom_query(const aieb_prom_opts *o, const char *query, double t, json_t **data,
                      aieb_err *err)
{
    char su[512]; /* the URL as messages show it (no password) */
    aieb_url_redact(o->url, su, sizeof su);
    *data = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return aieb_errf(err, AIEB_ENOMEM, "prometheus: cannot start libcurl");
    CURL *c = curl_easy_init();
    if (!c)
        return aieb_errf(err, AIEB_ENOMEM, "prometheus: cannot start libcurl");
    char *q = curl_easy_escape(c, query, 0);
    aieb_buf url, body;
    aieb_buf_init(&url, 0);
    aieb_buf_init(&body, MAX_BODY_BYTES);
    size_t ulen = strlen(o->url);
    int slash = ulen && o->url[ulen - 1] == '/';
    int rc = q ? aieb_buf_printf(&url, "%s%sapi/v1/query?query=%s&time=%.3f", o->url,
                                 slash ? "" : "/", q, t)
               : AIEB_ENOMEM;
    curl_free(q);
    struct curl_slist *hdr = NULL;
    char *auth = NULL;
    if (!rc && o->bearer_token) {
        if (asprintf(&auth, "Authorization: Bearer %s", o->bearer_token) < 0)
            auth = NULL;
        struct curl_slist *l = auth ? curl_slist_append(hdr, auth) : NULL;
        if (!l)
            rc = AIEB_ENOMEM;
        else
            hdr = l;
    }
    if (rc) {
        aieb_errf(err, AIEB_ENOMEM, "prometheus: out of memory");
        goto out;
    }
    long timeout_ms = (long)((o->timeout_s > 0 ? o->timeout_s : 10) * 1000);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "aieb/" AIEB_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    if (hdr)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    if (o->basic_user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, o->basic_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->basic_password ? o->basic_password : "");
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        rc = cc == CURLE_WRITE_ERROR && body.len >= MAX_BODY_BYTES
                 ? aieb_errf(err, AIEB_ETOOBIG, "prometheus at %s: answer past %u MiB", su,
                             MAX_BODY_BYTES >> 20)
                 : aieb_errf(err, AIEB_EENV, "prometheus at %s: cannot reach it: %s", su,
                             curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    json_error_t je;
    json_t *j = body.len ? json_loadb(body.data, body.len, 0, &je) : NULL;
    const char *st = json_string_value(json_object_get(j, "status"));
    if (!j || !st) {
        rc = aieb_errf(err, AIEB_EENV,
                       "prometheus at %s: HTTP %ld and not the Prometheus API's JSON (is this "
                       "the Prometheus server's base URL?)",
                       su, status);
    } else if (strcmp(st, "success") != 0) {
        rc = aieb_errf(err, AIEB_EENV, "prometheus at %s: HTTP %ld, %s: %s (query %s)", su, status,
                       str_or(j, "errorType", "error"), str_or(j, "error", "no message"), query);
    } else {
        *data = json_incref(json_object_get(j, "data"));
    }
    json_decref(j);
out:
    free(auth);
    curl_slist_free_all(hdr);
    aieb_buf_free(&url);
    aieb_buf_free(&body);
    curl_easy_cleanup(c);
    return rc;
}

/* "metric{sel}" (or "metric" alone when sel is empty or "{}"). */
static void selector_expr(const char *metric, const char *sel, aieb_buf *b)
{
    int none = !sel || !*sel || strcmp(sel, "{}") == 0;
    aieb_buf_printf(b, "%s%s", metric, none ? "" : sel);
}

/* ==== The client =========================================================== */

typedef struct pseries {
    aieb_prom_series s;
    json_t *labels;
    char host[128];
    int cpu;
} pseries;

struct aieb_prom {
    const char *method;
    double resolution_s;
    pseries *sv;
    size_t n, cap;
    int has_cpu;
    char *notes[MAX_NOTES];
    size_t n_notes;
};

void aieb_prom_free(aieb_prom *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        aieb_prom_series_free(&p->sv[i].s);
        json_decref(p->sv[i].labels);
    }
    for (size_t i = 0; i < p->n_notes; i++)
        free(p->notes[i]);
    free(p->sv);
    free(p);
}

static void add_note(aieb_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_note(aieb_prom *p, const char *fmt, ...)
{
    if (p->n_notes >= MAX_NOTES)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) >= 0)
        p->notes[p->n_notes++] = s;
    va_end(ap);
}

/* Labels without __name__, as {k="v", ...}, for messages. */
static void labels_text(const json_t *labels, char *buf, size_t n)
{
    size_t len = 0;
    const char *k;
    json_t *v;
    buf[0] = '\0';
    len += (size_t)snprintf(buf, n, "{");
    json_object_foreach((json_t *)labels, k, v)
    {
        if (strcmp(k, "__name__") == 0 || len >= n)
            continue;
        len += (size_t)snprintf(buf + len, n - len, "%s%s=\"%s\"", len > 1 ? ", " : "", k,
                                json_string_value(v) ? json_string_value(v) : "");
    }
    if (len < n)
        snprintf(buf + len, n - len, "}");
}

/* Adds the series of a matrix result to p. */
static int add_matrix(aieb_prom *p, const json_t *data, aieb_prom_kind kind, double scale, int cpu,
                      aieb_err *err)
{
    const json_t *res = json_object_get(data, "result");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    if (!type || strcmp(type, "matrix") != 0 || !json_is_array(res))
        return aieb_errf(err, AIEB_EENV, "prometheus: expected a matrix result, got %s",
                         type ? type : "nothing");
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r)
    {
        const json_t *vals = json_object_get(r, "values");
        size_t nv = json_array_size(vals);
        double *t = malloc((nv + 1) * sizeof *t), *v = malloc((nv + 1) * sizeof *v);
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 8;
            pseries *sv = realloc(p->sv, cap * sizeof *sv);
            if (sv) {
                p->sv = sv;
                p->cap = cap;
            }
        }
        if (!t || !v || p->n == p->cap) {
            free(t);
            free(v);
            return aieb_errf(err, AIEB_ENOMEM, "prometheus: out of memory");
        }
        for (size_t k = 0; k < nv; k++) {
            const json_t *pair = json_array_get(vals, k);
            t[k] = json_number_value(json_array_get(pair, 0));
            const char *s = json_string_value(json_array_get(pair, 1));
            t[k] = json_is_number(json_array_get(pair, 0)) ? t[k] : NAN;
            v[k] = s ? strtod(s, NULL) : NAN; /* "NaN", "+Inf" are dropped by the build */
        }
        pseries *ps = &p->sv[p->n];
        memset(ps, 0, sizeof *ps);
        int rc = aieb_prom_series_build(t, v, nv, kind, scale, &ps->s);
        free(t);
        free(v);
        if (rc)
            return aieb_errf(err, AIEB_ENOMEM, "prometheus: out of memory");
        if (ps->s.n == 0) {
            aieb_prom_series_free(&ps->s);
            continue;
        }
        const json_t *m = json_object_get(r, "metric");
        ps->labels = json_is_object(m) ? json_deep_copy(m) : json_object();
        const char *host = json_string_value(json_object_get(m, "Hostname"));
        if (!host || !*host)
            host = json_string_value(json_object_get(m, "instance"));
        snprintf(ps->host, sizeof ps->host, "%s", host && *host ? host : "unknown");
        ps->cpu = cpu;
        p->n++;
    }
    return 0;
}

static int query_range(const aieb_prom_opts *o, const char *metric, const char *sel, double t0,
                       double t1, json_t **data, aieb_err *err)
{
    aieb_buf q;
    aieb_buf_init(&q, 0);
    selector_expr(metric, sel, &q);
    long range = (long)ceil(t1 - t0) + 1;
    aieb_buf_printf(&q, "[%lds]", range);
    int rc = q.data ? prom_query(o, q.data, t1, data, err)
                    : aieb_errf(err, AIEB_ENOMEM, "prometheus: out of memory");
    aieb_buf_free(&q);
    return rc;
}

static int fetch_once(const aieb_prom_opts *o, double t0, double t1, aieb_prom **out, aieb_err *err)
{
    char su[512]; /* the URL as messages show it (no password) */
    aieb_url_redact(o->url, su, sizeof su);
    *out = NULL;
    aieb_prom *p = calloc(1, sizeof *p);
    if (!p)
        return aieb_errf(err, AIEB_ENOMEM, "prometheus: out of memory");
    double a = t0 - MARGIN_S, b = t1 + MARGIN_S;
    json_t *data = NULL;
    int rc = query_range(o, o->gpu_energy_metric, o->selector, a, b, &data, err);
    if (!rc)
        rc = add_matrix(p, data, AIEB_PROM_COUNTER, 1e-3, 0, err); /* mJ -> J */
    json_decref(data);
    data = NULL;
    p->method = "prometheus_counter";
    if (!rc && p->n == 0) {
        p->method = "prometheus_power";
        rc = query_range(o, o->gpu_power_metric, o->selector, a, b, &data, err);
        if (!rc)
            rc = add_matrix(p, data, AIEB_PROM_POWER, 1.0, 0, err);
        json_decref(data);
        data = NULL;
        if (!rc && p->n == 0) {
            aieb_buf s1, s2;
            aieb_buf_init(&s1, 0);
            aieb_buf_init(&s2, 0);
            selector_expr(o->gpu_energy_metric, o->selector, &s1);
            selector_expr(o->gpu_power_metric, o->selector, &s2);
            rc = aieb_errf(err, AIEB_ENOTFOUND,
                           "prometheus at %s: no series for %s nor %s during the run (check the "
                           "selector with `aieb probe --remote %s --selector '...'`)",
                           su, s1.data ? s1.data : "?", s2.data ? s2.data : "?", su);
            aieb_buf_free(&s1);
            aieb_buf_free(&s2);
        }
    }
    if (!rc) {
        double *iv = malloc(p->n * sizeof *iv);
        size_t k = 0;
        for (size_t i = 0; iv && i < p->n; i++) {
            double d = aieb_prom_series_interval(&p->sv[i].s);
            if (!isnan(d))
                iv[k++] = d;
        }
        if (k) {
            qsort(iv, k, sizeof *iv, cmp_double);
            p->resolution_s = k % 2 ? iv[k / 2] : (iv[k / 2 - 1] + iv[k / 2]) / 2;
        } else {
            p->resolution_s = NAN;
        }
        free(iv);
    }
    if (!rc && o->cpu_energy_metric) {
        size_t before = p->n;
        p->has_cpu = 1;
        rc = query_range(o, o->cpu_energy_metric, o->cpu_selector, a, b, &data, err);
        if (!rc)
            rc = add_matrix(p, data, AIEB_PROM_COUNTER, 1.0, 1, err);
        json_decref(data);
        if (!rc && p->n == before)
            add_note(p, "prometheus at %s: no series for the CPU metric %s%s; CPU energy not read",
                     su, o->cpu_energy_metric, o->cpu_selector ? o->cpu_selector : "");
    }
    if (rc) {
        aieb_prom_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Whether GPU series' last samples reach past t1: 2 every one, 1 some, 0 none. */
static int reach(const aieb_prom *p, double t1)
{
    size_t n = 0, past = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->sv[i].cpu)
            continue;
        n++;
        past += p->sv[i].s.t_s[p->sv[i].s.n - 1] >= t1;
    }
    return past == n ? 2 : past ? 1 : 0;
}

int aieb_prom_fetch(const aieb_prom_opts *o, double t0_s, double t1_s, double wait_s,
                    aieb_prom **out, aieb_err *err)
{
    char su[512]; /* the URL as messages show it (no password) */
    aieb_url_redact(o->url, su, sizeof su);
    *out = NULL;
    aieb_prom *p = NULL;
    int64_t start = aieb_now_ns();
    int rc, said = 0;
    /* Prometheus stores a sample only when it next scrapes: ask again until
     * every series has one past the end, or one has and the others had a
     * couple of scrape intervals to follow (a series that vanished never
     * will), or wait_s passed. */
    for (;;) {
        aieb_prom_free(p);
        rc = fetch_once(o, t0_s, t1_s, &p, err);
        if (rc)
            return rc;
        int r = reach(p, t1_s);
        double waited = (double)(aieb_now_ns() - start) / 1e9;
        double res = isnan(p->resolution_s) ? 1.0 : p->resolution_s;
        if (r == 2 || waited >= wait_s || (r == 1 && waited >= 2.5 * res + 1.0))
            break;
        if (!said) {
            AIEB_INFO("prometheus at %s: waiting for the scrape after the run's end (every %.3g s)",
                      su, res);
            said = 1;
        }
        aieb_sleep_ns(250000000, NULL);
    }
    /* What the data say about themselves. */
    for (size_t i = 0; i < p->n; i++) {
        const pseries *ps = &p->sv[i];
        char lab[400];
        labels_text(ps->labels, lab, sizeof lab);
        const char *metric = json_string_value(json_object_get(ps->labels, "__name__"));
        for (int k = 0; k < ps->s.resets; k++)
            add_note(p,
                     "prometheus: %s%s: counter reset at %+.1f s of the run; counted from 0 after "
                     "it (the energy between the sample before and the reset is missed)",
                     metric ? metric : "", lab, ps->s.reset_t_s[k] - t0_s);
        double first = ps->s.t_s[0], last = ps->s.t_s[ps->s.n - 1];
        if (last < t1_s)
            add_note(p,
                     "prometheus: %s%s: no sample after %+.1f s of the run (it ends at %+.1f s): "
                     "the series vanished mid-run; its energy covers only the time before",
                     metric ? metric : "", lab, last - t0_s, t1_s - t0_s);
        if (first > t0_s)
            add_note(p,
                     "prometheus: %s%s: first sample only at %+.1f s of the run: its energy "
                     "covers only the time after",
                     metric ? metric : "", lab, first - t0_s);
    }
    *out = p;
    return 0;
}

const char *aieb_prom_method(const aieb_prom *p)
{
    return p->method;
}

double aieb_prom_resolution_s(const aieb_prom *p)
{
    return p->resolution_s;
}

size_t aieb_prom_n_series(const aieb_prom *p)
{
    return p->n;
}

int aieb_prom_series_is_cpu(const aieb_prom *p, size_t i)
{
    return p->sv[i].cpu;
}

const json_t *aieb_prom_series_labels(const aieb_prom *p, size_t i)
{
    return p->sv[i].labels;
}

const aieb_prom_series *aieb_prom_series_get(const aieb_prom *p, size_t i)
{
    return &p->sv[i].s;
}

const char *aieb_prom_series_host(const aieb_prom *p, size_t i)
{
    return p->sv[i].host;
}

size_t aieb_prom_n_notes(const aieb_prom *p)
{
    return p->n_notes;
}

const char *aieb_prom_note(const aieb_prom *p, size_t i)
{
    return p->notes[i];
}

void aieb_prom_window_energy(const aieb_prom *p, double t0_s, double t1_s, aieb_prom_window *w,
                             double *series_j, double *series_bound_j)
{
    memset(w, 0, sizeof *w);
    w->cpu_j = p->has_cpu ? 0 : NAN;
    w->cpu_bound_j = p->has_cpu ? 0 : NAN;
    for (size_t i = 0; i < p->n; i++) {
        double e, b;
        int covered;
        aieb_prom_series_window(&p->sv[i].s, t0_s, t1_s, &e, &b, &covered);
        if (series_j)
            series_j[i] = e;
        if (series_bound_j)
            series_bound_j[i] = b;
        w->n_uncovered += !covered;
        if (p->sv[i].cpu) {
            w->cpu_j += e;
            w->cpu_bound_j += b;
        } else {
            w->gpu_j += e;
            w->gpu_bound_j += b;
        }
    }
    w->low_resolution = isnan(p->resolution_s) || t1_s - t0_s < 3 * p->resolution_s;
}

/* ==== Probe ================================================================ */

json_t *aieb_prom_probe(const aieb_prom_opts *o, aieb_err *err)
{
    const char *metrics[3] = {o->gpu_energy_metric, o->gpu_power_metric, o->cpu_energy_metric};
    const char *sels[3] = {o->selector, o->selector, o->cpu_selector};
    json_t *out = json_array();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    for (int m = 0; m < 3 && out; m++) {
        if (!metrics[m])
            continue;
        aieb_buf q;
        aieb_buf_init(&q, 0);
        selector_expr(metrics[m], sels[m], &q);
        json_t *data = NULL;
        int rc = q.data ? prom_query(o, q.data, now, &data, err)
                        : aieb_errf(err, AIEB_ENOMEM, "prometheus: out of memory");
        aieb_buf_free(&q);
        if (rc) {
            json_decref(out);
            return NULL;
        }
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(data, "result"), i, r)
        {
            const json_t *val = json_object_get(r, "value");
            const char *s = json_string_value(json_array_get(val, 1));
            json_t *e = json_object();
            json_object_set_new(e, "metric", json_string(metrics[m]));
            json_object_set(e, "labels", json_object_get(r, "metric"));
            json_object_set_new(e, "value",
                                s && isfinite(strtod(s, NULL)) ? json_real(strtod(s, NULL))
                                                               : json_null());
            json_object_set_new(e, "timestamp",
                                json_real(json_number_value(json_array_get(val, 0))));
            json_array_append_new(out, e);
        }
        json_decref(data);
    }
    if (!out)
        aieb_errf(err, AIEB_ENOMEM, "prometheus: out of memory");
    return out;
}

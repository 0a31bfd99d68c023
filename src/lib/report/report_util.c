/* report_util.c - helpers shared by the report writers (report_internal.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "report/report_internal.h"

/* ==== summary.json ========================================================= */

json_t *rj_get(json_t *o, const char *path)
{
    char key[128];
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key || !json_is_object(o))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = json_object_get(o, key);
        path += n + (dot ? 1 : 0);
    }
    return o;
}

double rj_num(json_t *o, const char *path)
{
    json_t *v = rj_get(o, path);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *rj_str(json_t *o, const char *path)
{
    return json_string_value(rj_get(o, path));
}

int rj_bool(json_t *o, const char *path)
{
    json_t *v = rj_get(o, path);
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

double rj_energy_j(json_t *energy_j, const char *primary, int all_domains)
{
    static const char *const domains[] = {"gpu", "cpu", "dram", "ram"};
    int want_gpu = all_domains || !primary || strcmp(primary, "gpu") == 0;
    int want_rest = all_domains || (primary && strcmp(primary, "gpu") != 0);
    double sum = 0;
    int any = 0;
    for (int d = 0; d < 4; d++) {
        if ((d == 0 && !want_gpu) || (d > 0 && !want_rest))
            continue;
        json_t *v = json_object_get(energy_j, domains[d]);
        if (json_is_number(v)) {
            sum += json_number_value(v);
            any = 1;
        }
    }
    return any ? sum : NAN;
}

/* ==== Numbers ============================================================== */

const char *fmt_sig(char *buf, size_t size, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "%s", REPORT_NA);
        return buf;
    }
    double a = fabs(v);
    if (a < 1e-9) {
        snprintf(buf, size, "0");
        return buf;
    }
    int decimals = 3 - (int)floor(log10(a));
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    snprintf(buf, size, "%.*f", decimals, v);
    return buf;
}

const char *fmt_fix(char *buf, size_t size, double v, int decimals)
{
    if (!isfinite(v))
        snprintf(buf, size, "%s", REPORT_NA);
    else
        snprintf(buf, size, "%.*f", decimals, fabs(v) < 0.5 * pow(10, -decimals) ? 0.0 : v);
    return buf;
}

const char *fmt_signed(char *buf, size_t size, double v)
{
    char tmp[48];
    fmt_sig(tmp, sizeof tmp, v);
    snprintf(buf, size, "%s%s", isfinite(v) && v > 0 && strcmp(tmp, "0") != 0 ? "+" : "", tmp);
    return buf;
}

/* ==== Timeseries =========================================================== */

size_t ts_lower_bound(const aieb_timeseries *ts, double t)
{
    size_t lo = 0, hi = ts->n_rows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (aieb_timeseries_at(ts, mid, ts->t_col) < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

double ts_interp(const aieb_timeseries *ts, int col, double t)
{
    if (!ts->n_rows || col < 0 || ts->t_col < 0)
        return NAN;
    size_t i = ts_lower_bound(ts, t);
    if (i == 0)
        return aieb_timeseries_at(ts, 0, col);
    if (i == ts->n_rows)
        return aieb_timeseries_at(ts, ts->n_rows - 1, col);
    double t0 = aieb_timeseries_at(ts, i - 1, ts->t_col), t1 = aieb_timeseries_at(ts, i, ts->t_col);
    double v0 = aieb_timeseries_at(ts, i - 1, col), v1 = aieb_timeseries_at(ts, i, col);
    if (!(t1 > t0))
        return v1;
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0);
}

/* ==== Markdown writer ====================================================== */

void md_printf(md *m, const char *fmt, ...)
{
    if (m->rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    m->rc = aieb_buf_vprintf(m->b, fmt, ap);
    va_end(ap);
}

void md_cell(md *m, const char *s)
{
    if (!s)
        s = REPORT_NA;
    for (; *s && !m->rc; s++) {
        if (*s == '|')
            m->rc = aieb_buf_puts(m->b, "\\|");
        else if (*s == '\n' || *s == '\r')
            m->rc = aieb_buf_puts(m->b, " ");
        else
            m->rc = aieb_buf_append(m->b, s, 1);
    }
}

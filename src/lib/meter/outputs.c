/* outputs.c - the meter's outputs: its summary and health as JSON, what the
 * sources found (for `aieb probe`), and the timeline as CSV. The figures
 * themselves come from window.c and uncertainty.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "aieb/clock.h"
#include "aieb/fileio.h"
#include "meter/meter_internal.h"

#define J_PER_WH 3600.0

/* ==== JSON ================================================================= */

/* A number, or null for NAN/inf (JSON has no NaN). */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *aieb_meter_quality_json(const aieb_meter_quality *q)
{
    return json_pack("{s:i, s:I, s:{s:o, s:o, s:o}, s:I, s:I, s:{s:o, s:o}, s:I, s:I, s:I, s:i, "
                     "s:b}",
                     "sample_interval_ms", q->interval_ms, "ticks", (json_int_t)q->ticks, "late_ms",
                     "median", num(q->late_median_ms), "p95", num(q->late_p95_ms), "max",
                     num(q->late_max_ms), "late_over_half_interval", (json_int_t)q->late_over_half,
                     "reads", (json_int_t)q->reads, "read_ms", "median", num(q->read_median_ms),
                     "max", num(q->read_max_ms), "missed_ticks", (json_int_t)q->missed_ticks,
                     "dropped_samples", (json_int_t)q->dropped_samples, "restamped_samples",
                     (json_int_t)q->restamped_samples, "decimation", q->decimation, "late_warning",
                     q->late_warning);
}

json_t *aieb_meter_summary_json(const aieb_meter_summary *s)
{
    const aieb_window *w = &s->window;
    json_t *root = json_object(), *energy = json_object(), *methods = json_object();
    json_t *power = json_object(), *net = s->has_baseline ? json_object() : json_null();
    json_t *gpus = json_array(), *chans = json_array();
    if (!root || !energy || !methods || !power || !net || !gpus || !chans) {
        json_decref(root), json_decref(energy), json_decref(methods), json_decref(power);
        json_decref(net), json_decref(gpus), json_decref(chans);
        return NULL;
    }
    json_object_set_new(root, "duration_s", json_real(w->duration_s));
    json_object_set_new(root, "t_start_ns", json_integer(w->t0_ns));
    json_object_set_new(root, "t_end_ns", json_integer(w->t1_ns));
    json_object_set_new(root, "n_samples", json_integer(s->n_samples));
    for (int d = 0; d < AIEB_N_DOMAINS; d++) {
        const char *dn = aieb_domain_name((aieb_domain)d);
        char key[32];
        double e = w->energy_j[d];
        if (d == AIEB_DOMAIN_RAM && !s->has_domain[d])
            e = s->ram_estimate_j; /* the estimate beside measured DRAM */
        int present = s->has_domain[d] || (d == AIEB_DOMAIN_RAM && isfinite(e));
        snprintf(key, sizeof key, "%s_j", dn);
        json_object_set_new(energy, key, present ? num(e) : json_null());
        snprintf(key, sizeof key, "%s_wh", dn);
        json_object_set_new(energy, key, present ? num(e / J_PER_WH) : json_null());
        snprintf(key, sizeof key, "%s_uncertainty_j", dn);
        json_object_set_new(energy, key, s->has_domain[d] ? num(w->uncertainty_j[d]) : json_null());
        if (s->has_baseline) {
            snprintf(key, sizeof key, "%s_j", dn);
            json_object_set_new(net, key, s->has_domain[d] ? num(w->net_energy_j[d]) : json_null());
            snprintf(key, sizeof key, "%s_uncertainty_j", dn);
            json_object_set_new(net, key,
                                s->has_domain[d] ? num(w->net_uncertainty_j[d]) : json_null());
        }
        json_object_set_new(methods, dn, str_or_null(s->method[d]));
        json_object_set_new(power, dn,
                            s->has_domain[d]
                                ? json_pack("{s:o, s:o}", "avg_w", num(s->avg_power_w[d]), "peak_w",
                                            num(s->peak_power_w[d]))
                                : json_null());
    }
    json_object_set_new(energy, "total_j", json_real(w->total_j));
    json_object_set_new(energy, "total_wh", json_real(w->total_j / J_PER_WH));
    json_object_set_new(energy, "total_uncertainty_j", num(w->total_uncertainty_j));
    json_object_set_new(energy, "ram_in_total", json_boolean(s->has_domain[AIEB_DOMAIN_RAM]));
    json_object_set_new(energy, "facility_total_j", json_real(w->total_j * s->pue));
    if (s->has_baseline) {
        json_object_set_new(net, "total_j", num(w->net_total_j));
        json_object_set_new(net, "total_wh", num(w->net_total_j / J_PER_WH));
        json_object_set_new(net, "total_uncertainty_j", num(w->net_total_uncertainty_j));
    }
    json_object_set_new(energy, "net", net);
    for (int c = 0; c < s->n_channels; c++) {
        const aieb_meter_channel_summary *cs = &s->channels[c];
        const aieb_channel_info *in = cs->info;
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:b, s:b}", "label", in->label,
            "domain", aieb_domain_name(in->domain), "method", in->method, "energy_j",
            num(cs->energy_j), "net_energy_j", num(cs->net_energy_j), "avg_power_w",
            num(cs->avg_power_w), "peak_power_w", num(cs->peak_power_w), "idle_power_w",
            num(cs->idle_power_w), "calibration", num(cs->calibration), "update_period_s",
            cs->period_s, "short_window", cs->short_window, "informational", in->informational);
        json_object_set_new(o, "uncertainty_j", num(cs->uncertainty_j));
        if (in->domain == AIEB_DOMAIN_GPU) {
            json_t *g = json_pack(
                "{s:i, s:s?, s:s?, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:f, s:o, "
                "s:o, s:b}",
                "index", in->gpu_index, "name", in->name, "uuid", in->uuid, "method", in->method,
                "energy_j", num(cs->energy_j), "net_energy_j", num(cs->net_energy_j), "avg_power_w",
                num(cs->avg_power_w), "peak_power_w", num(cs->peak_power_w), "idle_power_w",
                num(cs->idle_power_w), "mem_start_mb", num(cs->mem_start_mb), "mem_min_mb",
                num(cs->mem_min_mb), "mem_max_mb", num(cs->mem_max_mb), "mem_total_mb",
                in->mem_total_mb, "power_limit_w", in->power_limit_w, "util_avg_pct",
                num(cs->util_avg_pct), "calibration", num(cs->calibration), "short_window",
                cs->short_window);
            if (g) {
                json_object_set_new(g, "used", cs->used < 0 ? json_null() : json_boolean(cs->used));
                json_object_set_new(g, "uncertainty_j", num(cs->uncertainty_j));
            }
            json_array_append_new(gpus, g);
        }
        json_array_append_new(chans, o);
    }
    json_object_set_new(root, "energy", energy);
    json_object_set_new(root, "methods", methods);
    json_object_set_new(root, "power", power);
    json_object_set_new(root, "gpus", gpus);
    json_object_set_new(root, "channels", chans);
    json_object_set_new(root, "short_window", json_boolean(w->short_window));
    json_object_set_new(root, "quality", aieb_meter_quality_json(&s->quality));
    json_object_set_new(root, "pue", json_real(s->pue));
    json_object_set_new(root, "baseline",
                        s->has_baseline ? json_pack("{s:f, s:I, s:I}", "duration_s", s->baseline_s,
                                                    "t_start_ns", (json_int_t)s->baseline_t0_ns,
                                                    "t_end_ns", (json_int_t)s->baseline_t1_ns)
                                        : json_null());
    return root;
}

json_t *aieb_meter_describe(const aieb_meter *m)
{
    json_t *srcs = json_array(), *chans = json_array(), *notes = json_array();
    for (int i = 0; i < m->n_src; i++) {
        aieb_source *s = m->src[i];
        json_t *d = s->describe ? s->describe(s) : NULL;
        json_array_append_new(srcs, d ? d : json_pack("{s:s}", "source", s->name));
    }
    for (int c = 0; c < m->n_ch; c++) {
        const aieb_channel_info *in = m->ch[c].info;
        json_array_append_new(chans, json_pack("{s:s, s:s, s:s, s:b, s:b, s:f, s:b}", "label",
                                               in->label, "domain", aieb_domain_name(in->domain),
                                               "method", in->method, "counter", in->has_counter,
                                               "power", in->has_power, "counter_period_s",
                                               aieb_ns_to_s(in->counter_period_ns), "informational",
                                               in->informational));
    }
    for (int i = 0; i < m->n_notes; i++)
        json_array_append_new(notes, json_string(m->notes[i]));
    return json_pack("{s:o, s:o, s:o, s:i}", "sources", srcs, "channels", chans, "notes", notes,
                     "sample_interval_ms", m->interval_ms);
}

/* ==== Timeline CSV ========================================================= */

static void cell(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.9g", v);
    else
        fputc(',', f);
}

int aieb_meter_write_timeline_csv(const aieb_meter *m, const char *path, aieb_err *err)
{
    if (m->state != ST_FINISHED)
        return aieb_errf(err, AIEB_EINVAL, "meter: the timeline needs a stopped meter");
    aieb_atomic_file af;
    int rc = aieb_atomic_open(&af, path, err);
    if (rc)
        return rc;
    FILE *f = af.f;
    fputs("t_ns,t_s", f);
    for (int c = 0; c < m->n_ch; c++) {
        const char *l = m->ch[c].info->label;
        fprintf(f, ",%s_energy_j,%s_energy_uncertainty_j,%s_power_w", l, l, l);
        if (m->ch[c].info->domain == AIEB_DOMAIN_GPU)
            fprintf(f, ",%s_mem_used_mb,%s_util_pct,%s_temp_c,%s_sm_clock_mhz", l, l, l, l);
    }
    fputc('\n', f);
    for (size_t i = 0; i <= m->stop_row && i < m->n_rows; i++) {
        const row *r = meter_row(m, i);
        fprintf(f, "%lld,%.6f", (long long)r->t_ns, aieb_ns_to_s(r->t_ns - m->t_start));
        for (int c = 0; c < m->n_ch; c++) {
            const slot *s = &r->s[c];
            cell(f, meter_energy_at(m, c, r->t_ns));
            cell(f, meter_cumulative_uncertainty(m, c, i));
            cell(f, s->power_w);
            if (m->ch[c].info->domain == AIEB_DOMAIN_GPU) {
                cell(f, s->mem_used_mb);
                cell(f, s->util_pct);
                cell(f, s->temp_c);
                cell(f, s->sm_clock_mhz);
            }
        }
        fputc('\n', f);
    }
    return aieb_atomic_commit(&af, err);
}

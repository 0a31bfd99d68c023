/* report_md_remote.c - report.md's "Where the energy was measured": the
 * Prometheus servers of metrics.remote (summary.json energy.remote), their
 * hosts, GPUs, scrape interval and what the data said about themselves. */
#include <math.h>
#include <string.h>

#include "report/report_internal.h"
#include "report/report_md.h"

static void host_list(ctx *c, json_t *hosts)
{
    size_t i, shown = 0;
    json_t *h;
    json_array_foreach(hosts, i, h)
    {
        double gpus = rj_num(h, "gpus");
        if (!(gpus > 0))
            continue;
        P("%s", shown++ ? ", " : "");
        md_cell(&c->m, rj_str(h, "host"));
        P(" (%s GPU%s)", F(gpus, 0), gpus == 1 ? "" : "s");
    }
    if (!shown)
        P("no host");
}

void md_remote(ctx *c)
{
    json_t *r = rj_get(c->s, "energy.remote");
    if (!r)
        return;
    P("## Where the energy was measured\n\n");
    const char *url = rj_str(r, "source.url"), *sel = rj_str(r, "source.selector");
    const char *error = rj_str(r, "error");
    if (error) {
        P("**Remote energy unavailable.** metrics.remote names Prometheus at ");
        md_cell(&c->m, url);
        P(", but: ");
        md_cell(&c->m, error);
        P(". No remote figure is reported (never a zero in its place); the energy above is "
          "this machine's, measured locally.\n\n");
        return;
    }
    int primary = rj_bool(r, "primary") == 1;
    P("GPU energy read from Prometheus at ");
    md_cell(&c->m, url);
    P(", selector `");
    md_cell(&c->m, sel);
    P("`, method %s, scrape interval %s s: ", rj_str(r, "method") ? rj_str(r, "method") : "?",
      S(rj_num(r, "resolution_s")));
    host_list(c, json_object_get(r, "hosts"));
    P(". %s\n\n", primary ? "It is this run's GPU energy (energy.primary remote_gpu); CPU and RAM "
                            "are this machine's, measured locally."
                          : "A GPU on this machine was in use, so the run's GPU energy is the "
                            "local one; the remote figures are shown beside it.");
    P("| Window | Duration (s) | Remote GPU energy (J) | Bound (J) | Resolution |\n"
      "|---|---|---|---|---|\n");
    static const char *const phases[] = {"idle_baseline", "model_load", "warmup", "workload",
                                         "cleanup"};
    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
        json_t *ph = rj_get(r, "phases");
        json_t *w = json_object_get(ph, phases[i]);
        if (!w)
            continue;
        P("| %s | %s | %s | ±%s | %s |\n", phases[i], S(rj_num(w, "duration_s")),
          S(rj_num(w, "energy_j")), S(rj_num(w, "uncertainty_j")),
          rj_bool(w, "low_resolution") == 1 ? "low (under 3 scrape intervals)" : "ok");
    }
    double cpu = rj_num(r, "cpu_j");
    if (!isnan(cpu))
        P("\nRemote CPU energy over the workload: %s J (±%s J).\n", S(cpu),
          S(rj_num(r, "cpu_uncertainty_j")));
    P("\nEach window's energy is the counter interpolated at its edges between the samples on "
      "either side; the bound is how far the edges could be off (docs/methodology.md, \"Remote "
      "and cluster energy\").\n\n");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(r, "notes"), i, n)
    {
        P("- ");
        md_cell(&c->m, json_string_value(n));
        P("\n");
    }
    if (json_array_size(json_object_get(r, "notes")))
        P("\n");
}

/* dcgm_server.c - a stand-in for dcgm-exporter (and node_exporter's RAPL
 * counter) on loopback, for Prometheus to scrape in the tests.
 *
 * Usage: dcgm_server [--port N] [--hosts H] [--gpus G] [--no-counter]
 *                    [--control-dir DIR] [--name-prefix P]
 *   --port N         0 (default) picks a free port; the first stdout line is "PORT <n>"
 *   --hosts, --gpus  H hosts x G GPUs (default 2 x 2), each a series labelled as
 *                    dcgm-exporter labels it (gpu, UUID, device, modelName, Hostname)
 *   --no-counter     serve only the power gauge (no energy counter)
 *   --control-dir D  when D/reset exists, GPU 0 of host 0's counter restarts from 0
 *                    (at the first scrape that sees the file); when D/vanish exists,
 *                    the last GPU of the last host is no longer served
 *   --name-prefix P  Hostname labels are P0, P1, ... (default gpu-node-)
 *
 * GPU g of host h draws a constant (100 x (1 + h x G + g)) W; its energy
 * counter (DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, mJ) is that power times the
 * CLOCK_REALTIME seconds since the server started (plus 1e6 mJ "since boot"),
 * computed when the scrape arrives, so the exact energy of any window is power
 * x its length. Each host's CPU package draws 50 W
 * (node_rapl_package_joules_total, J). Metric names, units and labels follow
 * dcgm-exporter's default counters (github.com/NVIDIA/dcgm-exporter,
 * etc/default-counters.csv) and node_exporter's rapl collector.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct server {
    int hosts, gpus, no_counter;
    const char *control_dir;
    const char *prefix;
    double start_s;
    double reset_s; /* 0 until the reset file is seen */
    pthread_mutex_t mu;
} server;

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int control(const server *s, const char *name)
{
    if (!s->control_dir)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s->control_dir, name);
    struct stat st;
    return stat(path, &st) == 0;
}

static size_t append(char *buf, size_t len, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t append(char *buf, size_t len, size_t cap, const char *fmt, ...)
{
    if (len >= cap)
        return len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    return n > 0 ? len + (size_t)n : len;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload, (void)upload_size, (void)con_cls;
    server *s = cls;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(9, (void *)"not found", MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, r);
        MHD_destroy_response(r);
        return ret;
    }
    double now = wall_s();
    pthread_mutex_lock(&s->mu);
    if (!s->reset_s && control(s, "reset"))
        s->reset_s = now;
    double reset_s = s->reset_s;
    pthread_mutex_unlock(&s->mu);
    int vanish = control(s, "vanish");

    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return MHD_NO;
    static const char *const names[2] = {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
                                         "DCGM_FI_DEV_POWER_USAGE"};
    static const char *const help[2] = {"Total energy consumption since boot (in mJ).",
                                        "Power draw (in W)."};
    for (int m = s->no_counter ? 1 : 0; m < 2; m++) {
        len = append(buf, len, cap, "# HELP %s %s\n# TYPE %s %s\n", names[m], help[m], names[m],
                     m == 0 ? "counter" : "gauge");
        for (int h = 0; h < s->hosts; h++)
            for (int g = 0; g < s->gpus; g++) {
                if (vanish && h == s->hosts - 1 && g == s->gpus - 1)
                    continue;
                double power_w = 100.0 * (1 + h * s->gpus + g);
                double since = h == 0 && g == 0 && reset_s ? reset_s : s->start_s - 1e3 / power_w;
                double value = m == 0 ? power_w * (now - since) * 1e3 : power_w;
                len = append(buf, len, cap,
                             "%s{gpu=\"%d\",UUID=\"GPU-%04d-%04d\",device=\"nvidia%d\","
                             "modelName=\"Fake H100\",Hostname=\"%s%d\"} %.3f\n",
                             names[m], g, h, g, g, s->prefix, h, value);
            }
    }
    len = append(buf, len, cap,
                 "# HELP node_rapl_package_joules_total Current RAPL package value in joules\n"
                 "# TYPE node_rapl_package_joules_total counter\n");
    for (int h = 0; h < s->hosts; h++)
        len = append(buf, len, cap,
                     "node_rapl_package_joules_total{index=\"%d\",path=\"%s%d\"} %.6f\n", h,
                     s->prefix, h, 50.0 * (now - s->start_s) + 1000.0);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

int main(int argc, char **argv)
{
    server s = {.hosts = 2, .gpus = 2, .prefix = "gpu-node-"};
    pthread_mutex_init(&s.mu, NULL);
    int port = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--no-counter") == 0) {
            s.no_counter = 1;
            continue;
        }
        if (!val) {
            fprintf(stderr, "dcgm_server: %s needs a value\n", o);
            return 2;
        }
        i++;
        if (strcmp(o, "--port") == 0)
            port = atoi(val);
        else if (strcmp(o, "--hosts") == 0)
            s.hosts = atoi(val);
        else if (strcmp(o, "--gpus") == 0)
            s.gpus = atoi(val);
        else if (strcmp(o, "--control-dir") == 0)
            s.control_dir = val;
        else if (strcmp(o, "--name-prefix") == 0)
            s.prefix = val;
        else {
            fprintf(stderr, "dcgm_server: unknown option %s\n", o);
            return 2;
        }
    }
    if (s.hosts < 1 || s.gpus < 1 || s.hosts * s.gpus > 64) {
        fprintf(stderr, "dcgm_server: --hosts x --gpus must be 1..64\n");
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    s.start_s = wall_s();

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
        NULL, handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "dcgm_server: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("PORT %u\n", info ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}

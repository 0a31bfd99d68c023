/* pytorch.c - the `pytorch` backend's life cycle: finding and starting the
 * worker, its handshake, loading, info and closing (pytorch.h). Requests are in
 * pytorch_run.c, the process plumbing in pytorch_proc.c. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/buf.h"
#include "aieb/clock.h"
#include "aieb/log.h"
#include "backend/pytorch_internal.h"

#define INSTALL_HINT_TORCH                                                                         \
    "install it: apt-get install python3-torch (Debian) or pip install torch transformers, or "    \
    "set backend.python to a Python that has it"
#define INSTALL_HINT_TRANSFORMERS                                                                  \
    "install it: pip install torch transformers (or use model torch-tiny: for a torch-only check)"

/* ==== Finding the worker =================================================== */

static int readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/* The source tree this file was compiled from: __FILE__ is absolute under CMake. */
static int source_tree_worker(char *buf, size_t size)
{
    static const char tail[] = "src/lib/backend/pytorch.c";
    const char *f = __FILE__;
    size_t n = strlen(f), t = sizeof tail - 1;
    if (f[0] != '/' || n < t || strcmp(f + n - t, tail) != 0)
        return 0;
    snprintf(buf, size, "%.*spython/%s", (int)(n - t), f, AIEB_TORCH_WORKER_NAME);
    return 1;
}

int aieb_pytorch_find_worker(char *buf, size_t size, aieb_err *err)
{
    const char *env = getenv(AIEB_TORCH_WORKER_ENV);
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        if (readable(buf))
            return 0;
        return aieb_errf(err, AIEB_EENV, "%s=%s: no such readable file", AIEB_TORCH_WORKER_ENV,
                         env);
    }
    char exe[PATH_MAX], tried[3][PATH_MAX + 64];
    int n_tried = 0;
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = NULL;
    if (len > 0) {
        exe[len] = '\0';
        slash = strrchr(exe, '/');
    }
    if (slash) {
        *slash = '\0'; /* exe is now the program's directory */
        snprintf(tried[n_tried], sizeof tried[0], "%s/../share/aieb/%s", exe,
                 AIEB_TORCH_WORKER_NAME);
        if (readable(tried[n_tried++]))
            goto found;
    }
    if (source_tree_worker(tried[n_tried], sizeof tried[0]) && readable(tried[n_tried++]))
        goto found;
    if (slash) {
        snprintf(tried[n_tried], sizeof tried[0], "%s/../python/%s", exe, AIEB_TORCH_WORKER_NAME);
        if (readable(tried[n_tried++]))
            goto found;
    }
    aieb_buf list;
    aieb_buf_init(&list, 0);
    for (int i = 0; i < n_tried; i++)
        aieb_buf_printf(&list, "%s%s", i ? ", " : "", tried[i]);
    aieb_errf(err, AIEB_EENV,
              "the PyTorch worker %s was not found (tried %s); install aieb (it goes to "
              "<prefix>/share/aieb/) or set %s to its path",
              AIEB_TORCH_WORKER_NAME, list.data ? list.data : "nothing", AIEB_TORCH_WORKER_ENV);
    aieb_buf_free(&list);
    return AIEB_EENV;
found:;
    /* Resolve "..": the path is shown in reports. */
    char real[PATH_MAX];
    const char *p = realpath(tried[n_tried - 1], real) ? real : tried[n_tried - 1];
    if (strlen(p) >= size)
        return aieb_errf(err, AIEB_ETOOBIG, "worker path too long: %s", p);
    snprintf(buf, size, "%s", p);
    return 0;
}

/* ==== Shared helpers ======================================================= */

void tb_append_stderr(torch_backend *t, aieb_buf *out, size_t max_lines)
{
    if (!t->proc.err_count)
        return;
    aieb_buf_puts(out, "; last stderr lines: ");
    wproc_stderr_tail(&t->proc, max_lines, 160, out);
}

void tb_mark_dead(torch_backend *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->dead_msg, sizeof t->dead_msg, fmt, ap);
    va_end(ap);
    t->dead = 1;
    t->loaded = 0;
    wproc_kill(&t->proc);
}

/* An error message: prefix, then the worker's last stderr lines. */
static int fail_with_stderr(torch_backend *t, aieb_err *err, int code, size_t lines,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail_with_stderr(torch_backend *t, aieb_err *err, int code, size_t lines,
                            const char *fmt, ...)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    va_list ap;
    va_start(ap, fmt);
    aieb_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    tb_append_stderr(t, &b, lines);
    aieb_errf(err, code, "%s", b.data ? b.data : "pytorch worker failed");
    aieb_buf_free(&b);
    return code;
}

static int send_json(torch_backend *t, json_t *msg, int64_t deadline_ns, aieb_err *err)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    if (!s)
        return aieb_errf(err, AIEB_ENOMEM, "pytorch: cannot format a message");
    size_t n = strlen(s);
    s[n] = '\n'; /* json_dumps' NUL becomes the line end; written by length */
    int rc = wproc_write(&t->proc, s, n + 1, deadline_ns, NULL, err);
    free(s);
    return rc;
}

int tb_call(torch_backend *t, json_t *msg, int64_t deadline_ns, json_t **reply, aieb_err *err)
{
    *reply = NULL;
    if (t->dead)
        return aieb_errf(err, AIEB_EIO, "%s", t->dead_msg);
    long long id = ++t->next_id;
    json_object_set_new(msg, "id", json_integer(id));
    const char *op = json_string_value(json_object_get(msg, "op"));
    int rc = send_json(t, msg, deadline_ns, err);
    while (!rc) {
        char *line;
        rc = wproc_read_line(&t->proc, deadline_ns, NULL, &line, err);
        if (rc)
            break;
        json_error_t je;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(o)) {
            json_decref(o);
            char head[81];
            snprintf(head, sizeof head, "%s", line);
            tb_mark_dead(t,
                         "the pytorch worker sent a line that is not a JSON object (\"%s\") "
                         "and was stopped",
                         head);
            return fail_with_stderr(t, err, AIEB_EIO, 4, "%s", t->dead_msg);
        }
        json_t *rid = json_object_get(o, "id");
        /* id null: the worker could not read our line; it is the answer. */
        if ((json_is_integer(rid) && json_integer_value(rid) == id) || json_is_null(rid)) {
            *reply = o;
            return 0;
        }
        AIEB_DEBUG("pytorch: skipping a worker line that answers no pending call");
        json_decref(o);
    }
    if (rc == AIEB_ETIMEOUT)
        tb_mark_dead(t, "the pytorch worker did not answer '%s' in time and was stopped",
                     op ? op : "?");
    else
        tb_mark_dead(t, "the pytorch worker was lost during '%s': %s", op ? op : "?", err->msg);
    return fail_with_stderr(t, err, rc, 6, "%s", t->dead_msg);
}

/* ==== Starting the worker and its handshake ================================ */

static const char *hs_str(const torch_backend *t, const char *key)
{
    return json_string_value(json_object_get(t->handshake, key));
}

static int check_handshake(torch_backend *t, int64_t t_spawn, int64_t t_recv, aieb_err *err)
{
    const char *py = hs_str(t, "python_executable");
    py = py ? py : t->python;
    json_t *proto = json_object_get(t->handshake, "protocol");
    if (!json_is_integer(proto) || json_integer_value(proto) != 1)
        return aieb_errf(err, AIEB_EENV,
                         "pytorch: %s speaks protocol %s, this aieb speaks 1; use the worker "
                         "installed with this aieb",
                         t->worker_path, json_is_integer(proto) ? "another" : "none");
    json_t *mono = json_object_get(t->handshake, "monotonic_ns");
    if (!json_is_integer(mono))
        return aieb_errf(err, AIEB_EENV, "pytorch: the worker's handshake has no clock reading");
    int64_t w = (int64_t)json_integer_value(mono);
    if (w < t_spawn || w > t_recv)
        return aieb_errf(err, AIEB_EENV,
                         "pytorch: the worker's time.monotonic() (%.3f s) is not between aieb's "
                         "CLOCK_MONOTONIC readings around it (%.3f..%.3f s): its token times "
                         "would not line up with the energy timeline (different clock or time "
                         "namespace?)",
                         (double)w / 1e9, (double)t_spawn / 1e9, (double)t_recv / 1e9);
    if (!hs_str(t, "torch")) {
        const char *why = hs_str(t, "torch_error");
        return aieb_errf(err, AIEB_EENV,
                         "pytorch: %s cannot import torch (%s); " INSTALL_HINT_TORCH, py,
                         why ? why : "unknown error");
    }
    int tiny = strncmp(t->model, "torch-tiny:", 11) == 0;
    if (!tiny && !hs_str(t, "transformers")) {
        const char *why = hs_str(t, "transformers_error");
        return aieb_errf(err, AIEB_EENV,
                         "pytorch: %s has torch %s but cannot import transformers (%s), which "
                         "model '%s' needs; " INSTALL_HINT_TRANSFORMERS,
                         py, hs_str(t, "torch"), why ? why : "unknown error", t->model);
    }
    if (strncmp(t->device, "cuda", 4) == 0 &&
        !json_is_true(json_object_get(t->handshake, "cuda_available"))) {
        const char *cvd = hs_str(t, "cuda_visible_devices");
        const char *cuda = hs_str(t, "cuda");
        return aieb_errf(err, AIEB_EENV,
                         "pytorch: backend.device is '%s' but torch %s (CUDA %s) in %s sees no "
                         "GPU (CUDA_VISIBLE_DEVICES=%s); set backend.device: cpu, or use a CUDA "
                         "build of torch on a machine with a GPU",
                         t->device, hs_str(t, "torch"), cuda ? cuda : "none", py,
                         cvd ? cvd : "unset");
    }
    return 0;
}

static int start_worker(torch_backend *t, const volatile sig_atomic_t *stop, aieb_err *err)
{
    if (t->started)
        return 0;
    if (t->dead)
        return aieb_errf(err, AIEB_EENV, "%s", t->dead_msg);
    int rc = 0;
    if (t->worker)
        snprintf(t->worker_path, sizeof t->worker_path, "%s", t->worker);
    else
        rc = aieb_pytorch_find_worker(t->worker_path, sizeof t->worker_path, err);
    if (rc)
        return aieb_err_prefix(err, "pytorch");
    if (!readable(t->worker_path))
        return aieb_errf(err, AIEB_EENV, "pytorch: worker %s: no such readable file",
                         t->worker_path);

    char cvd[512];
    const char *env[6];
    size_t n_env = 0;
    env[n_env++] = "PYTHONUNBUFFERED=1";
    env[n_env++] = "PYTHONIOENCODING=utf-8";
    env[n_env++] = "PYTHONDONTWRITEBYTECODE=1"; /* no __pycache__ next to the worker */
    if (!getenv("TOKENIZERS_PARALLELISM"))
        env[n_env++] = "TOKENIZERS_PARALLELISM=false";
    if (t->cuda_visible) {
        snprintf(cvd, sizeof cvd, "CUDA_VISIBLE_DEVICES=%s", t->cuda_visible);
        env[n_env++] = cvd;
    }
    char *argv[] = {t->python, "-u", t->worker_path, NULL};
    int64_t t_spawn = aieb_now_ns();
    rc = wproc_spawn(&t->proc, argv, env, n_env, err);
    if (rc == AIEB_EENV) {
        char why[AIEB_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        return aieb_errf(err, AIEB_EENV,
                         "pytorch: backend.python %s; install Python 3 (apt-get install python3) "
                         "or set backend.python to an interpreter",
                         why);
    }
    if (rc)
        return aieb_err_prefix(err, "pytorch");
    AIEB_DEBUG("pytorch: started %s %s (pid %d)", t->python, t->worker_path, (int)t->proc.pid);

    char *line = NULL;
    rc = wproc_read_line(&t->proc, t_spawn + t->startup_timeout_ns, stop, &line, err);
    int64_t t_recv = aieb_now_ns();
    if (rc) {
        char msg[AIEB_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        wproc_kill(&t->proc);
        if (rc == AIEB_EINTR)
            return aieb_errf(err, AIEB_EINTR, "pytorch: interrupted while the worker started");
        if (rc == AIEB_ETIMEOUT)
            return fail_with_stderr(t, err, AIEB_EENV, 6,
                                    "pytorch: the worker (%s %s) did not start within %.1f s "
                                    "(backend.startup_timeout_s)",
                                    t->python, t->worker_path, (double)t->startup_timeout_ns / 1e9);
        return fail_with_stderr(t, err, AIEB_EENV, 6,
                                "pytorch: the worker (%s %s) ended before its handshake: %s",
                                t->python, t->worker_path, msg);
    }
    json_error_t je;
    t->handshake = json_loads(line, 0, &je);
    if (!json_is_object(t->handshake) || !json_is_string(json_object_get(t->handshake, "event")) ||
        strcmp(json_string_value(json_object_get(t->handshake, "event")), "handshake") != 0) {
        char head[81];
        snprintf(head, sizeof head, "%s", line);
        json_decref(t->handshake);
        t->handshake = NULL;
        wproc_kill(&t->proc);
        return fail_with_stderr(t, err, AIEB_EENV, 4,
                                "pytorch: %s is not an aieb worker: its first line is not a "
                                "handshake (\"%s\")",
                                t->worker_path, head);
    }
    rc = check_handshake(t, t_spawn, t_recv, err);
    if (rc) {
        wproc_finish(&t->proc, aieb_now_ns() + 2 * AIEB_NS_PER_S);
        return rc;
    }
    t->started = 1;
    const char *tf = hs_str(t, "transformers");
    AIEB_INFO("pytorch: worker %s ready in %.1f s (python %s, torch %s, transformers %s, CUDA %s, "
              "%lld GPU(s))",
              t->worker_path, (double)(t_recv - t_spawn) / 1e9, hs_str(t, "python"),
              hs_str(t, "torch"), tf ? tf : "none", hs_str(t, "cuda") ? hs_str(t, "cuda") : "none",
              (long long)json_integer_value(json_object_get(t->handshake, "cuda_device_count")));
    return 0;
}

static int tb_health(aieb_backend *b, const volatile sig_atomic_t *stop, aieb_err *err)
{
    return start_worker(b->ctx, stop, err);
}

/* ==== Loading ============================================================== */

static int kind_code(const char *kind)
{
    if (kind && strcmp(kind, "env") == 0)
        return AIEB_EENV;
    if (kind && strcmp(kind, "input") == 0)
        return AIEB_EINVAL;
    return AIEB_EFAIL;
}

static json_t *load_message(const torch_backend *t)
{
    json_t *m = json_pack(
        "{s:s, s:s, s:s, s:s, s:s?, s:b, s:b, s:b, s:b, s:b}", "op", "load", "model", t->model,
        "device", t->device, "torch_dtype", t->torch_dtype, "device_map", t->device_map,
        "load_in_8bit", t->load_in_8bit, "load_in_4bit", t->load_in_4bit, "trust_remote_code",
        t->trust_remote_code, "use_cache", t->use_cache, "no_weights", t->no_weights);
    if (!m)
        return NULL;
    json_object_set_new(m, "task", json_string(t->task));
    json_object_set_new(m, "max_memory", json_deep_copy(t->max_memory));
    json_object_set_new(m, "pad_token_id",
                        t->pad_token_id >= 0 ? json_integer(t->pad_token_id) : json_null());
    json_object_set_new(m, "seed", t->gen.seed >= 0 ? json_integer(t->gen.seed) : json_null());
    if (t->threads > 0)
        json_object_set_new(m, "threads", json_integer(t->threads));
    return m;
}

static int tb_load(aieb_backend *b, aieb_err *err)
{
    torch_backend *t = b->ctx;
    if (t->loaded)
        return 0;
    int rc = start_worker(t, NULL, err);
    if (rc)
        return rc;
    json_t *msg = load_message(t), *reply = NULL;
    if (!msg)
        return aieb_errf(err, AIEB_ENOMEM, "pytorch: out of memory");
    rc = tb_call(t, msg, aieb_now_ns() + t->load_timeout_ns, &reply, err);
    json_decref(msg);
    if (rc)
        return rc == AIEB_ETIMEOUT
                   ? aieb_err_prefix(err, "pytorch: loading %s took longer than %.0f s", t->model,
                                     (double)t->load_timeout_ns / 1e9)
                   : aieb_err_prefix(err, "pytorch: loading %s", t->model);
    if (!json_is_true(json_object_get(reply, "ok"))) {
        const char *kind = json_string_value(json_object_get(reply, "kind"));
        const char *e = json_string_value(json_object_get(reply, "error"));
        int code = kind_code(kind);
        rc = code == AIEB_EFAIL
                 ? fail_with_stderr(t, err, code, 4, "pytorch: loading %s: %s", t->model,
                                    e ? e : "failed")
                 : aieb_errf(err, code, "pytorch: loading %s: %s", t->model, e ? e : "failed");
        json_decref(reply);
        return rc;
    }
    t->load_reply = reply;
    t->loaded = 1;
    AIEB_INFO("pytorch: loaded %s on %s (%s, %lld parameters) in %.2f s", t->model,
              json_string_value(json_object_get(reply, "device")),
              json_string_value(json_object_get(reply, "dtype")),
              (long long)json_integer_value(json_object_get(reply, "n_params")),
              json_number_value(json_object_get(reply, "load_s")));
    return 0;
}

/* ==== Info and closing ===================================================== */

static int unload(torch_backend *t)
{
    if (!t->loaded || t->dead)
        return 0;
    aieb_err err = {0};
    json_t *msg = json_pack("{s:s}", "op", "unload"), *reply = NULL;
    int rc = msg ? tb_call(t, msg, aieb_now_ns() + t->close_timeout_ns, &reply, &err) : AIEB_ENOMEM;
    json_decref(msg);
    t->loaded = 0;
    if (rc) {
        AIEB_WARN("pytorch: unloading: %s", err.msg);
        return rc;
    }
    if (json_is_true(json_object_get(reply, "ok"))) {
        t->unload_reply = reply;
        t->unloaded = 1;
        return 0;
    }
    AIEB_WARN("pytorch: unloading: %s", json_string_value(json_object_get(reply, "error")));
    json_decref(reply);
    return AIEB_EFAIL;
}

static void fetch_stats(torch_backend *t)
{
    if (!t->started || t->dead)
        return;
    aieb_err err = {0};
    json_t *msg = json_pack("{s:s}", "op", "stats"), *reply = NULL;
    if (msg && tb_call(t, msg, aieb_now_ns() + t->close_timeout_ns, &reply, &err) == 0 &&
        json_is_true(json_object_get(reply, "ok"))) {
        json_decref(t->stats_reply);
        t->stats_reply = reply;
        reply = NULL;
    }
    json_decref(reply);
    json_decref(msg);
}

/* Bytes in use on every CUDA device together (all processes), from a memory
 * snapshot of the worker; -1 without CUDA. */
static double cuda_used_mb(const json_t *snap, const char *field)
{
    const json_t *devs = json_object_get(snap, "cuda");
    if (!json_is_array(devs) || !json_array_size(devs))
        return -1;
    double sum = 0;
    size_t i;
    const json_t *d;
    json_array_foreach(devs, i, d) sum += json_number_value(json_object_get(d, field));
    return sum / 1e6;
}

static void set_mb(json_t *o, const char *key, double mb)
{
    json_object_set_new(o, key, mb >= 0 ? json_real(mb) : json_null());
}

/* The GPU evidence: device memory in use before load, after load, after unload. */
static json_t *gpu_memory_json(const torch_backend *t)
{
    const json_t *before = json_object_get(t->load_reply, "memory_before");
    const json_t *after = json_object_get(t->load_reply, "memory_after");
    const json_t *unl = t->unload_reply ? json_object_get(t->unload_reply, "memory_after") : NULL;
    double ub = cuda_used_mb(before, "used_bytes"), ua = cuda_used_mb(after, "used_bytes");
    double uu = unl ? cuda_used_mb(unl, "used_bytes") : -1;
    double ab = cuda_used_mb(before, "allocated_bytes");
    double aa = cuda_used_mb(after, "allocated_bytes");
    if (ub < 0 && ua < 0)
        return json_null();
    json_t *o = json_object();
    set_mb(o, "used_before_load_mb", ub);
    set_mb(o, "used_after_load_mb", ua);
    set_mb(o, "used_after_unload_mb", uu);
    set_mb(o, "load_growth_mb", ub >= 0 && ua >= 0 ? ua - ub : -1);
    set_mb(o, "allocated_by_model_mb", ab >= 0 && aa >= 0 ? aa - ab : -1);
    set_mb(o, "freed_at_unload_mb", ua >= 0 && uu >= 0 ? ua - uu : -1);
    return o;
}

static void copy_key(json_t *dst, const char *dkey, const json_t *src, const char *skey)
{
    json_t *v = json_object_get(src, skey);
    json_object_set_new(dst, dkey, v ? json_deep_copy(v) : json_null());
}

/* The runner calls this after the workload while the meter still runs, so the
 * memory given back shows on the timeline and in backend_info. */
static int tb_unload(aieb_backend *b, aieb_err *err)
{
    torch_backend *t = b->ctx;
    if (!t->loaded || t->dead)
        return 0;
    fetch_stats(t);
    int rc = unload(t);
    return rc ? aieb_errf(err, rc, "pytorch: the worker could not unload the model") : 0;
}

static json_t *tb_info(aieb_backend *b)
{
    torch_backend *t = b->ctx;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("pytorch"));
    json_object_set_new(o, "model", json_string(t->model));
    json_object_set_new(o, "python", json_string(t->python));
    json_object_set_new(o, "worker", json_string(t->worker_path));
    json_object_set_new(o, "device", json_string(t->device));
    json_object_set_new(o, "torch_dtype", json_string(t->torch_dtype));
    json_object_set_new(o, "device_map", t->device_map ? json_string(t->device_map) : json_null());
    json_object_set_new(o, "cuda_visible_devices",
                        t->cuda_visible ? json_string(t->cuda_visible) : json_null());
    json_object_set_new(o, "batch_size", json_integer(t->batch_size));
    if (t->handshake) {
        json_t *v = json_object();
        copy_key(v, "python", t->handshake, "python");
        copy_key(v, "python_executable", t->handshake, "python_executable");
        copy_key(v, "torch", t->handshake, "torch");
        copy_key(v, "transformers", t->handshake, "transformers");
        copy_key(v, "cuda", t->handshake, "cuda");
        copy_key(v, "bitsandbytes", t->handshake, "bitsandbytes");
        copy_key(v, "clock", t->handshake, "clock");
        json_object_set_new(o, "versions", v);
        copy_key(o, "worker_pid", t->handshake, "pid");
        copy_key(o, "cuda_device_count", t->handshake, "cuda_device_count");
    }
    if (t->load_reply) {
        static const char *const keys[] = {
            "device",         "dtype",     "arch",         "synthetic", "n_params",
            "context_length", "tokenizer", "pad_token_id", "load_s",    "device_map"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (json_object_get(t->load_reply, keys[i]))
                copy_key(o,
                         strcmp(keys[i], "device") == 0       ? "device_loaded"
                         : strcmp(keys[i], "load_s") == 0     ? "load_time_s"
                         : strcmp(keys[i], "device_map") == 0 ? "hf_device_map"
                                                              : keys[i],
                         t->load_reply, keys[i]);
        copy_key(o, "memory_before_load", t->load_reply, "memory_before");
        copy_key(o, "memory_after_load", t->load_reply, "memory_after");
        json_object_set_new(o, "gpu_memory", gpu_memory_json(t));
    }
    if (t->unload_reply) {
        copy_key(o, "memory_after_unload", t->unload_reply, "memory_after");
        copy_key(o, "cuda_freed_bytes", t->unload_reply, "cuda_freed_bytes");
    }
    if (t->stats_reply) {
        json_t *s = json_object();
        copy_key(s, "generate_calls", t->stats_reply, "generate_calls");
        copy_key(s, "requests", t->stats_reply, "requests");
        copy_key(s, "tokens", t->stats_reply, "tokens");
        copy_key(s, "prompts_truncated_to_context", t->stats_reply, "prompts_truncated");
        json_object_set_new(o, "worker_stats", s);
    }
    json_object_set_new(o, "generate_calls", json_integer((json_int_t)t->n_generate_calls));
    json_object_set_new(o, "worker_errors", json_integer((json_int_t)t->n_worker_errors));
    json_object_set_new(o, "timeouts", json_integer((json_int_t)t->n_timeouts));
    json_object_set_new(o, "clock_violations", json_integer((json_int_t)t->n_clock_violations));
    if (t->dead)
        json_object_set_new(o, "worker_lost", json_string(t->dead_msg));
    if (t->concurrency_asked > 1)
        json_object_set_new(o, "note",
                            json_string("pytorch runs one generate call at a time; "
                                        "scenario.max_concurrency was ignored (use "
                                        "scenario.input_shapes.batch_size)"));
    return o;
}

static void tb_close(aieb_backend *b)
{
    if (!b)
        return;
    torch_backend *t = b->ctx;
    if (t->started && !t->dead) {
        unload(t);
        if (t->unload_reply) {
            double freed =
                cuda_used_mb(json_object_get(t->unload_reply, "memory_before"), "used_bytes") -
                cuda_used_mb(json_object_get(t->unload_reply, "memory_after"), "used_bytes");
            if (json_object_get(json_object_get(t->unload_reply, "memory_after"), "cuda"))
                AIEB_INFO("pytorch: unloaded; %.1f MB of GPU memory freed", freed);
        }
        if (!t->dead) {
            json_t *msg = json_pack("{s:s, s:I}", "op", "exit", "id", (json_int_t)++t->next_id);
            aieb_err err = {0};
            if (msg)
                send_json(t, msg, aieb_now_ns() + AIEB_NS_PER_S, &err);
            json_decref(msg);
        }
        if (wproc_finish(&t->proc, aieb_now_ns() + t->close_timeout_ns))
            AIEB_WARN("pytorch: the worker did not exit within %.0f s and was killed",
                      (double)t->close_timeout_ns / 1e9);
    }
    wproc_free(&t->proc);
    json_decref(t->handshake);
    json_decref(t->load_reply);
    json_decref(t->stats_reply);
    json_decref(t->unload_reply);
    json_decref(t->max_memory);
    json_decref(t->generate_extra);
    free(t->model), free(t->python), free(t->worker), free(t->device), free(t->torch_dtype);
    free(t->device_map), free(t->task), free(t->cuda_visible);
    free(t);
    free(b);
}

/* ==== Opening ============================================================== */

static const aieb_backend_ops torch_ops = {
    .load = tb_load,
    .health = tb_health,
    .run = tb_run,
    .unload = tb_unload,
    .info = tb_info,
    .close = tb_close,
};

void aieb_pytorch_opts_init(aieb_pytorch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->use_cache = 1;
    o->pad_token_id = -1;
    o->batch_size = 1;
    o->gen.max_new_tokens = 100;
    o->gen.temperature = -1;
    o->gen.top_p = -1;
    o->gen.do_sample = -1;
    o->gen.seed = -1;
    o->gen.ignore_eos = -1;
}

static char *dup_or(const char *s, const char *fallback)
{
    const char *v = s && *s ? s : fallback;
    return v ? strdup(v) : NULL;
}

static int64_t secs_ns(double s, double fallback)
{
    double v = s > 0 && isfinite(s) ? s : fallback;
    return (int64_t)(v * 1e9);
}

int aieb_pytorch_backend_open(const aieb_pytorch_opts *opts, aieb_backend **out, aieb_err *err)
{
    *out = NULL;
    if (!opts->model || !*opts->model)
        return aieb_errf(err, AIEB_EINVAL, "pytorch: backend.model is not set");
    if (opts->gen.max_new_tokens < 1)
        return aieb_errf(err, AIEB_EINVAL, "pytorch: max_new_tokens must be >= 1");
    if (opts->batch_size < 1 || opts->batch_size > AIEB_PYTORCH_MAX_BATCH)
        return aieb_errf(err, AIEB_EINVAL,
                         "pytorch: scenario.input_shapes.batch_size %d is out of range 1..%d",
                         opts->batch_size, AIEB_PYTORCH_MAX_BATCH);
    if (opts->load_in_8bit && opts->load_in_4bit)
        return aieb_errf(err, AIEB_EINVAL,
                         "pytorch: backend.load_in_8bit and load_in_4bit are both set; pick one");
    aieb_backend *b = calloc(1, sizeof *b);
    torch_backend *t = calloc(1, sizeof *t);
    if (!b || !t) {
        free(b), free(t);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    wproc_init(&t->proc, opts->max_line_bytes ? opts->max_line_bytes : AIEB_PYTORCH_MAX_LINE_BYTES);
    b->ops = &torch_ops;
    b->ctx = t;
    t->model = dup_or(opts->model, NULL);
    t->python = dup_or(opts->python, "python3");
    t->worker = dup_or(opts->worker, NULL);
    t->device = dup_or(opts->device, "cuda");
    t->torch_dtype = dup_or(opts->torch_dtype, "auto");
    t->device_map = dup_or(opts->device_map, NULL);
    t->task = dup_or(opts->task, "text-generation");
    t->max_memory = opts->max_memory ? json_deep_copy(opts->max_memory) : json_object();
    t->generate_extra = opts->generate_extra ? json_deep_copy(opts->generate_extra) : json_object();
    int bad = !t->model || !t->python || (opts->worker && *opts->worker && !t->worker) ||
              !t->device || !t->torch_dtype || (opts->device_map && !t->device_map) || !t->task ||
              !t->max_memory || !t->generate_extra;
    if (!bad && opts->n_device_ids) {
        aieb_buf ids;
        aieb_buf_init(&ids, 0);
        for (size_t i = 0; i < opts->n_device_ids && !bad; i++)
            bad = aieb_buf_printf(&ids, "%s%d", i ? "," : "", opts->device_ids[i]) != 0;
        t->cuda_visible = bad ? NULL : aieb_buf_steal(&ids);
        aieb_buf_free(&ids);
        bad = bad || !t->cuda_visible;
    }
    if (bad) {
        tb_close(b);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    t->load_in_8bit = opts->load_in_8bit;
    t->load_in_4bit = opts->load_in_4bit;
    t->trust_remote_code = opts->trust_remote_code;
    t->use_cache = opts->use_cache;
    t->no_weights = opts->no_weights;
    t->threads = opts->threads;
    t->pad_token_id = opts->pad_token_id;
    t->batch_size = opts->batch_size;
    t->gen = opts->gen;
    t->startup_timeout_ns = secs_ns(opts->startup_timeout_s, 120);
    t->load_timeout_ns = secs_ns(opts->load_timeout_s, 3600);
    t->timeout_ns = secs_ns(opts->timeout_s, 300);
    t->close_timeout_ns = secs_ns(opts->close_timeout_s, 30);
    *out = b;
    return 0;
}

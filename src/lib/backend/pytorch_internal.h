/* pytorch_internal.h - the pytorch backend's state, shared by pytorch.c (life
 * cycle: worker, handshake, load, info, close) and pytorch_run.c (requests). */
#ifndef AIEB_BACKEND_PYTORCH_INTERNAL_H
#define AIEB_BACKEND_PYTORCH_INTERNAL_H

#include <limits.h>
#include <stdint.h>

#include <jansson.h>

#include "aieb/pytorch.h"
#include "backend/pytorch_proc.h"

typedef struct torch_backend {
    /* Settings (copies). */
    char *model, *python, *worker, *device, *torch_dtype, *device_map, *task;
    char *cuda_visible; /* "0,1" from device_ids, or NULL */
    json_t *max_memory, *generate_extra;
    int load_in_8bit, load_in_4bit, trust_remote_code, use_cache, no_weights, threads;
    long long pad_token_id;
    int batch_size;
    aieb_gen_params gen;
    int64_t startup_timeout_ns, load_timeout_ns, timeout_ns, close_timeout_ns;

    /* The worker. */
    char worker_path[PATH_MAX];
    wproc proc;
    int started;  /* handshake accepted */
    int loaded;   /* a model is loaded */
    int unloaded; /* unload answered */
    int dead;     /* the worker was lost: every later request fails with dead_msg */
    char dead_msg[768];
    long long next_id;
    json_t *handshake, *load_reply, *stats_reply, *unload_reply; /* NULL until received */

    /* Counters for info(). */
    int concurrency_asked;
    size_t n_generate_calls, n_worker_errors, n_timeouts, n_cancelled, n_clock_violations;
} torch_backend;

/* Appends "; last stderr lines: a | b" (up to max_lines) to out when there are any. */
void tb_append_stderr(torch_backend *t, aieb_buf *out, size_t max_lines);

/* Kills the worker and remembers why (printf-style), so that later requests
 * fail at once with that cause. */
void tb_mark_dead(torch_backend *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends msg (a JSON object; "id" is set here) and waits until deadline_ns for
 * the reply with the same id, skipping other lines that are JSON objects. On
 * success *reply is the reply (new reference; its "ok" may be false). A line
 * that is not JSON, a timeout or a lost worker kills the worker (tb_mark_dead)
 * and fails with AIEB_EIO / AIEB_ETIMEOUT, err saying why. */
int tb_call(torch_backend *t, json_t *msg, int64_t deadline_ns, json_t **reply, aieb_err *err);

/* The run() of the backend (pytorch_run.c). */
int tb_run(aieb_backend *b, const aieb_request *reqs, size_t n, int max_concurrency, int grace_ms,
           aieb_result_cb cb, void *user, const volatile sig_atomic_t *stop, aieb_err *err);

#endif

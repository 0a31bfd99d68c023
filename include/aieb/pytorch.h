/* pytorch.h - the `pytorch` backend: transformers models run by a Python worker.
 *
 * aieb starts backend.python on python/aieb_torch_worker.py (no shell) and
 * speaks JSON lines with it (docs/backends-pytorch.md). The worker stamps every
 * token with time.monotonic_ns(), the CLOCK_MONOTONIC aieb's meters use, so its
 * timestamps go straight into the request records.
 */
#ifndef AIEB_PYTORCH_H
#define AIEB_PYTORCH_H

#include <stddef.h>

#include <jansson.h>

#include "aieb/backend.h"
#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variable naming the worker script, ahead of every other place. */
#define AIEB_TORCH_WORKER_ENV "AIEB_TORCH_WORKER"
/* The worker script's file name. */
#define AIEB_TORCH_WORKER_NAME "aieb_torch_worker.py"
/* Largest reply line accepted from the worker by default (token times of a big
 * batch fit many times over). */
#define AIEB_PYTORCH_MAX_LINE_BYTES (64u * 1024 * 1024)
/* Largest batch (scenario.input_shapes.batch_size) sent in one generate call. */
#define AIEB_PYTORCH_MAX_BATCH 4096

typedef struct aieb_pytorch_opts {
    const char *model;        /* HF id or path, "synthetic:<preset>", "torch-tiny:[k=v,..]" */
    const char *python;       /* interpreter, looked up on PATH without '/'; NULL = "python3" */
    const char *worker;       /* worker script; NULL = aieb_pytorch_find_worker() */
    const char *device;       /* "cuda", "cuda:1", "cpu"; NULL = "cuda" */
    const int *device_ids;    /* CUDA_VISIBLE_DEVICES for the worker; NULL/0 = inherited */
    size_t n_device_ids;      /* number of device_ids */
    const char *torch_dtype;  /* "auto", "float16", ...; NULL = "auto" */
    const char *device_map;   /* transformers device_map ("auto"); NULL = none */
    const json_t *max_memory; /* object device -> "20GB", or NULL (copied) */
    const char *task;         /* NULL = "text-generation" (the only one supported) */
    int load_in_8bit, load_in_4bit, trust_remote_code;
    int use_cache;                /* 1 default: KV cache on */
    int no_weights;               /* random weights of the model's config (no weights download) */
    long long pad_token_id;       /* -1 = the tokenizer's, else EOS */
    int threads;                  /* torch.set_num_threads; 0 = torch's default */
    int batch_size;               /* requests per generate call, 1..AIEB_PYTORCH_MAX_BATCH */
    aieb_gen_params gen;          /* max/min new tokens, sampling, seed, ignore_eos */
    const json_t *generate_extra; /* more model.generate keyword arguments, or NULL (copied);
                                     "chat_template": bool forces the chat template on/off */
    double startup_timeout_s;     /* for the handshake; 0 = 120 */
    double load_timeout_s;        /* for loading the model; 0 = 3600 */
    double timeout_s;             /* for one generate call (request or batch); 0 = 300 */
    double close_timeout_s;       /* for unload and exit before the worker is killed; 0 = 30 */
    size_t max_line_bytes;        /* reply line cap; 0 = AIEB_PYTORCH_MAX_LINE_BYTES */
} aieb_pytorch_opts;

/* Fills o with the defaults above (use_cache 1, pad_token_id -1, batch_size 1,
 * gen.max_new_tokens 100 and every other gen field unset). Can't fail. */
AIEB_API void aieb_pytorch_opts_init(aieb_pytorch_opts *o);

/* Finds the worker script, in this order: $AIEB_TORCH_WORKER; next to the
 * running program's install, <prefix>/share/aieb/aieb_torch_worker.py where the
 * program is <prefix>/bin/aieb; the source tree this library was built from
 * (<source>/python/); <program's directory>/../python/. Writes the path into
 * buf. Fails with AIEB_EENV naming every place tried, or saying that
 * $AIEB_TORCH_WORKER names a missing file. */
AIEB_API int aieb_pytorch_find_worker(char *buf, size_t size, aieb_err *err);

/* Creates the backend; nothing starts until health() or load(). Strings and
 * JSON in opts are copied. Fails with AIEB_EINVAL (no model, max_new_tokens <
 * 1, batch_size out of range, both 8-bit and 4-bit) or AIEB_ENOMEM.
 *
 * health() starts the worker and checks its handshake: the protocol, the clock
 * (its time.monotonic_ns() must fall between aieb's readings around it), torch
 * importable (else AIEB_EENV: "apt-get install python3-torch" or "pip install
 * torch transformers"), transformers importable unless the model is torch-tiny,
 * and CUDA present when backend.device asks for it. A missing interpreter is
 * AIEB_EENV with the install hint; a worker that does not answer within
 * startup_timeout_s is AIEB_EENV with its last stderr lines.
 *
 * load() starts the worker if health() did not, then loads the model (the
 * runner measures this apart); the worker reports load time and memory before
 * and after. Failures carry the worker's message: AIEB_EENV (missing library or
 * device), AIEB_EINVAL (bad setting), AIEB_ETIMEOUT, else AIEB_EFAIL.
 *
 * run() sends the requests in groups of batch_size (in order; a group goes when
 * its last member's arrival time has come), one generate call per group. Each
 * result has sent_ns (when aieb wrote the call), the worker's token times
 * (first_token_ns = prefill_end_ns = the first token, chunk_ns every token,
 * done_ns when generate returned) and exact token counts. max_concurrency above
 * 1 is noted in info() and ignored. A Python exception fails that group's
 * requests with the worker's message and last stderr lines, and the worker goes
 * on. A crash, a line that is not JSON, or a call past timeout_s (cancelled,
 * then killed after grace_ms) fails the group and ends the worker: later
 * requests fail at once with the same cause, and the runner's fail-fast applies.
 * On *stop the running call is cancelled (grace_ms to answer) and its requests
 * are CANCELLED. Returns 0, or AIEB_EINVAL when the model is not loaded.
 *
 * unload() frees the model (the runner calls it after the workload, while the
 * meter still runs, so the memory given back shows on the timeline); run()
 * fails afterwards. info() reports the worker's versions, device, dtype, load
 * time and memory before and after loading, and after unloading once unload()
 * ran. close() unloads if still loaded, asks the worker to exit, and kills it
 * after close_timeout_s. */
AIEB_API int aieb_pytorch_backend_open(const aieb_pytorch_opts *opts, aieb_backend **out,
                                       aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif

#!/usr/bin/env python3
"""fake_torch_worker.py - a stand-in for python/aieb_torch_worker.py.

Speaks the same JSON-lines protocol with the standard library only, so that the
pytorch backend's process handling can be tested without torch. Behaviour is
chosen by environment variables:

  FAKE_TORCH_MODE     ok (default) | crash | hang | slow | garbage | exception |
                      slow_start | no_handshake | not_handshake | no_torch |
                      no_transformers | no_cuda | bad_clock | bad_times |
                      load_error | load_hang | huge_line | ignore_exit | stray_reply
  FAKE_TORCH_AT       the generate call (1-based) where the mode acts (default 1)
  FAKE_TORCH_TOKEN_MS time between tokens (default 2)
  FAKE_TORCH_FIRST_MS time to the first token (default 5)
  FAKE_TORCH_START_S  slow_start: seconds before the handshake (default 30)
  FAKE_TORCH_LOG      file to which every received message is appended (JSON lines),
                      with the worker's CUDA_VISIBLE_DEVICES and argv in a first line
  FAKE_TORCH_SIGNAL   crash: kill itself with this signal instead of exiting 7

Modes at generate call FAKE_TORCH_AT: crash (stderr lines, then exit 7 or the
signal, mid-request), hang (never answers, ignores cancel), slow (honours cancel,
else 60 s of tokens), garbage (a line that is not JSON), exception (a Python
traceback on stderr and an error reply), bad_times (token times in the past),
huge_line (a 2 MB reply line), stray_reply (a reply for another id first).
"""

import json
import os
import signal
import sys
import threading
import time
import traceback

MODE = os.environ.get("FAKE_TORCH_MODE", "ok")
AT = int(os.environ.get("FAKE_TORCH_AT", "1"))
TOKEN_S = float(os.environ.get("FAKE_TORCH_TOKEN_MS", "2")) / 1000
FIRST_S = float(os.environ.get("FAKE_TORCH_FIRST_MS", "5")) / 1000
LOG = os.environ.get("FAKE_TORCH_LOG")

out = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
lock = threading.Lock()
cancel = {"id": None}
inbox = []
cond = threading.Condition()


def send(obj):
    with lock:
        out.write(json.dumps(obj) + "\n")
        out.flush()


def log_msg(obj):
    if LOG:
        with open(LOG, "a") as f:
            f.write(json.dumps(obj) + "\n")


def err(msg):
    sys.stderr.write("fake_torch_worker: %s\n" % msg)
    sys.stderr.flush()


def reader():
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            msg = {"op": "_bad"}
        log_msg(msg)
        if msg.get("op") == "cancel":
            cancel["id"] = msg.get("id")
            continue
        with cond:
            inbox.append(msg)
            cond.notify()
    with cond:
        inbox.append(None)
        cond.notify()


def next_msg():
    with cond:
        while not inbox:
            cond.wait()
        return inbox.pop(0)


def memory(mb):
    return {"rss_bytes": 1000000, "cuda": [{"index": 0, "name": "Fake GPU", "allocated_bytes": mb * 1000000,
                                             "reserved_bytes": mb * 1000000, "used_bytes": (500 + mb) * 1000000,
                                             "total_bytes": 80000000000}]}


def generate(msg, call):
    rid = msg["id"]
    acting = call == AT
    if acting and MODE == "crash":
        err("generating...")
        err("RuntimeError: CUDA error: an illegal memory access was encountered")
        time.sleep(0.05)
        sig = os.environ.get("FAKE_TORCH_SIGNAL")
        if sig:
            os.kill(os.getpid(), int(sig))
        os._exit(7)
    if acting and MODE == "hang":
        err("hanging, ignoring cancels")
        time.sleep(3600)
    if acting and MODE == "garbage":
        out.write("this is not json\n")
        out.flush()
        time.sleep(3600)
    if acting and MODE == "huge_line":
        send({"id": rid, "ok": True, "pad": "x" * 2000000})
        return
    if acting and MODE == "stray_reply":
        send({"id": rid + 1000, "ok": True, "note": "for nobody"})
    if acting and MODE == "exception":
        try:
            raise ValueError("fake failure inside generate")
        except ValueError as e:
            traceback.print_exc()
            sys.stderr.flush()
            send({"id": rid, "ok": False, "kind": "runtime", "error": "ValueError: %s" % e})
        return
    reqs = msg["requests"]
    n = msg["max_new_tokens"]
    slow = acting and MODE == "slow"
    t_start = time.monotonic_ns()
    steps = []
    cancelled = False
    time.sleep(FIRST_S)
    for i in range(60000 if slow else n):
        if cancel["id"] == rid:
            cancelled = True
            break
        if i:
            time.sleep(0.001 if slow else TOKEN_S)
        steps.append(time.monotonic_ns())
    t_done = time.monotonic_ns()
    if acting and MODE == "bad_times":
        steps = [t_start - 10 ** 9 for _ in steps]
    results = []
    for r in reqs:
        k = min(len(steps), n)
        results.append({"index": r["index"], "prompt_tokens": len(r["prompt"].encode()) + 1,
                        "completion_tokens": k, "token_ns": steps[:k], "truncated": False})
    send({"id": rid, "ok": True, "t_start_ns": t_start, "t_done_ns": t_done, "steps": len(steps),
          "cancelled": cancelled, "results": results})


def main():
    if LOG:
        log_msg({"argv": sys.argv, "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
                 "pythonunbuffered": os.environ.get("PYTHONUNBUFFERED")})
    if MODE == "slow_start":
        err("starting slowly")
        time.sleep(float(os.environ.get("FAKE_TORCH_START_S", "30")))
    if MODE == "no_handshake":
        err("ImportError: something essential is missing")
        sys.exit(2)
    if MODE == "not_handshake":
        out.write('{"hello": "world"}\n')
        out.flush()
        time.sleep(30)
        return 0
    hs = {"event": "handshake", "protocol": 1, "pid": os.getpid(), "python": "3.11.0",
          "python_executable": sys.executable, "torch": "2.9.0-fake", "torch_error": None,
          "transformers": "4.99.0-fake", "transformers_error": None, "cuda": "12.8",
          "cuda_available": True, "cuda_device_count": 1,
          "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "bitsandbytes": None,
          "clock": "clock_gettime(CLOCK_MONOTONIC)"}
    if MODE == "no_torch":
        hs.update(torch=None, torch_error="ModuleNotFoundError: No module named 'torch'",
                  transformers=None, transformers_error="not tried (torch is missing)")
    if MODE == "no_transformers":
        hs.update(transformers=None,
                  transformers_error="ModuleNotFoundError: No module named 'transformers'")
    if MODE == "no_cuda":
        hs.update(cuda=None, cuda_available=False, cuda_device_count=0)
    hs["monotonic_ns"] = time.monotonic_ns() + (10 ** 12 if MODE == "bad_clock" else 0)
    send(hs)
    threading.Thread(target=reader, daemon=True).start()
    calls = 0
    loaded = False
    while True:
        msg = next_msg()
        if msg is None:
            return 0
        op, rid = msg.get("op"), msg.get("id")
        if op == "load":
            if MODE == "load_error":
                err("OSError: model not found")
                send({"id": rid, "ok": False, "kind": "input",
                      "error": "OSError: %s is not a local folder" % msg.get("model")})
                continue
            if MODE == "load_hang":
                time.sleep(3600)
            loaded = True
            send({"id": rid, "ok": True, "load_s": 0.01, "device": "cuda:0", "dtype": "float16",
                  "arch": "fake", "synthetic": True, "n_params": 1234, "context_length": 2048,
                  "tokenizer": "bytes", "pad_token_id": 2,
                  "memory_before": memory(0), "memory_after": memory(300)})
        elif op == "generate":
            calls += 1
            generate(msg, calls)
        elif op == "stats":
            send({"id": rid, "ok": True, "loaded": loaded, "generate_calls": calls,
                  "requests": calls, "tokens": 0, "prompts_truncated": 0, "memory": memory(300)})
        elif op == "unload":
            loaded = False
            send({"id": rid, "ok": True, "was_loaded": True, "memory_before": memory(300),
                  "memory_after": memory(0), "cuda_freed_bytes": 300000000})
        elif op == "exit":
            send({"id": rid, "ok": True})
            if MODE == "ignore_exit":
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                time.sleep(3600)
            return 0
        else:
            send({"id": rid, "ok": False, "kind": "input", "error": "unknown op %r" % op})


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""aieb_torch_worker.py - the PyTorch backend's worker process.

aieb starts this script with the user's Python (backend.python) and talks to it
in JSON lines: one request per line on stdin, one reply per line on stdout. Logs
go to stderr, which aieb keeps (its last lines explain a failure). The protocol
is described in docs/backends-pytorch.md; in short:

  worker -> aieb   {"event": "handshake", "protocol": 1, versions, "monotonic_ns": ...}
  aieb -> worker   {"id": N, "op": "load" | "generate" | "stats" | "unload" | "exit", ...}
  aieb -> worker   {"op": "cancel", "id": N}       (no reply; stops generate N early)
  worker -> aieb   {"id": N, "ok": true, ...} or {"id": N, "ok": false, "error": ..., "kind": ...}

Every timestamp is time.monotonic_ns(), which on Linux reads CLOCK_MONOTONIC,
the clock aieb stamps its own events and meter samples with; the handshake
carries one reading so that aieb can check that the two clocks agree.

Models:
  <Hugging Face id or path>  AutoTokenizer + AutoModelForCausalLM (transformers)
  synthetic:<preset>         transformers model built from a config with random
                             weights (no download): smollm-135m, smollm-360m,
                             qwen2.5-0.5b, tinyllama-1.1b, llama-3.2-1b, gpt2
  torch-tiny:[k=v,...]       a small random transformer in plain torch (no
                             transformers), for tests: dim, layers, heads, ctx

Only the standard library is imported at start; torch and transformers are
imported for the handshake, and their absence is reported, not raised, so that
aieb can say what to install.
"""

import gc
import importlib
import json
import os
import queue
import sys
import threading
import time
import traceback

PROTOCOL = 1
MAX_REQUEST_LINE_BYTES = 256 * 1024 * 1024

torch = None
transformers = None


def log(msg):
    sys.stderr.write("aieb_torch_worker: %s\n" % msg)
    sys.stderr.flush()


class WorkerError(Exception):
    """An error with a kind aieb maps to an exit status: env (something to
    install or a device missing), input (a bad setting), oom, runtime."""

    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind


# ==== Versions and devices ====================================================


def import_libraries():
    """Imports torch and transformers; returns their import errors (or None)."""
    global torch, transformers
    torch_error = transformers_error = None
    try:
        import torch as _torch

        torch = _torch
    except Exception as e:  # ImportError, or a broken install
        torch_error = "%s: %s" % (type(e).__name__, e)
    if torch is not None:
        try:
            import transformers as _transformers

            transformers = _transformers
        except Exception as e:
            transformers_error = "%s: %s" % (type(e).__name__, e)
    else:
        transformers_error = "not tried (torch is missing)"
    return torch_error, transformers_error


def handshake(torch_error, transformers_error):
    info = {
        "event": "handshake",
        "protocol": PROTOCOL,
        "pid": os.getpid(),
        "python": "%d.%d.%d" % sys.version_info[:3],
        "python_executable": sys.executable,
        "torch": None,
        "torch_error": torch_error,
        "transformers": None,
        "transformers_error": transformers_error,
        "cuda": None,
        "cuda_available": False,
        "cuda_device_count": 0,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "bitsandbytes": None,
        "clock": time.get_clock_info("monotonic").implementation,
    }
    if torch is not None:
        info["torch"] = torch.__version__
        info["cuda"] = torch.version.cuda
        # is_available/device_count do not create a CUDA context.
        info["cuda_available"] = bool(torch.cuda.is_available())
        info["cuda_device_count"] = torch.cuda.device_count() if info["cuda_available"] else 0
    if transformers is not None:
        info["transformers"] = transformers.__version__
    try:
        import importlib.metadata
        import importlib.util

        if importlib.util.find_spec("bitsandbytes") is not None:
            info["bitsandbytes"] = importlib.metadata.version("bitsandbytes")
    except Exception:
        pass
    info["monotonic_ns"] = time.monotonic_ns()
    return info


def rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def memory_snapshot(use_cuda):
    """Process RSS and, with CUDA, per device: bytes allocated and reserved by
    torch's allocator, and used on the whole device (all processes)."""
    snap = {"rss_bytes": rss_bytes(), "t_ns": time.monotonic_ns()}
    if use_cuda and torch is not None and torch.cuda.is_available():
        devices = []
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            devices.append(
                {
                    "index": i,
                    "name": torch.cuda.get_device_name(i),
                    "allocated_bytes": torch.cuda.memory_allocated(i),
                    "reserved_bytes": torch.cuda.memory_reserved(i),
                    "used_bytes": total - free,
                    "total_bytes": total,
                }
            )
        snap["cuda"] = devices
    return snap


def dtype_key():
    """transformers 4.56 renamed from_pretrained's torch_dtype to dtype."""
    return "dtype" if version_tuple(transformers.__version__) >= (4, 56) else "torch_dtype"


def version_tuple(v):
    out = []
    for part in v.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


# ==== Tokenizers ==============================================================


class ByteTokenizer:
    """The byte-level tokenizer of aieb's synthetic models (the native engine's
    "bytes" tokenizer): 0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3 + b for byte b.
    The same prompt gives the same token count on both backends."""

    name = "bytes"
    bos_id, eos_id = 1, 2

    def __init__(self, pad_id=None):
        self.pad_id = pad_id if pad_id is not None else self.eos_id
        self.eos_ids = [self.eos_id]

    def encode(self, text, add_special=True):
        return ([self.bos_id] if add_special else []) + [3 + b for b in text.encode("utf-8")]

    def render_chat(self, messages, kwargs):
        return None


class HFTokenizer:
    def __init__(self, tok, pad_id):
        self.tok = tok
        self.name = type(tok).__name__
        if pad_id is None:
            pad_id = tok.pad_token_id
        if pad_id is None:
            pad_id = tok.eos_token_id  # the usual fallback for causal LMs
        if pad_id is None:
            raise WorkerError(
                "input", "the tokenizer has neither a pad nor an EOS token; set backend.pad_token_id"
            )
        self.pad_id = pad_id
        self.eos_ids = [tok.eos_token_id] if tok.eos_token_id is not None else []

    def encode(self, text, add_special=True):
        return list(self.tok(text, add_special_tokens=add_special)["input_ids"])

    def render_chat(self, messages, kwargs):
        if not getattr(self.tok, "chat_template", None):
            return None
        return self.tok.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **kwargs
        )


# ==== Models ==================================================================

# Shapes as the model cards publish them (config.json of each); the same table
# as the native engine's synthetic presets, plus gpt2.
PRESETS = {
    "smollm-135m": ("llama", 576, 1536, 30, 9, 3, 49152, True, 10000.0, 1e-5, 2048),
    "smollm-360m": ("llama", 960, 2560, 32, 15, 5, 49152, True, 10000.0, 1e-5, 2048),
    "qwen2.5-0.5b": ("qwen2", 896, 4864, 24, 14, 2, 151936, True, 1000000.0, 1e-6, 32768),
    "tinyllama-1.1b": ("llama", 2048, 5632, 22, 32, 4, 32000, False, 10000.0, 1e-5, 2048),
    "llama-3.2-1b": ("llama", 2048, 8192, 16, 32, 8, 128256, True, 500000.0, 1e-5, 131072),
    "gpt2": ("gpt2", 768, 3072, 12, 12, 12, 50257, True, 0.0, 1e-5, 1024),
}


def preset_config(name):
    if name not in PRESETS:
        raise WorkerError(
            "input",
            "synthetic: unknown preset '%s' (%s)" % (name, ", ".join(sorted(PRESETS))),
        )
    arch, d, ff, layers, heads, kv, vocab, tied, rope, eps, ctx = PRESETS[name]
    ids = dict(bos_token_id=ByteTokenizer.bos_id, eos_token_id=ByteTokenizer.eos_id)
    if arch == "gpt2":
        return transformers.GPT2Config(
            vocab_size=vocab, n_positions=ctx, n_embd=d, n_layer=layers, n_head=heads,
            n_inner=ff, layer_norm_epsilon=eps, tie_word_embeddings=tied, **ids
        ), ctx
    cls = transformers.Qwen2Config if arch == "qwen2" else transformers.LlamaConfig
    return cls(
        vocab_size=vocab, hidden_size=d, intermediate_size=ff, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=ctx,
        rope_theta=rope, rms_norm_eps=eps, tie_word_embeddings=tied, **ids
    ), ctx


def build_tiny_class():
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, dim, heads):
            super().__init__()
            self.heads = heads
            self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

        def forward(self, x, allowed):  # x (B, T, D); allowed (B, 1, T, T)
            b, t, d = x.shape
            q, k, v = self.qkv(self.n1(x)).view(b, t, 3, self.heads, d // self.heads).permute(
                2, 0, 3, 1, 4
            )
            att = (q @ k.transpose(-1, -2)) / float(d // self.heads) ** 0.5
            att = att.masked_fill(~allowed, float("-inf")).softmax(-1)
            x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
            return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.n2(x))))

    class TinyLM(nn.Module):
        """A small decoder-only transformer (pre-norm, learned positions) with a
        generate loop shaped like transformers': the streamer sees the prompt,
        then every step's tokens; finished rows are padded."""

        def __init__(self, vocab, dim, layers, heads, ctx):
            super().__init__()
            self.ctx = ctx
            self.tok, self.pos = nn.Embedding(vocab, dim), nn.Embedding(ctx, dim)
            self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(layers))
            self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, vocab, bias=False)

        def forward(self, ids, mask):  # logits at the last position, (B, V)
            t = ids.shape[1]
            pos = (mask.long().cumsum(-1) - 1).clamp(min=0, max=self.ctx - 1)
            x = self.tok(ids) + self.pos(pos)
            causal = torch.ones(t, t, dtype=torch.bool, device=ids.device).tril()
            # A padded position may see itself, so that no softmax row is empty.
            eye = torch.eye(t, dtype=torch.bool, device=ids.device)
            allowed = (causal & mask.bool()[:, None, :]) | eye
            for blk in self.blocks:
                x = blk(x, allowed[:, None])
            return self.head(self.norm(x[:, -1])).float()

        @torch.no_grad()
        def generate(self, input_ids, attention_mask, gen, eos_ids, pad_id, streamer, stop):
            ids, mask = input_ids, attention_mask
            finished = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)
            streamer.put(ids.cpu())
            for step in range(gen["max_new_tokens"]):
                logits = self(ids, mask)
                if step < gen.get("min_new_tokens", 0):
                    logits[:, eos_ids] = float("-inf")
                nxt = sample(logits, gen)
                nxt = torch.where(finished, torch.full_like(nxt, pad_id), nxt)
                ids = torch.cat([ids, nxt[:, None]], 1)
                mask = torch.cat([mask, torch.ones_like(nxt)[:, None]], 1)
                streamer.put(nxt.cpu())
                for e in eos_ids:
                    finished |= nxt == e
                if bool(finished.all()) or stop():
                    break
            streamer.end()
            return ids

    return TinyLM


def sample(logits, gen):
    """Greedy, or temperature / top-k / top-p sampling as transformers does."""
    if not gen.get("do_sample"):
        return logits.argmax(-1)
    logits = logits / max(gen.get("temperature", 1.0), 1e-6)
    top_k = gen.get("top_k", 0)
    if top_k and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, -1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    top_p = gen.get("top_p", 1.0)
    if top_p < 1.0:
        srt, idx = logits.sort(-1, descending=True)
        cum = srt.softmax(-1).cumsum(-1)
        drop = cum - srt.softmax(-1) > top_p  # keep the smallest set reaching top_p
        srt = srt.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, idx, srt)
    return torch.multinomial(logits.softmax(-1), 1)[:, 0]


def parse_tiny_spec(spec):
    opts = {"dim": 64, "layers": 2, "heads": 4, "ctx": 512}
    for part in filter(None, spec.split(",")):
        key, _, val = part.partition("=")
        if key not in opts or not val.isdigit() or int(val) < 1:
            raise WorkerError(
                "input",
                "torch-tiny: bad option '%s' (dim=N, layers=N, heads=N, ctx=N)" % part,
            )
        opts[key] = int(val)
    if opts["dim"] % opts["heads"]:
        raise WorkerError("input", "torch-tiny: dim must be a multiple of heads")
    return opts


# ==== The worker ==============================================================


class Worker:
    def __init__(self, out):
        self.out = out
        self.out_lock = threading.Lock()
        self.inbox = queue.Queue()
        self.cancel_id = None
        self.current_id = None
        self.model = None
        self.tok = None
        self.kind = None  # "hf", "tiny"
        self.device = None
        self.input_device = None
        self.use_cuda = False
        self.context = None
        self.use_cache = True
        self.n_generate = 0
        self.n_requests = 0
        self.n_tokens = 0
        self.n_truncated = 0

    # ---- I/O ----------------------------------------------------------------

    def send(self, obj):
        line = json.dumps(obj, separators=(",", ":")) + "\n"
        with self.out_lock:
            self.out.write(line)
            self.out.flush()

    def reader(self):
        """Reads stdin: cancels act at once, everything else is queued. End of
        input (aieb exited) cancels the running generate and ends the worker."""
        stdin = sys.stdin.buffer
        while True:
            line = stdin.readline(MAX_REQUEST_LINE_BYTES + 1)
            if not line:
                self.cancel_id = self.current_id
                self.inbox.put(None)
                return
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
                if not isinstance(msg, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                self.inbox.put({"op": "_bad", "error": "request is not a JSON object: %s" % e})
                continue
            if msg.get("op") == "cancel":
                self.cancel_id = msg.get("id")
            else:
                self.inbox.put(msg)

    def cancelled(self):
        return self.current_id is not None and self.cancel_id == self.current_id

    def serve(self):
        threading.Thread(target=self.reader, daemon=True).start()
        while True:
            msg = self.inbox.get()
            if msg is None:
                return 0
            op, rid = msg.get("op"), msg.get("id")
            handler = {
                "load": self.op_load,
                "generate": self.op_generate,
                "stats": self.op_stats,
                "unload": self.op_unload,
            }.get(op)
            if op == "exit":
                self.send({"id": rid, "ok": True})
                return 0
            try:
                if op == "_bad":
                    raise WorkerError("input", msg["error"])
                if handler is None:
                    raise WorkerError("input", "unknown op %r" % op)
                reply = handler(msg)
                reply.update(id=rid, ok=True)
                self.send(reply)
            except Exception as e:
                self.send(self.error_reply(rid, e))

    def error_reply(self, rid, e):
        kind = getattr(e, "kind", "runtime")
        text = str(e) or type(e).__name__
        if type(e).__name__ == "OutOfMemoryError" or "out of memory" in text.lower():
            kind = "oom"
        if not isinstance(e, WorkerError):
            text = "%s: %s" % (type(e).__name__, text)
            # The traceback goes to stderr, whose last lines aieb shows.
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
        log("error: %s" % text)
        return {"id": rid, "ok": False, "kind": kind, "error": text}

    # ---- load ---------------------------------------------------------------

    def need_torch(self):
        if torch is None:
            raise WorkerError("env", "torch is not importable by %s" % sys.executable)

    def need_transformers(self, why):
        if transformers is None:
            raise WorkerError(
                "env", "%s needs transformers, which %s cannot import" % (why, sys.executable)
            )

    def resolve_device(self, name):
        name = name or "cuda"
        if name.startswith("cuda"):
            if not torch.cuda.is_available():
                raise WorkerError(
                    "env",
                    "backend.device is '%s' but torch %s sees no CUDA device "
                    "(CUDA_VISIBLE_DEVICES=%s); set backend.device: cpu"
                    % (name, torch.__version__, os.environ.get("CUDA_VISIBLE_DEVICES")),
                )
            self.use_cuda = True
        try:
            return torch.device(name)
        except RuntimeError as e:
            raise WorkerError("input", "backend.device '%s': %s" % (name, e))

    def resolve_dtype(self, name, device):
        name = (name or "auto").replace("torch.", "")
        aliases = {"fp32": "float32", "float": "float32", "fp16": "float16", "half": "float16",
                   "bf16": "bfloat16", "double": "float64"}
        name = aliases.get(name, name)
        if name == "auto":
            return "auto"
        dt = getattr(torch, name, None)
        if not isinstance(dt, torch.dtype):
            raise WorkerError("input", "unknown torch_dtype '%s'" % name)
        return dt

    def sync(self):
        if self.use_cuda:
            torch.cuda.synchronize()

    def op_load(self, m):
        self.need_torch()
        if self.model is not None:
            raise WorkerError("input", "a model is already loaded")
        name = m.get("model") or ""
        if m.get("task", "text-generation") != "text-generation":
            raise WorkerError("input", "backend.task '%s' is not supported (text-generation)"
                              % m.get("task"))
        if m.get("threads"):
            torch.set_num_threads(int(m["threads"]))
        device = self.resolve_device(m.get("device"))
        dtype = self.resolve_dtype(m.get("torch_dtype"), device)
        seed = m.get("seed")
        if seed is not None and seed >= 0:
            torch.manual_seed(seed)
        self.use_cache = bool(m.get("use_cache", True))
        before = memory_snapshot(self.use_cuda)
        self.sync()
        t0 = time.monotonic_ns()
        if name.startswith("torch-tiny:"):
            info = self.load_tiny(name[len("torch-tiny:"):], device, dtype, m)
        elif name.startswith("synthetic:") or m.get("no_weights"):
            info = self.load_synthetic(name, device, dtype, m)
        else:
            info = self.load_pretrained(name, device, dtype, m)
        self.sync()
        t1 = time.monotonic_ns()
        after = memory_snapshot(self.use_cuda)
        self.device = device
        self.model.eval()
        p = next(self.model.parameters())
        self.input_device = self.input_embedding_device()
        info.update(
            load_s=(t1 - t0) / 1e9,
            t_start_ns=t0,
            t_end_ns=t1,
            device=str(p.device),
            dtype=str(p.dtype).replace("torch.", ""),
            n_params=sum(x.numel() for x in self.model.parameters()),
            context_length=self.context,
            tokenizer=self.tok.name,
            pad_token_id=self.tok.pad_id,
            memory_before=before,
            memory_after=after,
        )
        log("loaded %s on %s (%s, %d params) in %.2f s" % (
            name, info["device"], info["dtype"], info["n_params"], info["load_s"]))
        return info

    def input_embedding_device(self):
        if self.kind == "tiny":
            return next(self.model.parameters()).device
        return self.model.get_input_embeddings().weight.device

    def load_tiny(self, spec, device, dtype, m):
        o = parse_tiny_spec(spec)
        cls = build_tiny_class()
        self.model = cls(259, o["dim"], o["layers"], o["heads"], o["ctx"])
        self.model.to(device=device, dtype=torch.float32 if dtype == "auto" else dtype)
        self.tok = ByteTokenizer(m.get("pad_token_id"))
        self.kind, self.context = "tiny", o["ctx"]
        return {"arch": "torch-tiny", "synthetic": True, "options": o}

    def auto_dtype(self, dtype, device):
        if dtype != "auto":
            return dtype
        return torch.float16 if device.type == "cuda" else torch.float32

    def build_from_config(self, config, device, dtype, trust):
        kw = {dtype_key(): dtype}
        if trust:
            kw["trust_remote_code"] = True
        ctx = getattr(torch.device(device), "__enter__", None)
        if ctx is not None:  # torch >= 2.0: build the weights on the device directly
            with torch.device(device):
                model = transformers.AutoModelForCausalLM.from_config(config, **kw)
        else:
            model = transformers.AutoModelForCausalLM.from_config(config, **kw)
        return model.to(device)

    def load_synthetic(self, name, device, dtype, m):
        self.need_transformers("model '%s'" % name)
        dtype = self.auto_dtype(dtype, device)
        trust = bool(m.get("trust_remote_code"))
        if name.startswith("synthetic:"):
            preset = name[len("synthetic:"):].split("?")[0]
            config, ctx = preset_config(preset)
            self.tok = ByteTokenizer(m.get("pad_token_id"))
            arch = PRESETS[preset][0]
        else:  # no_weights: the real model's config, random weights
            config = transformers.AutoConfig.from_pretrained(name, trust_remote_code=trust)
            ctx = getattr(config, "max_position_embeddings", None) or getattr(
                config, "n_positions", 2048
            )
            arch = getattr(config, "model_type", "?")
            try:
                tok = transformers.AutoTokenizer.from_pretrained(
                    name, trust_remote_code=trust, padding_side="left"
                )
                self.tok = HFTokenizer(tok, m.get("pad_token_id"))
            except Exception as e:
                log("no tokenizer for %s (%s); using bytes" % (name, e))
                self.tok = ByteTokenizer(m.get("pad_token_id"))
        self.model = self.build_from_config(config, device, dtype, trust)
        self.kind, self.context = "hf", int(ctx)
        return {"arch": arch, "synthetic": True}

    def quantization(self, m):
        if not (m.get("load_in_8bit") or m.get("load_in_4bit")):
            return None
        try:
            importlib.import_module("bitsandbytes")
        except Exception as e:
            raise WorkerError(
                "env",
                "load_in_%s needs bitsandbytes (%s): pip install bitsandbytes"
                % ("8bit" if m.get("load_in_8bit") else "4bit", e),
            )
        if m.get("load_in_8bit"):
            return transformers.BitsAndBytesConfig(load_in_8bit=True)
        return transformers.BitsAndBytesConfig(load_in_4bit=True)

    def load_pretrained(self, name, device, dtype, m):
        self.need_transformers("model '%s'" % name)
        trust = bool(m.get("trust_remote_code"))
        tok = transformers.AutoTokenizer.from_pretrained(
            name, trust_remote_code=trust, padding_side="left"
        )
        self.tok = HFTokenizer(tok, m.get("pad_token_id"))
        kw = {dtype_key(): dtype, "trust_remote_code": trust}
        quant = self.quantization(m)
        device_map = m.get("device_map")
        max_memory = m.get("max_memory") or None
        if quant is not None:
            kw["quantization_config"] = quant
        if max_memory:
            kw["max_memory"] = {int(k) if str(k).isdigit() else k: v for k, v in max_memory.items()}
        if device_map or quant is not None or max_memory:
            kw["device_map"] = device_map or ("auto" if device.type == "cuda" else str(device))
        self.model = transformers.AutoModelForCausalLM.from_pretrained(name, **kw)
        if "device_map" not in kw:
            self.model.to(device)
        cfg = self.model.config
        self.kind = "hf"
        self.context = int(
            getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", 0) or 0
        ) or None
        info = {"arch": getattr(cfg, "model_type", "?"), "synthetic": False}
        if getattr(self.model, "hf_device_map", None):
            info["device_map"] = {k: str(v) for k, v in self.model.hf_device_map.items()}
        return info

    # ---- generate -----------------------------------------------------------

    def prompt_ids(self, r, chat, limit):
        prompt, system = r.get("prompt") or "", r.get("system_prompt")
        extra = r.get("extra_params") or {}
        kwargs = dict(extra.get("chat_template_kwargs") or {})
        if "reasoning_effort" in extra:
            kwargs["reasoning_effort"] = extra["reasoning_effort"]
        use_chat = chat if chat is not None else "chat_template_kwargs" in extra
        ids = None
        if use_chat:
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": prompt}
            ]
            text = self.tok.render_chat(messages, kwargs)
            if text is not None:
                ids = self.tok.encode(text, add_special=False)
        if ids is None:
            text = ("%s\n\n%s" % (system, prompt)) if system else prompt
            ids = self.tok.encode(text)
        truncated = limit is not None and len(ids) > limit
        if truncated:  # keep the end: the question usually comes last
            ids = ids[len(ids) - limit:]
        return ids, truncated

    def gen_settings(self, m):
        g = {"max_new_tokens": int(m["max_new_tokens"])}
        if m.get("min_new_tokens"):
            g["min_new_tokens"] = int(m["min_new_tokens"])
        if m.get("ignore_eos"):
            g["min_new_tokens"] = g["max_new_tokens"]
        do_sample = m.get("do_sample")
        temperature = m.get("temperature")
        if do_sample is None and temperature is not None:
            do_sample = temperature > 0  # as the native backend reads it
        if do_sample is not None:
            g["do_sample"] = bool(do_sample)
        if g.get("do_sample"):
            for key in ("temperature", "top_p", "top_k"):
                if m.get(key) is not None:
                    g[key] = m[key]
        return g

    def op_generate(self, m):
        if self.model is None:
            raise WorkerError("input", "no model loaded")
        reqs = m.get("requests") or []
        if not reqs:
            raise WorkerError("input", "generate without requests")
        gen = self.gen_settings(m)
        extra = dict(m.get("extra") or {})
        chat = extra.pop("chat_template", None)
        limit = None
        if self.context:
            limit = max(1, self.context - gen["max_new_tokens"])
        rows, truncated = [], []
        for r in reqs:
            ids, cut = self.prompt_ids(r, chat, limit)
            rows.append(ids)
            truncated.append(cut)
        self.n_truncated += sum(truncated)
        width = max(len(x) for x in rows)
        pad = self.tok.pad_id
        # Left padding: every row's last prompt token sits at the same position.
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in rows],
                                 device=self.input_device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in rows],
                            device=self.input_device)
        seed = m.get("seed")
        if seed is not None and seed >= 0:
            torch.manual_seed(int(seed))

        self.current_id = m.get("id")
        streamer = make_streamer()
        try:
            self.sync()
            t_start = time.monotonic_ns()
            with torch.no_grad():
                if self.kind == "tiny":
                    out = self.model.generate(input_ids, mask, gen, self.tok.eos_ids, pad,
                                              streamer, self.cancelled)
                else:
                    kw = dict(gen, **extra)
                    kw.update(pad_token_id=pad, streamer=streamer, use_cache=self.use_cache,
                              stopping_criteria=transformers.StoppingCriteriaList(
                                  [cancel_criteria(self.cancelled)]))
                    out = self.model.generate(input_ids=input_ids, attention_mask=mask, **kw)
            self.sync()
            t_done = time.monotonic_ns()
            cancelled = self.cancelled()
        finally:
            self.current_id = None

        new = out[:, width:].tolist()
        steps = streamer.steps
        results = []
        for i, r in enumerate(reqs):
            n = len(new[i])
            for j, t in enumerate(new[i]):
                if t in self.tok.eos_ids:
                    n = j + 1  # EOS counts as generated, as transformers counts it
                    break
            n = min(n, len(steps))
            results.append({
                "index": r.get("index"),
                "prompt_tokens": len(rows[i]),
                "completion_tokens": n,
                "token_ns": steps[:n],
                "truncated": truncated[i],
            })
        self.n_generate += 1
        self.n_requests += len(reqs)
        self.n_tokens += sum(x["completion_tokens"] for x in results)
        return {"t_start_ns": t_start, "t_done_ns": t_done, "steps": len(steps),
                "cancelled": cancelled, "results": results}

    # ---- stats, unload ------------------------------------------------------

    def op_stats(self, m):
        return {
            "loaded": self.model is not None,
            "generate_calls": self.n_generate,
            "requests": self.n_requests,
            "tokens": self.n_tokens,
            "prompts_truncated": self.n_truncated,
            "memory": memory_snapshot(self.use_cuda) if torch is not None else None,
        }

    def op_unload(self, m):
        if torch is None:
            return {"was_loaded": False}
        before = memory_snapshot(self.use_cuda)
        was = self.model is not None
        self.model = self.tok = None
        gc.collect()
        if self.use_cuda:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        after = memory_snapshot(self.use_cuda)
        freed = sum(
            b["allocated_bytes"] - a["allocated_bytes"]
            for b, a in zip(before.get("cuda", []), after.get("cuda", []))
        )
        return {"was_loaded": was, "memory_before": before, "memory_after": after,
                "cuda_freed_bytes": freed}


class Timing:
    """Records time.monotonic_ns() at every step's tokens. transformers passes the
    prompt to put() before generating; it is not a token."""

    def __init__(self):
        self.steps = []
        self.prompt_seen = False

    def put(self, value):
        # The prompt comes as (batch, length), each step's tokens as (batch,).
        if not self.prompt_seen and getattr(value, "dim", lambda: 1)() >= 2:
            self.prompt_seen = True
            return
        # transformers hands over next_tokens.cpu(): the step's kernels are done.
        self.steps.append(time.monotonic_ns())

    def end(self):
        pass


def make_streamer():
    if transformers is not None:
        base = getattr(transformers, "generation", None)
        base = getattr(base, "BaseStreamer", None) if base else None
        if base is not None:
            return type("TimingStreamer", (Timing, base), {})()
    return Timing()


def cancel_criteria(flag):
    new_style = version_tuple(transformers.__version__) >= (4, 39)

    class Cancel(transformers.StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            stop = bool(flag())
            if new_style:  # a per-row verdict
                return torch.full((input_ids.shape[0],), stop, dtype=torch.bool,
                                  device=input_ids.device)
            return stop

    return Cancel()


def main():
    # The protocol gets a private copy of stdout; fd 1 then points at stderr, so
    # that a print() here or in any library cannot break a reply line.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    torch_error, transformers_error = import_libraries()
    worker = Worker(proto)
    worker.send(handshake(torch_error, transformers_error))
    code = worker.serve()
    proto.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Writes a llama or qwen2 GGUF file with random F32 or F16 weights and a stand-in
SentencePiece vocabulary, for llama.cpp's llama-quantize and llama-bench to work on
(scripts/check-llamacpp.sh, bench/engine_vs_llamacpp.sh).

Shapes are given on the command line or by preset (the published config.json values
of TinyLlama-1.1B and Qwen2.5-0.5B). Weights are normal with standard deviation 0.02
(norms 1, qwen2's q/k/v biases 0.02), seeded. The vocabulary: <unk>, <s>, </s>, the 256
byte tokens <0x00>..<0xFF>, then "t<n>" pieces; enough for llama.cpp to load the file,
its text is meaningless. GGUF layout as the format documents it (ggml's docs/gguf.md):
header, key/values, tensor infos, data aligned to 32 bytes.

With --vocab-from FILE.gguf the vocabulary is a real one instead: every tokenizer.*
key of FILE (a vocab-only GGUF such as llama.cpp's models/ggml-vocab-*.gguf) is copied
as it is, and the vocabulary's size sets --vocab; --chat-template adds
tokenizer.chat_template. Such a file runs text prompts through the real tokenizer and
template (tests/integration/test_run_native_vocab.sh).

Usage: gguf_random.py OUT [--preset tinyllama-1.1b|qwen2.5-0.5b] [--arch llama|qwen2]
       [--embd N --ff N --layers N --heads N --kv-heads N --vocab N] [--type f32|f16]
       [--tied] [--seed S] [--vocab-from FILE.gguf] [--chat-template TEXT]
"""
import argparse
import struct
import sys

import numpy as np

PRESETS = {
    "tinyllama-1.1b": dict(arch="llama", embd=2048, ff=5632, layers=22, heads=32, kv=4,
                           vocab=32000, tied=False, base=10000.0, eps=1e-5),
    "qwen2.5-0.5b": dict(arch="qwen2", embd=896, ff=4864, layers=24, heads=14, kv=2,
                         vocab=151936, tied=True, base=1000000.0, eps=1e-6),
}

U32, F32, STRING, ARRAY, I32 = 4, 6, 8, 9, 5


def kv_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def tokenizer_kvs(path):
    """The tokenizer.* key/values of a GGUF file as raw bytes (key, type, value), in
    file order, and the number of tokens; read from the format's own layout."""
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    data = open(path, "rb").read()
    if data[:4] != b"GGUF":
        raise SystemExit(f"gguf_random: {path}: not a GGUF file")
    n_kv = struct.unpack_from("<Q", data, 16)[0]
    pos, out, n_tokens = 24, [], None

    def skip_value(t, pos):
        if t in sizes:
            return pos + sizes[t]
        if t == STRING:
            return pos + 8 + struct.unpack_from("<Q", data, pos)[0]
        if t == ARRAY:
            et, n = struct.unpack_from("<IQ", data, pos)
            pos += 12
            if et in sizes:
                return pos + n * sizes[et]
            for _ in range(n):
                pos = skip_value(et, pos)
            return pos
        raise SystemExit(f"gguf_random: {path}: value type {t} unknown")

    for _ in range(n_kv):
        start = pos
        klen = struct.unpack_from("<Q", data, pos)[0]
        key = data[pos + 8:pos + 8 + klen].decode()
        pos += 8 + klen
        t = struct.unpack_from("<I", data, pos)[0]
        end = skip_value(t, pos + 4)
        if key.startswith("tokenizer."):
            out.append((key, data[start:end]))
            if key == "tokenizer.ggml.tokens":
                n_tokens = struct.unpack_from("<Q", data, pos + 8)[0]
        pos = end
    if n_tokens is None:
        raise SystemExit(f"gguf_random: {path}: no tokenizer.ggml.tokens")
    return out, n_tokens


class Writer:
    def __init__(self):
        self.kv, self.n_kv, self.tensors = [], 0, []

    def add(self, key, vtype, payload):
        self.kv.append(kv_string(key) + struct.pack("<I", vtype) + payload)
        self.n_kv += 1

    def raw(self, blob):
        """A key/value already encoded (key, type and value)."""
        self.kv.append(blob)
        self.n_kv += 1

    def u32(self, key, v):
        self.add(key, U32, struct.pack("<I", v))

    def f32(self, key, v):
        self.add(key, F32, struct.pack("<f", v))

    def str(self, key, v):
        self.add(key, STRING, kv_string(v))

    def arr(self, key, etype, items):
        if etype == STRING:
            body = b"".join(kv_string(s) for s in items)
        else:
            body = np.asarray(items, dtype="<f4" if etype == F32 else "<i4").tobytes()
        self.add(key, ARRAY, struct.pack("<IQ", etype, len(items)) + body)

    def tensor(self, name, shape, make):
        """shape: numpy order (rows, cols); make() returns the array when writing."""
        self.tensors.append((name, shape, make))

    def save(self, path, ggml_type):
        infos, offset, sizes = [], 0, []
        for name, shape, _ in self.tensors:
            n = int(np.prod(shape))
            t = ggml_type if len(shape) == 2 else 0  # vectors stay F32
            size = n * (2 if t == 1 else 4)
            dims = list(reversed(shape))
            infos.append(kv_string(name) + struct.pack("<I", len(dims)) +
                         b"".join(struct.pack("<Q", d) for d in dims) +
                         struct.pack("<IQ", t, offset))
            sizes.append((t, size))
            offset += (size + 31) // 32 * 32
        with open(path, "wb") as f:
            f.write(b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), self.n_kv))
            for kv in self.kv:
                f.write(kv)
            for info in infos:
                f.write(info)
            f.write(b"\0" * ((-f.tell()) % 32))
            for (name, shape, make), (t, size) in zip(self.tensors, sizes):
                a = make().astype("<f2" if t == 1 else "<f4")
                f.write(a.tobytes())
                f.write(b"\0" * ((-size) % 32))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--arch", choices=["llama", "qwen2"], default="llama")
    for k, d in (("embd", 256), ("ff", 512), ("layers", 2), ("heads", 4), ("kv-heads", 2),
                 ("vocab", 512)):
        ap.add_argument("--" + k, type=int, default=d)
    ap.add_argument("--type", choices=["f32", "f16"], default="f32")
    ap.add_argument("--tied", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vocab-from", metavar="FILE.gguf")
    ap.add_argument("--chat-template")
    a = ap.parse_args()
    p = dict(arch=a.arch, embd=a.embd, ff=a.ff, layers=a.layers, heads=a.heads,
             kv=a.kv_heads, vocab=a.vocab, tied=a.tied,
             base=1000000.0 if a.arch == "qwen2" else 10000.0,
             eps=1e-6 if a.arch == "qwen2" else 1e-5)
    if a.preset:
        p = dict(PRESETS[a.preset])
    vocab_kvs = None
    if a.vocab_from:
        vocab_kvs, p["vocab"] = tokenizer_kvs(a.vocab_from)
    if p["vocab"] < 260 or p["embd"] % p["heads"] or p["heads"] % p["kv"]:
        print("gguf_random: vocab must be >= 260 and heads divide evenly", file=sys.stderr)
        return 2
    arch, D, hd = p["arch"], p["embd"], p["embd"] // p["heads"]
    w = Writer()
    w.str("general.architecture", arch)
    w.str("general.name", f"random {a.preset or arch}")
    w.u32("general.alignment", 32)
    w.u32(f"{arch}.context_length", 2048)
    w.u32(f"{arch}.embedding_length", D)
    w.u32(f"{arch}.feed_forward_length", p["ff"])
    w.u32(f"{arch}.block_count", p["layers"])
    w.u32(f"{arch}.attention.head_count", p["heads"])
    w.u32(f"{arch}.attention.head_count_kv", p["kv"])
    w.u32(f"{arch}.rope.dimension_count", hd)
    w.f32(f"{arch}.rope.freq_base", p["base"])
    w.f32(f"{arch}.attention.layer_norm_rms_epsilon", p["eps"])
    V = p["vocab"]
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"t{i}" for i in range(V - len(tokens))]
    types = [2, 3, 3] + [6] * 256 + [1] * (V - 259)
    if vocab_kvs:
        for key, blob in vocab_kvs:
            if key != "tokenizer.chat_template" or a.chat_template is None:
                w.raw(blob)
    else:
        w.str("tokenizer.ggml.model", "llama")
        w.arr("tokenizer.ggml.tokens", STRING, tokens)
        w.arr("tokenizer.ggml.scores", F32, [-float(i) for i in range(V)])
        w.arr("tokenizer.ggml.token_type", I32, types)
        w.u32("tokenizer.ggml.bos_token_id", 1)
        w.u32("tokenizer.ggml.eos_token_id", 2)
        w.u32("tokenizer.ggml.unknown_token_id", 0)
    if a.chat_template is not None:
        w.str("tokenizer.chat_template", a.chat_template)

    rng = np.random.default_rng(a.seed)
    rand = lambda *shape: (lambda: rng.standard_normal(shape, dtype=np.float32) * 0.02)
    ones = lambda n: (lambda: np.ones(n, dtype=np.float32))
    qd, kvd = p["heads"] * hd, p["kv"] * hd
    w.tensor("token_embd.weight", (V, D), rand(V, D))
    if not p["tied"]:
        w.tensor("output.weight", (V, D), rand(V, D))
    w.tensor("output_norm.weight", (D,), ones(D))
    for l in range(p["layers"]):
        b = f"blk.{l}."
        w.tensor(b + "attn_norm.weight", (D,), ones(D))
        w.tensor(b + "attn_q.weight", (qd, D), rand(qd, D))
        w.tensor(b + "attn_k.weight", (kvd, D), rand(kvd, D))
        w.tensor(b + "attn_v.weight", (kvd, D), rand(kvd, D))
        if arch == "qwen2":
            w.tensor(b + "attn_q.bias", (qd,), rand(qd))
            w.tensor(b + "attn_k.bias", (kvd,), rand(kvd))
            w.tensor(b + "attn_v.bias", (kvd,), rand(kvd))
        w.tensor(b + "attn_output.weight", (D, qd), rand(D, qd))
        w.tensor(b + "ffn_norm.weight", (D,), ones(D))
        w.tensor(b + "ffn_gate.weight", (p["ff"], D), rand(p["ff"], D))
        w.tensor(b + "ffn_up.weight", (p["ff"], D), rand(p["ff"], D))
        w.tensor(b + "ffn_down.weight", (D, p["ff"]), rand(D, p["ff"]))
    w.save(a.out, 1 if a.type == "f16" else 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

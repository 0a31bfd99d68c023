#!/usr/bin/python3
"""An independent NumPy forward pass for llama, qwen2, qwen3 and phi3 GGUF files.

It reads the GGUF file itself (struct + numpy, nothing from the C code), dequantizes
the weights from the ggml block layouts, runs the transformer in float64 and compares
its logits at the last prompt position with the ones the engine dumped
(`aieb generate --prompt-ids ... --max-tokens 0 --dump-logits FILE`).

RoPE is written from the papers' definitions, not from the engine:
  - llama (RoFormer, Su et al. 2021, eq. 34; Meta's reference code): consecutive
    pairs (x[2i], x[2i+1]) are complex numbers multiplied by exp(i * m * theta_i);
    GGUF's converter permutes q/k rows so that this is the rotation llama files need.
  - qwen2 (GPT-NeoX "rotate_half"): x * cos + rotate_half(x) * sin with the angles
    repeated over both halves, i.e. pairs (x[i], x[i + d/2]).
  theta_i = base^(-2i/d), divided by rope_freqs[i] when the file has that tensor;
  positions are divided by rope.scaling.factor when rope.scaling.type is linear
  ("position interpolation", Chen et al. 2023).
qwen3 and phi3 rotate like qwen2 (Hugging Face's Qwen3 and Phi3 models use rotate_half).
Architecture differences, from the models' definitions (Hugging Face transformers'
modeling_qwen3.py / modeling_phi3.py) and GGUF's tensor names:
  - qwen3: q and k are RMS-normalized per head (attn_q_norm, attn_k_norm, head_dim
    values each) after the projection and before RoPE; no biases.
  - phi3: attn_qkv holds q, k and v rows one after the other; ffn_up holds
    2 x feed_forward_length rows, the gate's first, then up's (gate_up_proj.chunk(2)).

Usage: ref_forward.py MODEL --ids "1 2 3" --logits FILE [FILE...] --tol T [--rope STYLE]
Prints the relative error max|engine - ref| / max|ref| of each file; exits 0 when
all are within T, 1 when one is not, 2 on bad input.
"""
import argparse
import struct
import sys

import numpy as np

GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0, GGML_BF16 = 0, 1, 2, 8, 30

# GGUF metadata value types: (struct code, size)
SCALARS = {0: ("<B", 1), 1: ("<b", 1), 2: ("<H", 2), 3: ("<h", 2), 4: ("<I", 4),
           5: ("<i", 4), 6: ("<f", 4), 7: ("<?", 1), 10: ("<Q", 8), 11: ("<q", 8),
           12: ("<d", 8)}
STRING, ARRAY = 8, 9


class Reader:
    def __init__(self, data):
        self.data, self.off = data, 0

    def take(self, fmt, size):
        v = struct.unpack_from(fmt, self.data, self.off)[0]
        self.off += size
        return v

    def string(self):
        n = self.take("<Q", 8)
        s = self.data[self.off:self.off + n]
        self.off += n
        return s.decode("utf-8", errors="replace")

    def value(self, vt):
        if vt in SCALARS:
            return self.take(*SCALARS[vt])
        if vt == STRING:
            return self.string()
        if vt == ARRAY:
            et, n = self.take("<I", 4), self.take("<Q", 8)
            return [self.value(et) for _ in range(n)]
        raise ValueError(f"unknown GGUF value type {vt}")


def dequantize(raw, ggml_type, n):
    """Values of a tensor from its bytes (ggml block layouts, ggml-common.h)."""
    if ggml_type == GGML_F32:
        return np.frombuffer(raw, "<f4", n).astype(np.float64)
    if ggml_type == GGML_F16:
        return np.frombuffer(raw, "<f2", n).astype(np.float64)
    if ggml_type == GGML_BF16:
        bits = np.frombuffer(raw, "<u2", n).astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64)
    if ggml_type == GGML_Q8_0:  # fp16 d, 32 x int8: value = d * q
        blocks = np.frombuffer(raw, np.dtype([("d", "<f2"), ("q", "i1", 32)]), n // 32)
        return (blocks["d"].astype(np.float64)[:, None] * blocks["q"]).reshape(-1)
    if ggml_type == GGML_Q4_0:  # fp16 d, 16 bytes: low nibbles elements 0..15, high 16..31
        blocks = np.frombuffer(raw, np.dtype([("d", "<f2"), ("q", "u1", 16)]), n // 32)
        q = np.concatenate([blocks["q"] & 0x0F, blocks["q"] >> 4], axis=1).astype(np.int32)
        return (blocks["d"].astype(np.float64)[:, None] * (q - 8)).reshape(-1)
    raise ValueError(f"tensor type {ggml_type} not handled by the reference")


def type_bytes(ggml_type, n):
    return {GGML_F32: 4 * n, GGML_F16: 2 * n, GGML_BF16: 2 * n,
            GGML_Q8_0: n // 32 * 34, GGML_Q4_0: n // 32 * 18}[ggml_type]


def read_gguf(path):
    data = open(path, "rb").read()
    r = Reader(data)
    if data[:4] != b"GGUF":
        raise ValueError("not a GGUF file")
    r.off = 4
    version, n_tensors, n_kv = r.take("<I", 4), r.take("<Q", 8), r.take("<Q", 8)
    if version not in (2, 3):
        raise ValueError(f"GGUF version {version}")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.take("<I", 4))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.take("<I", 4)
        dims = [r.take("<Q", 8) for _ in range(n_dims)]
        infos.append((name, dims, r.take("<I", 4), r.take("<Q", 8)))
    align = meta.get("general.alignment", 32)
    start = (r.off + align - 1) // align * align
    tensors = {}
    for name, dims, ggml_type, offset in infos:
        n = int(np.prod(dims))
        raw = data[start + offset:start + offset + type_bytes(ggml_type, n)]
        # GGUF dims are innermost first; numpy shapes are outermost first
        tensors[name] = dequantize(raw, ggml_type, n).reshape(list(reversed(dims)))
    return meta, tensors


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope_pairs(x, angles):
    """RoFormer: (x[2i], x[2i+1]) as a complex number times exp(i * angle_i)."""
    z = (x[..., 0::2] + 1j * x[..., 1::2]) * np.exp(1j * angles)[:, None, :]
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = z.real, z.imag
    return out


def rope_neox(x, angles):
    """GPT-NeoX: x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1]."""
    cos = np.concatenate([np.cos(angles)] * 2, axis=-1)[:, None, :]
    sin = np.concatenate([np.sin(angles)] * 2, axis=-1)[:, None, :]
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def forward(meta, t, ids, rope_style="auto", ffn_order="gate-up"):
    arch = meta["general.architecture"]
    g = lambda k, d=None: meta.get(f"{arch}.{k}", d)
    n_embd, n_layers = g("embedding_length"), g("block_count")
    n_head = g("attention.head_count")
    n_kv = g("attention.head_count_kv", n_head)
    hd = g("attention.key_length", n_embd // n_head)
    n_rot = g("rope.dimension_count", hd)
    base = g("rope.freq_base", 10000.0)
    eps = g("attention.layer_norm_rms_epsilon", 1e-5)
    scale = 1.0
    if g("rope.scaling.type", "none") == "linear":
        scale = 1.0 / g("rope.scaling.factor", 1.0)

    pos = np.arange(len(ids), dtype=np.float64) * scale
    theta = base ** (-np.arange(0, n_rot, 2, dtype=np.float64) / n_rot)
    if "rope_freqs.weight" in t:
        theta = theta / t["rope_freqs.weight"]
    angles = pos[:, None] * theta[None, :]
    if rope_style == "auto":
        rope_style = "neox" if arch in ("qwen2", "qwen3", "phi3") else "pairs"
    rope = rope_neox if rope_style == "neox" else rope_pairs

    def rot(v):  # v: (T, heads, hd); only the first n_rot dims turn
        v = v.copy()
        v[..., :n_rot] = rope(v[..., :n_rot], angles)
        return v

    T = len(ids)
    x = t["token_embd.weight"][ids]
    mask = np.triu(np.full((T, T), -np.inf), k=1)
    for l in range(n_layers):
        p = lambda n: t[f"blk.{l}.{n}"]
        h = rmsnorm(x, p("attn_norm.weight"), eps)
        if f"blk.{l}.attn_qkv.weight" in t:
            qkv = h @ p("attn_qkv.weight").T
            q, k, v = np.split(qkv, [n_head * hd, (n_head + n_kv) * hd], axis=-1)
        else:
            q, k = h @ p("attn_q.weight").T, h @ p("attn_k.weight").T
            v = h @ p("attn_v.weight").T
        if f"blk.{l}.attn_q.bias" in t:
            q, k, v = q + p("attn_q.bias"), k + p("attn_k.bias"), v + p("attn_v.bias")
        q, k = q.reshape(T, n_head, hd), k.reshape(T, n_kv, hd)
        if f"blk.{l}.attn_q_norm.weight" in t:
            q = rmsnorm(q, p("attn_q_norm.weight"), eps)
            k = rmsnorm(k, p("attn_k_norm.weight"), eps)
        q, k = rot(q), rot(k)
        v = v.reshape(T, n_kv, hd)
        k = np.repeat(k, n_head // n_kv, axis=1)  # head j reads kv head j // group
        v = np.repeat(v, n_head // n_kv, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s /= s.sum(axis=-1, keepdims=True)
        o = np.einsum("hts,shd->thd", s, v).reshape(T, n_head * hd)
        x = x + o @ p("attn_output.weight").T
        h = rmsnorm(x, p("ffn_norm.weight"), eps)
        if f"blk.{l}.ffn_gate.weight" in t:
            gate, up = h @ p("ffn_gate.weight").T, h @ p("ffn_up.weight").T
        else:
            gate, up = np.split(h @ p("ffn_up.weight").T, 2, axis=-1)
            if ffn_order == "up-gate":
                gate, up = up, gate
        x = x + (gate / (1 + np.exp(-gate)) * up) @ p("ffn_down.weight").T
    out = t.get("output.weight", t["token_embd.weight"])
    return rmsnorm(x[-1], t["output_norm.weight"], eps) @ out.T


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--ids", required=True)
    ap.add_argument("--logits", nargs="+", required=True)
    ap.add_argument("--tol", type=float, required=True)
    ap.add_argument("--rope", choices=["auto", "pairs", "neox"], default="auto",
                    help="force a rotation style (tests use it to show the check can fail)")
    ap.add_argument("--ffn-order", choices=["gate-up", "up-gate"], default="gate-up",
                    help="halves of a fused ffn_up (the wrong order is a control)")
    a = ap.parse_args()
    try:
        meta, tensors = read_gguf(a.model)
        ids = [int(s) for s in a.ids.replace(",", " ").split()]
        ref = forward(meta, tensors, ids, a.rope, a.ffn_order)
    except (OSError, ValueError, KeyError) as e:
        print(f"ref_forward: {a.model}: {e}", file=sys.stderr)
        return 2
    ok = True
    for path in a.logits:
        got = np.fromfile(path, "<f4").astype(np.float64)
        if got.shape != ref.shape:
            print(f"{path}: {got.size} logits, the reference has {ref.size}")
            ok = False
            continue
        err = np.max(np.abs(got - ref)) / np.max(np.abs(ref))
        same_top = int(np.argmax(got)) == int(np.argmax(ref))
        print(f"{path}: relative error {err:.3g} (tolerance {a.tol:g}), "
              f"argmax {'agrees' if same_top else 'differs'}")
        ok = ok and err <= a.tol
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

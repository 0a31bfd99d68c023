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
                      [--act-q8]
Prints the relative error max|engine - ref| / max|ref| of each file; exits 0 when
all are within T, 1 when one is not, 2 on bad input.
"""
import argparse
import struct
import sys

import numpy as np

GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0, GGML_BF16 = 0, 1, 2, 8, 30
GGML_Q4_1, GGML_Q5_0, GGML_Q5_1, GGML_IQ4_NL = 3, 6, 7, 20
GGML_Q2_K, GGML_Q3_K, GGML_Q4_K, GGML_Q5_K, GGML_Q6_K, GGML_IQ4_XS = 10, 11, 12, 13, 14, 23

K_TYPES = (GGML_Q2_K, GGML_Q3_K, GGML_Q4_K, GGML_Q5_K, GGML_Q6_K, GGML_IQ4_XS)

# (values per block, bytes per block) of the block structs in ggml-common.h
BLOCKS = {GGML_F32: (1, 4), GGML_F16: (1, 2), GGML_BF16: (1, 2), GGML_Q8_0: (32, 34),
          GGML_Q4_0: (32, 18), GGML_Q4_1: (32, 20), GGML_Q5_0: (32, 22), GGML_Q5_1: (32, 24),
          GGML_IQ4_NL: (32, 18), GGML_Q2_K: (256, 84), GGML_Q3_K: (256, 110),
          GGML_Q4_K: (256, 144), GGML_Q5_K: (256, 176), GGML_Q6_K: (256, 210),
          GGML_IQ4_XS: (256, 136)}

# kvalues_iq4nl of ggml-common.h: the 16 levels of IQ4_NL and IQ4_XS
IQ4_LEVELS = np.array([-127, -104, -83, -65, -49, -35, -22, -10,
                       1, 13, 25, 38, 53, 69, 89, 113], dtype=np.float64)

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
    if ggml_type in BLOCKS:
        return dequantize_more(raw, ggml_type, n)
    raise ValueError(f"tensor type {ggml_type} not handled by the reference")


def nibbles(qs):
    """(blocks, 16) bytes -> (blocks, 32): low nibbles are elements 0..15, high 16..31."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int64)


def bits(raw_bytes, count):
    """(blocks, k) bytes -> (blocks, count) bits, bit j of the little-endian bytes first."""
    return np.unpackbits(raw_bytes, axis=1, bitorder="little")[:, :count].astype(np.int64)


def f16(a):
    return a.astype(np.float64)


def dequantize_more(raw, t, n):
    """The other block types; comments give the value of an element as ggml defines it."""
    nb = n // BLOCKS[t][0]
    if t == GGML_Q4_1:  # d, m, 16 bytes of nibbles: d * q + m
        b = np.frombuffer(raw, np.dtype([("d", "<f2"), ("m", "<f2"), ("q", "u1", 16)]), nb)
        return (f16(b["d"])[:, None] * nibbles(b["q"]) + f16(b["m"])[:, None]).reshape(-1)
    if t in (GGML_Q5_0, GGML_Q5_1):  # (d, m,) 32 high bits, nibbles: d * q5 (- 16 | + m)
        fields = [("d", "<f2")] + ([("m", "<f2")] if t == GGML_Q5_1 else [])
        b = np.frombuffer(raw, np.dtype(fields + [("h", "u1", 4), ("q", "u1", 16)]), nb)
        q = nibbles(b["q"]) + 16 * bits(b["h"], 32)
        if t == GGML_Q5_0:
            return (f16(b["d"])[:, None] * (q - 16)).reshape(-1)
        return (f16(b["d"])[:, None] * q + f16(b["m"])[:, None]).reshape(-1)
    if t == GGML_IQ4_NL:  # d, nibbles indexing the 16 levels
        b = np.frombuffer(raw, np.dtype([("d", "<f2"), ("q", "u1", 16)]), nb)
        return (f16(b["d"])[:, None] * IQ4_LEVELS[nibbles(b["q"])]).reshape(-1)
    if t == GGML_IQ4_XS:  # d, 6-bit scales ls (low 4 bits in scales_l, high 2 in
        # scales_h), sub-block j of 32: d * (ls_j - 32) * level, nibbles per sub-block
        b = np.frombuffer(raw, np.dtype([("d", "<f2"), ("sh", "<u2"), ("sl", "u1", 4),
                                         ("q", "u1", 128)]), nb)
        j = np.arange(8)
        lo = (b["sl"][:, j // 2] >> (4 * (j % 2))) & 0x0F
        hi = (b["sh"][:, None].astype(np.int64) >> (2 * j)) & 3
        ls = (lo | hi << 4).astype(np.int64) - 32  # (nb, 8)
        lv = IQ4_LEVELS[nibbles(b["q"].reshape(nb * 8, 16))].reshape(nb, 8, 32)
        return (f16(b["d"])[:, None, None] * ls[:, :, None] * lv).reshape(-1)
    if t in (GGML_Q2_K, GGML_Q3_K):
        # 2-bit parts: in each half of 128 values, 32 bytes; group g of 32 (g = 0..3 in
        # the half) is bits 2g..2g+1 of those bytes. Sub-blocks of 16 values.
        if t == GGML_Q2_K:
            b = np.frombuffer(raw, np.dtype([("sc", "u1", 16), ("q", "u1", 64), ("d", "<f2"),
                                             ("dmin", "<f2")]), nb)
        else:
            b = np.frombuffer(raw, np.dtype([("hm", "u1", 32), ("q", "u1", 64),
                                             ("sc", "u1", 12), ("d", "<f2")]), nb)
        q = b["q"].reshape(nb, 2, 1, 32).astype(np.int64)
        q = (q >> (2 * np.arange(4)[None, None, :, None])) & 3  # (nb, half, g, 32)
        q = q.reshape(nb, 256)
        if t == GGML_Q2_K:  # d * (scale & 15) * q - dmin * (scale >> 4), per 16 values
            sc = np.repeat(b["sc"].astype(np.int64), 16, axis=1)
            return (f16(b["d"])[:, None] * (sc & 15) * q
                    - f16(b["dmin"])[:, None] * (sc >> 4)).reshape(-1)
        # Q3_K: q - 4 unless the high bit (bit g of hmask[l], g = group 0..7) is set;
        # 6-bit scales: low 4 bits in the nibbles of bytes 0..7 (scales 0-7 low,
        # 8-15 high), top 2 bits in bytes 8..11 (byte 8 + j % 4, bits 2 * (j // 4))
        hm = bits(b["hm"].reshape(nb * 32, 1), 8).reshape(nb, 32, 8).transpose(0, 2, 1)
        q = q - 4 * (1 - hm.reshape(nb, 256))
        j = np.arange(16)
        sb = b["sc"].astype(np.int64)
        lo = np.where(j < 8, sb[:, j % 8] & 0x0F, sb[:, j % 8] >> 4)
        hi = (sb[:, 8 + j % 4] >> (2 * (j // 4))) & 3
        sc = np.repeat((lo | hi << 4) - 32, 16, axis=1)
        return (f16(b["d"])[:, None] * sc * q).reshape(-1)
    if t in (GGML_Q4_K, GGML_Q5_K):
        # d, dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32: j < 4:
        # scale = byte j & 63, min = byte j+4 & 63; j >= 4: scale = low nibble of byte
        # j+4 | (byte j-4 >> 6) << 4, min = high nibble of byte j+4 | (byte j >> 6) << 4.
        # value = d * scale * q - dmin * min; q: per 64 values, 32 bytes: low nibbles
        # are the first 32, high nibbles the next; Q5_K adds bit j of qh[l] as 16.
        fields = [("d", "<f2"), ("dmin", "<f2"), ("sc", "u1", 12)]
        if t == GGML_Q5_K:
            fields.append(("qh", "u1", 32))
        b = np.frombuffer(raw, np.dtype(fields + [("q", "u1", 128)]), nb)
        s = b["sc"].astype(np.int64)
        scale = np.concatenate([s[:, 0:4] & 63, (s[:, 8:12] & 0x0F) | (s[:, 0:4] >> 6) << 4], 1)
        mins = np.concatenate([s[:, 4:8] & 63, (s[:, 8:12] >> 4) | (s[:, 4:8] >> 6) << 4], 1)
        q = b["q"].reshape(nb, 4, 32).astype(np.int64)
        q = np.stack([q & 0x0F, q >> 4], axis=2).reshape(nb, 8, 32)
        if t == GGML_Q5_K:
            q = q + 16 * bits(b["qh"].reshape(nb * 32, 1), 8).reshape(nb, 32, 8).transpose(0, 2, 1)
        return (f16(b["d"])[:, None, None] * scale[:, :, None] * q
                - f16(b["dmin"])[:, None, None] * mins[:, :, None]).reshape(-1)
    if t == GGML_Q6_K:
        # ql 128 bytes, qh 64, 16 int8 scales, d; per half of 128 values (ql 64 bytes,
        # qh 32): value l of group 0 = low nibble of ql[l] | (qh[l] bits 0-1) << 4,
        # group 1 = low nibble of ql[32 + l] | bits 2-3, group 2 = high nibble of ql[l] |
        # bits 4-5, group 3 = high nibble of ql[32 + l] | bits 6-7; d * scale * (q - 32)
        b = np.frombuffer(raw, np.dtype([("ql", "u1", 128), ("qh", "u1", 64),
                                         ("sc", "i1", 16), ("d", "<f2")]), nb)
        ql = b["ql"].reshape(nb, 2, 2, 32).astype(np.int64)  # (half, first/second 32)
        qh = b["qh"].reshape(nb, 2, 32).astype(np.int64)
        groups = [(ql[:, :, 0] & 0x0F) | (qh & 3) << 4,
                  (ql[:, :, 1] & 0x0F) | ((qh >> 2) & 3) << 4,
                  (ql[:, :, 0] >> 4) | ((qh >> 4) & 3) << 4,
                  (ql[:, :, 1] >> 4) | ((qh >> 6) & 3) << 4]
        q = np.stack(groups, axis=2).reshape(nb, 256) - 32
        sc = np.repeat(b["sc"].astype(np.int64), 16, axis=1)
        return (f16(b["d"])[:, None] * sc * q).reshape(-1)
    raise ValueError(f"tensor type {t} not handled by the reference")


def type_bytes(ggml_type, n):
    per, size = BLOCKS[ggml_type]
    return n // per * size


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
    tensors, types = {}, {}
    for name, dims, ggml_type, offset in infos:
        types[name] = ggml_type
        n = int(np.prod(dims))
        raw = data[start + offset:start + offset + type_bytes(ggml_type, n)]
        # GGUF dims are innermost first; numpy shapes are outermost first
        tensors[name] = dequantize(raw, ggml_type, n).reshape(list(reversed(dims)))
    return meta, tensors, types


def act_q8(h, block=32):
    """Rows rounded as int8 per `block` values with scale max|x| / 127 (ties to even):
    what the engine multiplies block-quantized weights with: per 32 (Q8_0's own layout)
    for the blocks of 32, per 256 for the K-quant super-blocks."""
    b = h.reshape(h.shape[0], -1, block)
    amax = np.max(np.abs(b), axis=-1, keepdims=True)
    d = amax / 127
    q = np.rint(np.divide(b, d, out=np.zeros_like(b), where=d > 0))
    return (q * d).reshape(h.shape)


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


def forward(meta, t, ids, rope_style="auto", types=None, q8=False, ffn_order="gate-up"):
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

    def mm(h, name):  # h @ W^T, h rounded like the engine's activations if asked
        ty = types.get(name, GGML_F32) if q8 else GGML_F32
        if ty in K_TYPES:
            h = act_q8(h, 256)
        elif ty not in (GGML_F32, GGML_F16, GGML_BF16):
            h = act_q8(h)
        return h @ t[name].T

    T = len(ids)
    x = t["token_embd.weight"][ids]
    mask = np.triu(np.full((T, T), -np.inf), k=1)
    for l in range(n_layers):
        p = lambda n: t[f"blk.{l}.{n}"]
        w = lambda n: f"blk.{l}.{n}.weight"
        h = rmsnorm(x, p("attn_norm.weight"), eps)
        if f"blk.{l}.attn_qkv.weight" in t:
            qkv = mm(h, w("attn_qkv"))
            q, k, v = np.split(qkv, [n_head * hd, (n_head + n_kv) * hd], axis=-1)
        else:
            q, k, v = mm(h, w("attn_q")), mm(h, w("attn_k")), mm(h, w("attn_v"))
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
        x = x + mm(o, w("attn_output"))
        h = rmsnorm(x, p("ffn_norm.weight"), eps)
        if f"blk.{l}.ffn_gate.weight" in t:
            gate, up = mm(h, w("ffn_gate")), mm(h, w("ffn_up"))
        else:
            gate, up = np.split(mm(h, w("ffn_up")), 2, axis=-1)
            if ffn_order == "up-gate":
                gate, up = up, gate
        x = x + mm(gate / (1 + np.exp(-gate)) * up, w("ffn_down"))
    out = "output.weight" if "output.weight" in t else "token_embd.weight"
    return mm(rmsnorm(x[-1:], t["output_norm.weight"], eps), out)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--ids", required=True)
    ap.add_argument("--logits", nargs="+", required=True)
    ap.add_argument("--tol", type=float, required=True)
    ap.add_argument("--rope", choices=["auto", "pairs", "neox"], default="auto",
                    help="force a rotation style (tests use it to show the check can fail)")
    ap.add_argument("--act-q8", action="store_true",
                    help="round the inputs of block-quantized products to int8 per 32 values "
                         "(per 256 for K-quant weights) as the engine does, so that only the weights' decoding is compared")
    ap.add_argument("--ffn-order", choices=["gate-up", "up-gate"], default="gate-up",
                    help="halves of a fused ffn_up (the wrong order is a control)")
    a = ap.parse_args()
    try:
        meta, tensors, types = read_gguf(a.model)
        ids = [int(s) for s in a.ids.replace(",", " ").split()]
        ref = forward(meta, tensors, ids, a.rope, types, a.act_q8, a.ffn_order)
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

/* bpe.c - byte-level BPE encoding (see bpe.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bpe.h"
#include "engine/tokenizer.h"

/* ==== pre-tokenizers =======================================================
 *
 * The split expressions are those of each model family's tokenizer.json (Hugging
 * Face "Split" pre-tokenizers), keyed by the name llama.cpp's converter writes to
 * tokenizer.ggml.pre. Case-insensitive contractions are spelled out ('[sS]') so that
 * Unicode case folding (U+017F for 's', U+212A for 'k') cannot widen them. */

#define RE_GPT2         "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_LLAMA3                                                                                  \
    RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"   \
                    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                                   \
    RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"        \
                    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN35                                                                                  \
    RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+"    \
                    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* CJK ideographs, U+0800..U+4E00 and Hangul, as DeepSeek's tokenizers group them */
#define RE_DEEPSEEK_CJK "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"
/* DeepSeek LLM's letters: cased letters of many scripts, listed by range */
#define RE_DEEPSEEK_LETTERS                                                                        \
    "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}"            \
    "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}"         \
    "\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}" \
    "\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}"  \
    "\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}"                 \
    "\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}"                 \
    "\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}"         \
    "\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}"        \
    "\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}"                 \
    "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}"         \
    "\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}"                   \
    "\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}"         \
    "\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}"                  \
    "\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}"                 \
    "\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}"                 \
    "\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}"           \
    "\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+"

typedef struct pre_def {
    const char *names; /* NUL-separated aliases, ends with an empty one */
    int ignore_merges, add_bos;
    const char *re[TOK_MAX_REGEX];
} pre_def;

static const pre_def PRE_DEFS[] = {
    {"llama-bpe\0llama3\0llama-v3\0dbrx\0smaug-bpe\0falcon3\0", 1, 1, {RE_LLAMA3}},
    {"qwen2\0deepseek-r1-qwen\0stablelm2\0", 0, 0, {RE_QWEN2}},
    {"qwen35\0", 0, 0, {RE_QWEN35}},
    {"gpt-2\0mpt\0olmo\0phi-2\0", 0, 0, {RE_GPT2}},
    {"starcoder\0smollm\0refact\0command-r\0codeshell\0", 0, 0, {"\\p{N}", RE_GPT2}},
    {"falcon\0", 0, 0, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]"}},
    {"deepseek-llm\0",
     0,
     0,
     {"[\\r\\n]", RE_DEEPSEEK_LETTERS,
      "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
      "\\s+$", RE_DEEPSEEK_CJK, "\\p{N}+"}},
    {"deepseek-coder\0",
     0,
     0,
     {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_DEEPSEEK_CJK, "\\p{N}"}},
    {"default\0", 0, 0, {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}},
};

const char *bpe_pre_names(void)
{
    return "llama-bpe (llama3, llama-v3, dbrx, smaug-bpe, falcon3), qwen2 (deepseek-r1-qwen, "
           "stablelm2), qwen35, gpt-2 (mpt, olmo, phi-2), starcoder (smollm, refact, "
           "command-r, codeshell), falcon, deepseek-llm, deepseek-coder, default";
}

static const pre_def *find_pre(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof PRE_DEFS / sizeof PRE_DEFS[0]; i++)
        for (const char *a = PRE_DEFS[i].names; *a; a += strlen(a) + 1)
            if (strlen(a) == len && memcmp(a, name, len) == 0)
                return &PRE_DEFS[i];
    return NULL;
}

/* ==== merges (hash of "left right" -> rank) ================================= */

static uint64_t fnv_step(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

#define FNV_INIT 1469598103934665603ull

static int merge_rank(const tokenizer *t, const char *l, size_t nl, const char *r, size_t nr)
{
    uint64_t h = fnv_step(fnv_step(fnv_step(FNV_INIT, l, nl), " ", 1), r, nr);
    size_t mask = t->merge_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        int32_t rank = t->merge_hash[i];
        if (rank < 0)
            return -1;
        aieb_gguf_str m = aieb_gguf_arr_str(t->merges, (uint64_t)rank);
        if (m.len == nl + 1 + nr && memcmp(m.ptr, l, nl) == 0 && m.ptr[nl] == ' ' &&
            memcmp(m.ptr + nl + 1, r, nr) == 0)
            return rank;
    }
}

static int build_merges(tokenizer *t, const aieb_gguf *g, aieb_err *err)
{
    const aieb_gguf_kv *m = aieb_gguf_find(g, "tokenizer.ggml.merges");
    if (!m || m->type != AIEB_GGUF_ARRAY || m->arr_type != AIEB_GGUF_STRING)
        return aieb_errf(err, AIEB_EINVAL,
                         "tokenizer: tokenizer.ggml.merges: missing or not an array of strings "
                         "(byte-level BPE needs its merges)");
    if (m->arr_n > (1u << 26))
        return aieb_errf(err, AIEB_EINVAL, "tokenizer: tokenizer.ggml.merges: %llu entries",
                         (unsigned long long)m->arr_n);
    t->merges = m;
    size_t n = (size_t)m->arr_n, cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    t->merge_hash = malloc(cap * sizeof *t->merge_hash);
    if (!t->merge_hash)
        return aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
    t->merge_cap = cap;
    memset(t->merge_hash, 0xff, cap * sizeof *t->merge_hash);
    for (size_t i = 0; i < n; i++) {
        aieb_gguf_str s = aieb_gguf_arr_str(m, i);
        /* split at the first space after the first byte; one without is never used */
        const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', (size_t)s.len - 1) : NULL;
        if (!sp)
            continue;
        size_t nl = (size_t)(sp - s.ptr);
        if (merge_rank(t, s.ptr, nl, sp + 1, (size_t)s.len - nl - 1) >= 0)
            continue; /* a repeated merge keeps its first rank */
        size_t j = (size_t)fnv_step(FNV_INIT, s.ptr, (size_t)s.len) & (cap - 1);
        while (t->merge_hash[j] >= 0)
            j = (j + 1) & (cap - 1);
        t->merge_hash[j] = (int32_t)i;
    }
    return 0;
}

/* ==== set-up ================================================================ */

/* GPT-2's byte-to-unicode table: printable bytes stand for themselves, the other
 * 68 for U+0100 + their rank among them. */
static void build_byte_table(tokenizer *t)
{
    int next = 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        unsigned cp = printable ? (unsigned)b : (unsigned)next++;
        if (cp < 0x80) {
            t->benc[b][0] = (char)cp;
            t->benc_len[b] = 1;
        } else {
            t->benc[b][0] = (char)(0xc0 | (cp >> 6));
            t->benc[b][1] = (char)(0x80 | (cp & 0x3f));
            t->benc_len[b] = 2;
        }
    }
}

int bpe_init(tokenizer *t, const aieb_gguf *g, aieb_err *err)
{
    aieb_gguf_str pre = {"default", 7};
    int rc = aieb_gguf_get_str(g, "tokenizer.ggml.pre", &pre, err);
    if (rc && rc != AIEB_ENOTFOUND)
        return rc;
    if (rc == AIEB_ENOTFOUND)
        pre = (aieb_gguf_str){"default", 7};
    const pre_def *d = find_pre(pre.ptr, (size_t)pre.len);
    if (!d)
        return aieb_errf(err, AIEB_EUNSUPPORTED,
                         "tokenizer: tokenizer.ggml.pre '%.*s' is not a pre-tokenizer this "
                         "engine knows (%s)",
                         (int)(pre.len > 64 ? 64 : pre.len), pre.ptr, bpe_pre_names());
    snprintf(t->pre, sizeof t->pre, "%.*s", (int)pre.len, pre.ptr);
    t->ignore_merges = d->ignore_merges;
    if (d->add_bos)
        t->add_bos = 1;
    build_byte_table(t);
    if ((rc = build_merges(t, g, err)) != 0)
        return rc;
    for (int i = 0; i < TOK_MAX_REGEX && d->re[i]; i++) {
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *c = pcre2_compile((PCRE2_SPTR)d->re[i], PCRE2_ZERO_TERMINATED,
                                      PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &ec, &eo, NULL);
        if (!c) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ec, msg, sizeof msg);
            return aieb_errf(err, AIEB_EINVAL,
                             "tokenizer: pre-tokenizer '%s' expression %d: %s at offset %zu",
                             t->pre, i, (const char *)msg, (size_t)eo);
        }
        pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* interpreted if JIT is unavailable */
        t->re[t->n_re++] = c;
    }
    t->md = pcre2_match_data_create(4, NULL);
    if (!t->md)
        return aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
    return 0;
}

void bpe_free(tokenizer *t)
{
    for (int i = 0; i < t->n_re; i++)
        pcre2_code_free(t->re[i]);
    t->n_re = 0;
    pcre2_match_data_free(t->md);
    t->md = NULL;
    free(t->merge_hash);
    t->merge_hash = NULL;
}

/* ==== merging one piece ====================================================== */

typedef struct bsym {
    int start, len, prev, next; /* bytes of the encoded piece; len 0 once merged away */
} bsym;

typedef struct bpair {
    int rank, left, right, llen, rlen;
} bpair;

/* Min-heap order: lower rank first, then the leftmost pair. */
static int pair_before(const bpair *a, const bpair *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void pair_push(bpair *h, int *n, bpair p)
{
    int i = (*n)++;
    h[i] = p;
    while (i > 0 && pair_before(&h[i], &h[(i - 1) / 2])) {
        bpair tmp = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

static bpair pair_pop(bpair *h, int *n)
{
    bpair top = h[0];
    h[0] = h[--(*n)];
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && pair_before(&h[l], &h[m]))
            m = l;
        if (r < *n && pair_before(&h[r], &h[m]))
            m = r;
        if (m == i)
            break;
        bpair tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
    return top;
}

/* Scratch buffers for one encode call, grown as pieces need. */
typedef struct scratch {
    char *enc; /* the piece in GPT-2 characters */
    bsym *sym;
    bpair *heap;
    size_t cap; /* bytes of the largest piece they hold */
} scratch;

static int scratch_fit(scratch *s, size_t piece_bytes, aieb_err *err)
{
    if (piece_bytes <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < piece_bytes)
        cap *= 2;
    char *enc = realloc(s->enc, cap * 2);
    if (enc)
        s->enc = enc;
    bsym *sym = realloc(s->sym, cap * sizeof *sym);
    if (sym)
        s->sym = sym;
    bpair *heap = realloc(s->heap, cap * 3 * sizeof *heap); /* pairs + 2 per merge */
    if (heap)
        s->heap = heap;
    if (!enc || !sym || !heap)
        return aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
    s->cap = cap;
    return 0;
}

static void try_merge(const tokenizer *t, const scratch *s, int l, bpair *h, int *nh)
{
    if (l < 0 || s->sym[l].next < 0)
        return;
    int r = s->sym[l].next;
    const bsym *a = &s->sym[l], *b = &s->sym[r];
    int rank = merge_rank(t, s->enc + a->start, (size_t)a->len, s->enc + b->start, (size_t)b->len);
    if (rank >= 0)
        pair_push(h, nh, (bpair){rank, l, r, a->len, b->len});
}

/* Encodes the UTF-8 bytes w[0..n) (one pre-tokenized piece). */
static int merge_piece(tokenizer *t, scratch *s, const char *w, size_t n, tok_out *out,
                       aieb_err *err)
{
    int rc = scratch_fit(s, n, err);
    if (rc)
        return rc;
    int len = 0, n_sym = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)w[i];
        memcpy(s->enc + len, t->benc[b], t->benc_len[b]);
        s->sym[n_sym] = (bsym){len, t->benc_len[b], n_sym - 1, i + 1 < n ? n_sym + 1 : -1};
        len += t->benc_len[b];
        n_sym++;
    }
    if (t->ignore_merges) {
        int id = tokenizer_find(t, s->enc, (size_t)len);
        if (id >= 0)
            return tokenizer_emit(out, id, err);
    }
    int nh = 0;
    for (int i = 0; i + 1 < n_sym; i++)
        try_merge(t, s, i, s->heap, &nh);
    while (nh > 0) {
        bpair p = pair_pop(s->heap, &nh);
        bsym *l = &s->sym[p.left], *r = &s->sym[p.right];
        if (l->len != p.llen || r->len != p.rlen || l->next != p.right)
            continue; /* stale: one side was merged since */
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            s->sym[r->next].prev = p.left;
        try_merge(t, s, l->prev, s->heap, &nh);
        try_merge(t, s, p.left, s->heap, &nh);
    }
    for (int i = 0; i >= 0 && n_sym > 0; i = s->sym[i].next) {
        const bsym *y = &s->sym[i];
        int id = tokenizer_find(t, s->enc + y->start, (size_t)y->len);
        if (id >= 0) {
            if ((rc = tokenizer_emit(out, id, err)) != 0)
                return rc;
            continue;
        }
        /* not a token: each byte of its text that is one (the reference does the same) */
        for (int k = 0; k < y->len; k++) {
            int bid = tokenizer_find(t, s->enc + y->start + k, 1);
            if (bid >= 0 && (rc = tokenizer_emit(out, bid, err)) != 0)
                return rc;
        }
    }
    return 0;
}

/* ==== pre-tokenizing ========================================================== */

static int is_space_nonascii(uint32_t c)
{
    return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
           c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xc0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* A piece: code points [a, b) of the fragment. */
typedef struct span {
    size_t a, b;
} span;

typedef struct spans {
    span *v;
    size_t n, cap;
} spans;

static int spans_add(spans *s, size_t a, size_t b, aieb_err *err)
{
    if (a >= b)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        span *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (span){a, b};
    return 0;
}

/* The code point that starts at subject byte `byte`, searching forward from code point
 * `from` (matches come in order, so a piece is walked once: linear in its length). */
static size_t cp_fwd(const uint32_t *off, size_t from, size_t byte)
{
    while (off[from] < byte)
        from++;
    return from;
}

/* Splits every span of in by expression re into out (matches and the stretches
 * between them). subj is the fragment as matched, off[i] the byte where code point i
 * starts in it. */
static int split(tokenizer *t, pcre2_code *re, const char *subj, const uint32_t *off,
                 const spans *in, spans *out, aieb_err *err)
{
    int rc = 0;
    for (size_t k = 0; k < in->n && !rc; k++) {
        size_t a = in->v[k].a, b = in->v[k].b;
        const char *base = subj + off[a];
        size_t blen = off[b] - off[a], pos = 0, last = a, cur = a;
        while (pos < blen && !rc) {
            int m = pcre2_match(re, (PCRE2_SPTR)base, blen, pos, PCRE2_NO_UTF_CHECK, t->md, NULL);
            if (m == PCRE2_ERROR_NOMATCH)
                break;
            if (m < 0) {
                PCRE2_UCHAR msg[160];
                pcre2_get_error_message(m, msg, sizeof msg);
                return aieb_errf(err, AIEB_EINVAL, "tokenizer: pre-tokenizer '%s': %s", t->pre,
                                 (const char *)msg);
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
            size_t ca = cp_fwd(off, cur, off[a] + ov[0]), cb = cp_fwd(off, ca, off[a] + ov[1]);
            if (cb == ca) { /* an empty match makes no piece; step over one character */
                if (ca >= b)
                    break;
                cur = ca + 1;
                pos = off[cur] - off[a];
                continue;
            }
            cur = cb;
            rc = spans_add(out, last, ca, err);
            if (!rc)
                rc = spans_add(out, ca, cb, err);
            last = cb;
            pos = ov[1];
        }
        if (!rc)
            rc = spans_add(out, last, b, err);
    }
    return rc;
}

int bpe_encode(tokenizer *t, const char *text, size_t len, tok_out *out, aieb_err *err)
{
    if (len == 0)
        return 0;
    if (len > TOK_TEXT_MAX) /* offsets below are 32-bit */
        return aieb_errf(err, AIEB_ETOOBIG,
                         "tokenizer: text of %zu bytes is over the %u-byte limit", len,
                         TOK_TEXT_MAX);
    /* the code points as the reference reads them: the subject the expressions see (every
     * non-ASCII space as U+000B, as the reference does; code points UTF-8 cannot carry
     * as U+E000, a character of no class the expressions name) and each code point's
     * re-encoded bytes */
    uint32_t *off = malloc((len + 1) * sizeof *off);
    char *subj = malloc(len * 4 + 4);
    char *word = malloc(len * 4 + 4);
    uint32_t *woff = malloc((len + 1) * sizeof *woff);
    spans sa = {0}, sb = {0};
    scratch s = {0};
    int rc = 0;
    if (!off || !subj || !word || !woff) {
        rc = aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
        goto done;
    }
    size_t n = 0, sl = 0, wl = 0;
    for (size_t i = 0; i < len;) {
        int cl;
        uint32_t c = tokenizer_utf8_next(text + i, len - i, &cl);
        i += (size_t)cl;
        off[n] = (uint32_t)sl;
        woff[n++] = (uint32_t)wl;
        uint32_t m = c >= 0x80 && is_space_nonascii(c)              ? 0x0b
                     : (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff ? 0xe000
                                                                    : c;
        sl += put_utf8(subj + sl, m);
        wl += put_utf8(word + wl, c > 0x10ffff ? 0xfffd : c);
    }
    off[n] = (uint32_t)sl;
    woff[n] = (uint32_t)wl;
    if ((rc = spans_add(&sa, 0, n, err)) != 0)
        goto done;
    for (int r = 0; r < t->n_re && !rc; r++) {
        sb.n = 0;
        rc = split(t, t->re[r], subj, off, &sa, &sb, err);
        spans tmp = sa;
        sa = sb;
        sb = tmp;
    }
    for (size_t k = 0; k < sa.n && !rc; k++)
        rc =
            merge_piece(t, &s, word + woff[sa.v[k].a], woff[sa.v[k].b] - woff[sa.v[k].a], out, err);
done:
    free(off);
    free(subj);
    free(word);
    free(woff);
    free(sa.v);
    free(sb.v);
    free(s.enc);
    free(s.sym);
    free(s.heap);
    return rc;
}

/* sse_json.h - decoding one SSE data payload into an aieb_sse_event (private to
 * the backend module).
 *
 * Two decoders give the same answer:
 * - sse_json_fast() scans the JSON text once, validating it (RFC 8259 grammar,
 *   UTF-8, escapes) and picking out only the members an event needs, without
 *   building a tree or allocating. It declines anything unusual: invalid or
 *   deeply nested JSON, error chunks, keys with escapes, integers of more than
 *   18 digits, reals that might overflow, \u0000, lone surrogates.
 * - sse_json_slow() builds a jansson tree; it decides whatever the fast one
 *   declined and writes the error messages.
 * Streams carry one small object per token, so the fast path is what keeps the
 * client's CPU per request low (bench/client); tests/fuzz/fuzz_sse.c checks
 * that whenever the fast path accepts, jansson accepts and finds the same event.
 *
 * Rules both follow (duplicate keys: the last one wins, as in jansson):
 * - content: for each object in "choices" in order, delta.content when it is a
 *   non-empty string, else "text" when a non-empty string; the first such wins.
 * - reasoning: delta.reasoning_content when a non-empty string, else
 *   delta.reasoning; the first choice with one wins.
 * - usage: present when "usage" is an object; token counts are integers >= 0,
 *   else -1.
 */
#ifndef AIEB_BACKEND_SSE_JSON_H
#define AIEB_BACKEND_SSE_JSON_H

#include <stddef.h>

#include "aieb/buf.h"
#include "aieb/err.h"
#include "aieb/sse.h"

/* Returns 1 and fills *ev (strings copied into scratch, which is reset first)
 * when the fast scanner accepts s[0..n); returns 0 when it declines (ev and
 * scratch are then unspecified), or AIEB_ETOOBIG / AIEB_ENOMEM from scratch. */
int sse_json_fast(const char *s, size_t n, aieb_buf *scratch, aieb_sse_event *ev);

/* Decodes s[0..n) with jansson. Returns 0 with *ev filled (strings in scratch),
 * AIEB_EFAIL for text that is not a JSON object or is an error chunk (err says
 * which, quoting at most 80 bytes of s), or AIEB_ETOOBIG / AIEB_ENOMEM. */
int sse_json_slow(const char *s, size_t n, aieb_buf *scratch, aieb_sse_event *ev, aieb_err *err);

/* Writes s[0..n) into out (cap bytes, NUL-terminated) as printable ASCII:
 * control and non-ASCII bytes become \xNN; when more than max_bytes of s would
 * be shown, the rest is replaced by "...". Returns out. */
char *sse_quote(const char *s, size_t n, size_t max_bytes, char *out, size_t cap);

#endif

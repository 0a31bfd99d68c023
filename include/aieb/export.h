/* export.h - what libaieb exports.
 *
 * The library is built with -fvisibility=hidden: only functions declared with
 * AIEB_API in these public headers are visible to programs linked against the
 * shared library; everything under src/lib/ stays internal. A test
 * (tests/integration/test_symbols.sh) checks that libaieb.so exports aieb_*
 * names and nothing else.
 */
#ifndef AIEB_EXPORT_H
#define AIEB_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define AIEB_API __attribute__((visibility("default")))
#else
#define AIEB_API
#endif

#endif

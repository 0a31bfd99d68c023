/* embedded.h - files from data/ compiled into the library (see cmake/embed.cmake). */
#ifndef AIEB_UTIL_EMBEDDED_H
#define AIEB_UTIL_EMBEDDED_H

#include <stddef.h>

typedef struct aieb_embedded_file {
    const char *name;          /* file name under data/, e.g. "carbon_intensity.csv" */
    const unsigned char *data; /* contents, followed by one NUL */
    size_t len;                /* length without the NUL */
} aieb_embedded_file;

/* Table generated at build time, ended by an entry whose name is NULL. */
extern const aieb_embedded_file aieb_embedded_files[];

/* Finds an embedded file by name; returns NULL when absent. Can't fail. */
const aieb_embedded_file *aieb_embedded_find(const char *name);

#endif

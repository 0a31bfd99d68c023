/* embedded.c - lookup in the table of files embedded from data/. */
#include <string.h>

#include "util/embedded.h"

const aieb_embedded_file *aieb_embedded_find(const char *name)
{
    for (const aieb_embedded_file *f = aieb_embedded_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

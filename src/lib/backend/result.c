/* result.c - helpers shared by every backend. */
#include <stdlib.h>

#include "aieb/backend.h"

void aieb_result_clear(aieb_result *r)
{
    free(r->chunk_ns);
    free(r->error);
    r->chunk_ns = NULL;
    r->n_chunks = 0;
    r->error = NULL;
}

/* source.c - helpers shared by every energy source. */
#include <math.h>

#include "meter/source.h"

void aieb_reading_clear(aieb_channel_reading *r)
{
    r->energy_j = NAN;
    r->power_w = NAN;
    r->mem_used_mb = NAN;
    r->util_pct = NAN;
    r->temp_c = NAN;
    r->sm_clock_mhz = NAN;
}

const char *aieb_domain_name(aieb_domain d)
{
    switch (d) {
    case AIEB_DOMAIN_GPU:
        return "gpu";
    case AIEB_DOMAIN_CPU:
        return "cpu";
    case AIEB_DOMAIN_DRAM:
        return "dram";
    case AIEB_DOMAIN_RAM:
        return "ram";
    }
    return "?";
}

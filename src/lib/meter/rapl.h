/* rapl.h - what the powercap tree offers, for `aieb probe` (rapl.c). Private to
 * libaieb; the source itself is opened with aieb_rapl_source_open (source.h). */
#ifndef AIEB_METER_RAPL_H
#define AIEB_METER_RAPL_H

#include "aieb/meter.h"

/* Default powercap directory and the environment variable that replaces it. */
#define AIEB_POWERCAP_DEFAULT_ROOT "/sys/class/powercap"
#define AIEB_POWERCAP_ROOT_ENV     "AIEB_POWERCAP_ROOT"

/* The most zones read under one root; more fail with AIEB_ETOOBIG. Real machines
 * have a few per socket (package, core, uncore, dram) plus psys. */
#define AIEB_RAPL_MAX_ZONES 256

/* aieb_rapl_probe (what `aieb probe` shows) is public: include/aieb/meter.h. */

#endif

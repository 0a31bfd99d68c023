/* rapl.h - what the powercap tree offers, for `aieb probe` (rapl.c). Private to
 * libaieb; the source itself is opened with aieb_rapl_source_open (source.h). */
#ifndef AIEB_METER_RAPL_H
#define AIEB_METER_RAPL_H

#include <jansson.h>

/* Default powercap directory and the environment variable that replaces it. */
#define AIEB_POWERCAP_DEFAULT_ROOT "/sys/class/powercap"
#define AIEB_POWERCAP_ROOT_ENV     "AIEB_POWERCAP_ROOT"

/* The most zones read under one root; more fail with AIEB_ETOOBIG. Real machines
 * have a few per socket (package, core, uncore, dram) plus psys. */
#define AIEB_RAPL_MAX_ZONES 256

/* Scans root (NULL: $AIEB_POWERCAP_ROOT, else /sys/class/powercap) and returns a
 * new JSON object: {"root", "usable": bool, "error": message or null, "zones":
 * [{zone, name, interface, readable, why, max_energy_range_uj, role}], ...} -
 * the same description a source's describe() gives, but also when the source
 * cannot open (unreadable energy_uj, no zones). Returns NULL only when out of
 * memory. */
json_t *aieb_rapl_probe(const char *root);

#endif

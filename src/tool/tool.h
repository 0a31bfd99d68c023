/* tool.h - the aieb command's subcommands and shared helpers.
 *
 * The tool is thin (curl's src/ over lib/): each cmd_*.c parses its arguments
 * with getopt_long and calls libaieb. Each returns the process exit status:
 * 0 ok, 1 run failed, 2 usage or config error, 3 environment not usable,
 * 130 interrupted (see aieb_exit_status()).
 */
#ifndef AIEB_TOOL_H
#define AIEB_TOOL_H

#include <jansson.h>

#include "aieb/carbon.h"
#include "aieb/config.h"
#include "aieb/err.h"

#define EXIT_RUN_FAILED  1
#define EXIT_USAGE       2
#define EXIT_ENV         3
#define EXIT_INTERRUPTED 130

/* Subcommands: argv[0] is the subcommand's name; -v/-q were already removed. */
int cmd_run(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_rate(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);

struct aieb_store;
struct aieb_run_files;

/* Loads the run ref names: a directory when one exists at ref, else a run id (or
 * unique prefix, or NAME/RUN_ID) in the results store db (NULL: the default,
 * aieb_store_default_path), opened into *store on first use (close it after).
 * A run from the store has its summary only. Returns 0 or the error of
 * aieb_run_files_load / aieb_store_load_run (AIEB_ENOTFOUND when neither a
 * directory nor a database is there). */
int tool_load_run(const char *ref, const char *db, struct aieb_store **store,
                  struct aieb_run_files *out, aieb_err *err);

/* Prints "aieb: error: <msg>" to stderr and returns the exit status for code. */
int tool_fail(int code, const aieb_err *err);

/* Prints "aieb <sub>: <msg>\nTry 'aieb <sub> --help'." and returns EXIT_USAGE. */
int tool_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets *flags to the aieb_config_load_flags flags of subcommand sub: with
 * lenient (the --lenient option) or AIEB_LENIENT set to 1, true, yes or on (any
 * case), AIEB_CONFIG_LENIENT; unset, empty, 0, false, no or off, 0. Returns 0;
 * for any other AIEB_LENIENT value prints a usage error and returns EXIT_USAGE. */
int tool_config_flags(const char *sub, int lenient, unsigned *flags);

/* Says where the country (part 0), region (1) or figure (2) of c, resolved by
 * aieb_carbon_resolve from the options --country, --region and
 * --carbon-intensity (probe, measure), came from:
 * "default", "env COUNTRY_ISO_CODE", "--country", "table", ...; NULL
 * for a region that is not set. Can't fail. */
const char *tool_carbon_from(const aieb_carbon *c, int part);

/* The carbon object of probe's and measure's JSON: g_per_kwh, basis, iso3,
 * country, region, region_name, year, source, note and from (country, region,
 * g_per_kwh, as tool_carbon_from). Returns NULL when out of memory. */
json_t *tool_carbon_json(const aieb_carbon *c);

/* Resolves cfg's carbon intensity as the run will (metrics.country_iso_code,
 * metrics.region, metrics.carbon_intensity_g_per_kwh) before anything starts;
 * a failure (a country the table lacks) is added to d as an error placed where
 * metrics.country_iso_code came from. Returns 0 or the resolver's code. */
int tool_check_carbon(const aieb_config *cfg, aieb_diags *d);

/* After a load that failed, says on stderr how to let unknown keys through
 * (--lenient, AIEB_LENIENT=1) when d holds unknown-key errors. Can't fail. */
void tool_unknown_keys_hint(const aieb_diags *d, unsigned flags);

#endif

/* viewer_rows.h - the Hugging Face dataset viewer's GET /rows and GET /splits
 * (https://huggingface.co/docs/dataset-viewer), served by the test server
 * openai_server.c from a JSONL file of row objects, with scripted failures
 * and delays for the dataset module's hub client tests.
 *
 * Options (given to openai_server; see viewer_option):
 *   --rows-file F          JSONL, one row object per line (no file: no rows)
 *   --rows-dataset D       only this dataset name exists (404 otherwise)
 *   --rows-config C, --rows-split S   the one config and split (default, train)
 *   --rows-splits LIST     several config/split pairs instead, comma-separated,
 *                          as /splits lists them (not with --rows-config/--rows-split)
 *   --hf-token T           401 unless "Authorization: Bearer T"
 *   --rows-status N        answer with HTTP N and {"error": "scripted failure ..."}
 *   --rows-faults-first K  ... only for the first K viewer requests (default: all)
 *   --rows-delay-ms D      wait D ms before each viewer answer
 *   --no-splits            /splits answers 404, as servers without it do
 */
#ifndef AIEB_FAKE_VIEWER_ROWS_H
#define AIEB_FAKE_VIEWER_ROWS_H

#include <stdatomic.h>
#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#define VIEWER_MAX_SPLITS 32

typedef struct viewer {
    const char *rows_file;   /* NULL: no rows */
    const char *dataset;     /* the only dataset served; NULL: any */
    const char *config;      /* with split: the one pair served (NULL: default) */
    const char *split;       /* NULL: train */
    const char *splits_list; /* "cfg/split,..." instead of config/split */
    const char *token;       /* bearer token required; NULL: none */
    const char *server_name; /* the Server header */
    int fail_status;         /* 0: none */
    long faults_first;       /* -1: every request */
    long delay_ms;
    int no_splits;
    /* filled by viewer_start */
    json_t *rows; /* array of row objects */
    char *pairs_buf;
    const char *cfg[VIEWER_MAX_SPLITS];
    const char *spl[VIEWER_MAX_SPLITS];
    size_t n_pairs;
    atomic_long hits; /* viewer requests so far */
} viewer;

/* Sets the defaults (one pair default/train, no failures). */
void viewer_init(viewer *v);

/* Takes the option key (without "--") with its value. Returns 1 when the
 * option is the viewer's, 0 when it is not (v untouched), -1 when it is but
 * the value is bad. val must outlive v. */
int viewer_option(viewer *v, const char *key, const char *val);

/* Loads the rows file and checks the options, once they are all given.
 * Returns 0, or -1 after a message on stderr (unreadable file, a line that
 * is not a JSON object, a bad or conflicting split list). */
int viewer_start(viewer *v);

/* Answers GET url ("/rows" or "/splits") on c. Sleeps --rows-delay-ms first. */
enum MHD_Result viewer_handle(viewer *v, struct MHD_Connection *c, const char *url);

/* Frees what viewer_start allocated. */
void viewer_free(viewer *v);

#endif

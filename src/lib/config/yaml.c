/* yaml.c - the config module's use of the shared YAML tree (util/yamltree.c):
 * the caps of a config file. Tree building, "<<" merges, duplicate keys and the
 * YAML 1.1 words live there, shared with the reasoning-format registry. */
#include "config/internal.h"

const yt_limits cfg_yaml_limits = {
    .what = "a config file",
    .doc_noun = "configuration",
    .max_file_bytes = AIEB_CONFIG_MAX_FILE_BYTES,
    .max_scalar_bytes = AIEB_CONFIG_MAX_SCALAR_BYTES,
    .max_depth = AIEB_CONFIG_MAX_DEPTH,
    .max_nodes = AIEB_CONFIG_MAX_NODES,
    .max_aliases = AIEB_CONFIG_MAX_ALIASES,
};

_Static_assert(AIEB_CONFIG_MAX_DEPTH <= YT_DEPTH_CEILING, "the YAML tree's stack is too shallow");

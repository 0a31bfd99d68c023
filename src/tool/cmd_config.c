/* cmd_config.c - 'aieb config' (placeholder until the module behind it lands). */
#include <stdio.h>
#include <string.h>

#include "tool.h"

int cmd_config(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: aieb config ...\n\nNot available in this build yet.\n");
        return 0;
    }
    fprintf(stderr, "aieb: error: 'config' is not available in this build yet\n");
    return EXIT_RUN_FAILED;
}

/* cmd_generate.c - 'aieb generate' (placeholder until the module behind it lands). */
#include <stdio.h>
#include <string.h>

#include "tool.h"

int cmd_generate(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: aieb generate ...\n\nNot available in this build yet.\n");
        return 0;
    }
    fprintf(stderr, "aieb: error: 'generate' is not available in this build yet\n");
    return EXIT_RUN_FAILED;
}

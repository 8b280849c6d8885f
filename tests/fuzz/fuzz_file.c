/* fuzz_file.c - the input of a harness as a file (see fuzz_file.h). */
#define _POSIX_C_SOURCE 200809L /* mkstemp */

#include "fuzz_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[256];

const char *mdm_fuzz_input_file(const char *tag, const uint8_t *data, size_t size)
{
    FILE *f;

    if (path[0] == '\0') {
        const char *dir = getenv("TMPDIR");
        int fd;
        snprintf(path, sizeof(path), "%s/mdm-fuzz-%s-XXXXXX", dir && *dir ? dir : "/tmp", tag);
        fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
    }
    f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    return path;
}

/*
 * fuzz_evtx_source.c - libFuzzer harness of the "evtx" source
 * (wevt/source_evtx.c over libevtx): the input is written to a temporary
 * file, opened as an .evtx file, and read to its end, damaged records and
 * all. It exercises libevtx too; a crash inside libevtx is reported as such
 * (the stack names it) and is still a crash of mdmhealth.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp */

#include "source.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[256];

static const char *input_file(void)
{
    if (path[0] == '\0') {
        const char *dir = getenv("TMPDIR");
        int fd;
        snprintf(path, sizeof(path), "%s/mdm-fuzz-evtx-XXXXXX", dir && *dir ? dir : "/tmp");
        fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
    }
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *file = input_file();
    FILE *f = fopen(file, "wb");
    struct mdm_source *src = NULL;
    struct mdm_event ev;
    struct mdm_err err;

    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    if (mdm_source_open(&src, MDM_SOURCE_EVTX, file, &err) != 0)
        return 0;
    mdm_event_init(&ev);
    /* Every record is either returned or reported; the loop ends at MDM_EOF. */
    for (int i = 0; i < 100000; i++) {
        int rc = mdm_source_next(src, &ev, &err);
        if (rc != 0 && rc != MDM_EBADRECORD)
            break;
    }
    mdm_event_free(&ev);
    mdm_source_close(src);
    return 0;
}

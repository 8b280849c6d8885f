/*
 * fuzz_evtx_source.c - libFuzzer harness of the "evtx" source
 * (wevt/source_evtx.c over libevtx): the input is written to a temporary
 * file, opened as an .evtx file, and read to its end, damaged records and
 * all. It exercises libevtx too; a crash inside libevtx is reported as such
 * (the stack names it) and is still a crash of mdmhealth.
 */
#include "wevt/source.h"

#include "fuzz_file.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *file = mdm_fuzz_input_file("evtx", data, size);
    struct mdm_source *src = NULL;
    struct mdm_event ev;
    struct mdm_err err;

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

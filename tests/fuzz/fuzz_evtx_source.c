/*
 * fuzz_evtx_source.c - libFuzzer harness of the "evtx" source
 * (wevt/source_evtx.c over our own reader, wevt/evtx_binxml.c, and libevtx
 * for what the reader refuses): the input is written to a temporary file,
 * opened as an .evtx file, and read to its end, damaged records and all.
 * A changed byte of a chunk fails its CRC-32 and sends that chunk's records
 * to libevtx, so the reader's binary XML parser would rarely see mutated
 * bytes: the same file is then read by the reader alone with the CRC
 * checks off (mdm_evtx_reader_ignore_crc), every record of every chunk.
 * It exercises libevtx too; a crash inside libevtx is reported as such
 * (the stack names it) and is still a crash of mdmhealth.
 */
#include "wevt/evtx_reader.h"
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
    struct mdm_evtx_reader *reader = NULL;

    mdm_event_init(&ev);
    if (mdm_source_open(&src, MDM_SOURCE_EVTX, file, &err) == 0) {
        /* Every record is either returned or reported; the loop ends at MDM_EOF. */
        for (int i = 0; i < 100000; i++) {
            int rc = mdm_source_next(src, &ev, &err);
            if (rc != 0 && rc != MDM_EBADRECORD)
                break;
        }
        mdm_source_close(src);
    }

    /* The reader alone, CRC checks off: any bytes reach the binary XML parser. */
    if (mdm_evtx_reader_open(&reader, file, 1u << 20, &err) == 0) {
        mdm_evtx_reader_ignore_crc(reader);
        for (size_t i = 0; i < mdm_evtx_reader_count(reader); i++) {
            mdm_event_reset(&ev);
            if (mdm_evtx_reader_event(reader, i, &ev, &err) == MDM_ENOMEM)
                break;
        }
        mdm_evtx_reader_close(reader);
    }
    mdm_event_free(&ev);
    return 0;
}

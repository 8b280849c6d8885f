/*
 * fuzz_event_xml.c - libFuzzer harness of the Event XML parser
 * (mdm_event_parse_xml): every source, the Windows channel included, funnels
 * its events through it. The input is one serialized <Event>.
 */
#include "wevt/event.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mdm_event ev;
    struct mdm_err err;

    mdm_event_init(&ev);
    if (mdm_event_parse_xml(&ev, (const char *)data, size, &err) == 0) {
        /* Touch what a monitor reads, so that bad pointers show. */
        volatile size_t sum = 0;
        for (size_t i = 0; i < ev.data_count; i++)
            sum += ev.data[i].value[0] + (ev.data[i].name ? ev.data[i].name[0] : 0);
        sum += ev.description[0] + mdm_event_display_number(&ev) + mdm_event_scom_level(&ev);
        (void)sum;
    }
    mdm_event_free(&ev);
    return 0;
}

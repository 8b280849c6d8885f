/*
 * fuzz_event_xml.c - libFuzzer harness of the Event XML parser: every
 * source, the Windows channel included, funnels its events through it. The
 * input is one serialized <Event>. It is read by both readers, the tree
 * reader (mdm_event_parse_xml) and the streaming reader the XML sources use
 * (struct mdm_event_parser, kept across inputs as a source keeps it), and the
 * harness aborts when they give different events or errors.
 */
#include "wevt/event.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_event(const struct mdm_event *a, const struct mdm_event *b)
{
    if (!same_str(a->provider, b->provider) || !same_str(a->provider_guid, b->provider_guid) ||
        a->event_id != b->event_id || a->qualifiers != b->qualifiers ||
        a->has_qualifiers != b->has_qualifiers || a->level != b->level || a->task != b->task ||
        a->opcode != b->opcode || a->keywords != b->keywords ||
        !same_str(a->time_created, b->time_created) || a->time_unix_ms != b->time_unix_ms ||
        a->record_id != b->record_id || !same_str(a->channel, b->channel) ||
        !same_str(a->computer, b->computer) || !same_str(a->user_sid, b->user_sid) ||
        a->data_count != b->data_count || a->data_truncated != b->data_truncated ||
        !same_str(a->user_data, b->user_data) || !same_str(a->message, b->message) ||
        !same_str(a->description, b->description))
        return false;
    for (size_t i = 0; i < a->data_count; i++)
        if (!same_str(a->data[i].name, b->data[i].name) ||
            !same_str(a->data[i].value, b->data[i].value))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mdm_event_parser *parser;
    struct mdm_event ev, streamed;
    struct mdm_err err, streamed_err;
    int rc, streamed_rc;

    if (parser == NULL && mdm_event_parser_new(&parser) != 0)
        abort();
    mdm_event_init(&ev);
    mdm_event_init(&streamed);
    rc = mdm_event_parse_xml(&ev, (const char *)data, size, &err);
    streamed_rc =
        mdm_event_parser_parse(parser, &streamed, (const char *)data, size, &streamed_err);
    if (rc != streamed_rc || (rc != 0 && strcmp(err.msg, streamed_err.msg) != 0) ||
        (rc == 0 && !same_event(&ev, &streamed))) {
        fprintf(stderr, "the readers differ: tree %d \"%s\", streaming %d \"%s\"\n", rc,
                rc ? err.msg : "", streamed_rc, streamed_rc ? streamed_err.msg : "");
        abort();
    }
    if (rc == 0) {
        /* Touch what a monitor reads, so that bad pointers show. */
        volatile size_t sum = 0;
        for (size_t i = 0; i < ev.data_count; i++)
            sum += ev.data[i].value[0] + (ev.data[i].name ? ev.data[i].name[0] : 0);
        sum += ev.description[0] + mdm_event_display_number(&ev) + mdm_event_scom_level(&ev);
        (void)sum;
    }
    mdm_event_free(&ev);
    mdm_event_free(&streamed);
    return 0;
}

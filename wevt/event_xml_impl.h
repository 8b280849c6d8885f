/*
 * event_xml_impl.h - what the two Event XML readers share (private to wevt).
 *
 * mdm_event_parser_parse() reads an event with the streaming reader of
 * event_xml_stream.c: libxml2's SAX2 callbacks pick the fields out as the
 * parser passes them, and no document tree is built. Whatever that reader
 * does not handle itself - an event that is not well-formed or breaks a rule
 * of the event model, UserData (kept serialized, which needs the tree), an
 * entity reference, an undeclared namespace prefix - it hands to the tree
 * reader of event_xml.c, which is the reference: it produces every error
 * message, so that both give the same event or the same error.
 */
#ifndef MDM_EVENT_XML_IMPL_H
#define MDM_EVENT_XML_IMPL_H

#include "wevt/event.h"

#include <libxml/parser.h>

/* The libxml2 options of every event parse: no network, no errors printed. */
#define MDM_EVENT_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/*
 * Copies s (len bytes) into the event's arena, cut at MDM_EVENT_FIELD_MAX on
 * a character boundary. Returns NULL only when out of memory.
 */
const char *mdm_event_xml_keep(struct mdm_event *ev, const char *s, size_t len);

/*
 * Appends one insertion string (name may be NULL); values beyond
 * MDM_EVENT_DATA_MAX are dropped and flagged. *cap is the capacity of
 * ev->data, 0 at first. Returns 0 or MDM_ENOMEM.
 */
int mdm_event_xml_add_data(struct mdm_event *ev, size_t *cap, const char *name, const char *value);

/*
 * Parses the text of a numeric element: blanks around it, decimal or hex
 * with 0x, at most max. Returns 0 and sets *out, or MDM_EPARSE; *trimmed is
 * the text after the leading blanks (for the message).
 */
int mdm_event_xml_number(const char *text, uint64_t max, uint64_t *out, const char **trimmed);

/*
 * Reads EventID/@Qualifiers (q not NULL) into ev: "" is no qualifier;
 * MDM_EPARSE for text that is not a 16-bit number.
 */
int mdm_event_xml_qualifiers(struct mdm_event *ev, const char *q);

/* Builds the EventDescription: the message, else the insertion strings joined by "; ". */
int mdm_event_xml_describe(struct mdm_event *ev);

/*
 * The streaming reader (event_xml_stream.c). One per struct
 * mdm_event_parser; it keeps its libxml2 parser context between events.
 */
struct mdm_event_stream;

/* Returns 0 and *out (owned by the caller, free with mdm_event_stream_free()) or MDM_ENOMEM. */
int mdm_event_stream_new(struct mdm_event_stream **out);
void mdm_event_stream_free(struct mdm_event_stream *stream);

/*
 * Reads the well-formed-looking event xml (len bytes, forbidden characters
 * already replaced) into ev, which must be reset. Returns 0 (ev is filled),
 * MDM_ENOMEM, or MDM_EAGAIN: the event is for the tree reader (ev is left
 * reset), see the header comment.
 */
int mdm_event_stream_parse(struct mdm_event_stream *stream, struct mdm_event *ev, const char *xml,
                           size_t len);

#endif

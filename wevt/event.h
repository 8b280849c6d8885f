/*
 * event.h - the Windows event model shared by every event source.
 *
 * One struct mdm_event holds what mdmhealth needs from a Windows event as it
 * appears in Event XML (namespace
 * http://schemas.microsoft.com/win/2004/08/events/event). All strings are
 * UTF-8, NUL-terminated, and owned by the event's arena: they stay valid until
 * the next mdm_event_reset() or mdm_event_free() of that event. Tests may also
 * point the string fields at literals and set the numeric fields directly.
 */
#ifndef MDM_EVENT_H
#define MDM_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hard caps on sizes taken from event data. */
#define MDM_EVENT_XML_MAX         (1024u * 1024u) /* one serialized <Event> */
#define MDM_EVENT_FIELD_MAX       (64u * 1024u)   /* one string field; longer ones are cut */
#define MDM_EVENT_DATA_MAX        256u            /* EventData / UserData values kept */
#define MDM_EVENT_DESCRIPTION_MAX (32u * 1024u)

struct mdm_event_data {
    const char *name;  /* Data/@Name, or NULL for unnamed values */
    const char *value; /* text content, "" when empty */
};

struct mdm_event {
    /* System */
    const char *provider;      /* Provider/@Name (EventSourceName when present) */
    const char *provider_guid; /* Provider/@Guid, or NULL */
    uint32_t event_id;         /* EventID text, as written (16 bits for classic sources) */
    uint16_t qualifiers;       /* EventID/@Qualifiers, 0 when absent */
    bool has_qualifiers;
    uint8_t level;     /* Level: 0 LogAlways, 1 Critical, 2 Error, 3 Warning, 4 Info, 5 Verbose */
    uint16_t task;     /* Task (SCOM EventCategory) */
    uint8_t opcode;    /* Opcode */
    uint64_t keywords; /* Keywords (hex in XML) */
    const char *time_created; /* TimeCreated/@SystemTime as written, or NULL */
    int64_t time_unix_ms;     /* TimeCreated in ms since 1970-01-01 UTC, 0 if unknown */
    uint64_t record_id;       /* EventRecordID */
    const char *channel;      /* Channel */
    const char *computer;     /* Computer */
    const char *user_sid;     /* Security/@UserID, or NULL */

    /* EventData/Data values (or UserData leaf values) in document order. */
    struct mdm_event_data *data;
    size_t data_count;
    bool data_truncated; /* more than MDM_EVENT_DATA_MAX values were present */

    const char *user_data; /* UserData serialized as XML, or NULL */
    const char *message;   /* RenderingInfo/Message, or NULL */
    /*
     * The SCOM EventDescription: the rendered message when present, otherwise
     * the insertion strings joined by "; " (never NULL after parsing).
     */
    const char *description;

    /* Where the event came from, for error messages (may be NULL / 0). */
    const char *origin; /* file name */
    uint64_t offset;    /* byte offset (XML) or record index (evtx) */
    uint64_t line;      /* line of the <Event> start tag (XML), 0 otherwise */

    void *arena; /* private: owner of the strings above */
};

/* Initialises an empty event. */
void mdm_event_init(struct mdm_event *ev);
/* Forgets the contents and keeps the arena's memory for the next event. */
void mdm_event_reset(struct mdm_event *ev);
/* Frees everything the event owns. */
void mdm_event_free(struct mdm_event *ev);

/*
 * Copies len bytes of s into the event's arena; returns the NUL-terminated
 * copy (owned by the event) or NULL when out of memory.
 */
const char *mdm_event_strdup(struct mdm_event *ev, const char *s, size_t len);

/*
 * Returns size zeroed bytes owned by the event's arena (valid until the next
 * reset), or NULL when out of memory. Parsers use it for the data[] array.
 */
void *mdm_event_alloc(struct mdm_event *ev, size_t size);

/*
 * Parses one serialized <Event> element into ev (which must be reset). The
 * parser forbids DTDs, entity expansion and network access; sizes are capped
 * as documented above. Characters that XML 1.0 forbids but Windows writes
 * into event strings (C0 controls such as U+0002, U+FFFE, U+FFFF), raw or as
 * character references (&#x2;), are replaced by U+FFFD and the event is
 * parsed; anything else that is not well-formed is an error. On error ev is
 * left reset and err names the cause. Returns 0, MDM_EPARSE, MDM_ETOOBIG or
 * MDM_ENOMEM.
 */
int mdm_event_parse_xml(struct mdm_event *ev, const char *xml, size_t len, struct mdm_err *err);

/*
 * A reusable Event XML parser: the same results as mdm_event_parse_xml(),
 * without creating a libxml2 parser context for every event. A source that
 * parses a stream of events keeps one (it is not shared between threads).
 * mdm_event_parser_new() returns 0 and *out (owned by the caller, free with
 * mdm_event_parser_free()) or MDM_ENOMEM.
 */
struct mdm_event_parser;
int mdm_event_parser_new(struct mdm_event_parser **out);
void mdm_event_parser_free(struct mdm_event_parser *parser);
int mdm_event_parser_parse(struct mdm_event_parser *parser, struct mdm_event *ev, const char *xml,
                           size_t len, struct mdm_err *err);
/*
 * How many events the parser read with its streaming reader and how many it
 * handed to the tree reader (UserData, damage; see wevt/event_xml_impl.h),
 * for the tests and benchmarks.
 */
void mdm_event_parser_counts(const struct mdm_event_parser *parser, uint64_t *streamed,
                             uint64_t *tree);

/* EventDisplayNumber: the low 16 bits of the EventID. */
uint32_t mdm_event_display_number(const struct mdm_event *ev);
/* EventNumber: the full 32-bit ID, (Qualifiers << 16) | EventID for classic events. */
uint32_t mdm_event_number(const struct mdm_event *ev);
/*
 * SCOM's EventLevel, the classic event type: 1 Error (Level 1-2), 2 Warning
 * (Level 3), 4 Information (Level 0, 4, 5), 8 Audit Success, 16 Audit Failure
 * (from the audit keywords).
 */
int mdm_event_scom_level(const struct mdm_event *ev);

/* The names an XPathQuery / $Data/Context/...$ reference can use. */
enum mdm_field_id {
    MDM_FIELD_PUBLISHER_NAME,       /* PublisherName, EventSourceName */
    MDM_FIELD_PUBLISHER_ID,         /* PublisherId (GUID) */
    MDM_FIELD_EVENT_DISPLAY_NUMBER, /* EventDisplayNumber */
    MDM_FIELD_EVENT_NUMBER,         /* EventNumber */
    MDM_FIELD_EVENT_LEVEL,          /* EventLevel */
    MDM_FIELD_EVENT_CATEGORY,       /* EventCategory */
    MDM_FIELD_CHANNEL,              /* Channel, LogName */
    MDM_FIELD_LOGGING_COMPUTER,     /* LoggingComputer */
    MDM_FIELD_EVENT_DESCRIPTION,    /* EventDescription */
    MDM_FIELD_USER_NAME,            /* UserName (the SID as written) */
    MDM_FIELD_PARAM,                /* Params/Param[N], 1-based */
    MDM_FIELD_EVENT_DATA,           /* EventData/Data[@Name='X'] or EventData/X */
    MDM_FIELD_TIME_GENERATED,       /* TimeGenerated, TimeCreated */
    MDM_FIELD_RECORD_ID,            /* EventRecordId */
    MDM_FIELD_KEYWORDS,             /* Keywords */
};

#define MDM_FIELD_NAME_MAX 128

struct mdm_field_ref {
    enum mdm_field_id id;
    unsigned param;                /* MDM_FIELD_PARAM: 1-based index */
    char name[MDM_FIELD_NAME_MAX]; /* MDM_FIELD_EVENT_DATA: Data/@Name */
};

enum mdm_value_kind {
    MDM_VALUE_STRING,
    MDM_VALUE_UINT,
    MDM_VALUE_TIME, /* ms since 1970 UTC in u (two's complement for negatives) */
};

struct mdm_value {
    enum mdm_value_kind kind;
    const char *str; /* MDM_VALUE_STRING: owned by the event (or static) */
    uint64_t u;      /* MDM_VALUE_UINT, MDM_VALUE_TIME */
};

/*
 * Compiles an XPathQuery name (e.g. "EventDisplayNumber", "Params/Param[2]",
 * "EventData/Data[@Name='User']") into ref. Unknown names give MDM_EUNSUPPORTED
 * with err naming the query.
 */
int mdm_field_parse(const char *xpath, struct mdm_field_ref *ref, struct mdm_err *err);

/*
 * Reads a field of ev. Returns 0 and sets *out, or MDM_ENOTFOUND when the
 * event does not carry that field (a missing Param, an absent GUID).
 */
int mdm_event_get(const struct mdm_event *ev, const struct mdm_field_ref *ref,
                  struct mdm_value *out);

/*
 * Formats a value as text into buf (size bytes, always NUL-terminated):
 * decimal for integers, ISO 8601 UTC ("2026-11-25T05:36:30.000Z") for times.
 * Returns buf.
 */
const char *mdm_value_format(const struct mdm_value *v, char *buf, size_t size);

/*
 * Parses an ISO 8601 timestamp as Windows writes it ("2026-11-25T05:36:30.1234567Z",
 * also without fraction, or with a +hh:mm offset) into ms since 1970 UTC.
 * MDM_EPARSE for other text and for times that do not exist: Feb 30 (Feb 29
 * outside leap years), second 60, an offset beyond +-14:00 or with minutes
 * past 59, year 0. An event whose TimeCreated is such is damaged.
 */
int mdm_parse_iso8601(const char *s, int64_t *out_ms);
/* Formats ms since 1970 UTC as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (>= 25 bytes). */
void mdm_format_iso8601(int64_t ms, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif

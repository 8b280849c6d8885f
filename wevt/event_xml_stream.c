/*
 * event_xml_stream.c - the streaming reader of one serialized <Event>: the
 * fields are picked out of libxml2's SAX2 callbacks as the parser passes
 * them, so no document tree is built, and the parser context (with its name
 * dictionary) is kept from one event to the next. See event_xml_impl.h for
 * what it leaves to the tree reader of event_xml.c, and event_xml.c for the
 * meaning of every field; both readers must give the same event.
 *
 * What the tree reader's lookups mean, and how they are mirrored here:
 *   - child(parent, "X") is the first child element whose local name is X,
 *     in any namespace: a field is taken from the first such element only;
 *   - xmlNodeGetContent() is all text and CDATA below the element, nested
 *     elements included: text is collected while the element is open;
 *   - xmlGetProp(node, "X") is the first attribute whose local name is X;
 *     libxml2 hands attribute values to SAX2 with "&" written as "&#38;"
 *     (the tree decodes that when it builds the attribute), decoded here.
 */
#include "wevt/event_xml_impl.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"

#include "wevt/xml_error.h"

#include <libxml/dict.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlIO.h>

#include <stdbool.h>
#include <string.h>

/* The elements of <System> the event model reads. */
enum system_field {
    F_PROVIDER,
    F_EVENT_ID,
    F_LEVEL,
    F_TASK,
    F_OPCODE,
    F_KEYWORDS,
    F_RECORD_ID,
    F_TIME_CREATED,
    F_CHANNEL,
    F_COMPUTER,
    F_SECURITY,
    F_COUNT,
};

static const char *const system_names[F_COUNT] = {
    "Provider",      "EventID",     "Level",   "Task",     "Opcode",   "Keywords",
    "EventRecordID", "TimeCreated", "Channel", "Computer", "Security",
};

/* The attributes of those elements the event model reads. */
enum attr_field {
    A_EVENT_SOURCE_NAME, /* Provider */
    A_NAME,              /* Provider */
    A_GUID,              /* Provider */
    A_QUALIFIERS,        /* EventID */
    A_SYSTEM_TIME,       /* TimeCreated */
    A_USER_ID,           /* Security */
    A_COUNT,
};

/* The elements the event schema allows in <Event> (the tree reader's list). */
static const char *const event_children[] = {
    "System",          "EventData",           "UserData",      "DebugData",
    "BinaryEventData", "ProcessingErrorData", "RenderingInfo", "ExtendedTracingInfo",
};

/* Text collected into the scratch buffer: offset and presence. */
struct span {
    bool present;
    size_t off;
};

/* What the text being collected is for. */
enum capture {
    CAPTURE_NONE,
    CAPTURE_FIELD,   /* a <System> child: into text[field] */
    CAPTURE_DATA,    /* an EventData/Data value */
    CAPTURE_MESSAGE, /* RenderingInfo/Message */
};

/*
 * A parser context is made anew once its dictionary of names holds this many
 * bytes: names come from the input, and libxml2 refuses to parse once a
 * dictionary passes its own limit (10 MB), which a long stream of events
 * with ever new element names would reach.
 */
#define DICT_USAGE_MAX (1024u * 1024u)

/* The scratch buffer is given back after an event that needed more than this. */
#define SCRATCH_KEEP (64u * 1024u)

/* The names compared, as the parser context's dictionary holds them. */
enum name {
    N_EVENT,
    N_SYSTEM,
    N_EVENT_DATA,
    N_RENDERING_INFO,
    N_USER_DATA,
    N_DATA,
    N_MESSAGE,
    N_COUNT,
};

static const char *const name_texts[N_COUNT] = {
    "Event", "System", "EventData", "RenderingInfo", "UserData", "Data", "Message",
};

#define EVENT_CHILD_COUNT (sizeof(event_children) / sizeof(event_children[0]))

struct mdm_event_stream {
    xmlParserCtxt *ctxt;
    /*
     * Element names are compared by address: libxml2 hands every name over
     * from the context's dictionary, where these were looked up once.
     */
    const xmlChar *names[N_COUNT];
    const xmlChar *system_field_names[F_COUNT];
    const xmlChar *event_child_names[EVENT_CHILD_COUNT];
    struct mdm_buf scratch; /* collected text and attribute values, each NUL-terminated */

    /* The event being read. */
    struct mdm_event *ev;
    unsigned depth; /* open elements, the root included */
    bool give_up;   /* for the tree reader: stop reading */
    bool out_of_memory;
    bool root_has_ns;
    struct span root_ns; /* the root's namespace name */
    int open_child;      /* the root's child being read: 0 none, 1 System, 2 EventData,
                            3 RenderingInfo (the first of each only) */
    bool seen_system, seen_event_data, seen_rendering, seen_message;
    bool seen[F_COUNT];
    struct span text[F_COUNT];
    struct span attr[A_COUNT];
    enum capture capture;
    unsigned capture_depth; /* depth of the element whose text is collected */
    int capture_field;
    size_t capture_off;
    const char *data_name; /* CAPTURE_DATA: the Data/@Name kept, or NULL */
    size_t data_cap;
};

static struct mdm_event_stream *stream_of(void *ctx)
{
    return ((xmlParserCtxt *)ctx)->_private;
}

/* Hands the event to the tree reader and stops the parse. */
static void give_up(struct mdm_event_stream *s)
{
    s->give_up = true;
    xmlStopParser(s->ctxt);
}

static void out_of_memory(struct mdm_event_stream *s)
{
    s->out_of_memory = true;
    give_up(s);
}

static bool name_is(const struct mdm_event_stream *s, const xmlChar *name, enum name which)
{
    return name == s->names[which];
}

/* Appends len bytes to the scratch buffer. */
static bool scratch_add(struct mdm_event_stream *s, const void *data, size_t len)
{
    if (mdm_buf_add(&s->scratch, data, len) == 0)
        return true;
    out_of_memory(s);
    return false;
}

/* Ends the string being collected with its NUL (the next string starts after it). */
static bool scratch_end(struct mdm_event_stream *s)
{
    return scratch_add(s, "", 1);
}

static const char *scratch_at(const struct mdm_event_stream *s, size_t off)
{
    return s->scratch.data + off;
}

/*
 * Stores the value of the first attribute named name (SAX2 layout: local
 * name, prefix, URI, value, end) into *out, "&#38;" decoded to "&". An
 * attribute whose prefix is undeclared is named "prefix:name" in the tree,
 * so it is no match.
 */
static void keep_attr(struct mdm_event_stream *s, const xmlChar **attrs, int count,
                      const char *name, struct span *out)
{
    /*
     * After a give-up (xmlStopParser) libxml2 2.9 has freed the input buffer
     * the attribute values point into: they may not be read any more.
     */
    if (s->give_up)
        return;
    for (int i = 0; i < count; i++) {
        const xmlChar **a = attrs + 5 * i;
        const char *v = (const char *)a[3], *end = (const char *)a[4];

        if (strcmp((const char *)a[0], name) != 0 || (a[1] != NULL && a[2] == NULL))
            continue;
        out->present = true;
        out->off = s->scratch.len;
        while (v < end) {
            const char *amp = memchr(v, '&', (size_t)(end - v));
            size_t n = amp ? (size_t)(amp - v) : (size_t)(end - v);
            if (!scratch_add(s, v, n))
                return;
            v += n;
            if (amp == NULL)
                break;
            /* The only reference left in a value of a document without a DTD. */
            if (end - v >= 5 && memcmp(v, "&#38;", 5) == 0) {
                if (!scratch_add(s, "&", 1))
                    return;
                v += 5;
            } else {
                give_up(s);
                return;
            }
        }
        scratch_end(s);
        return;
    }
}

static void start_capture(struct mdm_event_stream *s, enum capture what, int field)
{
    s->capture = what;
    s->capture_depth = s->depth;
    s->capture_field = field;
    s->capture_off = s->scratch.len;
}

/* The end of the element whose text was collected. */
static void end_capture(struct mdm_event_stream *s)
{
    struct mdm_event *ev = s->ev;
    enum capture what = s->capture;
    size_t off = s->capture_off, len = s->scratch.len - off;
    const char *value;

    s->capture = CAPTURE_NONE;
    if (!scratch_end(s))
        return;
    if (what == CAPTURE_FIELD) {
        s->text[s->capture_field].present = true;
        s->text[s->capture_field].off = off;
        return;
    }
    value = mdm_event_xml_keep(ev, scratch_at(s, off), len);
    if (value == NULL) {
        out_of_memory(s);
        return;
    }
    if (what == CAPTURE_MESSAGE)
        ev->message = value;
    else if (mdm_event_xml_add_data(ev, &s->data_cap, s->data_name, value) != 0)
        out_of_memory(s);
    /* The text is in the arena now: the scratch space is free again. */
    s->scratch.len = off;
    s->scratch.data[off] = '\0';
}

static bool same_namespace(const struct mdm_event_stream *s, const xmlChar *uri)
{
    if (uri == NULL || !s->root_has_ns)
        return uri == NULL && !s->root_has_ns;
    return strcmp((const char *)uri, scratch_at(s, s->root_ns.off)) == 0;
}

/* A child of <Event>. */
static void start_event_child(struct mdm_event_stream *s, const xmlChar *name, const xmlChar *uri)
{
    if (same_namespace(s, uri)) {
        bool known = false;
        for (size_t i = 0; i < EVENT_CHILD_COUNT; i++)
            if (name == s->event_child_names[i])
                known = true;
        if (!known) {
            give_up(s); /* a damaged record: the tree reader says so */
            return;
        }
    }
    if (name_is(s, name, N_USER_DATA)) {
        give_up(s); /* kept serialized, which needs the tree */
    } else if (name_is(s, name, N_SYSTEM) && !s->seen_system) {
        s->seen_system = true;
        s->open_child = 1;
    } else if (name_is(s, name, N_EVENT_DATA) && !s->seen_event_data) {
        s->seen_event_data = true;
        s->open_child = 2;
    } else if (name_is(s, name, N_RENDERING_INFO) && !s->seen_rendering) {
        s->seen_rendering = true;
        s->open_child = 3;
    }
}

/* A child of <System>. */
static void start_system_child(struct mdm_event_stream *s, const xmlChar *name,
                               const xmlChar **attrs, int count)
{
    int f;

    for (f = 0; f < F_COUNT; f++)
        if (name == s->system_field_names[f])
            break;
    if (f == F_COUNT || s->seen[f])
        return;
    s->seen[f] = true;
    switch (f) {
    case F_PROVIDER:
        keep_attr(s, attrs, count, "EventSourceName", &s->attr[A_EVENT_SOURCE_NAME]);
        keep_attr(s, attrs, count, "Name", &s->attr[A_NAME]);
        keep_attr(s, attrs, count, "Guid", &s->attr[A_GUID]);
        break;
    case F_EVENT_ID:
        keep_attr(s, attrs, count, "Qualifiers", &s->attr[A_QUALIFIERS]);
        start_capture(s, CAPTURE_FIELD, f);
        break;
    case F_TIME_CREATED:
        keep_attr(s, attrs, count, "SystemTime", &s->attr[A_SYSTEM_TIME]);
        break;
    case F_SECURITY:
        keep_attr(s, attrs, count, "UserID", &s->attr[A_USER_ID]);
        break;
    default:
        start_capture(s, CAPTURE_FIELD, f);
        break;
    }
}

static void on_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attrs)
{
    struct mdm_event_stream *s = stream_of(ctx);

    (void)nb_namespaces;
    (void)namespaces;
    (void)nb_defaulted;
    if (s->give_up)
        return;
    /* An undeclared prefix makes the tree name the element "prefix:name". */
    if (prefix != NULL && uri == NULL) {
        give_up(s);
        return;
    }
    s->depth++;
    if (s->depth == 1) {
        if (!name_is(s, name, N_EVENT)) {
            give_up(s);
            return;
        }
        if (uri != NULL) {
            s->root_has_ns = true;
            s->root_ns.off = s->scratch.len;
            if (scratch_add(s, uri, strlen((const char *)uri)))
                scratch_end(s);
        }
    } else if (s->depth == 2) {
        start_event_child(s, name, uri);
    } else if (s->depth == 3) {
        if (s->open_child == 1) {
            start_system_child(s, name, attrs, nb_attributes);
        } else if (s->open_child == 2 && name_is(s, name, N_DATA)) {
            struct span data_name = {false, 0};
            keep_attr(s, attrs, nb_attributes, "Name", &data_name);
            s->data_name = NULL;
            if (data_name.present) {
                const char *n = scratch_at(s, data_name.off);
                s->data_name = mdm_event_xml_keep(s->ev, n, strlen(n));
                if (s->data_name == NULL)
                    out_of_memory(s);
                s->scratch.len = data_name.off;
            }
            start_capture(s, CAPTURE_DATA, 0);
        } else if (s->open_child == 3 && name_is(s, name, N_MESSAGE) && !s->seen_message) {
            s->seen_message = true;
            start_capture(s, CAPTURE_MESSAGE, 0);
        }
    }
}

static void on_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
    struct mdm_event_stream *s = stream_of(ctx);

    (void)name;
    (void)prefix;
    (void)uri;
    if (s->give_up)
        return;
    if (s->capture != CAPTURE_NONE && s->depth == s->capture_depth)
        end_capture(s);
    if (s->depth == 2)
        s->open_child = 0;
    s->depth--;
}

static void on_text(void *ctx, const xmlChar *text, int len)
{
    struct mdm_event_stream *s = stream_of(ctx);

    if (s->capture != CAPTURE_NONE && !s->give_up && len > 0)
        scratch_add(s, text, (size_t)len);
}

/* An entity reference: only a document with a DTD has one, and that is an error. */
static void on_reference(void *ctx, const xmlChar *name)
{
    (void)name;
    give_up(stream_of(ctx));
}

/* Looks name up in the context's dictionary; false when out of memory. */
static bool intern(struct mdm_event_stream *s, const char *name, const xmlChar **out)
{
    *out = xmlDictLookup(s->ctxt->dict, (const xmlChar *)name, -1);
    return *out != NULL;
}

/* Creates the parser context with the callbacks above. */
static int new_context(struct mdm_event_stream *s)
{
    xmlSAXHandler *sax;
    bool ok = true;

    s->ctxt = xmlNewParserCtxt();
    if (s->ctxt == NULL)
        return MDM_ENOMEM;
    for (size_t i = 0; i < N_COUNT; i++)
        ok = ok && intern(s, name_texts[i], &s->names[i]);
    for (size_t i = 0; i < F_COUNT; i++)
        ok = ok && intern(s, system_names[i], &s->system_field_names[i]);
    for (size_t i = 0; i < EVENT_CHILD_COUNT; i++)
        ok = ok && intern(s, event_children[i], &s->event_child_names[i]);
    if (!ok) {
        xmlFreeParserCtxt(s->ctxt);
        s->ctxt = NULL;
        return MDM_ENOMEM;
    }
    /*
     * The document callbacks stay libxml2's own (a document type declaration
     * is found on the document they make, as in the tree reader); only the
     * element, text and reference callbacks are replaced, so no tree is built.
     */
    sax = s->ctxt->sax;
    sax->startElementNs = on_start;
    sax->endElementNs = on_end;
    sax->characters = on_text;
    sax->ignorableWhitespace = on_text;
    sax->cdataBlock = on_text;
    sax->reference = on_reference;
    sax->comment = NULL;
    sax->processingInstruction = NULL;
    sax->startElement = NULL;
    sax->endElement = NULL;
    return 0;
}

int mdm_event_stream_new(struct mdm_event_stream **out)
{
    struct mdm_event_stream *s = mdm_calloc(1, sizeof(*s));

    if (s == NULL)
        return MDM_ENOMEM;
    /*
     * The event after replacing forbidden characters is at most 3 bytes for
     * each of its bytes, and the text collected from it is never longer.
     */
    mdm_buf_init(&s->scratch, 3u * MDM_EVENT_XML_MAX + 1024u);
    *out = s;
    return 0;
}

void mdm_event_stream_free(struct mdm_event_stream *s)
{
    if (s == NULL)
        return;
    if (s->ctxt != NULL)
        xmlFreeParserCtxt(s->ctxt);
    mdm_buf_free(&s->scratch);
    mdm_free(s);
}

/* Forgets what the previous event left. */
static void begin_event(struct mdm_event_stream *s, struct mdm_event *ev)
{
    s->ev = ev;
    s->depth = 0;
    s->give_up = false;
    s->out_of_memory = false;
    s->root_has_ns = false;
    s->open_child = 0;
    s->seen_system = s->seen_event_data = s->seen_rendering = s->seen_message = false;
    memset(s->seen, 0, sizeof(s->seen));
    memset(s->text, 0, sizeof(s->text));
    memset(s->attr, 0, sizeof(s->attr));
    s->capture = CAPTURE_NONE;
    s->data_name = NULL;
    s->data_cap = 0;
    mdm_buf_reset(&s->scratch);
}

/* Keeps the text of a <System> child ("" when it had none), or NULL when out of memory. */
static const char *keep_text(struct mdm_event_stream *s, enum system_field f)
{
    const char *t = s->text[f].present ? scratch_at(s, s->text[f].off) : "";

    return mdm_event_xml_keep(s->ev, t, strlen(t));
}

/* Keeps an attribute into *out (NULL when absent); false when out of memory. */
static bool keep_attr_value(struct mdm_event_stream *s, enum attr_field a, const char **out)
{
    const char *v;

    *out = NULL;
    if (!s->attr[a].present)
        return true;
    v = scratch_at(s, s->attr[a].off);
    *out = mdm_event_xml_keep(s->ev, v, strlen(v));
    return *out != NULL;
}

/* Reads a numeric <System> child when present; MDM_EAGAIN when it is no number in range. */
static int number(struct mdm_event_stream *s, enum system_field f, uint64_t max, uint64_t *out)
{
    const char *trimmed;

    if (!s->seen[f])
        return 1;
    return mdm_event_xml_number(s->text[f].present ? scratch_at(s, s->text[f].off) : "", max, out,
                                &trimmed) == 0
               ? 0
               : MDM_EAGAIN;
}

/*
 * The <System> part, as the tree reader's parse_system() reads it. Any rule
 * broken gives MDM_EAGAIN: the tree reader then names the cause.
 */
static int finish_system(struct mdm_event_stream *s)
{
    struct mdm_event *ev = s->ev;
    uint64_t v;
    int rc;

    if (!s->seen_system || !s->seen[F_PROVIDER] || !s->seen[F_EVENT_ID])
        return MDM_EAGAIN;
    if (!keep_attr_value(s, A_EVENT_SOURCE_NAME, &ev->provider))
        return MDM_ENOMEM;
    if (ev->provider == NULL && !keep_attr_value(s, A_NAME, &ev->provider))
        return MDM_ENOMEM;
    if (ev->provider == NULL && (ev->provider = mdm_event_strdup(ev, "", 0)) == NULL)
        return MDM_ENOMEM;
    if (!keep_attr_value(s, A_GUID, &ev->provider_guid))
        return MDM_ENOMEM;
    if ((rc = number(s, F_EVENT_ID, UINT32_MAX, &v)) != 0)
        return MDM_EAGAIN;
    ev->event_id = (uint32_t)v;
    if (s->attr[A_QUALIFIERS].present &&
        mdm_event_xml_qualifiers(ev, scratch_at(s, s->attr[A_QUALIFIERS].off)) != 0)
        return MDM_EAGAIN;
    if ((rc = number(s, F_LEVEL, 255, &v)) < 0)
        return rc;
    if (rc == 0)
        ev->level = (uint8_t)v;
    if ((rc = number(s, F_TASK, 65535, &v)) < 0)
        return rc;
    if (rc == 0)
        ev->task = (uint16_t)v;
    if ((rc = number(s, F_OPCODE, 255, &v)) < 0)
        return rc;
    if (rc == 0)
        ev->opcode = (uint8_t)v;
    if ((rc = number(s, F_KEYWORDS, UINT64_MAX, &v)) < 0)
        return rc;
    if (rc == 0)
        ev->keywords = v;
    if ((rc = number(s, F_RECORD_ID, UINT64_MAX, &v)) < 0)
        return rc;
    if (rc == 0)
        ev->record_id = v;
    if (s->seen[F_TIME_CREATED]) {
        if (!keep_attr_value(s, A_SYSTEM_TIME, &ev->time_created))
            return MDM_ENOMEM;
        if (ev->time_created != NULL && mdm_parse_iso8601(ev->time_created, &ev->time_unix_ms) != 0)
            return MDM_EAGAIN;
    }
    if (s->seen[F_CHANNEL] && (ev->channel = keep_text(s, F_CHANNEL)) == NULL)
        return MDM_ENOMEM;
    if (s->seen[F_COMPUTER] && (ev->computer = keep_text(s, F_COMPUTER)) == NULL)
        return MDM_ENOMEM;
    if (s->seen[F_SECURITY] && !keep_attr_value(s, A_USER_ID, &ev->user_sid))
        return MDM_ENOMEM;
    return 0;
}

/* Forgets the parser context when its dictionary grew large, and a large scratch buffer. */
static void trim(struct mdm_event_stream *s)
{
    if (s->ctxt != NULL && xmlDictGetUsage(s->ctxt->dict) > DICT_USAGE_MAX) {
        xmlFreeParserCtxt(s->ctxt);
        s->ctxt = NULL;
    }
    if (s->scratch.size > SCRATCH_KEEP)
        mdm_buf_free(&s->scratch);
}

/*
 * A comment put after the event in libxml2's input buffer. libxml2 2.9 asks
 * a memory buffer for more input (a call chain that finds none) whenever
 * fewer than INPUT_CHUNK (250) bytes are left after the position it reads,
 * which in an event of a few hundred bytes is almost everywhere; with this
 * behind the event it is only in the comment, which libxml2 skips faster
 * than anything else (it is not handed to a callback). A comment after the
 * root element changes nothing, and a document that is not well-formed
 * stays so: its "--" is an error inside a comment left open, its '<' one
 * inside a tag or attribute value, and an element or a CDATA section, a
 * processing instruction or a declaration left open stays open.
 */
#define BLANKS_16 "                "
#define BLANKS_248                                                                                 \
    BLANKS_16 BLANKS_16 BLANKS_16 BLANKS_16 BLANKS_16 BLANKS_16 BLANKS_16 BLANKS_16 BLANKS_16      \
        BLANKS_16 BLANKS_16 BLANKS_16 BLANKS_16 BLANKS_16 BLANKS_16 "        "

static const char padding[] = "<!--" BLANKS_248 "-->";

/*
 * Parses xml with the context: what xmlCtxtReadMemory() does (the same
 * memory input buffer, whose copy of the event libxml2 may shrink and move
 * as it reads), with the padding above. A static buffer over the caller's
 * bytes would save the copy, but libxml2 2.9 reads a static buffer wrongly
 * once it shrinks it (it goes back to bytes already read). Returns the
 * document libxml2 made (the caller frees it) or NULL.
 */
static xmlDoc *read_document(xmlParserCtxt *ctxt, const char *xml, size_t len)
{
    xmlParserInputBuffer *input;
    xmlParserInput *stream;
    xmlDoc *doc;

    xmlCtxtReset(ctxt);
    input = xmlParserInputBufferCreateMem(xml, (int)len, XML_CHAR_ENCODING_NONE);
    if (input == NULL)
        return NULL;
    if (xmlParserInputBufferPush(input, (int)sizeof(padding) - 1, padding) < 0) {
        xmlFreeParserInputBuffer(input);
        return NULL;
    }
    stream = xmlNewIOInputStream(ctxt, input, XML_CHAR_ENCODING_NONE);
    if (stream == NULL) {
        xmlFreeParserInputBuffer(input);
        return NULL;
    }
    inputPush(ctxt, stream);
    xmlCtxtUseOptions(ctxt, MDM_EVENT_XML_OPTIONS);
    xmlParseDocument(ctxt);
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    return doc;
}

/*
 * Whether the streaming reader may read xml: it starts with '<' and is no
 * XML declaration, so that libxml2 reads it as UTF-8 throughout. Another
 * encoding (declared, or told by a byte order mark or by zero bytes as in
 * UTF-16) is switched to on the fly, which is the tree reader's business.
 */
static bool plain_utf8(const char *xml, size_t len)
{
    return len >= 2 && xml[0] == '<' && xml[1] != '\0' && xml[1] != '?';
}

int mdm_event_stream_parse(struct mdm_event_stream *s, struct mdm_event *ev, const char *xml,
                           size_t len)
{
    struct mdm_xml_first_error ignored;
    xmlDoc *doc;
    int rc;

    if (!plain_utf8(xml, len))
        return MDM_EAGAIN;
    if (s->ctxt == NULL && new_context(s) != 0)
        return MDM_ENOMEM;
    begin_event(s, ev);
    memset(&ignored, 0, sizeof(ignored));
    /* The callbacks find this reader in _private (userData is the context). */
    s->ctxt->_private = s;
    xmlSetStructuredErrorFunc(&ignored, mdm_xml_capture_first_error);
    doc = read_document(s->ctxt, xml, len);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (s->out_of_memory)
        rc = MDM_ENOMEM;
    else if (doc == NULL || s->give_up || !s->ctxt->wellFormed || doc->intSubset != NULL ||
             doc->extSubset != NULL || s->depth != 0)
        rc = MDM_EAGAIN;
    else if ((rc = finish_system(s)) == 0)
        rc = mdm_event_xml_describe(ev);
    if (doc != NULL)
        xmlFreeDoc(doc);
    s->ev = NULL;
    trim(s);
    if (rc != 0) {
        void *arena = ev->arena;
        mdm_event_reset(ev);
        ev->arena = arena;
    }
    return rc;
}

/*
 * event_xml.c - parses one serialized <Event> (Windows Event XML) into a
 * struct mdm_event. Every source funnels through here: Event XML files, the
 * XML that libevtx renders for .evtx records, and EvtRender on Windows.
 */
#include "wevt/event.h"
#include "wevt/event_xml_impl.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_text.h"

#include "wevt/xml_error.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_element(const xmlNode *node, const char *name)
{
    return node != NULL && node->type == XML_ELEMENT_NODE &&
           strcmp((const char *)node->name, name) == 0;
}

static const xmlNode *child(const xmlNode *parent, const char *name)
{
    for (const xmlNode *c = parent ? parent->children : NULL; c != NULL; c = c->next)
        if (is_element(c, name))
            return c;
    return NULL;
}

const char *mdm_event_xml_keep(struct mdm_event *ev, const char *s, size_t len)
{
    return mdm_event_strdup(ev, s, mdm_utf8_cut(s, len, MDM_EVENT_FIELD_MAX));
}

/* Copies a libxml2 string ("" for NULL) into the event arena, cut as mdm_event_xml_keep(). */
static const char *keep(struct mdm_event *ev, const xmlChar *s)
{
    const char *text = s ? (const char *)s : "";

    return mdm_event_xml_keep(ev, text, strlen(text));
}

/* The text content of node kept in the arena ("" for NULL), or NULL when out of memory. */
static const char *keep_text(struct mdm_event *ev, const xmlNode *node)
{
    xmlChar *content;
    const char *copy;

    if (node == NULL)
        return mdm_event_strdup(ev, "", 0);
    content = xmlNodeGetContent(node);
    copy = keep(ev, content);
    xmlFree(content);
    return copy;
}

/* Keeps attribute name of node, or sets *out to NULL when absent. */
static int keep_attr(struct mdm_event *ev, const xmlNode *node, const char *name, const char **out)
{
    xmlChar *value;

    *out = NULL;
    if (node == NULL)
        return 0;
    value = xmlGetProp(node, (const xmlChar *)name);
    if (value == NULL)
        return 0;
    *out = keep(ev, value);
    xmlFree(value);
    return *out ? 0 : MDM_ENOMEM;
}

int mdm_event_xml_number(const char *text, uint64_t max, uint64_t *out, const char **trimmed)
{
    const char *s = text;
    unsigned long long v;
    char *end;

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    *trimmed = s;
    errno = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        v = strtoull(s + 2, &end, 16);
    else
        v = strtoull(s, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*s == '\0' || *s == '-' || *end != '\0' || errno == ERANGE || v > max)
        return MDM_EPARSE;
    *out = v;
    return 0;
}

/* Parses the unsigned number in the text of node (decimal, or hex with 0x). */
static int number_of(const xmlNode *node, uint64_t max, uint64_t *out, struct mdm_err *err)
{
    xmlChar *content = xmlNodeGetContent(node);
    const char *s;
    int rc = mdm_event_xml_number(content ? (const char *)content : "", max, out, &s);

    if (rc != 0)
        rc =
            mdm_err_set(err, MDM_EPARSE, "event line %ld: <%s> is not a number in range: \"%.40s\"",
                        xmlGetLineNo(node), (const char *)node->name, s);
    xmlFree(content);
    return rc;
}

int mdm_event_xml_qualifiers(struct mdm_event *ev, const char *q)
{
    char *end;
    unsigned long qv = strtoul(q, &end, 10);

    if (q[0] != '\0' && *end == '\0' && qv <= 0xFFFF) {
        ev->qualifiers = (uint16_t)qv;
        ev->has_qualifiers = true;
    } else if (q[0] != '\0') {
        return MDM_EPARSE;
    }
    return 0;
}

int mdm_event_xml_add_data(struct mdm_event *ev, size_t *cap, const char *name, const char *value)
{
    if (ev->data_count >= MDM_EVENT_DATA_MAX) {
        ev->data_truncated = true;
        return 0;
    }
    if (ev->data_count == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 8;
        struct mdm_event_data *grown;
        if (grown_cap > MDM_EVENT_DATA_MAX)
            grown_cap = MDM_EVENT_DATA_MAX;
        grown = mdm_event_alloc(ev, grown_cap * sizeof(*grown));
        if (grown == NULL)
            return MDM_ENOMEM;
        if (ev->data_count > 0)
            memcpy(grown, ev->data, ev->data_count * sizeof(*grown));
        ev->data = grown;
        *cap = grown_cap;
    }
    ev->data[ev->data_count].name = name;
    ev->data[ev->data_count].value = value;
    ev->data_count++;
    return 0;
}

/* Collects the leaf elements below node (UserData payload) as named values, in order. */
static int add_leaves(struct mdm_event *ev, size_t *cap, const xmlNode *node, int depth)
{
    int rc;

    if (depth > 32)
        return 0;
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        bool leaf = true;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        for (const xmlNode *g = c->children; g != NULL; g = g->next)
            if (g->type == XML_ELEMENT_NODE)
                leaf = false;
        if (leaf) {
            const char *name = keep(ev, c->name);
            const char *value = keep_text(ev, c);
            if (name == NULL || value == NULL)
                return MDM_ENOMEM;
            rc = mdm_event_xml_add_data(ev, cap, name, value);
        } else {
            rc = add_leaves(ev, cap, c, depth + 1);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Serializes the UserData element into ev->user_data (capped). */
static int keep_user_data(struct mdm_event *ev, xmlDoc *doc, const xmlNode *user_data)
{
    xmlBuffer *buffer = xmlBufferCreate();
    const char *xml;
    int rc = 0;

    if (buffer == NULL)
        return MDM_ENOMEM;
    if (xmlNodeDump(buffer, doc, (xmlNode *)user_data, 0, 0) < 0) {
        rc = MDM_ENOMEM;
        goto out;
    }
    xml = (const char *)xmlBufferContent(buffer);
    ev->user_data = mdm_event_strdup(ev, xml, mdm_utf8_cut(xml, strlen(xml), MDM_EVENT_FIELD_MAX));
    if (ev->user_data == NULL)
        rc = MDM_ENOMEM;
out:
    xmlBufferFree(buffer);
    return rc;
}

int mdm_event_xml_describe(struct mdm_event *ev)
{
    struct mdm_buf buf;
    int rc = 0;

    if (ev->message != NULL && ev->message[0] != '\0') {
        size_t len = strlen(ev->message);
        ev->description = mdm_event_strdup(
            ev, ev->message, mdm_utf8_cut(ev->message, len, MDM_EVENT_DESCRIPTION_MAX));
        return ev->description ? 0 : MDM_ENOMEM;
    }
    mdm_buf_init(&buf, MDM_EVENT_DESCRIPTION_MAX);
    for (size_t i = 0; i < ev->data_count && rc == 0; i++) {
        const char *v = ev->data[i].value;
        size_t len = strlen(v);
        if (i > 0)
            rc = mdm_buf_add(&buf, "; ", 2);
        if (rc == 0)
            rc = mdm_buf_add(&buf, v, len);
        if (rc == MDM_ETOOBIG) {
            /* Keep what fits, cut on a character boundary. */
            size_t room = buf.cap - buf.len;
            mdm_buf_add(&buf, v, mdm_utf8_cut(v, len, room));
            rc = 0;
            break;
        }
    }
    if (rc == 0) {
        const char *s = mdm_buf_str(&buf);
        ev->description = mdm_event_strdup(ev, s, strlen(s));
        if (ev->description == NULL)
            rc = MDM_ENOMEM;
    }
    mdm_buf_free(&buf);
    return rc;
}

static int parse_system(struct mdm_event *ev, const xmlNode *system, struct mdm_err *err)
{
    const xmlNode *provider = child(system, "Provider");
    const xmlNode *event_id = child(system, "EventID");
    const xmlNode *node;
    uint64_t v;
    int rc;

    if (provider == NULL)
        return mdm_err_set(err, MDM_EPARSE, "event line %ld: <System> has no <Provider>",
                           xmlGetLineNo(system));
    if (event_id == NULL)
        return mdm_err_set(err, MDM_EPARSE, "event line %ld: <System> has no <EventID>",
                           xmlGetLineNo(system));
    /* Classic sources name themselves in EventSourceName; Name may be a GUID-style alias. */
    rc = keep_attr(ev, provider, "EventSourceName", &ev->provider);
    if (rc == 0 && ev->provider == NULL)
        rc = keep_attr(ev, provider, "Name", &ev->provider);
    if (rc == 0 && ev->provider == NULL)
        rc = (ev->provider = mdm_event_strdup(ev, "", 0)) ? 0 : MDM_ENOMEM;
    if (rc == 0)
        rc = keep_attr(ev, provider, "Guid", &ev->provider_guid);
    if (rc != 0)
        return rc;

    rc = number_of(event_id, UINT32_MAX, &v, err);
    if (rc != 0)
        return rc;
    ev->event_id = (uint32_t)v;
    {
        xmlChar *q = xmlGetProp(event_id, (const xmlChar *)"Qualifiers");
        if (q != NULL) {
            if (mdm_event_xml_qualifiers(ev, (const char *)q) != 0) {
                rc = mdm_err_set(
                    err, MDM_EPARSE,
                    "event line %ld: EventID Qualifiers is not a 16-bit number: \"%.20s\"",
                    xmlGetLineNo(event_id), (const char *)q);
            }
            xmlFree(q);
            if (rc != 0)
                return rc;
        }
    }
    if ((node = child(system, "Level")) != NULL) {
        if ((rc = number_of(node, 255, &v, err)) != 0)
            return rc;
        ev->level = (uint8_t)v;
    }
    if ((node = child(system, "Task")) != NULL) {
        if ((rc = number_of(node, 65535, &v, err)) != 0)
            return rc;
        ev->task = (uint16_t)v;
    }
    if ((node = child(system, "Opcode")) != NULL) {
        if ((rc = number_of(node, 255, &v, err)) != 0)
            return rc;
        ev->opcode = (uint8_t)v;
    }
    if ((node = child(system, "Keywords")) != NULL) {
        if ((rc = number_of(node, UINT64_MAX, &v, err)) != 0)
            return rc;
        ev->keywords = v;
    }
    if ((node = child(system, "EventRecordID")) != NULL) {
        if ((rc = number_of(node, UINT64_MAX, &v, err)) != 0)
            return rc;
        ev->record_id = v;
    }
    if ((node = child(system, "TimeCreated")) != NULL) {
        if ((rc = keep_attr(ev, node, "SystemTime", &ev->time_created)) != 0)
            return rc;
        if (ev->time_created != NULL && mdm_parse_iso8601(ev->time_created, &ev->time_unix_ms) != 0)
            return mdm_err_set(err, MDM_EPARSE,
                               "event line %ld: TimeCreated SystemTime is not an ISO 8601 time: "
                               "\"%.40s\"",
                               xmlGetLineNo(node), ev->time_created);
    }
    if ((node = child(system, "Channel")) != NULL && (ev->channel = keep_text(ev, node)) == NULL)
        return MDM_ENOMEM;
    if ((node = child(system, "Computer")) != NULL && (ev->computer = keep_text(ev, node)) == NULL)
        return MDM_ENOMEM;
    if ((node = child(system, "Security")) != NULL &&
        (rc = keep_attr(ev, node, "UserID", &ev->user_sid)) != 0)
        return rc;
    return 0;
}

/*
 * The elements the event schema (event.xsd) allows in <Event>. Another name
 * in the event's own namespace is no newer schema but a damaged record: libevtx
 * renders a recovered fragment whose template was overwritten with element
 * names such as <ta> in place of <EventData>, and evaluating what is left
 * (the System part without the event's data) could match a monitor on a
 * half event.
 */
static const char *const event_children[] = {
    "System",          "EventData",           "UserData",      "DebugData",
    "BinaryEventData", "ProcessingErrorData", "RenderingInfo", "ExtendedTracingInfo",
};

static const xmlNode *unexpected_child(const xmlNode *root)
{
    for (const xmlNode *c = root->children; c != NULL; c = c->next) {
        bool known = false;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        /* Elements of other namespaces are extensions the schema allows. */
        if (c->ns != root->ns && !(c->ns && root->ns && xmlStrEqual(c->ns->href, root->ns->href)))
            continue;
        for (size_t i = 0; i < sizeof(event_children) / sizeof(event_children[0]); i++)
            if (strcmp((const char *)c->name, event_children[i]) == 0)
                known = true;
        if (!known)
            return c;
    }
    return NULL;
}

/* Parses the <Event> element below the document root. */
static int parse_event(struct mdm_event *ev, xmlDoc *doc, const xmlNode *root, struct mdm_err *err)
{
    const xmlNode *system = child(root, "System");
    const xmlNode *node;
    size_t cap = 0;
    int rc;

    if (system == NULL)
        return mdm_err_set(err, MDM_EPARSE, "event line %ld: <Event> has no <System>",
                           xmlGetLineNo(root));
    if ((node = unexpected_child(root)) != NULL)
        return mdm_err_set(err, MDM_EPARSE,
                           "event line %ld: <%.40s> is no element of an event: the record is "
                           "damaged",
                           xmlGetLineNo(node), (const char *)node->name);
    rc = parse_system(ev, system, err);
    if (rc != 0)
        return rc;
    if ((node = child(root, "EventData")) != NULL) {
        for (const xmlNode *d = node->children; d != NULL; d = d->next) {
            const char *name, *value;
            if (!is_element(d, "Data"))
                continue;
            if ((rc = keep_attr(ev, d, "Name", &name)) != 0)
                return rc;
            if ((value = keep_text(ev, d)) == NULL)
                return MDM_ENOMEM;
            if ((rc = mdm_event_xml_add_data(ev, &cap, name, value)) != 0)
                return rc;
        }
    }
    if ((node = child(root, "UserData")) != NULL) {
        if ((rc = keep_user_data(ev, doc, node)) != 0)
            return rc;
        if ((rc = add_leaves(ev, &cap, node, 0)) != 0)
            return rc;
    }
    if ((node = child(root, "RenderingInfo")) != NULL && (node = child(node, "Message")) != NULL &&
        (ev->message = keep_text(ev, node)) == NULL)
        return MDM_ENOMEM;
    return mdm_event_xml_describe(ev);
}

/*
 * Characters that XML 1.0 forbids (its production Char): the C0 controls
 * other than tab, newline and carriage return, the surrogates, U+FFFE and
 * U+FFFF. Windows puts them into event strings all the same (the
 * PrivilegeList of a Security 4661 holds U+0002, Sysmon and PowerShell
 * strings hold U+FFFF), and writes them into Event XML raw (libevtx,
 * EvtRender) or as character references (&#x2;, .NET's ToXml). A conforming
 * parser refuses the whole event for one such character, and a monitor
 * would miss it. They are replaced by U+FFFD before parsing, so the event is
 * evaluated and the replacement shows where the character was; the document
 * must be well-formed in every other respect.
 */
#define REPLACEMENT_UTF8 "\xEF\xBF\xBD" /* U+FFFD */
#define REPLACEMENT_REF  "&#xFFFD;"

static bool is_xml_char(unsigned long c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* A raw byte that XML 1.0 forbids everywhere: a C0 control but tab, LF and CR. */
static bool is_forbidden_byte(unsigned char c)
{
    return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
}

static bool starts(const char *p, const char *end, const char *prefix)
{
    size_t n = strlen(prefix);
    return (size_t)(end - p) >= n && memcmp(p, prefix, n) == 0;
}

/*
 * Length of a character reference to a character XML forbids at p ("&#2;",
 * "&#x0B;", "&#xFFFF;", "&#xD800;", "&#x110000;"), or 0 when p holds none (a
 * reference to an allowed character, or something that is no character
 * reference and is left to the parser to judge).
 */
static size_t forbidden_char_ref(const char *p, const char *end)
{
    const char *q = p + 2;
    unsigned long value = 0;
    int base = 10, digits = 0;

    if (!starts(p, end, "&#"))
        return 0;
    if (q < end && *q == 'x') {
        base = 16;
        q++;
    }
    for (; q < end && digits <= 8; q++, digits++) {
        int d;
        if (*q >= '0' && *q <= '9')
            d = *q - '0';
        else if (base == 16 && *q >= 'a' && *q <= 'f')
            d = *q - 'a' + 10;
        else if (base == 16 && *q >= 'A' && *q <= 'F')
            d = *q - 'A' + 10;
        else
            break;
        value = value * (unsigned long)base + (unsigned long)d;
    }
    /* Nine digits or more: no Unicode value, but the parser says so better. */
    if (digits == 0 || digits > 8 || q >= end || *q != ';' || is_xml_char(value))
        return 0;
    return (size_t)(q + 1 - p);
}

/*
 * Whether the document declares an encoding other than UTF-8. The
 * replacement is written in UTF-8, so such a document is left as it is (no
 * event source produces one: libevtx and EvtRender give UTF-8, and the XML
 * sources hand over each <Event> without the file's declaration).
 */
static bool declares_other_encoding(const char *xml, size_t len)
{
    const char *end = xml + (len < 256 ? len : 256), *p;
    const char *decl_end;

    if (starts(xml, end, "\xEF\xBB\xBF"))
        xml += 3;
    if (!starts(xml, end, "<?xml"))
        return false;
    decl_end = xml;
    while (decl_end < end && !starts(decl_end, end, "?>"))
        decl_end++;
    for (p = xml; p + 8 < decl_end; p++) {
        if (memcmp(p, "encoding", 8) != 0)
            continue;
        p += 8;
        while (p < decl_end && (*p == ' ' || *p == '=' || *p == '\t'))
            p++;
        if (p < decl_end && (*p == '"' || *p == '\''))
            p++;
        return !((size_t)(decl_end - p) >= 5 && mdm_ascii_iequal_n(p, "utf-8", 5) &&
                 (p + 5 == decl_end || p[5] == '"' || p[5] == '\''));
    }
    return false;
}

/*
 * Copies xml to out (when out is not NULL) with every forbidden character of
 * the text replaced: raw bytes by the UTF-8 bytes of U+FFFD, character
 * references by "&#xFFFD;". Text is character data, attribute values,
 * comments, CDATA sections and processing instructions (in the last three a
 * reference is plain text: "&#x2;" there stays). Markup is left alone: a
 * forbidden character in an element or attribute name is no string Windows
 * wrote but a damaged record (libevtx renders the lost template of a
 * recovered fragment as such names), and the parser reports it. Returns the
 * length of the result; *replaced counts the replacements.
 */
static size_t replace_forbidden(const char *xml, size_t len, char *out, size_t *replaced)
{
    enum { CONTENT, TAG, VALUE, COMMENT, CDATA, PI } mode = CONTENT;
    const char *p = xml, *end = xml + len;
    char quote = 0; /* the quote that ends the attribute value */
    size_t n = 0;

    *replaced = 0;
    while (p < end) {
        const char *put = p;
        size_t put_len = 1, skip = 1;
        unsigned char c = (unsigned char)*p;
        bool text = mode != TAG;

        if (text && is_forbidden_byte(c)) {
            put = REPLACEMENT_UTF8;
            put_len = 3;
            (*replaced)++;
        } else if (text && c == 0xEF && end - p >= 3 && (unsigned char)p[1] == 0xBF &&
                   ((unsigned char)p[2] == 0xBE || (unsigned char)p[2] == 0xBF)) {
            /* U+FFFE or U+FFFF in UTF-8. */
            put = REPLACEMENT_UTF8;
            put_len = skip = 3;
            (*replaced)++;
        } else if ((mode == CONTENT || mode == VALUE) && c == '&' &&
                   (skip = forbidden_char_ref(p, end)) > 0) {
            put = REPLACEMENT_REF;
            put_len = strlen(REPLACEMENT_REF);
            (*replaced)++;
        } else {
            skip = 1;
            if (mode == CONTENT && c == '<') {
                if (starts(p, end, "<!--"))
                    mode = COMMENT, put_len = skip = 4;
                else if (starts(p, end, "<![CDATA["))
                    mode = CDATA, put_len = skip = 9;
                else if (starts(p, end, "<?"))
                    mode = PI, put_len = skip = 2;
                else
                    mode = TAG;
            } else if (mode == TAG && (c == '"' || c == '\'')) {
                mode = VALUE;
                quote = (char)c;
            } else if (mode == TAG && c == '>') {
                mode = CONTENT;
            } else if (mode == VALUE && c == (unsigned char)quote) {
                mode = TAG;
            } else if ((mode == COMMENT && starts(p, end, "-->")) ||
                       (mode == CDATA && starts(p, end, "]]>"))) {
                mode = CONTENT;
                put_len = skip = 3;
            } else if (mode == PI && starts(p, end, "?>")) {
                mode = CONTENT;
                put_len = skip = 2;
            }
        }
        if (out != NULL)
            memcpy(out + n, put, put_len);
        n += put_len;
        p += skip;
    }
    return n;
}

/*
 * Whether xml may hold a character replace_forbidden() replaces: a raw
 * control byte, the first byte of U+FFFE / U+FFFF, or a character reference.
 * Most events hold none, and this look is far cheaper than the state machine.
 */
#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Whether one of the 8 bytes of w is below 0x20, '&' or 0xEF (word-at-a-time tests). */
static bool word_has_candidate(uint64_t w)
{
    uint64_t amp = w ^ (ONES * '&'), ef = w ^ (ONES * 0xEF);

    return (((w - ONES * 0x20) & ~w) | ((amp - ONES) & ~amp) | ((ef - ONES) & ~ef)) & HIGHS;
}

static bool may_need_replacing(const char *xml, size_t len)
{
    const unsigned char *p = (const unsigned char *)xml, *end = p + len;

    while (p < end) {
        const unsigned char *stop = end - p >= 8 ? p + 8 : end;
        if (stop - p == 8) {
            uint64_t w;
            memcpy(&w, p, sizeof(w));
            if (!word_has_candidate(w)) {
                p = stop;
                continue;
            }
        }
        /* A byte of these 8 needs a closer look (tab, newline and CR do not count). */
        for (; p < stop; p++) {
            unsigned char c = *p;
            if (c >= 0x20 && c != '&' && c != 0xEF)
                continue;
            if (c == '&'    ? end - p >= 2 && p[1] == '#'
                : c == 0xEF ? end - p >= 3 && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)
                            : is_forbidden_byte(c))
                return true;
        }
    }
    return false;
}

/*
 * Returns in *out a copy of xml with forbidden characters replaced (owned by
 * the caller, free with mdm_free; *out_len its length), or *out = NULL when
 * there is nothing to replace. Returns 0 or MDM_ENOMEM.
 */
static int sanitize(const char *xml, size_t len, char **out, size_t *out_len)
{
    size_t replaced, n;
    char *copy;

    *out = NULL;
    if (!may_need_replacing(xml, len) || declares_other_encoding(xml, len))
        return 0;
    n = replace_forbidden(xml, len, NULL, &replaced);
    if (replaced == 0)
        return 0;
    /* At most 3 bytes for each input byte (a control byte becomes U+FFFD). */
    copy = mdm_malloc(n + 1);
    if (copy == NULL)
        return MDM_ENOMEM;
    replace_forbidden(xml, len, copy, &replaced);
    copy[n] = '\0';
    *out = copy;
    *out_len = n;
    return 0;
}

/* The tree reader: the reference for every event, and the one that names every error. */
static int parse_tree(struct mdm_event *ev, const char *xml, size_t len, struct mdm_err *err)
{
    struct mdm_xml_first_error first;
    xmlParserCtxt *ctxt = NULL;
    xmlDoc *doc = NULL;
    const xmlNode *root;
    int rc;

    memset(&first, 0, sizeof(first));
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    /*
     * No network, no entity substitution, no DTD loading; a DTD is refused
     * below. libxml2 2.9 has no per-context structured error handler, so the
     * (thread-local) one is set around the parse.
     */
    xmlSetStructuredErrorFunc(&first, mdm_xml_capture_first_error);
    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL, MDM_EVENT_XML_OPTIONS);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (doc == NULL || !ctxt->wellFormed) {
        rc = mdm_err_set(err, MDM_EPARSE, "malformed XML at event line %d, column %d: %s",
                         first.line, first.column, first.seen ? first.message : "cannot parse");
        goto out;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        rc = mdm_err_set(err, MDM_EPARSE,
                         "a document type declaration (DTD) is not allowed in an event");
        goto out;
    }
    root = xmlDocGetRootElement(doc);
    if (!is_element(root, "Event")) {
        rc = mdm_err_set(err, MDM_EPARSE, "the root element is <%s>, not <Event>",
                         root ? (const char *)root->name : "?");
        goto out;
    }
    rc = parse_event(ev, doc, root, err);
    if (rc == MDM_ENOMEM)
        mdm_err_set(err, rc, "out of memory");
out:
    if (doc != NULL)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

struct mdm_event_parser {
    struct mdm_event_stream *stream;
    uint64_t streamed, tree; /* events read by each reader */
};

int mdm_event_parser_new(struct mdm_event_parser **out)
{
    struct mdm_event_parser *parser = mdm_calloc(1, sizeof(*parser));

    if (parser == NULL)
        return MDM_ENOMEM;
    if (mdm_event_stream_new(&parser->stream) != 0) {
        mdm_free(parser);
        return MDM_ENOMEM;
    }
    *out = parser;
    return 0;
}

void mdm_event_parser_free(struct mdm_event_parser *parser)
{
    if (parser == NULL)
        return;
    mdm_event_stream_free(parser->stream);
    mdm_free(parser);
}

/* Parses with the streaming reader when there is one (parser not NULL), else with the tree. */
static int parse(struct mdm_event_parser *parser, struct mdm_event *ev, const char *xml, size_t len,
                 struct mdm_err *err)
{
    char *sanitized = NULL;
    size_t sanitized_len = 0;
    int rc = MDM_EAGAIN;

    if (len > MDM_EVENT_XML_MAX)
        return mdm_err_set(err, MDM_ETOOBIG, "event of %zu bytes exceeds the %u-byte limit", len,
                           MDM_EVENT_XML_MAX);
    if (sanitize(xml, len, &sanitized, &sanitized_len) != 0)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    if (sanitized != NULL) {
        xml = sanitized;
        len = sanitized_len;
    }
    if (parser != NULL)
        rc = mdm_event_stream_parse(parser->stream, ev, xml, len);
    if (parser != NULL && rc != MDM_ENOMEM)
        (*(rc == MDM_EAGAIN ? &parser->tree : &parser->streamed))++;
    if (rc == MDM_EAGAIN)
        rc = parse_tree(ev, xml, len, err);
    else if (rc == MDM_ENOMEM)
        mdm_err_set(err, rc, "out of memory");
    if (rc != 0) {
        /* Outputs are set only on success: forget what was filled in. */
        void *arena = ev->arena;
        mdm_event_reset(ev);
        ev->arena = arena;
    }
    mdm_free(sanitized);
    return rc;
}

int mdm_event_parser_parse(struct mdm_event_parser *parser, struct mdm_event *ev, const char *xml,
                           size_t len, struct mdm_err *err)
{
    return parse(parser, ev, xml, len, err);
}

void mdm_event_parser_counts(const struct mdm_event_parser *parser, uint64_t *streamed,
                             uint64_t *tree)
{
    *streamed = parser->streamed;
    *tree = parser->tree;
}

int mdm_event_parse_xml(struct mdm_event *ev, const char *xml, size_t len, struct mdm_err *err)
{
    return parse(NULL, ev, xml, len, err);
}

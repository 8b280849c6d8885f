/*
 * event_xml.c - parses one serialized <Event> (Windows Event XML) into a
 * struct mdm_event. Every source funnels through here: Event XML files, the
 * XML that libevtx renders for .evtx records, and EvtRender on Windows.
 */
#include "event.h"

#include "mdm_buf.h"
#include "mdm_text.h"

#include "xml_error.h"

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

/*
 * Copies a libxml2 string into the event arena, cut at MDM_EVENT_FIELD_MAX
 * on a character boundary. Returns NULL only when out of memory.
 */
static const char *keep(struct mdm_event *ev, const xmlChar *s)
{
    const char *text = s ? (const char *)s : "";
    size_t len = strlen(text);

    return mdm_event_strdup(ev, text, mdm_utf8_cut(text, len, MDM_EVENT_FIELD_MAX));
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

/* Parses the unsigned number in the text of node (decimal, or hex with 0x). */
static int number_of(const xmlNode *node, uint64_t max, uint64_t *out, struct mdm_err *err)
{
    xmlChar *content = xmlNodeGetContent(node);
    const char *s = content ? (const char *)content : "";
    unsigned long long v;
    char *end;
    int rc = 0;

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    errno = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        v = strtoull(s + 2, &end, 16);
    else
        v = strtoull(s, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*s == '\0' || *s == '-' || *end != '\0' || errno == ERANGE || v > max)
        rc =
            mdm_err_set(err, MDM_EPARSE, "event line %ld: <%s> is not a number in range: \"%.40s\"",
                        xmlGetLineNo(node), (const char *)node->name, s);
    else
        *out = v;
    xmlFree(content);
    return rc;
}

/* Appends one insertion string; values beyond MDM_EVENT_DATA_MAX are dropped and flagged. */
static int add_data(struct mdm_event *ev, size_t *cap, const char *name, const char *value)
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
            rc = add_data(ev, cap, name, value);
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

/* Builds the EventDescription: the message, else the insertion strings joined by "; ". */
static int build_description(struct mdm_event *ev)
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
            char *end;
            unsigned long qv = strtoul((const char *)q, &end, 10);
            if (q[0] != '\0' && *end == '\0' && qv <= 0xFFFF) {
                ev->qualifiers = (uint16_t)qv;
                ev->has_qualifiers = true;
            } else if (q[0] != '\0') {
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
            if ((rc = add_data(ev, &cap, name, value)) != 0)
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
    return build_description(ev);
}

int mdm_event_parse_xml(struct mdm_event *ev, const char *xml, size_t len, struct mdm_err *err)
{
    struct mdm_xml_first_error first;
    xmlParserCtxt *ctxt = NULL;
    xmlDoc *doc = NULL;
    const xmlNode *root;
    int rc;

    memset(&first, 0, sizeof(first));
    if (len > MDM_EVENT_XML_MAX)
        return mdm_err_set(err, MDM_ETOOBIG, "event of %zu bytes exceeds the %u-byte limit", len,
                           MDM_EVENT_XML_MAX);
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    /*
     * No network, no entity substitution, no DTD loading; a DTD is refused
     * below. libxml2 2.9 has no per-context structured error handler, so the
     * (thread-local) one is set around the parse.
     */
    xmlSetStructuredErrorFunc(&first, mdm_xml_capture_first_error);
    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
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
    if (rc != 0) {
        /* Outputs are set only on success: forget what was filled in. */
        void *arena = ev->arena;
        mdm_event_reset(ev);
        ev->arena = arena;
    }
    if (doc != NULL)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

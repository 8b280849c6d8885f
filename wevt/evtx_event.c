/*
 * evtx_event.c - the .evtx reader: the binary XML tree of a record mapped to
 * the event fields, and mdm_evtx_reader_event().
 * The format and the caps: evtx_internal.h.
 */
#include "wevt/evtx_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_fs.h"
#include "agent/common/mdm_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- from the tree to the event -------------------------------------------- */

static const struct bx_node *child(const struct bx_node *n, const char *name)
{
    for (const struct bx_node *c = n ? n->first : NULL; c != NULL; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static const struct bx_attr *attr(const struct bx_node *n, const char *name)
{
    for (const struct bx_attr *a = n ? n->attrs : NULL; a != NULL; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

/*
 * The text as the XML parser hands it over: characters XML 1.0 forbids as
 * U+FFFD (as event_xml.c's replacement does), "\r\n" and "\r" as "\n", and
 * in attribute values "\t", "\n" and "\r" as spaces. In scratch.
 */
static int normalize(struct bx *b, const char *s, size_t len, bool in_attr, char **out,
                     size_t *out_len)
{
    char *o = evtx_scratch(b->r, len * 3 + 1), *q = o;

    if (o == NULL)
        return REFUSE(b, 0, "record too large");
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\r') {
            if (i + 1 < len && s[i + 1] == '\n')
                i++;
            *q++ = in_attr ? ' ' : '\n';
        } else if (ch == '\n' || ch == '\t') {
            *q++ = in_attr ? ' ' : (char)ch;
        } else if (ch < 0x20) {
            memcpy(q, "\xEF\xBF\xBD", 3), q += 3;
        } else if (ch == 0xEF && i + 2 < len && (unsigned char)s[i + 1] == 0xBF &&
                   ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF)) {
            memcpy(q, "\xEF\xBF\xBD", 3), q += 3;
            i += 2;
        } else {
            *q++ = (char)ch;
        }
    }
    *q = '\0';
    *out = o;
    *out_len = (size_t)(q - o);
    return 0;
}

/* Keeps normalized text in the event, cut at MDM_EVENT_FIELD_MAX. NULL when out of memory. */
static int keep(struct bx *b, struct mdm_event *ev, const char *s, size_t len, bool in_attr,
                const char **out)
{
    char *n;
    size_t nlen;
    int rc = normalize(b, s, len, in_attr, &n, &nlen);

    if (rc != 0)
        return rc;
    *out = mdm_event_strdup(ev, n, mdm_utf8_cut(n, nlen, MDM_EVENT_FIELD_MAX));
    return *out ? 0 : MDM_ENOMEM;
}

/* The text of an element without children ("" when it has no value). */
static int keep_text(struct bx *b, struct mdm_event *ev, const struct bx_node *n, const char **out)
{
    if (n->first != NULL)
        return REFUSE(b, 0, "text of an element with children");
    return keep(b, ev, n->has_value ? n->value : "", n->has_value ? n->value_len : 0, false, out);
}

static int keep_attr(struct bx *b, struct mdm_event *ev, const struct bx_node *n, const char *name,
                     const char **out)
{
    const struct bx_attr *a = attr(n, name);

    *out = NULL;
    return a ? keep(b, ev, a->value, a->len, true, out) : 0;
}

/* The number in an element's text, as event_xml.c's number_of() reads it. */
static int number_of(struct bx *b, const struct bx_node *n, uint64_t max, uint64_t *out)
{
    char *t;
    size_t len;
    const char *s;
    char *end;
    unsigned long long v;
    int rc;

    if (n->first != NULL)
        return REFUSE(b, 0, "number in an element with children");
    if ((rc = normalize(b, n->has_value ? n->value : "", n->has_value ? n->value_len : 0, false, &t,
                        &len)) != 0)
        return rc;
    s = t;
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
        return REFUSE(b, 0, "a number out of range (libevtx's path reports it)");
    *out = v;
    return 0;
}

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

/*
 * Appends s to buf escaped as libxml2's xmlNodeDump() escapes text (attr
 * false) or attribute values of a document without an encoding: markup
 * characters as entities, everything outside ASCII as a hex character
 * reference.
 */
static int dump_escaped(struct mdm_buf *buf, const char *s, size_t len, bool in_attr)
{
    int rc = 0;

    for (size_t i = 0; i < len && rc == 0; i++) {
        unsigned char ch = (unsigned char)s[i];
        char ref[16];
        if (ch == '<')
            rc = mdm_buf_add(buf, "&lt;", 4);
        else if (ch == '>')
            rc = mdm_buf_add(buf, "&gt;", 4);
        else if (ch == '&')
            rc = mdm_buf_add(buf, "&amp;", 5);
        else if (in_attr && ch == '"')
            rc = mdm_buf_add(buf, "&quot;", 6);
        else if (ch == '\r')
            rc = mdm_buf_add(buf, "&#13;", 5);
        else if (ch < 0x80)
            rc = mdm_buf_add(buf, (const char *)&ch, 1);
        else {
            uint32_t u;
            size_t extra;
            if (ch >= 0xF0)
                u = ch & 0x07, extra = 3;
            else if (ch >= 0xE0)
                u = ch & 0x0F, extra = 2;
            else
                u = ch & 0x1F, extra = 1;
            for (size_t k = 0; k < extra && i + 1 < len; k++)
                u = (u << 6) | ((unsigned char)s[++i] & 0x3F);
            snprintf(ref, sizeof(ref), "&#x%" PRIX32 ";", u);
            rc = mdm_buf_add(buf, ref, strlen(ref));
        }
    }
    return rc;
}

static int dump_indent(struct mdm_buf *buf, int level)
{
    static const char spaces[] = "                                                                ";
    int rc = mdm_buf_add(buf, "\n", 1);
    size_t n = (size_t)level * 2;

    while (rc == 0 && n > 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        rc = mdm_buf_add(buf, spaces, k);
        n -= k;
    }
    return rc;
}

/*
 * Serializes n as xmlNodeDump() serializes what libevtx renders of it at
 * indentation level: the same text, whitespace between elements included.
 */
static int dump_node(struct bx *b, struct mdm_buf *buf, const struct bx_node *n, int level)
{
    int rc = mdm_buf_add(buf, "<", 1);
    char *t;
    size_t len;

    if (rc == 0)
        rc = mdm_buf_add(buf, n->name, strlen(n->name));
    for (const struct bx_attr *a = n->attrs; a != NULL && rc == 0; a = a->next) {
        /* libxml2 writes namespace declarations first. */
        if (strcmp(a->name, "xmlns") == 0 && a != n->attrs)
            return REFUSE(b, 0, "namespace declaration after an attribute");
        if ((rc = normalize(b, a->value, a->len, true, &t, &len)) != 0)
            return rc;
        rc = mdm_buf_add(buf, " ", 1);
        if (rc == 0)
            rc = mdm_buf_add(buf, a->name, strlen(a->name));
        if (rc == 0)
            rc = mdm_buf_add(buf, "=\"", 2);
        if (rc == 0)
            rc = dump_escaped(buf, t, len, true);
        if (rc == 0)
            rc = mdm_buf_add(buf, "\"", 1);
    }
    if (rc != 0)
        return rc;
    if (n->has_value && n->value_len > 0) {
        if ((rc = normalize(b, n->value, n->value_len, false, &t, &len)) != 0)
            return rc;
        rc = mdm_buf_add(buf, ">", 1);
        if (rc == 0)
            rc = dump_escaped(buf, t, len, false);
    } else if (n->first != NULL) {
        rc = mdm_buf_add(buf, ">", 1);
        for (const struct bx_node *c = n->first; c != NULL && rc == 0; c = c->next) {
            rc = dump_indent(buf, level + 1);
            if (rc == 0)
                rc = dump_node(b, buf, c, level + 1);
        }
        if (rc == 0)
            rc = dump_indent(buf, level);
    } else {
        return mdm_buf_add(buf, "/>", 2);
    }
    if (rc == 0)
        rc = mdm_buf_add(buf, "</", 2);
    if (rc == 0)
        rc = mdm_buf_add(buf, n->name, strlen(n->name));
    if (rc == 0)
        rc = mdm_buf_add(buf, ">", 1);
    return rc;
}

/* UserData leaf values, as event_xml.c's add_leaves() collects them. */
static int add_leaves(struct bx *b, struct mdm_event *ev, size_t *cap, const struct bx_node *node,
                      int depth)
{
    int rc;

    if (depth > 32)
        return 0;
    for (const struct bx_node *c = node->first; c != NULL; c = c->next) {
        if (c->first == NULL) {
            const char *name = mdm_event_strdup(ev, c->name, strlen(c->name));
            const char *value;
            if (name == NULL)
                return MDM_ENOMEM;
            if ((rc = keep_text(b, ev, c, &value)) != 0)
                return rc;
            rc = add_data(ev, cap, name, value);
        } else {
            rc = add_leaves(b, ev, cap, c, depth + 1);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int build_description(struct mdm_event *ev)
{
    struct mdm_buf buf;
    int rc = 0;

    mdm_buf_init(&buf, MDM_EVENT_DESCRIPTION_MAX);
    for (size_t i = 0; i < ev->data_count && rc == 0; i++) {
        const char *v = ev->data[i].value;
        size_t len = strlen(v);
        if (i > 0)
            rc = mdm_buf_add(&buf, "; ", 2);
        if (rc == 0)
            rc = mdm_buf_add(&buf, v, len);
        if (rc == MDM_ETOOBIG) {
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

static int map_system(struct bx *b, struct mdm_event *ev, const struct bx_node *system)
{
    const struct bx_node *provider = child(system, "Provider");
    const struct bx_node *event_id = child(system, "EventID");
    const struct bx_node *n;
    const struct bx_attr *q;
    uint64_t v;
    int rc;

    if (provider == NULL || event_id == NULL)
        return REFUSE(b, 0, "System without Provider or EventID");
    rc = keep_attr(b, ev, provider, "EventSourceName", &ev->provider);
    if (rc == 0 && ev->provider == NULL)
        rc = keep_attr(b, ev, provider, "Name", &ev->provider);
    if (rc == 0 && ev->provider == NULL)
        rc = (ev->provider = mdm_event_strdup(ev, "", 0)) ? 0 : MDM_ENOMEM;
    if (rc == 0)
        rc = keep_attr(b, ev, provider, "Guid", &ev->provider_guid);
    if (rc != 0)
        return rc;
    if ((rc = number_of(b, event_id, UINT32_MAX, &v)) != 0)
        return rc;
    ev->event_id = (uint32_t)v;
    if ((q = attr(event_id, "Qualifiers")) != NULL) {
        const char *qs;
        char *end;
        unsigned long qv;
        if ((rc = keep(b, ev, q->value, q->len, true, &qs)) != 0)
            return rc;
        qv = strtoul(qs, &end, 10);
        if (qs[0] != '\0' && *end == '\0' && qv <= 0xFFFF) {
            ev->qualifiers = (uint16_t)qv;
            ev->has_qualifiers = true;
        } else if (qs[0] != '\0') {
            return REFUSE(b, 0, "Qualifiers out of range (libevtx's path reports it)");
        }
    }
    if ((n = child(system, "Level")) != NULL) {
        if ((rc = number_of(b, n, 255, &v)) != 0)
            return rc;
        ev->level = (uint8_t)v;
    }
    if ((n = child(system, "Task")) != NULL) {
        if ((rc = number_of(b, n, 65535, &v)) != 0)
            return rc;
        ev->task = (uint16_t)v;
    }
    if ((n = child(system, "Opcode")) != NULL) {
        if ((rc = number_of(b, n, 255, &v)) != 0)
            return rc;
        ev->opcode = (uint8_t)v;
    }
    if ((n = child(system, "Keywords")) != NULL) {
        if ((rc = number_of(b, n, UINT64_MAX, &v)) != 0)
            return rc;
        ev->keywords = v;
    }
    if ((n = child(system, "EventRecordID")) != NULL) {
        if ((rc = number_of(b, n, UINT64_MAX, &v)) != 0)
            return rc;
        ev->record_id = v;
    }
    if ((n = child(system, "TimeCreated")) != NULL) {
        if ((rc = keep_attr(b, ev, n, "SystemTime", &ev->time_created)) != 0)
            return rc;
        if (ev->time_created != NULL && mdm_parse_iso8601(ev->time_created, &ev->time_unix_ms) != 0)
            return REFUSE(b, 0, "TimeCreated is no ISO 8601 time (libevtx's path reports it)");
    }
    if ((n = child(system, "Channel")) != NULL && (rc = keep_text(b, ev, n, &ev->channel)) != 0)
        return rc;
    if ((n = child(system, "Computer")) != NULL && (rc = keep_text(b, ev, n, &ev->computer)) != 0)
        return rc;
    if ((n = child(system, "Security")) != NULL &&
        (rc = keep_attr(b, ev, n, "UserID", &ev->user_sid)) != 0)
        return rc;
    return 0;
}

#define EVENT_NS "http://schemas.microsoft.com/win/2004/08/events/event"

static int map_event(struct bx *b, struct mdm_event *ev, const struct bx_node *root)
{
    const struct bx_node *system, *n;
    const struct bx_attr *ns;
    size_t cap = 0;
    int rc;

    if (root == NULL || root->next != NULL || strcmp(root->name, "Event") != 0)
        return REFUSE(b, 0, "no single <Event> element");
    ns = attr(root, "xmlns");
    if (ns == NULL || ns->len != strlen(EVENT_NS) || memcmp(ns->value, EVENT_NS, ns->len) != 0 ||
        root->attrs->next != NULL || root->has_value)
        return REFUSE(b, 0, "<Event> of an unexpected form");
    /* Only the parts this reader maps; the others (RenderingInfo, ...) are libevtx's. */
    for (n = root->first; n != NULL; n = n->next) {
        if (strcmp(n->name, "System") != 0 && strcmp(n->name, "EventData") != 0 &&
            strcmp(n->name, "UserData") != 0)
            return REFUSE(b, 0, "an <Event> part this reader leaves to libevtx");
        /* EventData's Name is ignored, as by the XML path; UserData's are dumped. */
        if (n->attrs != NULL && strcmp(n->name, "System") == 0)
            return REFUSE(b, 0, "attributes on <System>");
        if (attr(n, "xmlns") != NULL && strcmp(n->name, "UserData") != 0)
            return REFUSE(b, 0, "namespace declaration on an <Event> part");
    }
    if ((system = child(root, "System")) == NULL)
        return REFUSE(b, 0, "<Event> without <System>");
    for (n = system->first; n != NULL; n = n->next)
        if (attr(n, "xmlns") != NULL)
            return REFUSE(b, 0, "namespace declaration in System");
    if ((rc = map_system(b, ev, system)) != 0)
        return rc;
    if ((n = child(root, "EventData")) != NULL) {
        for (const struct bx_node *d = n->first; d != NULL; d = d->next) {
            const char *name, *value;
            if (strcmp(d->name, "Data") != 0)
                continue;
            if (attr(d, "xmlns") != NULL)
                return REFUSE(b, 0, "namespace declaration in EventData");
            if ((rc = keep_attr(b, ev, d, "Name", &name)) != 0)
                return rc;
            if ((rc = keep_text(b, ev, d, &value)) != 0)
                return rc;
            if ((rc = add_data(ev, &cap, name, value)) != 0)
                return rc;
        }
    }
    if ((n = child(root, "UserData")) != NULL) {
        struct mdm_buf buf;
        mdm_buf_init(&buf, 4 * MDM_EVENT_XML_MAX);
        rc = dump_node(b, &buf, n, 1);
        if (rc == MDM_ETOOBIG)
            rc = REFUSE(b, 0, "UserData too large");
        if (rc == 0) {
            const char *s = mdm_buf_str(&buf);
            size_t len = strlen(s);
            ev->user_data = mdm_event_strdup(ev, s, mdm_utf8_cut(s, len, MDM_EVENT_FIELD_MAX));
            if (ev->user_data == NULL)
                rc = MDM_ENOMEM;
        }
        mdm_buf_free(&buf);
        if (rc != 0)
            return rc;
        if ((rc = add_leaves(b, ev, &cap, n, 0)) != 0)
            return rc;
    }
    return build_description(ev);
}

int mdm_evtx_reader_event(struct mdm_evtx_reader *r, size_t i, struct mdm_event *ev,
                          struct mdm_err *err)
{
    struct bx b;
    struct bx_node top;
    const struct rec *rec;
    uint32_t pos, end;
    int rc;

    if (i >= r->count)
        return mdm_err_set(err, MDM_EUNSUPPORTED, "%s: no record %zu", r->path, i);
    rec = &r->recs[i];
    if (!r->chunk_ok[rec->chunk] && !r->ignore_crc)
        return mdm_err_set(err, MDM_EUNSUPPORTED, "%s: chunk %" PRIu32 ": CRC-32 mismatch", r->path,
                           rec->chunk);
    if (evtx_load_chunk(r, rec->chunk) != 0)
        return mdm_err_set(err, MDM_EUNSUPPORTED, "%s: chunk %" PRIu32 ": cannot read it", r->path,
                           rec->chunk);
    evtx_scratch_reset(r);
    memset(&b, 0, sizeof(b));
    memset(&top, 0, sizeof(top));
    b.r = r;
    b.c = r->buf;
    pos = rec->offset + EVTX_RECORD_HEADER;
    end = rec->offset + le32(r->buf + rec->offset + 4) - 4;
    /* The event: a fragment header, a template instance (or an element), the end. */
    if (pos + 5 > end || r->buf[pos] != 0x0F) {
        rc = REFUSE(&b, pos, "record without a fragment header");
    } else {
        pos += 4;
        if (r->buf[pos] == 0x0C)
            rc = evtx_parse_template_instance(&b, &pos, end, &top, 0);
        else if ((r->buf[pos] & 0xBF) == 0x01)
            rc = evtx_parse_element(&b, &pos, end, true, &top, NULL, 0, 0);
        else
            rc = REFUSE(&b, pos, "record of an unexpected form");
        if (rc == 0 && (pos >= end || r->buf[pos] != 0x00))
            rc = REFUSE(&b, pos, "record without an end of fragment");
        if (rc == 0)
            rc = map_event(&b, ev, top.first);
    }
    if (rc != 0) {
        void *arena = ev->arena;
        mdm_event_reset(ev);
        ev->arena = arena;
        if (rc == MDM_ENOMEM)
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        return mdm_err_set(err, MDM_EUNSUPPORTED, "%s: offset %" PRIu64 ": record %" PRIu64 ": %s",
                           r->path,
                           EVTX_HEADER_SIZE + (uint64_t)rec->chunk * EVTX_CHUNK_SIZE +
                               (b.where ? b.where : rec->offset),
                           rec->number, b.why ? b.why : "refused");
    }
    return 0;
}

/*
 * evtx_binxml.c - the .evtx reader: a record's binary XML (tokens, templates,
 * substitutions) parsed into a tree of elements and attributes.
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

/* Appends len bytes of raw text to the value of node. */
static int add_value(struct bx *b, struct bx_node *node, const char *s, size_t len)
{
    char *v = evtx_scratch(b->r, node->value_len + len + 1);

    if (v == NULL)
        return REFUSE(b, 0, "record too large");
    if (node->value_len > 0)
        memcpy(v, node->value, node->value_len);
    memcpy(v + node->value_len, s, len);
    node->value_len += len;
    v[node->value_len] = '\0';
    node->value = v;
    node->pieces++;
    node->has_value = true;
    return 0;
}

/*
 * A name structure at chunk offset at (next offset, hash, count, UTF-16
 * characters, NUL). Sets *name (UTF-8, scratch) and *size (the bytes it
 * takes). Names that are no plain XML names are refused: libevtx would
 * render them as they are and the XML would not parse.
 */
static int read_name(struct bx *b, uint32_t at, const char **name, uint32_t *size)
{
    const uint8_t *c = b->c;
    uint32_t n;
    char *s;
    size_t len;
    int rc;

    if (at > EVTX_CHUNK_SIZE - 8)
        return REFUSE(b, at, "name out of the chunk");
    n = le16(c + at + 6);
    if (n == 0 || at + 8 + 2 * (uint64_t)n + 2 > EVTX_CHUNK_SIZE)
        return REFUSE(b, at, "name out of the chunk");
    if ((rc = evtx_utf16_to_utf8(b, c + at + 8, n, at, &s, &len)) != 0)
        return rc;
    if (len != n)
        return REFUSE(b, at, "name with a NUL or non-ASCII character");
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' ||
                  (i > 0 && ((ch >= '0' && ch <= '9') || ch == '-' || ch == '.'));
        if (!ok)
            return REFUSE(b, at, "name that is no plain XML name");
    }
    *name = s;
    *size = 8 + 2 * n + 2;
    return 0;
}
/*
 * A substitution in element content (into_attr NULL) or as an attribute
 * value. A NULL value gives nothing (*none set); binary XML adds elements.
 */
static int substitute(struct bx *b, uint32_t at, uint16_t index, struct bx_node *node,
                      struct bx_attr *attr, size_t *arr_off, bool *none, const struct subst *subs,
                      uint32_t nsubs, int depth)
{
    const struct subst *v;
    struct subst item;
    char *text;
    size_t len;
    int rc;

    *none = false;
    if (index >= nsubs)
        return REFUSE(b, at, "substitution index out of range");
    v = &subs[index];
    if (v->type == 0x00) {
        *none = true;
        return 0;
    }
    if (v->type & 0x80) {
        /*
         * An array: libfwevt repeats the element holding it once for each
         * item (the caller loops while *arr_off is not back at 0). A UTF-16
         * string item runs up to its NUL, included; other items have the
         * size of their type.
         */
        static const uint8_t item_size[0x16] = {
            [0x03] = 1, [0x04] = 1,  [0x05] = 2, [0x06] = 2,  [0x07] = 4, [0x08] = 4, [0x09] = 8,
            [0x0A] = 8, [0x0F] = 16, [0x11] = 8, [0x12] = 16, [0x14] = 4, [0x15] = 8,
        };
        uint8_t base = v->type & 0x7F;
        size_t left, used;
        if (arr_off == NULL)
            return REFUSE(b, at, "array value in an attribute");
        if (v->size == 0 || *arr_off >= v->size)
            return REFUSE(b, at, "empty array value");
        left = v->size - *arr_off;
        item.data = v->data + *arr_off;
        item.type = base;
        if (base == 0x01) {
            size_t n = 0;
            if (v->size % 2 != 0)
                return REFUSE(b, at, "odd UTF-16 string array size");
            while (n + 2 <= left && le16(item.data + n) != 0)
                n += 2;
            item.size = (uint16_t)n;
            used = n + 2 <= left ? n + 2 : n;
        } else if (base < sizeof(item_size) && item_size[base] != 0) {
            if (item_size[base] > left)
                return REFUSE(b, at, "array value out of bounds");
            item.size = item_size[base];
            used = item_size[base];
        } else {
            return REFUSE(b, at, "array type this reader leaves to libevtx");
        }
        *arr_off += used;
        if (*arr_off == v->size)
            *arr_off = 0;
        v = &item;
    }
    if (v->type == 0x21) {
        uint32_t pos = (uint32_t)(v->data - b->c), end = pos + v->size;
        uint8_t t;
        if (attr != NULL)
            return REFUSE(b, at, "binary XML as an attribute value");
        if (v->size == 0)
            return REFUSE(b, at, "empty binary XML value");
        t = b->c[pos];
        if ((t & 0xBF) == 0x01)
            return evtx_parse_element(b, &pos, end, false, node, NULL, 0, depth + 1);
        if (t == 0x0F) {
            if (v->size < 5)
                return REFUSE(b, at, "short binary XML value");
            pos += 4;
            if (b->c[pos] == 0x0C)
                return evtx_parse_template_instance(b, &pos, end, node, depth + 1);
            if ((b->c[pos] & 0xBF) == 0x01)
                return evtx_parse_element(b, &pos, end, true, node, NULL, 0, depth + 1);
        }
        if (t == 0x0C)
            return evtx_parse_template_instance(b, &pos, end, node, depth + 1);
        return REFUSE(b, at, "binary XML value of an unexpected form");
    }
    if ((rc = evtx_format_value(b, v, at, &text, &len)) != 0)
        return rc;
    if (attr != NULL) {
        attr->value = text;
        attr->len = len;
        return 0;
    }
    return add_value(b, node, text, len);
}

/* One pass over an element (see evtx_parse_element). */
static int parse_element_once(struct bx *b, uint32_t *pos, uint32_t end, bool dep_ids,
                              struct bx_node *parent, const struct subst *subs, uint32_t nsubs,
                              int depth, size_t *arr_off)
{
    const uint8_t *c = b->c;
    uint32_t p = *pos, name_off, name_size = 0;
    struct bx_node *node;
    bool has_attrs, keep_node = true;
    int rc;

    if (depth > BX_DEPTH_MAX)
        return REFUSE(b, p, "binary XML nested too deep");
    if (++b->r->nodes > BX_NODES_MAX)
        return REFUSE(b, p, "too many elements");
    has_attrs = (c[p] & 0x40) != 0;
    p += 1u + (dep_ids ? 2u : 0u) + 4u; /* token, dependency id, data size */
    if (p + 4 > end)
        return REFUSE(b, p, "element out of bounds");
    name_off = le32(c + p);
    p += 4;
    if (name_off > p)
        return REFUSE(b, p, "element name after the element");
    node = evtx_scratch(b->r, sizeof(*node));
    if (node == NULL)
        return REFUSE(b, p, "record too large");
    memset(node, 0, sizeof(*node));
    if ((rc = read_name(b, name_off, &node->name, &name_size)) != 0)
        return rc;
    if (name_off == p)
        p += name_size;
    if (has_attrs) {
        uint32_t list_end;
        if (p + 4 > end)
            return REFUSE(b, p, "attribute list out of bounds");
        list_end = p + 4 + le32(c + p);
        p += 4;
        if (list_end > end || list_end < p)
            return REFUSE(b, p, "attribute list out of bounds");
        while (p < list_end) {
            struct bx_attr *a;
            uint32_t an, asize = 0;
            uint8_t t = c[p];
            bool none = false;

            if ((t & 0xBF) != 0x06)
                return REFUSE(b, p, "unexpected token in an attribute list");
            if (p + 5 > end)
                return REFUSE(b, p, "attribute out of bounds");
            an = le32(c + p + 1);
            p += 5;
            if (an > p)
                return REFUSE(b, p, "attribute name after the attribute");
            a = evtx_scratch(b->r, sizeof(*a));
            if (a == NULL)
                return REFUSE(b, p, "record too large");
            memset(a, 0, sizeof(*a));
            if ((rc = read_name(b, an, &a->name, &asize)) != 0)
                return rc;
            if (an == p)
                p += asize;
            if (p >= end)
                return REFUSE(b, p, "attribute value out of bounds");
            switch (c[p] & 0xBF) {
            case 0x05: { /* value: UTF-16 string */
                uint32_t n;
                char *s;
                size_t len;
                if (p + 4 > end || c[p + 1] != 0x01)
                    return REFUSE(b, p, "attribute value of an unexpected type");
                n = le16(c + p + 2);
                if (p + 4 + 2 * n > end)
                    return REFUSE(b, p, "attribute value out of bounds");
                if ((rc = evtx_utf16_to_utf8(b, c + p + 4, n, p, &s, &len)) != 0)
                    return rc;
                a->value = s;
                a->len = len;
                p += 4 + 2 * n;
                break;
            }
            case 0x0D:
            case 0x0E:
                if (p + 4 > end)
                    return REFUSE(b, p, "substitution out of bounds");
                if ((rc = substitute(b, p, le16(c + p + 1), node, a, NULL, &none, subs, nsubs,
                                     depth)) != 0)
                    return rc;
                p += 4;
                break;
            default:
                return REFUSE(b, p, "attribute value token this reader leaves to libevtx");
            }
            if (none)
                continue;
            if (a->len == 0)
                return REFUSE(b, p, "empty attribute value");
            /* libfwevt writes attribute values unescaped: these would break its XML. */
            for (size_t i = 0; i < a->len; i++)
                if (a->value[i] == '&' || a->value[i] == '<' || a->value[i] == '"')
                    return REFUSE(b, p, "attribute value with markup characters");
            for (struct bx_attr *o = node->attrs; o != NULL; o = o->next)
                if (strcmp(o->name, a->name) == 0)
                    return REFUSE(b, p, "duplicate attribute");
            if (node->attrs_last != NULL)
                node->attrs_last->next = a;
            else
                node->attrs = a;
            node->attrs_last = a;
        }
    }
    if (p >= end)
        return REFUSE(b, p, "element out of bounds");
    if (c[p] == 0x03) { /* close empty element */
        p++;
    } else if (c[p] == 0x02) { /* close start element: content follows */
        p++;
        for (;;) {
            uint8_t t;
            bool none;
            if (p >= end)
                return REFUSE(b, p, "element content out of bounds");
            t = c[p];
            if (t == 0x04) {
                p++;
                break;
            }
            switch (t & 0xBF) {
            case 0x01:
                if ((rc = evtx_parse_element(b, &p, end, dep_ids, node, subs, nsubs, depth + 1)) !=
                    0)
                    return rc;
                break;
            case 0x05: {
                uint32_t n;
                char *s;
                size_t len;
                if (p + 4 > end || c[p + 1] != 0x01)
                    return REFUSE(b, p, "value of an unexpected type");
                n = le16(c + p + 2);
                if (p + 4 + 2 * n > end)
                    return REFUSE(b, p, "value out of bounds");
                if ((rc = evtx_utf16_to_utf8(b, c + p + 4, n, p, &s, &len)) != 0)
                    return rc;
                if ((rc = add_value(b, node, s, len)) != 0)
                    return rc;
                p += 4 + 2 * n;
                break;
            }
            case 0x0D:
            case 0x0E:
                if (p + 4 > end)
                    return REFUSE(b, p, "substitution out of bounds");
                if ((rc = substitute(b, p, le16(c + p + 1), node, NULL, arr_off, &none, subs, nsubs,
                                     depth)) != 0)
                    return rc;
                /* libfwevt keeps the element unless its last substitution was NULL. */
                keep_node = !none;
                p += 4;
                break;
            default:
                return REFUSE(b, p, "content token this reader leaves to libevtx");
            }
        }
    } else {
        return REFUSE(b, p, "unexpected token after a start tag");
    }
    /* libfwevt writes an element with a value without its children. */
    if (node->has_value && node->first != NULL)
        return REFUSE(b, p, "element with both a value and children");
    /* A value that is one lone linefeed is written as an empty element. */
    if (node->pieces == 1 && node->value_len == 1 && node->value[0] == '\n')
        node->value_len = 0, node->value[0] = '\0';
    if (keep_node) {
        if (parent->last != NULL)
            parent->last->next = node;
        else
            parent->first = node;
        parent->last = node;
    }
    *pos = p;
    return 0;
}

/*
 * An element at *pos (token 0x01 or 0x41), appended to parent's children
 * (once for each item when its content holds an array); *pos ends after its
 * end tag. dep_ids: whether the start tag carries the dependency identifier
 * (not inside binary XML substitution values).
 */
int evtx_parse_element(struct bx *b, uint32_t *pos, uint32_t end, bool dep_ids,
                       struct bx_node *parent, const struct subst *subs, uint32_t nsubs, int depth)
{
    size_t arr_off = 0;
    uint32_t p;
    int rc;

    do {
        p = *pos;
        if ((rc = parse_element_once(b, &p, end, dep_ids, parent, subs, nsubs, depth, &arr_off)) !=
            0)
            return rc;
    } while (arr_off > 0);
    *pos = p;
    return 0;
}

/*
 * A template instance at *pos (token 0x0C): its definition (inline or
 * elsewhere in the chunk) instantiated with its substitution values.
 */
int evtx_parse_template_instance(struct bx *b, uint32_t *pos, uint32_t end, struct bx_node *parent,
                                 int depth)
{
    const uint8_t *c = b->c;
    uint32_t p = *pos, def, body, body_end, count, data;
    struct subst *subs;
    int rc;

    if (depth > BX_DEPTH_MAX)
        return REFUSE(b, p, "binary XML nested too deep");
    if (p + 10 > end)
        return REFUSE(b, p, "template instance out of bounds");
    def = le32(c + p + 6);
    p += 10;
    if (def > EVTX_CHUNK_SIZE - 24)
        return REFUSE(b, p, "template definition out of the chunk");
    body = def + 24;
    body_end = body + le32(c + def + 20);
    if (body_end > EVTX_CHUNK_SIZE || body_end < body)
        return REFUSE(b, def, "template definition out of the chunk");
    if (def == p)
        p = body_end; /* the definition is inline: the values follow it */
    else if (def > p)
        return REFUSE(b, p, "template definition after its instance");
    if (p + 4 > end)
        return REFUSE(b, p, "substitution values out of bounds");
    count = le32(c + p);
    p += 4;
    if (count > (end - p) / 4)
        return REFUSE(b, p, "too many substitution values");
    subs = evtx_scratch(b->r, (count ? count : 1) * sizeof(*subs));
    if (subs == NULL)
        return REFUSE(b, p, "record too large");
    data = p + 4 * count;
    for (uint32_t i = 0; i < count; i++) {
        subs[i].size = le16(c + p + 4 * i);
        subs[i].type = c[p + 4 * i + 2];
        if (data + subs[i].size > end)
            return REFUSE(b, p + 4 * i, "substitution value out of bounds");
        subs[i].data = c + data;
        data += subs[i].size;
    }
    /* The body: a fragment header, one element, the end of the fragment. */
    if (body + 5 > body_end || c[body] != 0x0F || (c[body + 4] & 0xBF) != 0x01)
        return REFUSE(b, body, "template body of an unexpected form");
    body += 4;
    if ((rc = evtx_parse_element(b, &body, body_end, true, parent, subs, count, depth + 1)) != 0)
        return rc;
    *pos = data;
    return 0;
}

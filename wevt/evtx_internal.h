/*
 * evtx_internal.h - the .evtx reader of evtx_reader.h, shared by its parts:
 * evtx_file.c (the file, its chunks and records, CRC-32 checks, scratch
 * memory), evtx_binxml.c (the binary XML tokens and templates as a tree),
 * evtx_value.c (substitution values as text) and evtx_event.c (the tree to
 * the event fields). Private to those files.
 *
 * Records are read from the chunks and their binary XML mapped to the event
 * fields directly.
 *
 * Format, as documented by the sources consulted (read, not copied):
 *   - libyal/libevtx 1e45582 (20181227, the version Debian ships):
 *     libevtx_file.c (which chunks and records are listed), libevtx_chunk.c
 *     (chunk header, CRC-32 checks), libevtx_record_values.c (record header);
 *   - libyal/libfwevt 9c8c8cf (bundled in that libevtx):
 *     libfwevt_xml_document.c (tokens, templates, substitutions, value
 *     types) and libfwevt_xml_tag.c (how values are written as text: what is
 *     escaped, an attribute keeps only its first value, a lone linefeed is an
 *     empty value, an element with a value drops its child elements);
 *   - python-evtx 0.6.1 (Evtx/Nodes.py, Debian python3-evtx) for the token
 *     layouts.
 * The fields must be exactly those that libevtx's XML, parsed by
 * mdm_event_parse_xml(), gives (tests/test_wevt_evtx_fields.cc compares
 * both on every record of every .evtx we have). So the text of each value
 * is formatted as libfwevt formats it (FILETIME with nanoseconds, lower-case
 * zero-padded hex integers, upper-case GUIDs in braces, ...), then treated as
 * the XML parser treats it: characters XML 1.0 forbids become U+FFFD, line
 * ends become "\n", and in attribute values tabs and line ends become
 * spaces. Whatever this reader does not reproduce with certainty is refused
 * (MDM_EUNSUPPORTED) and left to libevtx: array values, floating point
 * values, character and entity references, CDATA, processing instructions,
 * elements with both a value and children, RenderingInfo, names that are no
 * plain XML names, text that would make libevtx's XML ill-formed.
 *
 * Caps: a chunk is 64 KiB and every offset and size read from it is checked
 * against it; binary XML nests at most BX_DEPTH_MAX deep; a record builds at
 * most BX_NODES_MAX nodes and BX_SCRATCH_MAX bytes of scratch memory.
 */
#ifndef MDM_WEVT_EVTX_INTERNAL_H
#define MDM_WEVT_EVTX_INTERNAL_H

#include "wevt/evtx_reader.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EVTX_HEADER_SIZE   4096u
#define EVTX_CHUNK_SIZE    65536u
#define EVTX_RECORD_HEADER 24u
#define BX_DEPTH_MAX       32
#define BX_NODES_MAX       4096u
#define BX_SCRATCH_MAX     (8u * 1024u * 1024u)
#define BX_BLOCK           (64u * 1024u)

struct rec {
    uint64_t number;
    uint32_t chunk;
    uint32_t offset; /* in the chunk */
};

struct block {
    struct block *next;
    size_t used, size;
    char data[];
};

/* Why a chunk holds data its record list does not cover (mdm_evtx_reader_chunk_damage()). */
#define DAMAGE_NO_SIGNATURE  1u
#define DAMAGE_RECORD_HEADER 2u

struct mdm_evtx_reader {
    const char *path; /* owned: copied */
    FILE *file;
    uint64_t file_size;
    struct rec *recs;
    size_t count;
    uint8_t *chunk_ok; /* per chunk: 1 when both CRC-32 match */
    /*
     * Per chunk: where data lies that the record list does not cover (in the
     * chunk, plus one; 0 when none) and why (mdm_evtx_reader_chunk_damage()).
     */
    uint32_t *damage_at;
    uint8_t *damage;
    uint32_t chunks;
    long loaded; /* chunk in buf, or -1 */
    uint8_t buf[EVTX_CHUNK_SIZE];
    /* Scratch memory of one record (reset per record). */
    struct block *blocks;
    size_t scratch_used;
    unsigned nodes;
    bool ignore_crc; /* mdm_evtx_reader_ignore_crc(): fuzzing only */
};

static inline uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

/* --- the binary XML tree --------------------------------------------------- */

struct bx_attr {
    const char *name;
    const char *value; /* raw text as libfwevt writes it */
    size_t len;
    struct bx_attr *next;
};

struct bx_node {
    const char *name;
    struct bx_attr *attrs, *attrs_last;
    struct bx_node *first, *last, *next;
    char *value; /* the concatenated value entries, raw */
    size_t value_len;
    unsigned pieces;
    bool has_value;
};

struct subst {
    const uint8_t *data;
    uint16_t size;
    uint8_t type;
};

struct bx {
    struct mdm_evtx_reader *r;
    const uint8_t *c; /* the chunk */
    const char *why;  /* the cause of a refusal */
    uint32_t where;   /* its offset in the chunk */
};

#define REFUSE(b, at, cause) ((b)->why = (cause), (b)->where = (uint32_t)(at), MDM_EUNSUPPORTED)

/* evtx_file.c: scratch memory of the record being read; NULL when out of memory or over the cap. */
void *evtx_scratch(struct mdm_evtx_reader *r, size_t len);

/* evtx_file.c: forgets the scratch of the last record; keeps its first block. */
void evtx_scratch_reset(struct mdm_evtx_reader *r);

/* evtx_file.c: reads chunk into r->buf unless it is there already. */
int evtx_load_chunk(struct mdm_evtx_reader *r, uint32_t chunk);

/* evtx_value.c: n UTF-16LE code units as UTF-8 in scratch (see there). */
int evtx_utf16_to_utf8(struct bx *b, const uint8_t *p, size_t n, uint32_t at, char **out,
                       size_t *out_len);

/* evtx_value.c: the value of a substitution (not NULL, not binary XML) as libfwevt formats it. */
int evtx_format_value(struct bx *b, const struct subst *v, uint32_t at, char **out,
                      size_t *out_len);

/* evtx_binxml.c: an element at *pos appended to parent's children (see there). */
int evtx_parse_element(struct bx *b, uint32_t *pos, uint32_t end, bool dep_ids,
                       struct bx_node *parent, const struct subst *subs, uint32_t nsubs, int depth);

/* evtx_binxml.c: a template instance at *pos instantiated with its values (see there). */
int evtx_parse_template_instance(struct bx *b, uint32_t *pos, uint32_t end, struct bx_node *parent,
                                 int depth);

#endif

/*
 * evtx_binxml.c - the .evtx reader of evtx_reader.h: records read from the
 * chunks and their binary XML mapped to the event fields directly.
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
#include "wevt/evtx_reader.h"

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

#define EVTX_HEADER_SIZE   4096u
#define EVTX_CHUNK_SIZE    65536u
#define EVTX_RECORD_HEADER 24u
#define BX_DEPTH_MAX       32
#define BX_NODES_MAX       4096u
#define BX_SCRATCH_MAX     (8u * 1024u * 1024u)
#define BX_BLOCK           (64u * 1024u)

/* Why a chunk holds data its record list does not cover (mdm_evtx_reader_chunk_damage()). */
#define DAMAGE_NO_SIGNATURE  1u
#define DAMAGE_RECORD_HEADER 2u

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

struct mdm_evtx_reader {
    const char *path; /* owned: copied */
    FILE *file;
    uint64_t file_size;
    struct rec *recs;
    size_t count;
    uint8_t *chunk_ok; /* per chunk: 1 when both CRC-32 match */
    /*
     * Per chunk: where data lies that the record list does not cover (in the
     * chunk, plus one; 0 when none) and why (chunk_damage()).
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

/* --- small helpers -------------------------------------------------------- */

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

static uint32_t crc32_table[256];
static bool crc32_ready;

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    if (!crc32_ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc32_table[i] = c;
        }
        crc32_ready = true;
    }
    crc = ~crc;
    while (n--)
        crc = crc32_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* Scratch memory of the record being read; NULL when out of memory or over the cap. */
static void *scratch(struct mdm_evtx_reader *r, size_t len)
{
    struct block *b = r->blocks;

    len = (len + 7) & ~(size_t)7;
    if (r->scratch_used + len > BX_SCRATCH_MAX)
        return NULL;
    if (b == NULL || b->size - b->used < len) {
        size_t size = len > BX_BLOCK ? len : BX_BLOCK;
        struct block *nb = mdm_malloc(sizeof(*nb) + size);
        if (nb == NULL)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->size = size;
        r->blocks = b = nb;
    }
    r->scratch_used += len;
    b->used += len;
    return b->data + b->used - len;
}

/* Forgets the scratch of the last record; keeps its first block. */
static void scratch_reset(struct mdm_evtx_reader *r)
{
    struct block *b = r->blocks;

    if (b == NULL)
        return;
    while (b->next != NULL) {
        struct block *next = b->next;
        /* Keep the newest (largest) block, free older ones. */
        b->next = next->next;
        mdm_free(next);
    }
    b->used = 0;
    r->scratch_used = 0;
    r->nodes = 0;
}

/* --- file, chunks and records ---------------------------------------------- */

static int read_at(struct mdm_evtx_reader *r, uint64_t offset, void *buf, size_t len)
{
    if (mdm_fs_seek(r->file, offset) != 0)
        return MDM_EIO;
    if (fread(buf, 1, len, r->file) != len)
        return MDM_EIO;
    return 0;
}

static int load_chunk(struct mdm_evtx_reader *r, uint32_t chunk)
{
    if (r->loaded == (long)chunk)
        return 0;
    r->loaded = -1;
    if (read_at(r, EVTX_HEADER_SIZE + (uint64_t)chunk * EVTX_CHUNK_SIZE, r->buf, EVTX_CHUNK_SIZE) !=
        0)
        return MDM_EIO;
    r->loaded = (long)chunk;
    return 0;
}

/*
 * Lists the records of the chunk in r->buf as libevtx_chunk_read() does:
 * from offset 512 up to the last record offset of the header, while each
 * record header is sound. Returns 0, MDM_EPARSE (a chunk libevtx refuses, so
 * that libevtx cannot have opened the file either), MDM_ETOOBIG or MDM_ENOMEM.
 */
static int list_chunk(struct mdm_evtx_reader *r, uint32_t chunk, bool intact, size_t max,
                      size_t *cap, struct mdm_err *err)
{
    const uint8_t *c = r->buf;
    uint32_t last_record, free_space, crc;
    size_t off = 512;
    uint64_t at = EVTX_HEADER_SIZE + (uint64_t)chunk * EVTX_CHUNK_SIZE;

    if (all_zero(c, EVTX_CHUNK_SIZE))
        return 0; /* an unused chunk */
    if (memcmp(c, "ElfChnk", 8) != 0) {
        /* A corrupt chunk: no records in libevtx's list either (its scan may recover some). */
        if (intact) {
            r->damage[chunk] = DAMAGE_NO_SIGNATURE;
            r->damage_at[chunk] = 1;
        }
        return 0;
    }
    if (le32(c + 40) != 128)
        return mdm_err_set(err, MDM_EPARSE, "%s: offset %" PRIu64 ": chunk header size %" PRIu32,
                           r->path, at + 40, le32(c + 40));
    last_record = le32(c + 44);
    free_space = le32(c + 48);
    if (free_space < 512 || free_space > EVTX_CHUNK_SIZE)
        return mdm_err_set(err, MDM_EPARSE,
                           "%s: offset %" PRIu64 ": free space offset %" PRIu32 " out of bounds",
                           r->path, at + 48, free_space);
    crc = crc32_update(0, c, 120);
    crc = crc32_update(crc, c + 128, 384);
    r->chunk_ok[chunk] =
        crc == le32(c + 124) && crc32_update(0, c + 512, free_space - 512) == le32(c + 52);
    while (off <= last_record) {
        const uint8_t *h = c + off;
        size_t room = EVTX_CHUNK_SIZE - off, size = 0;

        if (off >= EVTX_CHUNK_SIZE || room < EVTX_RECORD_HEADER + 4 ||
            all_zero(h, EVTX_RECORD_HEADER) || memcmp(h, "**\0\0", 4) != 0 ||
            (size = le32(h + 4)) < EVTX_RECORD_HEADER || size > room - 4 ||
            le32(h + size - 4) != size) {
            /*
             * No sound record header where the chunk header says one is: the
             * records from here to the last one are not listed (as libevtx).
             */
            if (intact) {
                r->damage[chunk] = DAMAGE_RECORD_HEADER;
                r->damage_at[chunk] =
                    (uint32_t)(off < EVTX_CHUNK_SIZE ? off : EVTX_CHUNK_SIZE - 1) + 1;
            }
            break;
        }
        if (intact) {
            if (r->count >= max)
                return mdm_err_set(err, MDM_ETOOBIG, "%s: more than %zu records", r->path, max);
            if (r->count == *cap) {
                size_t ncap = *cap ? *cap * 2 : 1024;
                struct rec *n = mdm_realloc(r->recs, ncap * sizeof(*n));
                if (n == NULL)
                    return mdm_err_set(err, MDM_ENOMEM, "out of memory");
                r->recs = n;
                *cap = ncap;
            }
            r->recs[r->count].number = le64(h + 8);
            r->recs[r->count].chunk = chunk;
            r->recs[r->count].offset = (uint32_t)off;
            r->count++;
        }
        off += size;
    }
    return 0;
}

int mdm_evtx_reader_open(struct mdm_evtx_reader **out, const char *path, size_t max_records,
                         struct mdm_err *err)
{
    struct mdm_evtx_reader *r = mdm_calloc(1, sizeof(*r));
    struct mdm_fs_info info;
    uint8_t header[128];
    uint16_t header_chunks;
    uint32_t flags;
    size_t cap = 0;
    int rc = 0;

    if (r == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    r->loaded = -1;
    r->path = mdm_strdup(path);
    if (r->path == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    rc = mdm_fs_open_regular(path, &r->file, err);
    if (rc == MDM_ENOTFOUND)
        rc = mdm_err_set(err, rc, "%s: cannot open: no such file", path);
    if (rc != 0)
        goto out;
    if (mdm_fs_fstat(r->file, &info) != 0) {
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot find the file size", path);
        goto out;
    }
    r->file_size = info.size;
    if (r->file_size < EVTX_HEADER_SIZE || read_at(r, 0, header, sizeof(header)) != 0) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s: offset 0: shorter than an .evtx file header", path);
        goto out;
    }
    if (memcmp(header, "ElfFile", 8) != 0) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s: offset 0: no .evtx file signature", path);
        goto out;
    }
    if (le32(header + 32) != 128 || le16(header + 40) != EVTX_HEADER_SIZE) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s: offset 32: unsupported header or block size", path);
        goto out;
    }
    if (crc32_update(0, header, 120) != le32(header + 124)) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s: offset 124: file header CRC-32 mismatch", path);
        goto out;
    }
    header_chunks = le16(header + 42);
    flags = le32(header + 120);
    if ((r->file_size - EVTX_HEADER_SIZE) / EVTX_CHUNK_SIZE > UINT16_MAX + 1u) {
        rc = mdm_err_set(err, MDM_ETOOBIG, "%s: more than 65536 chunks", path);
        goto out;
    }
    r->chunks = (uint32_t)((r->file_size - EVTX_HEADER_SIZE) / EVTX_CHUNK_SIZE);
    r->chunk_ok = mdm_calloc(r->chunks ? r->chunks : 1, 1);
    r->damage = mdm_calloc(r->chunks ? r->chunks : 1, 1);
    r->damage_at = mdm_calloc(r->chunks ? r->chunks : 1, sizeof(*r->damage_at));
    if (r->chunk_ok == NULL || r->damage == NULL || r->damage_at == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < r->chunks; i++) {
        /* As libevtx: records of chunks past the header's count are recovered ones unless dirty. */
        bool intact = i < header_chunks || (flags & 1u) != 0;
        if (load_chunk(r, i) != 0) {
            rc = mdm_err_set(err, MDM_EIO, "%s: offset %" PRIu64 ": cannot read the chunk", path,
                             EVTX_HEADER_SIZE + (uint64_t)i * EVTX_CHUNK_SIZE);
            goto out;
        }
        if ((rc = list_chunk(r, i, intact, max_records, &cap, err)) != 0)
            goto out;
    }
    *out = r;
    return 0;
out:
    mdm_evtx_reader_close(r);
    return rc;
}

void mdm_evtx_reader_close(struct mdm_evtx_reader *r)
{
    if (r == NULL)
        return;
    if (r->file != NULL)
        fclose(r->file);
    while (r->blocks != NULL) {
        struct block *next = r->blocks->next;
        mdm_free(r->blocks);
        r->blocks = next;
    }
    mdm_free(r->recs);
    mdm_free(r->chunk_ok);
    mdm_free(r->damage);
    mdm_free(r->damage_at);
    mdm_free((char *)r->path);
    mdm_free(r);
}

size_t mdm_evtx_reader_count(const struct mdm_evtx_reader *r)
{
    return r->count;
}

uint64_t mdm_evtx_reader_number(const struct mdm_evtx_reader *r, size_t i)
{
    return i < r->count ? r->recs[i].number : 0;
}

bool mdm_evtx_reader_readable(const struct mdm_evtx_reader *r, size_t i)
{
    return i < r->count && (r->ignore_crc || r->chunk_ok[r->recs[i].chunk]);
}

uint32_t mdm_evtx_reader_chunks(const struct mdm_evtx_reader *r)
{
    return r->chunks;
}

const char *mdm_evtx_reader_chunk_damage(const struct mdm_evtx_reader *r, uint32_t c,
                                         uint64_t *offset)
{
    if (c >= r->chunks || r->damage_at[c] == 0)
        return NULL;
    *offset = EVTX_HEADER_SIZE + (uint64_t)c * EVTX_CHUNK_SIZE + r->damage_at[c] - 1;
    return r->damage[c] == DAMAGE_NO_SIGNATURE
               ? "no chunk signature"
               : "no sound record header where the chunk header lists one";
}

uint64_t mdm_evtx_reader_offset(const struct mdm_evtx_reader *r, size_t i)
{
    return i < r->count
               ? EVTX_HEADER_SIZE + (uint64_t)r->recs[i].chunk * EVTX_CHUNK_SIZE + r->recs[i].offset
               : 0;
}

void mdm_evtx_reader_ignore_crc(struct mdm_evtx_reader *r)
{
    r->ignore_crc = true;
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

/* Appends len bytes of raw text to the value of node. */
static int add_value(struct bx *b, struct bx_node *node, const char *s, size_t len)
{
    char *v = scratch(b->r, node->value_len + len + 1);

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
 * Converts n UTF-16LE code units to UTF-8 in scratch, cut at the first NUL
 * (as libuna does). Unpaired surrogates are refused. *esc is set when the
 * text holds '&', '<' or '>'.
 */
static int utf16_to_utf8(struct bx *b, const uint8_t *p, size_t n, uint32_t at, char **out,
                         size_t *out_len)
{
    char *s = scratch(b->r, n * 3 + 1), *q = s;

    if (s == NULL)
        return REFUSE(b, at, "record too large");
    for (size_t i = 0; i < n; i++) {
        uint32_t u = le16(p + 2 * i);
        if (u == 0)
            break;
        if (u >= 0xD800 && u <= 0xDBFF) {
            uint32_t lo = i + 1 < n ? le16(p + 2 * i + 2) : 0;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return REFUSE(b, at, "unpaired UTF-16 surrogate");
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            i++;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            return REFUSE(b, at, "unpaired UTF-16 surrogate");
        }
        if (u < 0x80) {
            *q++ = (char)u;
        } else if (u < 0x800) {
            *q++ = (char)(0xC0 | (u >> 6));
            *q++ = (char)(0x80 | (u & 0x3F));
        } else if (u < 0x10000) {
            *q++ = (char)(0xE0 | (u >> 12));
            *q++ = (char)(0x80 | ((u >> 6) & 0x3F));
            *q++ = (char)(0x80 | (u & 0x3F));
        } else {
            *q++ = (char)(0xF0 | (u >> 18));
            *q++ = (char)(0x80 | ((u >> 12) & 0x3F));
            *q++ = (char)(0x80 | ((u >> 6) & 0x3F));
            *q++ = (char)(0x80 | (u & 0x3F));
        }
    }
    *q = '\0';
    *out = s;
    *out_len = (size_t)(q - s);
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
    if ((rc = utf16_to_utf8(b, c + at + 8, n, at, &s, &len)) != 0)
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

static int parse_element(struct bx *b, uint32_t *pos, uint32_t end, bool dep_ids,
                         struct bx_node *parent, const struct subst *subs, uint32_t nsubs,
                         int depth);
static int parse_template_instance(struct bx *b, uint32_t *pos, uint32_t end,
                                   struct bx_node *parent, int depth);

/* Formats the value of a substitution (not NULL, not binary XML) as libfwevt does. */
static int format_value(struct bx *b, const struct subst *v, uint32_t at, char **out,
                        size_t *out_len)
{
    const uint8_t *p = v->data;
    char tmp[96];
    int n = -1;
    int rc;

    switch (v->type) {
    case 0x01: /* UTF-16 string */
        if (v->size % 2 != 0)
            return REFUSE(b, at, "odd UTF-16 string size");
        return utf16_to_utf8(b, p, v->size / 2, at, out, out_len);
    case 0x02: { /* ANSI string: ASCII only (the code page is libevtx's business) */
        size_t len = 0;
        char *s;
        while (len < v->size && p[len] != 0) {
            if (p[len] >= 0x80)
                return REFUSE(b, at, "non-ASCII ANSI string");
            /* libfwevt escapes UTF-16 strings only: these would break its XML. */
            if (p[len] == '&' || p[len] == '<' || p[len] == '>')
                return REFUSE(b, at, "ANSI string with markup characters");
            len++;
        }
        if ((s = scratch(b->r, len + 1)) == NULL)
            return REFUSE(b, at, "record too large");
        memcpy(s, p, len);
        s[len] = '\0';
        *out = s;
        *out_len = len;
        return 0;
    }
    case 0x03:
        if (v->size == 1)
            n = snprintf(tmp, sizeof(tmp), "%d", (int)(int8_t)p[0]);
        break;
    case 0x04:
        if (v->size == 1)
            n = snprintf(tmp, sizeof(tmp), "%u", (unsigned)p[0]);
        break;
    case 0x05:
        if (v->size == 2)
            n = snprintf(tmp, sizeof(tmp), "%d", (int)(int16_t)le16(p));
        break;
    case 0x06:
        if (v->size == 2)
            n = snprintf(tmp, sizeof(tmp), "%u", (unsigned)le16(p));
        break;
    case 0x07:
        if (v->size == 4)
            n = snprintf(tmp, sizeof(tmp), "%" PRId32, (int32_t)le32(p));
        break;
    case 0x08:
        if (v->size == 4)
            n = snprintf(tmp, sizeof(tmp), "%" PRIu32, le32(p));
        break;
    case 0x09:
        if (v->size == 8)
            n = snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)le64(p));
        break;
    case 0x0A:
        if (v->size == 8)
            n = snprintf(tmp, sizeof(tmp), "%" PRIu64, le64(p));
        break;
    case 0x0D: /* boolean, 32 bits */
        if (v->size == 4)
            n = snprintf(tmp, sizeof(tmp), "%s", le32(p) != 0 ? "true" : "false");
        break;
    case 0x0E: { /* binary: upper-case hex */
        static const char hex[] = "0123456789ABCDEF";
        char *s = scratch(b->r, 2 * (size_t)v->size + 1);
        if (s == NULL)
            return REFUSE(b, at, "record too large");
        for (size_t i = 0; i < v->size; i++) {
            s[2 * i] = hex[p[i] >> 4];
            s[2 * i + 1] = hex[p[i] & 15];
        }
        s[2 * (size_t)v->size] = '\0';
        *out = s;
        *out_len = 2 * (size_t)v->size;
        return 0;
    }
    case 0x0F: /* GUID */
        if (v->size == 16)
            n = snprintf(tmp, sizeof(tmp),
                         "{%08" PRIX32 "-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", le32(p),
                         (unsigned)le16(p + 4), (unsigned)le16(p + 6), p[8], p[9], p[10], p[11],
                         p[12], p[13], p[14], p[15]);
        break;
    case 0x10: /* size_t */
        if (v->size == 4)
            n = snprintf(tmp, sizeof(tmp), "%" PRIu32, le32(p));
        else if (v->size == 8)
            n = snprintf(tmp, sizeof(tmp), "%" PRIu64, le64(p));
        break;
    case 0x11: /* FILETIME: ISO 8601 with nanoseconds */
        if (v->size == 8) {
            uint64_t ft = le64(p);
            uint64_t secs = ft / 10000000u, frac = ft % 10000000u;
            int64_t days = (int64_t)(secs / 86400u), rem = (int64_t)(secs % 86400u);
            /* Civil date from days since 1601-01-01 (days_from_civil inverted). */
            int64_t z = days - 134774 + 719468; /* days since 0000-03-01 */
            int64_t era = z / 146097, doe = z - era * 146097;
            int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
            int64_t m = mp < 10 ? mp + 3 : mp - 9;
            if (m <= 2)
                y++;
            if (y > 9999)
                return REFUSE(b, at, "FILETIME past year 9999");
            n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%07" PRIu64 "00Z", (int)y,
                         (int)m, (int)d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
                         frac);
        }
        break;
    case 0x12: /* SYSTEMTIME: ISO 8601 with milliseconds */
        if (v->size == 16) {
            unsigned y = le16(p), mo = le16(p + 2), d = le16(p + 6), h = le16(p + 8),
                     mi = le16(p + 10), s = le16(p + 12), ms = le16(p + 14);
            if (y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 ||
                ms > 999)
                return REFUSE(b, at, "SYSTEMTIME out of range");
            n = snprintf(tmp, sizeof(tmp), "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", y, mo, d, h, mi,
                         s, ms);
        }
        break;
    case 0x13: /* SID */
        if (v->size >= 8 && v->size == 8 + 4 * (unsigned)p[1]) {
            uint64_t auth = 0;
            size_t len;
            for (int i = 2; i < 8; i++)
                auth = (auth << 8) | p[i];
            if (auth > UINT32_MAX)
                return REFUSE(b, at, "SID authority over 32 bits");
            n = snprintf(tmp, sizeof(tmp), "S-%u-%" PRIu64, (unsigned)p[0], auth);
            len = (size_t)n;
            if (p[1] > 15)
                return REFUSE(b, at, "SID with more than 15 sub-authorities");
            for (unsigned i = 0; i < p[1]; i++)
                len += (size_t)snprintf(tmp + len, sizeof(tmp) - len, "-%" PRIu32,
                                        le32(p + 8 + 4 * i));
            if (len >= sizeof(tmp))
                return REFUSE(b, at, "SID too long");
            n = (int)len;
        }
        break;
    case 0x14:
        if (v->size == 4)
            n = snprintf(tmp, sizeof(tmp), "0x%08" PRIx32, le32(p));
        break;
    case 0x15:
        if (v->size == 8)
            n = snprintf(tmp, sizeof(tmp), "0x%016" PRIx64, le64(p));
        break;
    default:
        return REFUSE(b, at, "value type this reader leaves to libevtx");
    }
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return REFUSE(b, at, "value of an unexpected size");
    if ((*out = scratch(b->r, (size_t)n + 1)) == NULL)
        return REFUSE(b, at, "record too large");
    memcpy(*out, tmp, (size_t)n + 1);
    *out_len = (size_t)n;
    rc = 0;
    return rc;
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
            return parse_element(b, &pos, end, false, node, NULL, 0, depth + 1);
        if (t == 0x0F) {
            if (v->size < 5)
                return REFUSE(b, at, "short binary XML value");
            pos += 4;
            if (b->c[pos] == 0x0C)
                return parse_template_instance(b, &pos, end, node, depth + 1);
            if ((b->c[pos] & 0xBF) == 0x01)
                return parse_element(b, &pos, end, true, node, NULL, 0, depth + 1);
        }
        if (t == 0x0C)
            return parse_template_instance(b, &pos, end, node, depth + 1);
        return REFUSE(b, at, "binary XML value of an unexpected form");
    }
    if ((rc = format_value(b, v, at, &text, &len)) != 0)
        return rc;
    if (attr != NULL) {
        attr->value = text;
        attr->len = len;
        return 0;
    }
    return add_value(b, node, text, len);
}

/* One pass over an element (see parse_element). */
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
    node = scratch(b->r, sizeof(*node));
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
            a = scratch(b->r, sizeof(*a));
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
                if ((rc = utf16_to_utf8(b, c + p + 4, n, p, &s, &len)) != 0)
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
                if ((rc = parse_element(b, &p, end, dep_ids, node, subs, nsubs, depth + 1)) != 0)
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
                if ((rc = utf16_to_utf8(b, c + p + 4, n, p, &s, &len)) != 0)
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
static int parse_element(struct bx *b, uint32_t *pos, uint32_t end, bool dep_ids,
                         struct bx_node *parent, const struct subst *subs, uint32_t nsubs,
                         int depth)
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
static int parse_template_instance(struct bx *b, uint32_t *pos, uint32_t end,
                                   struct bx_node *parent, int depth)
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
    subs = scratch(b->r, (count ? count : 1) * sizeof(*subs));
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
    if ((rc = parse_element(b, &body, body_end, true, parent, subs, count, depth + 1)) != 0)
        return rc;
    *pos = data;
    return 0;
}

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
    char *o = scratch(b->r, len * 3 + 1), *q = o;

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
    if (load_chunk(r, rec->chunk) != 0)
        return mdm_err_set(err, MDM_EUNSUPPORTED, "%s: chunk %" PRIu32 ": cannot read it", r->path,
                           rec->chunk);
    scratch_reset(r);
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
            rc = parse_template_instance(&b, &pos, end, &top, 0);
        else if ((r->buf[pos] & 0xBF) == 0x01)
            rc = parse_element(&b, &pos, end, true, &top, NULL, 0, 0);
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

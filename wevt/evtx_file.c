/*
 * evtx_file.c - the .evtx reader of evtx_reader.h: the file, its chunks and
 * records listed with their CRC-32 checks, and the scratch memory of a record.
 * The format and the caps: evtx_internal.h.
 */
#include "wevt/evtx_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_crc32.h"
#include "agent/os/mdm_fs.h"
#include "agent/common/mdm_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* Scratch memory of the record being read; NULL when out of memory or over the cap. */
void *evtx_scratch(struct mdm_evtx_reader *r, size_t len)
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
void evtx_scratch_reset(struct mdm_evtx_reader *r)
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

int evtx_load_chunk(struct mdm_evtx_reader *r, uint32_t chunk)
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
    crc = mdm_crc32(0, c, 120);
    crc = mdm_crc32(crc, c + 128, 384);
    r->chunk_ok[chunk] =
        crc == le32(c + 124) && mdm_crc32(0, c + 512, free_space - 512) == le32(c + 52);
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
    if (mdm_crc32(0, header, 120) != le32(header + 124)) {
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
        if (evtx_load_chunk(r, i) != 0) {
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

void mdm_evtx_reader_ignore_crc(struct mdm_evtx_reader *r)
{
    r->ignore_crc = true;
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

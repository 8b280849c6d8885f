/*
 * source_evtx_records.c - what both "evtx" sources share (see
 * source_evtx_records.h), and the reader-only source: an .evtx file read by
 * our own reader alone (evtx_binxml.c), with no libevtx.
 *
 * The reader-only source is what builds without libevtx (the Windows cross
 * build) read .evtx files with. It reads the records of the file's intact
 * chunks, the very records the libevtx source hands to the same reader
 * first, and gives the very same events for them
 * (tests/test_wevt_evtx_only.cc compares both on every real file we have).
 * Nothing is dropped without a word: each record the reader refuses, and
 * each chunk with data its record list does not cover, is reported
 * (MDM_EBADRECORD, naming the file, the offset and the cause) and counts as
 * a damaged record in the replay summary. What libevtx would add is not
 * there: records of chunks whose CRC-32 does not match, records with the
 * rare value types the reader leaves to libevtx's XML (arrays, floating
 * point values, ...; see the top of evtx_binxml.c), and the records libevtx
 * recovers from damaged chunks, from chunks past the header's count and
 * from free space (deleted records). docs/replay.md says so to operators.
 *
 * Order and position are those of the libevtx source without recovered
 * records: sorted by the record number of each header (the EventRecordID in
 * a log Windows wrote), "record-id:N" the key of the last event returned.
 */
#include "wevt/source_evtx_records.h"

#include "agent/common/mdm_alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What every refusal of the reader-only source adds: the way the record could still be read. */
#define EVTX_WITHOUT_LIBEVTX                                                                       \
    "; not read: this mdmhealth reads .evtx without libevtx, which may read it"

/* --- shared by both sources ------------------------------------------------ */

int mdm_evtx_records_check_path(const char *path, struct mdm_err *err)
{
    FILE *probe;

    if (strcmp(path, "-") == 0)
        return mdm_err_set(err, MDM_EINVAL,
                           "an .evtx file cannot be read from standard input; name the file");
    probe = fopen(path, "rb");
    if (probe == NULL)
        return mdm_err_set(err, errno == ENOENT ? MDM_ENOTFOUND : MDM_EIO, "%s: cannot open: %s",
                           path, strerror(errno));
    fclose(probe);
    return 0;
}

void mdm_evtx_records_init(struct mdm_evtx_records *s, const char *path)
{
    memset(s, 0, sizeof(*s));
    s->path = path;
    mdm_event_init(&s->scratch);
}

void mdm_evtx_records_free(struct mdm_evtx_records *s)
{
    mdm_evtx_reader_close(s->reader);
    s->reader = NULL;
    mdm_event_free(&s->scratch);
    mdm_free(s->list);
    s->list = NULL;
}

int mdm_evtx_records_alloc(struct mdm_evtx_records *s, size_t total, struct mdm_err *err)
{
    s->list_len = 0;
    if (total == 0)
        return 0;
    s->list = mdm_calloc(total, sizeof(*s->list));
    if (s->list == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct mdm_evtx_entry *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->recovered != y->recovered)
        return x->recovered ? 1 : -1; /* the intact record first */
    if (x->damaged != y->damaged)
        return x->damaged ? 1 : -1;
    return x->index - y->index;
}

void mdm_evtx_records_sort(struct mdm_evtx_records *s)
{
    /* Most logs neither wrapped nor hold recovered records: already in order. */
    for (size_t i = 1; i < s->list_len; i++)
        if (cmp_entry(&s->list[i - 1], &s->list[i]) > 0) {
            qsort(s->list, s->list_len, sizeof(*s->list), cmp_entry);
            break;
        }
}

bool mdm_evtx_records_take(struct mdm_evtx_records *s, struct mdm_evtx_entry *e)
{
    while (s->next < s->list_len) {
        *e = s->list[s->next++];
        /*
         * Skipped: a recovered copy of the record returned last, and what
         * lies before the resume point.
         */
        if (e->recovered && !e->damaged && s->have_last && e->key == s->last_key)
            continue;
        if (s->resume && e->key <= s->resume_after)
            continue;
        return true;
    }
    return false;
}

void mdm_evtx_records_returned(struct mdm_evtx_records *s, const struct mdm_evtx_entry *e)
{
    if (!e->damaged) {
        s->last_key = e->key;
        s->have_last = true;
    }
}

int mdm_evtx_records_read(struct mdm_evtx_records *s, const struct mdm_evtx_entry *e,
                          struct mdm_event *ev, struct mdm_err *err)
{
    int rc = mdm_evtx_reader_event(s->reader, (size_t)e->index, ev, err);

    if (rc != 0)
        return rc;
    ev->origin = s->path;
    ev->offset = (uint64_t)e->index;
    ev->line = 0;
    mdm_evtx_records_returned(s, e);
    return 0;
}

int mdm_evtx_source_position(struct mdm_source *src, char *buf, size_t size)
{
    const struct mdm_evtx_records *s = src->impl;

    if (s->have_last)
        snprintf(buf, size, "record-id:%" PRIu64, s->last_key);
    else if (s->resume)
        snprintf(buf, size, "record-id:%" PRIu64, s->resume_after);
    else
        snprintf(buf, size, "record-id:0");
    return 0;
}

int mdm_evtx_source_seek(struct mdm_source *src, const char *position, struct mdm_err *err)
{
    struct mdm_evtx_records *s = src->impl;
    const char *digits = position;
    char *end = NULL;
    unsigned long long id;

    if (strncmp(digits, "record-id:", 10) == 0)
        digits += 10;
    errno = 0;
    id = strtoull(digits, &end, 10);
    if (errno != 0 || end == digits || *end != '\0')
        return mdm_err_set(err, MDM_EINVAL, "%s: invalid resume position \"%s\"", s->path,
                           position);
    s->resume = true;
    s->resume_after = id;
    s->next = 0;
    s->have_last = false;
    return 0;
}

/* --- the reader-only source ------------------------------------------------ */

struct reader_source {
    struct mdm_evtx_records s; /* first: see struct mdm_evtx_records */
    uint32_t next_chunk;       /* the next chunk whose damage to report, after the records */
};

/* Lists the reader's records keyed by their header numbers, sorted. */
static int reader_list(struct reader_source *x, struct mdm_err *err)
{
    struct mdm_evtx_records *s = &x->s;
    size_t count = mdm_evtx_reader_count(s->reader);
    int rc;

    s->listed = true;
    if ((rc = mdm_evtx_records_alloc(s, count, err)) != 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        struct mdm_evtx_entry *e = &s->list[s->list_len++];
        e->key = mdm_evtx_reader_number(s->reader, i);
        e->index = (int)i; /* i < MDM_EVTX_RECORDS_MAX */
        e->recovered = false;
        e->damaged = false;
    }
    mdm_evtx_records_sort(s);
    return 0;
}

int mdm_evtx_reader_source_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err)
{
    struct reader_source *x = src->impl;
    struct mdm_evtx_records *s = &x->s;
    struct mdm_evtx_entry e;
    int rc;

    if (!s->listed && (rc = reader_list(x, err)) != 0)
        return rc;
    if (mdm_evtx_records_take(s, &e)) {
        size_t i = (size_t)e.index;
        if (!mdm_evtx_reader_readable(s->reader, i))
            return mdm_err_set(err, MDM_EBADRECORD,
                               "%s: offset %" PRIu64 ": record %" PRIu64
                               ": its chunk fails its CRC-32 check" EVTX_WITHOUT_LIBEVTX,
                               s->path, mdm_evtx_reader_offset(s->reader, i),
                               mdm_evtx_reader_number(s->reader, i));
        rc = mdm_evtx_records_read(s, &e, ev, err);
        if (rc == MDM_EUNSUPPORTED) {
            /* The reader's message names the file, the offset and the cause. */
            char why[MDM_ERR_MSG_MAX];
            snprintf(why, sizeof(why), "%s", err->msg);
            return mdm_err_set(err, MDM_EBADRECORD, "%s" EVTX_WITHOUT_LIBEVTX, why);
        }
        return rc;
    }
    /* After the records: the damage outside them, one report a chunk. */
    while (x->next_chunk < mdm_evtx_reader_chunks(s->reader)) {
        uint64_t at = 0;
        uint32_t c = x->next_chunk++;
        const char *why = mdm_evtx_reader_chunk_damage(s->reader, c, &at);
        if (why != NULL)
            return mdm_err_set(err, MDM_EBADRECORD,
                               "%s: offset %" PRIu64 ": chunk %" PRIu32
                               ": %s; the chunk's records from there on are not read: this "
                               "mdmhealth reads .evtx without libevtx, which may recover some",
                               s->path, at, c, why);
    }
    return MDM_EOF;
}

int mdm_evtx_reader_source_open(struct mdm_source *src, const char *path, struct mdm_err *err)
{
    struct reader_source *x;
    int rc = mdm_evtx_records_check_path(path, err);

    if (rc != 0)
        return rc;
    x = mdm_calloc(1, sizeof(*x));
    if (x == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    mdm_evtx_records_init(&x->s, src->path);
    rc = mdm_evtx_reader_open(&x->s.reader, path, MDM_EVTX_RECORDS_MAX, err);
    if (rc == MDM_EPARSE) {
        /* "PATH: offset N: cause" from the reader, worded as the libevtx source words it. */
        char why[MDM_ERR_MSG_MAX];
        size_t len = strlen(path);
        const char *cause = err->msg;
        if (strncmp(cause, path, len) == 0 && strncmp(cause + len, ": ", 2) == 0)
            cause += len + 2;
        snprintf(why, sizeof(why), "%s", cause);
        rc = mdm_err_set(err, MDM_EPARSE, "%s: not a readable .evtx file: %s", path, why);
    }
    if (rc != 0) {
        mdm_evtx_records_free(&x->s);
        mdm_free(x);
        return rc;
    }
    src->impl = x;
    return 0;
}

void mdm_evtx_reader_source_close(struct mdm_source *src)
{
    struct reader_source *x = src->impl;

    if (x == NULL)
        return;
    mdm_evtx_records_free(&x->s);
    mdm_free(x);
    src->impl = NULL;
}

const struct mdm_source_ops mdm_source_evtx_reader_ops = {
    "evtx", mdm_evtx_reader_source_open, mdm_evtx_reader_source_next, NULL,
    NULL,   mdm_evtx_source_position,    mdm_evtx_source_seek,        mdm_evtx_reader_source_close,
};

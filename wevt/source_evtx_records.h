/*
 * source_evtx_records.h - what the two "evtx" sources share: the list of
 * records sorted by key, the resume position, and the reading of records
 * through our own reader (evtx_reader.h). Compiled into every build
 * (source_evtx_records.c).
 *
 *   - source_evtx.c (builds with libevtx) adds libevtx: the records our
 *     reader refuses and the recovered records are read through libevtx's
 *     XML.
 *   - source_evtx_reader_only.c (builds without libevtx, e.g. the Windows
 *     cross build) is the reader-only source below, under the "evtx" name.
 *
 * The reader-only source is in every build, so that a Linux build with
 * libevtx can compare it with the libevtx source (tests/test_wevt_evtx_only.cc).
 */
#ifndef MDM_SOURCE_EVTX_RECORDS_H
#define MDM_SOURCE_EVTX_RECORDS_H

#include "wevt/evtx_reader.h"
#include "wevt/source_impl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* At most this many records (intact and recovered) are listed: 128 MiB. */
#define MDM_EVTX_RECORDS_MAX (8u * 1024u * 1024u)

struct mdm_evtx_entry {
    uint64_t key; /* the sorting key: see the top of source_evtx.c */
    int index;    /* the record's index among the intact (reader's) or the recovered records */
    bool recovered;
    /* No key of its own: sorted after the record before it (intact) or by its header number. */
    bool damaged;
};

/*
 * The shared state. The impl of an evtx source starts with it, so that
 * mdm_evtx_source_position() and mdm_evtx_source_seek() serve both sources.
 */
struct mdm_evtx_records {
    const char *path; /* owned by struct mdm_source */
    /* Our own reader; NULL when the libevtx source cannot use it for this file. */
    struct mdm_evtx_reader *reader;

    struct mdm_evtx_entry *list; /* every record, sorted by key */
    size_t list_len, next;
    bool listed;

    uint64_t last_key; /* key of the last event returned */
    bool have_last;

    uint64_t resume_after; /* skip records with keys up to this one */
    bool resume;

    struct mdm_event scratch; /* the listing's event, for EventRecordIDs */
};

/*
 * Refuses standard input and tells "missing" from "unreadable" before a
 * parser's message hides it. Returns 0, MDM_EINVAL, MDM_ENOTFOUND or MDM_EIO.
 */
int mdm_evtx_records_check_path(const char *path, struct mdm_err *err);

/* Sets s up for path (kept, not copied); s->reader is NULL. */
void mdm_evtx_records_init(struct mdm_evtx_records *s, const char *path);
/* Frees what s owns (the reader included); s itself is the caller's. */
void mdm_evtx_records_free(struct mdm_evtx_records *s);

/* Allocates room for total entries in s->list. Returns 0 or MDM_ENOMEM. */
int mdm_evtx_records_alloc(struct mdm_evtx_records *s, size_t total, struct mdm_err *err);
/* Sorts s->list by key (most files are in order already: checked first). */
void mdm_evtx_records_sort(struct mdm_evtx_records *s);

/*
 * Takes the next entry to read into *e, passing over what the resume point
 * and the copies of recovered records skip. Returns false at the end.
 */
bool mdm_evtx_records_take(struct mdm_evtx_records *s, struct mdm_evtx_entry *e);
/* Notes that the event of e was returned: the position moves past it. */
void mdm_evtx_records_returned(struct mdm_evtx_records *s, const struct mdm_evtx_entry *e);

/*
 * Reads intact record e through our reader into ev (origin, offset = the
 * record's index, line 0) and notes it returned. Returns 0; MDM_EUNSUPPORTED
 * when the reader refuses it (err says where and why), with ev reset; or
 * MDM_ENOMEM.
 */
int mdm_evtx_records_read(struct mdm_evtx_records *s, const struct mdm_evtx_entry *e,
                          struct mdm_event *ev, struct mdm_err *err);

/* The position and seek ops of both sources ("record-id:N"). */
int mdm_evtx_source_position(struct mdm_source *src, char *buf, size_t size);
int mdm_evtx_source_seek(struct mdm_source *src, const char *position, struct mdm_err *err);

/*
 * The reader-only source's ops (source_evtx_records.c): what
 * mdm_source_evtx_ops is in builds without libevtx.
 */
int mdm_evtx_reader_source_open(struct mdm_source *src, const char *path, struct mdm_err *err);
int mdm_evtx_reader_source_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err);
void mdm_evtx_reader_source_close(struct mdm_source *src);
extern const struct mdm_source_ops mdm_source_evtx_reader_ops;

#ifdef __cplusplus
}
#endif

#endif

/*
 * source_evtx.c - the "evtx" source: an exported Windows event log file
 * (.evtx) read through our own reader (evtx_binxml.c) and libevtx.
 *
 * The intact records are read by our reader, which maps each record's
 * binary XML to the event fields without rendering XML (a fifth of the cost
 * of libevtx's own evtxexport). What it refuses (a chunk whose CRC-32 does
 * not match, a value type it leaves to libevtx, a file whose record list
 * differs from libevtx's) and every recovered record are read as before:
 * rendered by libevtx into Event XML and parsed by mdm_event_parse_xml().
 * Both ways give the same fields (tests/test_wevt_evtx_fields.cc), so .evtx
 * records and Event XML files give the very same events (strings with characters XML 1.0 forbids,
 * such as the U+0002 of a Security 4661, have them replaced by U+FFFD there). Damaged records are
 * reported (MDM_EBADRECORD, naming the file, the record index and libevtx's cause) and skipped; the
 * intact records around them are still returned.
 *
 * Order. Records are returned in the order Windows wrote them, whatever
 * their order in the file: a log that wrapped around keeps its newest chunks
 * before its oldest ones, and the records libevtx recovers from damaged
 * chunks or free space (listed after the intact ones) often fill a gap in
 * the middle of the history. So the source first lists every record with a
 * key, sorts the list by key and returns it in that order:
 *   - without recovered records (the usual case) the key of a record is the
 *     record number of its header, which is the EventRecordID in a log
 *     Windows wrote, and the position in the file in an export of selected
 *     events (whose headers are renumbered 1, 2, ...);
 *   - with recovered records that libevtx can read, the key is the
 *     EventRecordID of the rendered event, for intact and recovered records
 *     alike, because the header number of a recovered record is not
 *     reliable (a stale one from the free space of a renumbered export can
 *     name another record). A recovered
 *     record whose EventRecordID was returned already is a copy and is
 *     skipped; intact records are never skipped as copies (an export of
 *     several channels may hold the same EventRecordID twice).
 * The list costs 16 bytes a record and is capped at MDM_EVTX_RECORDS_MAX records.
 *
 * Every record libevtx lists but cannot render is reported, as evtxexport
 * does; so the events returned and the records reported add up to what
 * evtxexport exports and fails to export (tests/test_wevt_evtx_counts.cc
 * checks it on real logs). Recovered candidates that libevtx cannot read at
 * all are no records (its scan of free space lists dozens in an intact
 * Application log) and are skipped silently, as evtxexport does.
 *
 * Positions are the key of the last event returned ("record-id:N", the
 * EventRecordID in a log Windows wrote); after mdm_source_seek() records up
 * to that key are skipped.
 *
 * What this source shares with the reader-only source of builds without
 * libevtx (the record list, its order, the reading through our reader, the
 * position and the resume) is in source_evtx_records.c; what is here is
 * libevtx's part: opening and counting with libevtx, keying and reading
 * what our reader refuses and the recovered records.
 */
#include "wevt/source_evtx_records.h"

#include "wevt/libevtx_load.h" /* libevtx, loaded on the first open */

#include "agent/common/mdm_alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The rendering buffer: at least this large, grown to the largest event
 * (MDM_EVENT_XML_MAX at most) plus EVTX_XML_SLACK bytes kept unused.
 */
#define EVTX_XML_INITIAL 16384u
#define EVTX_XML_SLACK   16u

struct evtx_source {
    /*
     * First (see struct mdm_evtx_records). Its reader is ours
     * (evtx_binxml.c) when it lists the very records libevtx lists as
     * intact: those it reads are read without XML, the others through
     * libevtx as before. NULL when it cannot be used for this file.
     */
    struct mdm_evtx_records s;
    libevtx_file_t *file;
    int records;   /* intact records */
    int recovered; /* recovered record candidates */

    char *xml; /* rendering buffer, grown up to MDM_EVENT_XML_MAX + EVTX_XML_SLACK */
    size_t xml_size;
};

static struct evtx_source *impl(struct mdm_source *src)
{
    return src->impl;
}

/* Formats libevtx's error into buf and frees it. */
static const char *evtx_error_text(libevtx_error_t **error, char *buf, size_t size)
{
    buf[0] = '\0';
    if (error != NULL && *error != NULL) {
        libevtx_error_sprint(*error, buf, size);
        libevtx_error_free(error);
    }
    /* libevtx separates the levels of its backtrace with newlines. */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (buf[0] == '\0')
        snprintf(buf, size, "unknown libevtx error");
    return buf;
}

/*
 * Renders a record as Event XML into x->xml and sets *len (without the
 * terminating NUL). Returns 0, MDM_EBADRECORD (err names the record), or
 * MDM_ENOMEM.
 */
static int render_xml(struct evtx_source *x, libevtx_record_t *record, const char *what, int index,
                      size_t *len, struct mdm_err *err)
{
    libevtx_error_t *error = NULL;
    char text[MDM_ERR_MSG_MAX];
    size_t size = 0;
    const char *nul;

    /*
     * Computing the size walks the whole event once more (a tenth of the
     * time of a replay), so the event is first rendered straight into the
     * buffer of the previous ones, which is large enough for most events.
     * libfwevt checks the room before each write; the slack kept at the end
     * of the buffer is a margin for the few bytes it writes after its last
     * check. When that fails (no room, or a damaged event) the size is
     * asked for, and the event rendered again, as below.
     */
    if (x->xml_size > EVTX_XML_SLACK &&
        libevtx_record_get_utf8_xml_string(record, (uint8_t *)x->xml, x->xml_size - EVTX_XML_SLACK,
                                           NULL) == 1) {
        nul = memchr(x->xml, '\0', x->xml_size - EVTX_XML_SLACK);
        if (nul != NULL) {
            *len = (size_t)(nul - x->xml);
            return 0;
        }
    }
    if (libevtx_record_get_utf8_xml_string_size(record, &size, &error) != 1 || size == 0)
        return mdm_err_set(err, MDM_EBADRECORD, "%s: %s %d: cannot render the event: %s", x->s.path,
                           what, index, evtx_error_text(&error, text, sizeof(text)));
    if (size > MDM_EVENT_XML_MAX)
        return mdm_err_set(err, MDM_EBADRECORD,
                           "%s: %s %d: the event renders to %zu bytes, over the 1 MiB limit",
                           x->s.path, what, index, size);
    if (size + EVTX_XML_SLACK > x->xml_size) {
        /* Room for the next events too (rendered without asking their size). */
        size_t want =
            size + EVTX_XML_SLACK < EVTX_XML_INITIAL ? EVTX_XML_INITIAL : size + EVTX_XML_SLACK;
        char *p = mdm_realloc(x->xml, want);
        if (p == NULL)
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        x->xml = p;
        x->xml_size = want;
    }
    if (libevtx_record_get_utf8_xml_string(record, (uint8_t *)x->xml, size, &error) != 1)
        return mdm_err_set(err, MDM_EBADRECORD, "%s: %s %d: cannot render the event: %s", x->s.path,
                           what, index, evtx_error_text(&error, text, sizeof(text)));
    /* The size libevtx reports includes the terminating NUL. */
    nul = memchr(x->xml, '\0', size);
    *len = nul ? (size_t)(nul - x->xml) : size;
    return 0;
}

/*
 * Renders a record as Event XML and parses it into ev. Returns 0,
 * MDM_EBADRECORD (err names the record), or MDM_ENOMEM.
 */
static int render(struct evtx_source *x, libevtx_record_t *record, const char *what, int index,
                  struct mdm_event *ev, struct mdm_err *err)
{
    size_t len = 0;
    int rc = render_xml(x, record, what, index, &len, err);

    if (rc != 0)
        return rc;
    rc = mdm_event_parse_xml(ev, x->xml, len, err);
    if (rc == MDM_ENOMEM)
        return rc;
    if (rc != 0) {
        mdm_err_prefix(err, "%s: %s %d: ", x->s.path, what, index);
        err->code = MDM_EBADRECORD;
        return MDM_EBADRECORD;
    }
    ev->origin = x->s.path;
    ev->offset = (uint64_t)index;
    ev->line = 0;
    return 0;
}

/*
 * The EventRecordID of a record, read from the text libevtx renders (which
 * always writes the element as "<EventRecordID>N</EventRecordID>"): cheaper
 * than a parse, and the parse of the record, later, judges the rest.
 * Returns 0, MDM_EBADRECORD when there is none, or MDM_ENOMEM.
 */
static int rendered_record_id(struct evtx_source *x, libevtx_record_t *record, int index,
                              uint64_t *id)
{
    static const char tag[] = "<EventRecordID>";
    struct mdm_err err;
    size_t len = 0;
    const char *p, *end;
    uint64_t v = 0;
    int digits = 0;
    int rc = render_xml(x, record, "record", index, &len, &err);

    if (rc != 0)
        return rc;
    end = x->xml + len;
    for (p = x->xml; p + sizeof(tag) - 1 <= end; p++)
        if (memcmp(p, tag, sizeof(tag) - 1) == 0)
            break;
    if (p + sizeof(tag) - 1 > end)
        return MDM_EBADRECORD;
    for (p += sizeof(tag) - 1; p < end && *p >= '0' && *p <= '9' && digits < 20; p++, digits++)
        v = v * 10 + (uint64_t)(*p - '0');
    if (digits == 0 || digits == 20 || p >= end || *p != '<')
        return MDM_EBADRECORD;
    *id = v;
    return 0;
}

/*
 * Keys the record at index (recovered or not) into e. Returns 0, or
 * MDM_ENOTFOUND for a recovered candidate that libevtx cannot read (no
 * record: see the top of the file), or MDM_ENOMEM.
 */
static int key_record(struct evtx_source *x, int index, bool recovered, bool by_event_id,
                      uint64_t previous, struct mdm_evtx_entry *e)
{
    libevtx_record_t *record = NULL;
    uint64_t number = 0;
    int rc;

    e->index = index;
    e->recovered = recovered;
    e->damaged = false;
    if (!recovered && x->s.reader != NULL && mdm_evtx_reader_readable(x->s.reader, (size_t)index)) {
        /*
         * The header number straight from the chunk, without libevtx's parse
         * of the whole record; with recovered records, the EventRecordID of
         * the event our reader reads (libevtx's XML below when it refuses).
         */
        struct mdm_err err;
        e->key = mdm_evtx_reader_number(x->s.reader, (size_t)index);
        if (!by_event_id)
            return 0;
        mdm_event_reset(&x->s.scratch);
        rc = mdm_evtx_reader_event(x->s.reader, (size_t)index, &x->s.scratch, &err);
        if (rc == MDM_ENOMEM)
            return rc;
        if (rc == 0 && x->s.scratch.record_id != 0) {
            e->key = x->s.scratch.record_id;
            return 0;
        }
    }
    rc = recovered ? libevtx_file_get_recovered_record_by_index(x->file, index, &record, NULL)
                   : libevtx_file_get_record_by_index(x->file, index, &record, NULL);
    if (rc != 1) {
        libevtx_record_free(&record, NULL);
        if (recovered)
            return MDM_ENOTFOUND;
        e->key = previous;
        e->damaged = true;
        return 0;
    }
    if (libevtx_record_get_identifier(record, &number, NULL) != 1) {
        if (recovered) {
            libevtx_record_free(&record, NULL);
            return MDM_ENOTFOUND;
        }
        number = previous;
        e->damaged = true;
    }
    e->key = number;
    if (by_event_id && !e->damaged) {
        rc = rendered_record_id(x, record, index, &e->key);
        if (rc == MDM_ENOMEM) {
            libevtx_record_free(&record, NULL);
            return rc;
        }
        if (rc != 0) {
            /* Reported when its turn comes: next to the record before it, or by header number. */
            e->key = recovered ? number : previous;
            e->damaged = true;
        }
    }
    libevtx_record_free(&record, NULL);
    return 0;
}

/* Lists every record with its key, sorted (see the top of the file). */
static int list_records(struct evtx_source *x, struct mdm_err *err)
{
    size_t total = (size_t)x->records + (size_t)x->recovered;
    uint64_t previous = 0;
    bool by_event_id;

    x->s.listed = true;
    if (mdm_evtx_records_alloc(&x->s, total, err) != 0)
        return MDM_ENOMEM;
    if (total == 0)
        return 0;
    /*
     * The recovered records first: only when libevtx can read one of them
     * are the intact records keyed by their rendered EventRecordID (a second
     * rendering of each). Most logs list recovered candidates that are no
     * records (79 in a healthy 1881-record System log), and cost nothing.
     */
    for (int i = 0; i < x->recovered; i++) {
        int rc = key_record(x, i, true, true, 0, &x->s.list[x->s.list_len]);
        if (rc == MDM_ENOMEM)
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        if (rc == 0)
            x->s.list_len++;
    }
    by_event_id = x->s.list_len > 0;
    for (int i = 0; i < x->records; i++) {
        struct mdm_evtx_entry *e = &x->s.list[x->s.list_len++];
        if (key_record(x, i, false, by_event_id, previous, e) == MDM_ENOMEM)
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        previous = e->key;
    }
    mdm_evtx_records_sort(&x->s);
    return 0;
}

static int evtx_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err)
{
    struct evtx_source *x = impl(src);
    struct mdm_evtx_entry e;

    if (!x->s.listed) {
        int rc = list_records(x, err);
        if (rc != 0)
            return rc;
    }
    if (mdm_evtx_records_take(&x->s, &e)) {
        const char *what = e.recovered ? "recovered record" : "record";
        libevtx_error_t *error = NULL;
        libevtx_record_t *record = NULL;
        char text[MDM_ERR_MSG_MAX];
        uint64_t id = 0;
        int rc;

        if (!e.recovered && x->s.reader != NULL) {
            /* Our reader first; what it refuses goes the libevtx way below. */
            rc = mdm_evtx_records_read(&x->s, &e, ev, err);
            if (rc != MDM_EUNSUPPORTED)
                return rc;
        }
        rc = e.recovered
                 ? libevtx_file_get_recovered_record_by_index(x->file, e.index, &record, &error)
                 : libevtx_file_get_record_by_index(x->file, e.index, &record, &error);
        if (rc != 1)
            return mdm_err_set(err, MDM_EBADRECORD, "%s: %s %d: %s", x->s.path, what, e.index,
                               evtx_error_text(&error, text, sizeof(text)));
        if (!e.recovered && libevtx_record_get_identifier(record, &id, &error) != 1) {
            libevtx_record_free(&record, NULL);
            return mdm_err_set(err, MDM_EBADRECORD, "%s: record %d: no EventRecordID: %s",
                               x->s.path, e.index, evtx_error_text(&error, text, sizeof(text)));
        }
        rc = render(x, record, what, e.index, ev, err);
        libevtx_record_free(&record, NULL);
        if (rc == 0)
            mdm_evtx_records_returned(&x->s, &e);
        return rc;
    }
    return MDM_EOF;
}

static int evtx_open(struct mdm_source *src, const char *path, struct mdm_err *err)
{
    struct evtx_source *x = mdm_calloc(1, sizeof(*x));
    libevtx_error_t *error = NULL;
    char text[MDM_ERR_MSG_MAX];
    int rc;

    if (x == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    mdm_evtx_records_init(&x->s, src->path);
    /* Tell "missing" from "not an .evtx file": libevtx's message does not. */
    if ((rc = mdm_evtx_records_check_path(path, err)) != 0)
        goto out;
    rc = mdm_libevtx_load(err);
    if (rc != 0) {
        mdm_err_prefix(err, "%s: ", path);
        goto out;
    }
    if (libevtx_file_initialize(&x->file, &error) != 1) {
        rc = mdm_err_set(err, MDM_ENOMEM, "%s: %s", path,
                         evtx_error_text(&error, text, sizeof(text)));
        goto out;
    }
    if (libevtx_file_open(x->file, path, LIBEVTX_OPEN_READ, &error) != 1) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s: not a readable .evtx file: %s", path,
                         evtx_error_text(&error, text, sizeof(text)));
        goto out;
    }
    if (libevtx_file_get_number_of_records(x->file, &x->records, &error) != 1 ||
        libevtx_file_get_number_of_recovered_records(x->file, &x->recovered, &error) != 1) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s: cannot count records: %s", path,
                         evtx_error_text(&error, text, sizeof(text)));
        goto out;
    }
    if (x->records < 0 || x->recovered < 0 ||
        (uint64_t)x->records + (uint64_t)x->recovered > MDM_EVTX_RECORDS_MAX) {
        rc = mdm_err_set(err, MDM_ETOOBIG,
                         "%s: %d records and %d recovered records, more than the %u this reader "
                         "orders; export the log in parts",
                         path, x->records, x->recovered, MDM_EVTX_RECORDS_MAX);
        goto out;
    }
    /*
     * Our reader is used only when it lists as many records as libevtx's
     * intact ones (both list chunk by chunk, record by record, so the
     * indexes then name the same records); otherwise (a file header it
     * refuses, a damaged chunk the two judge differently) libevtx reads
     * every record, as before.
     */
    {
        struct mdm_err reader_err;
        rc = mdm_evtx_reader_open(&x->s.reader, path, MDM_EVTX_RECORDS_MAX, &reader_err);
        if (rc == MDM_ENOMEM) {
            rc = mdm_err_set(err, rc, "out of memory");
            goto out;
        }
        if (rc == 0 && mdm_evtx_reader_count(x->s.reader) != (size_t)x->records) {
            mdm_evtx_reader_close(x->s.reader);
            x->s.reader = NULL;
        }
        rc = 0;
    }
    src->impl = x;
    return 0;

out:
    mdm_evtx_records_free(&x->s);
    if (x->file != NULL) {
        libevtx_file_close(x->file, NULL);
        libevtx_file_free(&x->file, NULL);
    }
    mdm_free(x);
    return rc;
}

static void evtx_close(struct mdm_source *src)
{
    struct evtx_source *x = impl(src);

    if (x == NULL)
        return;
    libevtx_file_close(x->file, NULL);
    libevtx_file_free(&x->file, NULL);
    mdm_evtx_records_free(&x->s);
    mdm_free(x->xml);
    mdm_free(x);
    src->impl = NULL;
}

const struct mdm_source_ops mdm_source_evtx_ops = {
    "evtx",     evtx_open, evtx_next, NULL, NULL, mdm_evtx_source_position, mdm_evtx_source_seek,
    evtx_close,
};

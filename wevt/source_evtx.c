/*
 * source_evtx.c - the "evtx" source: an exported Windows event log file
 * (.evtx) read through libevtx.
 *
 * Each record is rendered by libevtx into Event XML and parsed by
 * mdm_event_parse_xml(), so .evtx records and Event XML files give the very
 * same events. Damaged records are reported (MDM_EBADRECORD, naming the file,
 * the record index and libevtx's cause) and skipped; the intact records
 * around them are still returned.
 *
 * Records that libevtx recovers from damaged chunks or free space follow the
 * intact ones. A recovered record whose EventRecordID was already returned is
 * a duplicate and is dropped silently. A recovered record older than the last
 * intact record is reported and not evaluated: feeding it to the monitor
 * after newer events would replay history out of order and could raise a
 * false alert. Newer recovered records are returned in EventRecordID order.
 *
 * Positions are the EventRecordID of the last event returned ("record-id:N");
 * after mdm_source_seek() records up to that ID are skipped.
 */
#include "source_impl.h"

#include "mdm_alloc.h"

#include <libevtx.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many EventRecordIDs are remembered for de-duplication. */
#define EVTX_IDS_MAX (8u * 1024u * 1024u)

struct recovered {
    uint64_t record_id;
    int index;
};

struct evtx_source {
    const char *path; /* owned by struct mdm_source */
    libevtx_file_t *file;
    int records;   /* intact records */
    int recovered; /* recovered records (possibly duplicates) */
    int next;      /* next intact record index */

    /* Seen EventRecordIDs, kept only when there are recovered records. */
    uint64_t *ids;
    size_t ids_len, ids_size;
    bool ids_overflow;
    uint64_t max_id; /* highest EventRecordID returned */
    bool have_max;

    struct recovered *rec; /* recovered records sorted by EventRecordID */
    size_t rec_len, rec_next;
    bool rec_prepared;

    uint64_t resume_after; /* skip records with IDs up to this one */
    bool resume;

    char *xml; /* rendering buffer, grown up to MDM_EVENT_XML_MAX */
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

static int remember_id(struct evtx_source *x, uint64_t id)
{
    if (x->recovered == 0 || x->ids_overflow)
        return 0;
    if (x->ids_len == x->ids_size) {
        size_t n = x->ids_size ? x->ids_size * 2 : 1024;
        uint64_t *p;
        if (n > EVTX_IDS_MAX) {
            x->ids_overflow = true;
            return 0;
        }
        p = mdm_realloc(x->ids, n * sizeof(*p));
        if (p == NULL)
            return MDM_ENOMEM;
        x->ids = p;
        x->ids_size = n;
    }
    x->ids[x->ids_len++] = id;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_recovered(const void *a, const void *b)
{
    const struct recovered *x = a, *y = b;
    if (x->record_id != y->record_id)
        return x->record_id < y->record_id ? -1 : 1;
    return x->index - y->index;
}

/*
 * Renders a record as Event XML and parses it into ev. Returns 0,
 * MDM_EBADRECORD (err names the record), or MDM_ENOMEM.
 */
static int render(struct evtx_source *x, libevtx_record_t *record, const char *what, int index,
                  struct mdm_event *ev, struct mdm_err *err)
{
    libevtx_error_t *error = NULL;
    char text[MDM_ERR_MSG_MAX];
    size_t size = 0;
    int rc;

    if (libevtx_record_get_utf8_xml_string_size(record, &size, &error) != 1 || size == 0)
        return mdm_err_set(err, MDM_EBADRECORD, "%s: %s %d: cannot render the event: %s", x->path,
                           what, index, evtx_error_text(&error, text, sizeof(text)));
    if (size > MDM_EVENT_XML_MAX)
        return mdm_err_set(err, MDM_EBADRECORD,
                           "%s: %s %d: the event renders to %zu bytes, over the 1 MiB limit",
                           x->path, what, index, size);
    if (size > x->xml_size) {
        char *p = mdm_realloc(x->xml, size);
        if (p == NULL)
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        x->xml = p;
        x->xml_size = size;
    }
    if (libevtx_record_get_utf8_xml_string(record, (uint8_t *)x->xml, size, &error) != 1)
        return mdm_err_set(err, MDM_EBADRECORD, "%s: %s %d: cannot render the event: %s", x->path,
                           what, index, evtx_error_text(&error, text, sizeof(text)));
    {
        /* The size libevtx reports includes the terminating NUL. */
        const char *nul = memchr(x->xml, '\0', size);
        rc = mdm_event_parse_xml(ev, x->xml, nul ? (size_t)(nul - x->xml) : size, err);
    }
    if (rc == MDM_ENOMEM)
        return rc;
    if (rc != 0) {
        mdm_err_prefix(err, "%s: %s %d: ", x->path, what, index);
        err->code = MDM_EBADRECORD;
        return MDM_EBADRECORD;
    }
    ev->origin = x->path;
    ev->offset = (uint64_t)index;
    ev->line = 0;
    return 0;
}

/* Collects the recovered records, sorted by EventRecordID, once the intact ones are done. */
static int prepare_recovered(struct evtx_source *x, struct mdm_err *err)
{
    x->rec_prepared = true;
    if (x->recovered <= 0)
        return 0;
    x->rec = mdm_calloc((size_t)x->recovered, sizeof(*x->rec));
    if (x->rec == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    for (int i = 0; i < x->recovered; i++) {
        libevtx_error_t *error = NULL;
        libevtx_record_t *record = NULL;
        uint64_t id = 0;

        if (libevtx_file_get_recovered_record_by_index(x->file, i, &record, &error) == 1 &&
            libevtx_record_get_identifier(record, &id, &error) == 1) {
            x->rec[x->rec_len].record_id = id;
            x->rec[x->rec_len].index = i;
            x->rec_len++;
        }
        libevtx_error_free(&error);
        libevtx_record_free(&record, NULL);
    }
    qsort(x->rec, x->rec_len, sizeof(*x->rec), cmp_recovered);
    if (x->ids_len > 0)
        qsort(x->ids, x->ids_len, sizeof(*x->ids), cmp_u64);
    return 0;
}

static bool already_seen(struct evtx_source *x, uint64_t id)
{
    return x->ids_len > 0 && bsearch(&id, x->ids, x->ids_len, sizeof(*x->ids), cmp_u64) != NULL;
}

static int next_recovered(struct evtx_source *x, struct mdm_event *ev, struct mdm_err *err)
{
    while (x->rec_next < x->rec_len) {
        struct recovered r = x->rec[x->rec_next++];
        libevtx_error_t *error = NULL;
        libevtx_record_t *record = NULL;
        char text[MDM_ERR_MSG_MAX];
        int rc;

        if (x->rec_next >= 2 && x->rec[x->rec_next - 2].record_id == r.record_id)
            continue; /* recovered twice */
        if (already_seen(x, r.record_id) || (x->resume && r.record_id <= x->resume_after))
            continue;
        if (x->have_max && r.record_id <= x->max_id)
            return mdm_err_set(err, MDM_EBADRECORD,
                               "%s: recovered record %d (EventRecordID %" PRIu64
                               ") is older than events already evaluated; not evaluated",
                               x->path, r.index, r.record_id);
        if (libevtx_file_get_recovered_record_by_index(x->file, r.index, &record, &error) != 1)
            return mdm_err_set(err, MDM_EBADRECORD, "%s: recovered record %d: %s", x->path, r.index,
                               evtx_error_text(&error, text, sizeof(text)));
        rc = render(x, record, "recovered record", r.index, ev, err);
        libevtx_record_free(&record, NULL);
        if (rc == 0) {
            x->max_id = r.record_id;
            x->have_max = true;
        }
        return rc;
    }
    return MDM_EOF;
}

static int evtx_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err)
{
    struct evtx_source *x = impl(src);

    while (x->next < x->records) {
        int index = x->next++;
        libevtx_error_t *error = NULL;
        libevtx_record_t *record = NULL;
        char text[MDM_ERR_MSG_MAX];
        uint64_t id = 0;
        int rc;

        if (libevtx_file_get_record_by_index(x->file, index, &record, &error) != 1)
            return mdm_err_set(err, MDM_EBADRECORD, "%s: record %d: %s", x->path, index,
                               evtx_error_text(&error, text, sizeof(text)));
        if (libevtx_record_get_identifier(record, &id, &error) != 1) {
            libevtx_record_free(&record, NULL);
            return mdm_err_set(err, MDM_EBADRECORD, "%s: record %d: no EventRecordID: %s", x->path,
                               index, evtx_error_text(&error, text, sizeof(text)));
        }
        if (remember_id(x, id) != 0) {
            libevtx_record_free(&record, NULL);
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        }
        if (x->resume && id <= x->resume_after) {
            libevtx_record_free(&record, NULL);
            continue;
        }
        rc = render(x, record, "record", index, ev, err);
        libevtx_record_free(&record, NULL);
        if (rc == 0 && (!x->have_max || id > x->max_id)) {
            x->max_id = id;
            x->have_max = true;
        }
        return rc;
    }
    if (!x->rec_prepared) {
        int rc = prepare_recovered(x, err);
        if (rc != 0)
            return rc;
    }
    return next_recovered(x, ev, err);
}

static int evtx_open(struct mdm_source *src, const char *path, struct mdm_err *err)
{
    struct evtx_source *x = mdm_calloc(1, sizeof(*x));
    libevtx_error_t *error = NULL;
    char text[MDM_ERR_MSG_MAX];
    FILE *probe;
    int rc;

    if (x == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    x->path = src->path;
    if (strcmp(path, "-") == 0) {
        rc = mdm_err_set(err, MDM_EINVAL,
                         "an .evtx file cannot be read from standard input; name the file");
        goto out;
    }
    /* Tell "missing" from "not an .evtx file": libevtx's message does not. */
    probe = fopen(path, "rb");
    if (probe == NULL) {
        rc = mdm_err_set(err, errno == ENOENT ? MDM_ENOTFOUND : MDM_EIO, "%s: cannot open: %s",
                         path, strerror(errno));
        goto out;
    }
    fclose(probe);
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
    src->impl = x;
    return 0;

out:
    if (x->file != NULL) {
        libevtx_file_close(x->file, NULL);
        libevtx_file_free(&x->file, NULL);
    }
    mdm_free(x);
    return rc;
}

static int evtx_position(struct mdm_source *src, char *buf, size_t size)
{
    struct evtx_source *x = impl(src);

    if (x->have_max)
        snprintf(buf, size, "record-id:%" PRIu64, x->max_id);
    else if (x->resume)
        snprintf(buf, size, "record-id:%" PRIu64, x->resume_after);
    else
        snprintf(buf, size, "record-id:0");
    return 0;
}

static int evtx_seek(struct mdm_source *src, const char *position, struct mdm_err *err)
{
    struct evtx_source *x = impl(src);
    const char *digits = position;
    char *end = NULL;
    unsigned long long id;

    if (strncmp(digits, "record-id:", 10) == 0)
        digits += 10;
    errno = 0;
    id = strtoull(digits, &end, 10);
    if (errno != 0 || end == digits || *end != '\0')
        return mdm_err_set(err, MDM_EINVAL, "%s: invalid resume position \"%s\"", x->path,
                           position);
    x->resume = true;
    x->resume_after = id;
    x->next = 0;
    return 0;
}

static void evtx_close(struct mdm_source *src)
{
    struct evtx_source *x = impl(src);

    if (x == NULL)
        return;
    libevtx_file_close(x->file, NULL);
    libevtx_file_free(&x->file, NULL);
    mdm_free(x->ids);
    mdm_free(x->rec);
    mdm_free(x->xml);
    mdm_free(x);
    src->impl = NULL;
}

const struct mdm_source_ops mdm_source_evtx_ops = {
    "evtx", evtx_open, evtx_next, NULL, NULL, evtx_position, evtx_seek, evtx_close,
};

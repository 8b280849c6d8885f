/*
 * source_xml.c - the "xml" and "xml-follow" sources: a stream of serialized
 * <Event> elements, as `wevtutil qe LOG /f:xml` prints them (concatenated, no
 * root) or wrapped in any root element (`<Events>...</Events>`).
 *
 * The stream is never parsed as one document, so that memory stays flat
 * however large the file is and one damaged event cannot hide the others. A
 * small incremental lexer cuts the byte stream into single <Event> elements
 * (tracking tag depth, comments, CDATA, processing instructions, declarations
 * and quoted attribute values) and hands each one to the Event XML parser
 * (one struct mdm_event_parser per source, which keeps its libxml2 context).
 *
 * The work is split by responsibility: source_xml_scan.c is the lexer
 * (what is an event, what is damage), source_xml_follow.c follows a growing,
 * rotated or truncated file and reads and writes positions, and this file
 * reads the bytes and hands each event to the parser.
 */
#include "wevt/source_xml_impl.h"

#include "wevt/follow.h"
#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_fatal(struct xml_source *x, struct mdm_err *err, int code)
{
    x->fatal = true;
    x->fatal_code = code;
    snprintf(x->fatal_msg, sizeof(x->fatal_msg), "%s", err ? err->msg : "");
    return code;
}

/*
 * Checks the byte order mark at the start of the file: a UTF-8 BOM is
 * skipped; UTF-16 (what PowerShell 5 writes with `>`) is refused with the
 * command that converts it.
 */
static int check_bom(struct xml_source *x, struct mdm_err *err)
{
    const unsigned char *u = (const unsigned char *)x->buf.data;

    if (x->buf.len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
        mdm_err_set(err, MDM_EUNSUPPORTED,
                    "%s: the file is UTF-16 encoded; convert it to UTF-8 first (iconv -f UTF-16 "
                    "-t UTF-8, or Out-File -Encoding utf8 in PowerShell)",
                    x->now);
        return set_fatal(x, err, MDM_EUNSUPPORTED);
    }
    if (x->buf.len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        x->pos = 3;
        mdm_xml_drop_before(x, 3);
    }
    x->started = true;
    return 0;
}

/*
 * Opens name as the file being read (follow: it may not exist yet, which is
 * not an error).
 */
int mdm_xml_open_file(struct xml_source *x, const char *name, struct mdm_err *err)
{
    x->now = name;
    x->have_info = false;
    x->fp = mdm_fs_fopen(name, "rb");
    if (x->fp == NULL) {
        if (x->follow && errno == ENOENT)
            return 0;
        return mdm_err_set(err, errno == ENOENT ? MDM_ENOTFOUND : MDM_EIO, "%s: cannot open: %s",
                           name, strerror(errno));
    }
    x->have_info = mdm_fs_fstat(x->fp, &x->info) == 0;
    if (!x->have_info)
        memset(&x->info, 0, sizeof(x->info));
    return 0;
}

/*
 * Reads one chunk into the buffer. Returns 1 when bytes were added, 0 at the
 * end of the data, or a negative code.
 */
static int fill(struct xml_source *x, struct mdm_err *err)
{
    char chunk[XML_CHUNK];
    size_t n;
    int rc;

    if (x->fp == NULL)
        return 0;
    if (x->eof && x->follow) {
        /*
         * Reading again after the end: seek to where we are, which resets the
         * C library's buffer and end-of-file state everywhere (clearerr()
         * alone is not enough for some C libraries to see appended data).
         */
        x->eof = false;
        if (mdm_fs_seek(x->fp, x->read_offset) != 0) {
            mdm_err_set(err, MDM_EIO, "%s: cannot seek to byte %" PRIu64, x->now, x->read_offset);
            return set_fatal(x, err, MDM_EIO);
        }
    }
    n = fread(chunk, 1, sizeof(chunk), x->fp);
    if (n == 0) {
        if (ferror(x->fp)) {
            mdm_err_set(err, MDM_EIO, "%s: read error at byte %" PRIu64 ": %s", x->now,
                        x->read_offset, strerror(errno));
            return set_fatal(x, err, MDM_EIO);
        }
        x->eof = true;
        clearerr(x->fp); /* follow: the next fread sees appended data */
        return 0;
    }
    mdm_xml_compact(x);
    rc = mdm_buf_add(&x->buf, chunk, n);
    if (rc != 0) {
        /* The scanner never lets the buffer pass one event plus one chunk. */
        mdm_err_set(err, rc, "%s: %s while reading byte %" PRIu64, x->now, mdm_strerror(rc),
                    x->read_offset);
        return set_fatal(x, err, rc);
    }
    mdm_xml_add_to_head(x, chunk, n, x->read_offset);
    x->read_offset += n;
    x->work.bytes_read += n;
    if (x->buf.len > x->work.buffer_peak)
        x->work.buffer_peak = x->buf.len;
    if (!x->started)
        return check_bom(x, err) == 0 ? 1 : x->fatal_code;
    return 1;
}

static int xml_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err)
{
    struct xml_source *x = impl(src);
    size_t end;
    int rc;

    if (x->fatal)
        return mdm_err_set(err, x->fatal_code, "%s", x->fatal_msg);
    if (x->have_note) {
        x->have_note = false;
        return mdm_err_set(err, MDM_EBADRECORD, "%s", x->note);
    }
    for (;;) {
        enum scan_result r = mdm_xml_scan(x, &end, err);
        if (r == SCAN_BAD)
            return MDM_EBADRECORD;
        if (r == SCAN_EVENT) {
            size_t start = x->event_start;
            uint64_t offset = x->buf_offset + start;
            x->in_event = false;
            rc = mdm_event_parser_parse(x->parser, ev, x->buf.data + start, end - start, err);
            x->pos = end;
            mdm_xml_drop_before(x, end);
            if (rc == 0) {
                ev->origin = x->now;
                ev->offset = offset;
                ev->line = x->event_line;
                return 0;
            }
            if (rc == MDM_ENOMEM)
                return rc;
            mdm_err_prefix(err, "%s:%" PRIu64 ": event at byte %" PRIu64 ": ", x->now,
                           x->event_line, offset);
            err->code = MDM_EBADRECORD;
            return MDM_EBADRECORD;
        }
        /* SCAN_NEED_MORE */
        rc = fill(x, err);
        if (rc < 0)
            return rc;
        if (rc > 0)
            continue;
        /* End of the data for now. */
        if (x->in_rotated) {
            /* The rotated file is read to its end: on to the new one, from its start. */
            int lost = 0;
            if (x->in_event) {
                mdm_xml_bad_record(x, err, x->event_line, x->buf_offset + x->event_start,
                                   "event is incomplete (the file ends before its </Event>)");
                lost = 1;
            }
            rc = mdm_xml_reopen_from_start(x, x->path, lost ? NULL : err);
            if (lost)
                return MDM_EBADRECORD;
            if (rc != 0)
                return rc;
            continue;
        }
        if (x->follow) {
            rc = mdm_xml_follow_check_file(x, err);
            if (rc < 0)
                return MDM_EBADRECORD;
            if (rc > 0)
                continue;
            return MDM_EAGAIN;
        }
        if (x->in_event) {
            uint64_t off = x->buf_offset + x->event_start;
            x->in_event = false;
            x->lex = LEX_TEXT;
            x->pos = x->buf.len;
            mdm_xml_drop_before(x, x->pos);
            return mdm_xml_bad_record(x, err, x->event_line, off,
                                      "event is incomplete (the input ends before its </Event>)");
        }
        if (x->lex != LEX_TEXT && x->lex != LEX_RESYNC) {
            /* An unterminated comment or tag at the very end. */
            x->lex = LEX_TEXT;
            x->pos = x->buf.len;
            mdm_xml_drop_before(x, x->pos);
            return mdm_xml_bad_record(x, err, x->mark_line, x->mark_offset,
                                      "unterminated markup at the end of input");
        }
        if (x->pos < x->buf.len) {
            /* A few bytes that might have started "<Event" or a construct. */
            uint64_t line = mdm_xml_line_at(x, x->pos);
            uint64_t off = x->buf_offset + x->pos;
            bool quiet = x->lex == LEX_RESYNC;
            x->pos = x->buf.len;
            mdm_xml_drop_before(x, x->pos);
            if (!quiet)
                return mdm_xml_bad_record(x, err, line, off,
                                          "unterminated markup at the end of input");
        }
        return MDM_EOF;
    }
}

static int xml_open_common(struct mdm_source *src, const char *path, bool follow,
                           struct mdm_err *err)
{
    struct xml_source *x = mdm_calloc(1, sizeof(*x));
    size_t len = strlen(path);
    int rc;

    if (x != NULL)
        x->rotated_path = mdm_malloc(len + sizeof(ROTATED_SUFFIX));
    if (x != NULL && x->rotated_path != NULL && mdm_event_parser_new(&x->parser) != 0)
        x->parser = NULL;
    if (x == NULL || x->rotated_path == NULL || x->parser == NULL) {
        if (x != NULL)
            mdm_free(x->rotated_path);
        mdm_free(x);
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    }
    memcpy(x->rotated_path, path, len);
    memcpy(x->rotated_path + len, ROTATED_SUFFIX, sizeof(ROTATED_SUFFIX));
    x->path = src->path;
    x->now = x->path;
    x->follow = follow;
    mdm_buf_init(&x->buf, MDM_EVENT_XML_MAX + 2 * XML_CHUNK);
    mdm_xml_reset_scanner(x, 0);
    if (!follow && strcmp(path, "-") == 0) {
        x->fp = stdin;
        x->is_stdin = true;
    } else if (follow && strcmp(path, "-") == 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "xml-follow needs a file name, not standard input");
        goto out;
    } else {
        rc = mdm_xml_open_file(x, x->path, err);
        if (rc != 0)
            goto out;
    }
    if (follow) {
        rc = mdm_follow_open(&x->watch, path, err);
        if (rc != 0)
            goto out;
    }
    src->impl = x;
    return 0;

out:
    if (x->fp != NULL && !x->is_stdin)
        fclose(x->fp);
    mdm_buf_free(&x->buf);
    mdm_event_parser_free(x->parser);
    mdm_free(x->rotated_path);
    mdm_free(x);
    return rc;
}

static int xml_open(struct mdm_source *src, const char *path, struct mdm_err *err)
{
    return xml_open_common(src, path, false, err);
}

static int xml_follow_open(struct mdm_source *src, const char *path, struct mdm_err *err)
{
    return xml_open_common(src, path, true, err);
}

static int xml_wait(struct mdm_source *src, int timeout_ms)
{
    struct xml_source *x = impl(src);

    if (x->watch == NULL)
        return 0;
    return mdm_follow_wait(x->watch, timeout_ms);
}

static int xml_pollfd(struct mdm_source *src)
{
    struct xml_source *x = impl(src);

    return x->watch ? mdm_follow_fd(x->watch) : -1;
}

static void xml_close(struct mdm_source *src)
{
    struct xml_source *x = impl(src);

    if (x == NULL)
        return;
    if (x->fp != NULL && !x->is_stdin)
        fclose(x->fp);
    mdm_follow_close(x->watch);
    mdm_buf_free(&x->buf);
    mdm_event_parser_free(x->parser);
    mdm_free(x->rotated_path);
    mdm_free(x);
    src->impl = NULL;
}

void mdm_source_scan_work(struct mdm_source *src, struct mdm_source_scan_work *out)
{
    memset(out, 0, sizeof(*out));
    if (src->ops == &mdm_source_xml_ops || src->ops == &mdm_source_xml_follow_ops)
        *out = impl(src)->work;
}

const struct mdm_source_ops mdm_source_xml_ops = {
    "xml", xml_open, xml_next, xml_wait, xml_pollfd, mdm_xml_position, mdm_xml_seek, xml_close,
};

const struct mdm_source_ops mdm_source_xml_follow_ops = {
    "xml-follow", xml_follow_open,  xml_next,     xml_wait,
    xml_pollfd,   mdm_xml_position, mdm_xml_seek, xml_close,
};

/*
 * source_xml.c - the "xml" and "xml-follow" sources: a stream of serialized
 * <Event> elements, as `wevtutil qe LOG /f:xml` prints them (concatenated, no
 * root) or wrapped in any root element (`<Events>...</Events>`).
 *
 * The stream is never parsed as one document, so that memory stays flat
 * however large the file is and one damaged event cannot hide the others. A
 * small scanner cuts the byte stream into single <Event> elements (tracking
 * tag depth, comments, CDATA, processing instructions and quoted attribute
 * values) and hands each one to mdm_event_parse_xml(). The scanner keeps at
 * most one event (MDM_EVENT_XML_MAX) plus one read chunk in memory.
 *
 * Damage is reported once per problem as MDM_EBADRECORD, naming the file, the
 * line and the byte offset, and scanning goes on at the next <Event:
 *   - an event that does not parse (libxml2's first error is quoted);
 *   - an event larger than MDM_EVENT_XML_MAX (skipped up to the next <Event);
 *   - an event cut short, by the end of the file or by the start of the next
 *     event (a new <Event carrying the event namespace inside an event);
 *   - text outside any element.
 *
 * xml-follow reads a file that another program appends to. At the end of the
 * data it returns MDM_EAGAIN (an event still being written stays pending) and
 * mdm_source_wait() sleeps on follow.h until the file changes. A file that is
 * replaced (rotated) is read to its end, then the new file is read from its
 * start; a file that shrinks (truncated) is read again from the start.
 *
 * Positions are decimal byte offsets just past the last event returned.
 */
#include "source_impl.h"

#include "follow.h"
#include "mdm_alloc.h"
#include "mdm_buf.h"
#include "mdm_fs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_CHUNK (64u * 1024u)

/* The Event XML namespace; a nested <Event carrying it starts a new event. */
#define EVENT_NAMESPACE "schemas.microsoft.com/win/2004/08/events/event"

struct xml_source {
    const char *path; /* owned by struct mdm_source */
    FILE *fp;
    bool is_stdin;
    bool follow;
    struct mdm_follow *watch;
    struct mdm_fs_info info; /* identity of the open file (follow) */
    bool eof;                /* the last read hit the end of the file */
    bool started;            /* the byte order mark check is done */
    bool fatal;              /* the source cannot go on */
    int fatal_code;
    char fatal_msg[MDM_ERR_MSG_MAX];

    struct mdm_buf buf;   /* unconsumed bytes of the file */
    uint64_t buf_offset;  /* file offset of buf.data[0] */
    uint64_t read_offset; /* file offset of the next byte to read */

    /* Line numbers: buf.data[line_index] is on line `line`. */
    size_t line_index;
    uint64_t line;

    /* Scanner state, indices into buf. */
    size_t pos;          /* next byte to look at */
    bool in_event;       /* between <Event and its end */
    size_t event_start;  /* index of "<Event" */
    uint64_t event_line; /* its line */
    unsigned depth;      /* open elements inside the event, the Event included */
    bool skipping;       /* after an oversize event: quiet until the next <Event */
    bool in_garbage;     /* inside text already reported */
};

static struct xml_source *impl(struct mdm_source *src)
{
    return src->impl;
}

/* Advances the line counter to index i (monotonic within one buffer fill). */
static uint64_t line_at(struct xml_source *x, size_t i)
{
    const char *p = x->buf.data + x->line_index;
    const char *end = x->buf.data + i;

    if (i <= x->line_index)
        return x->line;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        x->line++;
        p = nl + 1;
    }
    x->line_index = i;
    return x->line;
}

/* Drops the first n bytes of the buffer and shifts every index. */
static void consume(struct xml_source *x, size_t n)
{
    if (n == 0)
        return;
    if (x->line_index < n)
        line_at(x, n);
    mdm_buf_consume(&x->buf, n);
    x->buf_offset += n;
    x->line_index -= n;
    x->pos -= n;
    if (x->in_event)
        x->event_start -= n;
}

static void reset_scanner(struct xml_source *x, uint64_t offset)
{
    mdm_buf_reset(&x->buf);
    x->buf_offset = offset;
    x->read_offset = offset;
    x->line_index = 0;
    x->line = 1;
    x->pos = 0;
    x->in_event = false;
    x->depth = 0;
    x->skipping = false;
    x->in_garbage = false;
    x->eof = false;
}

/* Finds needle in buf.data[from, len); returns its index or (size_t)-1. */
static size_t find(const struct xml_source *x, size_t from, const char *needle)
{
    size_t nlen = strlen(needle);
    const char *hay = x->buf.data;
    size_t len = x->buf.len;

    while (from + nlen <= len) {
        const char *p = memchr(hay + from, needle[0], len - from);
        if (p == NULL)
            return (size_t)-1;
        from = (size_t)(p - hay);
        if (from + nlen > len)
            return (size_t)-1;
        if (memcmp(p, needle, nlen) == 0)
            return from;
        from++;
    }
    return (size_t)-1;
}

static bool starts_with(const struct xml_source *x, size_t i, const char *s)
{
    size_t n = strlen(s);
    return i + n <= x->buf.len && memcmp(x->buf.data + i, s, n) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Results of scanning one construct at buf[i] == '<'. */
enum tag_kind {
    TAG_NEED_MORE, /* the construct is not complete in the buffer */
    TAG_SKIP,      /* comment, CDATA, PI, declaration: no depth change */
    TAG_OPEN,      /* <name ...> */
    TAG_EMPTY,     /* <name .../> */
    TAG_CLOSE,     /* </name> */
    TAG_BROKEN,    /* a tag cut short by a '<': *end is that '<' */
};

/*
 * Scans the markup construct starting at buf[i] ('<'). On success *end is
 * the index just past it. Start tags are scanned with quoted attribute
 * values honoured, so a '>' inside a value does not end the tag.
 */
static enum tag_kind scan_tag(const struct xml_source *x, size_t i, size_t *end)
{
    const char *d = x->buf.data;
    size_t len = x->buf.len;
    size_t j;
    char quote = 0;

    if (i + 1 >= len)
        return TAG_NEED_MORE;
    if (d[i + 1] == '!') {
        const char *close = NULL;
        if (i + 4 > len || (i + 9 > len && d[i + 2] == '['))
            return TAG_NEED_MORE;
        if (starts_with(x, i, "<!--"))
            close = "-->";
        else if (starts_with(x, i, "<![CDATA["))
            close = "]]>";
        if (close != NULL) {
            j = find(x, i + 4, close);
            if (j == (size_t)-1)
                return TAG_NEED_MORE;
            *end = j + strlen(close);
            return TAG_SKIP;
        }
        /* <!DOCTYPE ...> possibly with an internal subset in brackets. */
        {
            int brackets = 0;
            for (j = i + 2; j < len; j++) {
                if (quote) {
                    if (d[j] == quote)
                        quote = 0;
                } else if (d[j] == '"' || d[j] == '\'') {
                    quote = d[j];
                } else if (d[j] == '[') {
                    brackets++;
                } else if (d[j] == ']') {
                    brackets--;
                } else if (d[j] == '>' && brackets <= 0) {
                    *end = j + 1;
                    return TAG_SKIP;
                }
            }
            return TAG_NEED_MORE;
        }
    }
    if (d[i + 1] == '?') {
        j = find(x, i + 2, "?>");
        if (j == (size_t)-1)
            return TAG_NEED_MORE;
        *end = j + 2;
        return TAG_SKIP;
    }
    for (j = i + 1; j < len; j++) {
        if (d[j] == '<') {
            /*
             * '<' is not allowed anywhere in a tag, not even in a quoted value
             * (it must be written &lt;): the tag was cut short and new markup
             * starts here.
             */
            *end = j;
            return TAG_BROKEN;
        }
        if (quote) {
            if (d[j] == quote)
                quote = 0;
        } else if (d[j] == '"' || d[j] == '\'') {
            quote = d[j];
        } else if (d[j] == '>') {
            *end = j + 1;
            if (d[i + 1] == '/')
                return TAG_CLOSE;
            return d[j - 1] == '/' ? TAG_EMPTY : TAG_OPEN;
        }
    }
    return TAG_NEED_MORE;
}

/* Is buf[i] the start of an <Event ...> tag? -1 when more data is needed. */
static int is_event_start(const struct xml_source *x, size_t i)
{
    if (i + 7 > x->buf.len)
        return starts_with(x, i, "<Event") || memcmp(x->buf.data + i, "<Event", x->buf.len - i) == 0
                   ? -1
                   : 0;
    if (!starts_with(x, i, "<Event"))
        return 0;
    return is_space(x->buf.data[i + 6]) || x->buf.data[i + 6] == '>' || x->buf.data[i + 6] == '/';
}

/* Does the tag buf[i, end) carry the Event XML namespace? */
static bool tag_has_event_namespace(const struct xml_source *x, size_t i, size_t end)
{
    const char *p = x->buf.data + i;
    size_t n = end - i, k = strlen(EVENT_NAMESPACE);

    for (size_t j = 0; j + k <= n; j++)
        if (memcmp(p + j, EVENT_NAMESPACE, k) == 0)
            return true;
    return false;
}

static int bad_record(struct xml_source *x, struct mdm_err *err, uint64_t line, uint64_t offset,
                      const char *cause)
{
    return mdm_err_set(err, MDM_EBADRECORD, "%s:%" PRIu64 ": event at byte %" PRIu64 ": %s",
                       x->path, line, offset, cause);
}

/* Results of the scanner, before the event is parsed. */
enum scan_result {
    SCAN_EVENT,     /* buf[event_start, *end) is one <Event> */
    SCAN_NEED_MORE, /* read more and call again */
    SCAN_BAD,       /* err holds an EBADRECORD */
};

/*
 * Looks for the next complete event from x->pos. Bytes before the scanner's
 * position that belong to no event are consumed as it goes.
 */
static enum scan_result scan(struct xml_source *x, size_t *event_end, struct mdm_err *err)
{
    const char *d;
    size_t end;

    for (;;) {
        d = x->buf.data;
        if (!x->in_event) {
            /* Outside events: whitespace, markup to skip, or an <Event. */
            while (x->pos < x->buf.len && d[x->pos] != '<') {
                if (!is_space(d[x->pos]) && !x->skipping && !x->in_garbage) {
                    x->in_garbage = true;
                    uint64_t line = line_at(x, x->pos);
                    uint64_t off = x->buf_offset + x->pos;
                    x->pos++;
                    bad_record(x, err, line, off, "text outside any <Event> element");
                    return SCAN_BAD;
                }
                x->pos++;
            }
            if (x->pos >= x->buf.len) {
                consume(x, x->pos);
                return SCAN_NEED_MORE;
            }
            x->in_garbage = false;
            consume(x, x->pos);
            int ev = is_event_start(x, x->pos);
            if (ev < 0)
                return SCAN_NEED_MORE;
            if (ev == 1) {
                x->in_event = true;
                x->skipping = false;
                x->event_start = x->pos;
                x->event_line = line_at(x, x->pos);
                x->depth = 0;
                continue;
            }
            enum tag_kind kind = scan_tag(x, x->pos, &end);
            if (kind == TAG_NEED_MORE) {
                if (x->buf.len - x->pos > MDM_EVENT_XML_MAX) {
                    /* Markup this long outside an event is not Event XML. */
                    uint64_t line = line_at(x, x->pos);
                    uint64_t off = x->buf_offset + x->pos;
                    x->pos++;
                    if (x->skipping)
                        continue;
                    x->skipping = true;
                    bad_record(x, err, line, off, "unterminated markup outside any event");
                    return SCAN_BAD;
                }
                return SCAN_NEED_MORE;
            }
            x->pos = end;
            continue;
        }

        /* Inside an event: follow the markup to the matching end tag. */
        while (x->pos < x->buf.len) {
            size_t lt = x->pos;
            const char *p = memchr(d + lt, '<', x->buf.len - lt);
            if (p == NULL) {
                x->pos = x->buf.len;
                break;
            }
            lt = (size_t)(p - d);
            x->pos = lt;
            if (lt > x->event_start && x->depth > 0) {
                int ev = is_event_start(x, lt);
                if (ev < 0)
                    break;
                if (ev == 1) {
                    enum tag_kind k = scan_tag(x, lt, &end);
                    if (k == TAG_NEED_MORE)
                        break;
                    if (tag_has_event_namespace(x, lt, end)) {
                        /* The previous event was cut short; a new one starts here. */
                        bad_record(x, err, x->event_line, x->buf_offset + x->event_start,
                                   "event is incomplete (the next event starts before its "
                                   "</Event>)");
                        x->in_event = false;
                        return SCAN_BAD;
                    }
                }
            }
            enum tag_kind kind = scan_tag(x, lt, &end);
            if (kind == TAG_NEED_MORE)
                break;
            x->pos = end;
            if (kind == TAG_OPEN) {
                x->depth++;
            } else if (kind == TAG_CLOSE || (kind == TAG_EMPTY && x->depth == 0)) {
                if (kind == TAG_CLOSE && x->depth > 0)
                    x->depth--;
                if (x->depth == 0) {
                    *event_end = end;
                    return SCAN_EVENT;
                }
            }
        }
        if (x->buf.len - x->event_start > MDM_EVENT_XML_MAX) {
            bad_record(x, err, x->event_line, x->buf_offset + x->event_start,
                       "event is larger than the 1 MiB limit; skipped");
            x->in_event = false;
            /* Go on quietly after the construct that was being scanned. */
            if (x->pos < x->buf.len)
                x->pos++;
            x->skipping = true;
            return SCAN_BAD;
        }
        return SCAN_NEED_MORE;
    }
}

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
                    x->path);
        return set_fatal(x, err, MDM_EUNSUPPORTED);
    }
    if (x->buf.len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        mdm_buf_consume(&x->buf, 3);
        x->buf_offset += 3;
    }
    x->started = true;
    return 0;
}

/* Opens the file (follow: it may not exist yet, which is not an error). */
static int open_file(struct xml_source *x, struct mdm_err *err)
{
    x->fp = mdm_fs_fopen(x->path, "rb");
    if (x->fp == NULL) {
        if (x->follow && errno == ENOENT)
            return 0;
        return mdm_err_set(err, errno == ENOENT ? MDM_ENOTFOUND : MDM_EIO, "%s: cannot open: %s",
                           x->path, strerror(errno));
    }
    if (x->follow && mdm_fs_fstat(x->fp, &x->info) != 0)
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
            mdm_err_set(err, MDM_EIO, "%s: cannot seek to byte %" PRIu64, x->path, x->read_offset);
            return set_fatal(x, err, MDM_EIO);
        }
    }
    n = fread(chunk, 1, sizeof(chunk), x->fp);
    if (n == 0) {
        if (ferror(x->fp)) {
            mdm_err_set(err, MDM_EIO, "%s: read error at byte %" PRIu64 ": %s", x->path,
                        x->read_offset, strerror(errno));
            return set_fatal(x, err, MDM_EIO);
        }
        x->eof = true;
        clearerr(x->fp); /* follow: the next fread sees appended data */
        return 0;
    }
    rc = mdm_buf_add(&x->buf, chunk, n);
    if (rc != 0) {
        /* The scanner never lets the buffer pass one event plus one chunk. */
        mdm_err_set(err, rc, "%s: %s while reading byte %" PRIu64, x->path, mdm_strerror(rc),
                    x->read_offset);
        return set_fatal(x, err, rc);
    }
    x->read_offset += n;
    if (!x->started)
        return check_bom(x, err) == 0 ? 1 : x->fatal_code;
    return 1;
}

/*
 * xml-follow at the end of the data: was the file replaced or truncated?
 * Returns 1 when the scanner switched to a new file (or reopened the same
 * one from its start), 0 when nothing changed, or -1 when a pending event
 * was lost and has been reported in err.
 */
static int follow_check_file(struct xml_source *x, struct mdm_err *err)
{
    struct mdm_fs_info now;
    bool replaced, truncated;
    int lost = 0;

    if (mdm_fs_stat(x->path, &now) != 0)
        return 0; /* gone for now (rotation in progress): keep what we have */
    if (x->fp == NULL) {
        if (open_file(x, err) != 0 || x->fp == NULL)
            return 0;
        reset_scanner(x, 0);
        x->started = false;
        return 1;
    }
    replaced = now.dev != x->info.dev || now.ino != x->info.ino;
    truncated = !replaced && now.size < x->read_offset;
    if (!replaced && !truncated)
        return 0;
    if (x->in_event) {
        bad_record(x, err, x->event_line, x->buf_offset + x->event_start,
                   replaced ? "event is incomplete (the file was replaced before its </Event>)"
                            : "event is incomplete (the file was truncated before its </Event>)");
        lost = -1;
    }
    fclose(x->fp);
    x->fp = NULL;
    if (open_file(x, err) != 0 || x->fp == NULL)
        return lost;
    reset_scanner(x, 0);
    x->started = false;
    return lost ? lost : 1;
}

static int xml_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err)
{
    struct xml_source *x = impl(src);
    size_t end;
    int rc;

    if (x->fatal)
        return mdm_err_set(err, x->fatal_code, "%s", x->fatal_msg);
    for (;;) {
        enum scan_result r = scan(x, &end, err);
        if (r == SCAN_BAD)
            return MDM_EBADRECORD;
        if (r == SCAN_EVENT) {
            size_t start = x->event_start;
            x->in_event = false;
            rc = mdm_event_parse_xml(ev, x->buf.data + start, end - start, err);
            x->pos = end;
            consume(x, end);
            if (rc == 0) {
                ev->origin = x->path;
                ev->offset = x->buf_offset - (end - start);
                ev->line = x->event_line;
                return 0;
            }
            if (rc == MDM_ENOMEM)
                return rc;
            mdm_err_prefix(err, "%s:%" PRIu64 ": event at byte %" PRIu64 ": ", x->path,
                           x->event_line, x->buf_offset - (end - start));
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
        if (x->follow) {
            rc = follow_check_file(x, err);
            if (rc < 0)
                return MDM_EBADRECORD;
            if (rc > 0)
                continue;
            return MDM_EAGAIN;
        }
        if (x->in_event) {
            uint64_t off = x->buf_offset + x->event_start;
            x->in_event = false;
            consume(x, x->buf.len);
            return bad_record(x, err, x->event_line, off,
                              "event is incomplete (the input ends before its </Event>)");
        }
        if (x->buf.len > 0) {
            /* An unterminated comment or tag at the very end. */
            uint64_t line = line_at(x, 0);
            uint64_t off = x->buf_offset;
            consume(x, x->buf.len);
            if (!x->skipping)
                return bad_record(x, err, line, off, "unterminated markup at the end of input");
        }
        return MDM_EOF;
    }
}

static int xml_open_common(struct mdm_source *src, const char *path, bool follow,
                           struct mdm_err *err)
{
    struct xml_source *x = mdm_calloc(1, sizeof(*x));
    int rc;

    if (x == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    x->path = src->path;
    x->follow = follow;
    mdm_buf_init(&x->buf, MDM_EVENT_XML_MAX + 2 * XML_CHUNK);
    reset_scanner(x, 0);
    if (!follow && strcmp(path, "-") == 0) {
        x->fp = stdin;
        x->is_stdin = true;
    } else if (follow && strcmp(path, "-") == 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "xml-follow needs a file name, not standard input");
        goto out;
    } else {
        rc = open_file(x, err);
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

static int xml_position(struct mdm_source *src, char *buf, size_t size)
{
    struct xml_source *x = impl(src);
    uint64_t at = x->buf_offset + (x->in_event ? x->event_start : 0);

    snprintf(buf, size, "%" PRIu64, at);
    return 0;
}

static int xml_seek(struct mdm_source *src, const char *position, struct mdm_err *err)
{
    struct xml_source *x = impl(src);
    char *end = NULL;
    unsigned long long off;

    errno = 0;
    off = strtoull(position, &end, 10);
    if (errno != 0 || end == position || *end != '\0')
        return mdm_err_set(err, MDM_EINVAL, "%s: invalid resume position \"%s\"", x->path,
                           position);
    if (x->is_stdin)
        return mdm_err_set(err, MDM_EUNSUPPORTED, "cannot resume standard input at byte %llu", off);
    if (x->fp == NULL)
        return 0; /* follow: the file does not exist yet; start at 0 when it does */
    if (x->follow) {
        struct mdm_fs_info now;
        /* A position past the end means the file was replaced while we were stopped. */
        if (mdm_fs_fstat(x->fp, &now) == 0 && off > now.size)
            off = 0;
    }
    if (mdm_fs_seek(x->fp, off) != 0)
        return mdm_err_set(err, MDM_EIO, "%s: cannot seek to byte %llu", x->path, off);
    reset_scanner(x, off);
    x->started = off > 0;
    return 0;
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
    mdm_free(x);
    src->impl = NULL;
}

const struct mdm_source_ops mdm_source_xml_ops = {
    "xml", xml_open, xml_next, xml_wait, xml_pollfd, xml_position, xml_seek, xml_close,
};

const struct mdm_source_ops mdm_source_xml_follow_ops = {
    "xml-follow", xml_follow_open, xml_next, xml_wait,
    xml_pollfd,   xml_position,    xml_seek, xml_close,
};

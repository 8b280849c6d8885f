/*
 * source_xml.c - the "xml" and "xml-follow" sources: a stream of serialized
 * <Event> elements, as `wevtutil qe LOG /f:xml` prints them (concatenated, no
 * root) or wrapped in any root element (`<Events>...</Events>`).
 *
 * The stream is never parsed as one document, so that memory stays flat
 * however large the file is and one damaged event cannot hide the others. A
 * small incremental lexer cuts the byte stream into single <Event> elements
 * (tracking tag depth, comments, CDATA, processing instructions, declarations
 * and quoted attribute values) and hands each one to mdm_event_parse_xml().
 *
 * Cost and memory. Every byte is looked at a bounded number of times, however
 * the input arrives: the lexer's state (which construct it is in, the quote,
 * how much of a terminator such as "-->" it has already seen) survives
 * between reads, so a construct that is not complete yet is never searched
 * again from its start. Outside an event nothing needs keeping, so a comment,
 * CDATA section or tag there is dropped as it streams; only an event being
 * cut is kept, at most MDM_EVENT_XML_MAX plus one read chunk.
 * mdm_source_scan_work() counts the work for the tests and benchmarks.
 *
 * Damage is reported once per problem as MDM_EBADRECORD, naming the file, the
 * line and the byte offset, and scanning goes on:
 *   - an event that does not parse (libxml2's first error is quoted);
 *   - an event larger than MDM_EVENT_XML_MAX, and a comment, CDATA section,
 *     processing instruction, declaration or tag outside events that is not
 *     terminated within that size: skipped up to the next "<Event" (anything
 *     in between belongs to the damaged construct and is skipped with it);
 *   - an event cut short, by the end of the file or by the start of the next
 *     event (a new <Event carrying the event namespace inside an event);
 *   - text outside any element;
 *   - a construct left unterminated at the end of the input.
 *
 * xml-follow reads a file that another program appends to. At the end of the
 * data it returns MDM_EAGAIN (an event still being written stays pending) and
 * mdm_source_wait() sleeps on follow.h until the file changes. A file that is
 * replaced (rotated) is read to its end, then the new file is read from its
 * start; a file that shrinks (truncated) is read again from the start.
 *
 * Positions (opaque to the engine, saved in the state file) say where to go
 * on and which file that offset belongs to:
 *
 *     OFFSET[;skip=event|;skip=text][;id=DEV:INO;head=LEN:HASH]
 *
 * OFFSET is the decimal byte offset just past the last event returned (or of
 * the start of a construct still pending). skip=event: the lexer was skipping
 * a damaged construct up to the next "<Event"; skip=text: it was inside text
 * outside events that was already reported. DEV:INO (hex) is the file's
 * identity (device and inode on POSIX; volume serial number and file index on
 * Windows), and HASH (hex) the 64-bit FNV-1a hash of its first LEN bytes
 * (LEN = all bytes read from the start, at most HEAD_MAX: enough to hold the
 * first event, whose EventRecordID and TimeCreated tell files apart). A bare
 * OFFSET (what older versions saved) is an offset with an unknown identity.
 *
 * On resume the file at OFFSET is looked for: the file itself when its
 * identity and head match, else the rotated file next to it (PATH.1) when
 * that is the one; it is read from OFFSET and then PATH from its start. When
 * only the head matches (a copy, as copytruncate rotation makes, or a volume
 * whose device number changed), the content is the same and that file is
 * used. When nothing matches, PATH is read from its start and the first call
 * to next() reports once, as MDM_EBADRECORD, that events may have been lost.
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

/* The bytes of a file hashed into its identity (see the position format). */
#define HEAD_MAX 4096u

/* The name of the rotated file next to the followed one: PATH + this. */
#define ROTATED_SUFFIX ".1"

/* The Event XML namespace; a nested <Event carrying it starts a new event. */
#define EVENT_NAMESPACE "schemas.microsoft.com/win/2004/08/events/event"

#define FNV_OFFSET_BASIS 14695981039346656037ull
#define FNV_PRIME        1099511628211ull

/* What the lexer is in at buf.data[pos]. */
enum lex_state {
    LEX_TEXT,    /* character data; the next '<' starts a construct */
    LEX_COMMENT, /* after "<!--", until "-->" */
    LEX_CDATA,   /* after "<![CDATA[", until "]]>" */
    LEX_PI,      /* after "<?", until "?>" */
    LEX_DECL,    /* after "<!" (DOCTYPE and the like), until '>' outside quotes and brackets */
    LEX_TAG,     /* after "<" of a start or end tag, until '>' outside quotes */
    LEX_RESYNC,  /* after damage: skipping everything up to the next "<Event" */
};

/* What kind of tag LEX_TAG is cutting. */
enum tag_type {
    TAG_START,       /* <name ...> or <name .../> */
    TAG_END,         /* </name> */
    TAG_EVENT_START, /* <Event ...> or <Event .../> */
};

struct xml_source {
    const char *path;   /* the configured file, owned by struct mdm_source */
    char *rotated_path; /* path + ROTATED_SUFFIX, owned */
    const char *now;    /* the file being read: path or rotated_path */
    bool in_rotated;    /* reading rotated_path; path follows from its start */
    FILE *fp;
    bool is_stdin;
    bool follow;
    struct mdm_follow *watch;
    struct mdm_fs_info info; /* identity of the open file */
    bool have_info;
    bool eof;     /* the last read hit the end of the file */
    bool started; /* the byte order mark check is done */
    bool fatal;   /* the source cannot go on */
    int fatal_code;
    char fatal_msg[MDM_ERR_MSG_MAX];
    bool have_note; /* note is reported by the next call to next() */
    char note[MDM_ERR_MSG_MAX];

    /* The head fingerprint of the open file: FNV-1a of its first head_len bytes. */
    uint64_t head_len;
    uint64_t head_hash;

    /*
     * buf.data[0, live) was already dealt with and is dropped at the next
     * read (compacting then, not at every construct, keeps moves linear).
     */
    struct mdm_buf buf;
    size_t live;
    uint64_t buf_offset;  /* file offset of buf.data[0] */
    uint64_t read_offset; /* file offset of the next byte to read */

    /* Line numbers: buf.data[line_index] is on line `line`. */
    size_t line_index;
    uint64_t line;

    /* The lexer. Indices are into buf. */
    enum lex_state lex;
    size_t pos;           /* next byte to look at */
    uint64_t mark_offset; /* file offset of the '<' of the current construct */
    uint64_t mark_line;   /* its line */
    size_t mark;          /* its index (valid inside an event only) */
    enum tag_type tag;    /* LEX_TAG: which kind */
    char quote;           /* LEX_TAG, LEX_DECL: the open quote, or 0 */
    char tag_last;        /* LEX_TAG: the last byte seen ('/' before '>' is an empty tag) */
    int brackets;         /* LEX_DECL: open '[' of an internal subset */
    unsigned run;         /* LEX_COMMENT/CDATA/PI: terminator bytes seen just before pos */
    bool in_event;        /* between <Event and its end */
    size_t event_start;   /* index of "<Event" */
    uint64_t event_line;  /* its line */
    unsigned depth;       /* open elements inside the event, the Event included */
    bool in_garbage;      /* inside text outside events, already reported */

    struct mdm_source_scan_work work;

    struct mdm_event_parser *parser; /* reused for every event, owned */
};

static struct xml_source *impl(struct mdm_source *src)
{
    return src->impl;
}

static uint64_t fnv_add(uint64_t hash, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        hash ^= p[i];
        hash *= FNV_PRIME;
    }
    return hash;
}

/* Advances the line counter to index i (monotonic within one buffer fill). */
static uint64_t line_at(struct xml_source *x, size_t i)
{
    const char *p = x->buf.data + x->line_index;
    const char *end = x->buf.data + i;

    if (i <= x->line_index)
        return x->line;
    x->work.bytes_examined += i - x->line_index;
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

/* Marks buf.data[0, n) as dealt with; it is dropped at the next read. */
static void drop_before(struct xml_source *x, size_t n)
{
    if (n <= x->live)
        return;
    line_at(x, n);
    x->live = n;
}

/* Moves the bytes still needed to the front of the buffer before a read. */
static void compact(struct xml_source *x)
{
    size_t n = x->live;

    if (n == 0)
        return;
    x->work.bytes_moved += x->buf.len - n;
    mdm_buf_consume(&x->buf, n);
    x->buf_offset += n;
    x->line_index -= n;
    x->pos -= n;
    x->live = 0;
    if (x->in_event) {
        x->event_start -= n;
        x->mark -= n;
    }
}

static void reset_scanner(struct xml_source *x, uint64_t offset)
{
    mdm_buf_reset(&x->buf);
    x->live = 0;
    x->buf_offset = offset;
    x->read_offset = offset;
    x->line_index = 0;
    x->line = 1;
    x->pos = 0;
    x->lex = LEX_TEXT;
    x->in_event = false;
    x->depth = 0;
    x->in_garbage = false;
    x->eof = false;
    if (offset == 0) {
        x->head_len = 0;
        x->head_hash = FNV_OFFSET_BASIS;
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Compares buf.data[i, len) with the start of s. Returns 1 when s is there
 * whole, 0 when it is not there, -1 when what there is matches so far but is
 * shorter than s (more data needed).
 */
static int has_prefix(const struct xml_source *x, size_t i, const char *s)
{
    size_t n = strlen(s), have = x->buf.len - i;

    if (have >= n)
        return memcmp(x->buf.data + i, s, n) == 0;
    return memcmp(x->buf.data + i, s, have) == 0 ? -1 : 0;
}

/* Is buf[i] the start of an <Event ...> tag? -1 when more data is needed. */
static int is_event_start(const struct xml_source *x, size_t i)
{
    int r = has_prefix(x, i, "<Event");

    if (r <= 0)
        return r;
    if (i + 6 >= x->buf.len)
        return -1;
    return is_space(x->buf.data[i + 6]) || x->buf.data[i + 6] == '>' || x->buf.data[i + 6] == '/';
}

/* Does the tag buf[i, end) carry the Event XML namespace? */
static bool tag_has_event_namespace(struct xml_source *x, size_t i, size_t end)
{
    const char *p = x->buf.data + i;
    size_t n = end - i, k = strlen(EVENT_NAMESPACE);

    x->work.bytes_examined += n;
    for (size_t j = 0; j + k <= n; j++)
        if (memcmp(p + j, EVENT_NAMESPACE, k) == 0)
            return true;
    return false;
}

static int bad_record(struct xml_source *x, struct mdm_err *err, uint64_t line, uint64_t offset,
                      const char *cause)
{
    return mdm_err_set(err, MDM_EBADRECORD, "%s:%" PRIu64 ": event at byte %" PRIu64 ": %s", x->now,
                       line, offset, cause);
}

/* Results of the scanner, before the event is parsed. */
enum scan_result {
    SCAN_EVENT,     /* buf[event_start, *end) is one <Event> */
    SCAN_NEED_MORE, /* read more and call again */
    SCAN_BAD,       /* err holds an EBADRECORD */
};

/*
 * Classifies the construct at buf[i] == '<' and enters its state. Returns
 * false when more bytes are needed to tell (then nothing changed). The byte
 * after '<' tells most constructs apart at once: '!' a comment, CDATA
 * section or declaration, '?' a processing instruction, 'E' maybe <Event,
 * anything else a tag.
 */
static bool start_construct(struct xml_source *x, size_t i)
{
    const char *d = x->buf.data;
    int r;

    if (i + 1 >= x->buf.len)
        return false;
    if (d[i + 1] == '!') {
        if ((r = has_prefix(x, i, "<!--")) < 0)
            return false;
        if (r > 0) {
            x->lex = LEX_COMMENT;
            x->pos = i + 4;
            x->run = 0;
            goto marked;
        }
        if ((r = has_prefix(x, i, "<![CDATA[")) < 0)
            return false;
        if (r > 0) {
            x->lex = LEX_CDATA;
            x->pos = i + 9;
            x->run = 0;
            goto marked;
        }
        x->lex = LEX_DECL;
        x->pos = i + 2;
        x->quote = 0;
        x->brackets = 0;
        goto marked;
    }
    if (d[i + 1] == '?') {
        x->lex = LEX_PI;
        x->pos = i + 2;
        x->run = 0;
        goto marked;
    }
    r = d[i + 1] == 'E' ? is_event_start(x, i) : 0;
    if (r < 0)
        return false;
    x->lex = LEX_TAG;
    x->tag = r ? TAG_EVENT_START : d[i + 1] == '/' ? TAG_END : TAG_START;
    x->pos = i + 1;
    x->quote = 0;
    x->tag_last = 0;

marked:
    x->work.bytes_examined += x->pos - i;
    x->mark = i;
    x->mark_offset = x->buf_offset + i;
    if (!x->in_event)
        x->mark_line = line_at(x, i);
    return true;
}

/*
 * LEX_COMMENT / LEX_CDATA / LEX_PI: looks for `need` bytes c followed by '>'
 * from pos on. x->run holds how many c ended the part already searched, so
 * that a terminator split between two reads is found without searching
 * anything twice. Returns true with *end just past the '>' when found.
 */
static bool find_terminator(struct xml_source *x, char c, unsigned need, size_t *end)
{
    const char *d = x->buf.data;
    size_t len = x->buf.len, from = x->pos;

    while (from < len) {
        const char *gt = memchr(d + from, '>', len - from);
        size_t j = gt ? (size_t)(gt - d) : len;
        unsigned k = 0;

        x->work.bytes_examined += j - from + (gt ? 1 : 0);
        /* The c bytes just before j (or the end), up to need of them. */
        while (k < need && j - k > from && d[j - k - 1] == c)
            k++;
        if (j - from == k)
            k = k + x->run < need ? k + x->run : need;
        if (gt == NULL) {
            x->run = k;
            x->pos = len;
            return false;
        }
        if (k >= need) {
            *end = j + 1;
            x->pos = j + 1;
            return true;
        }
        x->run = 0;
        from = j + 1;
    }
    x->pos = len;
    return false;
}

/* LEX_DECL: <!DOCTYPE ...> possibly with an internal subset in brackets. */
static bool scan_decl(struct xml_source *x, size_t *end)
{
    const char *d = x->buf.data;

    for (size_t j = x->pos; j < x->buf.len; j++) {
        x->work.bytes_examined++;
        if (x->quote) {
            if (d[j] == x->quote)
                x->quote = 0;
        } else if (d[j] == '"' || d[j] == '\'') {
            x->quote = d[j];
        } else if (d[j] == '[') {
            x->brackets++;
        } else if (d[j] == ']') {
            x->brackets--;
        } else if (d[j] == '>' && x->brackets <= 0) {
            x->pos = *end = j + 1;
            return true;
        }
    }
    x->pos = x->buf.len;
    return false;
}

/* Results of scan_tag(). */
enum tag_end {
    TAG_MORE,   /* not complete in the buffer */
    TAG_DONE,   /* *end is just past the '>'; *empty says "/>" */
    TAG_BROKEN, /* a tag cut short by a '<': pos is that '<' */
};

/*
 * LEX_TAG: a start or end tag, quoted attribute values honoured, so that a
 * '>' inside a value does not end the tag.
 */
static enum tag_end scan_tag(struct xml_source *x, size_t *end, bool *empty)
{
    const char *d = x->buf.data;
    size_t from = x->pos, j;

    for (j = from; j < x->buf.len; j++) {
        char c = d[j];
        /* Most bytes of a tag are none of the four that matter. */
        if (c != '<' && c != '>' && c != '"' && c != '\'')
            continue;
        if (c == '<') {
            /*
             * '<' is not allowed anywhere in a tag, not even in a quoted value
             * (it must be written &lt;): the tag was cut short and new markup
             * starts here.
             */
            x->work.bytes_examined += j - from + 1;
            x->pos = j;
            return TAG_BROKEN;
        }
        if (x->quote) {
            if (c == x->quote)
                x->quote = 0;
        } else if (c == '"' || c == '\'') {
            x->quote = c;
        } else {
            /* '>' outside quotes: the tag ends; "/>" is an empty element. */
            x->work.bytes_examined += j - from + 1;
            *empty = (j > from ? d[j - 1] : x->tag_last) == '/';
            x->pos = *end = j + 1;
            return TAG_DONE;
        }
    }
    x->work.bytes_examined += j - from;
    if (j > from)
        x->tag_last = d[j - 1];
    x->pos = x->buf.len;
    return TAG_MORE;
}

static const char *construct_name(enum lex_state s)
{
    switch (s) {
    case LEX_COMMENT:
        return "unterminated comment (no --> within the 1 MiB limit)";
    case LEX_CDATA:
        return "unterminated CDATA section (no ]]> within the 1 MiB limit)";
    case LEX_PI:
        return "unterminated processing instruction (no ?> within the 1 MiB limit)";
    case LEX_DECL:
        return "unterminated declaration (no > within the 1 MiB limit)";
    default:
        return "unterminated tag (no > within the 1 MiB limit)";
    }
}

/* After damage: everything up to the next "<Event" is skipped quietly. */
static void enter_resync(struct xml_source *x)
{
    x->in_event = false;
    x->lex = LEX_RESYNC;
    x->in_garbage = false;
}

/* LEX_RESYNC: finds the next "<Event" from pos; false when more data is needed. */
static bool resync(struct xml_source *x)
{
    const char *d = x->buf.data;

    while (x->pos < x->buf.len) {
        const char *lt = memchr(d + x->pos, '<', x->buf.len - x->pos);
        if (lt == NULL) {
            x->work.bytes_examined += x->buf.len - x->pos;
            x->pos = x->buf.len;
            break;
        }
        x->work.bytes_examined += (size_t)(lt - d) - x->pos + 1;
        x->pos = (size_t)(lt - d);
        int r = is_event_start(x, x->pos);
        if (r < 0)
            return false;
        if (r > 0) {
            x->lex = LEX_TEXT;
            return true;
        }
        x->pos++;
    }
    return false;
}

/*
 * Cuts the next complete event from pos on. What lies outside events is
 * dropped as it is passed.
 */
static enum scan_result scan(struct xml_source *x, size_t *event_end, struct mdm_err *err)
{
    const char *d;
    size_t end;
    bool empty;

    for (;;) {
        d = x->buf.data;
        switch (x->lex) {
        case LEX_RESYNC:
            if (!resync(x))
                goto need_more;
            continue;
        case LEX_TEXT:
            if (x->in_event) {
                const char *lt = memchr(d + x->pos, '<', x->buf.len - x->pos);
                size_t at = lt ? (size_t)(lt - d) : x->buf.len;
                x->work.bytes_examined += at - x->pos + (lt ? 1 : 0);
                x->pos = at;
                if (lt == NULL)
                    goto need_more;
            } else {
                while (x->pos < x->buf.len && d[x->pos] != '<') {
                    x->work.bytes_examined++;
                    if (!is_space(d[x->pos]) && !x->in_garbage) {
                        uint64_t line = line_at(x, x->pos);
                        uint64_t off = x->buf_offset + x->pos;
                        x->in_garbage = true;
                        x->pos++;
                        drop_before(x, x->pos);
                        bad_record(x, err, line, off, "text outside any <Event> element");
                        return SCAN_BAD;
                    }
                    x->pos++;
                }
                drop_before(x, x->pos);
                if (x->pos >= x->buf.len)
                    goto need_more;
                x->in_garbage = false;
            }
            if (!start_construct(x, x->pos))
                goto need_more;
            if (x->lex == LEX_TAG && x->tag == TAG_EVENT_START && !x->in_event) {
                x->in_event = true;
                x->event_start = x->mark;
                x->event_line = x->mark_line;
                x->depth = 0;
            }
            continue;
        case LEX_COMMENT:
        case LEX_CDATA:
        case LEX_PI:
            if (!find_terminator(x,
                                 x->lex == LEX_COMMENT ? '-'
                                 : x->lex == LEX_CDATA ? ']'
                                                       : '?',
                                 x->lex == LEX_PI ? 1 : 2, &end))
                goto need_more;
            break;
        case LEX_DECL:
            if (!scan_decl(x, &end))
                goto need_more;
            break;
        case LEX_TAG: {
            enum tag_end t = scan_tag(x, &end, &empty);
            if (t == TAG_MORE)
                goto need_more;
            if (t == TAG_BROKEN) {
                x->lex = LEX_TEXT;
                continue;
            }
            if (!x->in_event)
                break;
            if (x->tag == TAG_EVENT_START && x->mark > x->event_start && x->depth > 0 &&
                tag_has_event_namespace(x, x->mark, end)) {
                /* The previous event was cut short; a new one starts here. */
                bad_record(x, err, x->event_line, x->buf_offset + x->event_start,
                           "event is incomplete (the next event starts before its </Event>)");
                x->in_event = false;
                x->lex = LEX_TEXT;
                x->pos = x->mark;
                drop_before(x, x->pos);
                return SCAN_BAD;
            }
            x->lex = LEX_TEXT;
            if (x->tag != TAG_END && !empty) {
                x->depth++;
            } else if (x->tag == TAG_END || x->depth == 0) {
                if (x->tag == TAG_END && x->depth > 0)
                    x->depth--;
                if (x->depth == 0) {
                    *event_end = end;
                    return SCAN_EVENT;
                }
            }
            continue;
        }
        }
        /* A comment, CDATA section, PI, declaration or tag ended at end. */
        x->lex = LEX_TEXT;
        if (!x->in_event)
            drop_before(x, x->pos);
        continue;

    need_more:
        if (x->in_event) {
            if (x->buf.len - x->event_start > MDM_EVENT_XML_MAX) {
                bad_record(x, err, x->event_line, x->buf_offset + x->event_start,
                           "event is larger than the 1 MiB limit; skipped");
                /*
                 * An <Event tag cut by the end of the buffer may start the
                 * next event: the search for "<Event" starts at it. (Not the
                 * event's own start tag: that would never end.)
                 */
                if (x->lex == LEX_TAG && x->tag == TAG_EVENT_START && x->mark > x->event_start)
                    x->pos = x->mark;
                enter_resync(x);
                drop_before(x, x->pos);
                return SCAN_BAD;
            }
            return SCAN_NEED_MORE;
        }
        if (x->lex != LEX_TEXT && x->lex != LEX_RESYNC) {
            /* Outside events nothing of a construct needs keeping. */
            drop_before(x, x->pos);
            if (x->buf_offset + x->pos - x->mark_offset > MDM_EVENT_XML_MAX) {
                bad_record(x, err, x->mark_line, x->mark_offset, construct_name(x->lex));
                enter_resync(x);
                return SCAN_BAD;
            }
        } else if (x->lex == LEX_RESYNC) {
            /* Keep only what may be the start of "<Event". */
            drop_before(x, x->pos);
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
                    x->now);
        return set_fatal(x, err, MDM_EUNSUPPORTED);
    }
    if (x->buf.len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        x->pos = 3;
        drop_before(x, 3);
    }
    x->started = true;
    return 0;
}

/*
 * Opens name as the file being read (follow: it may not exist yet, which is
 * not an error).
 */
static int open_file(struct xml_source *x, const char *name, struct mdm_err *err)
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

/* Feeds the bytes of the file's first HEAD_MAX that a read brought into the fingerprint. */
static void add_to_head(struct xml_source *x, const char *chunk, size_t n, uint64_t at)
{
    if (x->head_len >= HEAD_MAX || at > x->head_len || at + n <= x->head_len)
        return;
    size_t skip = (size_t)(x->head_len - at);
    size_t take = n - skip;
    if (take > HEAD_MAX - x->head_len)
        take = (size_t)(HEAD_MAX - x->head_len);
    x->head_hash = fnv_add(x->head_hash, chunk + skip, take);
    x->head_len += take;
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
    compact(x);
    rc = mdm_buf_add(&x->buf, chunk, n);
    if (rc != 0) {
        /* The scanner never lets the buffer pass one event plus one chunk. */
        mdm_err_set(err, rc, "%s: %s while reading byte %" PRIu64, x->now, mdm_strerror(rc),
                    x->read_offset);
        return set_fatal(x, err, rc);
    }
    add_to_head(x, chunk, n, x->read_offset);
    x->read_offset += n;
    x->work.bytes_read += n;
    if (x->buf.len > x->work.buffer_peak)
        x->work.buffer_peak = x->buf.len;
    if (!x->started)
        return check_bom(x, err) == 0 ? 1 : x->fatal_code;
    return 1;
}

/* Starts over on file name from its start (after a rotation, truncation, or the rotated file). */
static int reopen_from_start(struct xml_source *x, const char *name, struct mdm_err *err)
{
    int rc;

    if (x->fp != NULL)
        fclose(x->fp);
    x->fp = NULL;
    x->in_rotated = false;
    reset_scanner(x, 0);
    x->started = false;
    rc = open_file(x, name, err);
    return rc;
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
    struct mdm_err ignored;

    if (mdm_fs_stat(x->path, &now) != 0)
        return 0; /* gone for now (rotation in progress): keep what we have */
    if (x->fp == NULL) {
        if (open_file(x, x->path, err) != 0 || x->fp == NULL)
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
    if (reopen_from_start(x, x->path, &ignored) != 0 || x->fp == NULL)
        return lost;
    return lost ? lost : 1;
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
        enum scan_result r = scan(x, &end, err);
        if (r == SCAN_BAD)
            return MDM_EBADRECORD;
        if (r == SCAN_EVENT) {
            size_t start = x->event_start;
            uint64_t offset = x->buf_offset + start;
            x->in_event = false;
            rc = mdm_event_parser_parse(x->parser, ev, x->buf.data + start, end - start, err);
            x->pos = end;
            drop_before(x, end);
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
                bad_record(x, err, x->event_line, x->buf_offset + x->event_start,
                           "event is incomplete (the file ends before its </Event>)");
                lost = 1;
            }
            rc = reopen_from_start(x, x->path, lost ? NULL : err);
            if (lost)
                return MDM_EBADRECORD;
            if (rc != 0)
                return rc;
            continue;
        }
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
            x->lex = LEX_TEXT;
            x->pos = x->buf.len;
            drop_before(x, x->pos);
            return bad_record(x, err, x->event_line, off,
                              "event is incomplete (the input ends before its </Event>)");
        }
        if (x->lex != LEX_TEXT && x->lex != LEX_RESYNC) {
            /* An unterminated comment or tag at the very end. */
            x->lex = LEX_TEXT;
            x->pos = x->buf.len;
            drop_before(x, x->pos);
            return bad_record(x, err, x->mark_line, x->mark_offset,
                              "unterminated markup at the end of input");
        }
        if (x->pos < x->buf.len) {
            /* A few bytes that might have started "<Event" or a construct. */
            uint64_t line = line_at(x, x->pos);
            uint64_t off = x->buf_offset + x->pos;
            bool quiet = x->lex == LEX_RESYNC;
            x->pos = x->buf.len;
            drop_before(x, x->pos);
            if (!quiet)
                return bad_record(x, err, line, off, "unterminated markup at the end of input");
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
    reset_scanner(x, 0);
    if (!follow && strcmp(path, "-") == 0) {
        x->fp = stdin;
        x->is_stdin = true;
    } else if (follow && strcmp(path, "-") == 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "xml-follow needs a file name, not standard input");
        goto out;
    } else {
        rc = open_file(x, x->path, err);
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

static int xml_position(struct mdm_source *src, char *buf, size_t size)
{
    struct xml_source *x = impl(src);
    uint64_t at = x->buf_offset + x->pos;
    const char *skip = "";
    int n;

    if (x->in_event)
        at = x->buf_offset + x->event_start;
    else if (x->lex == LEX_RESYNC)
        skip = ";skip=event";
    else if (x->lex != LEX_TEXT)
        at = x->mark_offset; /* the construct is read again from its start */
    else if (x->in_garbage)
        skip = ";skip=text";
    if (x->fp == NULL || x->is_stdin || !x->have_info) {
        snprintf(buf, size, "%" PRIu64 "%s", at, skip);
        return 0;
    }
    n = snprintf(buf, size, "%" PRIu64 "%s;id=%" PRIx64 ":%" PRIx64 ";head=%" PRIu64 ":%016" PRIx64,
                 at, skip, x->info.dev, x->info.ino, x->head_len, x->head_hash);
    if (n < 0 || (size_t)n >= size)
        snprintf(buf, size, "%" PRIu64 "%s", at, skip); /* a caller's short buffer */
    return 0;
}

/* A parsed position string (see the header comment). */
struct xml_position {
    uint64_t offset;
    enum lex_state lex; /* LEX_TEXT or LEX_RESYNC */
    bool in_garbage;
    bool has_id;
    uint64_t dev, ino, head_len, head_hash;
};

static bool parse_u64(const char **p, int base, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;
    char c = **p;
    bool digit = (c >= '0' && c <= '9') ||
                 (base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));

    /* strtoull() alone would take spaces, signs and "0x" too. */
    if (!digit)
        return false;
    errno = 0;
    v = strtoull(*p, &end, base);
    if (errno != 0 || end == *p)
        return false;
    *out = v;
    *p = end;
    return true;
}

static bool parse_position(const char *s, struct xml_position *out)
{
    const char *p = s;
    struct xml_position pos = {0, LEX_TEXT, false, false, 0, 0, 0, 0};
    bool have_head = false;

    if (!parse_u64(&p, 10, &pos.offset))
        return false;
    while (*p == ';') {
        p++;
        if (strncmp(p, "skip=event", 10) == 0) {
            pos.lex = LEX_RESYNC;
            p += 10;
        } else if (strncmp(p, "skip=text", 9) == 0) {
            pos.in_garbage = true;
            p += 9;
        } else if (strncmp(p, "id=", 3) == 0) {
            p += 3;
            if (!parse_u64(&p, 16, &pos.dev) || *p++ != ':' || !parse_u64(&p, 16, &pos.ino))
                return false;
            pos.has_id = true;
        } else if (strncmp(p, "head=", 5) == 0) {
            p += 5;
            if (!parse_u64(&p, 10, &pos.head_len) || *p++ != ':' ||
                !parse_u64(&p, 16, &pos.head_hash) || pos.head_len > HEAD_MAX)
                return false;
            have_head = true;
        } else {
            return false;
        }
        if (*p != '\0' && *p != ';')
            return false;
    }
    if (*p != '\0' || pos.has_id != have_head)
        return false;
    *out = pos;
    return true;
}

/*
 * Hashes the first HEAD_MAX bytes of fp (from its start; the stream is left
 * anywhere): *len_out bytes were there, *all their hash, and *prefix the hash
 * of the first prefix_len of them (when there were that many: *has_prefix).
 */
static int hash_head(FILE *fp, uint64_t prefix_len, uint64_t *len_out, uint64_t *all,
                     uint64_t *prefix, bool *has_prefix)
{
    char head[HEAD_MAX];
    size_t n;

    if (mdm_fs_seek(fp, 0) != 0)
        return MDM_EIO;
    n = fread(head, 1, sizeof(head), fp);
    if (n == 0 && ferror(fp))
        return MDM_EIO;
    clearerr(fp);
    *len_out = n;
    *all = fnv_add(FNV_OFFSET_BASIS, head, n);
    *has_prefix = prefix_len <= n;
    *prefix = *has_prefix ? fnv_add(FNV_OFFSET_BASIS, head, (size_t)prefix_len) : 0;
    return 0;
}

/* A file that may hold the saved position: the followed one or the rotated one. */
struct candidate {
    FILE *fp;
    bool have_info;
    struct mdm_fs_info info;
    uint64_t head_len, head_hash; /* of what is there now, for reading on */
    bool same_id;                 /* device and inode (file index) as saved */
    bool same_head;               /* the saved head is there, the file reaches the offset */
};

static void examine(struct candidate *c, const struct xml_position *pos)
{
    uint64_t prefix = 0;
    bool has_prefix = false;

    c->have_info = mdm_fs_fstat(c->fp, &c->info) == 0;
    c->same_id = c->have_info && c->info.dev == pos->dev && c->info.ino == pos->ino;
    if (hash_head(c->fp, pos->head_len, &c->head_len, &c->head_hash, &prefix, &has_prefix) != 0)
        return;
    c->same_head =
        c->have_info && has_prefix && prefix == pos->head_hash && c->info.size >= pos->offset;
}

/* Goes on reading the candidate's file (name) from the saved position. */
static int resume_in(struct xml_source *x, struct candidate *c, const char *name,
                     const struct xml_position *pos, struct mdm_err *err)
{
    if (mdm_fs_seek(c->fp, pos->offset) != 0)
        return mdm_err_set(err, MDM_EIO, "%s: cannot seek to byte %" PRIu64, name, pos->offset);
    if (x->fp != NULL && x->fp != c->fp)
        fclose(x->fp);
    x->fp = c->fp;
    c->fp = NULL;
    x->now = name;
    x->in_rotated = name == x->rotated_path;
    x->info = c->info;
    x->have_info = c->have_info;
    reset_scanner(x, pos->offset);
    x->head_len = c->head_len;
    x->head_hash = c->head_hash;
    x->lex = pos->lex;
    x->in_garbage = pos->in_garbage;
    x->started = pos->offset > 0;
    return 0;
}

static int xml_seek(struct mdm_source *src, const char *position, struct mdm_err *err)
{
    struct xml_source *x = impl(src);
    struct xml_position pos;
    struct candidate cur = {0}, old = {0};
    const char *why;
    int rc;

    if (!parse_position(position, &pos))
        return mdm_err_set(err, MDM_EINVAL, "%s: invalid resume position \"%.80s\"", x->path,
                           position);
    if (x->is_stdin)
        return mdm_err_set(err, MDM_EUNSUPPORTED, "cannot resume standard input at byte %" PRIu64,
                           pos.offset);
    if (!pos.has_id) {
        /* A bare offset, as older versions saved it: the file is taken on trust. */
        if (x->fp == NULL)
            return 0; /* follow: the file does not exist yet; start at 0 when it does */
        if (x->follow) {
            struct mdm_fs_info now;
            /* A position past the end means the file was replaced while we were stopped. */
            if (mdm_fs_fstat(x->fp, &now) == 0 && pos.offset > now.size)
                pos.offset = 0;
        }
        if (mdm_fs_seek(x->fp, pos.offset) != 0)
            return mdm_err_set(err, MDM_EIO, "%s: cannot seek to byte %" PRIu64, x->path,
                               pos.offset);
        reset_scanner(x, pos.offset);
        x->lex = pos.lex;
        x->in_garbage = pos.in_garbage;
        x->started = pos.offset > 0;
        return 0;
    }

    cur.fp = x->fp;
    if (cur.fp != NULL)
        examine(&cur, &pos);
    if (!(cur.same_id && cur.same_head)) {
        old.fp = mdm_fs_fopen(x->rotated_path, "rb");
        if (old.fp != NULL)
            examine(&old, &pos);
    }
    /*
     * The very file first; then the rotated one; then a file with the same
     * content under another identity (a copy, or a device renumbered).
     */
    if (cur.same_id && cur.same_head)
        rc = resume_in(x, &cur, x->path, &pos, err);
    else if (old.same_id && old.same_head)
        rc = resume_in(x, &old, x->rotated_path, &pos, err);
    else if (cur.same_head)
        rc = resume_in(x, &cur, x->path, &pos, err);
    else if (old.same_head)
        rc = resume_in(x, &old, x->rotated_path, &pos, err);
    else
        rc = 1;
    if (old.fp != NULL)
        fclose(old.fp);
    if (rc <= 0)
        return rc;

    /* Nothing holds the saved position: read the file from its start and say so once. */
    if (cur.fp == NULL)
        why = "does not exist";
    else if (cur.same_id && cur.info.size < pos.offset)
        why = "was truncated";
    else if (cur.same_id)
        why = "was rewritten (its first bytes changed)";
    else
        why = "is another file (rotated or replaced)";
    snprintf(x->note, sizeof(x->note),
             "%s: while the agent was stopped the file %s, and the file read before (at byte "
             "%" PRIu64 ") is not %s either; events written to it after that byte may have "
             "been lost; reading %s from its start",
             x->path, why, pos.offset, x->rotated_path, x->path);
    x->have_note = true;
    if (x->fp != NULL && mdm_fs_seek(x->fp, 0) != 0)
        return mdm_err_set(err, MDM_EIO, "%s: cannot seek to byte 0", x->path);
    reset_scanner(x, 0);
    x->started = false;
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
    "xml", xml_open, xml_next, xml_wait, xml_pollfd, xml_position, xml_seek, xml_close,
};

const struct mdm_source_ops mdm_source_xml_follow_ops = {
    "xml-follow", xml_follow_open, xml_next, xml_wait,
    xml_pollfd,   xml_position,    xml_seek, xml_close,
};

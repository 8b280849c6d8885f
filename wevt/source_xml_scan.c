/*
 * source_xml_scan.c - the lexer of the "xml" and "xml-follow" sources: it cuts
 * the byte stream into single <Event> elements (see source_xml.c).
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
 */
#include "wevt/source_xml_impl.h"

#include <inttypes.h>
#include <string.h>

/* Advances the line counter to index i (monotonic within one buffer fill). */
uint64_t mdm_xml_line_at(struct xml_source *x, size_t i)
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
void mdm_xml_drop_before(struct xml_source *x, size_t n)
{
    if (n <= x->live)
        return;
    mdm_xml_line_at(x, n);
    x->live = n;
}

/* Moves the bytes still needed to the front of the buffer before a read. */
void mdm_xml_compact(struct xml_source *x)
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

void mdm_xml_reset_scanner(struct xml_source *x, uint64_t offset)
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

int mdm_xml_bad_record(struct xml_source *x, struct mdm_err *err, uint64_t line, uint64_t offset,
                       const char *cause)
{
    return mdm_err_set(err, MDM_EBADRECORD, "%s:%" PRIu64 ": event at byte %" PRIu64 ": %s", x->now,
                       line, offset, cause);
}

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
        x->mark_line = mdm_xml_line_at(x, i);
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
        char c;
        /*
         * Most bytes of a tag are none of the four that matter: strcspn()
         * skips them many at a time. It stops at a NUL too (the buffer ends
         * with one), which is data like any other byte here.
         */
        j += strcspn(d + j, "<>\"'");
        if (j >= x->buf.len)
            break;
        c = d[j];
        if (c == '\0')
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
enum scan_result mdm_xml_scan(struct xml_source *x, size_t *event_end, struct mdm_err *err)
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
                        uint64_t line = mdm_xml_line_at(x, x->pos);
                        uint64_t off = x->buf_offset + x->pos;
                        x->in_garbage = true;
                        x->pos++;
                        mdm_xml_drop_before(x, x->pos);
                        mdm_xml_bad_record(x, err, line, off, "text outside any <Event> element");
                        return SCAN_BAD;
                    }
                    x->pos++;
                }
                mdm_xml_drop_before(x, x->pos);
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
                mdm_xml_bad_record(
                    x, err, x->event_line, x->buf_offset + x->event_start,
                    "event is incomplete (the next event starts before its </Event>)");
                x->in_event = false;
                x->lex = LEX_TEXT;
                x->pos = x->mark;
                mdm_xml_drop_before(x, x->pos);
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
            mdm_xml_drop_before(x, x->pos);
        continue;

    need_more:
        if (x->in_event) {
            if (x->buf.len - x->event_start > MDM_EVENT_XML_MAX) {
                mdm_xml_bad_record(x, err, x->event_line, x->buf_offset + x->event_start,
                                   "event is larger than the 1 MiB limit; skipped");
                /*
                 * An <Event tag cut by the end of the buffer may start the
                 * next event: the search for "<Event" starts at it. (Not the
                 * event's own start tag: that would never end.)
                 */
                if (x->lex == LEX_TAG && x->tag == TAG_EVENT_START && x->mark > x->event_start)
                    x->pos = x->mark;
                enter_resync(x);
                mdm_xml_drop_before(x, x->pos);
                return SCAN_BAD;
            }
            return SCAN_NEED_MORE;
        }
        if (x->lex != LEX_TEXT && x->lex != LEX_RESYNC) {
            /* Outside events nothing of a construct needs keeping. */
            mdm_xml_drop_before(x, x->pos);
            if (x->buf_offset + x->pos - x->mark_offset > MDM_EVENT_XML_MAX) {
                mdm_xml_bad_record(x, err, x->mark_line, x->mark_offset, construct_name(x->lex));
                enter_resync(x);
                return SCAN_BAD;
            }
        } else if (x->lex == LEX_RESYNC) {
            /* Keep only what may be the start of "<Event". */
            mdm_xml_drop_before(x, x->pos);
        }
        return SCAN_NEED_MORE;
    }
}

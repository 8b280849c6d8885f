/*
 * source_xml_impl.h - what the three files of the "xml" and "xml-follow"
 * sources share (private to them): the source's state and the functions one
 * file calls in another. source_xml.c describes the source.
 */
#ifndef MDM_SOURCE_XML_IMPL_H
#define MDM_SOURCE_XML_IMPL_H

#include "wevt/source_impl.h"

#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_fs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

static inline struct xml_source *impl(struct mdm_source *src)
{
    return src->impl;
}

/* Results of the scanner, before the event is parsed. */
enum scan_result {
    SCAN_EVENT,     /* buf[event_start, *end) is one <Event> */
    SCAN_NEED_MORE, /* read more and call again */
    SCAN_BAD,       /* err holds an EBADRECORD */
};

/* source_xml_scan.c */

/* Cuts the next complete event from pos on; what lies outside events is dropped as it is passed. */
enum scan_result mdm_xml_scan(struct xml_source *x, size_t *event_end, struct mdm_err *err);
/* Starts the lexer over at file offset offset (0: the head fingerprint too). */
void mdm_xml_reset_scanner(struct xml_source *x, uint64_t offset);
/* Moves the bytes still needed to the front of the buffer before a read. */
void mdm_xml_compact(struct xml_source *x);
/* Marks buf.data[0, n) as dealt with; it is dropped at the next read. */
void mdm_xml_drop_before(struct xml_source *x, size_t n);
/* The line of buf.data[i] (i never goes back within one buffer fill). */
uint64_t mdm_xml_line_at(struct xml_source *x, size_t i);
/* Sets err to an MDM_EBADRECORD naming the file, line and offset; returns the code. */
int mdm_xml_bad_record(struct xml_source *x, struct mdm_err *err, uint64_t line, uint64_t offset,
                       const char *cause);

/* source_xml_follow.c */

/* Feeds the bytes of the file's first HEAD_MAX that a read brought into the fingerprint. */
void mdm_xml_add_to_head(struct xml_source *x, const char *chunk, size_t n, uint64_t at);
/* Starts over on file name from its start. */
int mdm_xml_reopen_from_start(struct xml_source *x, const char *name, struct mdm_err *err);
/* xml-follow at the end of the data: 1 switched file, 0 nothing changed, -1 an event was lost. */
int mdm_xml_follow_check_file(struct xml_source *x, struct mdm_err *err);
/* The source operations position and seek (see the position format in source_xml_follow.c). */
int mdm_xml_position(struct mdm_source *src, char *buf, size_t size);
int mdm_xml_seek(struct mdm_source *src, const char *position, struct mdm_err *err);

/* source_xml.c */

/* Opens name as the file being read (follow: a file that does not exist yet is no error). */
int mdm_xml_open_file(struct xml_source *x, const char *name, struct mdm_err *err);

#endif

/*
 * source.h - event sources behind one small ops table.
 *
 * A source yields events one at a time. Portable kinds: "xml" (a file or
 * stdin with one or many <Event> documents, concatenated as `wevtutil qe
 * /f:xml` prints them or wrapped in any root element), "xml-follow" (a growing
 * file, woken by inotify), and "evtx" (an exported .evtx read through
 * libevtx). The Windows source, "channel" (EvtSubscribe on a live event log
 * channel, source_channel_win.c), plugs into the same table; elsewhere
 * source_channel_posix.c says it is Windows only.
 */
#ifndef MDM_SOURCE_H
#define MDM_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "wevt/event.h"
#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mdm_source_kind {
    MDM_SOURCE_XML,
    MDM_SOURCE_XML_FOLLOW,
    MDM_SOURCE_EVTX,
    MDM_SOURCE_CHANNEL, /* a live Windows event log channel (EvtSubscribe); Windows only */
};

struct mdm_source;

/*
 * Room for any position string: "record-id:N" (evtx, channel), or an XML
 * source's offset with the file's identity (source_xml.c, under 100 bytes).
 */
#define MDM_SOURCE_POSITION_MAX 128

struct mdm_source_ops {
    const char *name;
    int (*open)(struct mdm_source *src, const char *path, struct mdm_err *err);
    int (*next)(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err);
    int (*wait)(struct mdm_source *src, int timeout_ms);
    int (*pollfd)(struct mdm_source *src);
    int (*position)(struct mdm_source *src, char *buf, size_t size);
    int (*seek)(struct mdm_source *src, const char *position, struct mdm_err *err);
    void (*close)(struct mdm_source *src);
};

struct mdm_source {
    const struct mdm_source_ops *ops;
    enum mdm_source_kind kind;
    char *path; /* as given; "-" is stdin */
    void *impl; /* backend state */
};

/* Parses "xml", "xml-follow" or "evtx"; MDM_EINVAL otherwise. */
int mdm_source_kind_parse(const char *name, enum mdm_source_kind *out);
/*
 * Picks the kind of a replay input into *out, by its first bytes first:
 * evtx for the .evtx signature ("ElfFile"), xml for XML text ('<' after an
 * optional UTF-8 byte order mark and blanks), whatever the name; otherwise
 * by the name: ".evtx" (any case) is evtx (its source's open then says what
 * is wrong with it), anything else xml, '-' (standard input) included. A Windows
 * Server 2003 event log (.evt: "LfLe" at offset 4) is MDM_EUNSUPPORTED, err
 * saying how to convert it. Returns 0 or that code.
 */
int mdm_source_kind_guess(const char *path, enum mdm_source_kind *out, struct mdm_err *err);

/*
 * Opens a source. On success *out is owned by the caller (mdm_source_close).
 * Errors name the path and the cause.
 */
int mdm_source_open(struct mdm_source **out, enum mdm_source_kind kind, const char *path,
                    struct mdm_err *err);

/*
 * Reads the next event into ev (reset first by the source). Returns:
 *   0               an event is in ev (ev->origin / offset / line are set);
 *   MDM_EOF         the input is exhausted (never for xml-follow);
 *   MDM_EAGAIN      xml-follow only: no complete event yet, wait and retry;
 *   MDM_EBADRECORD  one record was damaged and skipped; err names the file,
 *                   the position and the cause; call again for the next one;
 *   other negative  the source cannot go on (err says why).
 */
int mdm_source_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err);

/*
 * Blocks until the source may have more data or timeout_ms passes (-1 = no
 * limit). For xml-follow this waits on inotify; other kinds return at once.
 * Returns 0, or a negative code on failure.
 */
int mdm_source_wait(struct mdm_source *src, int timeout_ms);

/* A descriptor that becomes readable when the source has news, or -1. */
int mdm_source_pollfd(struct mdm_source *src);

/*
 * Writes an opaque resume position (after the last event returned) into buf:
 * for XML sources a byte offset with the identity of the file it belongs to
 * (format in source_xml.c), "record-id:N" (the last EventRecordID) for evtx.
 * Returns 0.
 */
int mdm_source_position(struct mdm_source *src, char *buf, size_t size);
/* Continues after a position returned by mdm_source_position(). */
int mdm_source_seek(struct mdm_source *src, const char *position, struct mdm_err *err);

/*
 * The work an xml or xml-follow source has done so far, for the tests and
 * benchmarks that check that the scanner's cost stays linear in its input:
 *   bytes_read      bytes read from files;
 *   bytes_examined  bytes the scanner looked at (a byte looked at twice
 *                   counts twice);
 *   bytes_moved     bytes moved to compact the buffer;
 *   buffer_peak     the most bytes ever held in the buffer at once.
 * All zero for the other kinds of source.
 */
struct mdm_source_scan_work {
    uint64_t bytes_read;
    uint64_t bytes_examined;
    uint64_t bytes_moved;
    uint64_t buffer_peak;
};
void mdm_source_scan_work(struct mdm_source *src, struct mdm_source_scan_work *out);

/* Closes the source and frees it; NULL is allowed. */
void mdm_source_close(struct mdm_source *src);

/*
 * Counters of the "channel" source, over every channel source of the process
 * (0 where there is no Windows Event Log):
 *   resubscriptions  subscriptions renewed to recover: a stale bookmark (log
 *                    cleared or wrapped: resubscribed from the oldest record),
 *                    a failed read (Event Log service restarted), or a batch
 *                    too large for one RPC reply (RPC_S_INVALID_BOUND:
 *                    resubscribed after the last event with half the batch);
 *   render failures  events whose message could not be formatted; they were
 *                    kept and described by their insertion strings.
 */
uint64_t mdm_source_channel_resubscriptions(void);
uint64_t mdm_source_channel_render_failures(void);

#ifdef __cplusplus
}
#endif

#endif

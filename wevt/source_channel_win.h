/*
 * source_channel_win.h - the state of a "channel" source shared by
 * source_channel_win.c (subscription, batches, waking) and
 * source_channel_render_win.c (an event handle to Event XML with its
 * message). Private to those two files; the behaviour is described at the
 * top of source_channel_win.c.
 */
#ifndef MDM_SOURCE_CHANNEL_WIN_H
#define MDM_SOURCE_CHANNEL_WIN_H

#include <winsock2.h>
#include <windows.h>
#include <winevt.h>

#include "wevt/source_impl.h"

#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_wakeup.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Event handles taken from the subscription per EvtNext call (at most). */
#define CHANNEL_BATCH 16
/* Full batches at a halved size before the batch doubles again, first and at most. */
#define CHANNEL_GROW_AFTER     32u
#define CHANNEL_GROW_AFTER_MAX 4096u

/* Windows limits channel and computer names well below these caps. */
#define CHANNEL_NAME_MAX  255
#define COMPUTER_NAME_MAX 255

/* Publisher metadata handles kept open, and the longest provider name looked up. */
#define PUBLISHER_CACHE_MAX 8
#define PUBLISHER_NAME_MAX  256
/* A publisher whose metadata could not be opened is not asked again before this. */
#define PUBLISHER_RETRY_MS 60000

/* The System values of one event (EvtRenderContextSystem) never need more than this. */
#define VALUES_MAX (64u * 1024u)
/* A formatted message longer than this (in UTF-16 units) is not added. */
#define MESSAGE_MAX MDM_EVENT_FIELD_MAX
/* The rendered Event XML in bytes of UTF-16: anything longer is over MDM_EVENT_XML_MAX in UTF-8. */
#define RENDER_MAX ((MDM_EVENT_XML_MAX + 1u) * sizeof(WCHAR))

struct publisher {
    WCHAR name[PUBLISHER_NAME_MAX];
    EVT_HANDLE meta;     /* NULL when opening failed */
    ULONGLONG failed_at; /* GetTickCount64() of that failure */
    bool used;
};

struct channel_source {
    const char *origin;  /* the path as given, owned by struct mdm_source */
    WCHAR *channel;      /* the channel name, owned */
    WCHAR *computer;     /* the remote computer, or NULL (local); owned */
    char *channel_utf8;  /* the channel name for bookmarks and messages, owned */
    char *computer_utf8; /* the remote computer for messages, or NULL; owned */
    EVT_HANDLE session;  /* remote session, or NULL for the local computer */
    EVT_HANDLE subscription;
    EVT_HANDLE system_ctx; /* EvtRenderContextSystem, or NULL when unavailable */
    HANDLE signal;         /* manual-reset event the service sets when results exist */

    EVT_HANDLE pending[CHANNEL_BATCH]; /* handles from the last EvtNext */
    DWORD pending_len, pending_next;

    /* The batch asked of EvtNext, halved on RPC_S_INVALID_BOUND (see the top). */
    DWORD batch;      /* 1 .. CHANNEL_BATCH */
    DWORD full_count; /* full batches at this size since it last changed */
    DWORD grow_after; /* full batches at a reduced size before it doubles */
    bool grown;       /* the size was reached by doubling, not by halving */

    struct publisher publishers[PUBLISHER_CACHE_MAX];
    size_t publisher_next; /* round-robin victim when the cache is full */

    uint64_t last_record; /* EventRecordID of the last event returned */
    bool have_last;
    uint64_t resume_after; /* the bookmark record of the last seek */
    bool resume;

    /* A resubscription to report through the next mdm_source_next() call. */
    bool notice_pending;
    char notice[MDM_ERR_MSG_MAX];

    /* Buffers reused from event to event, each with a hard cap. */
    void *values; /* EvtRenderEventValues output, up to VALUES_MAX bytes */
    DWORD values_size;
    WCHAR *render; /* EvtRenderEventXml output, up to RENDER_MAX bytes */
    DWORD render_size;
    WCHAR *message; /* EvtFormatMessage output, up to MESSAGE_MAX units */
    DWORD message_size;
    char *utf8; /* the event as UTF-8, up to MDM_EVENT_XML_MAX + 1 bytes */
    size_t utf8_size;
    struct mdm_buf xml;                       /* the event with its message added */
    char culture[LOCALE_NAME_MAX_LENGTH * 3]; /* RenderingInfo/@Culture */

    /* The watcher thread behind mdm_source_pollfd(). */
    struct mdm_wakeup *wake;
    HANDLE watcher;
    HANDLE stop; /* manual-reset event that ends the watcher */
};

/* In source_channel_win.c. */

/* The system's text for a Windows error code (win_util), returned for use in a message. */
const char *channel_win_error_text(DWORD code, char *buf, size_t size);

/*
 * Appends s (len bytes of UTF-8) to buf, escaped for XML text or a quoted
 * attribute value. Control characters that XML 1.0 does not allow are
 * replaced by spaces, so that a message can never make the event unreadable.
 */
int channel_xml_escape(struct mdm_buf *buf, const char *s, size_t len);

/* In source_channel_render_win.c. */

/*
 * Renders one event handle into ev. Returns 0, MDM_EBADRECORD (err names the
 * channel and the record) or MDM_ENOMEM.
 */
int channel_render_event(struct channel_source *c, EVT_HANDLE event, struct mdm_event *ev,
                         struct mdm_err *err);

#endif

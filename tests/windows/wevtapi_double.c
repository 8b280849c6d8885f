/*
 * wevtapi_double.c - a TEST DOUBLE standing in for Windows' wevtapi.dll.
 *
 * Wine's EvtSubscribe and EvtQuery are stubs that return NULL, so the
 * "channel" source (wevt/source_channel_win.c) cannot be run against Wine's
 * own wevtapi. This DLL implements the part of the Windows Event Log API that
 * the source uses, with the real signatures of <winevt.h>, over a file of
 * Event XML. It is built as wevtapi.dll next to the test programs and loaded
 * instead of Wine's built-in DLL with WINEDLLOVERRIDES=wevtapi=n (Wine looks
 * in the directory of the .exe first). Everything else (kernel32 events and
 * threads, Winsock, the C runtime) is Wine's real implementation.
 *
 * The event log is the file named by MDM_WEVTAPI_DOUBLE_FILE: concatenated
 * <Event> elements in UTF-8, in record order, as `wevtutil qe /f:xml` prints
 * them. The file is read again on every call, so a test appends events while
 * a program is subscribed. The only channel is MDM_WEVTAPI_DOUBLE_CHANNEL
 * (default "Mobile Device Manager"); any other fails with
 * ERROR_EVT_CHANNEL_NOT_FOUND.
 *
 * Remote computers. A subscription through a session to server X reads
 * MDM_WEVTAPI_DOUBLE_FILE + "." + X (e.g. "events.xml.DM02.contoso.com")
 * when that file exists, and the file itself otherwise, so that a test gives
 * each remote computer a log of its own. When MDM_WEVTAPI_DOUBLE_UNREACHABLE
 * names server X, EvtSubscribe through a session to X fails with
 * RPC_S_SERVER_UNAVAILABLE, as Windows does when the computer cannot be
 * reached (EvtOpenSession itself connects lazily and succeeds).
 *
 * What the double does:
 *   EvtSubscribe      pull model only (a signal event, no callback). A thread
 *                     reads the file every 100 ms and sets the signal event
 *                     when events beyond those already signalled exist.
 *                     EvtSubscribeStartAfterBookmark + EvtSubscribeStrict with
 *                     a bookmark whose RecordId is not in the file fails with
 *                     ERROR_NOT_FOUND (the stale-bookmark path).
 *   EvtNext           up to the requested number of event handles, or
 *                     ERROR_NO_MORE_ITEMS. When the file holds fewer events
 *                     than the subscription has returned (the log was
 *                     cleared), it fails with ERROR_EVT_QUERY_RESULT_STALE.
 *   EvtRender         EvtRenderEventXml (the event's text as UTF-16),
 *                     EvtRenderBookmark, and EvtRenderEventValues with an
 *                     EvtRenderContextSystem context (ProviderName, EventID,
 *                     EventRecordId, Channel, Computer; the rest is null).
 *   EvtFormatMessage  EvtFormatMessageEvent returns the text of the event's
 *                     <Data Name='MdmDoubleMessage'> element, and fails with
 *                     ERROR_EVT_MESSAGE_NOT_FOUND when there is none: a test
 *                     decides per event whether formatting succeeds.
 *   EvtOpenSession    EvtRpcLogin with any server name (recorded).
 *   EvtCreateBookmark, EvtUpdateBookmark, EvtCreateRenderContext,
 *   EvtOpenPublisherMetadata, EvtClose, EvtGetExtendedStatus; EvtQuery,
 *   EvtSeek, EvtCancel, EvtOpenLog and EvtGetLogInfo fail with
 *   ERROR_NOT_SUPPORTED.
 *
 * With MDM_WEVTAPI_DOUBLE_NO_CONTEXT set, EvtCreateRenderContext fails, so
 * that a test sees a caller get by without the System values.
 *
 * With MDM_WEVTAPI_DOUBLE_INVALID_BOUND=K, EvtNext fails with
 * RPC_S_INVALID_BOUND (1734) whenever it would return more than K events
 * (K = 0: any event), as Windows does when a batch does not fit in one RPC
 * reply. The events of
 * the failed batch are gone from that subscription (its cursor moves past
 * them), so a caller that merely asked the same subscription again with a
 * smaller batch would skip them; only a new subscription after the last
 * event it handed out (the bookmark) gets them. The failure is traced as
 * "EvtNext count=N fails RPC_S_INVALID_BOUND", and every EvtNext that
 * returns events as "EvtNext count=N returned=M".
 *
 * When MDM_WEVTAPI_DOUBLE_TRACE names a file, the calls that a test may want
 * to check (sessions, subscriptions with their flags and bookmark, publisher
 * metadata opened) are appended to it, one line each.
 */
#include <windows.h>
#include <winevt.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOUBLE_MAGIC           0x4d444d44u /* "MDMD" */
#define DOUBLE_FILE_MAX        (64u * 1024u * 1024u)
#define DOUBLE_EVENTS_MAX      100000u
#define DOUBLE_NAME_MAX        256
#define DOUBLE_POLL_MS         100
#define DOUBLE_DEFAULT_CHANNEL "Mobile Device Manager"

enum kind {
    KIND_SESSION,
    KIND_SUBSCRIPTION,
    KIND_EVENT,
    KIND_BOOKMARK,
    KIND_CONTEXT,
    KIND_PUBLISHER
};

struct object {
    DWORD magic;
    enum kind kind;
};

struct session {
    struct object h;
    char server[DOUBLE_NAME_MAX];
};

struct subscription {
    struct object h;
    CRITICAL_SECTION lock;
    HANDLE signal;                /* the caller's event */
    char server[DOUBLE_NAME_MAX]; /* "" for this computer */
    size_t cursor;                /* events of the file already returned by EvtNext */
    size_t signalled;             /* events of the file the signal was set for */
    bool stale_signalled;         /* the signal was set for a file shorter than the cursor */
    HANDLE thread;
    volatile LONG stop;
};

struct event {
    struct object h;
    char *xml; /* UTF-8, NUL-terminated, owned */
    unsigned long long record_id;
};

struct bookmark {
    struct object h;
    char channel[DOUBLE_NAME_MAX];
    unsigned long long record_id;
    bool has_record;
};

struct context {
    struct object h;
    DWORD flags;
};

struct publisher {
    struct object h;
    char name[DOUBLE_NAME_MAX];
};

/* The events of the file: offsets into text. */
struct log {
    char *text;
    size_t count;
    size_t *start, *len;
    unsigned long long *record_id;
};

static void *new_object(size_t size, enum kind kind)
{
    struct object *o = calloc(1, size);

    if (o == NULL) {
        SetLastError(ERROR_OUTOFMEMORY);
        return NULL;
    }
    o->magic = DOUBLE_MAGIC;
    o->kind = kind;
    return o;
}

/* The object behind handle h when it is of the given kind, else NULL (and ERROR_INVALID_HANDLE). */
static void *object_of(EVT_HANDLE h, enum kind kind)
{
    struct object *o = h;

    if (o == NULL || o->magic != DOUBLE_MAGIC || o->kind != kind) {
        SetLastError(ERROR_INVALID_HANDLE);
        return NULL;
    }
    return o;
}

/* Reads an environment variable into buf; "" when unset. */
static const char *env(const char *name, char *buf, DWORD size)
{
    DWORD n = GetEnvironmentVariableA(name, buf, size);

    if (n == 0 || n >= size)
        buf[0] = '\0';
    return buf;
}

static void trace(const char *fmt, ...)
{
    char path[MAX_PATH];
    va_list ap;
    FILE *fp;

    if (env("MDM_WEVTAPI_DOUBLE_TRACE", path, sizeof(path))[0] == '\0')
        return;
    fp = fopen(path, "a");
    if (fp == NULL)
        return;
    va_start(ap, fmt);
    vfprintf(fp, fmt, ap);
    va_end(ap);
    fputc('\n', fp);
    fclose(fp);
}

/* Converts UTF-16 to UTF-8 into buf (size bytes); "" when it does not fit. */
static void narrow(const WCHAR *w, char *buf, int size)
{
    if (w == NULL || WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, size, NULL, NULL) <= 0)
        buf[0] = '\0';
}

static void log_free(struct log *log)
{
    free(log->text);
    free(log->start);
    free(log->len);
    free(log->record_id);
    memset(log, 0, sizeof(*log));
}

/* Finds the text of <name>...</name> inside [p, end); copies it into buf. */
static bool element_text(const char *p, const char *end, const char *name, char *buf, size_t size)
{
    char open[64], close[64];
    const char *a, *b;
    size_t n;

    snprintf(open, sizeof(open), "<%s>", name);
    snprintf(close, sizeof(close), "</%s>", name);
    a = strstr(p, open);
    if (a == NULL || a >= end)
        return false;
    a += strlen(open);
    b = strstr(a, close);
    if (b == NULL || b > end)
        return false;
    n = (size_t)(b - a);
    if (n >= size)
        n = size - 1;
    memcpy(buf, a, n);
    buf[n] = '\0';
    return true;
}

/*
 * Reads the events file of server ("" for this computer). A last event still
 * being written is left out.
 */
static bool log_load(struct log *log, const char *server)
{
    char path[MAX_PATH], own[MAX_PATH + DOUBLE_NAME_MAX + 1];
    const char *p;
    size_t size = 0, cap = 0;
    FILE *fp = NULL;

    memset(log, 0, sizeof(*log));
    if (env("MDM_WEVTAPI_DOUBLE_FILE", path, sizeof(path))[0] == '\0')
        return false;
    if (server[0] != '\0' &&
        (size_t)snprintf(own, sizeof(own), "%s.%s", path, server) < sizeof(own))
        fp = fopen(own, "rb");
    if (fp == NULL)
        fp = fopen(path, "rb");
    if (fp == NULL)
        return false;
    for (;;) {
        size_t n;
        if (size + 65536 + 1 > cap) {
            char *bigger;
            cap = cap ? cap * 2 : 65536 * 2;
            if (cap > DOUBLE_FILE_MAX + 65536 + 1)
                break;
            bigger = realloc(log->text, cap);
            if (bigger == NULL)
                break;
            log->text = bigger;
        }
        n = fread(log->text + size, 1, 65536, fp);
        size += n;
        if (n == 0)
            break;
    }
    fclose(fp);
    if (log->text == NULL)
        return false;
    log->text[size] = '\0';

    p = log->text;
    while (log->count < DOUBLE_EVENTS_MAX) {
        const char *start = strstr(p, "<Event");
        const char *end;
        char id[32];
        if (start == NULL)
            break;
        if (start[6] != ' ' && start[6] != '>' && start[6] != '\t' && start[6] != '\r' &&
            start[6] != '\n') {
            p = start + 6; /* <EventData>, <EventID>... */
            continue;
        }
        end = strstr(start, "</Event>");
        if (end == NULL)
            break;
        end += 8;
        if (log->count % 64 == 0) {
            size_t n = log->count + 64;
            size_t *s = realloc(log->start, n * sizeof(*s));
            size_t *l = s ? realloc(log->len, n * sizeof(*l)) : NULL;
            unsigned long long *r = l ? realloc(log->record_id, n * sizeof(*r)) : NULL;
            if (s)
                log->start = s;
            if (l)
                log->len = l;
            if (r == NULL)
                break;
            log->record_id = r;
        }
        log->start[log->count] = (size_t)(start - log->text);
        log->len[log->count] = (size_t)(end - start);
        log->record_id[log->count] =
            element_text(start, end, "EventRecordID", id, sizeof(id)) ? strtoull(id, NULL, 10) : 0;
        log->count++;
        p = end;
    }
    return true;
}

static size_t log_count(const char *server)
{
    struct log log;
    size_t n;

    log_load(&log, server);
    n = log.count;
    log_free(&log);
    return n;
}

static bool expected_channel(const char *channel)
{
    char want[DOUBLE_NAME_MAX];

    if (env("MDM_WEVTAPI_DOUBLE_CHANNEL", want, sizeof(want))[0] == '\0')
        snprintf(want, sizeof(want), "%s", DOUBLE_DEFAULT_CHANNEL);
    return CompareStringA(LOCALE_INVARIANT, NORM_IGNORECASE, want, -1, channel, -1) == CSTR_EQUAL;
}

static DWORD WINAPI poller(LPVOID arg)
{
    struct subscription *s = arg;

    while (!InterlockedCompareExchange(&s->stop, 0, 0)) {
        size_t count = log_count(s->server);
        EnterCriticalSection(&s->lock);
        if (count > s->cursor && count > s->signalled) {
            s->signalled = count;
            SetEvent(s->signal);
        } else if (count < s->cursor && !s->stale_signalled) {
            /* The log was cleared: wake the reader, whose EvtNext will fail. */
            s->stale_signalled = true;
            SetEvent(s->signal);
        }
        LeaveCriticalSection(&s->lock);
        Sleep(DOUBLE_POLL_MS);
    }
    return 0;
}

EVT_HANDLE WINAPI EvtSubscribe(EVT_HANDLE Session, HANDLE SignalEvent, LPCWSTR ChannelPath,
                               LPCWSTR Query, EVT_HANDLE Bookmark, PVOID context,
                               EVT_SUBSCRIBE_CALLBACK Callback, DWORD Flags)
{
    struct session *session = NULL;
    struct bookmark *bookmark = NULL;
    struct subscription *s;
    char channel[DOUBLE_NAME_MAX], query[DOUBLE_NAME_MAX];
    struct log log;
    DWORD origin = Flags & EvtSubscribeOriginMask;

    (void)context;
    narrow(ChannelPath, channel, sizeof(channel));
    narrow(Query, query, sizeof(query));
    if (Session != NULL && (session = object_of(Session, KIND_SESSION)) == NULL)
        return NULL;
    if (Bookmark != NULL && (bookmark = object_of(Bookmark, KIND_BOOKMARK)) == NULL)
        return NULL;
    trace("EvtSubscribe channel=%s query=%s flags=0x%lx bookmark=%s%llu session=%s", channel, query,
          (unsigned long)Flags,
          bookmark && bookmark->has_record ? "" : "none:", bookmark ? bookmark->record_id : 0ull,
          session ? session->server : "local");
    if (Callback != NULL || SignalEvent == NULL || ChannelPath == NULL) {
        SetLastError(ERROR_NOT_SUPPORTED); /* the double knows the pull model only */
        return NULL;
    }
    if (session != NULL) {
        char unreachable[DOUBLE_NAME_MAX];
        if (env("MDM_WEVTAPI_DOUBLE_UNREACHABLE", unreachable, sizeof(unreachable))[0] != '\0' &&
            CompareStringA(LOCALE_INVARIANT, NORM_IGNORECASE, unreachable, -1, session->server,
                           -1) == CSTR_EQUAL) {
            SetLastError(RPC_S_SERVER_UNAVAILABLE);
            return NULL;
        }
    }
    if (!expected_channel(channel)) {
        SetLastError(ERROR_EVT_CHANNEL_NOT_FOUND);
        return NULL;
    }
    s = new_object(sizeof(*s), KIND_SUBSCRIPTION);
    if (s == NULL)
        return NULL;
    if (session != NULL)
        snprintf(s->server, sizeof(s->server), "%s", session->server);
    log_load(&log, s->server);
    if (origin == EvtSubscribeToFutureEvents) {
        s->cursor = log.count;
    } else if (origin == EvtSubscribeStartAfterBookmark) {
        bool found = false;
        if (bookmark == NULL) {
            log_free(&log);
            free(s);
            SetLastError(ERROR_INVALID_PARAMETER);
            return NULL;
        }
        for (size_t i = 0; i < log.count; i++) {
            if (bookmark->has_record && log.record_id[i] == bookmark->record_id) {
                s->cursor = i + 1;
                found = true;
                break;
            }
        }
        if (!found && (Flags & EvtSubscribeStrict)) {
            log_free(&log);
            free(s);
            SetLastError(ERROR_NOT_FOUND);
            return NULL;
        }
    }
    log_free(&log);
    s->signalled = s->cursor;
    s->signal = SignalEvent;
    InitializeCriticalSection(&s->lock);
    s->thread = CreateThread(NULL, 0, poller, s, 0, NULL);
    if (s->thread == NULL) {
        DWORD e = GetLastError();
        DeleteCriticalSection(&s->lock);
        free(s);
        SetLastError(e);
        return NULL;
    }
    return s;
}

WINBOOL WINAPI EvtNext(EVT_HANDLE ResultSet, DWORD EventArraySize, EVT_HANDLE *EventArray,
                       DWORD Timeout, DWORD Flags, PDWORD Returned)
{
    struct subscription *s = object_of(ResultSet, KIND_SUBSCRIPTION);
    ULONGLONG deadline = GetTickCount64() + (Timeout == INFINITE ? 0 : Timeout);
    unsigned long bound = 0; /* MDM_WEVTAPI_DOUBLE_INVALID_BOUND */
    bool have_bound = false;

    (void)Flags;
    if (s == NULL)
        return FALSE;
    if (EventArray == NULL || Returned == NULL || EventArraySize == 0) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    *Returned = 0;
    {
        char limit[32];
        if (env("MDM_WEVTAPI_DOUBLE_INVALID_BOUND", limit, sizeof(limit))[0] != '\0') {
            bound = strtoul(limit, NULL, 10);
            have_bound = true;
        }
    }
    for (;;) {
        struct log log;
        DWORD n = 0;

        EnterCriticalSection(&s->lock);
        log_load(&log, s->server);
        if (log.count < s->cursor) {
            /* Fewer events than were read: the log was cleared under the subscription. */
            LeaveCriticalSection(&s->lock);
            log_free(&log);
            SetLastError(ERROR_EVT_QUERY_RESULT_STALE);
            return FALSE;
        }
        if (have_bound) {
            size_t would = log.count - s->cursor;
            if (would > EventArraySize)
                would = EventArraySize;
            if (would > bound) {
                /* The batch is lost to this subscription, as the RPC reply was. */
                s->cursor += would;
                if (s->signalled < s->cursor)
                    s->signalled = s->cursor;
                LeaveCriticalSection(&s->lock);
                log_free(&log);
                trace("EvtNext count=%lu fails RPC_S_INVALID_BOUND", (unsigned long)EventArraySize);
                SetLastError(RPC_S_INVALID_BOUND);
                return FALSE;
            }
        }
        while (n < EventArraySize && s->cursor < log.count) {
            struct event *e = new_object(sizeof(*e), KIND_EVENT);
            size_t i = s->cursor;
            if (e == NULL)
                break;
            e->xml = malloc(log.len[i] + 1);
            if (e->xml == NULL) {
                free(e);
                break;
            }
            memcpy(e->xml, log.text + log.start[i], log.len[i]);
            e->xml[log.len[i]] = '\0';
            e->record_id = log.record_id[i];
            EventArray[n++] = e;
            s->cursor++;
        }
        if (s->signalled < s->cursor)
            s->signalled = s->cursor;
        LeaveCriticalSection(&s->lock);
        log_free(&log);
        if (n > 0) {
            trace("EvtNext count=%lu returned=%lu", (unsigned long)EventArraySize,
                  (unsigned long)n);
            *Returned = n;
            return TRUE;
        }
        if (Timeout != INFINITE && GetTickCount64() >= deadline)
            break;
        Sleep(DOUBLE_POLL_MS / 2);
    }
    SetLastError(Timeout == 0 ? ERROR_NO_MORE_ITEMS : ERROR_TIMEOUT);
    return FALSE;
}

/* Replaces the five predefined entities in place. */
static void unescape(char *s)
{
    static const struct {
        const char *entity;
        char ch;
    } map[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    char *out = s;

    while (*s != '\0') {
        bool done = false;
        if (*s == '&') {
            for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
                size_t n = strlen(map[i].entity);
                if (strncmp(s, map[i].entity, n) == 0) {
                    *out++ = map[i].ch;
                    s += n;
                    done = true;
                    break;
                }
            }
        }
        if (!done)
            *out++ = *s++;
    }
    *out = '\0';
}

/* The value of attribute name='...' or name="..." in the start tag at tag. */
static bool attribute(const char *tag, const char *name, char *buf, size_t size)
{
    const char *end = strchr(tag, '>');
    char pattern[64];

    for (int q = 0; q < 2; q++) {
        const char quote = q == 0 ? '\'' : '"';
        const char *a, *b;
        snprintf(pattern, sizeof(pattern), " %s=%c", name, quote);
        a = strstr(tag, pattern);
        if (a == NULL || (end != NULL && a > end))
            continue;
        a += strlen(pattern);
        b = strchr(a, quote);
        if (b == NULL || (size_t)(b - a) >= size)
            return false;
        memcpy(buf, a, (size_t)(b - a));
        buf[b - a] = '\0';
        unescape(buf);
        return true;
    }
    return false;
}

/* Copies UTF-8 text into Buffer as UTF-16 (the EvtRender / EvtFormatMessage contract). */
static WINBOOL give_wide(const char *text, DWORD BufferSize, void *Buffer, PDWORD BufferUsed,
                         bool size_in_bytes)
{
    int units = MultiByteToWideChar(CP_UTF8, 0, text, -1, NULL, 0);
    DWORD need;

    if (units <= 0) {
        SetLastError(ERROR_INVALID_DATA);
        return FALSE;
    }
    need = size_in_bytes ? (DWORD)units * sizeof(WCHAR) : (DWORD)units;
    if (BufferUsed != NULL)
        *BufferUsed = need;
    if (Buffer == NULL || BufferSize < need) {
        SetLastError(ERROR_INSUFFICIENT_BUFFER);
        return FALSE;
    }
    MultiByteToWideChar(CP_UTF8, 0, text, -1, Buffer, units);
    return TRUE;
}

/* EvtRenderEventValues with the system context: EVT_VARIANTs followed by their strings. */
static WINBOOL render_system(struct event *e, DWORD BufferSize, PVOID Buffer, PDWORD BufferUsed,
                             PDWORD PropertyCount)
{
    const DWORD count = EvtSystemPropertyIdEND;
    char provider[DOUBLE_NAME_MAX] = "", channel[DOUBLE_NAME_MAX] = "",
         computer[DOUBLE_NAME_MAX] = "", id[32] = "";
    const char *strings[3] = {provider, channel, computer};
    const int which[3] = {EvtSystemProviderName, EvtSystemChannel, EvtSystemComputer};
    const char *tag = strstr(e->xml, "<Provider");
    const char *end = e->xml + strlen(e->xml);
    DWORD need = count * sizeof(EVT_VARIANT);
    EVT_VARIANT *v = Buffer;
    WCHAR *w;

    if (tag != NULL && !attribute(tag, "EventSourceName", provider, sizeof(provider)))
        attribute(tag, "Name", provider, sizeof(provider));
    element_text(e->xml, end, "Channel", channel, sizeof(channel));
    element_text(e->xml, end, "Computer", computer, sizeof(computer));
    if ((tag = strstr(e->xml, "<EventID")) != NULL && (tag = strchr(tag, '>')) != NULL)
        snprintf(id, sizeof(id), "%.20s", tag + 1);
    for (int i = 0; i < 3; i++) {
        unescape((char *)strings[i]);
        need += (DWORD)MultiByteToWideChar(CP_UTF8, 0, strings[i], -1, NULL, 0) * sizeof(WCHAR);
    }
    *BufferUsed = need;
    *PropertyCount = count;
    if (Buffer == NULL || BufferSize < need) {
        SetLastError(ERROR_INSUFFICIENT_BUFFER);
        return FALSE;
    }
    memset(Buffer, 0, need);
    for (DWORD i = 0; i < count; i++)
        v[i].Type = EvtVarTypeNull;
    w = (WCHAR *)(v + count);
    for (int i = 0; i < 3; i++) {
        int room = (int)(((const WCHAR *)((const char *)Buffer + need)) - w);
        int n = MultiByteToWideChar(CP_UTF8, 0, strings[i], -1, w, room);
        v[which[i]].Type = EvtVarTypeString;
        v[which[i]].StringVal = w;
        w += n;
    }
    v[EvtSystemEventID].Type = EvtVarTypeUInt16;
    v[EvtSystemEventID].UInt16Val = (UINT16)strtoul(id, NULL, 10);
    v[EvtSystemEventRecordId].Type = EvtVarTypeUInt64;
    v[EvtSystemEventRecordId].UInt64Val = e->record_id;
    return TRUE;
}

WINBOOL WINAPI EvtRender(EVT_HANDLE Context, EVT_HANDLE Fragment, DWORD Flags, DWORD BufferSize,
                         PVOID Buffer, PDWORD BufferUsed, PDWORD PropertyCount)
{
    if (BufferUsed == NULL || PropertyCount == NULL) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    *PropertyCount = 0;
    if (Flags == EvtRenderEventXml) {
        struct event *e = object_of(Fragment, KIND_EVENT);
        return e != NULL && give_wide(e->xml, BufferSize, Buffer, BufferUsed, true);
    }
    if (Flags == EvtRenderBookmark) {
        struct bookmark *b = object_of(Fragment, KIND_BOOKMARK);
        char xml[DOUBLE_NAME_MAX + 128];
        if (b == NULL)
            return FALSE;
        if (b->has_record)
            snprintf(xml, sizeof(xml),
                     "<BookmarkList>\r\n  <Bookmark Channel='%s' RecordId='%llu' "
                     "IsCurrent='true'/>\r\n</BookmarkList>",
                     b->channel, b->record_id);
        else
            snprintf(xml, sizeof(xml), "<BookmarkList/>");
        return give_wide(xml, BufferSize, Buffer, BufferUsed, true);
    }
    if (Flags == EvtRenderEventValues) {
        struct context *c = object_of(Context, KIND_CONTEXT);
        struct event *e = object_of(Fragment, KIND_EVENT);
        if (c == NULL || e == NULL)
            return FALSE;
        if (c->flags != EvtRenderContextSystem) {
            SetLastError(ERROR_NOT_SUPPORTED);
            return FALSE;
        }
        return render_system(e, BufferSize, Buffer, BufferUsed, PropertyCount);
    }
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
}

EVT_HANDLE WINAPI EvtCreateRenderContext(DWORD ValuePathsCount, LPCWSTR *ValuePaths, DWORD Flags)
{
    struct context *c;

    char off[8];

    (void)ValuePaths;
    if (Flags != EvtRenderContextSystem || ValuePathsCount != 0 ||
        env("MDM_WEVTAPI_DOUBLE_NO_CONTEXT", off, sizeof(off))[0] != '\0') {
        SetLastError(ERROR_NOT_SUPPORTED);
        return NULL;
    }
    c = new_object(sizeof(*c), KIND_CONTEXT);
    if (c != NULL)
        c->flags = Flags;
    return c;
}

EVT_HANDLE WINAPI EvtCreateBookmark(LPCWSTR BookmarkXml)
{
    struct bookmark *b = new_object(sizeof(*b), KIND_BOOKMARK);
    char xml[1024], id[32];
    const char *tag;

    if (b == NULL || BookmarkXml == NULL)
        return b;
    narrow(BookmarkXml, xml, sizeof(xml));
    trace("EvtCreateBookmark %s", xml);
    tag = strstr(xml, "<Bookmark ");
    if (tag == NULL || !attribute(tag, "RecordId", id, sizeof(id))) {
        free(b);
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    attribute(tag, "Channel", b->channel, sizeof(b->channel));
    b->record_id = strtoull(id, NULL, 10);
    b->has_record = true;
    return b;
}

WINBOOL WINAPI EvtUpdateBookmark(EVT_HANDLE Bookmark, EVT_HANDLE Event)
{
    struct bookmark *b = object_of(Bookmark, KIND_BOOKMARK);
    struct event *e = object_of(Event, KIND_EVENT);
    const char *end;

    if (b == NULL || e == NULL)
        return FALSE;
    end = e->xml + strlen(e->xml);
    if (!element_text(e->xml, end, "Channel", b->channel, sizeof(b->channel)))
        b->channel[0] = '\0';
    b->record_id = e->record_id;
    b->has_record = true;
    return TRUE;
}

EVT_HANDLE WINAPI EvtOpenPublisherMetadata(EVT_HANDLE Session, LPCWSTR PublisherIdentity,
                                           LPCWSTR LogFilePath, LCID Locale, DWORD Flags)
{
    struct publisher *p;

    (void)Session;
    (void)LogFilePath;
    (void)Locale;
    (void)Flags;
    if (PublisherIdentity == NULL) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    p = new_object(sizeof(*p), KIND_PUBLISHER);
    if (p == NULL)
        return NULL;
    narrow(PublisherIdentity, p->name, sizeof(p->name));
    trace("EvtOpenPublisherMetadata provider=%s", p->name);
    return p;
}

WINBOOL WINAPI EvtFormatMessage(EVT_HANDLE PublisherMetadata, EVT_HANDLE Event, DWORD MessageId,
                                DWORD ValueCount, PEVT_VARIANT Values, DWORD Flags,
                                DWORD BufferSize, LPWSTR Buffer, PDWORD BufferUsed)
{
    static const char *const openers[] = {"<Data Name='MdmDoubleMessage'>",
                                          "<Data Name=\"MdmDoubleMessage\">"};
    struct event *e;
    const char *a = NULL, *b;
    char *text;
    WINBOOL ok;

    (void)MessageId;
    (void)ValueCount;
    (void)Values;
    if (object_of(PublisherMetadata, KIND_PUBLISHER) == NULL ||
        (e = object_of(Event, KIND_EVENT)) == NULL)
        return FALSE;
    if (BufferUsed != NULL)
        *BufferUsed = 0;
    if (Flags != EvtFormatMessageEvent) {
        SetLastError(ERROR_EVT_MESSAGE_NOT_FOUND);
        return FALSE;
    }
    for (size_t i = 0; i < 2 && a == NULL; i++)
        if ((a = strstr(e->xml, openers[i])) != NULL)
            a += strlen(openers[i]);
    if (a == NULL || (b = strstr(a, "</Data>")) == NULL) {
        SetLastError(ERROR_EVT_MESSAGE_NOT_FOUND);
        return FALSE;
    }
    text = malloc((size_t)(b - a) + 1);
    if (text == NULL) {
        SetLastError(ERROR_OUTOFMEMORY);
        return FALSE;
    }
    memcpy(text, a, (size_t)(b - a));
    text[b - a] = '\0';
    unescape(text);
    ok = give_wide(text, BufferSize, Buffer, BufferUsed, false);
    free(text);
    return ok;
}

EVT_HANDLE WINAPI EvtOpenSession(EVT_LOGIN_CLASS LoginClass, PVOID Login, DWORD Timeout,
                                 DWORD Flags)
{
    const EVT_RPC_LOGIN *login = Login;
    struct session *s;

    (void)Timeout;
    (void)Flags;
    if (LoginClass != EvtRpcLogin || login == NULL || login->Server == NULL) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    s = new_object(sizeof(*s), KIND_SESSION);
    if (s == NULL)
        return NULL;
    narrow(login->Server, s->server, sizeof(s->server));
    trace("EvtOpenSession server=%s user=%s", s->server, login->User ? "given" : "none");
    return s;
}

WINBOOL WINAPI EvtClose(EVT_HANDLE Object)
{
    struct object *o = Object;

    if (o == NULL || o->magic != DOUBLE_MAGIC) {
        SetLastError(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (o->kind == KIND_SUBSCRIPTION) {
        struct subscription *s = (struct subscription *)o;
        InterlockedExchange(&s->stop, 1);
        WaitForSingleObject(s->thread, INFINITE);
        CloseHandle(s->thread);
        DeleteCriticalSection(&s->lock);
    } else if (o->kind == KIND_EVENT) {
        free(((struct event *)o)->xml);
    }
    o->magic = 0; /* a second EvtClose of the handle fails instead of freeing twice */
    free(o);
    return TRUE;
}

DWORD WINAPI EvtGetExtendedStatus(DWORD BufferSize, LPWSTR Buffer, PDWORD BufferUsed)
{
    if (BufferUsed != NULL)
        *BufferUsed = 1;
    if (Buffer != NULL && BufferSize > 0)
        Buffer[0] = L'\0';
    return ERROR_SUCCESS;
}

/* Calls a program might import but the double does not implement. */

EVT_HANDLE WINAPI EvtQuery(EVT_HANDLE Session, LPCWSTR Path, LPCWSTR Query, DWORD Flags)
{
    (void)Session;
    (void)Path;
    (void)Query;
    (void)Flags;
    SetLastError(ERROR_NOT_SUPPORTED);
    return NULL;
}

WINBOOL WINAPI EvtSeek(EVT_HANDLE ResultSet, LONGLONG Position, EVT_HANDLE Bookmark, DWORD Timeout,
                       DWORD Flags)
{
    (void)ResultSet;
    (void)Position;
    (void)Bookmark;
    (void)Timeout;
    (void)Flags;
    SetLastError(ERROR_NOT_SUPPORTED);
    return FALSE;
}

WINBOOL WINAPI EvtCancel(EVT_HANDLE Object)
{
    (void)Object;
    SetLastError(ERROR_NOT_SUPPORTED);
    return FALSE;
}

EVT_HANDLE WINAPI EvtOpenLog(EVT_HANDLE Session, LPCWSTR Path, DWORD Flags)
{
    (void)Session;
    (void)Path;
    (void)Flags;
    SetLastError(ERROR_NOT_SUPPORTED);
    return NULL;
}

WINBOOL WINAPI EvtGetLogInfo(EVT_HANDLE Log, EVT_LOG_PROPERTY_ID PropertyId,
                             DWORD PropertyValueBufferSize, PEVT_VARIANT PropertyValueBuffer,
                             PDWORD PropertyValueBufferUsed)
{
    (void)Log;
    (void)PropertyId;
    (void)PropertyValueBufferSize;
    (void)PropertyValueBuffer;
    (void)PropertyValueBufferUsed;
    SetLastError(ERROR_NOT_SUPPORTED);
    return FALSE;
}

/*
 * source_channel_win.c - the "channel" source: a live Windows event log
 * channel ("Mobile Device Manager") read with EvtSubscribe in the pull model.
 *
 * The path is the channel name, or "\\COMPUTER\CHANNEL" for the channel of a
 * remote computer, reached through EvtOpenSession(EvtRpcLogin) with the
 * service's own credentials (the monitor is Remotable).
 *
 * Subscription. A fresh source subscribes from the oldest record, so that a
 * new agent evaluates the whole log and knows the current state. After
 * mdm_source_seek("record-id:N") it subscribes after a bookmark on record N
 * with EvtSubscribeStrict. When that record is no longer in the log (the log
 * was cleared or wrapped; EvtSubscribe or EvtNext says ERROR_NOT_FOUND,
 * ERROR_EVT_QUERY_RESULT_STALE or ERROR_EVT_QUERY_RESULT_INVALID_POSITION),
 * the source resubscribes from the oldest record, never from the newest, and
 * says so once: the next call of mdm_source_next() returns MDM_EBADRECORD
 * with a message that the bookmark was stale and that events may be
 * evaluated again. mdm_source_channel_resubscriptions() counts these
 * recoveries. A channel that does not exist fails the open with a message
 * naming it; the agent retries the open with back-off.
 *
 * Reading. The Event Log service sets a signal event when the subscription
 * has results; EvtNext takes them in batches of up to CHANNEL_BATCH handles
 * without waiting, and MDM_EAGAIN means that nothing is ready. Each event is
 * rendered (source_channel_render_win.c) as Event XML (UTF-16, converted to
 * UTF-8, capped at MDM_EVENT_XML_MAX) and its message is formatted with the
 * publisher's metadata (EvtFormatMessage) and added as
 * <RenderingInfo><Message>, which
 * mdm_event_parse_xml() turns into the EventDescription. When the message
 * cannot be formatted (no publisher metadata, a missing message resource),
 * the event is kept without it: the parser falls back to the insertion
 * strings and mdm_source_channel_render_failures() counts the event.
 *
 * Batches too large for one RPC reply. EvtNext fails with
 * RPC_S_INVALID_BOUND (1734) when the events of a batch do not fit in the
 * reply of the Event Log service (large events, a remote session). The
 * subscription's position after that failure cannot be trusted, so the
 * source closes it, subscribes again after the last event it handed out
 * (the bookmark; from the oldest record when it has handed out none) and
 * asks for half as many events (at least 1): no event is lost and none is
 * returned twice. Each halving is logged once (mdm_log, a warning) and
 * counted in mdm_source_channel_resubscriptions(). After
 * CHANNEL_GROW_AFTER full batches at a reduced size the batch doubles again
 * (up to CHANNEL_BATCH); when a grown batch fails again, the next growth
 * waits twice as long (up to CHANNEL_GROW_AFTER_MAX batches), so a channel
 * of large events settles on its size instead of failing every few batches.
 * When even one event at a time fails, mdm_source_next() returns MDM_EIO
 * and the agent reopens the source later at the saved position.
 *
 * Waking a select() loop. The signal event is a HANDLE, which Winsock's
 * select() cannot wait on. The first call of mdm_source_pollfd() starts a
 * small watcher thread that waits on the signal event and posts an
 * mdm_wakeup (a loopback socket) whose descriptor the loop selects on;
 * mdm_source_wait() then drains it. Without the watcher, mdm_source_wait()
 * waits on the signal event directly.
 *
 * Positions are "record-id:N", N being the EventRecordID of the last event
 * returned (or reported as damaged).
 */
#include "wevt/source_channel_win.h"

#include "agent/os/win_util.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static volatile LONG64 resubscriptions;

uint64_t mdm_source_channel_resubscriptions(void)
{
    return (uint64_t)InterlockedCompareExchange64(&resubscriptions, 0, 0);
}

static struct channel_source *impl(struct mdm_source *src)
{
    return src->impl;
}

/*
 * Converts the UTF-8 string s into a new UTF-16 string of at most max_units
 * units. Returns it (owned by the caller, mdm_free) or NULL when s is not
 * valid UTF-8, too long, or memory runs out.
 */
static WCHAR *to_wide(const char *s, size_t max_units)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    WCHAR *w;

    if (n <= 0 || (size_t)n > max_units + 1)
        return NULL;
    w = mdm_calloc((size_t)n, sizeof(*w));
    if (w == NULL)
        return NULL;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        mdm_free(w);
        return NULL;
    }
    return w;
}

/* The system's text for a Windows error code (win_util), returned for use in a message. */
const char *channel_win_error_text(DWORD code, char *buf, size_t size)
{
    mdm_win_error_text(code, buf, size);
    return buf;
}

/* True for the errors that say a bookmark's record is no longer in the log. */
static bool is_stale_error(DWORD code)
{
    return code == ERROR_NOT_FOUND || code == ERROR_EVT_QUERY_RESULT_STALE ||
           code == ERROR_EVT_QUERY_RESULT_INVALID_POSITION;
}

/*
 * Appends s (len bytes of UTF-8) to buf, escaped for XML text or a quoted
 * attribute value. Control characters that XML 1.0 does not allow are
 * replaced by spaces, so that a message can never make the event unreadable.
 */
int channel_xml_escape(struct mdm_buf *buf, const char *s, size_t len)
{
    size_t start = 0;
    int rc = 0;

    for (size_t i = 0; i < len && rc == 0; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *rep = NULL;

        if (ch == '&')
            rep = "&amp;";
        else if (ch == '<')
            rep = "&lt;";
        else if (ch == '>')
            rep = "&gt;";
        else if (ch == '\'')
            rep = "&apos;";
        else if (ch == '"')
            rep = "&quot;";
        else if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
            rep = " ";
        if (rep == NULL)
            continue;
        rc = mdm_buf_add(buf, s + start, i - start);
        if (rc == 0)
            rc = mdm_buf_adds(buf, rep);
        start = i + 1;
    }
    if (rc == 0)
        rc = mdm_buf_add(buf, s + start, len - start);
    return rc;
}

/* Closes the event handles taken from the subscription and not yet returned. */
static void drop_pending(struct channel_source *c)
{
    for (DWORD i = c->pending_next; i < c->pending_len; i++)
        EvtClose(c->pending[i]);
    c->pending_len = 0;
    c->pending_next = 0;
}

static void close_subscription(struct channel_source *c)
{
    drop_pending(c);
    if (c->subscription != NULL) {
        EvtClose(c->subscription);
        c->subscription = NULL;
    }
}

/*
 * (Re)subscribes to the channel: after the bookmark on record `after` with
 * EvtSubscribeStrict when have_after, else from the oldest record. On
 * failure *win_error holds the Windows error and no subscription is open.
 * Returns 0, MDM_ENOMEM or MDM_EIO.
 */
static int subscribe(struct channel_source *c, bool have_after, uint64_t after, DWORD *win_error)
{
    DWORD flags = EvtSubscribeStartAtOldestRecord;
    EVT_HANDLE bookmark = NULL;
    WCHAR *bookmark_xml = NULL;
    struct mdm_buf text;
    int rc = 0;

    *win_error = ERROR_SUCCESS;
    close_subscription(c);
    mdm_buf_init(&text, 1024);
    if (have_after) {
        rc = mdm_buf_adds(&text, "<BookmarkList><Bookmark Channel='");
        if (rc == 0)
            rc = channel_xml_escape(&text, c->channel_utf8, strlen(c->channel_utf8));
        if (rc == 0)
            rc = mdm_buf_printf(&text, "' RecordId='%" PRIu64 "' IsCurrent='true'/></BookmarkList>",
                                after);
        if (rc != 0)
            goto out; /* the channel name is capped: only memory can be short */
        bookmark_xml = to_wide(mdm_buf_str(&text), text.len);
        if (bookmark_xml == NULL) {
            rc = MDM_ENOMEM;
            goto out;
        }
        bookmark = EvtCreateBookmark(bookmark_xml);
        if (bookmark == NULL) {
            *win_error = GetLastError();
            rc = MDM_EIO;
            goto out;
        }
        flags = EvtSubscribeStartAfterBookmark | EvtSubscribeStrict;
    }
    /* Results are taken with EvtNext (pull model): no callback, no context. */
    c->subscription =
        EvtSubscribe(c->session, c->signal, c->channel, L"*", bookmark, NULL, NULL, flags);
    if (c->subscription == NULL) {
        *win_error = GetLastError();
        if (*win_error == ERROR_SUCCESS)
            *win_error = ERROR_INVALID_FUNCTION; /* a stub that does not say why */
        rc = MDM_EIO;
        goto out;
    }
    /* Look at the subscription at once: it may already hold results. */
    SetEvent(c->signal);
out:
    if (bookmark != NULL)
        EvtClose(bookmark);
    mdm_free(bookmark_xml);
    mdm_buf_free(&text);
    return rc;
}

/* Describes a failed subscription in err; returns the MDM code for it. */
static int subscribe_error(struct channel_source *c, int rc, DWORD code, struct mdm_err *err)
{
    char text[300];

    if (rc == MDM_ENOMEM)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    if (code == ERROR_EVT_CHANNEL_NOT_FOUND)
        return mdm_err_set(err, MDM_ENOTFOUND,
                           "the event log channel \"%s\" does not exist on %s (is the product that "
                           "writes it installed?)",
                           c->channel_utf8,
                           c->computer_utf8 != NULL ? c->computer_utf8 : "this computer");
    if (code == ERROR_ACCESS_DENIED)
        return mdm_err_set(err, MDM_EIO,
                           "%s: access to the event log channel is denied (the service account "
                           "must be in Event Log Readers%s)",
                           c->origin, c->computer_utf8 != NULL ? " on the remote computer" : "");
    if (c->computer_utf8 != NULL)
        return mdm_err_set(err, MDM_EIO,
                           "%s: cannot subscribe to the channel on %s (is the Remote Event Log "
                           "Management firewall rule enabled there?): %s",
                           c->origin, c->computer_utf8,
                           channel_win_error_text(code, text, sizeof(text)));
    return mdm_err_set(err, MDM_EIO, "%s: cannot subscribe to the event log channel: %s", c->origin,
                       channel_win_error_text(code, text, sizeof(text)));
}

/*
 * Subscribes after the bookmark on `after` and, if that record is no longer
 * in the log, from the oldest record, recording the notice that the next
 * mdm_source_next() returns. Returns 0 or a negative code with err set.
 */
static int subscribe_or_restart(struct channel_source *c, uint64_t after, const char *why,
                                struct mdm_err *err)
{
    DWORD code;
    int rc = subscribe(c, true, after, &code);

    if (rc == MDM_EIO && is_stale_error(code)) {
        rc = subscribe(c, false, 0, &code);
        if (rc != 0)
            return subscribe_error(c, rc, code, err);
        InterlockedIncrement64(&resubscriptions);
        c->resume = false;
        c->have_last = false;
        c->notice_pending = true;
        snprintf(c->notice, sizeof(c->notice),
                 "%s: the bookmark on EventRecordID %" PRIu64
                 " is stale (%s: the log was cleared or has wrapped); resubscribed from the "
                 "oldest record, so events may be evaluated again",
                 c->origin, after, why);
        return 0;
    }
    if (rc != 0)
        return subscribe_error(c, rc, code, err);
    return 0;
}

/* Splits "\\COMPUTER\CHANNEL" or "CHANNEL" into the source's names. */
static int parse_path(struct channel_source *c, const char *path, struct mdm_err *err)
{
    const char *channel = path;
    char *computer = NULL;
    int rc = 0;

    if (path[0] == '\\' && path[1] == '\\') {
        const char *slash = strchr(path + 2, '\\');
        size_t len = slash != NULL ? (size_t)(slash - (path + 2)) : 0;
        if (slash == NULL || len == 0 || slash[1] == '\0')
            return mdm_err_set(err, MDM_EINVAL,
                               "\"%s\": a remote channel is written \\\\COMPUTER\\CHANNEL", path);
        if (len > COMPUTER_NAME_MAX)
            return mdm_err_set(err, MDM_EINVAL, "\"%.40s...\": the computer name is too long",
                               path);
        computer = mdm_strndup(path + 2, len);
        if (computer == NULL)
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        channel = slash + 1;
    }
    if (channel[0] == '\0' || strlen(channel) > CHANNEL_NAME_MAX) {
        rc = mdm_err_set(err, MDM_EINVAL, "\"%.60s\": a channel name has 1 to %d characters", path,
                         CHANNEL_NAME_MAX);
        goto out;
    }
    c->channel_utf8 = mdm_strdup(channel);
    if (c->channel_utf8 == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    c->channel = to_wide(channel, CHANNEL_NAME_MAX);
    if (c->channel == NULL) {
        rc = mdm_err_set(err, MDM_EINVAL, "\"%.60s\": the channel name is not valid UTF-8", path);
        goto out;
    }
    if (computer != NULL) {
        c->computer = to_wide(computer, COMPUTER_NAME_MAX);
        if (c->computer == NULL) {
            rc = mdm_err_set(err, MDM_EINVAL, "\"%.60s\": the computer name is not valid UTF-8",
                             path);
            goto out;
        }
        c->computer_utf8 = computer;
        computer = NULL;
    }
out:
    mdm_free(computer);
    return rc;
}

static void channel_free(struct channel_source *c)
{
    if (c->watcher != NULL) {
        SetEvent(c->stop);
        WaitForSingleObject(c->watcher, INFINITE);
        CloseHandle(c->watcher);
    }
    if (c->stop != NULL)
        CloseHandle(c->stop);
    mdm_wakeup_close(c->wake);
    close_subscription(c);
    for (size_t i = 0; i < PUBLISHER_CACHE_MAX; i++)
        if (c->publishers[i].meta != NULL)
            EvtClose(c->publishers[i].meta);
    if (c->system_ctx != NULL)
        EvtClose(c->system_ctx);
    if (c->session != NULL)
        EvtClose(c->session);
    if (c->signal != NULL)
        CloseHandle(c->signal);
    mdm_free(c->channel);
    mdm_free(c->computer);
    mdm_free(c->channel_utf8);
    mdm_free(c->computer_utf8);
    mdm_free(c->values);
    mdm_free(c->render);
    mdm_free(c->message);
    mdm_free(c->utf8);
    mdm_buf_free(&c->xml);
    mdm_free(c);
}

static int channel_open(struct mdm_source *src, const char *path, struct mdm_err *err)
{
    struct channel_source *c = mdm_calloc(1, sizeof(*c));
    WCHAR culture[LOCALE_NAME_MAX_LENGTH];
    DWORD code;
    int rc;

    if (c == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    c->origin = src->path;
    c->batch = CHANNEL_BATCH;
    c->grow_after = CHANNEL_GROW_AFTER;
    mdm_buf_init(&c->xml, MDM_EVENT_XML_MAX);
    rc = parse_path(c, path, err);
    if (rc != 0)
        goto out;
    if (GetUserDefaultLocaleName(culture, LOCALE_NAME_MAX_LENGTH) > 0)
        if (mdm_win_wide_to_utf8(culture, c->culture, sizeof(c->culture)) != 0)
            c->culture[0] = '\0';
    if (c->culture[0] == '\0')
        snprintf(c->culture, sizeof(c->culture), "en-US");

    if (c->computer != NULL) {
        EVT_RPC_LOGIN login;
        memset(&login, 0, sizeof(login));
        login.Server = c->computer; /* the service's own credentials */
        login.Flags = EvtRpcLoginAuthDefault;
        c->session = EvtOpenSession(EvtRpcLogin, &login, 0, 0);
        if (c->session == NULL) {
            char text[300];
            rc = mdm_err_set(err, MDM_EIO, "%s: cannot open an event log session on %s: %s", path,
                             c->computer_utf8,
                             channel_win_error_text(GetLastError(), text, sizeof(text)));
            goto out;
        }
    }
    /* Manual reset, set at first: reset by whoever consumes it before reading (see wait). */
    c->signal = CreateEventW(NULL, TRUE, TRUE, NULL);
    if (c->signal == NULL) {
        char text[300];
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot create the signal event: %s", path,
                         channel_win_error_text(GetLastError(), text, sizeof(text)));
        goto out;
    }
    /* Without a render context the provider name and record ID come from the XML only. */
    c->system_ctx = EvtCreateRenderContext(0, NULL, EvtRenderContextSystem);
    rc = subscribe(c, false, 0, &code);
    if (rc != 0) {
        rc = subscribe_error(c, rc, code, err);
        goto out;
    }
    src->impl = c;
    return 0;
out:
    channel_free(c);
    return rc;
}

/*
 * Recovers from a failed EvtNext (the Event Log service restarted, the log
 * was cleared): resubscribes after the last record, or from the oldest one.
 */
static int recover(struct channel_source *c, DWORD code, struct mdm_err *err)
{
    char text[300], why[340];
    uint64_t after = c->have_last ? c->last_record : c->resume_after;
    bool have_after = c->have_last || c->resume;
    int rc;

    channel_win_error_text(code, text, sizeof(text));
    snprintf(why, sizeof(why), "reading the channel failed with %s", text);
    if (have_after) {
        rc = subscribe_or_restart(c, after, why, err);
        if (rc != 0)
            return rc;
        if (c->notice_pending)
            return 0; /* the notice is returned next */
    } else {
        DWORD again;
        rc = subscribe(c, false, 0, &again);
        if (rc != 0)
            return subscribe_error(c, rc, again, err);
    }
    InterlockedIncrement64(&resubscriptions);
    c->notice_pending = true;
    snprintf(c->notice, sizeof(c->notice), "%s: reading the channel failed (%s); resubscribed %s",
             c->origin, text, have_after ? "after the last record read" : "from the oldest record");
    return 0;
}

/* "after EventRecordID N" or "from the oldest record": where a resubscription starts. */
static const char *restart_label(bool have_after, uint64_t after, char *buf, size_t size)
{
    if (have_after)
        snprintf(buf, size, "after EventRecordID %" PRIu64, after);
    else
        snprintf(buf, size, "from the oldest record");
    return buf;
}

/*
 * EvtNext failed with RPC_S_INVALID_BOUND for a batch of c->batch events:
 * resubscribes after the last event handed out with half the batch (see
 * the top of this file). Returns 0 (resubscribed; c->notice_pending when the
 * bookmark turned out to be stale and the subscription starts from the
 * oldest record), MDM_EIO when the batch is a single event already, or the
 * error of the subscription.
 */
static int shrink_batch(struct channel_source *c, struct mdm_err *err)
{
    uint64_t after = c->have_last ? c->last_record : c->resume_after;
    bool have_after = c->have_last || c->resume;
    DWORD from = c->batch;
    char where[64];
    int rc;

    restart_label(have_after, after, where, sizeof(where));
    if (from <= 1)
        return mdm_err_set(err, MDM_EIO,
                           "%s: EvtNext fails with RPC_S_INVALID_BOUND even for a single event "
                           "(the next one %s)",
                           c->origin, where);
    c->batch = from / 2;
    c->full_count = 0;
    if (c->grown && c->grow_after < CHANNEL_GROW_AFTER_MAX)
        c->grow_after *= 2;
    c->grown = false;
    if (have_after) {
        rc = subscribe_or_restart(c, after, "resubscribing after RPC_S_INVALID_BOUND", err);
    } else {
        DWORD code;
        rc = subscribe(c, false, 0, &code);
        if (rc != 0)
            rc = subscribe_error(c, rc, code, err);
    }
    if (rc != 0)
        return rc;
    /* A stale bookmark was counted, and is reported, by subscribe_or_restart(). */
    if (!c->notice_pending)
        InterlockedIncrement64(&resubscriptions);
    mdm_log(MDM_LOG_WARNING,
            "%s: EvtNext failed with RPC_S_INVALID_BOUND for a batch of %lu events (too large "
            "for one RPC reply); resubscribed %s, now reading %lu events at a time",
            c->origin, (unsigned long)from,
            c->notice_pending ? "from the oldest record (the bookmark is stale)" : where,
            (unsigned long)c->batch);
    return 0;
}

/* Counts a successful EvtNext of `returned` events; doubles a reduced batch when it is time. */
static void batch_succeeded(struct channel_source *c, DWORD returned)
{
    if (c->batch >= CHANNEL_BATCH || returned < c->batch)
        return;
    if (++c->full_count < c->grow_after)
        return;
    c->batch = c->batch * 2 > CHANNEL_BATCH ? CHANNEL_BATCH : c->batch * 2;
    c->full_count = 0;
    c->grown = true;
    mdm_log(MDM_LOG_INFO, "%s: trying batches of %lu events again", c->origin,
            (unsigned long)c->batch);
}

/*
 * Takes the next batch of event handles from the subscription into
 * c->pending. Returns 0 (at least one handle is pending), MDM_EAGAIN
 * (nothing is ready), MDM_EBADRECORD (a recovery notice is in err; call
 * again) or another negative code with err set.
 */
static int fetch(struct channel_source *c, struct mdm_err *err)
{
    DWORD returned = 0;
    int rc;

    c->pending_len = c->pending_next = 0;
    for (;;) {
        DWORD code;
        if (c->subscription == NULL)
            return mdm_err_set(err, MDM_EIO, "%s: the subscription is closed", c->origin);
        if (EvtNext(c->subscription, c->batch, c->pending, 0, 0, &returned))
            break;
        code = GetLastError();
        if (code == ERROR_NO_MORE_ITEMS || code == ERROR_TIMEOUT)
            return MDM_EAGAIN;
        /* Each RPC_S_INVALID_BOUND halves the batch: this loop ends. */
        rc = code == RPC_S_INVALID_BOUND ? shrink_batch(c, err) : recover(c, code, err);
        if (rc != 0)
            return rc;
        if (code == RPC_S_INVALID_BOUND && !c->notice_pending)
            continue; /* nothing to report to the caller: read on at the new size */
        c->notice_pending = false;
        return mdm_err_set(err, MDM_EBADRECORD, "%s", c->notice);
    }
    if (returned > c->batch)
        returned = c->batch;
    c->pending_len = returned;
    if (returned == 0)
        return MDM_EAGAIN;
    batch_succeeded(c, returned);
    return 0;
}

static int channel_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err)
{
    struct channel_source *c = impl(src);

    if (c->notice_pending) {
        c->notice_pending = false;
        return mdm_err_set(err, MDM_EBADRECORD, "%s", c->notice);
    }
    if (c->pending_next == c->pending_len) {
        int rc = fetch(c, err);
        if (rc != 0)
            return rc;
    }
    {
        EVT_HANDLE event = c->pending[c->pending_next++];
        int rc = channel_render_event(c, event, ev, err);
        EvtClose(event);
        return rc;
    }
}

/* The watcher thread: turns the signal event into mdm_wakeup posts until stopped. */
static DWORD WINAPI watcher_main(LPVOID arg)
{
    struct channel_source *c = arg;
    HANDLE handles[2] = {c->stop, c->signal};

    for (;;) {
        DWORD w = WaitForMultipleObjects(2, handles, FALSE, INFINITE);
        if (w != WAIT_OBJECT_0 + 1)
            break;
        /* Reset before the post: results signalled after this wake the loop again. */
        ResetEvent(c->signal);
        mdm_wakeup_post(c->wake);
    }
    return 0;
}

static int channel_pollfd(struct mdm_source *src)
{
    struct channel_source *c = impl(src);

    if (c->wake != NULL)
        return mdm_wakeup_fd(c->wake);
    if (mdm_wakeup_open(&c->wake, NULL) != 0)
        return -1;
    c->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (c->stop != NULL)
        c->watcher = CreateThread(NULL, 0, watcher_main, c, 0, NULL);
    if (c->watcher == NULL) {
        if (c->stop != NULL)
            CloseHandle(c->stop);
        c->stop = NULL;
        mdm_wakeup_close(c->wake);
        c->wake = NULL;
        return -1;
    }
    return mdm_wakeup_fd(c->wake);
}

static int channel_wait(struct mdm_source *src, int timeout_ms)
{
    struct channel_source *c = impl(src);

    if (c->notice_pending || c->pending_next < c->pending_len)
        timeout_ms = 0; /* results are at hand; still drain the wake-ups below */
    if (c->wake != NULL) {
        /* The watcher owns the signal event: wait for its wake-up instead. */
        SOCKET fd = (SOCKET)mdm_wakeup_fd(c->wake);
        struct timeval tv;
        fd_set set;
        FD_ZERO(&set);
        FD_SET(fd, &set);
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        if (select(0, &set, NULL, NULL, timeout_ms < 0 ? NULL : &tv) == SOCKET_ERROR)
            return MDM_EIO;
        mdm_wakeup_drain(c->wake);
        return 0;
    }
    if (WaitForSingleObject(c->signal, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms) ==
        WAIT_OBJECT_0)
        ResetEvent(c->signal); /* reset before reading: later results set it again */
    return 0;
}

static int channel_position(struct mdm_source *src, char *buf, size_t size)
{
    struct channel_source *c = impl(src);

    if (c->have_last)
        snprintf(buf, size, "record-id:%" PRIu64, c->last_record);
    else if (c->resume)
        snprintf(buf, size, "record-id:%" PRIu64, c->resume_after);
    else
        snprintf(buf, size, "record-id:0");
    return 0;
}

static int channel_seek(struct mdm_source *src, const char *position, struct mdm_err *err)
{
    struct channel_source *c = impl(src);
    const char *digits = position;
    char *end = NULL;
    unsigned long long id;
    int rc;

    if (strncmp(digits, "record-id:", 10) == 0)
        digits += 10;
    errno = 0;
    id = strtoull(digits, &end, 10);
    if (errno != 0 || end == digits || *end != '\0' || digits[0] == '-' || digits[0] == '+')
        return mdm_err_set(err, MDM_EINVAL, "%s: invalid resume position \"%.40s\"", c->origin,
                           position);
    c->notice_pending = false;
    c->have_last = false;
    if (id == 0) {
        /* Nothing was read before: the whole log, as after a fresh open. */
        DWORD code;
        c->resume = false;
        rc = subscribe(c, false, 0, &code);
        return rc != 0 ? subscribe_error(c, rc, code, err) : 0;
    }
    c->resume = true;
    c->resume_after = id;
    return subscribe_or_restart(c, id, "its record is no longer in the log", err);
}

static void channel_close(struct mdm_source *src)
{
    struct channel_source *c = impl(src);

    if (c == NULL)
        return;
    channel_free(c);
    src->impl = NULL;
}

const struct mdm_source_ops mdm_source_channel_ops = {
    "channel",      channel_open,     channel_next, channel_wait,
    channel_pollfd, channel_position, channel_seek, channel_close,
};

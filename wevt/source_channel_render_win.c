/*
 * source_channel_render_win.c - the rendering half of the "channel" source
 * (source_channel_win.c): one event handle to Event XML in UTF-8 with its
 * message formatted from the publisher's metadata and added as
 * <RenderingInfo><Message>, and the count of events kept without it.
 */
#include "wevt/source_channel_win.h"

#include "agent/common/mdm_alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

static volatile LONG64 render_failures;

uint64_t mdm_source_channel_render_failures(void)
{
    return (uint64_t)InterlockedCompareExchange64(&render_failures, 0, 0);
}

/*
 * Renders the System values of an event; *provider and *record_id are set
 * when available (provider points into c->values, valid until the next call).
 */
static void render_system(struct channel_source *c, EVT_HANDLE event, const WCHAR **provider,
                          uint64_t *record_id, bool *have_record)
{
    DWORD used = 0, count = 0;
    const EVT_VARIANT *v;

    *provider = NULL;
    *have_record = false;
    if (c->system_ctx == NULL)
        return;
    if (!EvtRender(c->system_ctx, event, EvtRenderEventValues, c->values_size, c->values, &used,
                   &count)) {
        void *bigger;
        if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || used == 0 || used > VALUES_MAX)
            return;
        bigger = mdm_realloc(c->values, used);
        if (bigger == NULL)
            return;
        c->values = bigger;
        c->values_size = used;
        if (!EvtRender(c->system_ctx, event, EvtRenderEventValues, c->values_size, c->values, &used,
                       &count))
            return;
    }
    v = c->values;
    if (count > EvtSystemProviderName && v[EvtSystemProviderName].Type == EvtVarTypeString &&
        v[EvtSystemProviderName].StringVal != NULL)
        *provider = v[EvtSystemProviderName].StringVal;
    if (count > EvtSystemEventRecordId && v[EvtSystemEventRecordId].Type == EvtVarTypeUInt64) {
        *record_id = v[EvtSystemEventRecordId].UInt64Val;
        *have_record = true;
    }
}

/* The publisher metadata for provider from the cache (opened on first use), or NULL. */
static EVT_HANDLE publisher_metadata(struct channel_source *c, const WCHAR *provider)
{
    struct publisher *p = NULL;
    ULONGLONG now = GetTickCount64();

    if (provider == NULL || provider[0] == L'\0' || wcslen(provider) >= PUBLISHER_NAME_MAX)
        return NULL;
    for (size_t i = 0; i < PUBLISHER_CACHE_MAX; i++) {
        struct publisher *q = &c->publishers[i];
        if (q->used && CompareStringOrdinal(q->name, -1, provider, -1, TRUE) == CSTR_EQUAL) {
            p = q;
            break;
        }
    }
    if (p != NULL && (p->meta != NULL || now - p->failed_at < PUBLISHER_RETRY_MS))
        return p->meta;
    if (p == NULL) {
        p = &c->publishers[c->publisher_next];
        c->publisher_next = (c->publisher_next + 1) % PUBLISHER_CACHE_MAX;
        if (p->meta != NULL)
            EvtClose(p->meta);
        memset(p, 0, sizeof(*p));
        wcscpy(p->name, provider); /* length checked above */
        p->used = true;
    }
    /* Locale 0: the messages in the language of the service's account. */
    p->meta = EvtOpenPublisherMetadata(c->session, provider, NULL, 0, 0);
    if (p->meta == NULL)
        p->failed_at = now;
    return p->meta;
}

/*
 * Takes the provider name from the rendered XML (<Provider Name='...'>) into
 * buf, for when the System values could not be rendered. Returns buf, or
 * NULL when there is none or it is longer than the cap.
 */
static const WCHAR *provider_from_xml(const char *xml, WCHAR *buf, size_t units)
{
    const char *tag = strstr(xml, "<Provider");
    const char *end = tag != NULL ? strchr(tag, '>') : NULL;
    char name[PUBLISHER_NAME_MAX * 3];
    const char *a = NULL, *b;
    size_t n;

    for (const char *p = tag; p != NULL && end != NULL && p < end; p++) {
        if (strncmp(p, " Name='", 7) == 0 || strncmp(p, " Name=\"", 7) == 0) {
            a = p + 7;
            break;
        }
    }
    if (a == NULL || (b = strchr(a, a[-1])) == NULL || b > end)
        return NULL;
    n = (size_t)(b - a);
    /* An escaped name is left alone: the service writes names without markup. */
    if (n == 0 || n >= sizeof(name) || memchr(a, '&', n) != NULL)
        return NULL;
    memcpy(name, a, n);
    name[n] = '\0';
    if (MultiByteToWideChar(CP_UTF8, 0, name, -1, buf, (int)units) <= 0)
        return NULL;
    return buf;
}

/*
 * Formats the event's message into c->message. Returns the number of UTF-16
 * units (without the NUL), or 0 when there is no message to add.
 */
static DWORD format_message(struct channel_source *c, EVT_HANDLE event, const WCHAR *provider)
{
    EVT_HANDLE meta = publisher_metadata(c, provider);
    DWORD used = 0, status;
    bool ok;

    if (meta == NULL)
        return 0;
    ok = EvtFormatMessage(meta, event, 0, 0, NULL, EvtFormatMessageEvent, c->message_size,
                          c->message, &used);
    status = ok ? ERROR_SUCCESS : GetLastError();
    if (status == ERROR_INSUFFICIENT_BUFFER) {
        WCHAR *bigger;
        if (used == 0 || used > MESSAGE_MAX + 1)
            return 0;
        bigger = mdm_realloc(c->message, (size_t)used * sizeof(WCHAR));
        if (bigger == NULL)
            return 0;
        c->message = bigger;
        c->message_size = used;
        ok = EvtFormatMessage(meta, event, 0, 0, NULL, EvtFormatMessageEvent, c->message_size,
                              c->message, &used);
        status = ok ? ERROR_SUCCESS : GetLastError();
    }
    /* A message with an unresolved insert is still the best description there is. */
    if (status != ERROR_SUCCESS && status != ERROR_EVT_UNRESOLVED_VALUE_INSERT &&
        status != ERROR_EVT_UNRESOLVED_PARAMETER_INSERT && status != ERROR_EVT_MAX_INSERTS_REACHED)
        return 0;
    if (c->message == NULL || used == 0 || used > c->message_size)
        return 0;
    c->message[used - 1] = L'\0';
    used--;
    /* Windows messages end with a line break; the description does not need it. */
    while (used > 0 && (c->message[used - 1] == L'\r' || c->message[used - 1] == L'\n' ||
                        c->message[used - 1] == L' '))
        c->message[--used] = L'\0';
    /* Non-characters cannot appear in XML: make them spaces. */
    for (DWORD i = 0; i < used; i++)
        if (c->message[i] == 0xFFFE || c->message[i] == 0xFFFF)
            c->message[i] = L' ';
    return used;
}

/*
 * Builds c->xml: the event XML in c->utf8 (len bytes) with
 * <RenderingInfo><Message> holding the message before </Event>. Returns 0, or
 * a negative code when the message cannot be added (the caller goes on without it).
 */
static int add_message(struct channel_source *c, size_t len, DWORD units)
{
    const char *end = NULL;
    char *message = NULL;
    int n, rc;

    /* The last "</Event>" closes the event. */
    for (const char *p = c->utf8; (p = strstr(p, "</Event>")) != NULL; p++)
        end = p;
    if (end == NULL)
        return MDM_EPARSE;
    n = WideCharToMultiByte(CP_UTF8, 0, c->message, (int)units, NULL, 0, NULL, NULL);
    if (n <= 0 || (size_t)n > MDM_EVENT_XML_MAX)
        return MDM_ETOOBIG;
    message = mdm_malloc((size_t)n);
    if (message == NULL)
        return MDM_ENOMEM;
    WideCharToMultiByte(CP_UTF8, 0, c->message, (int)units, message, n, NULL, NULL);

    mdm_buf_reset(&c->xml);
    rc = mdm_buf_add(&c->xml, c->utf8, (size_t)(end - c->utf8));
    if (rc == 0)
        rc = mdm_buf_adds(&c->xml, "<RenderingInfo Culture='");
    if (rc == 0)
        rc = channel_xml_escape(&c->xml, c->culture, strlen(c->culture));
    if (rc == 0)
        rc = mdm_buf_adds(&c->xml, "'><Message>");
    if (rc == 0)
        rc = channel_xml_escape(&c->xml, message, (size_t)n);
    if (rc == 0)
        rc = mdm_buf_adds(&c->xml, "</Message></RenderingInfo>");
    if (rc == 0)
        rc = mdm_buf_add(&c->xml, end, len - (size_t)(end - c->utf8));
    mdm_free(message);
    return rc;
}

/* A "record N" label for messages, or "a record" when the ID is unknown. */
static const char *record_label(bool have, uint64_t id, char *buf, size_t size)
{
    if (have)
        snprintf(buf, size, "EventRecordID %" PRIu64, id);
    else
        snprintf(buf, size, "an event");
    return buf;
}

/*
 * Renders one event handle into ev. Returns 0, MDM_EBADRECORD (err names the
 * channel and the record) or MDM_ENOMEM.
 */
int channel_render_event(struct channel_source *c, EVT_HANDLE event, struct mdm_event *ev,
                         struct mdm_err *err)
{
    const WCHAR *provider = NULL;
    WCHAR name[PUBLISHER_NAME_MAX];
    uint64_t record_id = 0;
    bool have_record = false;
    DWORD used = 0, count = 0, units;
    char label[64], text[300];
    const char *xml;
    size_t len;
    int n, rc;

    render_system(c, event, &provider, &record_id, &have_record);
    if (have_record) {
        /* Even a record that cannot be read moves the position past it. */
        c->last_record = record_id;
        c->have_last = true;
    }
    record_label(have_record, record_id, label, sizeof(label));

    if (!EvtRender(NULL, event, EvtRenderEventXml, c->render_size, c->render, &used, &count)) {
        DWORD code = GetLastError();
        WCHAR *bigger;
        if (code != ERROR_INSUFFICIENT_BUFFER)
            return mdm_err_set(err, MDM_EBADRECORD, "%s: %s: cannot render the event: %s",
                               c->origin, label, channel_win_error_text(code, text, sizeof(text)));
        if (used > RENDER_MAX)
            return mdm_err_set(err, MDM_EBADRECORD,
                               "%s: %s: the event renders to %lu bytes of UTF-16, over the "
                               "%u-byte limit",
                               c->origin, label, (unsigned long)used, MDM_EVENT_XML_MAX);
        bigger = mdm_realloc(c->render, used);
        if (bigger == NULL)
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        c->render = bigger;
        c->render_size = used;
        if (!EvtRender(NULL, event, EvtRenderEventXml, c->render_size, c->render, &used, &count))
            return mdm_err_set(err, MDM_EBADRECORD, "%s: %s: cannot render the event: %s",
                               c->origin, label,
                               channel_win_error_text(GetLastError(), text, sizeof(text)));
    }
    units = used / sizeof(WCHAR);
    if (c->render == NULL || units == 0)
        return mdm_err_set(err, MDM_EBADRECORD, "%s: %s: the event renders to nothing", c->origin,
                           label);
    /* BufferUsed counts the terminating NUL; stop at the first NUL in any case. */
    units = (DWORD)wcsnlen(c->render, units);

    /* Unpaired surrogates become U+FFFD: the System values still decide the state. */
    n = units == 0 ? 0
                   : WideCharToMultiByte(CP_UTF8, 0, c->render, (int)units, NULL, 0, NULL, NULL);
    if (n <= 0)
        return mdm_err_set(err, MDM_EBADRECORD, "%s: %s: the event XML is not valid UTF-16",
                           c->origin, label);
    if ((size_t)n > MDM_EVENT_XML_MAX)
        return mdm_err_set(err, MDM_EBADRECORD,
                           "%s: %s: the event renders to %d bytes, over the %u-byte limit",
                           c->origin, label, n, MDM_EVENT_XML_MAX);
    if ((size_t)n + 1 > c->utf8_size) {
        char *bigger = mdm_realloc(c->utf8, (size_t)n + 1);
        if (bigger == NULL)
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        c->utf8 = bigger;
        c->utf8_size = (size_t)n + 1;
    }
    WideCharToMultiByte(CP_UTF8, 0, c->render, (int)units, c->utf8, n, NULL, NULL);
    c->utf8[n] = '\0';
    xml = c->utf8;
    len = (size_t)n;

    /*
     * The message is a bonus: without it the description is the insertion
     * strings. (EvtRenderEventXml gives no <RenderingInfo>; should one be
     * there already, it is kept.)
     */
    if (strstr(c->utf8, "<RenderingInfo") == NULL) {
        if (provider == NULL)
            provider = provider_from_xml(c->utf8, name, PUBLISHER_NAME_MAX);
        units = format_message(c, event, provider);
        rc = units > 0 ? add_message(c, len, units) : MDM_ENOTFOUND;
        if (rc == 0) {
            xml = c->xml.data;
            len = c->xml.len;
        } else {
            InterlockedIncrement64(&render_failures);
        }
    }

    rc = mdm_event_parse_xml(ev, xml, len, err);
    if (rc == MDM_ENOMEM)
        return rc;
    if (rc != 0) {
        mdm_err_prefix(err, "%s: %s: ", c->origin, label);
        err->code = MDM_EBADRECORD;
        return MDM_EBADRECORD;
    }
    ev->origin = c->origin;
    ev->offset = ev->record_id;
    ev->line = 0;
    c->last_record = ev->record_id;
    c->have_last = true;
    return 0;
}

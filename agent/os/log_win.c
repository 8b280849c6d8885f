/*
 * log_win.c - mdm_log.h on Windows: stderr in the foreground, otherwise the
 * Application event log with the source "mdmhealth". The message table is
 * in mdmhealth.exe itself (agent/os/win/mdmhealth_messages.mc, compiled by
 * windmc into mdmhealth_messages.h); `mdmhealth service install` and the
 * MSI register the source with EventMessageFile pointing at the program.
 * Event IDs 1 (error), 2 (warning), 3 (information) and 4 (debug) print the
 * single insertion string "%1".
 */
#include "agent/os/mdm_log.h"

#include "agent/os/win_util.h"

#include <windows.h>

#include "mdmhealth_messages.h"

#include <stdarg.h>
#include <stdio.h>

static bool log_foreground = true;
static bool log_debug;
static HANDLE event_source;

void mdm_log_open(bool foreground, bool debug)
{
    log_foreground = foreground;
    log_debug = debug;
    if (!foreground)
        event_source = RegisterEventSourceW(NULL, L"mdmhealth");
}

void mdm_log_close(void)
{
    if (event_source != NULL)
        DeregisterEventSource(event_source);
    event_source = NULL;
}

void mdm_log(enum mdm_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    static const WORD types[] = {EVENTLOG_ERROR_TYPE, EVENTLOG_WARNING_TYPE,
                                 EVENTLOG_INFORMATION_TYPE, EVENTLOG_INFORMATION_TYPE};
    /* The full 32-bit IDs, severity bits included: Event Viewer looks them up as such. */
    static const DWORD ids[] = {MDM_MSG_ERROR, MDM_MSG_WARNING, MDM_MSG_INFO, MDM_MSG_DEBUG};
    char msg[2048];
    va_list ap;

    if (level == MDM_LOG_DEBUG && !log_debug)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (log_foreground || event_source == NULL) {
        SYSTEMTIME t;
        GetSystemTime(&t);
        fprintf(stderr, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ mdmhealth: %s: %s\n", t.wYear,
                t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, t.wMilliseconds, names[level],
                msg);
        fflush(stderr);
        return;
    }
    {
        wchar_t wmsg[2048];
        const wchar_t *strings[1] = {wmsg};
        if (mdm_win_utf8_to_wide(msg, wmsg, 2048) != 0)
            wcscpy(wmsg, L"(message not representable)");
        ReportEventW(event_source, types[level], 0, ids[level], NULL, 1, 0, strings, NULL);
    }
}

/*
 * log_win.c - log_internal.h on Windows: the clock and the Application
 * event log with the source "mdmhealth". The message table is
 * in mdmhealth.exe itself (agent/os/win/mdmhealth_messages.mc, compiled by
 * windmc into mdmhealth_messages.h); `mdmhealth service install` and the
 * MSI register the source with EventMessageFile pointing at the program.
 * Event IDs 1 (error), 2 (warning), 3 (information) and 4 (debug) print the
 * single insertion string "%1".
 */
#include "agent/os/log_internal.h"

#include "agent/os/win_util.h"

#include <windows.h>

#include "mdmhealth_messages.h"

#include <stdio.h>

static HANDLE event_source;

void mdm_log_system_open(void)
{
    event_source = RegisterEventSourceW(NULL, L"mdmhealth");
}

void mdm_log_system_close(void)
{
    if (event_source != NULL)
        DeregisterEventSource(event_source);
    event_source = NULL;
}

bool mdm_log_system_write(enum mdm_log_level level, const char *msg)
{
    static const WORD types[] = {EVENTLOG_ERROR_TYPE, EVENTLOG_WARNING_TYPE,
                                 EVENTLOG_INFORMATION_TYPE, EVENTLOG_INFORMATION_TYPE};
    /* The full 32-bit IDs, severity bits included: Event Viewer looks them up as such. */
    static const DWORD ids[] = {MDM_MSG_ERROR, MDM_MSG_WARNING, MDM_MSG_INFO, MDM_MSG_DEBUG};
    wchar_t wmsg[2048];
    const wchar_t *strings[1] = {wmsg};

    if (event_source == NULL)
        return false;
    if (mdm_win_utf8_to_wide(msg, wmsg, 2048) != 0)
        wcscpy(wmsg, L"(message not representable)");
    ReportEventW(event_source, types[level], 0, ids[level], NULL, 1, 0, strings, NULL);
    return true;
}

void mdm_log_utc_stamp(char *stamp, size_t size)
{
    SYSTEMTIME t;

    GetSystemTime(&t);
    snprintf(stamp, size, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", t.wYear, t.wMonth, t.wDay, t.wHour,
             t.wMinute, t.wSecond, t.wMilliseconds);
}

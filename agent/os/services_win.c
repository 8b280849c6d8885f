/*
 * services_win.c - mdm_services.h with the Service Control Manager: the
 * Win32 services of this or another computer (EnumServicesStatusExW), whose
 * display names are matched word by word.
 */
#include "agent/os/mdm_services.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"
#include "agent/common/mdm_text.h"
#include "agent/os/win_util.h"

#include <stdio.h>
#include <string.h>
#include <windows.h>

#define SCM_BUFFER_SIZE (256u * 1024u) /* the largest answer EnumServicesStatusExW gives */
#define SCM_CALLS_MAX   1000           /* bounds the resume loop */
#define MACHINE_MAX     260            /* wide characters of "\\name" */
#define DISPLAY_MAX     1024           /* UTF-8 bytes of a display name */

/* True when the len bytes of word occur in text, ASCII case-insensitively. */
static bool contains_word(const char *text, const char *word, size_t len)
{
    if (len == 0)
        return true;
    for (; *text != '\0'; text++) {
        size_t i = 0;
        while (i < len && text[i] != '\0' &&
               mdm_ascii_tolower((unsigned char)text[i]) ==
                   mdm_ascii_tolower((unsigned char)word[i]))
            i++;
        if (i == len)
            return true;
    }
    return false;
}

/* True when every space-separated word of words occurs in text. */
static bool matches(const char *text, const char *words)
{
    const char *p = words;

    while (*p != '\0') {
        size_t len;
        while (*p == ' ')
            p++;
        len = strcspn(p, " ");
        if (len > 0 && !contains_word(text, p, len))
            return false;
        p += len;
    }
    return true;
}

static const char *state_name(DWORD state)
{
    switch (state) {
    case SERVICE_STOPPED:
        return "stopped";
    case SERVICE_START_PENDING:
        return "start pending";
    case SERVICE_STOP_PENDING:
        return "stop pending";
    case SERVICE_RUNNING:
        return "running";
    case SERVICE_CONTINUE_PENDING:
        return "continue pending";
    case SERVICE_PAUSE_PENDING:
        return "pause pending";
    case SERVICE_PAUSED:
        return "paused";
    default:
        return NULL;
    }
}

/*
 * Writes the machine name for OpenSCManagerW into out: "\\name", with the
 * backslashes added when missing. An empty name stays empty (this computer).
 */
static int machine_name(const char *machine, wchar_t *out, size_t count)
{
    char name[MACHINE_MAX];
    int n;

    if (machine[0] == '\\' && machine[1] == '\\')
        n = snprintf(name, sizeof(name), "%s", machine);
    else
        n = snprintf(name, sizeof(name), "\\\\%s", machine);
    if (n < 0 || (size_t)n >= sizeof(name))
        return MDM_EINVAL;
    return mdm_win_utf8_to_wide(name, out, count);
}

int mdm_services_find(const char *machine, const char *words, struct mdm_service_info *out,
                      size_t max, size_t *count, char *why, size_t why_size)
{
    wchar_t wmachine[MACHINE_MAX];
    const char *where = machine != NULL && machine[0] != '\0' ? machine : "this computer";
    char text[256];
    SC_HANDLE scm = NULL;
    BYTE *buf = NULL;
    DWORD resume = 0;
    size_t n = 0;
    bool done = false;
    int calls, rc;

    *count = 0;
    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if (machine != NULL && machine[0] != '\0' &&
        machine_name(machine, wmachine, sizeof(wmachine) / sizeof(wmachine[0])) != 0) {
        if (why != NULL && why_size > 0)
            snprintf(why, why_size, "%s is not a usable computer name", machine);
        rc = MDM_EINVAL;
        goto out;
    }
    scm = OpenSCManagerW(machine != NULL && machine[0] != '\0' ? wmachine : NULL, NULL,
                         SC_MANAGER_ENUMERATE_SERVICE);
    if (scm == NULL) {
        DWORD e = GetLastError();
        mdm_win_error_text(e, text, sizeof(text));
        if (why != NULL && why_size > 0)
            snprintf(why, why_size, "cannot open the Service Control Manager on %s: %s", where,
                     text);
        rc = MDM_EIO;
        goto out;
    }
    buf = mdm_malloc(SCM_BUFFER_SIZE);
    if (buf == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    for (calls = 0; calls < SCM_CALLS_MAX && !done; calls++) {
        DWORD needed = 0, returned = 0, e = ERROR_SUCCESS;
        const ENUM_SERVICE_STATUS_PROCESSW *list;
        if (!EnumServicesStatusExW(scm, SC_ENUM_PROCESS_INFO, SERVICE_WIN32, SERVICE_STATE_ALL, buf,
                                   SCM_BUFFER_SIZE, &needed, &returned, &resume, NULL)) {
            e = GetLastError();
            if (e != ERROR_MORE_DATA) {
                mdm_win_error_text(e, text, sizeof(text));
                if (why != NULL && why_size > 0)
                    snprintf(why, why_size, "cannot list the services on %s: %s", where, text);
                rc = MDM_EIO;
                goto out;
            }
            if (returned == 0) {
                /* Not even one entry fitted: the answer would not progress. */
                if (why != NULL && why_size > 0)
                    snprintf(why, why_size, "the service list of %s does not fit in %u bytes",
                             where, SCM_BUFFER_SIZE);
                rc = MDM_EIO;
                goto out;
            }
        }
        list = (const ENUM_SERVICE_STATUS_PROCESSW *)buf;
        for (DWORD i = 0; i < returned && n < max; i++) {
            char display[DISPLAY_MAX], name[sizeof(out->name) * 2];
            struct mdm_service_info *info = &out[n];
            DWORD state = list[i].ServiceStatusProcess.dwCurrentState;
            const char *state_text = state_name(state);
            if (list[i].lpDisplayName == NULL || list[i].lpServiceName == NULL ||
                mdm_win_wide_to_utf8(list[i].lpDisplayName, display, sizeof(display)) != 0 ||
                mdm_win_wide_to_utf8(list[i].lpServiceName, name, sizeof(name)) != 0)
                continue;
            if (!matches(display, words != NULL ? words : ""))
                continue;
            mdm_utf8_copy(info->name, sizeof(info->name), name);
            mdm_utf8_copy(info->display_name, sizeof(info->display_name), display);
            info->running = state == SERVICE_RUNNING;
            if (state_text != NULL)
                snprintf(info->state, sizeof(info->state), "%s", state_text);
            else
                snprintf(info->state, sizeof(info->state), "unknown (%lu)", (unsigned long)state);
            n++;
        }
        /* The last part of the list has come when the call succeeded. */
        done = e == ERROR_SUCCESS || n >= max;
    }
    if (!done) {
        if (why != NULL && why_size > 0)
            snprintf(why, why_size, "the service list of %s did not end after %d requests", where,
                     SCM_CALLS_MAX);
        rc = MDM_EIO;
        goto out;
    }
    *count = n;
    rc = 0;
out:
    mdm_free(buf);
    if (scm != NULL)
        CloseServiceHandle(scm);
    return rc;
}

int mdm_services_query(const char *machine, const char *name, struct mdm_service_query *out,
                       char *why, size_t why_size)
{
    wchar_t wmachine[MACHINE_MAX], wname[256];
    const char *where = machine != NULL && machine[0] != '\0' ? machine : "this computer";
    char text[256];
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS st;
    QUERY_SERVICE_CONFIGW *cfg = NULL;
    DWORD needed = 0, e;
    int rc;

    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if ((machine != NULL && machine[0] != '\0' &&
         machine_name(machine, wmachine, sizeof(wmachine) / sizeof(wmachine[0])) != 0) ||
        mdm_win_utf8_to_wide(name, wname, sizeof(wname) / sizeof(wname[0])) != 0) {
        if (why != NULL && why_size > 0)
            snprintf(why, why_size, "%s / %s: not a usable computer or service name", where, name);
        rc = MDM_EINVAL;
        goto out;
    }
    scm = OpenSCManagerW(machine != NULL && machine[0] != '\0' ? wmachine : NULL, NULL,
                         SC_MANAGER_CONNECT);
    if (scm == NULL) {
        mdm_win_error_text(GetLastError(), text, sizeof(text));
        if (why != NULL && why_size > 0)
            snprintf(why, why_size, "cannot open the Service Control Manager on %s: %s", where,
                     text);
        rc = MDM_EIO;
        goto out;
    }
    svc = OpenServiceW(scm, wname, SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG);
    if (svc == NULL) {
        e = GetLastError();
        mdm_win_error_text(e, text, sizeof(text));
        if (why != NULL && why_size > 0)
            snprintf(why, why_size, "service %s on %s: %s", name, where, text);
        rc = e == ERROR_SERVICE_DOES_NOT_EXIST ? MDM_ENOTFOUND : MDM_EIO;
        goto out;
    }
    if (!QueryServiceStatus(svc, &st)) {
        mdm_win_error_text(GetLastError(), text, sizeof(text));
        if (why != NULL && why_size > 0)
            snprintf(why, why_size, "service %s on %s: %s", name, where, text);
        rc = MDM_EIO;
        goto out;
    }
    /* The configuration's size is asked first; 8 KiB is far more than it takes. */
    QueryServiceConfigW(svc, NULL, 0, &needed);
    if (needed == 0 || needed > 8192 || (cfg = mdm_malloc(needed)) == NULL ||
        !QueryServiceConfigW(svc, cfg, needed, &needed)) {
        if (why != NULL && why_size > 0)
            snprintf(why, why_size, "service %s on %s: its start type cannot be read", name, where);
        rc = MDM_EIO;
        goto out;
    }
    out->running = st.dwCurrentState == SERVICE_RUNNING;
    out->automatic_start = cfg->dwStartType == SERVICE_AUTO_START;
    snprintf(out->state, sizeof(out->state), "%s", state_name(st.dwCurrentState));
    rc = 0;
out:
    mdm_free(cfg);
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    return rc;
}

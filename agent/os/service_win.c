/* service_win.c - mdm_service.h with the Windows Service Control Manager. */
#include "agent/os/mdm_service.h"

#include "agent/os/mdm_signal.h"
#include "agent/os/win_util.h"

#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#define WNAME    L"mdmhealth"
#define WDISPLAY L"MDM Enrollment Connection Health"
#define WDESCRIPTION                                                                               \
    L"Watches the Mobile Device Manager event log (SCMDM 2008 Enrollment Connection Health "       \
    L"Monitor), diagnoses failures and reports them over SNMP."

/*
 * The Application event log source of the service's own messages
 * (agent/os/log_win.c). The MSI writes the same key and values: keep the
 * names in step with installer/.
 */
#define WEVENT_SOURCE_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\" WNAME
#define EVENT_SOURCE_KEY                                                                           \
    "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\mdmhealth"

static int win_error(struct mdm_err *err, DWORD e, const char *what)
{
    char why[256];

    mdm_win_error_text(e, why, sizeof(why));
    return mdm_err_set(err, MDM_EIO, "service: %s: %s%s", what, why,
                       e == ERROR_ACCESS_DENIED ? " (run as an administrator)" : "");
}

static int scm_error(struct mdm_err *err, const char *what)
{
    return win_error(err, GetLastError(), what);
}

/*
 * Registers the event source: EventMessageFile (REG_EXPAND_SZ) is this
 * program, which holds the message table, and TypesSupported (REG_DWORD 7)
 * says it reports errors, warnings and information. Running it again
 * rewrites the same values.
 */
static int register_event_source(const wchar_t *exe, struct mdm_err *err)
{
    DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
    HKEY key = NULL;
    LSTATUS status;

    status =
        RegCreateKeyExW(HKEY_LOCAL_MACHINE, WEVENT_SOURCE_KEY, 0, NULL, REG_OPTION_NON_VOLATILE,
                        KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &key, NULL);
    if (status == ERROR_SUCCESS)
        status = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)exe,
                                (DWORD)((wcslen(exe) + 1) * sizeof(wchar_t)));
    if (status == ERROR_SUCCESS)
        status = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types,
                                sizeof(types));
    if (key != NULL)
        RegCloseKey(key);
    if (status != ERROR_SUCCESS)
        return win_error(err, (DWORD)status, "cannot register the event source " EVENT_SOURCE_KEY);
    return 0;
}

/* Removes the event source; an absent one is not an error. */
static int unregister_event_source(struct mdm_err *err)
{
    LSTATUS status = RegDeleteKeyExW(HKEY_LOCAL_MACHINE, WEVENT_SOURCE_KEY, KEY_WOW64_64KEY, 0);

    if (status != ERROR_SUCCESS && status != ERROR_FILE_NOT_FOUND)
        return win_error(err, (DWORD)status, "cannot remove the event source " EVENT_SOURCE_KEY);
    return 0;
}

/*
 * What CreateService cannot set: the description and the recovery actions
 * (restart after 1 min, 1 min, then 5 min; the count resets after a day),
 * also on a stop with a non-zero exit code, which is how the service ends on
 * a fatal error. Used by install and by `service configure`, which the MSI
 * runs after its ServiceInstall because wixl has no util:ServiceConfig.
 */
static int configure(SC_HANDLE svc, struct mdm_err *err)
{
    SERVICE_DESCRIPTIONW desc = {(LPWSTR)WDESCRIPTION};
    SC_ACTION actions[3] = {
        {SC_ACTION_RESTART, 60000}, {SC_ACTION_RESTART, 60000}, {SC_ACTION_RESTART, 300000}};
    SERVICE_FAILURE_ACTIONSW failure = {86400, NULL, NULL, 3, actions};
    SERVICE_FAILURE_ACTIONS_FLAG on_exit_code = {TRUE};

    if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &desc))
        return scm_error(err, "cannot set the service's description");
    if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &failure))
        return scm_error(err, "cannot set the service's recovery actions");
    /*
     * Every Windows since Vista knows this level; Wine 8 answers
     * ERROR_INVALID_LEVEL, and there the restart on a crash stays.
     */
    if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &on_exit_code) &&
        GetLastError() != ERROR_INVALID_LEVEL)
        return scm_error(err, "cannot set the service's recovery on a failure exit code");
    return 0;
}

static int install(SC_HANDLE scm, const char *config_path, struct mdm_err *err)
{
    wchar_t exe[MAX_PATH], wconfig[2048], cmd[MAX_PATH + 2200];
    SC_HANDLE svc;
    int rc;

    if (GetModuleFileNameW(NULL, exe, MAX_PATH) == 0 || GetLastError() == ERROR_INSUFFICIENT_BUFFER)
        return scm_error(err, "cannot find this program's path");
    if (mdm_win_utf8_to_wide(config_path, wconfig, 2048) != 0)
        return mdm_err_set(err, MDM_EINVAL, "service install: configuration path too long");
    _snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"\"%ls\" run --service -c \"%ls\"", exe,
               wconfig);
    cmd[sizeof(cmd) / sizeof(cmd[0]) - 1] = L'\0';
    svc = CreateServiceW(scm, WNAME, WDISPLAY, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                         SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmd, NULL, NULL, L"EventLog\0",
                         L"NT AUTHORITY\\NetworkService", NULL);
    if (svc == NULL)
        return scm_error(err, GetLastError() == ERROR_SERVICE_EXISTS
                                  ? "cannot create the service (to reinstall, run "
                                    "`mdmhealth service uninstall` first)"
                                  : "cannot create the service");
    /*
     * All or nothing: a service without its recovery actions, or whose
     * messages Event Viewer cannot show, is not installed.
     */
    rc = configure(svc, err);
    if (rc == 0)
        rc = register_event_source(exe, err);
    if (rc != 0)
        DeleteService(svc);
    CloseServiceHandle(svc);
    return rc;
}

int mdm_service_manage(const char *verb, const char *config_path, struct mdm_err *err)
{
    SC_HANDLE scm, svc = NULL;
    SERVICE_STATUS status;
    struct mdm_err ignored;
    int rc = 0;

    if (strcmp(verb, "install") != 0 && strcmp(verb, "uninstall") != 0 &&
        strcmp(verb, "start") != 0 && strcmp(verb, "stop") != 0 && strcmp(verb, "configure") != 0)
        return mdm_err_set(err, MDM_EINVAL,
                           "service: unknown action \"%s\" (install, uninstall, "
                           "start, stop, configure)",
                           verb);
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_ALL_ACCESS);
    if (scm == NULL)
        return scm_error(err, "cannot open the Service Control Manager");
    if (strcmp(verb, "install") == 0) {
        rc = install(scm, config_path, err);
        goto out;
    }
    svc = OpenServiceW(scm, WNAME, SERVICE_ALL_ACCESS);
    if (svc == NULL) {
        rc = scm_error(err, "cannot open the mdmhealth service");
        /* Still remove a left-over event source; the missing service is the error reported. */
        if (strcmp(verb, "uninstall") == 0)
            unregister_event_source(&ignored);
        goto out;
    }
    if (strcmp(verb, "uninstall") == 0) {
        ControlService(svc, SERVICE_CONTROL_STOP, &status);
        if (!DeleteService(svc))
            rc = scm_error(err, "cannot delete the service");
        else
            rc = unregister_event_source(err);
    } else if (strcmp(verb, "configure") == 0) {
        rc = configure(svc, err);
    } else if (strcmp(verb, "start") == 0) {
        if (!StartServiceW(svc, 0, NULL))
            rc = scm_error(err, "cannot start the service");
    } else if (!ControlService(svc, SERVICE_CONTROL_STOP, &status)) {
        rc = scm_error(err, "cannot stop the service");
    }
out:
    if (svc != NULL)
        CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return rc;
}

static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS service_status;
static int (*service_body)(void *ctx);
static void *service_ctx;
static int service_result;

/*
 * Tells the Service Control Manager the service's state. A stop on error is
 * reported as ERROR_SERVICE_SPECIFIC_ERROR with our exit status (1 runtime
 * failure, 2 configuration error) in dwServiceSpecificExitCode, which `sc
 * query` shows and the SCM's own event names; the reason itself is in our
 * Event Log messages.
 */
static void report(DWORD state, DWORD exit_code, DWORD specific_code)
{
    service_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    service_status.dwCurrentState = state;
    service_status.dwControlsAccepted =
        state == SERVICE_RUNNING
            ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE
            : 0;
    service_status.dwWin32ExitCode = exit_code;
    service_status.dwServiceSpecificExitCode =
        exit_code == ERROR_SERVICE_SPECIFIC_ERROR ? specific_code : 0;
    service_status.dwWaitHint =
        state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING ? 30000 : 0;
    SetServiceStatus(status_handle, &service_status);
}

static DWORD WINAPI on_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        report(SERVICE_STOP_PENDING, NO_ERROR, 0);
        mdm_signal_raise(MDM_SIGNAL_STOP);
        return NO_ERROR;
    case SERVICE_CONTROL_PARAMCHANGE:
        mdm_signal_raise(MDM_SIGNAL_RELOAD);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    (void)argc;
    (void)argv;
    status_handle = RegisterServiceCtrlHandlerExW(WNAME, on_control, NULL);
    if (status_handle == NULL)
        return;
    report(SERVICE_RUNNING, NO_ERROR, 0);
    service_result = service_body(service_ctx);
    report(SERVICE_STOPPED, service_result == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR,
           (DWORD)service_result);
}

int mdm_service_run(int (*body)(void *ctx), void *ctx, struct mdm_err *err)
{
    SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)WNAME, service_main}, {NULL, NULL}};

    service_body = body;
    service_ctx = ctx;
    if (!StartServiceCtrlDispatcherW(table))
        return scm_error(err, "not started by the Service Control Manager");
    return service_result;
}

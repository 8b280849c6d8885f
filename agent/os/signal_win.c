/*
 * signal_win.c - mdm_signal.h on Windows: Ctrl+C, Ctrl+Break and console
 * close stop the agent; the service control handler (service_win.c) calls
 * mdm_signal_raise() for SERVICE_CONTROL_STOP / SHUTDOWN and PARAMCHANGE
 * (reload). The main loop waits on a loopback wake-up socket.
 */
#include "agent/os/mdm_signal.h"

#include "agent/os/mdm_wakeup.h"

#include <windows.h>

static struct mdm_wakeup *wake;
static volatile LONG pending;

void mdm_signal_raise(int what)
{
    InterlockedOr(&pending, what);
    if (wake != NULL)
        mdm_wakeup_post(wake);
}

static BOOL WINAPI on_console(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        mdm_signal_raise(MDM_SIGNAL_STOP);
        return TRUE;
    default:
        return FALSE;
    }
}

int mdm_signal_open(struct mdm_err *err)
{
    int rc = mdm_wakeup_open(&wake, err);

    if (rc != 0)
        return rc;
    SetConsoleCtrlHandler(on_console, TRUE);
    return 0;
}

int mdm_signal_fd(void)
{
    return mdm_wakeup_fd(wake);
}

int mdm_signal_take(void)
{
    mdm_wakeup_drain(wake);
    return (int)InterlockedExchange(&pending, 0);
}

void mdm_signal_close(void)
{
    SetConsoleCtrlHandler(on_console, FALSE);
    mdm_wakeup_close(wake);
    wake = NULL;
}

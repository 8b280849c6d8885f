/*
 * follow_win.c - follow.h on Windows: a directory change notification
 * (FindFirstChangeNotificationW) on the file's directory, waited for by a
 * small thread that wakes the main loop through a loopback socket, since
 * select() on Windows takes sockets only.
 *
 * Change notifications are not delivered in every setting (files on network
 * shares, written through SMB; Wine's emulation of them): the watcher also
 * wakes the loop once a second, so a growing file is always picked up. That
 * is one cheap read attempt per second, and only for xml-follow; the
 * Windows event log source is woken by EvtSubscribe's signal instead.
 */
#include <winsock2.h>

#include <windows.h>

#include "wevt/follow.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_wakeup.h"
#include "agent/os/win_util.h"

#include <string.h>

struct mdm_follow {
    HANDLE change;
    HANDLE stop;
    HANDLE thread;
    struct mdm_wakeup *wake;
};

static DWORD WINAPI watcher(LPVOID arg)
{
    struct mdm_follow *f = arg;
    HANDLE both[2] = {f->stop, f->change};

    for (;;) {
        DWORD r = WaitForMultipleObjects(2, both, FALSE, 1000);
        if (r == WAIT_TIMEOUT) {
            mdm_wakeup_post(f->wake);
            continue;
        }
        if (r != WAIT_OBJECT_0 + 1)
            return 0;
        mdm_wakeup_post(f->wake);
        if (!FindNextChangeNotification(f->change))
            return 0;
    }
}

int mdm_follow_open(struct mdm_follow **out, const char *path, struct mdm_err *err)
{
    struct mdm_follow *f = mdm_calloc(1, sizeof(*f));
    char dir[MDM_PATH_MAX];
    wchar_t wdir[MDM_PATH_MAX];
    const char *slash = strrchr(path, '\\');
    const char *fwd = strrchr(path, '/');
    int rc;

    if (f == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    if (fwd != NULL && (slash == NULL || fwd > slash))
        slash = fwd;
    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        size_t len =
            (size_t)(slash - path) + (slash == path || (slash == path + 2 && path[1] == ':'));
        if (len >= sizeof(dir)) {
            mdm_free(f);
            return mdm_err_set(err, MDM_EINVAL, "%s: path too long", path);
        }
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    if (mdm_win_utf8_to_wide(dir, wdir, MDM_PATH_MAX) != 0) {
        mdm_free(f);
        return mdm_err_set(err, MDM_EINVAL, "%s: path not representable", path);
    }
    rc = mdm_wakeup_open(&f->wake, err);
    if (rc != 0) {
        mdm_free(f);
        return rc;
    }
    /* The directory is watched, not the file: creation and replacement are seen too. */
    f->change = FindFirstChangeNotificationW(
        wdir, FALSE,
        FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_SIZE | FILE_NOTIFY_CHANGE_LAST_WRITE);
    f->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (f->change == INVALID_HANDLE_VALUE || f->stop == NULL ||
        (f->thread = CreateThread(NULL, 0, watcher, f, 0, NULL)) == NULL) {
        char why[256];
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        if (f->change != INVALID_HANDLE_VALUE)
            FindCloseChangeNotification(f->change);
        if (f->stop != NULL)
            CloseHandle(f->stop);
        mdm_wakeup_close(f->wake);
        mdm_free(f);
        return mdm_err_set(err, MDM_EIO, "%s: cannot watch directory %s: %s", path, dir, why);
    }
    *out = f;
    return 0;
}

int mdm_follow_fd(struct mdm_follow *f)
{
    return mdm_wakeup_fd(f->wake);
}

int mdm_follow_wait(struct mdm_follow *f, int timeout_ms)
{
    fd_set fds;
    struct timeval tv;
    SOCKET s = (SOCKET)mdm_wakeup_fd(f->wake);

    FD_ZERO(&fds);
    FD_SET(s, &fds);
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    if (select(0, &fds, NULL, NULL, timeout_ms < 0 ? NULL : &tv) == SOCKET_ERROR)
        return MDM_EIO;
    mdm_wakeup_drain(f->wake);
    return 0;
}

void mdm_follow_close(struct mdm_follow *f)
{
    if (f == NULL)
        return;
    SetEvent(f->stop);
    WaitForSingleObject(f->thread, INFINITE);
    CloseHandle(f->thread);
    CloseHandle(f->stop);
    FindCloseChangeNotification(f->change);
    mdm_wakeup_close(f->wake);
    mdm_free(f);
}

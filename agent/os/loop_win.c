/*
 * loop_win.c - the wait of mdm_loop.h on Windows: Winsock select() over the
 * watched sockets.
 *
 * Everything the agent waits on is a socket on Windows: Net-SNMP's, and
 * loopback wake-up sockets (mdm_wakeup.h) that stand for the handles the
 * backends really wait on (EvtSubscribe's signal event in
 * source_channel_win.c, the directory change notification in follow_win.c,
 * the service control handler and the console in signal_win.c), each turned
 * into a wake-up by a small thread of its own. Waiting on the handles
 * themselves (WaitForMultipleObjects, with WSAEventSelect for the sockets)
 * was not taken: WSAEventSelect puts a socket in non-blocking mode for good,
 * which Net-SNMP's blocking sends on its own sockets do not expect
 * (docs/event-loop.md).
 */
/* Our own fd_set holds this many sockets (Winsock's default is 64). */
#define FD_SETSIZE 256

#include <winsock2.h>
#include <windows.h>

#include "agent/os/loop_internal.h"

#include "agent/common/mdm_alloc.h"

#include <string.h>

struct mdm_loop_backend {
    fd_set set;
};

int mdm_loop_backend_new(struct mdm_loop_backend **out, struct mdm_err *err)
{
    struct mdm_loop_backend *b = mdm_calloc(1, sizeof(*b));

    if (b == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    *out = b;
    return 0;
}

void mdm_loop_backend_free(struct mdm_loop_backend *b)
{
    mdm_free(b);
}

int mdm_loop_backend_reserve(struct mdm_loop_backend *b, size_t count)
{
    (void)b;
    return count <= FD_SETSIZE ? 0 : MDM_ETOOBIG;
}

int mdm_loop_backend_wait(struct mdm_loop_backend *b, struct mdm_loop_io *const *ios, size_t count,
                          int timeout_ms, struct mdm_err *err)
{
    struct timeval tv;
    int n, ready = 0;

    if (count == 0) {
        /* select() refuses an empty set (WSAEINVAL): only the timers are left to wait for. */
        Sleep(timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
        return 0;
    }
    FD_ZERO(&b->set);
    for (size_t i = 0; i < count; i++)
        FD_SET((SOCKET)ios[i]->fd, &b->set);
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    n = select(0, &b->set, NULL, NULL, timeout_ms < 0 ? NULL : &tv);
    if (n == SOCKET_ERROR) {
        int e = WSAGetLastError();
        if (e == WSAEINTR)
            return 0;
        return mdm_err_set(err, MDM_EIO, "select: WSA error %d", e);
    }
    for (size_t i = 0; n > 0 && i < count; i++) {
        if (FD_ISSET((SOCKET)ios[i]->fd, &b->set)) {
            ios[i]->ready = true;
            ready++;
        }
    }
    return ready;
}

size_t mdm_loop_fd_set_list(const void *fds_arg, int maxfd, int *out, size_t cap)
{
    /*
     * A Winsock fd_set is a count and an array of sockets, whatever FD_SETSIZE
     * the code that filled it was built with; maxfd means nothing here.
     */
    const fd_set *fds = fds_arg;
    size_t n = 0;

    (void)maxfd;
    for (u_int i = 0; i < fds->fd_count; i++) {
        if (n < cap)
            out[n] = (int)fds->fd_array[i];
        n++;
    }
    return n;
}

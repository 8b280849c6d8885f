/*
 * wakeup_win.c - mdm_wakeup.h on Windows. select() takes only sockets, so
 * the wake-up is a UDP socket bound to 127.0.0.1 and connected to itself:
 * posting sends a datagram to it, draining reads them all.
 */
#include "agent/os/mdm_wakeup.h"

#include "agent/common/mdm_alloc.h"

#include <winsock2.h>
#include <ws2tcpip.h>

#include <windows.h>

struct mdm_wakeup {
    SOCKET s;
};

static INIT_ONCE winsock_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK start_winsock(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    WSADATA wsa;
    (void)once;
    (void)param;
    (void)ctx;
    return WSAStartup(MAKEWORD(2, 2), &wsa) == 0;
}

int mdm_wakeup_open(struct mdm_wakeup **out, struct mdm_err *err)
{
    struct mdm_wakeup *w = mdm_calloc(1, sizeof(*w));
    struct sockaddr_in a;
    int len = sizeof(a);
    u_long nonblocking = 1;

    if (w == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    InitOnceExecuteOnce(&winsock_once, start_winsock, NULL, NULL);
    w->s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (w->s == INVALID_SOCKET || bind(w->s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(w->s, (struct sockaddr *)&a, &len) != 0 ||
        connect(w->s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        ioctlsocket(w->s, FIONBIO, &nonblocking) != 0) {
        int e = WSAGetLastError();
        if (w->s != INVALID_SOCKET)
            closesocket(w->s);
        mdm_free(w);
        return mdm_err_set(err, MDM_EIO, "cannot create a loopback wake-up socket (WSA error %d)",
                           e);
    }
    *out = w;
    return 0;
}

int mdm_wakeup_fd(const struct mdm_wakeup *w)
{
    /* Winsock handles fit in an int in practice; fd_set takes them back as SOCKET. */
    return (int)w->s;
}

void mdm_wakeup_post(struct mdm_wakeup *w)
{
    char c = 1;

    send(w->s, &c, 1, 0);
}

void mdm_wakeup_drain(struct mdm_wakeup *w)
{
    char buf[64];

    while (recv(w->s, buf, sizeof(buf), 0) > 0)
        ;
}

void mdm_wakeup_close(struct mdm_wakeup *w)
{
    if (w == NULL)
        return;
    closesocket(w->s);
    mdm_free(w);
}

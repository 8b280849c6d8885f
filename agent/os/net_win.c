/*
 * net_win.c - mdm_net.h on Windows: Winsock 2 name resolution and TCP, ICMP
 * echo through the IP Helper API (IcmpSendEcho2 / Icmp6SendEcho2, which need
 * no administrator), and GetAdaptersAddresses for gateways, DNS servers and
 * this computer's addresses.
 *
 * Winsock is started once, on first use, and stays started for the life of
 * the process (there is no matching WSACleanup).
 */
/* Winsock 2 comes before windows.h (which win_util.h includes), or the old winsock.h wins. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>
#include <icmpapi.h>
#include <windows.h>

#include "agent/os/mdm_net.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"
#include "agent/common/mdm_text.h"
#include "agent/os/win_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define ADAPTERS_FIRST_SIZE (16u * 1024u)   /* first guess for GetAdaptersAddresses */
#define ADAPTERS_MAX_SIZE   (1024u * 1024u) /* hard cap of its answer */
#define ECHO_REPLY_SIZE     1024u           /* replies + the ICMP error + an IO_STATUS_BLOCK */

/*
 * Icmp6SendEcho2 writes an ICMPV6_ECHO_REPLY_LH, whose IPV6_ADDRESS_EX is
 * byte-packed in the Windows SDK (and missing from mingw-w64's headers): the
 * status sits at offset 28 and the round-trip time at 32.
 */
#pragma pack(push, 1)
struct icmp6_address {
    USHORT port;
    ULONG flowinfo;
    USHORT addr[8];
    ULONG scope_id;
};
#pragma pack(pop)

struct icmp6_reply {
    struct icmp6_address address;
    ULONG status;
    unsigned int round_trip_time;
};

_Static_assert(offsetof(struct icmp6_reply, status) == 28, "ICMPV6_ECHO_REPLY_LH layout");
_Static_assert(sizeof(struct icmp6_reply) == 36, "ICMPV6_ECHO_REPLY_LH size");

static INIT_ONCE winsock_once = INIT_ONCE_STATIC_INIT;
static int winsock_error; /* WSAStartup's result, written once under winsock_once */

static BOOL CALLBACK winsock_start(PINIT_ONCE once, PVOID param, PVOID *context)
{
    WSADATA data;

    (void)once;
    (void)param;
    (void)context;
    winsock_error = WSAStartup(MAKEWORD(2, 2), &data);
    return TRUE;
}

static void say(char *why, size_t size, const char *fmt, ...) MDM_PRINTF_FORMAT(3, 4);

static void say(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
}

/* Starts Winsock once per process. Returns 0 or MDM_EIO with why set. */
static int net_start(char *why, size_t why_size)
{
    char text[256];

    InitOnceExecuteOnce(&winsock_once, winsock_start, NULL, NULL);
    if (winsock_error == 0)
        return 0;
    mdm_win_error_text((DWORD)winsock_error, text, sizeof(text));
    say(why, why_size, "Winsock cannot start: %s", text);
    return MDM_EIO;
}

/* Writes the numeric text of sa ("192.0.2.1", "fe80::1%12") into out. */
static int addr_text(const struct sockaddr *sa, size_t len, char *out, size_t size)
{
    char text[NI_MAXHOST];

    if (getnameinfo(sa, (socklen_t)len, text, sizeof(text), NULL, 0, NI_NUMERICHOST) != 0 ||
        strlen(text) >= size)
        return MDM_EINVAL;
    memcpy(out, text, strlen(text) + 1);
    return 0;
}

/*
 * Parses an address literal (IPv6 with an optional "%zone") into ss with
 * port. Returns 0 or MDM_EINVAL.
 */
static int to_sockaddr(const char *addr, unsigned port, struct sockaddr_storage *ss, int *len)
{
    struct addrinfo hints, *res = NULL;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(addr, NULL, &hints, &res) != 0 || res == NULL)
        return MDM_EINVAL;
    if (res->ai_addrlen > sizeof(*ss) ||
        (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
        freeaddrinfo(res);
        return MDM_EINVAL;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = (int)res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((u_short)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((u_short)port);
    return 0;
}

int mdm_net_resolve(const char *host, char (*addrs)[MDM_ADDR_MAX], size_t max, size_t *count,
                    char *why, size_t why_size)
{
    wchar_t whost[NI_MAXHOST];
    ADDRINFOW hints, *res = NULL;
    char text[256];
    size_t n = 0;
    int rc;

    rc = net_start(why, why_size);
    if (rc != 0)
        return rc;
    if (mdm_win_utf8_to_wide(host, whost, sizeof(whost) / sizeof(whost[0])) != 0) {
        say(why, why_size, "%s is not a usable host name", host);
        return MDM_EINVAL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = GetAddrInfoW(whost, NULL, &hints, &res);
    if (rc != 0) {
        mdm_win_error_text((DWORD)rc, text, sizeof(text));
        say(why, why_size, "%s does not resolve: %s", host, text);
        return rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_FAIL ? MDM_ENOTFOUND : MDM_EIO;
    }
    for (ADDRINFOW *ai = res; ai != NULL && n < max; ai = ai->ai_next) {
        char addr[MDM_ADDR_MAX];
        bool dup = false;
        if (addr_text(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr)) != 0)
            continue;
        for (size_t i = 0; i < n; i++)
            dup = dup || strcmp(addrs[i], addr) == 0;
        if (!dup)
            snprintf(addrs[n++], MDM_ADDR_MAX, "%s", addr);
    }
    FreeAddrInfoW(res);
    if (n == 0) {
        say(why, why_size, "%s resolves to no usable address", host);
        return MDM_ENOTFOUND;
    }
    *count = n;
    return 0;
}

/*
 * Writes the text of an IP_* status of an echo reply into out. The table is
 * ours: GetIpErrorString is localized and missing from Wine.
 */
static void ip_status_text(DWORD status, char *out, size_t size)
{
    static const char *const texts[] = {
        "",                                 /* IP_STATUS_BASE itself is no status */
        "reply buffer too small",           /* IP_BUF_TOO_SMALL, 11001 */
        "destination network unreachable",  /* IP_DEST_NET_UNREACHABLE */
        "destination host unreachable",     /* IP_DEST_HOST_UNREACHABLE */
        "destination protocol unreachable", /* IP_DEST_PROT_UNREACHABLE */
        "destination port unreachable",     /* IP_DEST_PORT_UNREACHABLE */
        "no resources",                     /* IP_NO_RESOURCES */
        "bad option",                       /* IP_BAD_OPTION */
        "hardware error",                   /* IP_HW_ERROR */
        "packet too big",                   /* IP_PACKET_TOO_BIG */
        "request timed out",                /* IP_REQ_TIMED_OUT */
        "bad request",                      /* IP_BAD_REQ */
        "bad route",                        /* IP_BAD_ROUTE */
        "TTL expired in transit",           /* IP_TTL_EXPIRED_TRANSIT */
        "TTL expired during reassembly",    /* IP_TTL_EXPIRED_REASSEM */
        "parameter problem",                /* IP_PARAM_PROBLEM */
        "source quench",                    /* IP_SOURCE_QUENCH */
        "option too big",                   /* IP_OPTION_TOO_BIG */
        "bad destination",                  /* IP_BAD_DESTINATION, 11018 */
    };
    DWORD i = status - IP_STATUS_BASE;

    if (status > IP_STATUS_BASE && i < sizeof(texts) / sizeof(texts[0]))
        snprintf(out, size, "%s (IP status %lu)", texts[i], (unsigned long)status);
    else if (status == IP_GENERAL_FAILURE)
        snprintf(out, size, "general failure (IP status %lu)", (unsigned long)status);
    else
        snprintf(out, size, "IP status %lu", (unsigned long)status);
}

/*
 * The code for a failure to use the IP Helper's ICMP at all: refused or not
 * implemented is MDM_EUNSUPPORTED ("this process may not send ICMP", which
 * the checks report as an error of the check), anything else MDM_EIO.
 */
static int icmp_error_code(DWORD error)
{
    if (error == ERROR_ACCESS_DENIED || mdm_win_error_code(error) == MDM_EUNSUPPORTED)
        return MDM_EUNSUPPORTED;
    return MDM_EIO;
}

/*
 * Sends one echo request with IcmpSendEcho2 or Icmp6SendEcho2 and reads the
 * status of the answer. A timeout and an unreachable network or host are
 * MDM_EAGAIN (no reply), like on POSIX.
 */
int mdm_net_ping(const char *addr, int timeout_ms, int *rtt_ms, char *why, size_t why_size)
{
    static const char payload[] = "mdmhealth diagnoser echo";
    union {
        ICMP_ECHO_REPLY v4;
        struct icmp6_reply v6;
        unsigned char bytes[ECHO_REPLY_SIZE];
    } reply;
    struct sockaddr_storage ss;
    char text[256];
    HANDLE h;
    DWORD replies, status, rtt, timeout = timeout_ms > 0 ? (DWORD)timeout_ms : 1;
    bool v6;
    int len, rc;

    rc = net_start(why, why_size);
    if (rc != 0)
        return rc;
    if (to_sockaddr(addr, 0, &ss, &len) != 0) {
        say(why, why_size, "%s is not an IP address", addr);
        return MDM_EINVAL;
    }
    v6 = ss.ss_family == AF_INET6;
    h = v6 ? Icmp6CreateFile() : IcmpCreateFile();
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        mdm_win_error_text(e, text, sizeof(text));
        say(why, why_size, "this process cannot send ICMP%s echo: %s", v6 ? "v6" : "", text);
        return icmp_error_code(e);
    }
    memset(&reply, 0, sizeof(reply));
    if (v6) {
        struct sockaddr_in6 source;
        memset(&source, 0, sizeof(source));
        source.sin6_family = AF_INET6;
        replies = Icmp6SendEcho2(h, NULL, NULL, NULL, &source, (struct sockaddr_in6 *)&ss,
                                 (LPVOID)payload, (WORD)(sizeof(payload) - 1), NULL, &reply,
                                 sizeof(reply), timeout);
    } else {
        replies = IcmpSendEcho2(h, NULL, NULL, NULL, ((struct sockaddr_in *)&ss)->sin_addr.s_addr,
                                (LPVOID)payload, (WORD)(sizeof(payload) - 1), NULL, &reply,
                                sizeof(reply), timeout);
    }
    status = replies > 0 ? (v6 ? reply.v6.status : reply.v4.Status) : GetLastError();
    rtt = v6 ? reply.v6.round_trip_time : reply.v4.RoundTripTime;
    IcmpCloseHandle(h);
    if (replies > 0 && status == IP_SUCCESS) {
        *rtt_ms = (int)rtt;
        return 0;
    }
    if (status == IP_REQ_TIMED_OUT) {
        say(why, why_size, "no echo reply from %s within the timeout", addr);
        return MDM_EAGAIN;
    }
    if (status >= IP_STATUS_BASE && status <= MAX_IP_STATUS) {
        ip_status_text(status, text, sizeof(text));
        say(why, why_size, "no echo reply from %s: %s", addr, text);
        return MDM_EAGAIN;
    }
    mdm_win_error_text(status, text, sizeof(text));
    say(why, why_size, "cannot send ICMP echo to %s: %s", addr, text);
    if (status == ERROR_NETWORK_UNREACHABLE || status == ERROR_HOST_UNREACHABLE)
        return MDM_EAGAIN;
    return icmp_error_code(status);
}

/* A socket that child processes do not inherit (like SOCK_CLOEXEC). */
static SOCKET tcp_socket(int family)
{
    SOCKET s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);

    /* Windows 7 before SP1 does not know WSA_FLAG_NO_HANDLE_INHERIT. */
    if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) {
        s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
        if (s != INVALID_SOCKET)
            SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    }
    return s;
}

int mdm_net_tcp_connect(const char *addr, unsigned port, int timeout_ms, intptr_t *sock, char *why,
                        size_t why_size)
{
    struct sockaddr_storage ss;
    struct timeval tv;
    fd_set writable, failed;
    char text[256];
    SOCKET s;
    u_long mode;
    DWORD ms = timeout_ms > 0 ? (DWORD)timeout_ms : 1;
    int len, err = 0, elen = sizeof(err), rc;

    rc = net_start(why, why_size);
    if (rc != 0)
        return rc;
    if (to_sockaddr(addr, port, &ss, &len) != 0) {
        say(why, why_size, "%s is not an IP address", addr);
        return MDM_EINVAL;
    }
    s = tcp_socket(ss.ss_family);
    if (s == INVALID_SOCKET) {
        mdm_win_error_text((DWORD)WSAGetLastError(), text, sizeof(text));
        say(why, why_size, "cannot create a socket: %s", text);
        return MDM_EIO;
    }
    mode = 1;
    if (ioctlsocket(s, FIONBIO, &mode) != 0) {
        err = WSAGetLastError();
        goto failed;
    }
    if (connect(s, (struct sockaddr *)&ss, len) != 0) {
        err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK)
            goto failed;
        /* Windows reports a failed connect in the exception set, not as writable. */
        FD_ZERO(&writable);
        FD_ZERO(&failed);
        FD_SET(s, &writable);
        FD_SET(s, &failed);
        tv.tv_sec = (long)(ms / 1000);
        tv.tv_usec = (long)(ms % 1000) * 1000;
        rc = select(0, NULL, &writable, &failed, &tv);
        if (rc == 0) {
            closesocket(s);
            say(why, why_size, "no answer from %s within the timeout (port %u filtered?)", addr,
                port);
            return MDM_EAGAIN;
        }
        if (rc == SOCKET_ERROR) {
            err = WSAGetLastError();
            goto failed;
        }
        err = 0;
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &elen) != 0)
            err = WSAGetLastError();
        if (err == 0 && FD_ISSET(s, &failed))
            err = WSAECONNREFUSED;
        if (err != 0)
            goto failed;
    }
    /* Back to blocking, with reads and writes bounded by the same timeout. */
    mode = 0;
    if (ioctlsocket(s, FIONBIO, &mode) != 0) {
        err = WSAGetLastError();
        goto failed;
    }
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&ms, sizeof(ms));
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (const char *)&ms, sizeof(ms));
    *sock = (intptr_t)s;
    return 0;

failed:
    closesocket(s);
    mdm_win_error_text((DWORD)err, text, sizeof(text));
    say(why, why_size, "connection to %s port %u failed: %s", addr, port, text);
    return err == WSAETIMEDOUT ? MDM_EAGAIN : MDM_EIO;
}

void mdm_net_close(intptr_t sock)
{
    if (sock >= 0 && (SOCKET)sock != INVALID_SOCKET)
        closesocket((SOCKET)sock);
}

/*
 * Lists the adapters (GetAdaptersAddresses, both address families). On
 * success *out is owned by the caller (mdm_free); it is NULL when the
 * computer has no adapter.
 */
static int adapters(ULONG flags, IP_ADAPTER_ADDRESSES **out)
{
    ULONG size = ADAPTERS_FIRST_SIZE;

    for (int tries = 0; tries < 4; tries++) {
        IP_ADAPTER_ADDRESSES *list = mdm_malloc(size);
        ULONG status;
        if (list == NULL)
            return MDM_ENOMEM;
        status = GetAdaptersAddresses(AF_UNSPEC, flags, NULL, list, &size);
        if (status == ERROR_SUCCESS) {
            *out = list;
            return 0;
        }
        mdm_free(list);
        if (status == ERROR_NO_DATA) {
            *out = NULL;
            return 0;
        }
        /* The list grew between the calls, or the first guess was small: size is updated. */
        if (status != ERROR_BUFFER_OVERFLOW)
            return mdm_win_error_code(status);
        if (size > ADAPTERS_MAX_SIZE)
            return MDM_ETOOBIG;
    }
    return MDM_EIO;
}

/* True for Windows' placeholder DNS servers fec0:0:0:ffff::1, ::2 and ::3 (never configured). */
static bool is_placeholder_dns(const struct sockaddr *sa)
{
    static const unsigned char prefix[8] = {0xfe, 0xc0, 0, 0, 0, 0, 0xff, 0xff};

    return sa->sa_family == AF_INET6 &&
           memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, prefix, sizeof(prefix)) == 0;
}

/* True for 0.0.0.0 and :: (no address). */
static bool is_unspecified(const struct sockaddr *sa)
{
    static const unsigned char zero[16] = {0};

    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == 0;
    return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, zero, sizeof(zero)) == 0;
}

/*
 * Adds the numeric text of sa to addrs unless it is there already. Returns
 * the new count.
 */
static size_t add_unique(char (*addrs)[MDM_ADDR_MAX], size_t n, const SOCKET_ADDRESS *a)
{
    char text[MDM_ADDR_MAX];

    if (a->lpSockaddr == NULL || is_unspecified(a->lpSockaddr) ||
        addr_text(a->lpSockaddr, (size_t)a->iSockaddrLength, text, sizeof(text)) != 0)
        return n;
    for (size_t i = 0; i < n; i++)
        if (strcmp(addrs[i], text) == 0)
            return n;
    memcpy(addrs[n], text, strlen(text) + 1);
    return n + 1;
}

/* True for an adapter whose gateways and DNS servers are in use. */
static bool adapter_in_use(const IP_ADAPTER_ADDRESSES *a)
{
    return a->OperStatus == IfOperStatusUp && a->IfType != IF_TYPE_SOFTWARE_LOOPBACK &&
           a->IfType != IF_TYPE_TUNNEL;
}

/*
 * The gateways of the adapters that are up, IPv4 and IPv6 (a link-local
 * IPv6 gateway keeps its zone: "fe80::1%12").
 */
int mdm_net_default_gateways(char (*addrs)[MDM_ADDR_MAX], size_t max, size_t *count)
{
    IP_ADAPTER_ADDRESSES *list = NULL;
    size_t n = 0;
    int rc;

    *count = 0;
    rc = net_start(NULL, 0);
    if (rc != 0)
        return rc;
    rc = adapters(GAA_FLAG_INCLUDE_GATEWAYS | GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST |
                      GAA_FLAG_SKIP_DNS_SERVER | GAA_FLAG_SKIP_FRIENDLY_NAME,
                  &list);
    if (rc != 0)
        return rc;
    for (IP_ADAPTER_ADDRESSES *a = list; a != NULL && n < max; a = a->Next) {
        if (!adapter_in_use(a))
            continue;
        for (IP_ADAPTER_GATEWAY_ADDRESS_LH *g = a->FirstGatewayAddress; g != NULL && n < max;
             g = g->Next)
            n = add_unique(addrs, n, &g->Address);
    }
    mdm_free(list);
    *count = n;
    return 0;
}

int mdm_net_dns_servers(char (*addrs)[MDM_ADDR_MAX], size_t max, size_t *count)
{
    IP_ADAPTER_ADDRESSES *list = NULL;
    size_t n = 0;
    int rc;

    *count = 0;
    rc = net_start(NULL, 0);
    if (rc != 0)
        return rc;
    rc = adapters(GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_FRIENDLY_NAME,
                  &list);
    if (rc != 0)
        return rc;
    for (IP_ADAPTER_ADDRESSES *a = list; a != NULL && n < max; a = a->Next) {
        if (!adapter_in_use(a))
            continue;
        for (IP_ADAPTER_DNS_SERVER_ADDRESS *d = a->FirstDnsServerAddress; d != NULL && n < max;
             d = d->Next)
            if (d->Address.lpSockaddr != NULL && !is_placeholder_dns(d->Address.lpSockaddr))
                n = add_unique(addrs, n, &d->Address);
    }
    mdm_free(list);
    *count = n;
    return 0;
}

/* True when sa holds the same address as want (the IPv6 zone is not compared). */
static bool same_address(const struct sockaddr *sa, const struct sockaddr_storage *want)
{
    if (sa == NULL || sa->sa_family != want->ss_family)
        return false;
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)want)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
                  &((const struct sockaddr_in6 *)want)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

bool mdm_net_is_local_address(const char *addr)
{
    struct sockaddr_storage want;
    IP_ADAPTER_ADDRESSES *list = NULL;
    bool found = false;
    int len;

    if (net_start(NULL, 0) != 0 || to_sockaddr(addr, 0, &want, &len) != 0)
        return false;
    if (want.ss_family == AF_INET &&
        (ntohl(((struct sockaddr_in *)&want)->sin_addr.s_addr) >> 24) == 127)
        return true;
    if (want.ss_family == AF_INET6 &&
        IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&want)->sin6_addr))
        return true;
    /* Every adapter, up or not: an address of this computer is local either way. */
    if (adapters(GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER |
                     GAA_FLAG_SKIP_FRIENDLY_NAME,
                 &list) != 0)
        return false;
    for (IP_ADAPTER_ADDRESSES *a = list; a != NULL && !found; a = a->Next)
        for (IP_ADAPTER_UNICAST_ADDRESS *u = a->FirstUnicastAddress; u != NULL && !found;
             u = u->Next)
            found = same_address(u->Address.lpSockaddr, &want);
    mdm_free(list);
    return found;
}

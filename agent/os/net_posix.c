/* net_posix.c - mdm_net.h on Linux: getaddrinfo, ICMP datagram/raw sockets, /proc and resolv.conf.
 */
#define _GNU_SOURCE

#include "agent/os/mdm_net.h"

#include "agent/common/mdm_err.h"
#include "agent/os/mdm_os.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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

int mdm_net_resolve(const char *host, char (*addrs)[MDM_ADDR_MAX], size_t max, size_t *count,
                    char *why, size_t why_size)
{
    struct addrinfo hints, *res = NULL;
    size_t n = 0;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        say(why, why_size, "%s does not resolve: %s", host, gai_strerror(rc));
        return rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_FAIL ? MDM_ENOTFOUND : MDM_EIO;
    }
    for (struct addrinfo *ai = res; ai != NULL && n < max; ai = ai->ai_next) {
        char text[MDM_ADDR_MAX];
        bool dup = false;
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof(text), NULL, 0, NI_NUMERICHOST) !=
            0)
            continue;
        for (size_t i = 0; i < n; i++)
            dup = dup || strcmp(addrs[i], text) == 0;
        if (!dup)
            snprintf(addrs[n++], MDM_ADDR_MAX, "%s", text);
    }
    freeaddrinfo(res);
    if (n == 0) {
        say(why, why_size, "%s resolves to no usable address%s", host, "");
        return MDM_ENOTFOUND;
    }
    *count = n;
    return 0;
}

static int to_sockaddr(const char *addr, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 0;
    }
    return MDM_EINVAL;
}

static uint16_t icmp_checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;

    for (; len > 1; p += 2, len -= 2)
        sum += (uint32_t)(p[0] << 8 | p[1]);
    if (len == 1)
        sum += (uint32_t)(p[0] << 8);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return htons((uint16_t)~sum);
}

int mdm_net_ping(const char *addr, int timeout_ms, int *rtt_ms, char *why, size_t why_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    uint8_t packet[64], reply[1500];
    bool v6, raw = false;
    int fd, rc = MDM_EAGAIN;
    uint16_t seq = (uint16_t)(getpid() ^ (int)mdm_os_monotonic_ms());
    int64_t start, deadline;

    if (to_sockaddr(addr, 0, &ss, &len) != 0) {
        say(why, why_size, "%s is not an IP address%s", addr, "");
        return MDM_EINVAL;
    }
    v6 = ss.ss_family == AF_INET6;
    /*
     * An unprivileged ICMP datagram socket first (Linux, allowed by
     * net.ipv4.ping_group_range); a raw socket when this process may open one.
     */
    fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    if (fd < 0 && !v6) {
        fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
        raw = fd >= 0;
    }
    if (fd < 0) {
        say(why, why_size,
            "this process may not send ICMP echo (%s); allow it with sysctl "
            "net.ipv4.ping_group_range or CAP_NET_RAW%s",
            strerror(errno), "");
        return MDM_EUNSUPPORTED;
    }
    memset(packet, 0, sizeof(packet));
    packet[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
    packet[4] = (uint8_t)(getpid() >> 8);
    packet[5] = (uint8_t)getpid();
    packet[6] = (uint8_t)(seq >> 8);
    packet[7] = (uint8_t)seq;
    memcpy(packet + 8, "mdmhealth diagnoser echo", 24);
    if (raw) {
        uint16_t sum = icmp_checksum(packet, sizeof(packet));
        memcpy(packet + 2, &sum, 2);
    }
    start = mdm_os_monotonic_ms();
    deadline = start + timeout_ms;
    if (sendto(fd, packet, sizeof(packet), 0, (struct sockaddr *)&ss, len) < 0) {
        say(why, why_size, "cannot send ICMP echo to %s: %s", addr, strerror(errno));
        close(fd);
        return errno == ENETUNREACH || errno == EHOSTUNREACH ? MDM_EAGAIN : MDM_EIO;
    }
    for (;;) {
        int64_t now = mdm_os_monotonic_ms();
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        const uint8_t *icmp;
        if (now >= deadline)
            break;
        if (poll(&p, 1, (int)(deadline - now)) <= 0)
            continue;
        n = recv(fd, reply, sizeof(reply), 0);
        if (n <= 0)
            continue;
        icmp = reply;
        if (raw) {
            size_t ihl = (size_t)(reply[0] & 0x0F) * 4;
            if ((size_t)n < ihl + 8)
                continue;
            icmp = reply + ihl;
            n -= (ssize_t)ihl;
            /* A raw socket sees every ICMP packet: keep only our echo reply. */
            if (icmp[4] != packet[4] || icmp[5] != packet[5])
                continue;
        }
        if (n < 8 || icmp[0] != (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) || icmp[6] != packet[6] ||
            icmp[7] != packet[7])
            continue;
        *rtt_ms = (int)(mdm_os_monotonic_ms() - start);
        rc = 0;
        break;
    }
    close(fd);
    if (rc != 0)
        say(why, why_size, "no echo reply from %s within the timeout%s", addr, "");
    return rc;
}

int mdm_net_tcp_connect(const char *addr, unsigned port, int timeout_ms, intptr_t *sock, char *why,
                        size_t why_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct pollfd p;
    struct timeval tv;
    int fd, err = 0, rc;
    socklen_t elen = sizeof(err);

    if (to_sockaddr(addr, port, &ss, &len) != 0) {
        say(why, why_size, "%s is not an IP address%s", addr, "");
        return MDM_EINVAL;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        say(why, why_size, "cannot create a socket: %s%s", strerror(errno), "");
        return MDM_EIO;
    }
    rc = connect(fd, (struct sockaddr *)&ss, len);
    if (rc != 0 && errno != EINPROGRESS) {
        err = errno;
        goto failed;
    }
    if (rc != 0) {
        p.fd = fd;
        p.events = POLLOUT;
        p.revents = 0;
        do {
            rc = poll(&p, 1, timeout_ms);
        } while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            close(fd);
            say(why, why_size, "no answer from %s port %u within the timeout (filtered?)", addr,
                port);
            return MDM_EAGAIN;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
            err = errno;
        if (err != 0)
            goto failed;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    *sock = fd;
    return 0;

failed:
    close(fd);
    if (why != NULL && why_size > 0)
        snprintf(why, why_size, "connection to %s port %u failed: %s", addr, port, strerror(err));
    return err == ETIMEDOUT ? MDM_EAGAIN : MDM_EIO;
}

void mdm_net_close(intptr_t sock)
{
    if (sock >= 0)
        close((int)sock);
}

int mdm_net_default_gateways(char (*addrs)[MDM_ADDR_MAX], size_t max, size_t *count)
{
    char line[256];
    size_t n = 0;
    FILE *fp = fopen("/proc/net/route", "r");

    *count = 0;
    if (fp == NULL)
        return MDM_EUNSUPPORTED;
    while (fgets(line, sizeof(line), fp) != NULL && n < max) {
        char ifname[64];
        unsigned dest, gw, flags;
        if (sscanf(line, "%63s %x %x %x", ifname, &dest, &gw, &flags) != 4)
            continue;
        if (dest == 0 && gw != 0 && (flags & 0x2) /* RTF_GATEWAY */) {
            struct in_addr a;
            a.s_addr = gw;
            inet_ntop(AF_INET, &a, addrs[n], MDM_ADDR_MAX);
            n++;
        }
    }
    fclose(fp);
    *count = n;
    return 0;
}

int mdm_net_dns_servers(char (*addrs)[MDM_ADDR_MAX], size_t max, size_t *count)
{
    char line[512];
    size_t n = 0;
    FILE *fp = fopen("/etc/resolv.conf", "r");

    *count = 0;
    if (fp == NULL)
        return MDM_ENOTFOUND;
    while (fgets(line, sizeof(line), fp) != NULL && n < max) {
        char addr[MDM_ADDR_MAX];
        if (sscanf(line, " nameserver %63s", addr) == 1) {
            snprintf(addrs[n], MDM_ADDR_MAX, "%s", addr);
            n++;
        }
    }
    fclose(fp);
    *count = n;
    return 0;
}

bool mdm_net_is_local_address(const char *addr)
{
    struct sockaddr_storage want;
    socklen_t len;
    struct ifaddrs *list = NULL;
    bool found = false;

    if (to_sockaddr(addr, 0, &want, &len) != 0)
        return false;
    if (want.ss_family == AF_INET &&
        (ntohl(((struct sockaddr_in *)&want)->sin_addr.s_addr) >> 24) == 127)
        return true;
    if (getifaddrs(&list) != 0)
        return false;
    for (struct ifaddrs *i = list; i != NULL && !found; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != want.ss_family)
            continue;
        if (want.ss_family == AF_INET)
            found = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
                    ((struct sockaddr_in *)&want)->sin_addr.s_addr;
        else
            found =
                memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
                       &((struct sockaddr_in6 *)&want)->sin6_addr, sizeof(struct in6_addr)) == 0;
    }
    freeifaddrs(list);
    return found;
}

/*
 * mdm_net.h - the network primitives of the diagnoser, per OS (net_posix.c,
 * net_win.c): name resolution, ICMP echo, TCP connect with a deadline, and
 * what the OS knows about its gateways, DNS servers and own addresses.
 * Addresses are passed as text ("192.0.2.1", "2001:db8::1"), sockets as
 * intptr_t (a file descriptor on POSIX, a SOCKET on Windows).
 */
#ifndef MDM_NET_H
#define MDM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDM_ADDR_MAX 64 /* text form of an IPv4 or IPv6 address, with room */

/*
 * Resolves host (a name or an address literal) into at most max addresses.
 * Returns 0 (count >= 1), MDM_ENOTFOUND (the name does not resolve), or
 * another negative code; why receives a sentence on failure.
 */
int mdm_net_resolve(const char *host, char (*addrs)[MDM_ADDR_MAX], size_t max, size_t *count,
                    char *why, size_t why_size);

/*
 * Sends one ICMP echo request to addr and waits up to timeout_ms for the
 * reply. Returns 0 with *rtt_ms set, MDM_EAGAIN when no reply came in time,
 * MDM_EUNSUPPORTED when this process may not send ICMP (why says how to
 * allow it), or another negative code.
 */
int mdm_net_ping(const char *addr, int timeout_ms, int *rtt_ms, char *why, size_t why_size);

/*
 * Opens a TCP connection to addr:port within timeout_ms; on success *sock is
 * a blocking socket whose reads and writes time out after timeout_ms.
 * Returns 0, MDM_EAGAIN (timed out), MDM_EIO (refused / unreachable; why says
 * which) or another negative code.
 */
int mdm_net_tcp_connect(const char *addr, unsigned port, int timeout_ms, intptr_t *sock, char *why,
                        size_t why_size);
void mdm_net_close(intptr_t sock);

/* The default gateway(s) and the DNS servers the OS uses (may be none). */
int mdm_net_default_gateways(char (*addrs)[MDM_ADDR_MAX], size_t max, size_t *count);
int mdm_net_dns_servers(char (*addrs)[MDM_ADDR_MAX], size_t max, size_t *count);

/* True when addr is one of this computer's addresses (loopback included). */
bool mdm_net_is_local_address(const char *addr);

#ifdef __cplusplus
}
#endif

#endif

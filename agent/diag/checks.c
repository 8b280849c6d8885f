/*
 * checks.c - the portable checks of the knowledge article: name resolution,
 * ICMP echo (loopback, gateway, DNS servers, Enrollment Server by address
 * and by name), HTTPS reachability of the admin ports (TCP, then a TLS
 * handshake with OpenSSL), the Enrollment services, and the loopback check.
 * The OS specifics live behind mdm_net.h, mdm_services.h and mdm_registry.h.
 */
#include "agent/diag/checks.h"
#include "agent/diag/libssl_load.h"
#include "agent/diag/tls_texts.h"

#include "agent/os/mdm_net.h"
#include "agent/os/mdm_registry.h"
#include "agent/os/mdm_services.h"
#include "agent/common/mdm_text.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ADDRS_MAX 8

static void set(struct mdm_check_result *r, enum mdm_check_status status, const char *fmt, ...)
    MDM_PRINTF_FORMAT(3, 4);

static void set(struct mdm_check_result *r, enum mdm_check_status status, const char *fmt, ...)
{
    va_list ap;

    r->status = status;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
}

static bool no_server(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    if (opt->enrollment_server != NULL && opt->enrollment_server[0] != '\0')
        return false;
    set(r, MDM_CHECK_SKIP, "no Enrollment Server configured (enrollment-server directive)");
    return true;
}

void mdm_check_dns(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    char addrs[ADDRS_MAX][MDM_ADDR_MAX], why[256], list[256] = "";
    size_t n = 0;

    if (no_server(opt, r))
        return;
    if (mdm_net_resolve(opt->enrollment_server, addrs, ADDRS_MAX, &n, why, sizeof(why)) != 0) {
        set(r, MDM_CHECK_FAIL, "%s; check the DNS servers and the DHCP Client service", why);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
        strncat(list, addrs[i], sizeof(list) - strlen(list) - 1);
    }
    set(r, MDM_CHECK_PASS, "%s resolves to %s", opt->enrollment_server, list);
}

/* Pings each address; pass when every one answers. */
static void ping_all(struct mdm_check_result *r, const char *what, char (*addrs)[MDM_ADDR_MAX],
                     size_t n, int timeout_ms)
{
    char why[256], done[MDM_CHECK_DETAIL_MAX] = "";
    size_t failed = 0;

    for (size_t i = 0; i < n; i++) {
        int rtt = 0, rc = mdm_net_ping(addrs[i], timeout_ms, &rtt, why, sizeof(why));
        char piece[160];
        if (rc == MDM_EUNSUPPORTED) {
            set(r, MDM_CHECK_ERROR, "%s", why);
            return;
        }
        if (rc == 0) {
            snprintf(piece, sizeof(piece), "%s%s replied in %d ms", i ? "; " : "", addrs[i], rtt);
        } else {
            failed++;
            snprintf(piece, sizeof(piece), "%s%s: no reply", i ? "; " : "", addrs[i]);
        }
        strncat(done, piece, sizeof(done) - strlen(done) - 1);
    }
    if (failed == 0)
        set(r, MDM_CHECK_PASS, "%s: %s", what, done);
    else
        set(r, MDM_CHECK_FAIL, "%s: %s", what, done);
}

void mdm_check_ping_loopback(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    char addrs[1][MDM_ADDR_MAX] = {"127.0.0.1"};

    ping_all(r, "loopback", addrs, 1, opt->timeout_ms);
    if (r->status == MDM_CHECK_FAIL)
        snprintf(r->detail + strlen(r->detail), sizeof(r->detail) - strlen(r->detail),
                 "; the TCP/IP stack of this computer is not working");
}

void mdm_check_ping_gateway(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    char addrs[ADDRS_MAX][MDM_ADDR_MAX];
    size_t n = 0;

    if (mdm_net_default_gateways(addrs, ADDRS_MAX, &n) != 0 || n == 0) {
        set(r, MDM_CHECK_SKIP, "no default gateway is configured on this computer");
        return;
    }
    ping_all(r, "default gateway", addrs, n, opt->timeout_ms);
    if (r->status == MDM_CHECK_FAIL)
        snprintf(r->detail + strlen(r->detail), sizeof(r->detail) - strlen(r->detail),
                 " (a gateway that blocks ICMP also fails here; compare with the other checks)");
}

void mdm_check_ping_dns_servers(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    char addrs[ADDRS_MAX][MDM_ADDR_MAX];
    size_t n = 0;

    if (mdm_net_dns_servers(addrs, ADDRS_MAX, &n) != 0 || n == 0) {
        set(r, MDM_CHECK_SKIP, "no DNS server is configured on this computer");
        return;
    }
    ping_all(r, "DNS servers", addrs, n, opt->timeout_ms);
}

void mdm_check_ping_enrollment_ip(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    char addrs[ADDRS_MAX][MDM_ADDR_MAX], why[256];
    size_t n = 0;

    if (no_server(opt, r))
        return;
    if (opt->enrollment_address != NULL && opt->enrollment_address[0] != '\0') {
        snprintf(addrs[0], MDM_ADDR_MAX, "%s", opt->enrollment_address);
        n = 1;
    } else if (mdm_net_resolve(opt->enrollment_server, addrs, ADDRS_MAX, &n, why, sizeof(why)) !=
               0) {
        set(r, MDM_CHECK_SKIP,
            "no address to ping: %s, and no address is configured (enrollment-server NAME "
            "ADDRESS)",
            why);
        return;
    }
    ping_all(r, "Enrollment Server by address", addrs, n, opt->timeout_ms);
}

void mdm_check_ping_enrollment_fqdn(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    char addrs[ADDRS_MAX][MDM_ADDR_MAX], why[256];
    size_t n = 0;

    if (no_server(opt, r))
        return;
    /* As `ping FQDN` does: resolve, then echo to the first address. */
    if (mdm_net_resolve(opt->enrollment_server, addrs, ADDRS_MAX, &n, why, sizeof(why)) != 0) {
        set(r, MDM_CHECK_FAIL, "%s", why);
        return;
    }
    ping_all(r, opt->enrollment_server, addrs, 1, opt->timeout_ms);
}

/* Collects OpenSSL's error queue into one line. */
static void ssl_errors(char *buf, size_t size)
{
    unsigned long e;

    buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        char one[200];
        ERR_error_string_n(e, one, sizeof(one));
        if (buf[0] != '\0')
            strncat(buf, "; ", size - strlen(buf) - 1);
        strncat(buf, one, size - strlen(buf) - 1);
    }
    if (buf[0] == '\0')
        snprintf(buf, size, "the peer closed the connection during the handshake");
}

/* TCP connect + TLS handshake to host:port; the detail names the stage that failed. */
static void https_check(const char *host, unsigned port, const char *role, int timeout_ms,
                        struct mdm_check_result *r)
{
    char addrs[ADDRS_MAX][MDM_ADDR_MAX], why[256], errors[300];
    size_t n = 0;
    intptr_t sock = -1;
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    struct mdm_err load_err;
    int rc;

    if (mdm_net_resolve(host, addrs, ADDRS_MAX, &n, why, sizeof(why)) != 0) {
        set(r, MDM_CHECK_FAIL, "%s (%s): %s", role, host, why);
        return;
    }
    rc = mdm_net_tcp_connect(addrs[0], port, timeout_ms, &sock, why, sizeof(why));
    if (rc != 0) {
        set(r, MDM_CHECK_FAIL, "%s: TCP stage: %s", role, why);
        return;
    }
    if (mdm_libssl_load(&load_err) != 0) {
        set(r, MDM_CHECK_ERROR, "%s: %s", role, load_err.msg);
        goto out;
    }
    mdm_tls_load_error_texts(); /* the agent defers them: see tls_texts.h */
    ctx = SSL_CTX_new(TLS_client_method());
    ssl = ctx ? SSL_new(ctx) : NULL;
    if (ssl == NULL) {
        set(r, MDM_CHECK_ERROR, "cannot set up TLS (out of memory)");
        goto out;
    }
    /*
     * Reachability, not trust: the admin ports commonly use internal CA
     * certificates, so the handshake is completed without verification and
     * the certificate's subject is reported for the operator to judge.
     */
    SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
    SSL_set_tlsext_host_name(ssl, host);
    SSL_set_fd(ssl, (int)sock);
    ERR_clear_error();
    if (SSL_connect(ssl) != 1) {
        ssl_errors(errors, sizeof(errors));
        set(r, MDM_CHECK_FAIL,
            "%s: TCP connection to %s port %u works, TLS handshake failed: %s (not an HTTPS "
            "listener, or a protocol/cipher mismatch)",
            role, addrs[0], port, errors);
        goto out;
    }
    {
        X509 *cert = SSL_get1_peer_certificate(ssl);
        char subject[200] = "no certificate";
        if (cert != NULL) {
            X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
            X509_free(cert);
        }
        set(r, MDM_CHECK_PASS, "%s: %s port %u answers HTTPS (%s, certificate %s)", role, addrs[0],
            port, SSL_get_version(ssl), subject);
    }
out:
    if (ssl != NULL)
        SSL_free(ssl);
    if (ctx != NULL)
        SSL_CTX_free(ctx);
    mdm_net_close(sock);
}

void mdm_check_https_enrollment(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    if (no_server(opt, r))
        return;
    https_check(opt->enrollment_server, opt->ports[0], "Enrollment Server admin port",
                opt->timeout_ms, r);
}

void mdm_check_https_dm_admin(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    https_check(opt->dm_server ? opt->dm_server : "127.0.0.1", opt->ports[1],
                "DM server admin port", opt->timeout_ms, r);
}

void mdm_check_enrollment_services(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    struct mdm_service_info found[16];
    char why[256], list[MDM_CHECK_DETAIL_MAX] = "";
    size_t n = 0, stopped = 0;
    int rc;

    if (no_server(opt, r))
        return;
    rc = mdm_services_find(opt->enrollment_server, "SCMDM Enrollment", found, 16, &n, why,
                           sizeof(why));
    if (rc == MDM_EUNSUPPORTED) {
        set(r, MDM_CHECK_SKIP, "%s", why);
        return;
    }
    if (rc != 0) {
        set(r, MDM_CHECK_ERROR, "cannot list the services on %s: %s", opt->enrollment_server, why);
        return;
    }
    if (n == 0) {
        set(r, MDM_CHECK_FAIL, "no SCMDM Enrollment service is installed on %s",
            opt->enrollment_server);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char piece[sizeof(found[i].display_name) + sizeof(found[i].state) + 8];
        if (!found[i].running)
            stopped++;
        snprintf(piece, sizeof(piece), "%s%s: %s", i ? "; " : "", found[i].display_name,
                 found[i].state);
        strncat(list, piece, sizeof(list) - strlen(list) - 1);
    }
    set(r, stopped ? MDM_CHECK_FAIL : MDM_CHECK_PASS, "on %s: %s", opt->enrollment_server, list);
}

#define LSA_KEY "SYSTEM\\CurrentControlSet\\Control\\Lsa"

void mdm_check_loopback(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    char addrs[ADDRS_MAX][MDM_ADDR_MAX], why[256], names[512];
    size_t n = 0;
    const char *local = NULL;
    uint32_t disable = 0;
    int rc_disable, rc_names;

    if (no_server(opt, r))
        return;
    if (mdm_net_resolve(opt->enrollment_server, addrs, ADDRS_MAX, &n, why, sizeof(why)) != 0) {
        set(r, MDM_CHECK_SKIP, "cannot tell whether the Enrollment Server is local: %s", why);
        return;
    }
    for (size_t i = 0; i < n && local == NULL; i++)
        if (mdm_net_is_local_address(addrs[i]))
            local = addrs[i];
    if (local == NULL) {
        set(r, MDM_CHECK_PASS, "%s is another computer (%s), so the loopback check does not apply",
            opt->enrollment_server, addrs[0]);
        return;
    }
    rc_disable = mdm_registry_get_dword(LSA_KEY, "DisableLoopbackCheck", &disable);
    rc_names = mdm_registry_get_multi_sz(LSA_KEY "\\MSV1_0", "BackConnectionHostNames", names,
                                         sizeof(names));
    if (rc_disable == MDM_EUNSUPPORTED) {
        set(r, MDM_CHECK_SKIP,
            "%s maps to this computer (%s); the loopback check settings are in the Windows "
            "registry, which this system does not have",
            opt->enrollment_server, local);
        return;
    }
    if (rc_disable == 0 && disable == 1) {
        set(r, MDM_CHECK_PASS, "%s maps to this computer (%s) and DisableLoopbackCheck is 1",
            opt->enrollment_server, local);
        return;
    }
    if (rc_names == 0) {
        /* BackConnectionHostNames: the narrower fix, one host name per line. */
        const char *p = names;
        while (*p != '\0') {
            size_t len = strcspn(p, "\n");
            if (len == strlen(opt->enrollment_server) &&
                mdm_ascii_iequal_n(p, opt->enrollment_server, len)) {
                set(r, MDM_CHECK_PASS,
                    "%s maps to this computer (%s) and is listed in BackConnectionHostNames",
                    opt->enrollment_server, local);
                return;
            }
            p += len + (p[len] == '\n');
        }
    }
    set(r, MDM_CHECK_FAIL,
        "%s maps to this computer (%s), DisableLoopbackCheck is not 1 and the name is not in "
        "BackConnectionHostNames: Integrated Authentication through it fails with HTTP 401.1 "
        "(mdmhealth resolve loopback)",
        opt->enrollment_server, local);
}

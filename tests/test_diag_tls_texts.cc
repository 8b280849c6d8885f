// OpenSSL's error texts deferred at start (agent/diag/tls_texts.h, what
// mdm_snmp_start does in every agent) and loaded by the TLS check when it
// runs: its failure still names the library and the reason in words. A
// binary of its own, because the deferral must come before anything else in
// the process uses OpenSSL. Real OpenSSL, a real listener on loopback.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include <openssl/err.h>
#include <openssl/asn1err.h>
#include <openssl/rand.h>
#include <openssl/x509err.h>

#include "agent/diag/checks.h"
#include "agent/diag/tls_texts.h"

namespace
{

int listen_tcp(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0)
        return -1;
    socklen_t len = sizeof(a);
    getsockname(fd, (sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

TEST(TlsTexts, DeferredAtStartAndLoadedByTheTlsCheck)
{
    mdm_tls_defer_error_texts();
    // What Net-SNMP's start does first with OpenSSL (its USM salt and engine
    // ID): it creates an error state, which would load every text.
    unsigned char salt[8];
    ASSERT_EQ(1, RAND_bytes(salt, sizeof(salt)));
    EXPECT_EQ(nullptr, ERR_lib_error_string(ERR_PACK(ERR_LIB_SSL, 0, 0)))
        << "OpenSSL loaded its error texts although they were deferred";

    // A listener that answers the ClientHello with HTTP: the handshake fails.
    int port = 0;
    int fd = listen_tcp(&port);
    ASSERT_GE(fd, 0);
    std::thread server([fd] {
        int c = accept(fd, nullptr, nullptr);
        if (c >= 0) {
            const char junk[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
            (void)!write(c, junk, sizeof(junk) - 1);
            close(c);
        }
    });
    mdm_diag_options o;
    memset(&o, 0, sizeof(o));
    o.enrollment_server = "127.0.0.1";
    o.ports[0] = (unsigned)port;
    o.ports[1] = (unsigned)port;
    o.timeout_ms = 2000;
    mdm_check_result r;
    memset(&r, 0, sizeof(r));
    mdm_check_https_enrollment(&o, &r);
    server.join();
    close(fd);

    EXPECT_EQ(MDM_CHECK_FAIL, r.status);
    std::string detail(r.detail);
    EXPECT_NE(std::string::npos, detail.find("TLS handshake failed")) << detail;
    // The library and the reason in words, as without the deferral.
    EXPECT_NE(std::string::npos, detail.find(":SSL routines::")) << detail;
    EXPECT_EQ(std::string::npos, detail.find("lib(")) << detail;
    EXPECT_EQ(std::string::npos, detail.find("reason(")) << detail;
    // libssl loads its own texts on SSL_CTX_new; the check loads libcrypto's,
    // which its queue can hold too (certificate parsing, for one). System
    // errors need none: OpenSSL 3 formats them with strerror when asked.
    const char *x509 = ERR_reason_error_string(ERR_PACK(ERR_LIB_X509, 0, X509_R_WRONG_TYPE));
    const char *asn1 = ERR_reason_error_string(ERR_PACK(ERR_LIB_ASN1, 0, ASN1_R_WRONG_TAG));
    EXPECT_STREQ("wrong type", x509 ? x509 : "(none)");
    EXPECT_STREQ("wrong tag", asn1 ? asn1 : "(none)");
}

} // namespace

/*
 * libssl_load.h - OpenSSL's libssl, loaded when the diagnoser first needs it.
 *
 * libssl serves one check: the TLS handshake on the admin ports
 * (checks.c). On Linux it is therefore not linked into the program but
 * loaded by its soname (MDM_LIBSSL_SONAME, found by CMake) on the first
 * handshake: an agent whose diagnoser has not run, or runs without that
 * check, does not map it - 0.24 MiB of an idle agent's RSS
 * (bench/results.md, issue 15). libcrypto, which Net-SNMP needs from the
 * start, stays linked, and the libssl loaded here uses that same libcrypto.
 * On Windows libssl is static in the program: libssl_load_win.c fills the
 * table with the linked functions.
 *
 * Include this header instead of <openssl/ssl.h> in a file that calls
 * libssl: after it, each libssl call listed below goes through the table;
 * mdm_libssl_load() must have succeeded first.
 */
#ifndef MDM_DIAG_LIBSSL_LOAD_H
#define MDM_DIAG_LIBSSL_LOAD_H

#include "agent/common/mdm_err.h"

#include <openssl/ssl.h>

/* The libssl functions mdmhealth calls: X(name) for each. */
#define MDM_LIBSSL_CALLS(X)                                                                        \
    X(OPENSSL_init_ssl)                                                                            \
    X(SSL_CTX_free)                                                                                \
    X(SSL_CTX_new)                                                                                 \
    X(SSL_connect)                                                                                 \
    X(SSL_ctrl)                                                                                    \
    X(SSL_free)                                                                                    \
    X(SSL_get1_peer_certificate)                                                                   \
    X(SSL_get_version)                                                                             \
    X(SSL_new)                                                                                     \
    X(SSL_set_fd)                                                                                  \
    X(SSL_set_verify)                                                                              \
    X(TLS_client_method)

struct mdm_libssl_api {
#define MDM_LIBSSL_FIELD(name) __typeof__(name) *name;
    MDM_LIBSSL_CALLS(MDM_LIBSSL_FIELD)
#undef MDM_LIBSSL_FIELD
};

/* Filled by mdm_libssl_load(); read-only afterwards. */
extern struct mdm_libssl_api mdm_libssl_api;

/*
 * Loads libssl once per process (thread-safe; it stays loaded). Returns 0,
 * or MDM_EUNSUPPORTED with err (may be NULL) naming the library and the
 * loader's reason when it cannot be loaded.
 */
int mdm_libssl_load(struct mdm_err *err);

/*
 * From here on, every libssl call goes through the table (not in the
 * loaders, which fill it by these very names). SSL_set_tlsext_host_name is
 * OpenSSL's macro over SSL_ctrl.
 */
#ifndef MDM_LIBSSL_LOADER
#define OPENSSL_init_ssl          mdm_libssl_api.OPENSSL_init_ssl
#define SSL_CTX_free              mdm_libssl_api.SSL_CTX_free
#define SSL_CTX_new               mdm_libssl_api.SSL_CTX_new
#define SSL_connect               mdm_libssl_api.SSL_connect
#define SSL_ctrl                  mdm_libssl_api.SSL_ctrl
#define SSL_free                  mdm_libssl_api.SSL_free
#define SSL_get1_peer_certificate mdm_libssl_api.SSL_get1_peer_certificate
#define SSL_get_version           mdm_libssl_api.SSL_get_version
#define SSL_new                   mdm_libssl_api.SSL_new
#define SSL_set_fd                mdm_libssl_api.SSL_set_fd
#define SSL_set_verify            mdm_libssl_api.SSL_set_verify
#define TLS_client_method         mdm_libssl_api.TLS_client_method
#endif /* MDM_LIBSSL_LOADER */

#endif /* MDM_DIAG_LIBSSL_LOAD_H */

/*
 * tls_texts.c - OpenSSL's error texts loaded on first need (why:
 * tls_texts.h).
 *
 * Once OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS is given, OpenSSL 3 never loads
 * libcrypto's texts by itself again (its own "load" request shares the same
 * run-once). The per-library loaders of OpenSSL 1.1's API are still in
 * libcrypto 3 (deprecated, declared in cryptoerr_legacy.h) and load the same
 * tables; ERR_load_ERR_strings brings the library names and the system
 * (errno) reasons. libssl's texts are loaded by OPENSSL_init_ssl as usual,
 * on the first SSL_CTX_new (libssl itself is loaded on first use:
 * libssl_load.h). What these loaders do not cover (the provider,
 * HTTP, CMP, ESS and encoder libraries, no part of a TLS handshake's
 * errors) keeps its library name and reads "reason(N)".
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* the per-library loaders: see above */

#include "agent/diag/tls_texts.h"
#include "agent/diag/libssl_load.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

static CRYPTO_ONCE texts_once = CRYPTO_ONCE_STATIC_INIT;

static void load_texts(void)
{
    ERR_load_ERR_strings();
    ERR_load_ASN1_strings();
    ERR_load_ASYNC_strings();
    ERR_load_BIO_strings();
    ERR_load_BN_strings();
    ERR_load_BUF_strings();
    ERR_load_CMS_strings();
    ERR_load_COMP_strings();
    ERR_load_CONF_strings();
    ERR_load_CRYPTO_strings();
    ERR_load_CT_strings();
    ERR_load_DH_strings();
    ERR_load_DSA_strings();
    ERR_load_EC_strings();
    ERR_load_ENGINE_strings();
    ERR_load_EVP_strings();
    ERR_load_KDF_strings();
    ERR_load_OBJ_strings();
    ERR_load_OCSP_strings();
    ERR_load_OSSL_STORE_strings();
    ERR_load_PEM_strings();
    ERR_load_PKCS12_strings();
    ERR_load_PKCS7_strings();
    ERR_load_RAND_strings();
    ERR_load_RSA_strings();
    ERR_load_TS_strings();
    ERR_load_UI_strings();
    ERR_load_X509V3_strings();
    ERR_load_X509_strings();
    if (mdm_libssl_load(NULL) == 0)
        OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, NULL);
}

void mdm_tls_defer_error_texts(void)
{
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
}

void mdm_tls_load_error_texts(void)
{
    CRYPTO_THREAD_run_once(&texts_once, load_texts);
}

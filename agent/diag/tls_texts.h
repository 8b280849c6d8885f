/*
 * tls_texts.h - OpenSSL's error texts (library and reason names), loaded
 * when the first TLS check runs instead of at start.
 *
 * OpenSSL 3 loads the texts of every library's errors (≈ 3,000 entries in a
 * hash table) the first time any error state is created, which Net-SNMP's
 * start does (its engine ID and USM salt come from RAND_bytes, which reads
 * openssl.cnf): 0.47 MiB of the RSS of an idle agent (bench/results.md,
 * issue 15), for texts only a failed TLS handshake of the diagnoser
 * reports. An agent defers them at start; the TLS check loads them before
 * its handshake, so its reasons read as before ("SSL routines::wrong version
 * number", not "lib(20)::reason(267)").
 */
#ifndef MDM_DIAG_TLS_TEXTS_H
#define MDM_DIAG_TLS_TEXTS_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Tells OpenSSL not to load its error texts by itself. Call before anything
 * else uses OpenSSL in the process (once OpenSSL has loaded them this does
 * nothing); afterwards only mdm_tls_load_error_texts() loads them.
 */
void mdm_tls_defer_error_texts(void);

/*
 * Loads OpenSSL's error texts (once; thread-safe; nothing when they are
 * loaded already). Call before reporting an OpenSSL error queue.
 */
void mdm_tls_load_error_texts(void);

#ifdef __cplusplus
}
#endif

#endif

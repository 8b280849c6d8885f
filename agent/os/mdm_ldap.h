/*
 * mdm_ldap.h - the LDAPv3 client calls of the ad-group check and its
 * resolver (agent/diag/ldap_*.c), per OS: ldap_posix.c uses OpenLDAP's
 * libldap, ldap_win.c uses wldap32 (its W functions, so that DNs and filters
 * travel as UTF-8 on the wire whatever the ANSI code page).
 *
 * Strings are UTF-8. Result codes ("lrc") are the MDM_LDAP_* values below
 * on every OS: the server's result codes of RFC 4511 keep their numbers, and
 * the client-side codes (server down, timeout, ...) are OpenLDAP's negative
 * numbers, to which ldap_win.c translates wldap32's 0x51..0x61. Deadlines
 * are absolute times in the clock of mdm_os_monotonic_ms().
 */
#ifndef MDM_LDAP_H
#define MDM_LDAP_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mdm_ldap;        /* one connection to a directory server */
struct mdm_ldap_msg;    /* a search result, or one entry of it */
struct mdm_ldap_values; /* the values of one attribute of one entry */

enum {
    /* The server's result codes (RFC 4511 section 4.1.9). */
    MDM_LDAP_SUCCESS = 0,
    MDM_LDAP_TIMELIMIT_EXCEEDED = 3,
    MDM_LDAP_SIZELIMIT_EXCEEDED = 4,
    MDM_LDAP_STRONG_AUTH_REQUIRED = 8,
    MDM_LDAP_TYPE_OR_VALUE_EXISTS = 20,
    MDM_LDAP_NO_SUCH_OBJECT = 32,
    MDM_LDAP_INVALID_CREDENTIALS = 49,
    MDM_LDAP_INSUFFICIENT_ACCESS = 50,
    MDM_LDAP_BUSY = 51,
    MDM_LDAP_UNAVAILABLE = 52,
    MDM_LDAP_OTHER = 80,
    /* The client library's own codes. */
    MDM_LDAP_SERVER_DOWN = -1,
    MDM_LDAP_LOCAL_ERROR = -2,
    MDM_LDAP_TIMEOUT = -5,
    MDM_LDAP_PARAM_ERROR = -9,
    MDM_LDAP_NO_MEMORY = -10,
    MDM_LDAP_CONNECT_ERROR = -11,
};

enum mdm_ldap_scope {
    MDM_LDAP_SCOPE_BASE = 0,
    MDM_LDAP_SCOPE_SUBTREE = 2,
};

/* The longest password read from ldap-password-file, in bytes. */
#define MDM_LDAP_PASSWORD_MAX 256u

/*
 * Prepares a connection to uri ("ldap://host[:port]/" or "ldaps://...")
 * with LDAPv3, no referral chasing (a domain controller answers a search of
 * the domain root with referrals to the other naming contexts) and timeouts
 * of timeout_ms. Nothing is sent yet: mdm_ldap_bind connects. On success
 * *out is owned by the caller (mdm_ldap_close). Returns 0, MDM_EINVAL (the
 * URI cannot be used), MDM_EIO or MDM_ENOMEM; err says which.
 */
int mdm_ldap_open(const char *uri, int timeout_ms, struct mdm_ldap **out, struct mdm_err *err);

/* Closes the connection and frees ld (NULL is allowed). */
void mdm_ldap_close(struct mdm_ldap *ld);

/*
 * Connects and binds before deadline_ms. With a dn: a simple bind as dn with
 * password. Without one (dn NULL): the OS's implicit identity, which
 * mdm_ldap_implicit_bind() names - anonymous with OpenLDAP; on Windows this
 * process's account by Negotiate (Kerberos or NTLM), which for a service
 * running as NetworkService or LocalSystem is the computer account.
 * Returns the LDAP result code (MDM_LDAP_SUCCESS, MDM_LDAP_TIMEOUT, ...).
 */
int mdm_ldap_bind(struct mdm_ldap *ld, const char *dn, const char *password, long long deadline_ms);

/* A noun phrase for the bind made without a dn: "an anonymous bind". */
const char *mdm_ldap_implicit_bind(void);

/* Writes the client library's text for a result code into out ("Invalid credentials"). */
void mdm_ldap_error_text(int lrc, char *out, size_t size);

/* Writes the server's diagnostic message of the last operation into out ("" when none). */
void mdm_ldap_server_message(struct mdm_ldap *ld, char *out, size_t size);

/*
 * One search, answered before deadline_ms. attrs is NULL-terminated;
 * sizelimit 0 is no limit. Returns the result code; with MDM_LDAP_SUCCESS,
 * and with MDM_LDAP_SIZELIMIT_EXCEEDED when entries came before the limit,
 * *res holds them (owned by the caller, mdm_ldap_msg_free); otherwise *res
 * is not set.
 */
int mdm_ldap_search(struct mdm_ldap *ld, const char *base, enum mdm_ldap_scope scope,
                    const char *filter, const char *const *attrs, int sizelimit,
                    long long deadline_ms, struct mdm_ldap_msg **res);
void mdm_ldap_msg_free(struct mdm_ldap_msg *res);

/* The entries of a search result, in order; NULL after the last. They belong to the result. */
struct mdm_ldap_msg *mdm_ldap_first_entry(struct mdm_ldap *ld, struct mdm_ldap_msg *res);
struct mdm_ldap_msg *mdm_ldap_next_entry(struct mdm_ldap *ld, struct mdm_ldap_msg *entry);

/*
 * The entry's DN as the server spells it: a string owned by the caller
 * (mdm_free), or NULL when out of memory or not shorter than max bytes.
 */
char *mdm_ldap_get_dn(struct mdm_ldap *ld, struct mdm_ldap_msg *entry, size_t max);

/*
 * The values of attr in entry (NULL when it has none), owned by the caller
 * (mdm_ldap_values_free). mdm_ldap_value gives value i (bytes, not
 * NUL-terminated) and returns false past the last one; ask for i = 0, 1,
 * 2, ... and stop at the first false (values may be NULL).
 */
struct mdm_ldap_values *mdm_ldap_get_values(struct mdm_ldap *ld, struct mdm_ldap_msg *entry,
                                            const char *attr);
bool mdm_ldap_value(const struct mdm_ldap_values *values, size_t i, const char **data, size_t *len);
void mdm_ldap_values_free(struct mdm_ldap_values *values);

/*
 * Adds value to the attribute attr of the entry dn (an LDAP modify with one
 * "add"), answered before deadline_ms. Returns the result code.
 */
int mdm_ldap_add_value(struct mdm_ldap *ld, const char *dn, const char *attr, const char *value,
                       long long deadline_ms);

/* Bits of mdm_ldap_discover()'s `what`: the directives to discover. */
enum {
    MDM_LDAP_DISCOVER_URI = 1u,         /* ldap-uri: a domain controller of this computer */
    MDM_LDAP_DISCOVER_BASE = 2u,        /* ldap-base: the naming context of its domain */
    MDM_LDAP_DISCOVER_COMPUTER_DN = 4u, /* computer-dn: this computer's account */
};

/* Caps of the discovered values, in bytes with the NUL. */
#define MDM_LDAP_URI_MAX 300u
#define MDM_LDAP_DN_MAX  2048u

/* What mdm_ldap_discover() found; the fields not asked for are "". */
struct mdm_ldap_discovery {
    char uri[MDM_LDAP_URI_MAX];        /* "ldap://dc01.contoso.com/" */
    char base[MDM_LDAP_DN_MAX];        /* "DC=contoso,DC=com" */
    char computer_dn[MDM_LDAP_DN_MAX]; /* "CN=DM01,OU=Servers,DC=contoso,DC=com" */
};

/*
 * Asks the OS for the directives in `what` (MDM_LDAP_DISCOVER_* bits), for
 * when the configuration lacks them. On Windows: DsGetDcNameW with
 * DS_DIRECTORY_SERVICE_REQUIRED | DS_RETURN_DNS_NAME names a domain
 * controller of this computer's domain (uri "ldap://DC/") and the domain's
 * DNS name, whose labels make the domain's naming context (base
 * "DC=contoso,DC=com"); GetComputerObjectNameW(NameFullyQualifiedDN) gives
 * the computer account's DN. *out is written only on success. Returns 0;
 * MDM_EUNSUPPORTED where the OS has no domain membership to ask (POSIX);
 * any other negative code when a lookup failed, with err naming each call
 * that failed, its error, and the directive to set instead ("no domain
 * controller found (DsGetDcName: ...); set ldap-uri and ldap-base").
 */
int mdm_ldap_discover(unsigned what, struct mdm_ldap_discovery *out, struct mdm_err *err);

/*
 * Reads the first line of the password file at path into out (size bytes),
 * without its line end. The file must be a regular file that only its owner
 * (on Windows: no broad group such as Everyone or Users) may read or write;
 * otherwise the error says how to restrict it. The secret never appears in
 * err. Returns 0, MDM_EINVAL (bad file) or MDM_EIO.
 */
int mdm_ldap_read_password_file(const char *path, char *out, size_t size, struct mdm_err *err);

#ifdef __cplusplus
}
#endif

#endif

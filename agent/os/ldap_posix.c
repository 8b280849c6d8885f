/*
 * ldap_posix.c - mdm_ldap.h with OpenLDAP's libldap: ldap_initialize, a
 * simple (or anonymous) bind and searches bounded by the caller's deadline,
 * and the owner-only password file checked with fstat.
 */
#define _POSIX_C_SOURCE 200809L /* open, fstat, read for the password file */

#include "agent/os/mdm_ldap.h"

#include "agent/os/ldap_password.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"
#include "agent/os/mdm_dl.h"
#include "agent/os/mdm_os.h"
#include "agent/common/mdm_text.h"

#include <ldap.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/*
 * libldap is loaded when the first LDAP connection is opened, not linked.
 * With it come libgnutls, libsasl2, p11-kit, nettle, hogweed, gmp, tasn1,
 * unistring, idn2 and ffi: 2.6 MiB of the RSS of an agent that never runs
 * the ad-group check (most never do: it runs only when an alert is
 * diagnosed and ldap-uri is configured), measured in /proc/PID/smaps
 * (bench/results.md, issue 15). MDM_LDAP_SONAME is the soname of the
 * libldap the build found (CMakeLists.txt), so the library loaded is the one
 * compiled against. It stays loaded once used.
 */
#define LDAP_CALLS(X)                                                                              \
    X(ldap_abandon_ext)                                                                            \
    X(ldap_err2string)                                                                             \
    X(ldap_first_entry)                                                                            \
    X(ldap_get_dn)                                                                                 \
    X(ldap_get_option)                                                                             \
    X(ldap_get_values_len)                                                                         \
    X(ldap_initialize)                                                                             \
    X(ldap_memfree)                                                                                \
    X(ldap_modify_ext)                                                                             \
    X(ldap_msgfree)                                                                                \
    X(ldap_next_entry)                                                                             \
    X(ldap_parse_result)                                                                           \
    X(ldap_result)                                                                                 \
    X(ldap_sasl_bind)                                                                              \
    X(ldap_search_ext_s)                                                                           \
    X(ldap_set_option)                                                                             \
    X(ldap_unbind_ext_s)                                                                           \
    X(ldap_value_free_len)

static struct {
#define LDAP_CALL_FIELD(name) __typeof__(name) *name;
    LDAP_CALLS(LDAP_CALL_FIELD)
#undef LDAP_CALL_FIELD
} ldap_api;
static pthread_once_t ldap_api_once = PTHREAD_ONCE_INIT;
static bool ldap_api_loaded;
static char ldap_api_error[256];

static void load_ldap_api(void)
{
    char why[200];
    const struct mdm_dl_symbol symbols[] = {
#define LDAP_CALL_SYMBOL(name) {#name, &ldap_api.name},
        LDAP_CALLS(LDAP_CALL_SYMBOL)
#undef LDAP_CALL_SYMBOL
    };

    if (mdm_dl_load(MDM_LDAP_SONAME, symbols, sizeof(symbols) / sizeof(symbols[0]), why,
                    sizeof(why)) != 0) {
        snprintf(ldap_api_error, sizeof(ldap_api_error), "cannot load %s: %s", MDM_LDAP_SONAME,
                 why);
        return;
    }
    ldap_api_loaded = true;
}

/* Loads libldap once; false (with the reason in ldap_api_error) when it cannot be. */
static bool have_ldap_api(void)
{
    return pthread_once(&ldap_api_once, load_ldap_api) == 0 && ldap_api_loaded;
}

/* From here on, every libldap call goes through the loaded library. */
#define ldap_abandon_ext    ldap_api.ldap_abandon_ext
#define ldap_err2string     ldap_api.ldap_err2string
#define ldap_first_entry    ldap_api.ldap_first_entry
#define ldap_get_dn         ldap_api.ldap_get_dn
#define ldap_get_option     ldap_api.ldap_get_option
#define ldap_get_values_len ldap_api.ldap_get_values_len
#define ldap_initialize     ldap_api.ldap_initialize
#define ldap_memfree        ldap_api.ldap_memfree
#define ldap_modify_ext     ldap_api.ldap_modify_ext
#define ldap_msgfree        ldap_api.ldap_msgfree
#define ldap_next_entry     ldap_api.ldap_next_entry
#define ldap_parse_result   ldap_api.ldap_parse_result
#define ldap_result         ldap_api.ldap_result
#define ldap_sasl_bind      ldap_api.ldap_sasl_bind
#define ldap_search_ext_s   ldap_api.ldap_search_ext_s
#define ldap_set_option     ldap_api.ldap_set_option
#define ldap_unbind_ext_s   ldap_api.ldap_unbind_ext_s
#define ldap_value_free_len ldap_api.ldap_value_free_len

/* OpenLDAP's result codes are the portable ones: nothing to translate. */
_Static_assert(LDAP_SUCCESS == MDM_LDAP_SUCCESS && LDAP_SERVER_DOWN == MDM_LDAP_SERVER_DOWN &&
                   LDAP_LOCAL_ERROR == MDM_LDAP_LOCAL_ERROR && LDAP_TIMEOUT == MDM_LDAP_TIMEOUT &&
                   LDAP_PARAM_ERROR == MDM_LDAP_PARAM_ERROR &&
                   LDAP_NO_MEMORY == MDM_LDAP_NO_MEMORY &&
                   LDAP_CONNECT_ERROR == MDM_LDAP_CONNECT_ERROR,
               "OpenLDAP's client result codes");
_Static_assert(LDAP_TIMELIMIT_EXCEEDED == MDM_LDAP_TIMELIMIT_EXCEEDED &&
                   LDAP_SIZELIMIT_EXCEEDED == MDM_LDAP_SIZELIMIT_EXCEEDED &&
                   LDAP_STRONG_AUTH_REQUIRED == MDM_LDAP_STRONG_AUTH_REQUIRED &&
                   LDAP_TYPE_OR_VALUE_EXISTS == MDM_LDAP_TYPE_OR_VALUE_EXISTS &&
                   LDAP_NO_SUCH_OBJECT == MDM_LDAP_NO_SUCH_OBJECT &&
                   LDAP_INVALID_CREDENTIALS == MDM_LDAP_INVALID_CREDENTIALS &&
                   LDAP_INSUFFICIENT_ACCESS == MDM_LDAP_INSUFFICIENT_ACCESS &&
                   LDAP_BUSY == MDM_LDAP_BUSY && LDAP_UNAVAILABLE == MDM_LDAP_UNAVAILABLE &&
                   LDAP_OTHER == MDM_LDAP_OTHER,
               "RFC 4511 result codes");
_Static_assert(LDAP_SCOPE_BASE == MDM_LDAP_SCOPE_BASE &&
                   LDAP_SCOPE_SUBTREE == MDM_LDAP_SCOPE_SUBTREE,
               "search scopes");

#define ATTRS_MAX 8 /* attributes asked for by one search */

struct mdm_ldap {
    LDAP *ld;
};

/* Sets tv to the time left before deadline_ms; false once it has passed. */
static bool time_left(long long deadline_ms, struct timeval *tv)
{
    long long left = deadline_ms - (long long)mdm_os_monotonic_ms();

    if (left <= 0)
        return false;
    tv->tv_sec = (time_t)(left / 1000);
    tv->tv_usec = (suseconds_t)(left % 1000) * 1000;
    return true;
}

int mdm_ldap_open(const char *uri, int timeout_ms, struct mdm_ldap **out, struct mdm_err *err)
{
    struct mdm_ldap *handle = NULL;
    struct timeval tv;
    int version = LDAP_VERSION3;
    LDAP *ld = NULL;
    int lrc, rc;

    if (!have_ldap_api())
        return mdm_err_set(err, MDM_EIO, "LDAP %s cannot be used: %s", uri, ldap_api_error);
    lrc = ldap_initialize(&ld, uri);
    if (lrc != LDAP_SUCCESS || ld == NULL) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-uri %s cannot be used: %s (%d)", uri,
                         ldap_err2string(lrc), lrc);
        goto out;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS) {
        rc = mdm_err_set(err, MDM_EIO, "LDAP %s: cannot set the LDAPv3 and timeout options", uri);
        goto out;
    }
    handle = mdm_calloc(1, sizeof(*handle));
    if (handle == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    handle->ld = ld;
    ld = NULL;
    *out = handle;
    rc = 0;
out:
    if (ld != NULL)
        ldap_unbind_ext_s(ld, NULL, NULL);
    return rc;
}

void mdm_ldap_close(struct mdm_ldap *ld)
{
    if (ld == NULL)
        return;
    if (ld->ld != NULL)
        ldap_unbind_ext_s(ld->ld, NULL, NULL);
    mdm_free(ld);
}

/*
 * Waits before deadline_ms for the answer to the request msgid and returns
 * its result code; a request not answered in time is abandoned.
 */
static int wait_result(struct mdm_ldap *ld, int msgid, long long deadline_ms)
{
    struct timeval tv;
    LDAPMessage *res = NULL;
    int result = LDAP_OTHER;
    int lrc;

    if (!time_left(deadline_ms, &tv)) {
        ldap_abandon_ext(ld->ld, msgid, NULL, NULL);
        return LDAP_TIMEOUT;
    }
    lrc = ldap_result(ld->ld, msgid, LDAP_MSG_ALL, &tv, &res);
    if (lrc == 0) {
        ldap_abandon_ext(ld->ld, msgid, NULL, NULL);
        return LDAP_TIMEOUT;
    }
    if (lrc < 0) {
        ldap_get_option(ld->ld, LDAP_OPT_RESULT_CODE, &result);
        return result;
    }
    lrc = ldap_parse_result(ld->ld, res, &result, NULL, NULL, NULL, NULL, 1);
    return lrc != LDAP_SUCCESS ? lrc : result;
}

/* Without a dn, OpenLDAP binds anonymously (a simple bind with no name). */
int mdm_ldap_bind(struct mdm_ldap *ld, const char *dn, const char *password, long long deadline_ms)
{
    struct berval cred;
    int msgid = -1;
    int lrc;

    cred.bv_val = (char *)password;
    cred.bv_len = password != NULL ? strlen(password) : 0;
    lrc = ldap_sasl_bind(ld->ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, &msgid);
    if (lrc != LDAP_SUCCESS)
        return lrc; /* the connection is made here, bounded by LDAP_OPT_NETWORK_TIMEOUT */
    return wait_result(ld, msgid, deadline_ms);
}

const char *mdm_ldap_implicit_bind(void)
{
    return "an anonymous bind";
}

void mdm_ldap_error_text(int lrc, char *out, size_t size)
{
    if (!have_ldap_api()) {
        snprintf(out, size, "LDAP result %d", lrc);
        return;
    }
    mdm_utf8_copy(out, size, ldap_err2string(lrc));
}

void mdm_ldap_server_message(struct mdm_ldap *ld, char *out, size_t size)
{
    char *msg = NULL;

    out[0] = '\0';
    if (ld == NULL || ld->ld == NULL ||
        ldap_get_option(ld->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) != LDAP_OPT_SUCCESS)
        return;
    if (msg != NULL) {
        mdm_utf8_copy(out, size, msg);
        ldap_memfree(msg);
    }
}

int mdm_ldap_search(struct mdm_ldap *ld, const char *base, enum mdm_ldap_scope scope,
                    const char *filter, const char *const *attrs, int sizelimit,
                    long long deadline_ms, struct mdm_ldap_msg **res)
{
    char *names[ATTRS_MAX + 1];
    LDAPMessage *msg = NULL;
    struct timeval tv;
    size_t n = 0;
    int lrc;

    for (; attrs != NULL && attrs[n] != NULL; n++) {
        if (n == ATTRS_MAX)
            return LDAP_PARAM_ERROR;
        names[n] = (char *)attrs[n];
    }
    names[n] = NULL;
    if (!time_left(deadline_ms, &tv))
        return LDAP_TIMEOUT;
    lrc = ldap_search_ext_s(ld->ld, base, (int)scope, filter, names, 0, NULL, NULL, &tv, sizelimit,
                            &msg);
    if (lrc == LDAP_SUCCESS || (lrc == LDAP_SIZELIMIT_EXCEEDED && msg != NULL)) {
        *res = (struct mdm_ldap_msg *)msg;
        return lrc;
    }
    if (msg != NULL)
        ldap_msgfree(msg);
    return lrc;
}

void mdm_ldap_msg_free(struct mdm_ldap_msg *res)
{
    if (res != NULL)
        ldap_msgfree((LDAPMessage *)res);
}

struct mdm_ldap_msg *mdm_ldap_first_entry(struct mdm_ldap *ld, struct mdm_ldap_msg *res)
{
    return (struct mdm_ldap_msg *)ldap_first_entry(ld->ld, (LDAPMessage *)res);
}

struct mdm_ldap_msg *mdm_ldap_next_entry(struct mdm_ldap *ld, struct mdm_ldap_msg *entry)
{
    return (struct mdm_ldap_msg *)ldap_next_entry(ld->ld, (LDAPMessage *)entry);
}

char *mdm_ldap_get_dn(struct mdm_ldap *ld, struct mdm_ldap_msg *entry, size_t max)
{
    char *dn = ldap_get_dn(ld->ld, (LDAPMessage *)entry);
    char *copy = NULL;

    if (dn != NULL && strlen(dn) < max)
        copy = mdm_strdup(dn);
    if (dn != NULL)
        ldap_memfree(dn);
    return copy;
}

struct mdm_ldap_values *mdm_ldap_get_values(struct mdm_ldap *ld, struct mdm_ldap_msg *entry,
                                            const char *attr)
{
    return (struct mdm_ldap_values *)ldap_get_values_len(ld->ld, (LDAPMessage *)entry, attr);
}

bool mdm_ldap_value(const struct mdm_ldap_values *values, size_t i, const char **data, size_t *len)
{
    struct berval *const *vals = (struct berval *const *)values;

    if (vals == NULL || vals[i] == NULL)
        return false;
    *data = vals[i]->bv_val;
    *len = (size_t)vals[i]->bv_len;
    return true;
}

void mdm_ldap_values_free(struct mdm_ldap_values *values)
{
    if (values != NULL)
        ldap_value_free_len((struct berval **)values);
}

int mdm_ldap_add_value(struct mdm_ldap *ld, const char *dn, const char *attr, const char *value,
                       long long deadline_ms)
{
    struct berval bv;
    struct berval *values[2];
    LDAPMod mod;
    LDAPMod *mods[2];
    int msgid = -1;
    int lrc;

    bv.bv_val = (char *)value;
    bv.bv_len = strlen(value);
    values[0] = &bv;
    values[1] = NULL;
    memset(&mod, 0, sizeof(mod));
    mod.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
    mod.mod_type = (char *)attr;
    mod.mod_bvalues = values;
    mods[0] = &mod;
    mods[1] = NULL;
    lrc = ldap_modify_ext(ld->ld, dn, mods, NULL, NULL, &msgid);
    if (lrc != LDAP_SUCCESS)
        return lrc;
    return wait_result(ld, msgid, deadline_ms);
}

int mdm_ldap_read_password_file(const char *path, char *out, size_t size, struct mdm_err *err)
{
    char buf[MDM_LDAP_PASSWORD_MAX + 2];
    struct stat st;
    size_t len = 0;
    int fd, rc;

    /* O_NONBLOCK: a FIFO in its place must not hang the check (it is refused below). */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s cannot be opened: %s", path,
                         strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        rc = mdm_err_set(err, MDM_EINVAL,
                         "ldap-password-file %s is accessible by group or others (mode %04o); "
                         "make it owner-only: chmod 600 %s",
                         path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    while (len < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = mdm_err_set(err, MDM_EIO, "ldap-password-file %s cannot be read: %s", path,
                             strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    rc = mdm_ldap_password_first_line(path, buf, len, len == sizeof(buf) - 1, out, size, err);
out:
    mdm_wipe(buf, sizeof(buf));
    if (fd >= 0)
        close(fd);
    return rc;
}

int mdm_ldap_discover(unsigned what, struct mdm_ldap_discovery *out, struct mdm_err *err)
{
    (void)what;
    (void)out;
    return mdm_err_set(err, MDM_EUNSUPPORTED,
                       "this system has no Active Directory membership to ask: set ldap-uri, "
                       "ldap-base and computer-dn");
}

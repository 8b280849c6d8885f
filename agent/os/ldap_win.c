/*
 * ldap_win.c - mdm_ldap.h with wldap32.
 *
 * The W functions are used throughout: wldap32 turns their UTF-16 strings
 * into UTF-8 on the wire, where the A functions would go through the ANSI
 * code page and damage DNs outside it. Attribute values are read and
 * written as bytes (the _len / LDAP_MOD_BVALUES forms), so UTF-8 passes
 * through unchanged.
 *
 * Timeouts: the connection (ldap_connect) and every search, simple bind and
 * modify wait through ldap_result with the time left to the caller's
 * deadline. The Negotiate bind (no bind DN) is synchronous in wldap32
 * (ldap_bind_s): it starts only once the server has accepted the
 * connection, but a server that then stops answering holds it for as long
 * as wldap32 waits, not only until the deadline. ldap_connect and the
 * server-side search time limit count in whole seconds: they are rounded up.
 *
 * Discovery (mdm_ldap_discover, ldap_discover_win.c): DsGetDcNameW (netapi32) and
 * GetComputerObjectNameW (secur32). Both need this computer to be a member
 * of a domain and a domain controller to answer; each failure is reported
 * with the call, the Windows error and the directive that replaces it.
 *
 * The password file (mdm_ldap_read_password_file) is in ldap_password_win.c.
 */
#include "agent/os/mdm_ldap.h"

#include "agent/os/ldap_win.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"
#include "agent/os/mdm_os.h"
#include "agent/common/mdm_text.h"
#include "agent/os/win_util.h"

#include <windows.h>
#include <aclapi.h>
#include <dsgetdc.h>
#include <lm.h>
#include <winldap.h>
#define SECURITY_WIN32
#include <secext.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ATTRS_MAX      8    /* attributes asked for by one search */
#define ATTR_NAME_MAX  64   /* wide characters of an attribute name */
#define SERVER_MSG_MAX 1024 /* UTF-8 bytes of the server's diagnostic message */

struct mdm_ldap {
    LDAP *ld;
    bool ssl;       /* ldaps:// */
    bool connected; /* ldap_connect succeeded */
};

/*
 * wldap32's client-side codes are 0x51..0x61 (LDAP_SERVER_DOWN ..
 * LDAP_REFERRAL_LIMIT_EXCEEDED), in the order of OpenLDAP's -1..-17: the
 * portable code is 0x50 - native. The server's codes are the same on both.
 */
static int from_native(ULONG lrc)
{
    if (lrc >= 0x51 && lrc <= 0x61)
        return 0x50 - (int)lrc;
    return (int)lrc;
}

static ULONG to_native(int lrc)
{
    if (lrc <= -1 && lrc >= -17)
        return (ULONG)(0x50 - lrc);
    return (ULONG)lrc;
}

/* Milliseconds left before deadline_ms; 0 or less once it has passed. */
static long long left_ms(long long deadline_ms)
{
    return deadline_ms - (long long)mdm_os_monotonic_ms();
}

/* Whole seconds for the wldap32 parameters that count in seconds, rounded up, at least 1. */
static ULONG whole_seconds(long long ms)
{
    long long s = (ms + 999) / 1000;

    return s < 1 ? 1 : (ULONG)s;
}

/*
 * Returns a UTF-16 copy of s owned by the caller (mdm_free), or NULL with
 * *lrc set to MDM_LDAP_NO_MEMORY or MDM_LDAP_PARAM_ERROR (not UTF-8).
 */
static wchar_t *wide_dup(const char *s, int *lrc)
{
    size_t count = strlen(s) + 1; /* a UTF-8 byte never becomes more than one UTF-16 unit */
    wchar_t *w = mdm_malloc(count * sizeof(wchar_t));

    if (w == NULL) {
        *lrc = MDM_LDAP_NO_MEMORY;
        return NULL;
    }
    if (mdm_win_utf8_to_wide(s, w, count) != 0) {
        mdm_free(w);
        *lrc = MDM_LDAP_PARAM_ERROR;
        return NULL;
    }
    return w;
}

/* Frees a wide copy of a secret after overwriting it. */
static void wide_free_secret(wchar_t *w)
{
    if (w != NULL) {
        mdm_wipe(w, wcslen(w) * sizeof(wchar_t));
        mdm_free(w);
    }
}

/* The server's (or the host's) part of the URI, parsed. */
struct target {
    char host[HOST_MAX]; /* "" when the URI names none: a domain controller of this domain */
    ULONG port;
    bool ssl;
};

/*
 * Parses "ldap://host[:port][/...]" or "ldaps://..." ("[v6]:port" for an
 * IPv6 address). Returns 0 or MDM_EINVAL with why set.
 */
static int parse_uri(const char *uri, struct target *t, char *why, size_t why_size)
{
    const char *p, *end, *colon = NULL;
    size_t hostlen;

    memset(t, 0, sizeof(*t));
    if (mdm_ascii_iequal_n(uri, "ldap://", 7)) {
        t->port = LDAP_PORT;
        p = uri + 7;
    } else if (mdm_ascii_iequal_n(uri, "ldaps://", 8)) {
        t->ssl = true;
        t->port = LDAP_SSL_PORT;
        p = uri + 8;
    } else {
        snprintf(why, why_size, "only ldap:// and ldaps:// are available on Windows");
        return MDM_EINVAL;
    }
    end = p + strcspn(p, "/?#");
    if (memchr(p, ' ', (size_t)(end - p)) != NULL || memchr(p, ',', (size_t)(end - p)) != NULL) {
        snprintf(why, why_size, "give one server");
        return MDM_EINVAL;
    }
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL || (close + 1 != end && close[1] != ':')) {
            snprintf(why, why_size, "the IPv6 address is not closed by ']'");
            return MDM_EINVAL;
        }
        colon = close + 1 != end ? close + 1 : NULL;
        p++;
        hostlen = (size_t)(close - p);
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        hostlen = (size_t)((colon != NULL ? colon : end) - p);
        if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL) {
            snprintf(why, why_size, "write an IPv6 address in brackets: ldap://[2001:db8::1]/");
            return MDM_EINVAL;
        }
    }
    if (hostlen >= sizeof(t->host)) {
        snprintf(why, why_size, "the host name is too long");
        return MDM_EINVAL;
    }
    memcpy(t->host, p, hostlen);
    t->host[hostlen] = '\0';
    if (colon != NULL) {
        unsigned long port = 0;
        const char *d = colon + 1;
        if (d == end) {
            snprintf(why, why_size, "the port is missing after ':'");
            return MDM_EINVAL;
        }
        for (; d < end; d++) {
            if (*d < '0' || *d > '9' || (port = port * 10 + (unsigned long)(*d - '0')) > 65535) {
                snprintf(why, why_size, "the port is not a number from 1 to 65535");
                return MDM_EINVAL;
            }
        }
        if (port == 0) {
            snprintf(why, why_size, "the port is not a number from 1 to 65535");
            return MDM_EINVAL;
        }
        t->port = (ULONG)port;
    }
    return 0;
}

int mdm_ldap_open(const char *uri, int timeout_ms, struct mdm_ldap **out, struct mdm_err *err)
{
    struct mdm_ldap *handle = NULL;
    struct target t;
    wchar_t whost[HOST_MAX];
    char why[160], text[256];
    ULONG version = LDAP_VERSION3, seconds = whole_seconds(timeout_ms);
    LDAP *ld = NULL;
    int lrc, rc;

    if (parse_uri(uri, &t, why, sizeof(why)) != 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-uri %s cannot be used: %s", uri, why);
        goto out;
    }
    if (t.host[0] != '\0' && mdm_win_utf8_to_wide(t.host, whost, HOST_MAX) != 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-uri %s cannot be used: the host is not UTF-8", uri);
        goto out;
    }
    /* No host: wldap32 locates a domain controller of this computer's domain. */
    ld = ldap_sslinitW(t.host[0] != '\0' ? whost : NULL, t.port, t.ssl ? 1 : 0);
    if (ld == NULL) {
        lrc = from_native(LdapGetLastError());
        mdm_ldap_error_text(lrc, text, sizeof(text));
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-uri %s cannot be used: %s (%d)", uri, text, lrc);
        goto out;
    }
    if (ldap_set_optionW(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_SUCCESS ||
        ldap_set_optionW(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_SUCCESS ||
        ldap_set_optionW(ld, LDAP_OPT_TIMELIMIT, &seconds) != LDAP_SUCCESS) {
        rc = mdm_err_set(err, MDM_EIO, "LDAP %s: cannot set the LDAPv3 and timeout options", uri);
        goto out;
    }
    /* A named host is a host, not a domain to look up (best effort: not every wldap32 has it). */
    if (t.host[0] != '\0')
        ldap_set_optionW(ld, LDAP_OPT_AREC_EXCLUSIVE, LDAP_OPT_ON);
    handle = mdm_calloc(1, sizeof(*handle));
    if (handle == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    handle->ld = ld;
    handle->ssl = t.ssl;
    ld = NULL;
    *out = handle;
    rc = 0;
out:
    if (ld != NULL)
        ldap_unbind(ld);
    return rc;
}

void mdm_ldap_close(struct mdm_ldap *ld)
{
    if (ld == NULL)
        return;
    if (ld->ld != NULL)
        ldap_unbind(ld->ld);
    mdm_free(ld);
}

/*
 * Waits before deadline_ms for the answer to the request msgid and returns
 * its result code; a request not answered in time is abandoned. With keep,
 * the answer is handed to the caller (*keep, ldap_msgfree), else freed.
 */
static int wait_result(struct mdm_ldap *ld, ULONG msgid, long long deadline_ms, LDAPMessage **keep)
{
    struct l_timeval tv;
    LDAPMessage *res = NULL;
    long long left = left_ms(deadline_ms);
    ULONG got;

    if (left <= 0) {
        ldap_abandon(ld->ld, msgid);
        return MDM_LDAP_TIMEOUT;
    }
    tv.tv_sec = (LONG)(left / 1000);
    tv.tv_usec = (LONG)(left % 1000) * 1000;
    got = ldap_result(ld->ld, msgid, LDAP_MSG_ALL, &tv, &res);
    if (got == 0) {
        if (res != NULL)
            ldap_msgfree(res);
        ldap_abandon(ld->ld, msgid);
        return MDM_LDAP_TIMEOUT;
    }
    if (got == (ULONG)-1 || res == NULL)
        return from_native(LdapGetLastError());
    if (keep != NULL) {
        *keep = res;
        return from_native(ldap_result2error(ld->ld, res, FALSE));
    }
    return from_native(ldap_result2error(ld->ld, res, TRUE));
}

/* Connects (once) within the time left, rounded up to whole seconds. */
static int connect_once(struct mdm_ldap *ld, long long deadline_ms)
{
    struct l_timeval tv;
    long long left = left_ms(deadline_ms);
    ULONG lrc;

    if (ld->connected)
        return MDM_LDAP_SUCCESS;
    if (left <= 0)
        return MDM_LDAP_TIMEOUT;
    tv.tv_sec = (LONG)whole_seconds(left);
    tv.tv_usec = 0;
    lrc = ldap_connect(ld->ld, &tv);
    if (lrc != LDAP_SUCCESS)
        return from_native(lrc);
    ld->connected = true;
    return MDM_LDAP_SUCCESS;
}

/*
 * With a dn: a simple bind (ldap_simple_bindW, answered through
 * ldap_result). Without: Negotiate as this process's account, signed and
 * sealed unless the connection is TLS already.
 */
int mdm_ldap_bind(struct mdm_ldap *ld, const char *dn, const char *password, long long deadline_ms)
{
    wchar_t *wdn = NULL, *wpassword = NULL;
    ULONG msgid;
    int lrc;

    lrc = connect_once(ld, deadline_ms);
    if (lrc != MDM_LDAP_SUCCESS)
        goto out;
    if (dn == NULL) {
        if (!ld->ssl) {
            /* Best effort: a server that requires LDAP signing accepts a signed bind only. */
            ldap_set_optionW(ld->ld, LDAP_OPT_SIGN, LDAP_OPT_ON);
            ldap_set_optionW(ld->ld, LDAP_OPT_ENCRYPT, LDAP_OPT_ON);
        }
        lrc = from_native(ldap_bind_sW(ld->ld, NULL, NULL, LDAP_AUTH_NEGOTIATE));
        goto out;
    }
    wdn = wide_dup(dn, &lrc);
    if (wdn == NULL)
        goto out;
    wpassword = wide_dup(password != NULL ? password : "", &lrc);
    if (wpassword == NULL)
        goto out;
    msgid = ldap_simple_bindW(ld->ld, wdn, wpassword);
    if (msgid == (ULONG)-1) {
        lrc = from_native(LdapGetLastError());
        goto out;
    }
    lrc = wait_result(ld, msgid, deadline_ms, NULL);
out:
    mdm_free(wdn);
    wide_free_secret(wpassword);
    return lrc;
}

const char *mdm_ldap_implicit_bind(void)
{
    return "this computer's account (Negotiate bind)";
}

void mdm_ldap_error_text(int lrc, char *out, size_t size)
{
    const wchar_t *text = ldap_err2stringW(to_native(lrc));

    if (text == NULL || text[0] == L'\0' || mdm_win_wide_to_utf8(text, out, size) != 0)
        snprintf(out, size, "LDAP error %d", lrc);
}

void mdm_ldap_server_message(struct mdm_ldap *ld, char *out, size_t size)
{
    wchar_t *msg = NULL;
    char text[SERVER_MSG_MAX];

    out[0] = '\0';
    if (ld == NULL || ld->ld == NULL ||
        ldap_get_optionW(ld->ld, LDAP_OPT_SERVER_ERROR, &msg) != LDAP_SUCCESS || msg == NULL)
        return;
    if (mdm_win_wide_to_utf8(msg, text, sizeof(text)) == 0)
        mdm_utf8_copy(out, size, text);
    ldap_memfreeW(msg);
}

int mdm_ldap_search(struct mdm_ldap *ld, const char *base, enum mdm_ldap_scope scope,
                    const char *filter, const char *const *attrs, int sizelimit,
                    long long deadline_ms, struct mdm_ldap_msg **res)
{
    wchar_t names[ATTRS_MAX][ATTR_NAME_MAX];
    wchar_t *list[ATTRS_MAX + 1];
    wchar_t *wbase = NULL, *wfilter = NULL;
    LDAPMessage *msg = NULL;
    long long left = left_ms(deadline_ms);
    ULONG msgid = 0, native;
    size_t n = 0;
    int lrc;

    for (; attrs != NULL && attrs[n] != NULL; n++) {
        if (n == ATTRS_MAX || mdm_win_utf8_to_wide(attrs[n], names[n], ATTR_NAME_MAX) != 0)
            return MDM_LDAP_PARAM_ERROR;
        list[n] = names[n];
    }
    list[n] = NULL;
    if (left <= 0)
        return MDM_LDAP_TIMEOUT;
    wbase = wide_dup(base, &lrc);
    if (wbase == NULL)
        goto out;
    wfilter = wide_dup(filter, &lrc);
    if (wfilter == NULL)
        goto out;
    native = ldap_search_extW(ld->ld, wbase, (ULONG)scope, wfilter, list, 0, NULL, NULL,
                              whole_seconds(left), sizelimit > 0 ? (ULONG)sizelimit : 0, &msgid);
    if (native != LDAP_SUCCESS) {
        lrc = from_native(native);
        goto out;
    }
    lrc = wait_result(ld, msgid, deadline_ms, &msg);
    if (msg != NULL && (lrc == MDM_LDAP_SUCCESS || lrc == MDM_LDAP_SIZELIMIT_EXCEEDED)) {
        *res = (struct mdm_ldap_msg *)msg;
        msg = NULL;
    }
out:
    if (msg != NULL)
        ldap_msgfree(msg);
    mdm_free(wbase);
    mdm_free(wfilter);
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
    wchar_t *dn = ldap_get_dnW(ld->ld, (LDAPMessage *)entry);
    char *copy = NULL;

    if (dn == NULL || max == 0)
        goto out;
    copy = mdm_malloc(max);
    if (copy != NULL && mdm_win_wide_to_utf8(dn, copy, max) != 0) {
        mdm_free(copy);
        copy = NULL;
    }
out:
    if (dn != NULL)
        ldap_memfreeW(dn);
    return copy;
}

struct mdm_ldap_values *mdm_ldap_get_values(struct mdm_ldap *ld, struct mdm_ldap_msg *entry,
                                            const char *attr)
{
    wchar_t name[ATTR_NAME_MAX];

    if (mdm_win_utf8_to_wide(attr, name, ATTR_NAME_MAX) != 0)
        return NULL;
    return (struct mdm_ldap_values *)ldap_get_values_lenW(ld->ld, (LDAPMessage *)entry, name);
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
    wchar_t name[ATTR_NAME_MAX];
    wchar_t *wdn = NULL;
    struct berval bv;
    struct berval *values[2];
    LDAPModW mod;
    LDAPModW *mods[2];
    ULONG msgid = 0, native;
    size_t len = strlen(value);
    int lrc;

    if (mdm_win_utf8_to_wide(attr, name, ATTR_NAME_MAX) != 0 || len > 0xFFFFFFFFu)
        return MDM_LDAP_PARAM_ERROR;
    wdn = wide_dup(dn, &lrc);
    if (wdn == NULL)
        goto out;
    bv.bv_val = (char *)value;
    bv.bv_len = (ULONG)len;
    values[0] = &bv;
    values[1] = NULL;
    memset(&mod, 0, sizeof(mod));
    mod.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
    mod.mod_type = name;
    mod.mod_vals.modv_bvals = values;
    mods[0] = &mod;
    mods[1] = NULL;
    native = ldap_modify_extW(ld->ld, wdn, mods, NULL, NULL, &msgid);
    if (native != LDAP_SUCCESS) {
        lrc = from_native(native);
        goto out;
    }
    lrc = wait_result(ld, msgid, deadline_ms, NULL);
out:
    mdm_free(wdn);
    return lrc;
}

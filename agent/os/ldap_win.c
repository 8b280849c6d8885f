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
 * Discovery (mdm_ldap_discover): DsGetDcNameW (netapi32) and
 * GetComputerObjectNameW (secur32). Both need this computer to be a member
 * of a domain and a domain controller to answer; each failure is reported
 * with the call, the Windows error and the directive that replaces it.
 */
#include "agent/os/mdm_ldap.h"

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

#define ATTRS_MAX      8   /* attributes asked for by one search */
#define ATTR_NAME_MAX  64  /* wide characters of an attribute name */
#define HOST_MAX       256 /* bytes of the host part of the URI */
#define PATH_WIDE_MAX  4096
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

/* ---- the password file ------------------------------------------------- */

/* The groups too broad to be let near a password, with the names used in messages. */
static const struct {
    WELL_KNOWN_SID_TYPE type;
    const char *name;
} broad_groups[] = {
    {WinWorldSid, "Everyone"},
    {WinAuthenticatedUserSid, "Authenticated Users"},
    {WinBuiltinUsersSid, "Users"},
    {WinBuiltinGuestsSid, "Guests"},
    {WinAnonymousSid, "Anonymous Logon"},
    {WinInteractiveSid, "Interactive"},
    {WinNetworkSid, "Network"},
};

/* The broad group that sid is, or NULL. */
static const char *broad_group(PSID sid)
{
    for (size_t i = 0; i < sizeof(broad_groups) / sizeof(broad_groups[0]); i++) {
        BYTE buf[SECURITY_MAX_SID_SIZE];
        DWORD size = sizeof(buf);
        if (CreateWellKnownSid(broad_groups[i].type, NULL, buf, &size) && EqualSid(sid, buf))
            return broad_groups[i].name;
    }
    return NULL;
}

/*
 * The Windows form of "owner-only": no ACE of the file's DACL lets a broad
 * group read or change it. A file without a DACL is open to everyone.
 */
static int check_acl(HANDLE h, const char *path, struct mdm_err *err)
{
    const ACCESS_MASK risky = FILE_READ_DATA | FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_READ |
                              GENERIC_WRITE | GENERIC_ALL | WRITE_DAC | WRITE_OWNER;
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    const char *who = NULL;
    char text[256];
    DWORD status;
    int rc;

    status =
        GetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd);
    if (status != ERROR_SUCCESS) {
        mdm_win_error_text(status, text, sizeof(text));
        rc = mdm_err_set(err, MDM_EIO, "ldap-password-file %s: cannot read its permissions: %s",
                         path, text);
        goto out;
    }
    if (dacl == NULL)
        who = "Everyone (the file has no access control list)";
    for (DWORD i = 0; who == NULL && i < dacl->AceCount; i++) {
        ACE_HEADER *ace = NULL;
        if (!GetAce(dacl, i, (LPVOID *)&ace) || ace->AceType != ACCESS_ALLOWED_ACE_TYPE ||
            (ace->AceFlags & INHERIT_ONLY_ACE) != 0)
            continue;
        if ((((ACCESS_ALLOWED_ACE *)ace)->Mask & risky) != 0)
            who = broad_group((PSID) & ((ACCESS_ALLOWED_ACE *)ace)->SidStart);
    }
    if (who != NULL) {
        rc = mdm_err_set(err, MDM_EINVAL,
                         "ldap-password-file %s may be read or changed by %s; allow only the "
                         "service account and administrators: icacls \"%s\" /inheritance:r "
                         "/grant:r *S-1-5-18:R *S-1-5-32-544:F *S-1-5-20:R",
                         path, who, path);
        goto out;
    }
    rc = 0;
out:
    if (sd != NULL)
        LocalFree(sd);
    return rc;
}

int mdm_ldap_read_password_file(const char *path, char *out, size_t size, struct mdm_err *err)
{
    wchar_t wpath[PATH_WIDE_MAX];
    char buf[MDM_LDAP_PASSWORD_MAX + 2];
    char text[256];
    HANDLE h = INVALID_HANDLE_VALUE;
    size_t len = 0, line;
    int rc;

    if (mdm_win_utf8_to_wide(path, wpath, PATH_WIDE_MAX) != 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s is not a usable path", path);
        goto out;
    }
    h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        mdm_win_error_text(GetLastError(), text, sizeof(text));
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s cannot be opened: %s", path, text);
        goto out;
    }
    if (GetFileType(h) != FILE_TYPE_DISK) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s is not a regular file", path);
        goto out;
    }
    rc = check_acl(h, path, err);
    if (rc != 0)
        goto out;
    while (len < sizeof(buf) - 1) {
        DWORD got = 0;
        if (!ReadFile(h, buf + len, (DWORD)(sizeof(buf) - 1 - len), &got, NULL)) {
            mdm_win_error_text(GetLastError(), text, sizeof(text));
            rc = mdm_err_set(err, MDM_EIO, "ldap-password-file %s cannot be read: %s", path, text);
            goto out;
        }
        if (got == 0)
            break;
        len += got;
    }
    buf[len] = '\0';
    line = strcspn(buf, "\r\n");
    if (line == len && len == sizeof(buf) - 1) {
        rc = mdm_err_set(err, MDM_EINVAL,
                         "ldap-password-file %s: the password is longer than %u bytes", path,
                         MDM_LDAP_PASSWORD_MAX);
        goto out;
    }
    if (line == 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s: the first line is empty", path);
        goto out;
    }
    if (line >= size) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s: the password is too long", path);
        goto out;
    }
    memcpy(out, buf, line);
    out[line] = '\0';
    rc = 0;
out:
    mdm_wipe(buf, sizeof(buf));
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    return rc;
}

/* Appends "; " (unless first) and a printf-style text to the message in buf (size bytes). */
static void add_problem(char *buf, size_t size, const char *fmt, ...) MDM_PRINTF_FORMAT(3, 4);

static void add_problem(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used > 0 && used + 2 < size) {
        memcpy(buf + used, "; ", 3);
        used += 2;
    }
    if (used + 1 >= size)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/*
 * Writes the naming context of the DNS domain name ("contoso.com." ->
 * "DC=contoso,DC=com") into out (size bytes), escaping the characters
 * RFC 4514 reserves. Returns 0, MDM_EINVAL (an empty label) or MDM_ETOOBIG.
 */
static int domain_to_dn(const char *domain, char *out, size_t size)
{
    size_t n = 0, len = strlen(domain);
    bool label_start = true;

    while (len > 0 && domain[len - 1] == '.')
        len--; /* the root of a fully qualified name */
    if (len == 0)
        return MDM_EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = domain[i];
        if (c == '.') {
            if (label_start)
                return MDM_EINVAL;
            label_start = true;
            if (n + 1 >= size)
                return MDM_ETOOBIG;
            out[n++] = ',';
            continue;
        }
        if (label_start) {
            if (n + 3 >= size)
                return MDM_ETOOBIG;
            memcpy(out + n, "DC=", 3);
            n += 3;
            if (c == ' ' || c == '#') {
                if (n + 1 >= size)
                    return MDM_ETOOBIG;
                out[n++] = '\\';
            }
            label_start = false;
        }
        if (strchr(",+\"\\<>;=", c) != NULL) {
            if (n + 1 >= size)
                return MDM_ETOOBIG;
            out[n++] = '\\';
        }
        if (n + 1 >= size)
            return MDM_ETOOBIG;
        out[n++] = c;
    }
    if (label_start)
        return MDM_EINVAL;
    out[n] = '\0';
    return 0;
}

/* The directives DsGetDcName stands in for, as "ldap-uri and ldap-base". */
static const char *dc_directives(unsigned what)
{
    if ((what & MDM_LDAP_DISCOVER_URI) && (what & MDM_LDAP_DISCOVER_BASE))
        return "ldap-uri and ldap-base";
    return (what & MDM_LDAP_DISCOVER_URI) ? "ldap-uri" : "ldap-base";
}

/*
 * Fills f->uri and f->base (as asked by what) from DsGetDcNameW. On failure
 * adds the reason to problems and returns the Windows error.
 */
static DWORD discover_dc(unsigned what, struct mdm_ldap_discovery *f, char *problems, size_t size)
{
    DOMAIN_CONTROLLER_INFOW *info = NULL;
    char dc[HOST_MAX], domain[HOST_MAX], text[256];
    const wchar_t *name;
    DWORD code;

    code = DsGetDcNameW(NULL, NULL, NULL, NULL, DS_DIRECTORY_SERVICE_REQUIRED | DS_RETURN_DNS_NAME,
                        &info);
    if (code != ERROR_SUCCESS || info == NULL) {
        if (code == ERROR_SUCCESS)
            code = ERROR_NO_SUCH_DOMAIN;
        mdm_win_error_text(code, text, sizeof(text));
        add_problem(problems, size,
                    "no domain controller found (DsGetDcName: %s; is this computer a member of a "
                    "domain?); set %s",
                    text, dc_directives(what));
        goto out;
    }
    name = info->DomainControllerName;
    while (name != NULL && *name == L'\\')
        name++; /* "\\dc01.contoso.com" */
    if ((what & MDM_LDAP_DISCOVER_URI) &&
        (name == NULL || *name == L'\0' || mdm_win_wide_to_utf8(name, dc, sizeof(dc)) != 0 ||
         (size_t)snprintf(f->uri, sizeof(f->uri), "ldap://%s/", dc) >= sizeof(f->uri))) {
        code = ERROR_INVALID_DATA;
        add_problem(problems, size,
                    "DsGetDcName returned no usable domain controller name; set ldap-uri");
        goto out;
    }
    if ((what & MDM_LDAP_DISCOVER_BASE) &&
        (info->DomainName == NULL ||
         mdm_win_wide_to_utf8(info->DomainName, domain, sizeof(domain)) != 0 ||
         domain_to_dn(domain, f->base, sizeof(f->base)) != 0)) {
        code = ERROR_INVALID_DATA;
        add_problem(problems, size, "DsGetDcName returned no usable domain name; set ldap-base");
        goto out;
    }
    code = ERROR_SUCCESS;
out:
    if (info != NULL)
        NetApiBufferFree(info);
    return code;
}

/*
 * True when every RDN of dn has a type and a value ("CN=DM01,DC=contoso").
 * Wine answers for a computer outside any domain with
 * "CN=NAME,CN=Computers,DC=", which no directory holds.
 */
static bool dn_is_complete(const char *dn)
{
    bool have_type = false, have_value = false, in_value = false;

    for (const char *p = dn;; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            have_value = have_value || in_value;
            have_type = have_type || !in_value;
            continue;
        }
        if (*p == ',' || *p == '+' || *p == '\0') {
            if (!have_type || !have_value)
                return false;
            if (*p == '\0')
                return true;
            have_type = have_value = in_value = false;
            continue;
        }
        if (*p == '=' && !in_value) {
            in_value = true;
            continue;
        }
        if (*p != ' ') {
            if (in_value)
                have_value = true;
            else
                have_type = true;
        }
    }
}

/*
 * Fills f->computer_dn from GetComputerObjectNameW. On failure adds the
 * reason to problems and returns the Windows error.
 */
static DWORD discover_computer(struct mdm_ldap_discovery *f, char *problems, size_t size)
{
    wchar_t dn[MDM_LDAP_DN_MAX];
    ULONG units = MDM_LDAP_DN_MAX;
    char text[256];
    DWORD code;

    if (!GetComputerObjectNameW(NameFullyQualifiedDN, dn, &units)) {
        code = GetLastError();
        if (code == ERROR_SUCCESS)
            code = ERROR_CANT_ACCESS_DOMAIN_INFO;
        mdm_win_error_text(code, text, sizeof(text));
        add_problem(problems, size,
                    "this computer's account is unknown (GetComputerObjectName: %s); set "
                    "computer-dn",
                    text);
        return code;
    }
    if (dn[0] == L'\0' || mdm_win_wide_to_utf8(dn, f->computer_dn, sizeof(f->computer_dn)) != 0) {
        add_problem(problems, size,
                    "GetComputerObjectName returned no usable DN (over %u bytes?); set "
                    "computer-dn",
                    MDM_LDAP_DN_MAX - 1);
        return ERROR_INVALID_DATA;
    }
    if (!dn_is_complete(f->computer_dn)) {
        add_problem(problems, size,
                    "GetComputerObjectName returned \"%.200s\", which is not a complete DN (is "
                    "this computer a member of a domain?); set computer-dn",
                    f->computer_dn);
        f->computer_dn[0] = '\0';
        return ERROR_INVALID_DATA;
    }
    return ERROR_SUCCESS;
}

int mdm_ldap_discover(unsigned what, struct mdm_ldap_discovery *out, struct mdm_err *err)
{
    struct mdm_ldap_discovery *found = mdm_calloc(1, sizeof(*found));
    char problems[MDM_ERR_MSG_MAX] = "";
    DWORD first = ERROR_SUCCESS, code;
    int rc;

    if (found == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    /* Every lookup is tried, so that the message names every directive to set. */
    if (what & (MDM_LDAP_DISCOVER_URI | MDM_LDAP_DISCOVER_BASE)) {
        code = discover_dc(what, found, problems, sizeof(problems));
        if (first == ERROR_SUCCESS)
            first = code;
    }
    if (what & MDM_LDAP_DISCOVER_COMPUTER_DN) {
        code = discover_computer(found, problems, sizeof(problems));
        if (first == ERROR_SUCCESS)
            first = code;
    }
    if (first != ERROR_SUCCESS) {
        /* MDM_EUNSUPPORTED is kept for "this OS cannot discover" (ldap_posix.c). */
        rc = mdm_win_error_code(first);
        if (rc == 0 || rc == MDM_EUNSUPPORTED)
            rc = MDM_EIO;
        rc = mdm_err_set(err, rc, "%s", problems);
        goto out;
    }
    memcpy(out, found, sizeof(*out));
    rc = 0;
out:
    mdm_free(found);
    return rc;
}

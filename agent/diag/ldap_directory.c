/*
 * ldap_directory.c - the directory access of the "ad-group" check and its
 * resolver (ldap_check.c, ldap_resolve.c): the session with its deadline,
 * searches, DN normalization, the error texts of failed operations, and
 * finding the group and the computer account.
 */
#include "agent/diag/ldap_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_ldap.h"
#include "agent/os/mdm_os.h"
#include "agent/common/mdm_text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * Escapes an assertion value for a search filter (RFC 4515 section 3):
 * '*', '(', ')' and '\' become \2a, \28, \29 and \5c. Returns 0 or
 * MDM_ETOOBIG when out (size bytes) is too small.
 */
int ad_filter_escape(const char *in, char *out, size_t size)
{
    size_t n = 0;

    for (; *in != '\0'; in++) {
        char c = *in;
        if (c == '*' || c == '(' || c == ')' || c == '\\') {
            if (n + 3 >= size)
                return MDM_ETOOBIG;
            snprintf(out + n, 4, "\\%02x", (unsigned)(unsigned char)c);
            n += 3;
        } else {
            if (n + 1 >= size)
                return MDM_ETOOBIG;
            out[n++] = c;
        }
    }
    if (n >= size)
        return MDM_ETOOBIG;
    out[n] = '\0';
    return 0;
}

/*
 * Writes a comparison form of dn into out (size bytes): ASCII lower case and
 * no spaces around the separators ',', '+' and '='; escape pairs are kept.
 * Two spellings that differ only in case or spacing compare equal; one that
 * uses a different escape for the same character does not (rare: the
 * computer DN compared is the server's own spelling). Returns 0 or
 * MDM_ETOOBIG.
 */
int ad_dn_normalize(const char *dn, char *out, size_t size)
{
    size_t n = 0, keep = 0; /* keep: end of the last escape pair, never stripped */
    const char *p = dn;

    if (size == 0)
        return MDM_ETOOBIG;
    while (*p == ' ')
        p++;
    while (*p != '\0') {
        char c = *p;
        if (c == '\\' && p[1] != '\0') {
            if (n + 2 >= size)
                return MDM_ETOOBIG;
            out[n++] = '\\';
            out[n++] = (char)mdm_ascii_tolower((unsigned char)p[1]);
            keep = n;
            p += 2;
            continue;
        }
        if (c == ',' || c == '+' || c == '=') {
            while (n > keep && out[n - 1] == ' ')
                n--;
            if (n + 1 >= size)
                return MDM_ETOOBIG;
            out[n++] = c;
            p++;
            while (*p == ' ')
                p++;
            continue;
        }
        if (n + 1 >= size)
            return MDM_ETOOBIG;
        out[n++] = (char)mdm_ascii_tolower((unsigned char)c);
        p++;
    }
    while (n > keep && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return 0;
}

/* True when the normalized DN's parent RDN is OU=<MDM_LDAP_GROUP_OU>. */
static bool parent_is_group_ou(const char *norm)
{
    char want[64];
    const char *p = norm;
    size_t len;

    if (ad_dn_normalize("OU=" MDM_LDAP_GROUP_OU, want, sizeof(want)) != 0)
        return false;
    while (*p != '\0' && *p != ',') {
        if (*p == '\\' && p[1] != '\0')
            p++;
        p++;
    }
    if (*p != ',')
        return false;
    p++;
    len = strlen(want);
    return strncmp(p, want, len) == 0 && (p[len] == ',' || p[len] == '\0');
}

/* Returns 0 while the session's deadline is ahead, MDM_EIO once it has passed. */
static int check_time(struct ad_session *s, struct mdm_err *err)
{
    if (s->deadline_ms - mdm_os_monotonic_ms() <= 0) {
        s->last_lrc = MDM_LDAP_TIMEOUT;
        return mdm_err_set(err, MDM_EIO, "LDAP %s: no result within %d ms", s->uri, s->timeout_ms);
    }
    return 0;
}

/* Closes the session's connection. */
void ad_session_close(struct ad_session *s)
{
    mdm_ldap_close(s->ld);
    s->ld = NULL;
}

/* True for the result codes that mean the server cannot be reached in time. */
bool ad_is_connection_failure(int lrc)
{
    return lrc == MDM_LDAP_SERVER_DOWN || lrc == MDM_LDAP_TIMEOUT ||
           lrc == MDM_LDAP_CONNECT_ERROR || lrc == MDM_LDAP_TIMELIMIT_EXCEEDED ||
           lrc == MDM_LDAP_UNAVAILABLE || lrc == MDM_LDAP_BUSY;
}

/*
 * Records a failed LDAP operation in err: what was done, on which server,
 * the LDAP error and the server's message. The message is left out when it
 * contains `secret`. Returns MDM_ENOTFOUND for noSuchObject, else MDM_EIO.
 */
int ad_ldap_failure(struct ad_session *s, int lrc, const char *secret, struct mdm_err *err,
                    const char *what)
{
    char msg[AD_SERVER_MSG_MAX];
    char text[AD_SERVER_MSG_MAX];
    int code = lrc == MDM_LDAP_NO_SUCH_OBJECT ? MDM_ENOTFOUND : MDM_EIO;

    s->last_lrc = lrc;
    mdm_ldap_server_message(s->ld, msg, sizeof(msg));
    if (secret != NULL && secret[0] != '\0' && strstr(msg, secret) != NULL)
        msg[0] = '\0';
    mdm_ldap_error_text(lrc, text, sizeof(text));
    if (lrc == MDM_LDAP_TIMEOUT)
        return mdm_err_set(err, code, "LDAP %s: %s: no answer within %d ms (%s)", s->uri, what,
                           s->timeout_ms, text);
    return mdm_err_set(err, code, "LDAP %s: %s: %s (%d)%s%s", s->uri, what, text, lrc,
                       msg[0] != '\0' ? ": " : "", msg);
}

/*
 * Connects and binds. The password is opt->ldap_password when the caller
 * asked for it, else it is read from opt->ldap_password_file first (no
 * network traffic with a bad file); the copy is wiped after the bind.
 */
int ad_session_open(struct ad_session *s, const struct mdm_diag_options *opt, const char *uri,
                    struct mdm_err *err)
{
    char password[AD_PASSWORD_MAX + 1];
    char what[AD_WHAT_MAX];
    int lrc, rc;

    password[0] = '\0';
    memset(s, 0, sizeof(*s));
    s->uri = uri;
    s->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : AD_DEFAULT_TIMEOUT_MS;
    s->deadline_ms = mdm_os_monotonic_ms() + s->timeout_ms;
    if (opt->ldap_bind_dn != NULL && opt->ldap_password_file == NULL &&
        opt->ldap_password == NULL) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-bind-dn is set but ldap-password-file is not");
        goto out;
    }
    if (opt->ldap_bind_dn == NULL &&
        (opt->ldap_password_file != NULL || opt->ldap_password != NULL)) {
        rc = mdm_err_set(err, MDM_EINVAL, "%s is set but ldap-bind-dn is not",
                         opt->ldap_password_file != NULL ? "ldap-password-file" : "a password");
        goto out;
    }
    if (opt->ldap_bind_dn != NULL && opt->ldap_password != NULL) {
        size_t len = strlen(opt->ldap_password);
        if (len == 0 || len > AD_PASSWORD_MAX) {
            rc = mdm_err_set(err, MDM_EINVAL, "the password for %s is %s", opt->ldap_bind_dn,
                             len == 0 ? "empty" : "too long");
            goto out;
        }
        memcpy(password, opt->ldap_password, len + 1);
    } else if (opt->ldap_bind_dn != NULL) {
        rc = mdm_ldap_read_password_file(opt->ldap_password_file, password, sizeof(password), err);
        if (rc != 0)
            goto out;
    }
    rc = mdm_ldap_open(s->uri, s->timeout_ms, &s->ld, err);
    if (rc != 0)
        goto out;
    lrc = mdm_ldap_bind(s->ld, opt->ldap_bind_dn, opt->ldap_bind_dn != NULL ? password : NULL,
                        s->deadline_ms);
    if (lrc != MDM_LDAP_SUCCESS) {
        if (opt->ldap_bind_dn != NULL)
            snprintf(what, sizeof(what), "bind as %s", opt->ldap_bind_dn);
        else
            snprintf(what, sizeof(what), "%s", mdm_ldap_implicit_bind());
        rc = ad_ldap_failure(s, lrc, password, err, what);
        if (rc == MDM_ENOTFOUND)
            rc = MDM_EIO;
        ad_session_close(s);
        goto out;
    }
    rc = 0;
out:
    mdm_wipe(password, sizeof(password));
    return rc;
}

/*
 * One search bounded by the session's deadline. On success *res holds the
 * entries (owned by the caller, mdm_ldap_msg_free); a size limit reached
 * still counts as success with the entries received.
 */
int ad_search(struct ad_session *s, const char *base, enum mdm_ldap_scope scope, const char *filter,
              const char *const *attrs, int sizelimit, struct mdm_ldap_msg **res,
              struct mdm_err *err)
{
    char what[AD_WHAT_MAX];
    struct mdm_ldap_msg *msg = NULL;
    int lrc, rc;

    rc = check_time(s, err);
    if (rc != 0)
        return rc;
    lrc = mdm_ldap_search(s->ld, base, scope, filter, attrs, sizelimit, s->deadline_ms, &msg);
    if (lrc == MDM_LDAP_SUCCESS || (lrc == MDM_LDAP_SIZELIMIT_EXCEEDED && msg != NULL)) {
        *res = msg;
        return 0;
    }
    mdm_ldap_msg_free(msg);
    snprintf(what, sizeof(what), "search of \"%s\" for %s", base, filter);
    return ad_ldap_failure(s, lrc, NULL, err, what);
}

/* Returns the entry's DN as a string owned by the caller (mdm_free), or NULL. */
static char *entry_dn(struct mdm_ldap *ld, struct mdm_ldap_msg *entry)
{
    return mdm_ldap_get_dn(ld, entry, AD_DN_MAX);
}

/* True when the entry has objectClass group or groupOfNames. */
bool ad_entry_is_group(struct mdm_ldap *ld, struct mdm_ldap_msg *entry)
{
    struct mdm_ldap_values *vals = mdm_ldap_get_values(ld, entry, "objectClass");
    const char *v;
    size_t len;
    bool group = false;

    for (size_t i = 0; mdm_ldap_value(vals, i, &v, &len); i++) {
        if ((len == 5 && mdm_ascii_iequal_n(v, "group", 5)) ||
            (len == 12 && mdm_ascii_iequal_n(v, "groupOfNames", 12)))
            group = true;
    }
    mdm_ldap_values_free(vals);
    return group;
}

/* True when the root DSE announces an Active Directory server. */
bool ad_server_is_ad(struct ad_session *s)
{
    const char *attrs[] = {"supportedCapabilities", NULL};
    struct mdm_ldap_msg *res = NULL, *entry;
    struct mdm_ldap_values *vals = NULL;
    size_t want = strlen(AD_CAP_ACTIVE_DIRECTORY), len;
    const char *v;
    bool ad = false;

    if (ad_search(s, "", MDM_LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, &res, NULL) != 0)
        return false;
    entry = mdm_ldap_first_entry(s->ld, res);
    if (entry != NULL)
        vals = mdm_ldap_get_values(s->ld, entry, "supportedCapabilities");
    for (size_t i = 0; mdm_ldap_value(vals, i, &v, &len); i++)
        if (len == want && memcmp(v, AD_CAP_ACTIVE_DIRECTORY, want) == 0)
            ad = true;
    mdm_ldap_values_free(vals);
    mdm_ldap_msg_free(res);
    return ad;
}

/*
 * Finds the group named cn under base, preferring one whose parent is the
 * OU of the knowledge article. On success out->dn is owned by the caller
 * (mdm_free). MDM_ENOTFOUND when there is no such group.
 */
int ad_find_group(struct ad_session *s, const char *base, const char *cn, struct ad_group *out,
                  struct mdm_err *err)
{
    const char *attrs[] = {"1.1", NULL};
    char escaped[AD_DN_MAX];
    char filter[AD_FILTER_MAX];
    char norm[AD_DN_MAX];
    struct mdm_ldap_msg *res = NULL, *entry;
    char *best = NULL;
    bool best_in_ou = false;
    int rc;

    if (ad_filter_escape(cn, escaped, sizeof(escaped)) != 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "ad-group \"%s\" is too long", cn);
        goto out;
    }
    snprintf(filter, sizeof(filter), "(&(|(objectClass=group)(objectClass=groupOfNames))(cn=%s))",
             escaped);
    rc = ad_search(s, base, MDM_LDAP_SCOPE_SUBTREE, filter, attrs, AD_GROUP_CANDIDATES, &res, err);
    if (rc == MDM_ENOTFOUND)
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-base %s does not exist on %s", base, s->uri);
    if (rc != 0)
        goto out;
    for (entry = mdm_ldap_first_entry(s->ld, res); entry != NULL && !best_in_ou;
         entry = mdm_ldap_next_entry(s->ld, entry)) {
        char *dn = entry_dn(s->ld, entry);
        bool in_ou;
        if (dn == NULL)
            continue;
        in_ou = ad_dn_normalize(dn, norm, sizeof(norm)) == 0 && parent_is_group_ou(norm);
        if (best == NULL || in_ou) {
            mdm_free(best);
            best = dn;
            best_in_ou = in_ou;
        } else {
            mdm_free(dn);
        }
    }
    if (best == NULL) {
        rc = mdm_err_set(err, MDM_ENOTFOUND, "the group %s was not found under %s on %s", cn, base,
                         s->uri);
        goto out;
    }
    out->dn = best;
    out->in_ou = best_in_ou;
    best = NULL;
    rc = 0;
out:
    mdm_free(best);
    mdm_ldap_msg_free(res);
    return rc;
}

/*
 * Reads the computer account at dn. On success out->dn (the server's
 * spelling) and out->sam (or NULL) are owned by the caller (mdm_free).
 * MDM_ENOTFOUND when there is no such entry.
 */
int ad_find_computer(struct ad_session *s, const char *dn, struct ad_computer *out,
                     struct mdm_err *err)
{
    const char *attrs[] = {"sAMAccountName", NULL};
    struct mdm_ldap_msg *res = NULL, *entry = NULL;
    struct mdm_ldap_values *vals = NULL;
    char *found = NULL, *sam = NULL;
    const char *v;
    size_t len;
    int rc;

    if (strlen(dn) >= AD_DN_MAX) {
        rc = mdm_err_set(err, MDM_EINVAL, "computer-dn is longer than %u bytes", AD_DN_MAX);
        goto out;
    }
    rc = ad_search(s, dn, MDM_LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, &res, err);
    if (rc == MDM_ENOTFOUND || (rc == 0 && (entry = mdm_ldap_first_entry(s->ld, res)) == NULL)) {
        rc = mdm_err_set(err, MDM_ENOTFOUND,
                         "the computer account %s (computer-dn) was not found on %s", dn, s->uri);
        goto out;
    }
    if (rc != 0)
        goto out;
    found = entry_dn(s->ld, entry);
    if (found == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    vals = mdm_ldap_get_values(s->ld, entry, "sAMAccountName");
    if (mdm_ldap_value(vals, 0, &v, &len) && len > 0 && len < AD_SAM_MAX &&
        memchr(v, '\0', len) == NULL) {
        sam = mdm_strndup(v, len);
        if (sam == NULL) {
            rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
            goto out;
        }
    }
    out->dn = found;
    out->sam = sam;
    found = NULL;
    sam = NULL;
    rc = 0;
out:
    mdm_free(found);
    mdm_free(sam);
    mdm_ldap_values_free(vals);
    mdm_ldap_msg_free(res);
    return rc;
}

/*
 * Base search of `base` with filter "(<attr><rule>=<escaped value>)". Sets
 * *hit when the entry matched. On an LDAP error the code is in
 * s->last_lrc.
 */

/*
 * ldap_check.c - the "ad-group" check and the "Add Computer Account to
 * SCMDM 2008 AD Groups" resolver over LDAPv3 (see ldap_ops.h).
 *
 * The LDAP client calls are those of mdm_ldap.h: OpenLDAP's libldap on
 * POSIX (ldap_posix.c) and wldap32 on Windows (ldap_win.c), which also
 * connect, bind (anonymously, or on Windows as the computer account, when
 * no bind DN is set) and read the owner-only password file. This file is
 * the same on every OS.
 *
 * Membership, direct or nested, is decided like this:
 *   1. direct: a base search of the group for (member=<computer DN>), so
 *      the server itself compares the DNs;
 *   2. nested, on Active Directory: a base search of the computer for
 *      (memberOf:1.2.840.113556.1.4.1941:=<group DN>), the "matching rule in
 *      chain" that walks the nesting on the server;
 *   3. nested, elsewhere: OpenLDAP's slapd does not know that rule and,
 *      like any server that turns an unknown matching rule into Undefined,
 *      answers "success, no entry" - which looks exactly like "not a
 *      member". So "no entry" is trusted only from a server that announces
 *      Active Directory (supportedCapabilities 1.2.840.113556.1.4.800 in the
 *      root DSE). Otherwise, and when the server rejects the rule with an
 *      error, the group's member attribute is expanded breadth-first (depth
 *      16, 10000 entries, a visited set that breaks loops).
 * The expansion does not follow Active Directory's ranged retrieval
 * (member;range=0-1499) of very large groups; on Active Directory it only
 * names the intermediate group of a nested member that step 2 has found.
 *
 * ldap-uri, ldap-base and computer-dn that the configuration lacks are asked
 * of the OS (mdm_ldap_discover: the domain controller, the domain and the
 * computer account on Windows). Where the OS cannot discover them (POSIX),
 * the check is skipped and names the directives; where discovery fails, the
 * check is an error whose detail names the failed call and the directive
 * that replaces it. Results reached with discovered values say so.
 */
#include "ldap_ops.h"

#include "mdm_alloc.h"
#include "mdm_buf.h"
#include "mdm_ldap.h"
#include "mdm_os.h"
#include "mdm_text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define AD_DEFAULT_GROUP        "SCMDM2008DeviceManagementServers"
#define AD_IN_CHAIN_RULE        "1.2.840.113556.1.4.1941"
#define AD_CAP_ACTIVE_DIRECTORY "1.2.840.113556.1.4.800"
#define AD_DEFAULT_TIMEOUT_MS   10000
#define AD_DN_MAX               2048u /* longer DNs (values) are refused or skipped */
#define AD_FILTER_MAX           (3u * AD_DN_MAX + 128u)
#define AD_PASSWORD_MAX         MDM_LDAP_PASSWORD_MAX
#define AD_SAM_MAX              256u
#define AD_GROUP_CANDIDATES     16 /* size limit of the group search */
#define AD_VIA_MAX              1024u
#define AD_SERVER_MSG_MAX       200u
#define AD_WHAT_MAX             1024u  /* what an error message says was being done */
#define AD_WALK_TABLE_SIZE      32768u /* power of two, more than 2 * MDM_LDAP_EXPAND_MAX */

/* One connection to the directory, with the deadline of the whole operation. */
struct ad_session {
    struct mdm_ldap *ld;
    const char *uri;
    int timeout_ms;
    int64_t deadline_ms;
    int last_lrc; /* the LDAP result code of the last failed operation */
};

/* The group that was found. */
struct ad_group {
    char *dn;   /* as the server spells it */
    bool in_ou; /* its parent is OU=SCMDM2008 Infrastructure Groups */
};

/* The computer account that was found. */
struct ad_computer {
    char *dn;  /* as the server spells it */
    char *sam; /* sAMAccountName ("DM01$"), or NULL outside Active Directory */
};

enum ad_how {
    AD_NOT_MEMBER = 0,
    AD_DIRECT,
    AD_NESTED,
};

struct ad_membership {
    enum ad_how how;
    char via[AD_VIA_MAX]; /* nested: the intermediate group(s), outer first; may be "" */
};

/* The breadth-first expansion: nodes in visit order, and a hash index over them. */
struct ad_walk_node {
    char *dn;   /* as the server spells it */
    char *norm; /* dn_normalize() form */
    unsigned depth;
    long parent; /* index of the group listing it; -1 for the top group */
};

struct ad_walk {
    struct ad_walk_node *nodes;
    size_t count;
    size_t size;
    uint32_t *table; /* AD_WALK_TABLE_SIZE slots: node index + 1, 0 when empty */
};

/* The directives the check and the resolver use: configured, or discovered. */
struct ad_target {
    const char *uri, *base, *computer_dn; /* borrowed from the options or from found */
    char discovered[64];                  /* "ldap-uri, computer-dn": what was discovered */
    struct mdm_ldap_discovery found;
};

/* Overwrites a secret so that it does not stay in memory. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n-- > 0)
        *v++ = 0;
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Copies a printf-style text into r->detail, cut on a UTF-8 boundary. */
static void set_result(struct mdm_check_result *r, enum mdm_check_status status, const char *fmt,
                       ...) MDM_PRINTF_FORMAT(3, 4);

static void set_result(struct mdm_check_result *r, enum mdm_check_status status, const char *fmt,
                       ...)
{
    char text[2 * MDM_CHECK_DETAIL_MAX];
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
        text[0] = '\0';
    va_end(ap);
    r->status = status;
    mdm_utf8_copy(r->detail, sizeof(r->detail), text);
}

/*
 * Escapes an assertion value for a search filter (RFC 4515 section 3):
 * '*', '(', ')' and '\' become \2a, \28, \29 and \5c. Returns 0 or
 * MDM_ETOOBIG when out (size bytes) is too small.
 */
static int filter_escape(const char *in, char *out, size_t size)
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
static int dn_normalize(const char *dn, char *out, size_t size)
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
            out[n++] = ascii_lower(p[1]);
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
        out[n++] = ascii_lower(c);
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

    if (dn_normalize("OU=" MDM_LDAP_GROUP_OU, want, sizeof(want)) != 0)
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
static void session_close(struct ad_session *s)
{
    mdm_ldap_close(s->ld);
    s->ld = NULL;
}

/* True for the result codes that mean the server cannot be reached in time. */
static bool is_connection_failure(int lrc)
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
static int ldap_failure(struct ad_session *s, int lrc, const char *secret, struct mdm_err *err,
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
static int session_open(struct ad_session *s, const struct mdm_diag_options *opt, const char *uri,
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
        rc = ldap_failure(s, lrc, password, err, what);
        if (rc == MDM_ENOTFOUND)
            rc = MDM_EIO;
        session_close(s);
        goto out;
    }
    rc = 0;
out:
    wipe(password, sizeof(password));
    return rc;
}

/*
 * One search bounded by the session's deadline. On success *res holds the
 * entries (owned by the caller, mdm_ldap_msg_free); a size limit reached
 * still counts as success with the entries received.
 */
static int ad_search(struct ad_session *s, const char *base, enum mdm_ldap_scope scope,
                     const char *filter, const char *const *attrs, int sizelimit,
                     struct mdm_ldap_msg **res, struct mdm_err *err)
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
    return ldap_failure(s, lrc, NULL, err, what);
}

/* Returns the entry's DN as a string owned by the caller (mdm_free), or NULL. */
static char *entry_dn(struct mdm_ldap *ld, struct mdm_ldap_msg *entry)
{
    return mdm_ldap_get_dn(ld, entry, AD_DN_MAX);
}

/* True when the entry has objectClass group or groupOfNames. */
static bool entry_is_group(struct mdm_ldap *ld, struct mdm_ldap_msg *entry)
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
static bool server_is_ad(struct ad_session *s)
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
static int find_group(struct ad_session *s, const char *base, const char *cn, struct ad_group *out,
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

    if (filter_escape(cn, escaped, sizeof(escaped)) != 0) {
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
        in_ou = dn_normalize(dn, norm, sizeof(norm)) == 0 && parent_is_group_ou(norm);
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
static int find_computer(struct ad_session *s, const char *dn, struct ad_computer *out,
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
static int match_one(struct ad_session *s, const char *base, const char *attr_rule,
                     const char *value, bool *hit, struct mdm_err *err)
{
    const char *attrs[] = {"1.1", NULL};
    char escaped[2 * AD_DN_MAX];
    char filter[AD_FILTER_MAX];
    struct mdm_ldap_msg *res = NULL;
    int rc;

    if (filter_escape(value, escaped, sizeof(escaped)) != 0 ||
        snprintf(filter, sizeof(filter), "(%s=%s)", attr_rule, escaped) >= (int)sizeof(filter))
        return mdm_err_set(err, MDM_EINVAL, "the DN %s is too long for a search filter", value);
    rc = ad_search(s, base, MDM_LDAP_SCOPE_BASE, filter, attrs, 1, &res, err);
    if (rc != 0)
        return rc;
    *hit = mdm_ldap_first_entry(s->ld, res) != NULL;
    mdm_ldap_msg_free(res);
    return 0;
}

static void walk_free(struct ad_walk *w)
{
    for (size_t i = 0; i < w->count; i++) {
        mdm_free(w->nodes[i].dn);
        mdm_free(w->nodes[i].norm);
    }
    mdm_free(w->nodes);
    mdm_free(w->table);
    memset(w, 0, sizeof(*w));
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/*
 * Adds dn (normalized as norm) to the walk unless it was seen before.
 * Returns 0 when added, 1 when already visited, MDM_ETOOBIG at the entry
 * cap, MDM_ENOMEM.
 */
static int walk_add(struct ad_walk *w, const char *dn, const char *norm, unsigned depth,
                    long parent)
{
    uint32_t slot = hash_str(norm) & (AD_WALK_TABLE_SIZE - 1);
    struct ad_walk_node *node;

    while (w->table[slot] != 0) {
        if (strcmp(w->nodes[w->table[slot] - 1].norm, norm) == 0)
            return 1;
        slot = (slot + 1) & (AD_WALK_TABLE_SIZE - 1);
    }
    if (w->count >= MDM_LDAP_EXPAND_MAX)
        return MDM_ETOOBIG;
    if (w->count == w->size) {
        size_t size = w->size == 0 ? 64 : w->size * 2;
        struct ad_walk_node *grown = mdm_realloc(w->nodes, size * sizeof(*grown));
        if (grown == NULL)
            return MDM_ENOMEM;
        w->nodes = grown;
        w->size = size;
    }
    node = &w->nodes[w->count];
    node->dn = mdm_strdup(dn);
    node->norm = mdm_strdup(norm);
    node->depth = depth;
    node->parent = parent;
    if (node->dn == NULL || node->norm == NULL) {
        mdm_free(node->dn);
        mdm_free(node->norm);
        return MDM_ENOMEM;
    }
    w->count++;
    w->table[slot] = (uint32_t)w->count;
    return 0;
}

/*
 * Writes the intermediate groups between the top group and node i (the group
 * that lists the computer) into via, outer first. A chain of more than two
 * is shortened to "first -> ... -> last (N nested groups)" so that the
 * group holding the computer always fits in a check's detail.
 */
static void walk_path(const struct ad_walk *w, long i, char *via, size_t size)
{
    long chain[MDM_LDAP_NEST_DEPTH_MAX + 1];
    size_t n = 0;

    via[0] = '\0';
    for (; i > 0 && n < sizeof(chain) / sizeof(chain[0]); i = w->nodes[i].parent)
        chain[n++] = i; /* innermost first */
    if (n == 1)
        snprintf(via, size, "%s", w->nodes[chain[0]].dn);
    else if (n == 2)
        snprintf(via, size, "%s -> %s", w->nodes[chain[1]].dn, w->nodes[chain[0]].dn);
    else if (n > 2)
        snprintf(via, size, "%s -> ... -> %s (%zu nested groups)", w->nodes[chain[n - 1]].dn,
                 w->nodes[chain[0]].dn, n);
}

/*
 * Reads node i of the walk. When it is a group (the top node always is),
 * compares each member with the computer (computer_norm, normalized) and
 * sets *found, or queues the members not seen before. A group at the depth
 * cap that still has members sets *deep; the entry cap sets *capped.
 */
static int walk_visit(struct ad_session *s, struct ad_walk *w, size_t i, const char *computer_norm,
                      bool *found, bool *capped, bool *deep, struct mdm_err *err)
{
    const char *attrs[] = {"objectClass", "member", NULL};
    char norm[AD_DN_MAX];
    char value[AD_DN_MAX];
    struct mdm_ldap_msg *res = NULL, *entry;
    struct mdm_ldap_values *vals = NULL;
    const char *v;
    size_t len;
    int rc;

    rc = ad_search(s, w->nodes[i].dn, MDM_LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, &res, err);
    if (rc == MDM_ENOTFOUND) {
        rc = 0; /* a member value that names a deleted entry */
        goto out;
    }
    if (rc != 0)
        goto out;
    entry = mdm_ldap_first_entry(s->ld, res);
    if (entry == NULL || (i > 0 && !entry_is_group(s->ld, entry)))
        goto out;
    vals = mdm_ldap_get_values(s->ld, entry, "member");
    if (mdm_ldap_value(vals, 0, &v, &len) && w->nodes[i].depth >= MDM_LDAP_NEST_DEPTH_MAX) {
        *deep = true;
        goto out;
    }
    for (size_t k = 0; mdm_ldap_value(vals, k, &v, &len); k++) {
        if (len == 0 || len >= sizeof(value) || memchr(v, '\0', len) != NULL)
            continue;
        memcpy(value, v, len);
        value[len] = '\0';
        if (dn_normalize(value, norm, sizeof(norm)) != 0)
            continue;
        if (strcmp(norm, computer_norm) == 0) {
            *found = true;
            goto out;
        }
        /* w->nodes may move here: node i is always re-read through w. */
        rc = walk_add(w, value, norm, w->nodes[i].depth + 1, (long)i);
        if (rc == MDM_ENOMEM) {
            rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
            goto out;
        }
        if (rc == MDM_ETOOBIG)
            *capped = true;
        rc = 0;
    }
out:
    mdm_ldap_values_free(vals);
    mdm_ldap_msg_free(res);
    return rc;
}

/*
 * Expands group_dn's member attribute breadth-first, looking for the
 * computer (computer_norm, normalized). On success *out is filled: a direct
 * or nested member with the path, or not a member. MDM_ETOOBIG when a cap
 * (depth, entries) stopped the expansion before the computer was found.
 */
static int expand_members(struct ad_session *s, const char *group_dn, const char *computer_norm,
                          struct ad_membership *out, struct mdm_err *err)
{
    struct ad_walk w;
    char norm[AD_DN_MAX];
    bool capped = false, deep = false;
    int rc;

    memset(&w, 0, sizeof(w));
    w.table = mdm_calloc(AD_WALK_TABLE_SIZE, sizeof(*w.table));
    if (w.table == NULL || dn_normalize(group_dn, norm, sizeof(norm)) != 0 ||
        walk_add(&w, group_dn, norm, 0, -1) != 0) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < w.count; i++) {
        bool found = false;
        rc = walk_visit(s, &w, i, computer_norm, &found, &capped, &deep, err);
        if (rc != 0)
            goto out;
        if (found) {
            out->how = i == 0 ? AD_DIRECT : AD_NESTED;
            walk_path(&w, (long)i, out->via, sizeof(out->via));
            goto out;
        }
    }
    if (capped || deep) {
        rc = mdm_err_set(err, MDM_ETOOBIG,
                         "could not decide whether the computer is a member of %s: its nesting "
                         "has more than %u %s",
                         group_dn, capped ? MDM_LDAP_EXPAND_MAX : MDM_LDAP_NEST_DEPTH_MAX,
                         capped ? "entries" : "levels");
        goto out;
    }
    out->how = AD_NOT_MEMBER;
    out->via[0] = '\0';
    rc = 0;
out:
    walk_free(&w);
    return rc;
}

/* Decides whether computer_dn is a member of group_dn (see the top of this file). */
static int check_membership(struct ad_session *s, const char *group_dn, const char *computer_dn,
                            struct ad_membership *out, struct mdm_err *err)
{
    char rule[64];
    char computer_norm[AD_DN_MAX];
    struct ad_membership walked;
    struct mdm_err chain_err;
    bool hit = false;
    int rc;

    memset(&walked, 0, sizeof(walked));
    if (dn_normalize(computer_dn, computer_norm, sizeof(computer_norm)) != 0)
        return mdm_err_set(err, MDM_EINVAL, "computer-dn is longer than %u bytes", AD_DN_MAX);

    /* 1. A direct member: the server compares the DNs. */
    rc = match_one(s, group_dn, "member", computer_dn, &hit, err);
    if (rc != 0)
        return rc;
    if (hit) {
        out->how = AD_DIRECT;
        out->via[0] = '\0';
        return 0;
    }

    /* 2. Nested, by Active Directory's matching rule in chain. */
    snprintf(rule, sizeof(rule), "memberOf:%s:", AD_IN_CHAIN_RULE);
    mdm_err_clear(&chain_err);
    rc = match_one(s, computer_dn, rule, group_dn, &hit, &chain_err);
    if (rc != 0 && (rc == MDM_ENOMEM || rc == MDM_EINVAL || is_connection_failure(s->last_lrc)))
        return mdm_err_set(err, rc, "%s", chain_err.msg);
    if (rc == 0 && hit) {
        /* Name the intermediate group when the expansion can; the answer stands anyway. */
        out->how = AD_NESTED;
        out->via[0] = '\0';
        if (expand_members(s, group_dn, computer_norm, &walked, NULL) == 0 &&
            walked.how == AD_NESTED)
            memcpy(out->via, walked.via, sizeof(out->via));
        return 0;
    }
    if (rc == 0 && server_is_ad(s)) {
        out->how = AD_NOT_MEMBER;
        out->via[0] = '\0';
        return 0;
    }

    /* 3. The rule was rejected or is not trusted here: expand the group. */
    rc = expand_members(s, group_dn, computer_norm, &walked, err);
    if (rc != 0)
        return rc;
    *out = walked;
    return 0;
}

/* The note added when the group is not where the knowledge article puts it. */
static const char *location_note(const struct ad_group *g)
{
    return g->in_ou ? "" : " (found outside the OU " MDM_LDAP_GROUP_OU ")";
}

/*
 * The missing directives among ldap-uri, ldap-base and computer-dn, as
 * "ldap-uri, computer-dn" in out; "" when all are set.
 */
static void missing_directives(const struct mdm_diag_options *opt, char *out, size_t size)
{
    const char *names[3];
    size_t n = 0, used = 0;

    if (opt->ldap_uri == NULL || opt->ldap_uri[0] == '\0')
        names[n++] = "ldap-uri";
    if (opt->ldap_base == NULL || opt->ldap_base[0] == '\0')
        names[n++] = "ldap-base";
    if (opt->computer_dn == NULL || opt->computer_dn[0] == '\0')
        names[n++] = "computer-dn";
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(out + used, size - used, "%s%s", i > 0 ? ", " : "", names[i]);
        if (k < 0 || (size_t)k >= size - used)
            break;
        used += (size_t)k;
    }
}

static const char *group_cn(const struct mdm_diag_options *opt)
{
    return opt->ad_group != NULL && opt->ad_group[0] != '\0' ? opt->ad_group : AD_DEFAULT_GROUP;
}

static bool is_set(const char *directive)
{
    return directive != NULL && directive[0] != '\0';
}

/*
 * Fills t from opt and, for the directives opt lacks, from
 * mdm_ldap_discover(). Returns 0; MDM_EUNSUPPORTED when directives are
 * missing and this OS cannot discover them (missing, size bytes, names
 * them); or the error of the discovery, err naming what failed and the
 * directive to set.
 */
static int resolve_target(const struct mdm_diag_options *opt, struct ad_target *t, char *missing,
                          size_t size, struct mdm_err *err)
{
    unsigned what = 0;
    int rc;

    memset(t, 0, sizeof(*t));
    t->uri = opt->ldap_uri;
    t->base = opt->ldap_base;
    t->computer_dn = opt->computer_dn;
    missing_directives(opt, missing, size);
    if (missing[0] == '\0')
        return 0;
    if (!is_set(opt->ldap_uri))
        what |= MDM_LDAP_DISCOVER_URI;
    if (!is_set(opt->ldap_base))
        what |= MDM_LDAP_DISCOVER_BASE;
    if (!is_set(opt->computer_dn))
        what |= MDM_LDAP_DISCOVER_COMPUTER_DN;
    rc = mdm_ldap_discover(what, &t->found, err);
    if (rc != 0)
        return rc;
    if (what & MDM_LDAP_DISCOVER_URI)
        t->uri = t->found.uri;
    if (what & MDM_LDAP_DISCOVER_BASE)
        t->base = t->found.base;
    if (what & MDM_LDAP_DISCOVER_COMPUTER_DN)
        t->computer_dn = t->found.computer_dn;
    snprintf(t->discovered, sizeof(t->discovered), "%s", missing);
    return 0;
}

/* Appends to r->detail which directives were discovered, when any were. */
static void note_discovered(struct mdm_check_result *r, const struct ad_target *t)
{
    char text[2 * MDM_CHECK_DETAIL_MAX];

    if (t->discovered[0] == '\0')
        return;
    snprintf(text, sizeof(text), "%s [discovered: %s]", r->detail, t->discovered);
    mdm_utf8_copy(r->detail, sizeof(r->detail), text);
}

void mdm_check_ad_group(const struct mdm_diag_options *opt, struct mdm_check_result *r)
{
    struct ad_session s;
    struct ad_target t;
    struct ad_group group = {NULL, false};
    struct ad_computer computer = {NULL, NULL};
    struct ad_membership m;
    struct mdm_err err;
    char missing[64];
    int rc;

    memset(&s, 0, sizeof(s));
    memset(&m, 0, sizeof(m));
    mdm_err_clear(&err);
    rc = resolve_target(opt, &t, missing, sizeof(missing), &err);
    if (rc == MDM_EUNSUPPORTED) {
        set_result(r, MDM_CHECK_SKIP,
                   "not configured on this platform: set ldap-uri, ldap-base and computer-dn "
                   "(Windows discovers them); missing: %s",
                   missing);
        return;
    }
    if (rc != 0) {
        /* Without a domain there is nothing to check against: say what to set. */
        set_result(r, MDM_CHECK_ERROR, "%s", err.msg);
        return;
    }
    rc = session_open(&s, opt, t.uri, &err);
    if (rc != 0) {
        set_result(r, MDM_CHECK_ERROR, "%s", err.msg);
        goto out;
    }
    rc = find_group(&s, t.base, group_cn(opt), &group, &err);
    if (rc == MDM_ENOTFOUND) {
        set_result(r, MDM_CHECK_FAIL,
                   "%s; SCMDM 2008 Setup creates it in the OU " MDM_LDAP_GROUP_OU
                   " (or set ad-group to the group's name)",
                   err.msg);
        goto out;
    }
    if (rc != 0) {
        set_result(r, MDM_CHECK_ERROR, "%s", err.msg);
        goto out;
    }
    rc = find_computer(&s, t.computer_dn, &computer, &err);
    if (rc == MDM_ENOTFOUND) {
        set_result(r, MDM_CHECK_FAIL, "%s; check computer-dn", err.msg);
        goto out;
    }
    if (rc != 0) {
        set_result(r, MDM_CHECK_ERROR, "%s", err.msg);
        goto out;
    }
    rc = check_membership(&s, group.dn, computer.dn, &m, &err);
    if (rc != 0) {
        set_result(r, MDM_CHECK_ERROR, "%s", err.msg);
        goto out;
    }
    switch (m.how) {
    case AD_DIRECT:
        set_result(r, MDM_CHECK_PASS, "%s is a direct member of %s%s", computer.dn, group.dn,
                   location_note(&group));
        break;
    case AD_NESTED:
        if (m.via[0] != '\0')
            set_result(r, MDM_CHECK_PASS, "%s is a nested member of %s through %s%s", computer.dn,
                       group.dn, m.via, location_note(&group));
        else
            set_result(r, MDM_CHECK_PASS,
                       "%s is a nested member of %s%s (by the server's in-chain rule)", computer.dn,
                       group.dn, location_note(&group));
        break;
    default:
        set_result(r, MDM_CHECK_FAIL,
                   "%s is not a member of %s%s; add it (mdmhealth resolve ad-group)", computer.dn,
                   group.dn, location_note(&group));
        break;
    }
out:
    note_discovered(r, &t);
    mdm_free(group.dn);
    mdm_free(computer.dn);
    mdm_free(computer.sam);
    session_close(&s);
}

/* ---- the resolver ------------------------------------------------------ */

/* True when an LDIF value must be written base64 (RFC 2849 SAFE-STRING). */
static bool ldif_needs_base64(const char *v)
{
    if (v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[0] == '\0')
        return true;
    for (const char *p = v; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80 || *p == '\r' || *p == '\n')
            return true;
    return v[strlen(v) - 1] == ' ';
}

/* Appends "name: value" or "name:: base64" and a line end to buf. */
static int ldif_line(struct mdm_buf *buf, const char *name, const char *value)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)value;
    size_t len = strlen(value);
    int rc;

    if (!ldif_needs_base64(value))
        return mdm_buf_printf(buf, "%s: %s\n", name, value);
    rc = mdm_buf_printf(buf, "%s:: ", name);
    for (size_t i = 0; rc == 0 && i < len; i += 3) {
        uint32_t n = (uint32_t)p[i] << 16;
        char q[4];
        if (i + 1 < len)
            n |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            n |= p[i + 2];
        q[0] = b64[(n >> 18) & 63];
        q[1] = b64[(n >> 12) & 63];
        q[2] = i + 1 < len ? b64[(n >> 6) & 63] : '=';
        q[3] = i + 2 < len ? b64[n & 63] : '=';
        rc = mdm_buf_add(buf, q, sizeof(q));
    }
    return rc != 0 ? rc : mdm_buf_adds(buf, "\n");
}

/* Appends s as a PowerShell single-quoted string (' doubled). */
static int ps_quote(struct mdm_buf *buf, const char *s)
{
    int rc = mdm_buf_adds(buf, "'");

    for (; rc == 0 && *s != '\0'; s++)
        rc = *s == '\'' ? mdm_buf_adds(buf, "''") : mdm_buf_add(buf, s, 1);
    return rc != 0 ? rc : mdm_buf_adds(buf, "'");
}

/* Appends the dry-run text: the LDIF of the change and the PowerShell equivalent. */
static int dry_run_report(struct mdm_buf *buf, const struct ad_session *s, const struct ad_group *g,
                          const struct ad_computer *c)
{
    int rc;

    rc = mdm_buf_printf(buf,
                        "%s is not a member of %s%s.\n"
                        "Dry run: nothing was changed. With --apply, mdmhealth makes this "
                        "change on %s:\n\n",
                        c->dn, g->dn, location_note(g), s->uri);
    if (rc == 0)
        rc = ldif_line(buf, "dn", g->dn);
    if (rc == 0)
        rc = mdm_buf_adds(buf, "changetype: modify\nadd: member\n");
    if (rc == 0)
        rc = ldif_line(buf, "member", c->dn);
    if (rc == 0)
        rc = mdm_buf_adds(buf, "-\n\nThe same change in PowerShell (ActiveDirectory module):\n"
                               "  Add-ADGroupMember -Identity ");
    if (rc == 0)
        rc = ps_quote(buf, g->dn);
    if (rc == 0)
        rc = mdm_buf_adds(buf, " -Members ");
    if (rc == 0)
        rc = ps_quote(buf, c->sam != NULL ? c->sam : c->dn);
    if (rc == 0)
        rc = mdm_buf_adds(buf, "\n");
    return rc;
}

/*
 * Adds the computer DN to the group's member attribute, allowing the change
 * the whole timeout. Returns the LDAP result code.
 */
static int add_member_value(struct ad_session *s, const char *group_dn, const char *computer_dn)
{
    return mdm_ldap_add_value(s->ld, group_dn, "member", computer_dn,
                              mdm_os_monotonic_ms() + s->timeout_ms);
}

int mdm_ldap_add_member(const struct mdm_diag_options *opt, bool apply, char *report,
                        size_t report_size, struct mdm_err *err)
{
    struct ad_session s;
    struct ad_target t;
    struct ad_group group = {NULL, false};
    struct ad_computer computer = {NULL, NULL};
    struct ad_membership m;
    struct mdm_buf buf;
    char missing[64];
    char what[AD_WHAT_MAX];
    int lrc, rc;

    memset(&s, 0, sizeof(s));
    memset(&m, 0, sizeof(m));
    mdm_buf_init(&buf, report_size > 0 ? report_size - 1 : 0);
    if (report == NULL || report_size == 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "no report buffer");
        goto out;
    }
    rc = resolve_target(opt, &t, missing, sizeof(missing), err);
    if (rc == MDM_EUNSUPPORTED) {
        rc = mdm_err_set(err, MDM_EINVAL,
                         "resolve ad-group needs ldap-uri, ldap-base and computer-dn in the "
                         "configuration (Windows discovers them); missing: %s",
                         missing);
        goto out;
    }
    if (rc != 0) {
        /* err says what could not be discovered and which directive to set. */
        rc = MDM_EINVAL;
        if (err != NULL)
            err->code = rc;
        goto out;
    }
    rc = session_open(&s, opt, t.uri, err);
    if (rc == 0)
        rc = find_group(&s, t.base, group_cn(opt), &group, err);
    if (rc == 0)
        rc = find_computer(&s, t.computer_dn, &computer, err);
    if (rc == 0)
        rc = check_membership(&s, group.dn, computer.dn, &m, err);
    if (rc != 0)
        goto out;
    if (m.how == AD_DIRECT) {
        rc = mdm_buf_printf(&buf, "%s is already a direct member of %s%s; nothing to do.\n",
                            computer.dn, group.dn, location_note(&group));
        goto done;
    }
    if (m.how == AD_NESTED) {
        rc = mdm_buf_printf(&buf, "%s is already a nested member of %s%s%s%s; nothing to do.\n",
                            computer.dn, group.dn, location_note(&group),
                            m.via[0] != '\0' ? " through " : "", m.via);
        goto done;
    }
    if (!apply) {
        rc = dry_run_report(&buf, &s, &group, &computer);
        goto done;
    }
    lrc = add_member_value(&s, group.dn, computer.dn);
    if (lrc != MDM_LDAP_SUCCESS && lrc != MDM_LDAP_TYPE_OR_VALUE_EXISTS) {
        snprintf(what, sizeof(what), "adding member to %s", group.dn);
        rc = ldap_failure(&s, lrc, NULL, err, what);
        if (lrc == MDM_LDAP_INSUFFICIENT_ACCESS || lrc == MDM_LDAP_STRONG_AUTH_REQUIRED)
            mdm_err_prefix(err,
                           "%s may not change the group (set ldap-bind-dn to an account "
                           "allowed to manage it): ",
                           opt->ldap_bind_dn != NULL ? opt->ldap_bind_dn
                                                     : mdm_ldap_implicit_bind());
        rc = MDM_EIO;
        goto out;
    }
    /* Read the membership back, with a fresh deadline for the check. */
    s.deadline_ms = mdm_os_monotonic_ms() + s.timeout_ms;
    rc = check_membership(&s, group.dn, computer.dn, &m, err);
    if (rc != 0)
        goto out;
    if (m.how == AD_NOT_MEMBER) {
        rc = mdm_err_set(err, MDM_EIO,
                         "the server accepted adding %s to %s, but reading the group back "
                         "does not show the membership",
                         computer.dn, group.dn);
        goto out;
    }
    rc = mdm_buf_printf(&buf, "Added %s to %s%s on %s; the check now finds a %s member.\n",
                        computer.dn, group.dn, location_note(&group), s.uri,
                        m.how == AD_DIRECT ? "direct" : "nested");
done:
    if (rc == MDM_ETOOBIG) {
        rc = mdm_err_set(err, MDM_ETOOBIG, "the report does not fit in %zu bytes", report_size);
        goto out;
    }
    if (rc != 0) {
        rc = mdm_err_set(err, rc, "out of memory");
        goto out;
    }
    memcpy(report, mdm_buf_str(&buf), buf.len + 1);
    rc = 0;
out:
    mdm_buf_free(&buf);
    mdm_free(group.dn);
    mdm_free(computer.dn);
    mdm_free(computer.sam);
    session_close(&s);
    return rc;
}

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

/* The note added when the group is not where the knowledge article puts it. */
const char *ad_location_note(const struct ad_group *g)
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

const char *ad_group_cn(const struct mdm_diag_options *opt)
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
int ad_resolve_target(const struct mdm_diag_options *opt, struct ad_target *t, char *missing,
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
    rc = ad_resolve_target(opt, &t, missing, sizeof(missing), &err);
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
    rc = ad_session_open(&s, opt, t.uri, &err);
    if (rc != 0) {
        set_result(r, MDM_CHECK_ERROR, "%s", err.msg);
        goto out;
    }
    rc = ad_find_group(&s, t.base, ad_group_cn(opt), &group, &err);
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
    rc = ad_find_computer(&s, t.computer_dn, &computer, &err);
    if (rc == MDM_ENOTFOUND) {
        set_result(r, MDM_CHECK_FAIL, "%s; check computer-dn", err.msg);
        goto out;
    }
    if (rc != 0) {
        set_result(r, MDM_CHECK_ERROR, "%s", err.msg);
        goto out;
    }
    rc = ad_check_membership(&s, group.dn, computer.dn, &m, &err);
    if (rc != 0) {
        set_result(r, MDM_CHECK_ERROR, "%s", err.msg);
        goto out;
    }
    switch (m.how) {
    case AD_DIRECT:
        set_result(r, MDM_CHECK_PASS, "%s is a direct member of %s%s", computer.dn, group.dn,
                   ad_location_note(&group));
        break;
    case AD_NESTED:
        if (m.via[0] != '\0')
            set_result(r, MDM_CHECK_PASS, "%s is a nested member of %s through %s%s", computer.dn,
                       group.dn, m.via, ad_location_note(&group));
        else
            set_result(r, MDM_CHECK_PASS,
                       "%s is a nested member of %s%s (by the server's in-chain rule)", computer.dn,
                       group.dn, ad_location_note(&group));
        break;
    default:
        set_result(r, MDM_CHECK_FAIL,
                   "%s is not a member of %s%s; add it (mdmhealth resolve ad-group)", computer.dn,
                   group.dn, ad_location_note(&group));
        break;
    }
out:
    note_discovered(r, &t);
    mdm_free(group.dn);
    mdm_free(computer.dn);
    mdm_free(computer.sam);
    ad_session_close(&s);
}

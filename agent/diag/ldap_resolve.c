/*
 * ldap_resolve.c - the "Add Computer Account to SCMDM 2008 AD Groups"
 * resolver: a dry-run report (LDIF and PowerShell) or the change itself,
 * read back with the check's membership test.
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
                        c->dn, g->dn, ad_location_note(g), s->uri);
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
    rc = ad_resolve_target(opt, &t, missing, sizeof(missing), err);
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
    rc = ad_session_open(&s, opt, t.uri, err);
    if (rc == 0)
        rc = ad_find_group(&s, t.base, ad_group_cn(opt), &group, err);
    if (rc == 0)
        rc = ad_find_computer(&s, t.computer_dn, &computer, err);
    if (rc == 0)
        rc = ad_check_membership(&s, group.dn, computer.dn, &m, err);
    if (rc != 0)
        goto out;
    if (m.how == AD_DIRECT) {
        rc = mdm_buf_printf(&buf, "%s is already a direct member of %s%s; nothing to do.\n",
                            computer.dn, group.dn, ad_location_note(&group));
        goto done;
    }
    if (m.how == AD_NESTED) {
        rc = mdm_buf_printf(&buf, "%s is already a nested member of %s%s%s%s; nothing to do.\n",
                            computer.dn, group.dn, ad_location_note(&group),
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
        rc = ad_ldap_failure(&s, lrc, NULL, err, what);
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
    rc = ad_check_membership(&s, group.dn, computer.dn, &m, err);
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
                        computer.dn, group.dn, ad_location_note(&group), s.uri,
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
    ad_session_close(&s);
    return rc;
}

/*
 * ldap_ops.h - the Active Directory part of the diagnoser (ldap_check.c,
 * ldap_resolve.c, with ldap_directory.c and ldap_membership.c).
 *
 * The knowledge article asks: is this Device Management server's computer
 * account a member of the SCMDM2008DeviceManagementServers group in the
 * "SCMDM2008 Infrastructure Groups" OU? Its resolver, "Add Computer Account
 * to SCMDM 2008 AD Groups", adds it. Both speak LDAPv3 to a domain
 * controller (or, in the tests, to a real OpenLDAP slapd).
 *
 * What they need from struct mdm_diag_options: ldap_uri, ldap_base and
 * computer_dn (configured with ldap-uri, ldap-base and computer-dn; those
 * not configured are discovered where the OS can, see mdm_ldap_discover in
 * mdm_ldap.h: a domain controller, the domain and the computer account on
 * Windows), ad_group (the group's CN), and optionally
 * ldap_bind_dn with ldap_password_file (an owner-only file whose first line
 * is the password; without a bind DN the bind is anonymous). timeout_ms
 * bounds the whole operation, connect included.
 */
#ifndef MDM_LDAP_OPS_H
#define MDM_LDAP_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/diag/diag.h"
#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The OU of the knowledge article; a group found elsewhere is reported as such. */
#define MDM_LDAP_GROUP_OU "SCMDM2008 Infrastructure Groups"

/* Hard caps of the nested-membership expansion (servers without the AD in-chain rule). */
#define MDM_LDAP_NEST_DEPTH_MAX 16u
#define MDM_LDAP_EXPAND_MAX     10000u

/*
 * The "ad-group" check: fills r->status and r->detail (the caller sets the
 * name and the duration).
 *   PASS   the computer account is a direct or nested member of the group;
 *          the detail names the group DN and, for a nested member, the
 *          intermediate group(s).
 *   FAIL   it is not a member, or the group or the computer account does
 *          not exist; the detail names both DNs and the resolver command.
 *   ERROR  no connection, bind refused, timeout, unreadable or
 *          group/world-readable password file, the expansion hit a cap, or
 *          a directive that is not configured could not be discovered (the
 *          detail names the failed call and the directive to set).
 *   SKIP   ldap-uri, ldap-base or computer-dn is not configured and this OS
 *          cannot discover it (POSIX).
 * A detail reached with discovered values ends with "[discovered: ...]".
 * The password never appears in the detail.
 */
void mdm_check_ad_group(const struct mdm_diag_options *opt, struct mdm_check_result *r);

/*
 * The resolver behind `mdmhealth resolve ad-group [--apply]`. Finds the
 * group and the computer account as the check does, then:
 *   - already a member: report says so, nothing is changed;
 *   - !apply: report says exactly which modification would be made (the
 *     group DN, "add: member", the computer DN, as LDIF) and the equivalent
 *     PowerShell Add-ADGroupMember command, and nothing is changed;
 *   - apply: adds the computer DN to the group's member attribute
 *     (ldap_modify_ext_s), checks the membership again and reports it.
 * report (report_size bytes, always NUL-terminated) is written only when 0
 * is returned. Errors: MDM_EINVAL (not configured and not discoverable,
 * bad password file), MDM_ENOTFOUND (no such group or computer account),
 * MDM_EIO (connection, bind, search or modify refused, or the change is not
 * visible afterwards), MDM_ETOOBIG (report_size too small), MDM_ENOMEM; err
 * says which.
 */
int mdm_ldap_add_member(const struct mdm_diag_options *opt, bool apply, char *report,
                        size_t report_size, struct mdm_err *err);

#ifdef __cplusplus
}
#endif

#endif

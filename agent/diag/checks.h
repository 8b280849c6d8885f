/* checks.h - the individual checks run by diag.c (see diag.h for their names). */
#ifndef MDM_CHECKS_H
#define MDM_CHECKS_H

#include "agent/diag/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

void mdm_check_dns(const struct mdm_diag_options *opt, struct mdm_check_result *r);
void mdm_check_ping_loopback(const struct mdm_diag_options *opt, struct mdm_check_result *r);
void mdm_check_ping_gateway(const struct mdm_diag_options *opt, struct mdm_check_result *r);
void mdm_check_ping_dns_servers(const struct mdm_diag_options *opt, struct mdm_check_result *r);
void mdm_check_ping_enrollment_ip(const struct mdm_diag_options *opt, struct mdm_check_result *r);
void mdm_check_ping_enrollment_fqdn(const struct mdm_diag_options *opt, struct mdm_check_result *r);
void mdm_check_https_enrollment(const struct mdm_diag_options *opt, struct mdm_check_result *r);
void mdm_check_https_dm_admin(const struct mdm_diag_options *opt, struct mdm_check_result *r);
void mdm_check_enrollment_services(const struct mdm_diag_options *opt, struct mdm_check_result *r);
void mdm_check_loopback(const struct mdm_diag_options *opt, struct mdm_check_result *r);
/* ldap_check.c */
void mdm_check_ad_group(const struct mdm_diag_options *opt, struct mdm_check_result *r);

#ifdef __cplusplus
}
#endif

#endif

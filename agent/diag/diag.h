/*
 * diag.h - the diagnoser: the checks of the knowledge article, and the
 * diagnosis -> resolver table (docs/diagnose.md, "The diagnoses").
 *
 * A check is a function that fills one struct mdm_check_result. The runner
 * (diag.c) starts every check on its own thread with a deadline, so a check
 * that hangs (a dead DNS server, a black-holed TCP port) costs its timeout,
 * not the sum of all timeouts. Checks never touch Net-SNMP: the SNMP side
 * only reads finished reports on the main loop.
 *
 * Check names are stable (they are what operators script against and what
 * mdmDiagName shows); they and what each checks are the MDM_DIAG_CHECKS
 * table below, the only list of them.
 */
#ifndef MDM_DIAG_H
#define MDM_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mdm_check_status {
    MDM_CHECK_PASS = 1, /* values as mdmDiagStatus */
    MDM_CHECK_FAIL = 2,
    MDM_CHECK_WARN = 3,
    MDM_CHECK_SKIP = 4,
    MDM_CHECK_ERROR = 5, /* the check itself could not run */
};

/*
 * The diagnoser's checks, the one table of their names: X(name, function
 * suffix, what it checks). The names are stable: operators write them in
 * `diag-skip`, script against `diagnose --json` and read them in mdmDiagName.
 * The configuration checks `diag-skip` against it; diag.c builds its check
 * list from it (each row runs mdm_check_<suffix>, in this order) and a test
 * compares it with docs/diagnose.md.
 */
#define MDM_DIAG_CHECKS(X)                                                                         \
    X("dns", dns, "the Enrollment Server's FQDN resolves")                                         \
    X("ping-loopback", ping_loopback, "ICMP echo to 127.0.0.1")                                    \
    X("ping-gateway", ping_gateway, "ICMP echo to the default gateway(s)")                         \
    X("ping-dns-servers", ping_dns_servers, "ICMP echo to the configured DNS servers")             \
    X("ping-enrollment-ip", ping_enrollment_ip,                                                    \
      "ICMP echo to the Enrollment Server's address(es)")                                          \
    X("ping-enrollment-fqdn", ping_enrollment_fqdn, "ICMP echo to the Enrollment Server by name")  \
    X("https-enrollment", https_enrollment,                                                        \
      "TCP connect + TLS handshake, Enrollment Server admin port (8445)")                          \
    X("https-dm-admin", https_dm_admin,                                                            \
      "TCP connect + TLS handshake, DM server admin port (8446)")                                  \
    X("enrollment-services", enrollment_services,                                                  \
      "SCMDM Enrollment services running (Windows SCM; skip elsewhere)")                           \
    X("ad-group", ad_group, "this computer account is a member (direct or nested) of ad-group")    \
    X("loopback-check", loopback,                                                                  \
      "Enrollment Server maps to this computer: DisableLoopbackCheck / BackConnectionHostNames "   \
      "(Windows registry; skip elsewhere)")

/* True when name is one of MDM_DIAG_CHECKS. */
bool mdm_diag_check_name_known(const char *name);

/*
 * The time each check may take when the caller sets none (diagnose
 * --timeout, the agent's runs and the resolvers): docs/diagnose.md promises 5 s.
 */
#define MDM_DIAG_TIMEOUT_MS_DEFAULT 5000

#define MDM_CHECK_NAME_MAX   48u
#define MDM_CHECK_DETAIL_MAX 512u
#define MDM_CHECKS_MAX       16u
#define MDM_DIAGNOSES_MAX    4u

struct mdm_check_result {
    char name[MDM_CHECK_NAME_MAX];
    enum mdm_check_status status;
    char detail[MDM_CHECK_DETAIL_MAX]; /* one sentence an operator can act on */
    int64_t duration_ms;
};

/* The diagnoses and resolvers (docs/diagnose.md), with their exact names. */
enum mdm_diagnosis_id {
    MDM_DIAG_NETWORK = 1,  /* "The Device Management Machine cannot connect to network." */
    MDM_DIAG_LOOPBACK = 2, /* "HTTP 401 Unauthorized Logon Failed using Loopback connector." */
    MDM_DIAG_AD_GROUP = 3, /* "Server is not in proper security groups." */
};

struct mdm_diagnosis {
    enum mdm_diagnosis_id id;
    const char *diagnosis; /* static */
    const char *resolver;  /* static */
    const char *because;   /* static: which checks led here */
    const char *check;     /* static: the name of the check that established it */
};

struct mdm_diag_report {
    struct mdm_check_result checks[MDM_CHECKS_MAX];
    size_t check_count;
    struct mdm_diagnosis diagnoses[MDM_DIAGNOSES_MAX];
    size_t diagnosis_count;
    int64_t started_ms; /* wall clock, ms since 1970 UTC */
};

/* What the checks need; strings are borrowed from the configuration. */
struct mdm_diag_options {
    const char *enrollment_server;  /* FQDN or address; NULL: network checks skip */
    const char *enrollment_address; /* its IP address when configured, else NULL */
    const char *dm_server;          /* this DM server's admin host; NULL: 127.0.0.1 */
    unsigned ports[2];              /* Enrollment Server admin port, DM server admin port */
    const char *ad_group;           /* CN of the group */
    const char *ldap_uri;           /* NULL: discovered (Windows) or skip */
    const char *ldap_base;          /* search base, e.g. DC=contoso,DC=com */
    const char *computer_dn;        /* NULL: discovered (Windows) or skip */
    const char *ldap_bind_dn;       /* NULL: the computer account (Windows) or anonymous */
    const char *ldap_password_file; /* password for ldap_bind_dn, owner-only file */
    int timeout_ms;                 /* per check */
    const char *skip;               /* space-separated check names not to run (diag-skip) */
    /*
     * The password itself, when it was asked on the terminal (mdmhealth resolve
     * ad-group --apply without ldap-password-file); used instead of the file.
     * Borrowed; never logged. NULL otherwise; mdm_diag_run and
     * mdm_diag_start ignore it (their checks may outlive the caller).
     */
    const char *ldap_password;
};

/* A check: fills r (name already set, status/detail/duration by the check). */
typedef void (*mdm_check_fn)(const struct mdm_diag_options *opt, struct mdm_check_result *r);

/*
 * Runs every check concurrently (each on its own thread, each with
 * opt->timeout_ms) and then decides the diagnoses. report is filled
 * completely. Returns 0, or MDM_ENOMEM / MDM_EIO when threads cannot start.
 */
int mdm_diag_run(const struct mdm_diag_options *opt, struct mdm_diag_report *report);

/*
 * Starts mdm_diag_run on a thread of its own and returns at once. The
 * options are copied before it returns. done(report, ctx) is called on that
 * thread when the run ends; report is owned by the callee (mdm_free).
 * Returns 0, or MDM_ENOMEM / MDM_EIO when the thread cannot start.
 */
int mdm_diag_start(const struct mdm_diag_options *opt,
                   void (*done)(struct mdm_diag_report *report, void *ctx), void *ctx);

/*
 * The diagnosis table (docs/diagnose.md): fills report->diagnoses from the check
 * results. Exposed for tests: every combination of failed checks.
 */
void mdm_diag_decide(struct mdm_diag_report *report);

/* The knowledge-article steps for a diagnosis (static text, several lines). */
const char *mdm_diag_explain(enum mdm_diagnosis_id id);

/* "pass", "fail", "warn", "skip", "error". */
const char *mdm_check_status_name(enum mdm_check_status status);

#ifdef __cplusplus
}
#endif

#endif

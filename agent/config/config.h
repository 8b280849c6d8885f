/*
 * config.h - mdmhealth.conf: our own directives (docs/configuration.md).
 *
 * The file uses Net-SNMP's syntax: one directive per line, `#` comments, the
 * directive name then its value (the rest of the line). The standard SNMP
 * directives (trap2sink, informsink, trapsess, agentaddress, rocommunity,
 * rouser, createUser, master, agentXSocket, ...) are collected with their
 * line numbers for the SNMP layer, which hands them to Net-SNMP's own
 * config machinery; each is first checked by config_snmp.c, since Net-SNMP
 * crashes on some malformed lines. mdm_config_directive() is the single handler for our
 * directives, so the same code serves a Net-SNMP registered handler.
 */
#ifndef MDM_CONFIG_H
#define MDM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/common/mdm_err.h"
#include "agent/diag/diag.h"
#include "wevt/source.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MDM_CONFIG_MAX_BYTES      (1024u * 1024u)
#define MDM_CONFIG_LINE_MAX       4096u
#define MDM_CONFIG_TARGETS_MAX    256u
#define MDM_CONFIG_SNMP_LINES_MAX 1024u
#define MDM_CONFIG_DN_MAX         1024u /* ldap-base, computer-dn, ldap-bind-dn */
/*
 * With the Windows channel (no `source` line) every target is a remote
 * subscription of its own, selected on through a loopback socket; Winsock's
 * fd_set holds 64 sockets, shared with SNMP's.
 */
#define MDM_CONFIG_CHANNEL_TARGETS_MAX 32u

#define MDM_DEFAULT_CHANNEL         "Mobile Device Manager"
#define MDM_DEFAULT_AD_GROUP        "SCMDM2008DeviceManagementServers"
#define MDM_DEFAULT_ENROLLMENT_PORT 8445
#define MDM_DEFAULT_DM_ADMIN_PORT   8446

/* diag-interval: 0 (off, the default) or MIN..MAX seconds. */
#define MDM_DIAG_INTERVAL_MIN 60u
#define MDM_DIAG_INTERVAL_MAX 86400u
/*
 * Test hook: when this environment variable holds a number of seconds from
 * 1 to MDM_DIAG_INTERVAL_MIN, it replaces the lower bound of diag-interval,
 * so an end-to-end test can run the periodic diagnoser every second. Only
 * the bound changes; the directive's unit and the agent's scheduling are the
 * ones production uses. Not for production configurations.
 */
#define MDM_DIAG_INTERVAL_MIN_ENV "MDM_TEST_DIAG_INTERVAL_MIN"

/*
 * notification-backoff-max: the longest wait, in seconds, between two
 * attempts to deliver to a destination whose manager does not answer.
 */
#define MDM_NOTIFY_BACKOFF_MAX_DEFAULT 60u
#define MDM_NOTIFY_BACKOFF_MAX_MIN     1u
#define MDM_NOTIFY_BACKOFF_MAX_MAX     3600u

/* `pack` lines accepted (the loader's MDM_PACK_FILES_MAX). */
#define MDM_CONFIG_PACKS_MAX 64

/* A standard Net-SNMP directive, kept verbatim for the SNMP layer. */
struct mdm_config_snmp_line {
    char *directive;
    char *value;
    unsigned line;
};

struct mdm_config {
    char *path; /* the file read, or NULL for built-in defaults */
    /* `pack` lines, in order, resolved against the config file's directory;
     * none = the built-in pack. */
    char **pack_paths;
    size_t pack_count;
    bool pack_strict; /* pack-strict yes: a skipped monitor is an error */
    char *channel;
    bool has_source;
    unsigned source_line; /* line of the `source` directive (0: none, or not from a file) */
    enum mdm_source_kind source_kind;
    char *source_path;
    char **targets;
    size_t target_count;
    char *state_dir;
    char *enrollment_server;      /* FQDN */
    char *enrollment_address;     /* its IP address when given: enrollment-server NAME ADDRESS */
    char *dm_server;              /* this DM server's admin host (default: 127.0.0.1) */
    char *diag_skip;              /* diag-skip: check names not to run, space-separated */
    unsigned diag_interval;       /* diag-interval: seconds between re-diagnoses in error; 0 off */
    unsigned notify_backoff_max;  /* notification-backoff-max: seconds */
    unsigned enrollment_ports[2]; /* Enrollment Server admin port, DM server admin port */
    char *ad_group;
    char *ldap_uri;
    char *ldap_base;          /* search base of the group, e.g. DC=contoso,DC=com */
    char *computer_dn;        /* this DM server's computer account */
    char *ldap_bind_dn;       /* NULL: anonymous (the computer account on Windows) */
    char *ldap_password_file; /* resolved against the config file's directory */
    struct mdm_config_snmp_line *snmp_lines;
    size_t snmp_line_count;
};

/* Returns a configuration holding the defaults (owned by the caller), or NULL when out of memory.
 */
struct mdm_config *mdm_config_new(void);
void mdm_config_free(struct mdm_config *cfg);

/*
 * Reads path into a new configuration. Errors are "FILE:LINE: message" with
 * MDM_EINVAL (bad directive or value), MDM_EIO or MDM_ENOTFOUND (no file).
 */
int mdm_config_load(const char *path, struct mdm_config **out, struct mdm_err *err);

/*
 * Applies one directive (name and the rest of the line) to cfg. `base_dir`
 * resolves relative paths. Returns 0, MDM_ENOTFOUND for a name that is not
 * ours, or MDM_EINVAL with err saying what is wrong with the value.
 */
int mdm_config_directive(struct mdm_config *cfg, const char *name, const char *value,
                         const char *base_dir, struct mdm_err *err);

/*
 * One of mdmhealth's own directives, as the table in config.c describes it
 * (the only list of them).
 */
struct mdm_config_directive_info {
    const char *name;
    const char *args; /* the shape of the value, e.g. "FQDN [ADDRESS]" */
    bool repeatable;  /* several lines add up (pack, target) */
    const char *part; /* the part that consumes it: packs, source, state, diag, snmp */
    const char *help; /* one line */
};
extern const struct mdm_config_directive_info mdm_config_directives[];
extern const size_t mdm_config_directive_count;

/* The table row of one of our directives, or NULL for any other name. */
const struct mdm_config_directive_info *mdm_config_directive_find(const char *name);

#ifdef __cplusplus
}
#endif

#endif

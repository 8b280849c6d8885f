/*
 * ldap_internal.h - the types, limits and shared functions of the "ad-group"
 * check (ldap_check.c) and its resolver (ldap_resolve.c), split over
 * ldap_directory.c and ldap_membership.c. Private to those four files; the
 * rules are at the top of ldap_check.c.
 */
#ifndef MDM_LDAP_INTERNAL_H
#define MDM_LDAP_INTERNAL_H

#include "agent/diag/ldap_ops.h"

#include "agent/os/mdm_ldap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AD_DEFAULT_GROUP        "SCMDM2008DeviceManagementServers"
#define AD_IN_CHAIN_RULE        "1.2.840.113556.1.4.1941"
#define AD_CAP_ACTIVE_DIRECTORY "1.2.840.113556.1.4.800"
#define AD_DEFAULT_TIMEOUT_MS   MDM_DIAG_TIMEOUT_MS_DEFAULT
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

/* ------------------------------------------------------------------------- */
/* Directory access (ldap_directory.c)                                       */

/*
 * Escapes an assertion value for a search filter (RFC 4515 section 3):
 * '*', '(', ')' and '\' become \2a, \28, \29 and \5c. Returns 0 or
 * MDM_ETOOBIG when out (size bytes) is too small.
 */
int ad_filter_escape(const char *in, char *out, size_t size);

/*
 * Writes a comparison form of dn into out (size bytes): ASCII lower case and
 * no spaces around the separators ',', '+' and '='; escape pairs are kept.
 * Two spellings that differ only in case or spacing compare equal; one that
 * uses a different escape for the same character does not (rare: the
 * computer DN compared is the server's own spelling). Returns 0 or
 * MDM_ETOOBIG.
 */
int ad_dn_normalize(const char *dn, char *out, size_t size);

/* Closes the session's connection. */
void ad_session_close(struct ad_session *s);

/* True for the result codes that mean the server cannot be reached in time. */
bool ad_is_connection_failure(int lrc);

/*
 * Records a failed LDAP operation in err: what was done, on which server,
 * the LDAP error and the server's message. The message is left out when it
 * contains `secret`. Returns MDM_ENOTFOUND for noSuchObject, else MDM_EIO.
 */
int ad_ldap_failure(struct ad_session *s, int lrc, const char *secret, struct mdm_err *err,
                    const char *what);

/*
 * Connects and binds. The password is opt->ldap_password when the caller
 * asked for it, else it is read from opt->ldap_password_file first (no
 * network traffic with a bad file); the copy is wiped after the bind.
 */
int ad_session_open(struct ad_session *s, const struct mdm_diag_options *opt, const char *uri,
                    struct mdm_err *err);

/*
 * One search bounded by the session's deadline. On success *res holds the
 * entries (owned by the caller, mdm_ldap_msg_free); a size limit reached
 * still counts as success with the entries received.
 */
int ad_search(struct ad_session *s, const char *base, enum mdm_ldap_scope scope, const char *filter,
              const char *const *attrs, int sizelimit, struct mdm_ldap_msg **res,
              struct mdm_err *err);

/* True when the entry has objectClass group or groupOfNames. */
bool ad_entry_is_group(struct mdm_ldap *ld, struct mdm_ldap_msg *entry);

/* True when the root DSE announces an Active Directory server. */
bool ad_server_is_ad(struct ad_session *s);

/*
 * Finds the group named cn under base, preferring one whose parent is the
 * OU of the knowledge article. On success out->dn is owned by the caller
 * (mdm_free). MDM_ENOTFOUND when there is no such group.
 */
int ad_find_group(struct ad_session *s, const char *base, const char *cn, struct ad_group *out,
                  struct mdm_err *err);

/*
 * Reads the computer account at dn. On success out->dn (the server's
 * spelling) and out->sam (or NULL) are owned by the caller (mdm_free).
 * MDM_ENOTFOUND when there is no such entry.
 */
int ad_find_computer(struct ad_session *s, const char *dn, struct ad_computer *out,
                     struct mdm_err *err);

/* ------------------------------------------------------------------------- */
/* Membership (ldap_membership.c)                                            */

/* Decides whether computer_dn is a member of group_dn (see the top of ldap_check.c). */
int ad_check_membership(struct ad_session *s, const char *group_dn, const char *computer_dn,
                        struct ad_membership *out, struct mdm_err *err);

/* ------------------------------------------------------------------------- */
/* Target directives and result texts (ldap_check.c)                         */

/* The note added when the group is not where the knowledge article puts it. */
const char *ad_location_note(const struct ad_group *g);

/* The cn of the group to check: the ad-group directive, else the knowledge article's. */
const char *ad_group_cn(const struct mdm_diag_options *opt);

/*
 * Fills t from opt and, for the directives opt lacks, from
 * mdm_ldap_discover(). Returns 0; MDM_EUNSUPPORTED when directives are
 * missing and this OS cannot discover them (missing, size bytes, names
 * them); or the error of the discovery, err naming what failed and the
 * directive to set.
 */
int ad_resolve_target(const struct mdm_diag_options *opt, struct ad_target *t, char *missing,
                      size_t size, struct mdm_err *err);

#endif

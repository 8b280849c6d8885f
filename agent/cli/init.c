/*
 * init.c - `mdmhealth init`: writes a first configuration file from a few
 * values (the Enrollment Server, one notification destination, SNMP
 * credentials) and creates the state directory, both readable by the service
 * account only. The MSI runs it with its public properties on install; an
 * existing configuration is never changed, so an upgrade or a repair keeps
 * what the administrator wrote.
 */
#include "agent/cli/cli.h"

#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_os.h"
#include "agent/snmp/mdm_snmp.h"
#include "agent/common/mdm_version.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char init_usage[] =
    "usage: mdmhealth init [-c FILE] [OPTIONS]\n"
    "\n"
    "Writes a first configuration file (default %s) from the\n"
    "values below, checks it as `mdmhealth check` does, and creates the state\n"
    "directory; both are made readable by the service account, administrators\n"
    "and SYSTEM only (the file holds SNMP secrets). An existing file is never\n"
    "changed: init says so and exits 0. The MSI runs init with its properties.\n"
    "An option given as an empty string counts as not given.\n"
    "\n"
    "  -c, --config FILE            the file to write\n"
    "  --enrollment-server FQDN     the Enrollment Server, for the diagnoser\n"
    "  --destination HOST[:PORT]    where notifications go (port 162 by default)\n"
    "  --notify inform|trap         acknowledged informs (default) or traps\n"
    "  --v3-user USER               SNMPv3 user (authPriv) for notifications and,\n"
    "                               with --agent-address, for queries\n"
    "  --v3-auth-passphrase TEXT    its authentication passphrase (8+ characters)\n"
    "  --v3-priv-passphrase TEXT    its privacy passphrase (8+ characters)\n"
    "  --v3-auth-protocol PROTO     SHA-256 (default), SHA-512, SHA-384, SHA-224, SHA\n"
    "  --v3-priv-protocol PROTO     AES (default; AES-128)\n"
    "  --community WORD             SNMPv2c community instead of SNMPv3 (cleartext;\n"
    "                               only on a trusted management network)\n"
    "  --agent-address ADDR         also answer snmpget there, e.g. udp:161, with\n"
    "                               the same credentials (read-only)\n"
    "  --state-dir DIR              state directory (default %s)\n"
    "\n"
    "Without --destination nothing is sent until the file is edited.\n"
    "Exit status: 0 written or left unchanged, 1 cannot write, 2 invalid values.\n";

struct init_options {
    const char *config;
    const char *enrollment_server;
    const char *destination;
    const char *notify;
    const char *v3_user;
    const char *v3_auth;
    const char *v3_priv;
    const char *v3_auth_protocol;
    const char *v3_priv_protocol;
    const char *community;
    const char *agent_address;
    const char *state_dir;
};

/* The longest value init accepts, and the shortest passphrase Net-SNMP takes. */
#define INIT_VALUE_MAX      255
#define INIT_PASSPHRASE_MIN 8

/* An option's value, or NULL when it was not given or given empty. */
static const char *given(const char *v)
{
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * Values go into one configuration line each. A word (host, user, protocol,
 * community) may not contain blanks, quotes or backslashes; a path may hold
 * blanks and backslashes (our own directives take the rest of the line); a
 * passphrase is written between double quotes, so it may hold blanks but no
 * quote or backslash. No value may hold a control character. Nothing here
 * prints a secret's value.
 */
enum value_kind { VALUE_WORD, VALUE_PATH, VALUE_PASSPHRASE };

static int check_value(const char *option, const char *v, enum value_kind kind)
{
    size_t len = strlen(v);

    if (len > INIT_VALUE_MAX) {
        mdm_cli_error("init: %s: longer than %d characters", option, INIT_VALUE_MAX);
        return MDM_EXIT_USAGE;
    }
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        bool bad = *p < 0x20 || *p == 0x7f || *p == '"';
        if (kind == VALUE_WORD)
            bad = bad || *p == ' ' || *p == '\'' || *p == '\\';
        else if (kind == VALUE_PASSPHRASE)
            bad = bad || *p == '\\';
        if (bad) {
            mdm_cli_error("init: %s: may not contain %s", option,
                          kind == VALUE_WORD ? "blanks, quotes, backslashes or control characters"
                          : kind == VALUE_PATH
                              ? "double quotes or control characters"
                              : "double quotes, backslashes or control characters");
            return MDM_EXIT_USAGE;
        }
    }
    if (kind == VALUE_PASSPHRASE && len < INIT_PASSPHRASE_MIN) {
        mdm_cli_error("init: %s: at least %d characters are needed (SNMPv3 rule)", option,
                      INIT_PASSPHRASE_MIN);
        return MDM_EXIT_USAGE;
    }
    return MDM_EXIT_OK;
}

static int check_options(const struct init_options *o)
{
    const struct {
        const char *name, *value;
        enum value_kind kind;
    } all[] = {
        {"--enrollment-server", o->enrollment_server, VALUE_WORD},
        {"--destination", o->destination, VALUE_WORD},
        {"--v3-user", o->v3_user, VALUE_WORD},
        {"--v3-auth-passphrase", o->v3_auth, VALUE_PASSPHRASE},
        {"--v3-priv-passphrase", o->v3_priv, VALUE_PASSPHRASE},
        {"--v3-auth-protocol", o->v3_auth_protocol, VALUE_WORD},
        {"--v3-priv-protocol", o->v3_priv_protocol, VALUE_WORD},
        {"--community", o->community, VALUE_WORD},
        {"--agent-address", o->agent_address, VALUE_WORD},
        {"--state-dir", o->state_dir, VALUE_PATH},
    };
    int status;

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (all[i].value != NULL &&
            (status = check_value(all[i].name, all[i].value, all[i].kind)) != MDM_EXIT_OK)
            return status;
    }
    if (o->notify != NULL && strcmp(o->notify, "inform") != 0 && strcmp(o->notify, "trap") != 0) {
        mdm_cli_error("init: --notify: \"%s\" is neither inform nor trap", o->notify);
        return MDM_EXIT_USAGE;
    }
    if (o->v3_user != NULL && o->community != NULL) {
        mdm_cli_error("init: give either --v3-user (SNMPv3) or --community (SNMPv2c), not both");
        return MDM_EXIT_USAGE;
    }
    if (o->v3_user != NULL && (o->v3_auth == NULL || o->v3_priv == NULL)) {
        mdm_cli_error("init: --v3-user needs --v3-auth-passphrase and --v3-priv-passphrase "
                      "(authPriv is the only SNMPv3 level init writes)");
        return MDM_EXIT_USAGE;
    }
    if (o->v3_user == NULL && (o->v3_auth != NULL || o->v3_priv != NULL)) {
        mdm_cli_error("init: SNMPv3 passphrases given without --v3-user");
        return MDM_EXIT_USAGE;
    }
    if ((o->destination != NULL || o->agent_address != NULL) && o->v3_user == NULL &&
        o->community == NULL) {
        mdm_cli_error("init: %s needs credentials: --v3-user with its passphrases, or "
                      "--community",
                      o->destination != NULL ? "--destination" : "--agent-address");
        return MDM_EXIT_USAGE;
    }
    return MDM_EXIT_OK;
}

/* Appends the configuration text for o to b. */
static int compose(const struct init_options *o, struct mdm_buf *b)
{
    const char *auth_proto = o->v3_auth_protocol ? o->v3_auth_protocol : "SHA-256";
    const char *priv_proto = o->v3_priv_protocol ? o->v3_priv_protocol : "AES";
    bool inform = o->notify == NULL || strcmp(o->notify, "inform") == 0;
    int rc = 0;

    rc |= mdm_buf_printf(b,
                         "# mdmhealth.conf - written by `mdmhealth init` (mdmhealth %s).\n"
                         "# Every directive: docs/configuration.md, and mdmhealth.conf.example\n"
                         "# next to the program. This file may hold SNMP secrets: keep it\n"
                         "# readable by the service account and administrators only.\n"
                         "# After a change: `mdmhealth check`, then restart the service.\n\n",
                         MDM_VERSION);
    if (o->state_dir != NULL)
        rc |= mdm_buf_printf(b, "state-dir  %s\n\n", o->state_dir);
    rc |= mdm_buf_adds(b, "# --- the diagnoser (knowledge article checks) ---\n");
    if (o->enrollment_server != NULL)
        rc |= mdm_buf_printf(b, "enrollment-server  %s\n", o->enrollment_server);
    else
        rc |= mdm_buf_adds(b, "#enrollment-server  enroll.contoso.com\n");
    rc |= mdm_buf_adds(b, "#enrollment-ports   8445 8446\n"
                          "#ad-group           SCMDM2008DeviceManagementServers\n\n"
                          "# --- SNMP notifications ---\n");
    if (o->destination == NULL) {
        rc |= mdm_buf_adds(b, "# None yet. SNMPv3 informs (recommended):\n"
                              "#trapsess -Ci -v 3 -u USER -l authPriv -a SHA-256 -A \"AUTH\" "
                              "-x AES -X \"PRIV\" nms.contoso.com:162\n");
    } else if (o->v3_user != NULL) {
        rc |= mdm_buf_printf(
            b, "trapsess %s-v 3 -u %s -l authPriv -a %s -A \"%s\" -x %s -X \"%s\" %s\n",
            inform ? "-Ci " : "", o->v3_user, auth_proto, o->v3_auth, priv_proto, o->v3_priv,
            o->destination);
    } else {
        rc |= mdm_buf_printf(b, "%s %s %s\n", inform ? "informsink" : "trap2sink", o->destination,
                             o->community);
    }
    rc |= mdm_buf_adds(b, "\n# --- SNMP queries (read-only MDM-HEALTH-MIB) ---\n");
    if (o->agent_address == NULL) {
        rc |= mdm_buf_adds(b, "# None yet, e.g.:\n#agentaddress udp:161\n");
    } else {
        rc |= mdm_buf_printf(b, "agentaddress %s\n", o->agent_address);
        if (o->v3_user != NULL)
            rc |= mdm_buf_printf(b, "createUser %s %s \"%s\" %s \"%s\"\nrouser %s authPriv\n",
                                 o->v3_user, auth_proto, o->v3_auth, priv_proto, o->v3_priv,
                                 o->v3_user);
        else
            rc |= mdm_buf_printf(b, "rocommunity %s\n", o->community);
    }
    return rc != 0 ? MDM_ENOMEM : 0;
}

/* Prints what was configured, never a secret. */
static void print_summary(const struct init_options *o, const char *path, const char *state_dir)
{
    const char *how = o->notify != NULL && strcmp(o->notify, "trap") == 0 ? "traps" : "informs";

    printf("wrote %s\n", path);
    printf("  enrollment server: %s\n",
           o->enrollment_server ? o->enrollment_server : "(not set; the diagnoser skips it)");
    if (o->destination != NULL)
        printf("  notifications: %s %s to %s (%s)\n", o->v3_user ? "SNMPv3" : "SNMPv2c", how,
               o->destination, o->v3_user ? o->v3_user : "community");
    else
        printf("  notifications: none (no --destination)\n");
    printf("  queries: %s\n", o->agent_address ? o->agent_address : "none (no --agent-address)");
    printf("  state directory: %s\n", state_dir);
}

/* Creates the directory that will hold path, if it is missing. */
static int make_parent_dir(const char *path, struct mdm_err *err)
{
    char dir[MDM_PATH_MAX];
    size_t len = strlen(path);

    while (len > 0 && path[len - 1] != '/' && path[len - 1] != '\\')
        len--;
    while (len > 1 && (path[len - 1] == '/' || path[len - 1] == '\\'))
        len--;
    if (len == 0 || len >= sizeof(dir) || (len == 2 && path[1] == ':'))
        return 0;
    memcpy(dir, path, len);
    dir[len] = '\0';
    return mdm_fs_mkdirs(dir, err);
}

/*
 * Writes the composed text next to the target as FILE.init, checks it with
 * the same code as `mdmhealth check`, then moves it into place without ever
 * replacing a file. Returns an exit status.
 */
static int write_config(const struct init_options *o, const char *path)
{
    char staged[MDM_PATH_MAX];
    struct mdm_buf text;
    struct mdm_config *cfg = NULL;
    struct mdm_err err;
    int status = MDM_EXIT_FAILURE;
    bool staged_written = false;

    mdm_err_clear(&err);
    mdm_buf_init(&text, 64 * 1024);
    if ((size_t)snprintf(staged, sizeof(staged), "%s.init", path) >= sizeof(staged)) {
        mdm_cli_error("init: %s: the path is too long", path);
        status = MDM_EXIT_USAGE;
        goto out;
    }
    if (make_parent_dir(path, &err) != 0) {
        mdm_cli_error("init: %s", err.msg);
        goto out;
    }
    if (compose(o, &text) != 0) {
        mdm_cli_error("init: out of memory");
        goto out;
    }
    if (mdm_fs_write_atomic(staged, mdm_buf_str(&text), text.len, &err) != 0) {
        mdm_cli_error("init: %s", err.msg);
        goto out;
    }
    staged_written = true;
    if (mdm_config_load(staged, &cfg, &err) != 0 || mdm_snmp_check(cfg, &err) != 0) {
        mdm_cli_error("init: the configuration these values make is invalid: %s", err.msg);
        status = MDM_EXIT_USAGE;
        goto out;
    }
    if (mdm_fs_rename_new(staged, path, &err) != 0) {
        mdm_cli_error("init: %s", err.msg);
        goto out;
    }
    staged_written = false;
    if (mdm_fs_restrict_to_service(path, false, &err) != 0 ||
        mdm_fs_mkdirs(cfg->state_dir, &err) != 0 ||
        mdm_fs_restrict_to_service(cfg->state_dir, true, &err) != 0) {
        mdm_cli_error("init: %s", err.msg);
        goto out;
    }
    print_summary(o, path, cfg->state_dir);
    status = MDM_EXIT_OK;
out:
    if (staged_written)
        mdm_fs_remove(staged);
    mdm_config_free(cfg);
    mdm_buf_free(&text);
    return status;
}

int mdm_cmd_init(int argc, char **argv)
{
    struct init_options o;
    struct mdm_fs_info info;
    const char *path;
    int status;

    memset(&o, 0, sizeof(o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf(init_usage, mdm_fs_default_config_path(), mdm_fs_default_state_dir());
            return MDM_EXIT_OK;
        }
        if (mdm_cli_is_config_option(a))
            slot = &o.config;
        else if (strcmp(a, "--enrollment-server") == 0)
            slot = &o.enrollment_server;
        else if (strcmp(a, "--destination") == 0)
            slot = &o.destination;
        else if (strcmp(a, "--notify") == 0)
            slot = &o.notify;
        else if (strcmp(a, "--v3-user") == 0)
            slot = &o.v3_user;
        else if (strcmp(a, "--v3-auth-passphrase") == 0)
            slot = &o.v3_auth;
        else if (strcmp(a, "--v3-priv-passphrase") == 0)
            slot = &o.v3_priv;
        else if (strcmp(a, "--v3-auth-protocol") == 0)
            slot = &o.v3_auth_protocol;
        else if (strcmp(a, "--v3-priv-protocol") == 0)
            slot = &o.v3_priv_protocol;
        else if (strcmp(a, "--community") == 0)
            slot = &o.community;
        else if (strcmp(a, "--agent-address") == 0)
            slot = &o.agent_address;
        else if (strcmp(a, "--state-dir") == 0)
            slot = &o.state_dir;
        if (slot == NULL || i + 1 >= argc) {
            mdm_cli_error("init: %s: %s (see mdmhealth init --help)", a,
                          slot == NULL ? "unknown argument" : "missing value");
            return MDM_EXIT_USAGE;
        }
        *slot = given(argv[++i]);
    }
    if ((status = check_options(&o)) != MDM_EXIT_OK)
        return status;
    path = o.config ? o.config : mdm_fs_default_config_path();
    if (mdm_fs_stat(path, &info) == 0) {
        printf("%s exists: left unchanged (init never replaces a configuration)\n", path);
        return MDM_EXIT_OK;
    }
    return write_config(&o, path);
}

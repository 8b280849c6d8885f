/*
 * resolve.c - `mdmhealth resolve loopback|ad-group`: the resolvers of the
 * diagnosis table (docs/diagnose.md), run by an administrator on request. Dry run unless
 * --apply: the plan says exactly what would change and why. The service
 * itself never writes.
 */
#include "agent/cli/cli.h"

#include "agent/diag/diag.h"
#include "agent/diag/ldap_ops.h"
#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_ldap.h"
#include "agent/os/mdm_os.h"
#include "agent/os/mdm_registry.h"
#include "agent/common/mdm_text.h"

#include <stdio.h>
#include <string.h>

static const char resolve_usage[] =
    "usage: mdmhealth resolve loopback [-c FILE] [--disable-check] [--apply] [--undo]\n"
    "       mdmhealth resolve ad-group [-c FILE] [--apply]\n"
    "\n"
    "Applies a resolver of the Enrollment Connection monitor. Without --apply it is a\n"
    "dry run: it prints what would change and changes nothing. Needs an administrator.\n"
    "\n"
    "loopback   \"HTTP 401 Unauthorized Logon Failed using Loopback connector\": adds the\n"
    "           Enrollment Server's name to HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\\n"
    "           MSV1_0\\BackConnectionHostNames (the narrower fix); with --disable-check it\n"
    "           sets Lsa\\DisableLoopbackCheck = 1 instead (the knowledge article's fix).\n"
    "           The previous values are kept in STATE-DIR/undo-loopback; --undo restores\n"
    "           them. Restart IIS (iisreset) or the server afterwards. Windows only.\n"
    "ad-group   \"Add Computer Account to SCMDM 2008 AD Groups\": adds this computer\n"
    "           account (computer-dn) to ad-group over LDAP (ldap-uri, ldap-base), bound\n"
    "           as ldap-bind-dn with the password from ldap-password-file, and prints the\n"
    "           equivalent PowerShell. Without ldap-password-file, --apply asks for the\n"
    "           password on the terminal (not echoed; never from the command line nor\n"
    "           a redirected standard input); with no terminal it stops with exit\n"
    "           status 2. The dry run asks nothing and reads the directory anonymously\n"
    "           (Windows: a Negotiate bind as the account running it).\n"
    "\n"
    "  -c, --config FILE   configuration (default %s if it exists)\n"
    "  --apply             make the change (default: dry run)\n"
    "\n"
    "Exit status: 0 done (or nothing to do, or dry run), 1 the change failed or is not\n"
    "possible on this system, 2 usage or configuration error.\n";

#define LSA_KEY    "SYSTEM\\CurrentControlSet\\Control\\Lsa"
#define MSV1_0_KEY LSA_KEY "\\MSV1_0"
#define UNDO_FILE  "undo-loopback"
#define NAMES_MAX  4096 /* bytes of BackConnectionHostNames kept in the undo file */
#define REPORT_MAX 4096 /* the ad-group resolver's report to the operator */

/* The saved values: "dword absent|N\nnames absent|<escaped names>\n". */
static int save_undo(const char *state_dir, int rc_dword, uint32_t dword, int rc_names,
                     const char *names, struct mdm_err *err)
{
    char path[MDM_PATH_MAX], text[NAMES_MAX + 64];

    snprintf(path, sizeof(path), "%s/%s", state_dir, UNDO_FILE);
    if (mdm_fs_mkdirs(state_dir, err) != 0)
        return err->code;
    snprintf(text, sizeof(text), "dword %s%u\nnames %s", rc_dword == 0 ? "" : "absent ",
             rc_dword == 0 ? dword : 0u, rc_names == 0 ? "" : "absent");
    if (rc_names == 0) {
        /* One name per line after the "names" line. */
        strncat(text, "\n", sizeof(text) - strlen(text) - 1);
        strncat(text, names, sizeof(text) - strlen(text) - 1);
    }
    return mdm_fs_write_atomic(path, text, strlen(text), err);
}

static int resolve_loopback(const struct mdm_config *cfg, bool disable_check, bool apply, bool undo)
{
    char names[NAMES_MAX] = "", updated[NAMES_MAX];
    uint32_t dword = 0;
    int rc_dword, rc_names;
    struct mdm_err err;

    if (cfg->enrollment_server == NULL) {
        mdm_cli_error("resolve loopback: set enrollment-server in the configuration first");
        return MDM_EXIT_USAGE;
    }
    rc_dword = mdm_registry_get_dword(LSA_KEY, "DisableLoopbackCheck", &dword);
    rc_names =
        mdm_registry_get_multi_sz(MSV1_0_KEY, "BackConnectionHostNames", names, sizeof(names));
    if (rc_dword == MDM_EUNSUPPORTED) {
        mdm_cli_error("resolve loopback: the loopback check is a setting of the Windows "
                      "registry; run this on the DM server (nothing was changed)");
        return MDM_EXIT_FAILURE;
    }
    if ((rc_dword != 0 && rc_dword != MDM_ENOTFOUND) ||
        (rc_names != 0 && rc_names != MDM_ENOTFOUND)) {
        /* Never write over a value we could not read whole (it could be lost, also for --undo). */
        mdm_cli_error(
            "resolve loopback: cannot read the current values (%s); nothing was changed",
            mdm_strerror(rc_dword != 0 && rc_dword != MDM_ENOTFOUND ? rc_dword : rc_names));
        return MDM_EXIT_FAILURE;
    }
    if (undo) {
        char path[MDM_PATH_MAX], *text = NULL;
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, UNDO_FILE);
        if (mdm_fs_read_all(path, 64 * 1024, &text, &len, &err) != 0) {
            mdm_cli_error("resolve loopback --undo: %s", err.msg);
            return MDM_EXIT_FAILURE;
        }
        printf("Undo: restore the values saved in %s:\n%s\n", path, text);
        if (apply) {
            unsigned saved;
            const char *names_line = strstr(text, "\nnames ");
            int rc = 0;
            if (strncmp(text, "dword absent", 12) == 0)
                rc = mdm_registry_delete_value(LSA_KEY, "DisableLoopbackCheck");
            else if (sscanf(text, "dword %u", &saved) == 1)
                rc = mdm_registry_set_dword(LSA_KEY, "DisableLoopbackCheck", saved);
            if (rc == 0 && names_line != NULL) {
                if (strncmp(names_line, "\nnames absent", 13) == 0)
                    rc = mdm_registry_delete_value(MSV1_0_KEY, "BackConnectionHostNames");
                else
                    rc = mdm_registry_set_multi_sz(MSV1_0_KEY, "BackConnectionHostNames",
                                                   names_line + 7 + (names_line[7] == '\n'));
            }
            mdm_free(text);
            if (rc != 0) {
                mdm_cli_error("resolve loopback --undo: writing the registry failed (%s); run "
                              "as an administrator",
                              mdm_strerror(rc));
                return MDM_EXIT_FAILURE;
            }
            printf("Restored. Restart IIS (iisreset) or the server.\n");
            return MDM_EXIT_OK;
        }
        mdm_free(text);
        printf("Dry run: nothing changed (add --apply).\n");
        return MDM_EXIT_OK;
    }
    printf("Now: DisableLoopbackCheck = %s; BackConnectionHostNames = %s\n",
           rc_dword == 0 ? (dword ? "1" : "0") : "(absent)",
           rc_names == 0 && names[0] ? names : "(absent)");
    if (disable_check) {
        if (rc_dword == 0 && dword == 1) {
            printf("Nothing to do: the loopback check is already disabled.\n");
            return MDM_EXIT_OK;
        }
        printf("Plan: set HKLM\\" LSA_KEY "\\DisableLoopbackCheck (REG_DWORD) = 1.\n"
               "This turns the loopback check off for every name; BackConnectionHostNames\n"
               "(without --disable-check) is the narrower fix.\n");
    } else {
        /* Already listed? */
        const char *p = names;
        while (*p != '\0') {
            size_t len = strcspn(p, "\n");
            if (len == strlen(cfg->enrollment_server) &&
                mdm_ascii_iequal_n(p, cfg->enrollment_server, len)) {
                printf("Nothing to do: %s is already in BackConnectionHostNames.\n",
                       cfg->enrollment_server);
                return MDM_EXIT_OK;
            }
            p += len + (p[len] == '\n');
        }
        snprintf(updated, sizeof(updated), "%s%s%s", names, names[0] ? "\n" : "",
                 cfg->enrollment_server);
        printf("Plan: add \"%s\" to HKLM\\" MSV1_0_KEY "\\BackConnectionHostNames (REG_MULTI_SZ),\n"
               "so that Integrated Authentication to this name from this computer is allowed.\n",
               cfg->enrollment_server);
    }
    if (!apply) {
        printf("Dry run: nothing changed (add --apply).\n");
        return MDM_EXIT_OK;
    }
    if (save_undo(cfg->state_dir, rc_dword, dword, rc_names, names, &err) != 0) {
        mdm_cli_error("resolve loopback: cannot save the previous values (%s); nothing changed",
                      err.msg);
        return MDM_EXIT_FAILURE;
    }
    {
        int rc = disable_check
                     ? mdm_registry_set_dword(LSA_KEY, "DisableLoopbackCheck", 1)
                     : mdm_registry_set_multi_sz(MSV1_0_KEY, "BackConnectionHostNames", updated);
        if (rc != 0) {
            mdm_cli_error("resolve loopback: writing the registry failed (%s); run as an "
                          "administrator",
                          mdm_strerror(rc));
            return MDM_EXIT_FAILURE;
        }
    }
    printf("Done; the previous values are in %s/%s (mdmhealth resolve loopback --undo).\n"
           "Restart IIS (iisreset) or the server for the change to take effect.\n",
           cfg->state_dir, UNDO_FILE);
    return MDM_EXIT_OK;
}

/*
 * With ldap-bind-dn but no ldap-password-file, --apply asks the password on
 * the terminal (echo off; never from argv or the configuration) and wipes it
 * after use; without a terminal it refuses (exit 2: a configuration to
 * complete). The dry run asks nothing: it reads the directory with the OS's
 * implicit identity and says that --apply will ask.
 */
static int resolve_ad_group(const struct mdm_config *cfg, bool apply)
{
    struct mdm_diag_options opt;
    struct mdm_err err;
    char report[REPORT_MAX];
    char password[MDM_OS_SECRET_LINE_MAX + 1];
    char prompt[MDM_ERR_MSG_MAX];
    int status, rc;

    password[0] = '\0';
    mdm_diag_options_from_config(cfg, &opt);
    mdm_err_clear(&err);
    if (opt.ldap_bind_dn != NULL && opt.ldap_password_file == NULL && !apply) {
        printf("ldap-password-file is not set: with --apply the password for %s is asked on the "
               "terminal. This dry run reads the directory with %s.\n",
               opt.ldap_bind_dn, mdm_ldap_implicit_bind());
        opt.ldap_bind_dn = NULL;
    } else if (opt.ldap_bind_dn != NULL && opt.ldap_password_file == NULL) {
        snprintf(prompt, sizeof(prompt), "LDAP password for %s: ", opt.ldap_bind_dn);
        rc = mdm_os_read_secret(prompt, password, sizeof(password), &err);
        if (rc == MDM_ENOTFOUND) {
            mdm_cli_error("resolve ad-group: ldap-bind-dn is set but ldap-password-file is not, "
                          "and standard input is not a terminal to ask the password on: set "
                          "ldap-password-file or run interactively (nothing was changed)");
            status = MDM_EXIT_USAGE;
            goto out;
        }
        if (rc == 0 && password[0] == '\0')
            rc = mdm_err_set(&err, MDM_EINVAL, "the password is empty");
        if (rc != 0) {
            mdm_cli_error("resolve ad-group: no password for %s: %s (nothing was changed)",
                          opt.ldap_bind_dn, err.msg);
            status = MDM_EXIT_FAILURE;
            goto out;
        }
        opt.ldap_password = password;
    }
    if (mdm_ldap_add_member(&opt, apply, report, sizeof(report), &err) != 0) {
        mdm_cli_error("resolve ad-group: %s", err.msg);
        status = MDM_EXIT_FAILURE;
        goto out;
    }
    fputs(report, stdout);
    if (report[0] != '\0' && report[strlen(report) - 1] != '\n')
        putchar('\n');
    if (!apply)
        printf("Dry run: nothing changed (add --apply).\n");
    status = MDM_EXIT_OK;
out:
    mdm_wipe(password, sizeof(password));
    return status;
}

int mdm_cmd_resolve(int argc, char **argv)
{
    const char *what = NULL, *cfg_path = NULL;
    bool apply = false, undo = false, disable_check = false;
    struct mdm_config *cfg = NULL;
    struct mdm_pack *pack = NULL;
    int status;

    for (int i = 1; i < argc; i++) {
        if (mdm_cli_config_arg(argc, argv, &i, &cfg_path))
            continue;
        else if (strcmp(argv[i], "--apply") == 0)
            apply = true;
        else if (strcmp(argv[i], "--undo") == 0)
            undo = true;
        else if (strcmp(argv[i], "--disable-check") == 0)
            disable_check = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf(resolve_usage, mdm_fs_default_config_path());
            return MDM_EXIT_OK;
        } else if (what == NULL && argv[i][0] != '-')
            what = argv[i];
        else {
            mdm_cli_error("resolve: unexpected argument \"%s\" (see mdmhealth resolve --help)",
                          argv[i]);
            return MDM_EXIT_USAGE;
        }
    }
    if (what == NULL || (strcmp(what, "loopback") != 0 && strcmp(what, "ad-group") != 0)) {
        mdm_cli_error("resolve: say which resolver: loopback or ad-group (see --help)");
        return MDM_EXIT_USAGE;
    }
    if ((undo || disable_check) && strcmp(what, "loopback") != 0) {
        mdm_cli_error("resolve: --undo and --disable-check belong to resolve loopback");
        return MDM_EXIT_USAGE;
    }
    if (mdm_cli_load(cfg_path, NULL, &cfg, &pack) != 0)
        return MDM_EXIT_USAGE;
    status = strcmp(what, "loopback") == 0 ? resolve_loopback(cfg, disable_check, apply, undo)
                                           : resolve_ad_group(cfg, apply);
    mdm_pack_free(pack);
    mdm_config_free(cfg);
    return status;
}

/*
 * diagnose.c - `mdmhealth diagnose`: run the knowledge article's checks now
 * and print the checks and the diagnosis (a report, or one JSON document).
 */
#include "agent/cli/cli.h"

#include "agent/diag/diag.h"
#include "agent/os/mdm_fs.h"
#include "agent/common/mdm_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char diagnose_usage[] =
    "usage: mdmhealth diagnose [-c FILE] [--json] [--explain] [--timeout SECONDS]\n"
    "\n"
    "Runs the Enrollment Connection checks of the knowledge article now, from this\n"
    "computer: name resolution and ICMP echo of the Enrollment Server (by address\n"
    "and by name), the loopback address, the default gateway and the DNS servers;\n"
    "HTTPS (TCP + TLS) on the Enrollment Server admin port and the DM server admin\n"
    "port; the SCMDM Enrollment services; membership of this computer account in\n"
    "the SCMDM 2008 AD group; the loopback check. Then it names the diagnosis and\n"
    "its resolver from the management pack's table.\n"
    "\n"
    "  -c, --config FILE   configuration (default %s if it exists)\n"
    "  --json              one JSON document: {\"checks\":[...],\"diagnoses\":[...]}\n"
    "  --explain           print the knowledge-article steps for each diagnosis\n"
    "  --timeout SECONDS   per check (default 5)\n"
    "\n"
    "Exit status: 0 the checks ran (whatever they found), 1 runtime failure, 2 usage\n"
    "or configuration error.\n";

void mdm_diag_options_from_config(const struct mdm_config *cfg, struct mdm_diag_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->enrollment_server = cfg->enrollment_server;
    opt->enrollment_address = cfg->enrollment_address;
    opt->dm_server = cfg->dm_server;
    opt->ports[0] = cfg->enrollment_ports[0];
    opt->ports[1] = cfg->enrollment_ports[1];
    opt->ad_group = cfg->ad_group;
    opt->ldap_uri = cfg->ldap_uri;
    opt->ldap_base = cfg->ldap_base;
    opt->computer_dn = cfg->computer_dn;
    opt->ldap_bind_dn = cfg->ldap_bind_dn;
    opt->ldap_password_file = cfg->ldap_password_file;
    opt->timeout_ms = MDM_DIAG_TIMEOUT_MS_DEFAULT;
    opt->skip = cfg->diag_skip;
}

int mdm_diag_report_json(const struct mdm_diag_report *r, struct mdm_buf *b)
{
    int rc = mdm_buf_adds(b, "{\"checks\":[");

    for (size_t i = 0; rc == 0 && i < r->check_count; i++) {
        const struct mdm_check_result *c = &r->checks[i];
        rc = mdm_buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
        if (rc == 0)
            rc = mdm_json_add_string(b, c->name);
        if (rc == 0)
            rc = mdm_buf_printf(b,
                                ",\"status\":\"%s\",\"detail\":", mdm_check_status_name(c->status));
        if (rc == 0)
            rc = mdm_json_add_string(b, c->detail);
        if (rc == 0)
            rc = mdm_buf_printf(b, ",\"duration_ms\":%" PRId64 "}", c->duration_ms);
    }
    if (rc == 0)
        rc = mdm_buf_adds(b, "],\"diagnoses\":[");
    for (size_t i = 0; rc == 0 && i < r->diagnosis_count; i++) {
        const struct mdm_diagnosis *d = &r->diagnoses[i];
        rc = mdm_buf_adds(b, i ? ",{\"diagnosis\":" : "{\"diagnosis\":");
        if (rc == 0)
            rc = mdm_json_add_string(b, d->diagnosis);
        if (rc == 0)
            rc = mdm_buf_adds(b, ",\"resolver\":");
        if (rc == 0)
            rc = mdm_json_add_string(b, d->resolver);
        if (rc == 0)
            rc = mdm_buf_adds(b, ",\"because\":");
        if (rc == 0)
            rc = mdm_json_add_string(b, d->because);
        if (rc == 0)
            rc = mdm_buf_adds(b, "}");
    }
    if (rc == 0)
        rc = mdm_buf_adds(b, "]}\n");
    return rc;
}

static void print_report(const struct mdm_diag_report *r, bool explain)
{
    printf("%-22s %-6s %8s  %s\n", "CHECK", "STATUS", "TIME", "DETAIL");
    for (size_t i = 0; i < r->check_count; i++) {
        const struct mdm_check_result *c = &r->checks[i];
        printf("%-22s %-6s %6" PRId64 "ms  %s\n", c->name, mdm_check_status_name(c->status),
               c->duration_ms, c->detail);
    }
    printf("\n");
    if (r->diagnosis_count == 0) {
        printf("Diagnosis: none - no check points to a cause from the management pack's table.\n");
        return;
    }
    for (size_t i = 0; i < r->diagnosis_count; i++) {
        const struct mdm_diagnosis *d = &r->diagnoses[i];
        printf("Diagnosis: %s\n  because: %s\n  resolver: %s\n", d->diagnosis, d->because,
               d->resolver);
        if (explain)
            printf("\n%s\n", mdm_diag_explain(d->id));
    }
}

int mdm_cmd_diagnose(int argc, char **argv)
{
    const char *cfg_path = NULL;
    bool json = false, explain = false;
    int timeout_s = MDM_DIAG_TIMEOUT_MS_DEFAULT / 1000;
    struct mdm_config *cfg = NULL;
    struct mdm_pack *pack = NULL;
    struct mdm_diag_options opt;
    struct mdm_diag_report report;
    struct mdm_buf out;
    int status;

    for (int i = 1; i < argc; i++) {
        if (mdm_cli_config_arg(argc, argv, &i, &cfg_path)) {
            continue; /* -c FILE */
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--explain") == 0) {
            explain = true;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%d", &timeout_s) != 1 || timeout_s < 1 || timeout_s > 300) {
                mdm_cli_error("diagnose: --timeout takes 1 to 300 seconds");
                return MDM_EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf(diagnose_usage, mdm_fs_default_config_path());
            return MDM_EXIT_OK;
        } else {
            mdm_cli_error("diagnose: unexpected argument \"%s\" (see mdmhealth diagnose --help)",
                          argv[i]);
            return MDM_EXIT_USAGE;
        }
    }
    if (mdm_cli_load(cfg_path, NULL, &cfg, &pack) != 0)
        return MDM_EXIT_USAGE;
    mdm_diag_options_from_config(cfg, &opt);
    opt.timeout_ms = timeout_s * 1000;
    if (mdm_diag_run(&opt, &report) != 0) {
        mdm_cli_error("diagnose: cannot start the checks (out of memory or threads)");
        status = MDM_EXIT_FAILURE;
        goto out;
    }
    if (json) {
        mdm_buf_init(&out, 1024 * 1024);
        if (mdm_diag_report_json(&report, &out) != 0) {
            mdm_cli_error("diagnose: out of memory");
            mdm_buf_free(&out);
            status = MDM_EXIT_FAILURE;
            goto out;
        }
        fputs(mdm_buf_str(&out), stdout);
        mdm_buf_free(&out);
    } else {
        print_report(&report, explain);
    }
    status = MDM_EXIT_OK;
out:
    mdm_pack_free(pack);
    mdm_config_free(cfg);
    return status;
}

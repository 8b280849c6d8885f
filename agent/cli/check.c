/*
 * check.c - `mdmhealth check`: validate the configuration and the management
 * pack without running anything; errors are printed as FILE:LINE: message.
 */
#include "agent/cli/cli.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"
#include "agent/snmp/mdm_snmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char check_usage[] =
    "usage: mdmhealth check [-c FILE] [--pack FILE]... [--strict]\n"
    "       mdmhealth check --directives\n"
    "\n"
    "Validates the configuration (default %s) and the management packs it names\n"
    "(or the --pack files, loaded together as one set), then prints what the agent\n"
    "would monitor: every monitor loaded, every monitor skipped (FILE:LINE, ID,\n"
    "type, reason) with a summary by reason, and every monitor override.\n"
    "\n"
    "  --strict   a skipped monitor or an override that cannot be applied is an\n"
    "             error (as with `pack-strict yes`)\n"
    "  --directives  list mdmhealth's own configuration directives and exit\n"
    "\n"
    "Exit status: 0 valid (skipped monitors are warnings); 2 an error, printed as\n"
    "FILE:LINE: message.\n";

/* `check --directives`: the table of our directives, one per line. */
static void print_directives(void)
{
    for (size_t i = 0; i < mdm_config_directive_count; i++) {
        const struct mdm_config_directive_info *d = &mdm_config_directives[i];
        printf("%-25s %-26s %-6s %s%s\n", d->name, d->args, d->part, d->help,
               d->repeatable ? " (repeatable)" : "");
    }
    printf("\nThe Net-SNMP directives (trap2sink, trapsess, agentaddress, rouser, ...) are\n"
           "listed in docs/configuration.md.\n");
}

static void print_detector(const char *label, const struct mdm_detector *d)
{
    printf("    %s: log \"%s\", computer %s -> %s (operational state %s)\n", label, d->log_name,
           d->computer.text, mdm_health_name(d->health), d->state_id ? d->state_id : "?");
}

static void print_monitor(const struct mdm_monitor_def *def)
{
    printf("  %s  (%s:%ld)\n", def->id, def->origin, def->line);
    if (def->display_name != NULL)
        printf("    name: %s\n", def->display_name);
    for (size_t d = 0; d < def->detector_count; d++)
        print_detector(d == 0   ? "first "
                       : d == 1 ? "second"
                       : d == 2 ? "third "
                                : "fourth",
                       &def->detectors[d]);
    if (def->detectors[0].condition == MDM_CONDITION_CONSOLIDATOR)
        printf("    repeated: %u match(es) within %lld s (%s)\n", def->detectors[0].repeat_count,
               (long long)(def->detectors[0].repeat_interval_ms / 1000),
               def->detectors[0].count_mode == MDM_COUNT_SLIDING ? "sliding" : "window restart");
    if (def->reset == MDM_RESET_TIMER)
        printf("    reset: timer, %lld s -> %s (operational state %s)\n",
               (long long)(def->timer_ms / 1000), mdm_health_name(def->reset_health),
               def->reset_state_id ? def->reset_state_id : "?");
    else if (def->reset == MDM_RESET_MANUAL)
        printf("    reset: manual (mdm_engine_reset) -> %s (operational state %s)\n",
               mdm_health_name(def->reset_health), def->reset_state_id ? def->reset_state_id : "?");
    if (!def->alert_generate) {
        printf("    alert: none (no <AlertSettings>)\n");
        return;
    }
    printf("    alert: on %s%s, severity %s, priority %s, auto-resolve %s\n",
           mdm_health_name(def->alert_on_state),
           def->alert_on_state == MDM_HEALTH_WARNING ? " or error" : "",
           def->severity_matches_health ? "matches health" : mdm_severity_name(def->severity),
           mdm_priority_name(def->priority), def->auto_resolve ? "yes" : "no");
    printf("    alert text: \"%s\" / \"%s\"\n", def->alert_name ? def->alert_name : "",
           def->alert_description ? def->alert_description : "(the event description)");
}

/*
 * Validates the Net-SNMP directives as `run` would read them (Net-SNMP's own
 * parsers: trapsess options, createUser, rouser...). Net-SNMP words its
 * errors "FILE: line N: Error: message"; they are printed as FILE:N: message
 * like every other configuration error. Returns 0 or an exit status.
 */
static int check_snmp_lines(const struct mdm_config *cfg)
{
    struct mdm_err err;
    const char *msg, *at;
    char *end;
    unsigned long line;
    int rc;

    mdm_err_clear(&err);
    rc = mdm_snmp_check(cfg, &err);
    if (rc == 0)
        return MDM_EXIT_OK;
    msg = err.msg;
    at = strstr(msg, ": line ");
    line = at ? strtoul(at + 7, &end, 10) : 0;
    if (at != NULL && line > 0 && end[0] == ':' && end[1] == ' ') {
        end += 2;
        if (strncmp(end, "Error: ", 7) == 0)
            end += 7;
        mdm_cli_error("%.*s:%lu: %s", (int)(at - msg), msg, line, end);
    } else {
        mdm_cli_error("%s: %s", cfg->path, msg);
    }
    return rc == MDM_EINVAL ? MDM_EXIT_USAGE : MDM_EXIT_FAILURE;
}

/* Prints the pack set: each file's counts, the skips, the overrides, the summary. */
static int print_pack_report(const struct mdm_config *cfg, const struct mdm_cli_packs *packs,
                             const struct mdm_pack *pack)
{
    const char *const *paths = packs->count ? packs->paths : (const char *const *)cfg->pack_paths;
    size_t npaths = packs->count ? packs->count : cfg->pack_count;
    struct mdm_buf b;
    int rc = 0;

    /* The report of a pack set (skips, overrides) is capped at 64 MiB. */
    mdm_buf_init(&b, 64u * 1024u * 1024u);
    for (size_t f = 0; f < (npaths ? npaths : 1); f++) {
        const char *file = npaths ? paths[f] : pack->origin;
        size_t loaded = 0, skipped = 0;
        for (size_t m = 0; m < pack->monitor_count; m++)
            loaded += strcmp(pack->monitors[m].origin, file) == 0;
        for (size_t m = 0; m < pack->skip_count; m++)
            skipped += strcmp(pack->skips[m].file, file) == 0;
        printf("%s: OK, %zu unit monitor(s) loaded, %zu skipped\n", file, loaded, skipped);
    }
    for (size_t i = 0; rc == 0 && i < pack->skip_count; i++)
        rc = mdm_pack_format_skip(&pack->skips[i], &b);
    for (size_t i = 0; rc == 0 && i < pack->override_count; i++)
        rc = mdm_pack_format_override(&pack->overrides[i], &b);
    if (rc == 0 && pack->other_override_count > 0)
        rc = mdm_buf_printf(&b,
                            "%zu override(s) of rules, discoveries or other elements: not used "
                            "by mdmhealth\n",
                            pack->other_override_count);
    if (rc == 0)
        rc = mdm_buf_adds(&b, "packs: ");
    if (rc == 0)
        rc = mdm_pack_format_summary(pack, true, &b);
    if (rc == 0)
        fwrite(b.data, 1, b.len, stdout);
    mdm_buf_free(&b);
    return rc;
}

int mdm_cmd_check(int argc, char **argv)
{
    const char *cfg_path = NULL;
    const char **pack_paths = NULL;
    struct mdm_cli_packs packs = {NULL, 0, false};
    struct mdm_config *cfg = NULL;
    struct mdm_pack *pack = NULL;
    int status = MDM_EXIT_USAGE;

    pack_paths = mdm_calloc((size_t)argc + 1, sizeof(*pack_paths));
    if (pack_paths == NULL) {
        mdm_cli_error("out of memory");
        return MDM_EXIT_FAILURE;
    }
    packs.paths = pack_paths;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf(check_usage, mdm_fs_default_config_path());
            status = MDM_EXIT_OK;
            goto out;
        } else if (strcmp(a, "--directives") == 0) {
            print_directives();
            status = MDM_EXIT_OK;
            goto out;
        } else if (mdm_cli_config_arg(argc, argv, &i, &cfg_path)) {
            continue; /* -c FILE */
        } else if (strcmp(a, "--pack") == 0 && i + 1 < argc) {
            pack_paths[packs.count++] = argv[++i];
        } else if (strcmp(a, "--strict") == 0) {
            packs.strict = true;
        } else {
            mdm_cli_error("check: unknown argument or missing value: %s (see mdmhealth check "
                          "--help)",
                          a);
            goto out;
        }
    }
    if (mdm_cli_load_packs(cfg_path, &packs, &cfg, &pack) != 0)
        goto out;
    if (cfg->path != NULL && cfg->snmp_line_count > 0) {
        int snmp_status = check_snmp_lines(cfg);
        if (snmp_status != MDM_EXIT_OK) {
            status = snmp_status;
            goto out;
        }
    }
    if (cfg->path != NULL)
        printf("%s: OK\n", cfg->path);
    else
        printf("no configuration file (%s does not exist): built-in defaults\n",
               mdm_fs_default_config_path());
    printf("  channel: %s\n", cfg->channel);
    if (cfg->has_source)
        printf("  source: %s %s\n",
               cfg->source_kind == MDM_SOURCE_EVTX
                   ? "evtx"
                   : (cfg->source_kind == MDM_SOURCE_XML ? "xml" : "xml-follow"),
               cfg->source_path);
    for (size_t i = 0; i < cfg->target_count; i++)
        printf("  target: %s\n", cfg->targets[i]);
    printf("  state-dir: %s\n", cfg->state_dir);
    printf("  enrollment-server: %s, ports %u %u\n",
           cfg->enrollment_server ? cfg->enrollment_server : "(not set)", cfg->enrollment_ports[0],
           cfg->enrollment_ports[1]);
    printf("  ad-group: %s\n", cfg->ad_group);
    if (cfg->diag_interval > 0)
        printf("  diag-interval: %u s (re-diagnosis while a monitor is in error)\n",
               cfg->diag_interval);
    else
        printf("  diag-interval: off (diagnosis once per alert)\n");
    printf("  notification-backoff-max: %u s (longest wait between delivery attempts)\n",
           cfg->notify_backoff_max);
    if (cfg->snmp_line_count > 0)
        printf("  %zu SNMP directive(s) for the agent\n", cfg->snmp_line_count);
    else
        printf("  no SNMP directives: no notifications are sent and no SNMP access exists\n");
    if (print_pack_report(cfg, &packs, pack) != 0) {
        mdm_cli_error("out of memory");
        status = MDM_EXIT_FAILURE;
        goto out;
    }
    for (size_t m = 0; m < pack->monitor_count; m++)
        print_monitor(&pack->monitors[m]);
    status = MDM_EXIT_OK;
out:
    mdm_pack_free(pack);
    mdm_config_free(cfg);
    mdm_free(pack_paths);
    return status;
}

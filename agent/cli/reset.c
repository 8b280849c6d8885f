/*
 * reset.c - `mdmhealth reset MONITOR [TARGET]`: SCOM's "Reset Health" for a
 * monitor of the running agent. For the manual-reset monitor types this is
 * the only way back to healthy; for the others the monitor goes healthy
 * until its next unhealthy event. The request reaches the agent through its
 * state directory (control.h); the agent applies it like an event (state
 * saved, notifications sent) and answers with what changed.
 */
#include "agent/cli/cli.h"
#include "agent/cli/control.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_os.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char reset_usage[] =
    "usage: mdmhealth reset [-c FILE] [--timeout SECONDS] MONITOR [TARGET]\n"
    "\n"
    "Resets the health of MONITOR (its ID, as `mdmhealth check` lists it) in the\n"
    "running agent, on TARGET (a computer name) or on every target: SCOM's \"Reset\n"
    "Health\". A manual-reset monitor returns to the state its reset names; any\n"
    "other monitor becomes healthy until its next unhealthy event. The agent\n"
    "saves the change and sends the notifications as for an event; timers and\n"
    "windows of the monitor are cleared.\n"
    "\n"
    "The request goes through the agent's state directory (the configuration's\n"
    "state-dir), so it needs write access there (the service account or an\n"
    "administrator), not SNMP write access. An SNMPv3 SET of mdmMonitorReset does\n"
    "the same remotely (docs/mib.md).\n"
    "\n"
    "  --timeout SECONDS  how long to wait for the agent to take the request\n"
    "                     (default 10); a request no agent took is withdrawn\n"
    "\n"
    "Exit status: 0 reset done (or already in that state); 1 the agent refused or\n"
    "no agent took the request; 2 usage, configuration, or no such monitor.\n";

#define RESET_DEFAULT_TIMEOUT_S 10
#define RESET_POLL_MS           50

/* Waits up to timeout_ms for the answer to id; 0 with status/text, or MDM_ENOTFOUND. */
static int wait_answer(const char *state_dir, const char *id, int64_t timeout_ms, int *status,
                       char *text, size_t size)
{
    int64_t deadline = mdm_os_monotonic_ms() + timeout_ms;

    for (;;) {
        if (mdm_control_read_answer(state_dir, id, status, text, size) == 0)
            return 0;
        if (mdm_os_monotonic_ms() >= deadline)
            return MDM_ENOTFOUND;
        mdm_os_sleep_ms(RESET_POLL_MS);
    }
}

int mdm_cmd_reset(int argc, char **argv)
{
    const char *cfg_path = NULL, *monitor = NULL, *target = NULL;
    struct mdm_config *cfg = NULL;
    struct mdm_pack *pack = NULL;
    struct mdm_control_request req;
    struct mdm_err err;
    char text[MDM_CONTROL_TEXT_MAX];
    long timeout_s = RESET_DEFAULT_TIMEOUT_S;
    int64_t deadline;
    int status = 0, rc = MDM_EXIT_USAGE, i;
    size_t m;
    bool known = false;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s", reset_usage);
            return MDM_EXIT_OK;
        } else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            char *end;

            timeout_s = strtol(argv[++i], &end, 10);
            if (*end != '\0' || timeout_s < 1 || timeout_s > 3600) {
                mdm_cli_error("--timeout: \"%s\" is not a number of seconds from 1 to 3600",
                              argv[i]);
                return MDM_EXIT_USAGE;
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            mdm_cli_error("reset: unknown option \"%s\"\n%s", argv[i], reset_usage);
            return MDM_EXIT_USAGE;
        } else if (monitor == NULL) {
            monitor = argv[i];
        } else if (target == NULL) {
            target = argv[i];
        } else {
            mdm_cli_error("reset: too many arguments\n%s", reset_usage);
            return MDM_EXIT_USAGE;
        }
    }
    if (monitor == NULL) {
        mdm_cli_error("reset: which monitor?\n%s", reset_usage);
        return MDM_EXIT_USAGE;
    }
    if (mdm_cli_load_packs(cfg_path, NULL, &cfg, &pack) != 0)
        return MDM_EXIT_USAGE;
    /* Refuse a typo here rather than wait for the agent to say the same. */
    for (m = 0; m < pack->monitor_count && !known; m++)
        known = strcmp(pack->monitors[m].id, monitor) == 0;
    if (!known) {
        mdm_cli_error("reset: no monitor \"%s\" among the %zu the agent evaluates "
                      "(`mdmhealth check` lists them)",
                      monitor, pack->monitor_count);
        goto out;
    }
    memset(&req, 0, sizeof(req));
    req.action = MDM_CONTROL_RESET;
    mdm_control_new_id(req.id, sizeof(req.id));
    if (strlen(monitor) >= sizeof(req.monitor) ||
        (target != NULL && strlen(target) >= sizeof(req.target))) {
        mdm_cli_error("reset: monitor or target name too long");
        goto out;
    }
    snprintf(req.monitor, sizeof(req.monitor), "%s", monitor);
    snprintf(req.target, sizeof(req.target), "%s", target ? target : "");

    rc = MDM_EXIT_FAILURE;
    deadline = mdm_os_monotonic_ms() + (int64_t)timeout_s * 1000;
    mdm_err_clear(&err);
    while ((i = mdm_control_submit(cfg->state_dir, &req, &err)) == MDM_EAGAIN &&
           mdm_os_monotonic_ms() < deadline)
        mdm_os_sleep_ms(RESET_POLL_MS);
    if (i != 0) {
        mdm_cli_error("reset: %s", err.msg);
        goto out;
    }
    if (wait_answer(cfg->state_dir, req.id, deadline - mdm_os_monotonic_ms(), &status, text,
                    sizeof(text)) != 0) {
        if (mdm_control_withdraw(cfg->state_dir, req.id) == 0) {
            mdm_cli_error("reset: no agent took the request within %ld s (is `mdmhealth run` or "
                          "the service running with state directory %s?); nothing was reset",
                          timeout_s, cfg->state_dir);
            goto out;
        }
        /* Claimed at the last moment: the answer follows. */
        if (wait_answer(cfg->state_dir, req.id, (int64_t)timeout_s * 1000, &status, text,
                        sizeof(text)) != 0) {
            mdm_cli_error("reset: the agent took the request but did not answer within %ld s; "
                          "see its log",
                          timeout_s);
            goto out;
        }
    }
    if (status != 0) {
        mdm_cli_error("reset: %s", text);
        rc = status == MDM_ENOTFOUND ? MDM_EXIT_USAGE : MDM_EXIT_FAILURE;
        goto out;
    }
    printf("%s\n", text);
    rc = MDM_EXIT_OK;
out:
    mdm_pack_free(pack);
    mdm_config_free(cfg);
    return rc;
}

/*
 * run.c - `mdmhealth run`: the agent's life (start, the loop, stop) and its
 * command line; also the Windows service's main function.
 *
 * One loop (mdm_loop.h) owns everything and is the one place the agent
 * waits: on the signal pipe, the sources' wake-up descriptors (inotify for
 * xml-follow, the subscription's signal on Windows), Net-SNMP's sockets, the
 * diagnoser's wake-up, and the timers (source retries, state-save retries,
 * periodic diagnosis, notification back-off, Net-SNMP's deadlines, the
 * engine's deadlines), so an idle agent uses no CPU. Every turn of the loop
 * (turn_prepare) reads a bounded batch from the sources and evaluates it,
 * fires the engine's timers due by now once the sources have nothing more
 * ready, saves the state, and delivers what the saved outbox holds, in that order
 * (the ConfirmDelivery rule, run_state.c); its parts live in:
 *
 *   run_sources.c      the event sources: open, retry, read, evaluate
 *   run_state.c        the state file: extra lines, saving with retries, engines
 *   run_diag.c         the diagnoser: runs after alerts, periodic re-runs
 *   run_reload.c       SIGHUP / PARAMCHANGE: a new configuration, state kept
 *   run_snmp.c         Net-SNMP's select-info model on the loop, delivery timer
 *   run_engine_timer.c the engine's own deadlines (time-based monitors)
 */
#include "agent/cli/run_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_log.h"
#include "agent/os/mdm_os.h"
#include "agent/os/mdm_service.h"
#include "agent/os/mdm_signal.h"
#include "agent/common/mdm_text.h"
#include "agent/common/mdm_version.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char run_usage[] =
    "usage: mdmhealth run [-c FILE] [-f] [--debug] [--strict]\n"
    "\n"
    "Runs the agent: follows the configured event source, evaluates the management\n"
    "pack's monitors, sends mdmAlertRaised / mdmAlertResolved notifications to the\n"
    "configured destinations (trap2sink, informsink, trapsess) and answers SNMP\n"
    "requests for MDM-HEALTH-MIB (agentaddress, or agentXSocket as a subagent).\n"
    "\n"
    "  -c, --config FILE  configuration (default %s)\n"
    "  -f, --foreground   log to stderr (otherwise to syslog); the process never forks\n"
    "  --debug            also log debug messages\n"
    "  --strict           refuse packs holding monitors mdmhealth cannot evaluate\n"
    "  --service          (Windows) run under the Service Control Manager; the\n"
    "                     service installed by `mdmhealth service install` or the MSI\n"
    "\n"
    "Signals: SIGTERM / SIGINT stop after saving the state; SIGHUP reloads the\n"
    "configuration and the pack, keeping every monitor's state.\n"
    "Exit status: 0 stopped on request, 1 runtime failure, 2 usage or configuration error.\n";

/*
 * Test hook: the first N diagnoser runs end as if the diagnoser had failed
 * to produce a report (the report is dropped before the main loop sees it),
 * which otherwise only happens when memory runs out. Tests only.
 */
#define DIAG_DROP_REPORTS_ENV "MDM_TEST_DIAG_DROP_REPORTS"

static int parse_args(int argc, char **argv, const char **config, bool *foreground, bool *debug,
                      bool *service, bool *strict)
{
    for (int i = 1; i < argc; i++) {
        if (mdm_cli_config_arg(argc, argv, &i, config)) {
            continue; /* -c FILE */
        } else if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--foreground") == 0) {
            *foreground = true;
        } else if (strcmp(argv[i], "--debug") == 0) {
            *debug = true;
        } else if (strcmp(argv[i], "--strict") == 0) {
            *strict = true;
        } else if (strcmp(argv[i], "--service") == 0) {
            *service = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf(run_usage, mdm_fs_default_config_path());
            return 1;
        } else {
            mdm_cli_error("run: unexpected argument \"%s\" (see mdmhealth run --help)", argv[i]);
            return -1;
        }
    }
    return 0;
}

/* Signals (mdm_signal.h): stop ends the loop after this turn; reload replaces the configuration. */
static void on_signal(struct mdm_loop_io *io, void *ctx)
{
    struct agent *a = ctx;
    int got = mdm_signal_take();

    (void)io;
    if (got & MDM_SIGNAL_STOP)
        mdm_loop_stop(a->loop);
    else if (got & MDM_SIGNAL_RELOAD)
        mdm_run_reload(a);
}

/*
 * The start of every turn: read and evaluate a batch of events, fire the
 * engine's timers due by now (after the events: run_engine_timer.c), save
 * (durable, in the journal), then deliver what is durably queued, then write
 * the state file for readers (not needed for durability, and as slow as the
 * save on ext4: store.h); last, Net-SNMP's descriptors and deadline for the
 * wait.
 */
static void turn_prepare(struct mdm_loop *loop, void *ctx)
{
    struct agent *a = ctx;
    bool more = false;

    mdm_run_watch_sources(a);
    /* While the state cannot be saved, events stay unread in their log (run_state.c). */
    if (!a->save_failing && mdm_run_pump(a)) {
        more = true;
        mdm_loop_dont_wait(loop); /* more events are ready: read them in the next turn */
    }
    mdm_run_watch_sources(a); /* a source read may have failed and closed */
    /* The timers due by now, once every event written before them is evaluated. */
    if (!more)
        mdm_run_engine_advance(a);
    mdm_run_engine_timer_plan(a);
    if (mdm_snmp_outbox_changed())
        a->dirty = true;
    if (a->save_failing && !mdm_loop_timer_active(&a->save_timer))
        (void)mdm_run_save_state_ex(a, true); /* its retry could not be planned */
    else if (a->dirty)
        (void)mdm_run_save_state(a);
    mdm_run_deliver(a);
    mdm_run_publish_state(a); /* after the sends: not needed for durability (store.h) */
    mdm_run_snmp_prepare(a);
}

/* The end of every turn: Net-SNMP reads what arrived and does what is due. */
static void turn_check(struct mdm_loop *loop, void *ctx)
{
    (void)loop;
    mdm_run_snmp_process(ctx);
}

/* The loop was woken from another thread: the diagnoser finished a run. */
static void on_woken(struct mdm_loop *loop, void *ctx)
{
    (void)loop;
    mdm_run_take_diagnosis(ctx);
}

static int run_loop(struct agent *a)
{
    struct mdm_err err;

    mdm_err_clear(&err);
    mdm_loop_set_hooks(a->loop, turn_prepare, turn_check, on_woken, a);
    if (mdm_loop_io_start(&a->signal_io, mdm_signal_fd()) != 0) {
        mdm_log(MDM_LOG_ERROR, "cannot watch for stop and reload requests (out of memory)");
        return MDM_EXIT_FAILURE;
    }
    if (mdm_loop_run(a->loop, &err) != 0) {
        mdm_log(MDM_LOG_ERROR, "%s", err.msg);
        return MDM_EXIT_FAILURE;
    }
    mdm_run_wait_for_diagnoser(a);
    mdm_log(MDM_LOG_INFO, "stopping: saving the state");
    if (mdm_run_save_state_ex(a, true) != 0) {
        mdm_run_log_save_summary(a, "stopping");
        mdm_run_publish_state(a); /* an earlier save's, if any */
        return MDM_EXIT_FAILURE;
    }
    mdm_run_publish_state(a);
    return MDM_EXIT_OK;
}

struct run_options {
    const char *config;
    bool foreground, debug, strict;
};

/*
 * A start-up error (configuration, pack, state directory): to the agent's
 * log, and by mdm_log's rule to stderr as well while the agent starts and
 * its log is not stderr (a service has no stderr: there it is the Event Log
 * alone).
 */
static void start_error(const char *fmt, ...) MDM_PRINTF_FORMAT(1, 2);

static void start_error(const char *fmt, ...)
{
    char msg[MDM_ERR_MSG_MAX + 256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mdm_log(MDM_LOG_ERROR, "cannot start: %s", msg);
}

/*
 * Loads the configuration and the pack set for the start of the agent. On
 * failure the reason, and every skipped monitor when the set was refused
 * because of them (--strict, pack-strict), go where start_error sends them.
 */
static int load_at_start(struct agent *a)
{
    struct mdm_buf details;
    struct mdm_err err;
    const char *line, *end;
    int rc;

    mdm_err_clear(&err);
    mdm_buf_init(&details, 4u * 1024u * 1024u);
    rc = mdm_cli_load_packs_ex(a->config_path, &a->packs, &a->cfg, &a->pack, &err, &details);
    if (rc != 0) {
        start_error("%s", err.msg);
        for (line = details.data; line != NULL && *line != '\0'; line = *end ? end + 1 : end) {
            end = strchr(line, '\n');
            if (end == NULL)
                end = line + strlen(line);
            start_error("%.*s", (int)(end - line), line);
        }
    }
    mdm_buf_free(&details);
    return rc;
}

/* The agent's whole life; also the Windows service's main function. */
static int run_agent(void *ctx)
{
    const struct run_options *ro = ctx;
    struct agent a;
    struct mdm_snmp_options opt;
    struct mdm_err err;
    char persist[MDM_PATH_MAX];
    const char *drop;
    int rc, status = MDM_EXIT_FAILURE;

    memset(&a, 0, sizeof(a));
    mdm_err_clear(&err);
    mdm_event_init(&a.ev);
    a.config_path = ro->config ? ro->config : mdm_fs_default_config_path();
    /* The log first, so that a service reports a bad configuration where it can be read. */
    mdm_log_open(ro->foreground, ro->debug);
    a.packs.strict = ro->strict;
    if (load_at_start(&a) != 0) {
        mdm_log_close();
        return MDM_EXIT_USAGE;
    }
    mdm_cli_log_pack_summary(a.pack);
    if (mdm_loop_new(&a.loop, &err) != 0) {
        start_error("%s", err.msg);
        goto out;
    }
    mdm_loop_io_init(a.loop, &a.signal_io, on_signal, &a);
    mdm_run_state_timers_init(&a);
    mdm_run_diag_init(&a);
    mdm_run_snmp_init(&a);
    mdm_run_engine_timer_init(&a);
    drop = getenv(DIAG_DROP_REPORTS_ENV);
    a.diag_drop_reports = drop != NULL ? strtol(drop, NULL, 10) : 0;
    if ((size_t)snprintf(persist, sizeof(persist), "%s/snmp", a.cfg->state_dir) >=
        sizeof(persist)) {
        start_error("%s: the state directory name is too long", a.config_path);
        goto out;
    }
    if (mdm_fs_mkdirs(persist, &err) != 0) {
        start_error("%s: cannot create the state directory: %s", a.config_path, err.msg);
        goto out;
    }
    rc = mdm_outbox_init(&a.outbox, 0);
    if (rc != 0) {
        start_error("%s", mdm_strerror(rc));
        goto out;
    }
    if (mdm_run_new_engine(&a, a.cfg, a.pack, true, &a.engine, &err) != 0) {
        start_error("%s", err.msg);
        goto out;
    }
    if (mdm_run_build_sources(&a, a.cfg) != 0) {
        start_error("out of memory");
        goto out;
    }
    a.status.start_ms = mdm_os_now_ms();
    opt.config = a.cfg;
    opt.persist_dir = persist;
    opt.copy_dir = NULL;
    opt.foreground = ro->foreground;
    opt.check_only = false;
    opt.has_agentaddress = opt.has_agentx_socket = false;
    for (size_t i = 0; i < a.cfg->snmp_line_count; i++) {
        const char *d = a.cfg->snmp_lines[i].directive;
        opt.has_agentaddress = opt.has_agentaddress || mdm_ascii_iequal(d, "agentaddress");
        opt.has_agentx_socket = opt.has_agentx_socket || mdm_ascii_iequal(d, "agentXSocket");
    }
    if (mdm_signal_open(&err) != 0) {
        start_error("%s", err.msg);
        goto out;
    }
    if ((a.diag_lock = mdm_waitgroup_new()) == NULL) {
        start_error("out of memory");
        goto out_signals;
    }
    rc = mdm_snmp_start(&opt, a.engine, &a.status, &a.outbox, &err);
    if (rc != 0) {
        start_error("%s", err.msg);
        status = rc == MDM_EINVAL ? MDM_EXIT_USAGE : MDM_EXIT_FAILURE;
        goto out_signals;
    }
    mdm_notify_set_backoff_max(a.cfg->notify_backoff_max);
    mdm_log(MDM_LOG_INFO,
            "mdmhealth %s started: %zu monitor row(s), %zu notice(s) queued, "
            "state in %s",
            MDM_VERSION, mdm_engine_instance_count(a.engine), mdm_outbox_count(&a.outbox),
            a.cfg->state_dir);
    rc = 0;
    for (size_t i = 0; rc == 0 && i < a.source_count; i++)
        rc = mdm_run_open_source(&a, &a.sources[i], &err);
    if (rc == MDM_EUNSUPPORTED) {
        /* Not something waiting would fix: e.g. the Windows channel on Linux. */
        start_error("%s: %s", a.config_path, err.msg);
        status = MDM_EXIT_USAGE;
    } else {
        mdm_run_plan_periodic(&a); /* rows restored in error are re-diagnosed too */
        mdm_run_engine_timer_plan(&a);
        mdm_log_agent_started();
        status = run_loop(&a);
    }
    mdm_run_snmp_stop(&a);
    mdm_snmp_stop();
out_signals:
    mdm_loop_io_stop(&a.signal_io);
    mdm_signal_close();
out:
    mdm_run_free_sources(a.sources, a.source_count);
    mdm_run_free_saved(&a);
    mdm_waitgroup_free(a.diag_lock);
    mdm_free(a.diag_sent);
    mdm_event_free(&a.ev);
    mdm_engine_free(a.engine);
    mdm_outbox_free(&a.outbox);
    mdm_pack_free(a.pack);
    mdm_config_free(a.cfg);
    mdm_loop_free(a.loop); /* last: the sources' and the agent's timers were on it */
    mdm_log_close();
    return status;
}

int mdm_cmd_run(int argc, char **argv)
{
    struct run_options ro = {NULL, false, false, false};
    bool service = false;
    struct mdm_err err;
    int rc;

    mdm_err_clear(&err);
    rc = parse_args(argc, argv, &ro.config, &ro.foreground, &ro.debug, &service, &ro.strict);
    if (rc != 0)
        return rc > 0 ? MDM_EXIT_OK : MDM_EXIT_USAGE;
    if (!service)
        return run_agent(&ro);
    ro.foreground = false;
    rc = mdm_service_run(run_agent, &ro, &err);
    if (rc < 0) {
        mdm_cli_error("run --service: %s", err.msg);
        return MDM_EXIT_FAILURE;
    }
    return rc;
}

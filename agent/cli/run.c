/*
 * run.c - `mdmhealth run`: the agent.
 *
 * One main loop owns everything: it reads events from the configured source,
 * evaluates the monitors, queues a notice for every alert raised or resolved,
 * saves states + position + queued notices in one atomic write, and lets the
 * SNMP module deliver the notices and answer requests. It sleeps in select()
 * on the SNMP sockets, the source's wake-up descriptor (inotify for
 * xml-follow) and the signal pipe, so an idle agent uses no CPU.
 *
 * Order of work for each batch of events (the ConfirmDelivery rule of
 * DESIGN.md section 4): events are evaluated, their notices are put in the
 * outbox, then the state file (states, outbox, position after the batch) is
 * replaced atomically, and only then are notices sent. A kill before the
 * write re-reads the batch on restart from the old position and old states
 * (same transitions, no duplicate); a kill after it finds the notices queued
 * and sends them.
 */
#include "cli.h"

#include "mdm_alloc.h"
#include "mdm_fs.h"
#include "mdm_log.h"
#include "mdm_select.h"
#include "mdm_os.h"
#include "mdm_service.h"
#include "mdm_signal.h"
#include "mdm_thread.h"
#include "mdm_wakeup.h"
#include "mdm_snmp.h"
#include "mdm_text.h"
#include "mdm_version.h"
#include "outbox.h"
#include "source.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char run_usage[] =
    "usage: mdmhealth run [-c FILE] [-f] [--debug]\n"
    "\n"
    "Runs the agent: follows the configured event source, evaluates the management\n"
    "pack's monitors, sends mdmAlertRaised / mdmAlertResolved notifications to the\n"
    "configured destinations (trap2sink, informsink, trapsess) and answers SNMP\n"
    "requests for MDM-HEALTH-MIB (agentaddress, or agentXSocket as a subagent).\n"
    "\n"
    "  -c, --config FILE  configuration (default %s)\n"
    "  -f, --foreground   log to stderr (otherwise to syslog); the process never forks\n"
    "  --debug            also log debug messages\n"
    "  --service          (Windows) run under the Service Control Manager; the\n"
    "                     service installed by `mdmhealth service install` or the MSI\n"
    "\n"
    "Signals: SIGTERM / SIGINT stop after saving the state; SIGHUP reloads the\n"
    "configuration and the pack, keeping every monitor's state.\n"
    "Exit status: 0 stopped on request, 1 runtime failure, 2 usage or configuration error.\n";

#define PUMP_BATCH      512 /* events per loop turn, so SNMP stays responsive */
#define SOURCE_RETRY_MS 10000
#define SAVE_PATH_MAX   4096

struct agent {
    const char *config_path;
    struct mdm_config *cfg;
    struct mdm_pack *pack;
    struct mdm_engine *engine;
    struct mdm_outbox outbox;
    struct mdm_agent_status status;
    struct mdm_source *src;
    struct mdm_event ev;
    char position[MDM_SOURCE_POSITION_MAX];
    bool source_done;        /* xml / evtx read to the end, or failed for good */
    int64_t source_retry_at; /* monotonic ms; 0 = none */
    bool dirty;              /* state to save */

    /*
     * The diagnoser runs on its own thread after an alert is raised; its
     * report comes back through diag_done (under diag_lock) and a wake-up of
     * the loop. One run at a time; an alert during a run asks for another.
     */
    struct mdm_wakeup *wake;
    struct mdm_waitgroup *diag_lock;
    struct mdm_diag_report *diag_done; /* set by the diagnoser thread */
    bool diag_running;
    bool diag_again;
    struct mdm_notice diag_trigger; /* the alert the run is for */
    struct mdm_notice diag_next;    /* the latest alert raised during the run */
    bool diag_off_logged;
};

static int outbox_save_cb(void *ctx, struct mdm_buf *buf)
{
    return mdm_outbox_save(ctx, buf);
}

static int outbox_load_cb(void *ctx, char *line)
{
    return mdm_outbox_load_line(ctx, line);
}

static int ignore_line_cb(void *ctx, char *line)
{
    (void)ctx;
    (void)line;
    return 0;
}

static int save_state(struct agent *a)
{
    struct mdm_store_extra extra = {outbox_save_cb, NULL, &a->outbox};
    struct mdm_err err;
    int rc;

    rc = mdm_store_save_ex(a->cfg->state_dir, a->engine, a->position, &extra, &err);
    if (rc != 0) {
        mdm_log(MDM_LOG_ERROR, "cannot save the state: %s", err.msg);
        return rc;
    }
    a->dirty = false;
    return 0;
}

static const char *health_word(enum mdm_health h)
{
    return mdm_health_name(h);
}

/* Called on the diagnoser's thread when a run ends. */
static void diagnosis_done(struct mdm_diag_report *report, void *ctx)
{
    struct agent *a = ctx;

    mdm_waitgroup_lock(a->diag_lock);
    a->diag_done = report;
    mdm_waitgroup_signal(a->diag_lock);
    mdm_waitgroup_unlock(a->diag_lock);
    mdm_wakeup_post(a->wake);
}

static void start_diagnosis(struct agent *a)
{
    struct mdm_diag_options opt;

    mdm_diag_options_from_config(a->cfg, &opt);
    if (mdm_diag_start(&opt, diagnosis_done, a) != 0) {
        mdm_log(MDM_LOG_ERROR, "cannot start the diagnoser (out of memory or threads)");
        return;
    }
    a->diag_running = true;
    mdm_log(MDM_LOG_INFO, "diagnoser: checking why %s is in error", a->diag_trigger.target);
}

/*
 * An alert was raised: diagnose it (the knowledge article's checks), unless
 * no Enrollment Server is configured, in which case there is nothing the
 * checks could say about it.
 */
static void request_diagnosis(struct agent *a, const struct mdm_notice *alert)
{
    if (a->cfg->enrollment_server == NULL) {
        if (!a->diag_off_logged)
            mdm_log(MDM_LOG_INFO, "diagnoser: off (no enrollment-server in %s)", a->config_path);
        a->diag_off_logged = true;
        return;
    }
    if (a->diag_running) {
        a->diag_next = *alert;
        a->diag_again = true;
        return;
    }
    a->diag_trigger = *alert;
    start_diagnosis(a);
}

/* Main loop: publishes a finished run in mdmDiagTable and queues mdmDiagnosis. */
static void take_diagnosis(struct agent *a)
{
    struct mdm_diag_report *report;
    unsigned rows[MDM_CHECKS_MAX];
    struct mdm_notice n;

    mdm_waitgroup_lock(a->diag_lock);
    report = a->diag_done;
    a->diag_done = NULL;
    mdm_waitgroup_unlock(a->diag_lock);
    if (report == NULL)
        return;
    a->diag_running = false;
    mdm_snmp_set_diagnosis(a->diag_trigger.target, report, rows);
    n = a->diag_trigger;
    n.kind = MDM_NOTICE_DIAGNOSIS;
    for (size_t k = 0; k < report->diagnosis_count; k++) {
        const struct mdm_diagnosis *d = &report->diagnoses[k];
        for (size_t i = 0; i < report->check_count; i++) {
            if (strcmp(report->checks[i].name, d->check) != 0)
                continue;
            n.diag_row = rows[i];
            n.check_status = report->checks[i].status;
            mdm_utf8_copy(n.check, sizeof(n.check), report->checks[i].name);
            mdm_utf8_copy(n.detail, sizeof(n.detail), report->checks[i].detail);
        }
        mdm_utf8_copy(n.diagnosis, sizeof(n.diagnosis), d->diagnosis);
        mdm_utf8_copy(n.resolver, sizeof(n.resolver), d->resolver);
        mdm_log(MDM_LOG_WARNING, "diagnosis for %s: %s (%s); resolver: %s", n.target, d->diagnosis,
                d->because, d->resolver);
        mdm_outbox_push(&a->outbox, &n);
    }
    if (report->diagnosis_count == 0 && report->check_count > 0) {
        /* No cause from the table: report the first check that did not pass. */
        size_t i = 0;
        while (i + 1 < report->check_count && report->checks[i].status == MDM_CHECK_PASS)
            i++;
        n.diag_row = rows[i];
        n.check_status = report->checks[i].status;
        mdm_utf8_copy(n.check, sizeof(n.check), report->checks[i].name);
        mdm_utf8_copy(n.detail, sizeof(n.detail), report->checks[i].detail);
        n.diagnosis[0] = n.resolver[0] = '\0';
        mdm_log(MDM_LOG_WARNING,
                "diagnosis for %s: none of the knowledge article's causes "
                "found (see mdmDiagTable or mdmhealth diagnose)",
                n.target);
        mdm_outbox_push(&a->outbox, &n);
    }
    mdm_free(report);
    a->dirty = true;
    if (a->diag_again) {
        a->diag_again = false;
        a->diag_trigger = a->diag_next;
        start_diagnosis(a);
    }
}

static int on_transition(const struct mdm_transition *t, void *ctx)
{
    struct agent *a = ctx;
    struct mdm_notice n;

    mdm_log(MDM_LOG_INFO, "%s: %s: %s -> %s%s (event %u, record %llu)", t->target,
            t->def->display_name ? t->def->display_name : t->def->id, health_word(t->from),
            health_word(t->to),
            t->alert == MDM_ALERT_RAISED     ? ", alert raised"
            : t->alert == MDM_ALERT_RESOLVED ? ", alert resolved"
            : t->alert == MDM_ALERT_UPDATED  ? ", alert updated"
                                             : "",
            (unsigned)mdm_event_display_number(t->event), (unsigned long long)t->event->record_id);
    if (t->alert == MDM_ALERT_NONE)
        return 0;
    memset(&n, 0, sizeof(n));
    n.kind = t->alert == MDM_ALERT_RESOLVED ? MDM_NOTICE_RESOLVED : MDM_NOTICE_RAISED;
    n.row = t->instance->index;
    n.health = t->to;
    n.severity = t->severity;
    n.priority = t->priority;
    n.event_id = mdm_event_display_number(t->event);
    n.record_id = t->event->record_id;
    n.time_ms = t->event->time_unix_ms;
    mdm_utf8_copy(n.monitor, sizeof(n.monitor), t->def->id);
    mdm_utf8_copy(n.target, sizeof(n.target), t->target);
    mdm_utf8_copy(n.description, sizeof(n.description), t->description ? t->description : "");
    mdm_outbox_push(&a->outbox, &n);
    if (t->alert == MDM_ALERT_RAISED)
        request_diagnosis(a, &n);
    return 0;
}

static void set_source_detail(struct agent *a, enum mdm_source_state state, const char *detail)
{
    a->status.source_state = state;
    mdm_utf8_copy(a->status.source_detail, sizeof(a->status.source_detail), detail);
}

/* The configured portable source, or else the Windows channel (EvtSubscribe). */
static enum mdm_source_kind source_kind(const struct agent *a)
{
    return a->cfg->has_source ? a->cfg->source_kind : MDM_SOURCE_CHANNEL;
}

static const char *source_path(const struct agent *a)
{
    return a->cfg->has_source ? a->cfg->source_path : a->cfg->channel;
}

/*
 * Opens the event source and resumes at the saved position. A source that
 * cannot be opened now is retried every SOURCE_RETRY_MS. Returns 0, or
 * MDM_EUNSUPPORTED when this build cannot read that kind of source at all
 * (then err_out says why).
 */
static int open_source(struct agent *a, struct mdm_err *err_out)
{
    struct mdm_err err;
    char detail[256];
    int rc;

    rc = mdm_source_open(&a->src, source_kind(a), source_path(a), &err);
    if (rc == MDM_EUNSUPPORTED) {
        a->src = NULL;
        if (err_out != NULL)
            *err_out = err;
        return rc;
    }
    if (rc == 0 && a->position[0] != '\0') {
        rc = mdm_source_seek(a->src, a->position, &err);
        if (rc != 0) {
            mdm_log(MDM_LOG_WARNING, "cannot resume at %s (%s); reading from the start",
                    a->position, err.msg);
            mdm_source_close(a->src);
            a->src = NULL;
            a->position[0] = '\0';
            rc = mdm_source_open(&a->src, source_kind(a), source_path(a), &err);
        }
    }
    if (rc != 0) {
        a->src = NULL;
        a->source_retry_at = mdm_os_monotonic_ms() + SOURCE_RETRY_MS;
        if (a->status.source_state != MDM_SOURCE_RETRYING)
            mdm_log(MDM_LOG_WARNING, "event source: %s; retrying every %d s", err.msg,
                    SOURCE_RETRY_MS / 1000);
        set_source_detail(a, MDM_SOURCE_RETRYING, err.msg);
        return 0;
    }
    a->source_retry_at = 0;
    snprintf(detail, sizeof(detail), "%s %s", a->src->ops->name, source_path(a));
    set_source_detail(a, MDM_SOURCE_RUNNING, detail);
    mdm_log(MDM_LOG_INFO, "event source: %s%s%s", detail, a->position[0] ? ", resuming at " : "",
            a->position);
    return 0;
}

/* Reads up to one batch of events. Returns true when more may be ready at once. */
static bool pump(struct agent *a)
{
    struct mdm_err err;
    bool progressed = false;
    int rc = 0;
    int i;

    for (i = 0; i < PUMP_BATCH; i++) {
        rc = mdm_source_next(a->src, &a->ev, &err);
        if (rc == 0) {
            a->status.events_read++;
            if (mdm_engine_process(a->engine, &a->ev, on_transition, a, &err) != 0)
                mdm_log(MDM_LOG_ERROR, "cannot evaluate an event: %s", err.msg);
        } else if (rc == MDM_EBADRECORD) {
            a->status.events_damaged++;
            mdm_log(MDM_LOG_WARNING, "%s", err.msg);
        } else {
            break;
        }
        mdm_source_position(a->src, a->position, sizeof(a->position));
        progressed = true;
    }
    if (rc == MDM_EOF && !a->source_done) {
        a->source_done = true;
        set_source_detail(a, MDM_SOURCE_STOPPED, "the input was read to its end");
        mdm_log(MDM_LOG_INFO,
                "event source: %s read to its end (use xml-follow to follow a "
                "growing file)",
                source_path(a));
    } else if (rc != 0 && rc != MDM_EOF && rc != MDM_EAGAIN && rc != MDM_EBADRECORD) {
        /*
         * The source broke (the Event Log service restarted, the file became
         * unreadable): reopen it later at the saved position, meanwhile
         * answering SNMP and showing the condition in mdmAgentSourceState.
         */
        mdm_log(MDM_LOG_ERROR, "event source failed: %s; reopening in %d s", err.msg,
                SOURCE_RETRY_MS / 1000);
        mdm_source_close(a->src);
        a->src = NULL;
        a->source_retry_at = mdm_os_monotonic_ms() + SOURCE_RETRY_MS;
        set_source_detail(a, MDM_SOURCE_RETRYING, err.msg);
    }
    a->status.events_matched = mdm_engine_stats(a->engine)->matched;
    a->status.resubscriptions = mdm_source_channel_resubscriptions();
    a->status.render_failures = mdm_source_channel_render_failures();
    if (progressed)
        a->dirty = true;
    return i == PUMP_BATCH;
}

/* Builds an engine for cfg/pack holding the saved states (outbox lines are skipped). */
static int new_engine(struct agent *a, struct mdm_config *cfg, struct mdm_pack *pack,
                      struct mdm_outbox *outbox, struct mdm_engine **out, struct mdm_err *err)
{
    struct mdm_engine *engine = NULL;
    struct mdm_store_extra extra = {NULL, outbox ? outbox_load_cb : ignore_line_cb,
                                    outbox ? (void *)outbox : NULL};
    char position[MDM_STORE_POSITION_MAX];
    size_t dropped = 0;
    int rc;

    rc = mdm_engine_new(pack, true, &engine, err);
    for (size_t t = 0; rc == 0 && t < cfg->target_count; t++)
        rc = mdm_engine_add_target(engine, cfg->targets[t], NULL);
    if (rc != 0) {
        mdm_engine_free(engine);
        return rc;
    }
    rc = mdm_store_load_ex(cfg->state_dir, engine, position, sizeof(position), &dropped, &extra,
                           err);
    if (rc == MDM_ENOTFOUND) {
        position[0] = '\0';
        rc = 0;
    }
    if (rc != 0) {
        mdm_engine_free(engine);
        return rc;
    }
    if (dropped > 0)
        mdm_log(MDM_LOG_INFO, "%zu saved row(s) belong to monitors no longer in the pack", dropped);
    if (outbox != NULL) {
        size_t len = strlen(position);
        if (len >= sizeof(a->position)) {
            /* Cutting it would resume at another record: not one of our positions. */
            mdm_log(MDM_LOG_WARNING,
                    "%s: the saved position is too long to be valid; reading from the start",
                    cfg->state_dir);
            len = 0;
        }
        memcpy(a->position, position, len);
        a->position[len] = '\0';
    }
    *out = engine;
    return 0;
}

static void reload(struct agent *a)
{
    struct mdm_config *cfg = NULL;
    struct mdm_pack *pack = NULL;
    struct mdm_engine *engine = NULL;
    struct mdm_err err;
    bool source_changed;

    mdm_log(MDM_LOG_INFO, "reloading %s", a->config_path);
    if (save_state(a) != 0 || mdm_cli_load(a->config_path, NULL, &cfg, &pack) != 0) {
        mdm_log(MDM_LOG_ERROR, "reload failed; the running configuration stays in force");
        return;
    }
    if (strcmp(cfg->state_dir, a->cfg->state_dir) != 0) {
        mdm_log(MDM_LOG_WARNING, "reload: state-dir changes take effect at the next start");
        mdm_free(cfg->state_dir);
        cfg->state_dir = mdm_strdup(a->cfg->state_dir);
    }
    if (cfg->state_dir == NULL || new_engine(a, cfg, pack, NULL, &engine, &err) != 0) {
        mdm_log(MDM_LOG_ERROR, "reload failed (%s); the running configuration stays in force",
                cfg->state_dir ? err.msg : "out of memory");
        mdm_pack_free(pack);
        mdm_config_free(cfg);
        return;
    }
    source_changed = cfg->has_source != a->cfg->has_source ||
                     (cfg->has_source && (cfg->source_kind != a->cfg->source_kind ||
                                          strcmp(cfg->source_path, a->cfg->source_path) != 0));
    mdm_snmp_set_engine(engine);
    mdm_engine_free(a->engine);
    mdm_pack_free(a->pack);
    mdm_config_free(a->cfg);
    a->engine = engine;
    a->pack = pack;
    a->cfg = cfg;
    if (source_changed) {
        mdm_source_close(a->src);
        a->src = NULL;
        a->position[0] = '\0';
        a->source_done = false;
        open_source(a, NULL);
        a->dirty = true;
    }
    mdm_snmp_reload();
    mdm_log(MDM_LOG_INFO, "reloaded: %zu monitor row(s), state kept",
            mdm_engine_instance_count(a->engine));
}

static int parse_args(int argc, char **argv, const char **config, bool *foreground, bool *debug,
                      bool *service)
{
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            *config = argv[++i];
        } else if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--foreground") == 0) {
            *foreground = true;
        } else if (strcmp(argv[i], "--debug") == 0) {
            *debug = true;
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

static int loop(struct agent *a)
{
    bool stop = false;
    bool more = false;

    while (!stop) {
        fd_set fds;
        int maxfd = -1, timeout = -1, ready, fd;
        struct timeval tv;

        if (a->src == NULL && a->source_retry_at != 0 &&
            mdm_os_monotonic_ms() >= a->source_retry_at)
            open_source(a, NULL);
        more = a->src != NULL && !a->source_done ? pump(a) : false;
        if (mdm_snmp_outbox_changed())
            a->dirty = true;
        if (a->dirty)
            save_state(a);
        mdm_snmp_deliver();
        /* Acknowledgements of traps are immediate: save them in this turn too. */
        if (mdm_snmp_outbox_changed() && save_state(a) != 0)
            a->dirty = true;

        FD_ZERO(&fds);
        fd = mdm_signal_fd();
        FD_SET(fd, &fds);
        maxfd = fd;
        fd = mdm_wakeup_fd(a->wake);
        FD_SET(fd, &fds);
        if (fd > maxfd)
            maxfd = fd;
        fd = a->src != NULL ? mdm_source_pollfd(a->src) : -1;
        if (fd >= 0) {
            FD_SET(fd, &fds);
            if (fd > maxfd)
                maxfd = fd;
        }
        if (more)
            timeout = 0;
        if (a->source_retry_at != 0) {
            int64_t wait = a->source_retry_at - mdm_os_monotonic_ms();
            int w = wait < 0 ? 0 : (int)wait;
            if (timeout < 0 || w < timeout)
                timeout = w;
        }
        mdm_snmp_prepare(&fds, &maxfd, &timeout);
        tv.tv_sec = timeout / 1000;
        tv.tv_usec = (timeout % 1000) * 1000;
        ready = select(maxfd + 1, &fds, NULL, NULL, timeout < 0 ? NULL : &tv);
        if (ready < 0) {
            if (errno != EINTR) {
                mdm_log(MDM_LOG_ERROR, "select: %s", strerror(errno));
                return MDM_EXIT_FAILURE;
            }
            FD_ZERO(&fds);
            ready = 0;
        }
        if (ready > 0 && FD_ISSET(mdm_signal_fd(), &fds)) {
            int got = mdm_signal_take();
            if (got & MDM_SIGNAL_STOP)
                stop = true;
            else if (got & MDM_SIGNAL_RELOAD)
                reload(a);
        }
        if (ready > 0 && FD_ISSET(mdm_wakeup_fd(a->wake), &fds)) {
            mdm_wakeup_drain(a->wake);
            take_diagnosis(a);
        }
        if (ready > 0 && a->src != NULL && (fd = mdm_source_pollfd(a->src)) >= 0 &&
            FD_ISSET(fd, &fds)) {
            mdm_log(MDM_LOG_DEBUG, "event source: woken");
            mdm_source_wait(a->src, 0); /* drains the notification; pump() reads */
        }
        mdm_snmp_process(&fds, ready);
    }
    if (a->diag_running) {
        /* The diagnoser thread reports into this agent: let it finish (bounded by its timeouts). */
        int64_t deadline = mdm_os_monotonic_ms() + 20000;
        mdm_log(MDM_LOG_INFO, "stopping: waiting for the diagnoser to finish");
        mdm_waitgroup_lock(a->diag_lock);
        while (a->diag_done == NULL && mdm_os_monotonic_ms() < deadline)
            mdm_waitgroup_wait(a->diag_lock, deadline);
        mdm_waitgroup_unlock(a->diag_lock);
        take_diagnosis(a);
    }
    mdm_log(MDM_LOG_INFO, "stopping: saving the state");
    return save_state(a) == 0 ? MDM_EXIT_OK : MDM_EXIT_FAILURE;
}

struct run_options {
    const char *config;
    bool foreground, debug;
};

/* The agent's whole life; also the Windows service's main function. */
static int run_agent(void *ctx)
{
    const struct run_options *ro = ctx;
    struct agent a;
    struct mdm_snmp_options opt;
    struct mdm_err err;
    char persist[SAVE_PATH_MAX];
    int rc, status = MDM_EXIT_FAILURE;

    memset(&a, 0, sizeof(a));
    mdm_event_init(&a.ev);
    a.config_path = ro->config ? ro->config : mdm_fs_default_config_path();
    if (mdm_cli_load(a.config_path, NULL, &a.cfg, &a.pack) != 0)
        return MDM_EXIT_USAGE;
    mdm_log_open(ro->foreground, ro->debug);
    if ((size_t)snprintf(persist, sizeof(persist), "%s/snmp", a.cfg->state_dir) >=
            sizeof(persist) ||
        mdm_fs_mkdirs(persist, &err) != 0) {
        mdm_cli_error("%s: cannot create the state directory %s", a.config_path, persist);
        goto out;
    }
    if (mdm_outbox_init(&a.outbox, 0) != 0 ||
        new_engine(&a, a.cfg, a.pack, &a.outbox, &a.engine, &err) != 0) {
        mdm_cli_error("%s", err.msg);
        goto out;
    }
    a.status.start_ms = mdm_os_now_ms();
    opt.config_path = a.config_path;
    opt.persist_dir = persist;
    opt.foreground = ro->foreground;
    opt.check_only = false;
    opt.has_agentaddress = opt.has_agentx_socket = false;
    for (size_t i = 0; i < a.cfg->snmp_line_count; i++) {
        const char *d = a.cfg->snmp_lines[i].directive;
        opt.has_agentaddress = opt.has_agentaddress || mdm_ascii_iequal(d, "agentaddress");
        opt.has_agentx_socket = opt.has_agentx_socket || mdm_ascii_iequal(d, "agentXSocket");
    }
    if (mdm_signal_open(&err) != 0) {
        mdm_cli_error("%s", err.msg);
        goto out;
    }
    if (mdm_wakeup_open(&a.wake, &err) != 0 || (a.diag_lock = mdm_waitgroup_new()) == NULL) {
        mdm_cli_error("%s", a.wake ? "out of memory" : err.msg);
        goto out_signals;
    }
    rc = mdm_snmp_start(&opt, a.engine, &a.status, &a.outbox, &err);
    if (rc != 0) {
        mdm_cli_error("%s", err.msg);
        status = rc == MDM_EINVAL ? MDM_EXIT_USAGE : MDM_EXIT_FAILURE;
        goto out_signals;
    }
    mdm_log(MDM_LOG_INFO,
            "mdmhealth %s started: %zu monitor row(s), %zu notice(s) queued, "
            "state in %s",
            MDM_VERSION, mdm_engine_instance_count(a.engine), mdm_outbox_count(&a.outbox),
            a.cfg->state_dir);
    if (open_source(&a, &err) == MDM_EUNSUPPORTED) {
        /* Not something waiting would fix: e.g. the Windows channel on Linux. */
        mdm_cli_error("%s: %s", a.config_path, err.msg);
        status = MDM_EXIT_USAGE;
    } else {
        status = loop(&a);
    }
    mdm_snmp_stop();
out_signals:
    mdm_signal_close();
out:
    mdm_source_close(a.src);
    mdm_wakeup_close(a.wake);
    mdm_waitgroup_free(a.diag_lock);
    mdm_event_free(&a.ev);
    mdm_engine_free(a.engine);
    mdm_outbox_free(&a.outbox);
    mdm_pack_free(a.pack);
    mdm_config_free(a.cfg);
    mdm_log_close();
    return status;
}

int mdm_cmd_run(int argc, char **argv)
{
    struct run_options ro = {NULL, false, false};
    bool service = false;
    struct mdm_err err;
    int rc;

    rc = parse_args(argc, argv, &ro.config, &ro.foreground, &ro.debug, &service);
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

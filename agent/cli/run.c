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
 *
 * When the state file cannot be written (disk full, read-only volume), no
 * notice is sent and no further event is read: a notice sent before it is
 * saved could be lost or repeated by a restart. The save is retried on a
 * timer (SAVE_RETRY_FIRST_MS doubling to SAVE_RETRY_MAX_MS), not on every
 * turn of the loop: each attempt creates and removes a temporary file next
 * to the state file, and when that directory is also the followed file's
 * directory the attempt itself wakes the loop (inotify), which used to make
 * a failed save retry, and log, in a tight loop. The failure is logged once
 * per cause; its repeats are counted and summed up when the cause changes,
 * every SAVE_SUMMARY_MS while it lasts, and when saving works again.
 *
 * Sources. With a portable `source` line the agent reads that one source.
 * Without one (Windows) it reads the event log channel of this computer and,
 * for each `target` line, the channel of that computer through a remote
 * session ("\\COMPUTER\CHANNEL"). Each source has its own position: the
 * local one is the state file's `position` line, a remote one a line
 * `source-position COMPUTER POSITION`. The loop reads every source in turn, a
 * bounded share of events each, so one busy log cannot starve the others,
 * and reopens a failed source after SOURCE_RETRY_MS without touching the
 * others.
 */
#include "agent/cli/cli.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_log.h"
#include "mdm_select.h"
#include "agent/os/mdm_os.h"
#include "agent/os/mdm_service.h"
#include "agent/os/mdm_signal.h"
#include "agent/os/mdm_thread.h"
#include "agent/os/mdm_wakeup.h"
#include "agent/snmp/mdm_snmp.h"
#include "agent/common/mdm_text.h"
#include "agent/common/mdm_version.h"
#include "agent/snmp/outbox.h"
#include "wevt/source.h"
#include "agent/engine/store.h"

#include <errno.h>
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

#define PUMP_BATCH       512 /* events per loop turn over all sources, so SNMP stays responsive */
#define PUMP_SHARE_MIN   16  /* events per source and loop turn, at least */
#define SOURCE_RETRY_MS  10000
#define SAVE_PATH_MAX    4096
#define POSITION_KEYWORD "source-position"

#define SAVE_RETRY_FIRST_MS 1000
#define SAVE_RETRY_MAX_MS   10000
#define SAVE_SUMMARY_MS     600000

/*
 * Test hook: the first N diagnoser runs end as if the diagnoser had failed
 * to produce a report (the report is dropped before the main loop sees it),
 * which otherwise only happens when memory runs out. Tests only.
 */
#define DIAG_DROP_REPORTS_ENV "MDM_TEST_DIAG_DROP_REPORTS"

/*
 * One event source of the agent. Source 0 is the portable source, or the
 * Windows channel of this computer; with the channel, sources 1.. read the
 * channel of each `target` computer.
 */
struct agent_source {
    char *computer; /* the target computer; NULL for source 0 */
    char *path;     /* as opened: a file, "CHANNEL" or "\\COMPUTER\CHANNEL" */
    enum mdm_source_kind kind;
    struct mdm_source *src;
    char position[MDM_SOURCE_POSITION_MAX]; /* after the last event evaluated */
    bool done;                              /* xml / evtx read to the end, or unsupported here */
    bool retrying;                          /* the last open or read failed (logged once) */
    int64_t retry_at;                       /* monotonic ms of the next open; 0 = at once */
    char error[200];                        /* why it is retrying */
};

/* A remote source's position read from the state file, until the sources are made. */
struct saved_position {
    char *computer;
    char position[MDM_SOURCE_POSITION_MAX];
};

struct agent {
    const char *config_path;
    struct mdm_cli_packs packs; /* none listed: the configuration's; strict from --strict */
    struct mdm_config *cfg;
    struct mdm_pack *pack;
    struct mdm_engine *engine;
    struct mdm_outbox outbox;
    struct mdm_agent_status status;
    struct mdm_event ev;
    struct agent_source *sources; /* source_count >= 1 once the agent runs */
    size_t source_count;
    size_t pump_next;                         /* the source read first in the next turn */
    char saved_main[MDM_SOURCE_POSITION_MAX]; /* positions from the state file */
    struct saved_position *saved;
    size_t saved_count;
    bool dirty; /* state to save */

    /* Saving the state fails (see the file comment): nothing is sent or read meanwhile. */
    bool save_failing;
    uint64_t save_failures;     /* attempts that failed since the condition began */
    uint64_t save_summarized;   /* ... of which the last summary line counted */
    int64_t save_failing_since; /* wall-clock ms of the first failure */
    int64_t save_retry_at;      /* monotonic ms of the next attempt */
    int64_t save_summary_at;    /* monotonic ms of the next summary line */
    int save_backoff_ms;
    char save_error[MDM_ERR_MSG_MAX]; /* the cause, as logged */

    /*
     * The diagnoser runs on its own thread after an alert is raised; its
     * report comes back through diag_done (under diag_lock) and a wake-up of
     * the loop. One run at a time; an alert during a run asks for another.
     */
    struct mdm_wakeup *wake;
    struct mdm_waitgroup *diag_lock;
    struct mdm_diag_report *diag_done; /* set by the diagnoser thread; NULL if it failed */
    bool diag_finished;                /* set by the diagnoser thread: the run ended */
    long diag_drop_reports;            /* DIAG_DROP_REPORTS_ENV */
    bool diag_running;
    bool diag_again;
    struct mdm_notice diag_trigger; /* the alert the run is for */
    struct mdm_notice diag_next;    /* the latest alert raised during the run */
    bool diag_off_logged;

    /*
     * diag-interval: while a row is in error (its alert open), the diagnoser
     * runs again cfg->diag_interval seconds after the end of the previous
     * run, at diag_periodic_at (monotonic ms; 0 = none planned). A run
     * notifies a row only when its set of diagnoses differs from the last one
     * sent for the row's alert, kept in diag_sent[row - 1]: 0 = nothing sent
     * yet, else DIAG_SENT | diagnosis_set(). The rows are those of the
     * engine; a reload keeps them (same pack, same rows), an alert raised or
     * resolved forgets the row's entry.
     */
    int64_t diag_periodic_at;
    bool diag_periodic;    /* the run under way is a periodic one */
    bool diag_periodic_on; /* periodic runs planned (logged when they start and stop) */
    unsigned char *diag_sent;
    size_t diag_sent_count;
};

#define DIAG_SENT 0x80u

/* The state file's extra lines: the outbox, then the positions of the remote sources. */
static int state_save_cb(void *ctx, struct mdm_buf *buf)
{
    struct agent *a = ctx;
    int rc = mdm_outbox_save(&a->outbox, buf);

    for (size_t i = 1; rc == 0 && i < a->source_count; i++) {
        const struct agent_source *s = &a->sources[i];
        if (s->computer == NULL || s->position[0] == '\0')
            continue;
        rc = mdm_buf_adds(buf, "\n" POSITION_KEYWORD " ");
        if (rc == 0)
            rc = mdm_store_escape(buf, s->computer);
        if (rc == 0)
            rc = mdm_buf_adds(buf, " ");
        if (rc == 0)
            rc = mdm_store_escape(buf, s->position);
    }
    return rc;
}

/* Takes "COMPUTER POSITION" (escaped) of a source-position line into a->saved. */
static int load_position_line(struct agent *a, char *rest)
{
    char *computer = rest, *position = strchr(rest, ' ');
    struct saved_position *grown;

    if (position == NULL)
        return MDM_EPARSE;
    *position++ = '\0';
    if (strchr(position, ' ') != NULL || mdm_store_unescape(computer) != 0 ||
        mdm_store_unescape(position) != 0 || computer[0] == '\0')
        return MDM_EPARSE;
    if (strlen(position) >= MDM_SOURCE_POSITION_MAX) {
        /* Cutting it would resume at another record: not one of our positions. */
        mdm_log(MDM_LOG_WARNING,
                "the saved position of %s is too long to be valid; reading its log from the start",
                computer);
        return 0;
    }
    if (a->saved_count >= MDM_CONFIG_TARGETS_MAX)
        return 0; /* more than a configuration can name: none of them is needed */
    grown = mdm_realloc(a->saved, (a->saved_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return MDM_ENOMEM;
    a->saved = grown;
    grown[a->saved_count].computer = mdm_strdup(computer);
    if (grown[a->saved_count].computer == NULL)
        return MDM_ENOMEM;
    memcpy(grown[a->saved_count].position, position, strlen(position) + 1);
    a->saved_count++;
    return 0;
}

static int state_load_cb(void *ctx, char *line)
{
    struct agent *a = ctx;

    if (strncmp(line, POSITION_KEYWORD " ", sizeof(POSITION_KEYWORD)) == 0)
        return load_position_line(a, line + sizeof(POSITION_KEYWORD));
    return mdm_outbox_load_line(&a->outbox, line);
}

static void free_saved(struct agent *a)
{
    for (size_t i = 0; i < a->saved_count; i++)
        mdm_free(a->saved[i].computer);
    mdm_free(a->saved);
    a->saved = NULL;
    a->saved_count = 0;
}

static int ignore_line_cb(void *ctx, char *line)
{
    (void)ctx;
    (void)line;
    return 0;
}

/* "HH:MM UTC" of a wall-clock time in ms since 1970 (the log's own time zone). */
static void format_hhmm(int64_t ms, char *out, size_t size)
{
    int64_t minutes = ms / 60000;

    snprintf(out, size, "%02d:%02d UTC", (int)(minutes / 60 % 24), (int)(minutes % 60));
}

/* Logs how often saving failed since the condition began (when there is news). */
static void log_save_summary(struct agent *a, const char *what)
{
    char since[16];

    if (a->save_failures == a->save_summarized)
        return;
    format_hhmm(a->save_failing_since, since, sizeof(since));
    mdm_log(MDM_LOG_ERROR, "%s: saving the state failed %llu times since %s", what,
            (unsigned long long)a->save_failures, since);
    a->save_summarized = a->save_failures;
}

/*
 * Saves the state file. While saving fails, an attempt is made only when the
 * retry timer is due, unless force (reload, stop). Returns 0, MDM_EAGAIN
 * when it is not time to retry yet, or the error of the failed save.
 */
static int save_state_ex(struct agent *a, bool force)
{
    struct mdm_store_extra extra = {state_save_cb, NULL, a};
    struct mdm_err err;
    int64_t now = mdm_os_monotonic_ms();
    int rc;

    if (a->save_failing && !force && now < a->save_retry_at)
        return MDM_EAGAIN;
    mdm_err_clear(&err);
    rc = mdm_store_save_ex(a->cfg->state_dir, a->engine,
                           a->source_count > 0 ? a->sources[0].position : a->saved_main, &extra,
                           &err);
    if (rc != 0) {
        if (!a->save_failing) {
            mdm_log(MDM_LOG_ERROR,
                    "cannot save the state: %s; no notification is sent and no event is read "
                    "until it can be saved (retrying)",
                    err.msg);
            a->save_failing = true;
            a->save_failures = a->save_summarized = 1;
            a->save_failing_since = mdm_os_now_ms();
            a->save_backoff_ms = SAVE_RETRY_FIRST_MS;
            a->save_summary_at = now + SAVE_SUMMARY_MS;
            mdm_utf8_copy(a->save_error, sizeof(a->save_error), err.msg);
        } else if (strcmp(a->save_error, err.msg) != 0) {
            /* Another cause: close the count of the old one, report the new one once. */
            log_save_summary(a, "cause changed");
            mdm_log(MDM_LOG_ERROR, "cannot save the state: %s (retrying)", err.msg);
            a->save_failures = a->save_summarized = 1;
            a->save_failing_since = mdm_os_now_ms();
            mdm_utf8_copy(a->save_error, sizeof(a->save_error), err.msg);
        } else {
            a->save_failures++;
            if (now >= a->save_summary_at) {
                log_save_summary(a, a->save_error);
                a->save_summary_at = now + SAVE_SUMMARY_MS;
            }
            a->save_backoff_ms *= 2;
            if (a->save_backoff_ms > SAVE_RETRY_MAX_MS)
                a->save_backoff_ms = SAVE_RETRY_MAX_MS;
        }
        a->save_retry_at = now + a->save_backoff_ms;
        return rc;
    }
    if (a->save_failing) {
        char since[16];
        format_hhmm(a->save_failing_since, since, sizeof(since));
        mdm_log(MDM_LOG_INFO,
                "the state is saved again (saving failed %llu times since %s); delivery and "
                "reading resume",
                (unsigned long long)a->save_failures, since);
        a->save_failing = false;
        a->save_failures = a->save_summarized = 0;
    }
    a->dirty = false;
    return 0;
}

static int save_state(struct agent *a)
{
    return save_state_ex(a, false);
}

static const char *health_word(enum mdm_health h)
{
    return mdm_health_name(h);
}

/* Called on the diagnoser's thread when a run ends. */
static void diagnosis_done(struct mdm_diag_report *report, void *ctx)
{
    struct agent *a = ctx;

    if (report != NULL && a->diag_drop_reports > 0) {
        /* DIAG_DROP_REPORTS_ENV: read only here, on the one diagnoser thread of a run. */
        a->diag_drop_reports--;
        mdm_free(report);
        report = NULL;
    }
    mdm_waitgroup_lock(a->diag_lock);
    a->diag_done = report;
    a->diag_finished = true;
    mdm_waitgroup_signal(a->diag_lock);
    mdm_waitgroup_unlock(a->diag_lock);
    mdm_wakeup_post(a->wake);
}

static void plan_periodic(struct agent *a);

/* Starts a run for a->diag_trigger, or with periodic a re-diagnosis of every row in error. */
static void start_diagnosis(struct agent *a, bool periodic)
{
    struct mdm_diag_options opt;

    mdm_diag_options_from_config(a->cfg, &opt);
    a->diag_periodic_at = 0;
    if (mdm_diag_start(&opt, diagnosis_done, a) != 0) {
        mdm_log(MDM_LOG_ERROR, "cannot start the diagnoser (out of memory or threads)");
        plan_periodic(a); /* with diag-interval, try again after it */
        return;
    }
    a->diag_running = true;
    a->diag_periodic = periodic;
    if (periodic)
        mdm_log(MDM_LOG_DEBUG, "diagnoser: periodic run (diag-interval %u s)",
                a->cfg->diag_interval);
    else
        mdm_log(MDM_LOG_INFO, "diagnoser: checking why %s is in error", a->diag_trigger.target);
}

/* True for a row in error: its alert is open (raised and not resolved yet). */
static bool row_in_error(const struct mdm_instance *inst)
{
    return inst->state.alert_active;
}

static size_t rows_in_error(struct agent *a)
{
    size_t n = 0, count = mdm_engine_instance_count(a->engine);

    for (size_t i = 0; i < count; i++)
        if (row_in_error(mdm_engine_instance(a->engine, i)))
            n++;
    return n;
}

/*
 * Plans the next periodic run after a run ended, a reload or a resolution:
 * interval seconds from now while some row is in error and no run is under
 * way (its end plans the next one); otherwise none.
 */
static void plan_periodic(struct agent *a)
{
    a->diag_periodic_at = 0;
    if (a->diag_running)
        return;
    if (a->cfg->diag_interval == 0 || a->cfg->enrollment_server == NULL) {
        if (a->diag_periodic_on)
            mdm_log(MDM_LOG_INFO, "diagnoser: periodic runs stop (diag-interval 0 or no "
                                  "enrollment-server)");
        a->diag_periodic_on = false;
        return;
    }
    if (rows_in_error(a) == 0) {
        if (a->diag_periodic_on)
            mdm_log(MDM_LOG_INFO, "diagnoser: no monitor row in error; periodic runs stop");
        a->diag_periodic_on = false;
        return;
    }
    a->diag_periodic_at = mdm_os_monotonic_ms() + (int64_t)a->cfg->diag_interval * 1000;
    if (!a->diag_periodic_on)
        mdm_log(MDM_LOG_INFO, "diagnoser: re-diagnosing every %u s while a monitor row is in error",
                a->cfg->diag_interval);
    a->diag_periodic_on = true;
}

/* The entry of diag_sent for row (1-based), grown as needed; NULL when out of memory. */
static unsigned char *sent_entry(struct agent *a, unsigned row)
{
    unsigned char *grown;

    if (row == 0)
        return NULL;
    if (row > a->diag_sent_count) {
        grown = mdm_realloc(a->diag_sent, row);
        if (grown == NULL)
            return NULL;
        memset(grown + a->diag_sent_count, 0, row - a->diag_sent_count);
        a->diag_sent = grown;
        a->diag_sent_count = row;
    }
    return &a->diag_sent[row - 1];
}

/* An alert of row was raised or resolved: what was sent for the old alert no longer counts. */
static void forget_sent(struct agent *a, unsigned row)
{
    if (row >= 1 && row <= a->diag_sent_count)
        a->diag_sent[row - 1] = 0;
}

/*
 * The set of diagnoses of a report as a bit mask of their ids: the ids are
 * the diagnosis / resolver name pairs (diag.h), 1..3, below DIAG_SENT.
 */
static unsigned diagnosis_set(const struct mdm_diag_report *r)
{
    unsigned set = 0;

    for (size_t k = 0; k < r->diagnosis_count; k++)
        set |= (1u << (unsigned)r->diagnoses[k].id) & ~DIAG_SENT;
    return set;
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
    start_diagnosis(a, false);
}

/*
 * Publishes a finished run for the alert n (a notice of that alert) in
 * mdmDiagTable, and queues mdmDiagnosis unless the set of diagnoses is the
 * one last sent for that alert. A periodic run logs a changed diagnosis at
 * info; an alert's first diagnosis is a warning, as it always was.
 */
static void publish_diagnosis(struct agent *a, struct mdm_notice n,
                              const struct mdm_diag_report *report, bool periodic)
{
    unsigned rows[MDM_CHECKS_MAX];
    unsigned set = DIAG_SENT | diagnosis_set(report);
    unsigned char *sent = sent_entry(a, n.row);
    enum mdm_log_level level = periodic ? MDM_LOG_INFO : MDM_LOG_WARNING;
    const char *changed;

    mdm_snmp_set_diagnosis(n.target, report, rows);
    if (sent != NULL && *sent == set) {
        mdm_log(MDM_LOG_DEBUG, "diagnosis for %s: unchanged (mdmDiagTable refreshed)", n.target);
        return;
    }
    changed = periodic && sent != NULL && *sent != 0 ? "changed, now " : "";
    if (sent != NULL)
        *sent = (unsigned char)set;
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
        mdm_log(level, "diagnosis for %s: %s%s (%s); resolver: %s", n.target, changed, d->diagnosis,
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
        mdm_log(level,
                "diagnosis for %s: %snone of the knowledge article's causes "
                "found (see mdmDiagTable or mdmhealth diagnose)",
                n.target, changed);
        mdm_outbox_push(&a->outbox, &n);
    }
}

/* The alert of a row in error as a notice, from the row's state (a periodic run's trigger). */
static void notice_of_row(struct agent *a, const struct mdm_instance *inst, struct mdm_notice *n)
{
    memset(n, 0, sizeof(*n));
    n->kind = MDM_NOTICE_RAISED;
    n->row = inst->index;
    n->health = inst->state.health;
    n->severity = inst->state.alert_severity;
    n->priority = inst->def->priority;
    n->event_id = inst->state.last_event_id;
    n->record_id = inst->state.last_record_id;
    n->time_ms = inst->state.last_change_ms;
    mdm_utf8_copy(n->monitor, sizeof(n->monitor), inst->def->id);
    mdm_utf8_copy(n->target, sizeof(n->target), mdm_engine_target(a->engine, inst->target));
    mdm_utf8_copy(n->description, sizeof(n->description), inst->state.last_description);
}

/*
 * Main loop: publishes a finished run. A run for an alert is published for
 * that alert; a periodic run for every row still in error.
 */
static void take_diagnosis(struct agent *a)
{
    struct mdm_diag_report *report;
    bool finished;

    mdm_waitgroup_lock(a->diag_lock);
    report = a->diag_done;
    finished = a->diag_finished;
    a->diag_done = NULL;
    a->diag_finished = false;
    mdm_waitgroup_unlock(a->diag_lock);
    if (!finished)
        return;
    /*
     * The run is over even when it produced no report (the diagnoser ran
     * out of memory): the next alert, or the next periodic run, starts a
     * new one.
     */
    a->diag_running = false;
    if (report == NULL) {
        mdm_log(MDM_LOG_ERROR,
                "diagnoser: the run for %s ended without a report (out of "
                "memory); the next alert is diagnosed again",
                a->diag_periodic ? "the rows in error" : a->diag_trigger.target);
    } else if (a->diag_periodic) {
        size_t count = mdm_engine_instance_count(a->engine);
        for (size_t i = 0; i < count; i++) {
            const struct mdm_instance *inst = mdm_engine_instance(a->engine, i);
            struct mdm_notice n;
            if (!row_in_error(inst))
                continue;
            notice_of_row(a, inst, &n);
            publish_diagnosis(a, n, report, true);
        }
    } else {
        publish_diagnosis(a, a->diag_trigger, report, false);
    }
    mdm_free(report);
    a->dirty = true;
    if (a->diag_again) {
        a->diag_again = false;
        a->diag_trigger = a->diag_next;
        start_diagnosis(a, false);
    }
    /* Measured from the end of this run (or of the alert's run just started). */
    plan_periodic(a);
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
    if (t->alert == MDM_ALERT_RAISED || t->alert == MDM_ALERT_RESOLVED)
        forget_sent(a, n.row);
    if (t->alert == MDM_ALERT_RAISED)
        request_diagnosis(a, &n);
    else if (t->alert == MDM_ALERT_RESOLVED && a->diag_periodic_at != 0 && rows_in_error(a) == 0)
        plan_periodic(a); /* the engine updated the row before this call: the runs stop */
    return 0;
}

static void set_source_detail(struct agent *a, enum mdm_source_state state, const char *detail)
{
    a->status.source_state = state;
    mdm_utf8_copy(a->status.source_detail, sizeof(a->status.source_detail), detail);
}

/*
 * mdmAgentSourceState / Detail over every source: retrying while any source
 * is (naming the first one's error), else stopped when source 0 was read to
 * its end, else running.
 */
static void update_status(struct agent *a)
{
    const struct agent_source *first = NULL, *s0 = &a->sources[0];
    size_t retrying = 0;
    char detail[256];

    for (size_t i = 0; i < a->source_count; i++)
        if (a->sources[i].retrying && retrying++ == 0)
            first = &a->sources[i];
    if (first != NULL) {
        if (retrying == 1)
            snprintf(detail, sizeof(detail), "%s", first->error);
        else
            snprintf(detail, sizeof(detail), "%s (and %zu more source(s) retrying)", first->error,
                     retrying - 1);
        set_source_detail(a, MDM_SOURCE_RETRYING, detail);
    } else if (s0->done) {
        set_source_detail(a, MDM_SOURCE_STOPPED, "the input was read to its end");
    } else {
        snprintf(detail, sizeof(detail), "%s %s", s0->src != NULL ? s0->src->ops->name : "",
                 s0->path);
        if (a->source_count > 1)
            snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), " and %zu target(s)",
                     a->source_count - 1);
        set_source_detail(a, MDM_SOURCE_RUNNING, detail);
    }
}

static void source_failed(struct agent *a, struct agent_source *s, const char *why)
{
    s->retry_at = mdm_os_monotonic_ms() + SOURCE_RETRY_MS;
    s->retrying = true;
    mdm_utf8_copy(s->error, sizeof(s->error), why);
    update_status(a);
}

/*
 * Opens source s and resumes at its position. A source that cannot be
 * opened now is retried every SOURCE_RETRY_MS, alone. Returns 0, or
 * MDM_EUNSUPPORTED when this build cannot read that kind of source at all
 * (then err_out, when not NULL, says why, and s is done).
 */
static int open_source(struct agent *a, struct agent_source *s, struct mdm_err *err_out)
{
    struct mdm_source *src = NULL;
    struct mdm_err err;
    int rc;

    rc = mdm_source_open(&src, s->kind, s->path, &err);
    if (rc == MDM_EUNSUPPORTED) {
        s->done = true;
        if (err_out != NULL)
            *err_out = err;
        else
            mdm_log(MDM_LOG_ERROR, "event source %s: %s", s->path, err.msg);
        return rc;
    }
    if (rc == 0 && s->position[0] != '\0') {
        rc = mdm_source_seek(src, s->position, &err);
        if (rc != 0) {
            mdm_log(MDM_LOG_WARNING, "%s: cannot resume at %s (%s); reading from the start",
                    s->path, s->position, err.msg);
            mdm_source_close(src);
            src = NULL;
            s->position[0] = '\0';
            rc = mdm_source_open(&src, s->kind, s->path, &err);
        }
    }
    if (rc != 0) {
        if (!s->retrying)
            mdm_log(MDM_LOG_WARNING, "event source: %s; retrying every %d s", err.msg,
                    SOURCE_RETRY_MS / 1000);
        source_failed(a, s, err.msg);
        return 0;
    }
    s->src = src;
    s->retry_at = 0;
    s->retrying = false;
    update_status(a);
    mdm_log(MDM_LOG_INFO, "event source: %s %s%s%s", src->ops->name, s->path,
            s->position[0] ? ", resuming at " : "", s->position);
    return 0;
}

static void free_sources(struct agent_source *set, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        mdm_source_close(set[i].src);
        mdm_free(set[i].computer);
        mdm_free(set[i].path);
    }
    mdm_free(set);
}

/*
 * Makes the agent's sources for cfg, none opened: source 0, then with the
 * channel one per `target` line. A source of the running set with the same
 * kind and path is taken over as it is (open, at its position); the others
 * resume at the position of the state file (a->saved_main, a->saved) and are
 * opened by the loop. Returns 0 or MDM_ENOMEM (the running set is kept).
 */
static int build_sources(struct agent *a, const struct mdm_config *cfg)
{
    size_t count = 1 + (cfg->has_source ? 0 : cfg->target_count);
    struct agent_source *set = mdm_calloc(count, sizeof(*set));

    if (set == NULL)
        return MDM_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        struct agent_source *s = &set[i];
        size_t len;
        if (i == 0) {
            s->kind = cfg->has_source ? cfg->source_kind : MDM_SOURCE_CHANNEL;
            s->path = mdm_strdup(cfg->has_source ? cfg->source_path : cfg->channel);
            if (s->path == NULL)
                goto nomem;
            continue;
        }
        s->kind = MDM_SOURCE_CHANNEL;
        s->computer = mdm_strdup(cfg->targets[i - 1]);
        len = strlen(cfg->targets[i - 1]) + strlen(cfg->channel) + 4;
        s->path = mdm_malloc(len);
        if (s->computer == NULL || s->path == NULL)
            goto nomem;
        snprintf(s->path, len, "\\\\%s\\%s", cfg->targets[i - 1], cfg->channel);
    }
    for (size_t i = 0; i < count; i++) {
        struct agent_source *s = &set[i];
        bool taken = false;
        for (size_t j = 0; j < a->source_count && !taken; j++) {
            struct agent_source *old = &a->sources[j];
            if (old->path == NULL || old->kind != s->kind || strcmp(old->path, s->path) != 0)
                continue;
            s->src = old->src;
            memcpy(s->position, old->position, sizeof(s->position));
            s->done = old->done;
            s->retrying = old->retrying;
            s->retry_at = old->retry_at;
            memcpy(s->error, old->error, sizeof(s->error));
            old->src = NULL;
            mdm_free(old->path);
            old->path = NULL; /* taken */
            taken = true;
        }
        if (taken)
            continue;
        if (i == 0) {
            memcpy(s->position, a->saved_main, sizeof(s->position));
            continue;
        }
        for (size_t j = 0; j < a->saved_count; j++)
            if (mdm_ascii_iequal(a->saved[j].computer, s->computer))
                memcpy(s->position, a->saved[j].position, sizeof(s->position));
    }
    free_sources(a->sources, a->source_count);
    a->sources = set;
    a->source_count = count;
    a->pump_next = 0;
    /* Positions of the state file are for the first set only: later ones are in memory. */
    free_saved(a);
    a->saved_main[0] = '\0';
    return 0;
nomem:
    free_sources(set, count);
    return MDM_ENOMEM;
}

/* Reads up to budget events of source s. Returns true when more may be ready at once. */
static bool pump_source(struct agent *a, struct agent_source *s, int budget)
{
    struct mdm_err err;
    bool progressed = false;
    int rc = 0;
    int i;

    for (i = 0; i < budget; i++) {
        rc = mdm_source_next(s->src, &a->ev, &err);
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
        /* Evaluated and its notices queued: the next save may move past it. */
        mdm_source_position(s->src, s->position, sizeof(s->position));
        progressed = true;
    }
    if (rc == MDM_EOF && !s->done) {
        s->done = true;
        update_status(a);
        mdm_log(MDM_LOG_INFO,
                "event source: %s read to its end (use xml-follow to follow a "
                "growing file)",
                s->path);
    } else if (rc != 0 && rc != MDM_EOF && rc != MDM_EAGAIN && rc != MDM_EBADRECORD) {
        /*
         * The source broke (the Event Log service restarted, the file became
         * unreadable, a remote computer went away): reopen it later at its
         * saved position, meanwhile reading the other sources, answering SNMP
         * and showing the condition in mdmAgentSourceState.
         */
        mdm_log(MDM_LOG_ERROR, "event source failed: %s; reopening in %d s", err.msg,
                SOURCE_RETRY_MS / 1000);
        mdm_source_close(s->src);
        s->src = NULL;
        source_failed(a, s, err.msg);
    }
    if (progressed)
        a->dirty = true;
    return i == budget;
}

/*
 * Reads every open source in turn, a share of PUMP_BATCH events each (at
 * least PUMP_SHARE_MIN), starting one further each turn. Returns true when
 * some source may have more ready at once.
 */
static bool pump(struct agent *a)
{
    size_t n = a->source_count;
    int share = (int)(PUMP_BATCH / n);
    bool more = false;

    if (share < PUMP_SHARE_MIN)
        share = PUMP_SHARE_MIN;
    for (size_t k = 0; k < n; k++) {
        struct agent_source *s = &a->sources[(a->pump_next + k) % n];
        if (s->src != NULL && !s->done && pump_source(a, s, share))
            more = true;
    }
    a->pump_next = (a->pump_next + 1) % n;
    a->status.events_matched = mdm_engine_stats(a->engine)->matched;
    /* Process-wide counters: already the sum over every channel source. */
    a->status.resubscriptions = mdm_source_channel_resubscriptions();
    a->status.render_failures = mdm_source_channel_render_failures();
    return more;
}

/*
 * Builds an engine for cfg/pack holding the saved states. With restore, the
 * outbox and the positions are taken from the state file too (a->outbox,
 * a->saved_main, a->saved); otherwise their lines are skipped.
 *
 * With a portable source the `target` lines restrict which computers are
 * evaluated. With the Windows channel the targets are this computer plus the
 * `target` lines, each read from its own log, so every computer whose events
 * arrive becomes a target of its own.
 */
static int new_engine(struct agent *a, struct mdm_config *cfg, struct mdm_pack *pack, bool restore,
                      struct mdm_engine **out, struct mdm_err *err)
{
    struct mdm_engine *engine = NULL;
    struct mdm_store_extra extra = {NULL, restore ? state_load_cb : ignore_line_cb,
                                    restore ? (void *)a : NULL};
    char position[MDM_STORE_POSITION_MAX];
    size_t dropped = 0;
    int rc;

    rc = mdm_engine_new(pack, true, &engine, err);
    for (size_t t = 0; rc == 0 && cfg->has_source && t < cfg->target_count; t++)
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
    if (rc == MDM_EPARSE && restore) {
        /*
         * A damaged state file never blocks the start (store.h): it is moved
         * aside and reported, and what it restored so far is dropped with it.
         */
        struct mdm_err aside_err;
        bool moved = mdm_store_set_aside(cfg->state_dir, err->msg, NULL, 0, &aside_err) == 0;
        mdm_engine_free(engine);
        engine = NULL;
        free_saved(a);
        a->saved_main[0] = '\0';
        mdm_outbox_free(&a->outbox);
        if (mdm_outbox_init(&a->outbox, 0) != 0)
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        if (moved)
            return new_engine(a, cfg, pack, restore, out, err);
        rc = mdm_engine_new(pack, true, &engine, err);
        for (size_t t = 0; rc == 0 && cfg->has_source && t < cfg->target_count; t++)
            rc = mdm_engine_add_target(engine, cfg->targets[t], NULL);
        position[0] = '\0';
    }
    if (rc != 0) {
        mdm_engine_free(engine);
        return rc;
    }
    if (dropped > 0)
        mdm_log(MDM_LOG_INFO, "%zu saved row(s) belong to monitors no longer in the pack", dropped);
    if (restore) {
        size_t len = strlen(position);
        if (len >= sizeof(a->saved_main)) {
            /* Cutting it would resume at another record: not one of our positions. */
            mdm_log(MDM_LOG_WARNING,
                    "%s: the saved position is too long to be valid; reading from the start",
                    cfg->state_dir);
            len = 0;
        }
        memcpy(a->saved_main, position, len);
        a->saved_main[len] = '\0';
    }
    *out = engine;
    return 0;
}

static void reload(struct agent *a)
{
    char persist[SAVE_PATH_MAX];
    struct mdm_config *cfg = NULL;
    struct mdm_pack *pack = NULL;
    struct mdm_engine *engine = NULL;
    struct mdm_err err;

    mdm_log(MDM_LOG_INFO, "reloading %s", a->config_path);
    if (save_state_ex(a, true) != 0) {
        mdm_log(MDM_LOG_ERROR, "reload failed: the state cannot be saved; the running "
                               "configuration stays in force");
        return;
    }
    /* The reason goes to the log (the Event Log of a service), not to stderr. */
    mdm_err_clear(&err);
    if (mdm_cli_load_packs_ex(a->config_path, &a->packs, &cfg, &pack, &err, NULL) != 0) {
        mdm_log(MDM_LOG_ERROR, "reload failed (%s); the running configuration stays in force",
                err.msg);
        return;
    }
    if (strcmp(cfg->state_dir, a->cfg->state_dir) != 0) {
        mdm_log(MDM_LOG_WARNING, "reload: state-dir changes take effect at the next start");
        mdm_free(cfg->state_dir);
        cfg->state_dir = mdm_strdup(a->cfg->state_dir);
    }
    if (cfg->state_dir == NULL || new_engine(a, cfg, pack, false, &engine, &err) != 0) {
        mdm_log(MDM_LOG_ERROR, "reload failed (%s); the running configuration stays in force",
                cfg->state_dir ? err.msg : "out of memory");
        mdm_pack_free(pack);
        mdm_config_free(cfg);
        return;
    }
    /*
     * Sources whose kind and path stay are kept open at their positions; new
     * ones start from the beginning of their log and are opened by the loop.
     */
    if (build_sources(a, cfg) != 0) {
        mdm_log(MDM_LOG_ERROR, "reload failed (out of memory); the running configuration stays "
                               "in force");
        mdm_engine_free(engine);
        mdm_pack_free(pack);
        mdm_config_free(cfg);
        return;
    }
    update_status(a);
    a->dirty = true;
    mdm_snmp_set_engine(engine);
    mdm_engine_free(a->engine);
    mdm_pack_free(a->pack);
    mdm_config_free(a->cfg);
    a->engine = engine;
    a->pack = pack;
    a->cfg = cfg;
    /* Net-SNMP gets the lines just checked, in STATE-DIR/snmp as at the start. */
    if ((size_t)snprintf(persist, sizeof(persist), "%s/snmp", a->cfg->state_dir) >= sizeof(persist))
        mdm_log(MDM_LOG_ERROR, "reload: the SNMP lines are not applied: the state directory "
                               "name is too long");
    else if (mdm_snmp_reload(a->cfg, persist, &err) != 0)
        mdm_log(MDM_LOG_ERROR, "reload: the SNMP lines are not applied: %s", err.msg);
    mdm_notify_set_backoff_max(a->cfg->notify_backoff_max);
    /* A changed diag-interval counts from now; a run under way plans the next at its end. */
    plan_periodic(a);
    mdm_log(MDM_LOG_INFO, "reloaded: %zu monitor row(s), state kept",
            mdm_engine_instance_count(a->engine));
}

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

static int loop(struct agent *a)
{
    bool stop = false;
    bool more = false;

    while (!stop) {
        fd_set fds;
        int maxfd = -1, timeout = -1, ready, fd;
        struct timeval tv;

        int64_t now = mdm_os_monotonic_ms();
        for (size_t i = 0; i < a->source_count; i++) {
            struct agent_source *s = &a->sources[i];
            if (s->src == NULL && !s->done && now >= s->retry_at)
                open_source(a, s, NULL);
        }
        /* While the state cannot be saved, events stay unread in their log (see the top). */
        more = a->save_failing ? false : pump(a);
        if (a->diag_periodic_at != 0 && !a->diag_running && now >= a->diag_periodic_at) {
            if (rows_in_error(a) > 0)
                start_diagnosis(a, true);
            else
                plan_periodic(a);
        }
        if (mdm_snmp_outbox_changed())
            a->dirty = true;
        if (a->dirty)
            save_state(a);
        /* Only what is durably queued is sent (ConfirmDelivery). */
        if (!a->dirty && !a->save_failing) {
            mdm_snmp_deliver();
            /* Acknowledgements of traps are immediate: save them in this turn too. */
            if (mdm_snmp_outbox_changed() && save_state(a) != 0)
                a->dirty = true;
        }

        FD_ZERO(&fds);
        fd = mdm_signal_fd();
        FD_SET(fd, &fds);
        maxfd = fd;
        fd = mdm_wakeup_fd(a->wake);
        FD_SET(fd, &fds);
        if (fd > maxfd)
            maxfd = fd;
        if (more)
            timeout = 0;
        now = mdm_os_monotonic_ms();
        for (size_t i = 0; i < a->source_count; i++) {
            struct agent_source *s = &a->sources[i];
            fd = s->src != NULL ? mdm_source_pollfd(s->src) : -1;
            if (fd >= 0) {
                FD_SET(fd, &fds);
                if (fd > maxfd)
                    maxfd = fd;
            }
            if (s->src == NULL && !s->done) {
                int64_t wait = s->retry_at - now;
                int w = wait < 0 ? 0 : wait > 3600000 ? 3600000 : (int)wait;
                if (timeout < 0 || w < timeout)
                    timeout = w;
            }
        }
        if (a->diag_periodic_at != 0 && !a->diag_running) {
            int64_t wait = a->diag_periodic_at - now;
            int w = wait < 0 ? 0 : wait > 3600000 ? 3600000 : (int)wait;
            if (timeout < 0 || w < timeout)
                timeout = w;
        }
        if (a->save_failing) {
            int64_t wait = a->save_retry_at - now;
            int w = wait < 0 ? 0 : wait > SAVE_RETRY_MAX_MS ? SAVE_RETRY_MAX_MS : (int)wait;
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
        for (size_t i = 0; ready > 0 && i < a->source_count; i++) {
            struct agent_source *s = &a->sources[i];
            if (s->src != NULL && (fd = mdm_source_pollfd(s->src)) >= 0 && FD_ISSET(fd, &fds)) {
                mdm_log(MDM_LOG_DEBUG, "event source %s: woken", s->path);
                mdm_source_wait(s->src, 0); /* drains the notification; pump() reads */
            }
        }
        mdm_snmp_process(&fds, ready);
    }
    if (a->diag_running) {
        /* The diagnoser thread reports into this agent: let it finish (bounded by its timeouts). */
        int64_t deadline = mdm_os_monotonic_ms() + 20000;
        mdm_log(MDM_LOG_INFO, "stopping: waiting for the diagnoser to finish");
        mdm_waitgroup_lock(a->diag_lock);
        while (!a->diag_finished && mdm_os_monotonic_ms() < deadline)
            mdm_waitgroup_wait(a->diag_lock, deadline);
        mdm_waitgroup_unlock(a->diag_lock);
        take_diagnosis(a);
    }
    mdm_log(MDM_LOG_INFO, "stopping: saving the state");
    if (save_state_ex(a, true) != 0) {
        log_save_summary(a, "stopping");
        return MDM_EXIT_FAILURE;
    }
    return MDM_EXIT_OK;
}

struct run_options {
    const char *config;
    bool foreground, debug, strict;
};

/*
 * A start-up error (configuration, pack, state directory): to the agent's
 * log, which is the Event Log or syslog for a service (a service has no
 * stderr), and also to stderr when the log is not stderr already, for an
 * operator who started `mdmhealth run` from a terminal.
 */
static void start_error(const struct run_options *ro, const char *fmt, ...) MDM_PRINTF_FORMAT(2, 3);

static void start_error(const struct run_options *ro, const char *fmt, ...)
{
    char msg[MDM_ERR_MSG_MAX + 256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mdm_log(MDM_LOG_ERROR, "cannot start: %s", msg);
    if (!ro->foreground)
        mdm_cli_error("%s", msg);
}

/*
 * Loads the configuration and the pack set for the start of the agent. On
 * failure the reason, and every skipped monitor when the set was refused
 * because of them (--strict, pack-strict), go where start_error sends them.
 */
static int load_at_start(const struct run_options *ro, struct agent *a)
{
    struct mdm_buf details;
    struct mdm_err err;
    const char *line, *end;
    int rc;

    mdm_err_clear(&err);
    mdm_buf_init(&details, 4u * 1024u * 1024u);
    rc = mdm_cli_load_packs_ex(a->config_path, &a->packs, &a->cfg, &a->pack, &err, &details);
    if (rc != 0) {
        start_error(ro, "%s", err.msg);
        for (line = details.data; line != NULL && *line != '\0'; line = *end ? end + 1 : end) {
            end = strchr(line, '\n');
            if (end == NULL)
                end = line + strlen(line);
            start_error(ro, "%.*s", (int)(end - line), line);
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
    char persist[SAVE_PATH_MAX];
    const char *drop;
    int rc, status = MDM_EXIT_FAILURE;

    memset(&a, 0, sizeof(a));
    mdm_err_clear(&err);
    mdm_event_init(&a.ev);
    a.config_path = ro->config ? ro->config : mdm_fs_default_config_path();
    /* The log first, so that a service reports a bad configuration where it can be read. */
    mdm_log_open(ro->foreground, ro->debug);
    a.packs.strict = ro->strict;
    if (load_at_start(ro, &a) != 0) {
        mdm_log_close();
        return MDM_EXIT_USAGE;
    }
    mdm_cli_log_pack_summary(a.pack);
    drop = getenv(DIAG_DROP_REPORTS_ENV);
    a.diag_drop_reports = drop != NULL ? strtol(drop, NULL, 10) : 0;
    if ((size_t)snprintf(persist, sizeof(persist), "%s/snmp", a.cfg->state_dir) >=
        sizeof(persist)) {
        start_error(ro, "%s: the state directory name is too long", a.config_path);
        goto out;
    }
    if (mdm_fs_mkdirs(persist, &err) != 0) {
        start_error(ro, "%s: cannot create the state directory: %s", a.config_path, err.msg);
        goto out;
    }
    rc = mdm_outbox_init(&a.outbox, 0);
    if (rc != 0) {
        start_error(ro, "%s", mdm_strerror(rc));
        goto out;
    }
    if (new_engine(&a, a.cfg, a.pack, true, &a.engine, &err) != 0) {
        start_error(ro, "%s", err.msg);
        goto out;
    }
    if (build_sources(&a, a.cfg) != 0) {
        start_error(ro, "out of memory");
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
        start_error(ro, "%s", err.msg);
        goto out;
    }
    if (mdm_wakeup_open(&a.wake, &err) != 0) {
        start_error(ro, "%s", err.msg);
        goto out_signals;
    }
    if ((a.diag_lock = mdm_waitgroup_new()) == NULL) {
        start_error(ro, "out of memory");
        goto out_signals;
    }
    rc = mdm_snmp_start(&opt, a.engine, &a.status, &a.outbox, &err);
    if (rc != 0) {
        start_error(ro, "%s", err.msg);
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
        rc = open_source(&a, &a.sources[i], &err);
    if (rc == MDM_EUNSUPPORTED) {
        /* Not something waiting would fix: e.g. the Windows channel on Linux. */
        start_error(ro, "%s: %s", a.config_path, err.msg);
        status = MDM_EXIT_USAGE;
    } else {
        plan_periodic(&a); /* rows restored in error are re-diagnosed too */
        status = loop(&a);
    }
    mdm_snmp_stop();
out_signals:
    mdm_signal_close();
out:
    free_sources(a.sources, a.source_count);
    free_saved(&a);
    mdm_wakeup_close(a.wake);
    mdm_waitgroup_free(a.diag_lock);
    mdm_free(a.diag_sent);
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

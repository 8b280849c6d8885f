/*
 * run_diag.c - the diagnoser in `mdmhealth run`: a run on the diagnoser's
 * thread after every alert raised (one at a time; an alert during a run asks
 * for another), and with diag-interval a periodic re-run on a loop timer
 * while some row is in error. A run's report comes back to the loop's
 * thread through diag_done and a wake-up of the loop, and is published in
 * mdmDiagTable and as mdmDiagnosis notices.
 */
#include "agent/cli/run_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_log.h"
#include "agent/os/mdm_os.h"
#include "agent/common/mdm_text.h"

#include <string.h>

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
    mdm_loop_wake(a->loop);
}

/* Starts a run for a->diag_trigger, or with periodic a re-diagnosis of every row in error. */
static void start_diagnosis(struct agent *a, bool periodic)
{
    struct mdm_diag_options opt;

    mdm_diag_options_from_config(a->cfg, &opt);
    mdm_loop_timer_stop(&a->diag_timer);
    if (mdm_diag_start(&opt, diagnosis_done, a) != 0) {
        mdm_log(MDM_LOG_ERROR, "cannot start the diagnoser (out of memory or threads)");
        mdm_run_plan_periodic(a); /* with diag-interval, try again after it */
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

size_t mdm_run_rows_in_error(struct agent *a)
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
void mdm_run_plan_periodic(struct agent *a)
{
    mdm_loop_timer_stop(&a->diag_timer);
    if (a->diag_running)
        return;
    if (a->cfg->diag_interval == 0 || a->cfg->enrollment_server == NULL) {
        if (a->diag_periodic_on)
            mdm_log(MDM_LOG_INFO, "diagnoser: periodic runs stop (diag-interval 0 or no "
                                  "enrollment-server)");
        a->diag_periodic_on = false;
        return;
    }
    if (mdm_run_rows_in_error(a) == 0) {
        if (a->diag_periodic_on)
            mdm_log(MDM_LOG_INFO, "diagnoser: no monitor row in error; periodic runs stop");
        a->diag_periodic_on = false;
        return;
    }
    /* From now, not from the start of the turn: a run may have just ended. */
    mdm_loop_update_time(a->loop);
    if (mdm_loop_timer_start(&a->diag_timer, (int64_t)a->cfg->diag_interval * 1000, 0) != 0) {
        mdm_log(MDM_LOG_ERROR, "diagnoser: cannot plan the periodic run (out of memory); the "
                               "next alert is diagnosed as usual");
        a->diag_periodic_on = false;
        return;
    }
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
void mdm_run_forget_sent(struct agent *a, unsigned row)
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
void mdm_run_request_diagnosis(struct agent *a, const struct mdm_notice *alert)
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
        mdm_run_queue_notice(a, &n);
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
        mdm_run_queue_notice(a, &n);
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
void mdm_run_take_diagnosis(struct agent *a)
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
    mdm_run_plan_periodic(a);
}

/* diag_timer: the periodic run is due. */
static void on_diag_timer(struct mdm_loop_timer *t, void *ctx)
{
    struct agent *a = ctx;

    (void)t;
    if (a->diag_running)
        return; /* its end plans the next one */
    if (mdm_run_rows_in_error(a) > 0)
        start_diagnosis(a, true);
    else
        mdm_run_plan_periodic(a);
}

void mdm_run_diag_init(struct agent *a)
{
    mdm_loop_timer_init(a->loop, &a->diag_timer, on_diag_timer, a);
}

/*
 * Stopping: the diagnoser thread reports into this agent, so a run under way
 * is let finish (bounded by its checks' timeouts, at most 20 s here) and
 * published before the last save.
 */
void mdm_run_wait_for_diagnoser(struct agent *a)
{
    int64_t deadline;

    if (!a->diag_running)
        return;
    deadline = mdm_os_monotonic_ms() + 20000;
    mdm_log(MDM_LOG_INFO, "stopping: waiting for the diagnoser to finish");
    mdm_waitgroup_lock(a->diag_lock);
    while (!a->diag_finished && mdm_os_monotonic_ms() < deadline)
        mdm_waitgroup_wait(a->diag_lock, deadline);
    mdm_waitgroup_unlock(a->diag_lock);
    mdm_run_take_diagnosis(a);
}

/*
 * run_engine_timer.c - what changes a row's state other than an event: the
 * engine's own deadlines (timer reset, repeated-event windows and the other
 * time-based monitor types, docs/monitor.md) and an operator's reset
 * (`mdmhealth reset`, a SET of mdmMonitorReset).
 *
 * The engine never reads a clock; the agent passes it the time. Its clock is
 * wall-clock ms, like the events' TimeCreated, and the agent runs it as the
 * wall clock read once at start advanced by the loop's monotonic clock
 * (engine_wall0 + loop now - engine_loop0): a clock step (NTP, a DST change
 * on a badly configured server) neither fires a timer early nor holds it
 * back. A timer that came due while the agent was down is due at once: the
 * first turn fires it.
 *
 * The engine is advanced to the wall clock at the start of a turn, after the
 * sources were read and only when they have nothing more ready
 * (mdm_run_engine_advance, from turn_prepare), never from the loop timer's
 * callback: the loop runs the timers of a wait after its watchers, and the
 * events of a wake-up are read at the next turn, so an event written before
 * a due time (its TimeCreated before it) but not yet read - the agent was
 * busy, descheduled, starting with a backlog - would otherwise be evaluated
 * after the timer fired, and at the engine's later time: what replay, which
 * orders both by time, never does. The loop timer only ends the wait at the
 * due time. (While a backlog is read, its events' own times advance the
 * engine and fire what comes due between them, as in replay.) While the
 * state cannot be saved no event is read, and no timer fires either; both
 * resume together when saving does.
 *
 * Transitions go through mdm_run_on_transition like those of events, and the
 * state is marked to save, so their notices are saved before they leave, as
 * every other notice (docs/operators.md, "Delivery guarantees").
 */
#include "agent/cli/run_internal.h"

#include "agent/cli/control.h"
#include "agent/common/mdm_text.h"
#include "agent/os/mdm_log.h"
#include "agent/os/mdm_os.h"
#include "agent/os/mdm_services.h"

#include <stdio.h>
#include <string.h>

/* How often the state directory is looked at for a `mdmhealth reset` request. */
#define CONTROL_POLL_MS 1000

int64_t mdm_run_engine_now(const struct agent *a)
{
    return a->engine_wall0 + (mdm_loop_now(a->loop) - a->engine_loop0);
}

/* A due time came: the wait ends, and the turn that follows advances the engine. */
static void on_engine_timer(struct mdm_loop_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
}

void mdm_run_engine_advance(struct agent *a)
{
    struct mdm_err err;
    int64_t now;

    if (a->engine == NULL || a->save_failing)
        return;
    now = mdm_run_engine_now(a);
    if (mdm_engine_next_deadline(a->engine) > now)
        return;
    mdm_err_clear(&err);
    if (mdm_engine_advance(a->engine, now, mdm_run_on_transition, a, &err) != 0)
        mdm_log(MDM_LOG_ERROR, "monitor timers: %s", err.msg);
    a->dirty = true;
}

/* What a reset changed, for the operator's answer. */
struct reset_report {
    struct agent *agent;
    size_t changes;
    char text[MDM_CONTROL_TEXT_MAX];
};

static int on_reset_transition(const struct mdm_transition *t, void *ctx)
{
    struct reset_report *r = ctx;
    size_t len = strlen(r->text);

    if (r->changes++ < 4)
        snprintf(r->text + len, sizeof(r->text) - len, "%s%s: %s -> %s", len ? "; " : "", t->target,
                 mdm_health_name(t->from), mdm_health_name(t->to));
    return mdm_run_on_transition(t, r->agent);
}

int mdm_run_reset(struct agent *a, const char *monitor_id, const char *target, char *text,
                  size_t text_size, struct mdm_err *err)
{
    struct reset_report r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.agent = a;
    rc = mdm_engine_reset(a->engine, monitor_id, target != NULL && target[0] ? target : NULL,
                          mdm_run_engine_now(a), on_reset_transition, &r, err);
    if (rc != 0) {
        mdm_log(MDM_LOG_WARNING, "reset of %s%s%s refused: %s", monitor_id,
                target != NULL && target[0] ? " on " : "", target ? target : "", err->msg);
        return rc;
    }
    a->dirty = true;
    mdm_run_engine_timer_plan(a);
    mdm_log(MDM_LOG_INFO, "reset of %s%s%s: %zu state change(s)", monitor_id,
            target != NULL && target[0] ? " on " : "", target ? target : "", r.changes);
    if (text != NULL) {
        if (r.changes == 0)
            snprintf(text, text_size, "%s: no change (already in the state a reset gives)",
                     monitor_id);
        else
            snprintf(text, text_size, "%s: %s%s", monitor_id, r.text, r.changes > 4 ? "; ..." : "");
    }
    return 0;
}

/*
 * A service monitor's probe is due: ask the Service Control Manager of the
 * target (this computer's own without RPC). Runs on the loop's thread, so a
 * remote computer that does not answer holds the loop for the RPC timeout;
 * service monitors on remote targets are rare (SCOM runs them locally). On
 * Linux there is no SCM: the state is unknown, with the reason.
 */
int mdm_run_service_probe(const char *computer, const char *service, struct mdm_service_status *out,
                          void *ctx)
{
    struct mdm_service_query q;
    char host[256], why[sizeof(out->detail)];
    bool local;
    int rc;

    (void)ctx;
    local = computer == NULL || computer[0] == '\0' || strcmp(computer, ".") == 0 ||
            (mdm_os_host_name(host, sizeof(host)) == 0 && mdm_computer_matches(computer, host));
    memset(&q, 0, sizeof(q));
    rc = mdm_services_query(local ? NULL : computer, service, &q, why, sizeof(why));
    if (rc != 0) {
        out->state = MDM_SERVICE_STATE_UNKNOWN;
        snprintf(out->detail, sizeof(out->detail), "%s", why);
        return rc;
    }
    out->state = q.running ? MDM_SERVICE_STATE_RUNNING : MDM_SERVICE_STATE_NOT_RUNNING;
    out->automatic_start = q.automatic_start;
    snprintf(out->detail, sizeof(out->detail), "%s", q.state);
    return 0;
}

/* mdmMonitorReset.N set to reset(2) (agent/snmp/mib_handlers.c, in COMMIT). */
static int on_snmp_reset(void *ctx, const char *monitor_id, const char *target)
{
    struct mdm_err err;

    mdm_err_clear(&err);
    mdm_log(MDM_LOG_INFO, "SNMP SET of mdmMonitorReset: %s on %s", monitor_id, target);
    return mdm_run_reset(ctx, monitor_id, target, NULL, 0, &err);
}

static void on_control_timer(struct mdm_loop_timer *t, void *ctx)
{
    struct agent *a = ctx;
    struct mdm_control_request req;
    struct mdm_err err;
    char text[MDM_CONTROL_TEXT_MAX];
    int rc;

    (void)t;
    mdm_err_clear(&err);
    rc = mdm_control_claim(a->cfg->state_dir, &req, &err);
    if (rc == MDM_ENOTFOUND)
        return;
    if (rc != 0) {
        mdm_log(MDM_LOG_WARNING, "reset request refused: %s", err.msg);
        return;
    }
    mdm_log(MDM_LOG_INFO, "reset requested by `mdmhealth reset`: %s%s%s", req.monitor,
            req.target[0] ? " on " : "", req.target);
    rc = mdm_run_reset(a, req.monitor, req.target, text, sizeof(text), &err);
    if (mdm_control_answer(a->cfg->state_dir, req.id, rc, rc == 0 ? text : err.msg, &err) != 0)
        mdm_log(MDM_LOG_WARNING, "reset request: cannot answer: %s", err.msg);
}

void mdm_run_engine_timer_init(struct agent *a)
{
    a->engine_wall0 = mdm_os_now_ms();
    a->engine_loop0 = mdm_loop_now(a->loop);
    mdm_loop_timer_init(a->loop, &a->engine_timer, on_engine_timer, a);
    mdm_loop_timer_init(a->loop, &a->control_timer, on_control_timer, a);
    if (mdm_loop_timer_start(&a->control_timer, CONTROL_POLL_MS, CONTROL_POLL_MS) != 0)
        mdm_log(MDM_LOG_WARNING, "out of memory: `mdmhealth reset` requests are not looked for");
    mdm_snmp_set_reset_handler(on_snmp_reset, a);
}

void mdm_run_engine_timer_plan(struct agent *a)
{
    int64_t due, loop_due;

    /* While saving fails nothing is due: the save retry wakes the loop (file comment). */
    if (a->engine == NULL || a->save_failing ||
        (due = mdm_engine_next_deadline(a->engine)) == INT64_MAX) {
        mdm_loop_timer_stop(&a->engine_timer);
        return;
    }
    /* Due before now (while the agent was down, or just now): at once. */
    loop_due = a->engine_loop0 + (due - a->engine_wall0);
    if (loop_due < mdm_loop_now(a->loop))
        loop_due = mdm_loop_now(a->loop);
    if (mdm_loop_timer_active(&a->engine_timer) && mdm_loop_timer_due(&a->engine_timer) == loop_due)
        return;
    if (mdm_loop_timer_start_at(&a->engine_timer, loop_due, 0) != 0)
        mdm_log(MDM_LOG_WARNING, "out of memory: monitor timers wait for the next turn");
}

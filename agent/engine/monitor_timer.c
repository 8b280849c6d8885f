/*
 * monitor_timer.c - the monitor state machine, in time: timers (missing
 * event windows, correlator windows, service probes) fired as time passes,
 * and resets.
 */
#include "agent/engine/monitor_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A synthetic event for a transition without one (timer, reset). */
static void synthetic_event(struct mdm_event *ev, struct mdm_engine *engine,
                            const struct mdm_instance *inst, int64_t time_ms, const char *text)
{
    mdm_event_init(ev);
    ev->provider = "mdmhealth";
    mdm_format_iso8601(time_ms, engine->synth_time, sizeof(engine->synth_time));
    ev->time_created = engine->synth_time;
    ev->time_unix_ms = time_ms;
    ev->channel = inst->def->detectors[0].log_name ? inst->def->detectors[0].log_name : "";
    ev->computer = engine->targets[inst->target];
    ev->description = text;
}

/* The earliest pending timer of any instance, or INT64_MAX. */
static int64_t scan_next_due(const struct mdm_engine *engine)
{
    int64_t next = INT64_MAX;

    for (size_t i = 0; i < engine->instance_count; i++) {
        int64_t d = engine->instances[i].state.timer_due_ms;
        if (d != 0 && d < next)
            next = d;
    }
    return next;
}

void mdm_engine_invalidate_deadline(struct mdm_engine *engine)
{
    engine->next_due = INT64_MIN;
    monitor_arm_all(engine); /* instances restored without a pending schedule */
}

/*
 * A service monitor's probe is due: asks the probe and moves the instance
 * to Running's or NotRunning's health; the next probe is armed.
 */
static int fire_probe(struct mdm_engine *engine, struct mdm_instance *inst, int64_t due,
                      int64_t now, mdm_transition_cb cb, void *ctx)
{
    const struct mdm_monitor_def *def = inst->def;
    const char *target = engine->targets[inst->target];
    const char *computer = target;
    struct mdm_service_status status;
    struct mdm_event synth;
    enum mdm_health health;
    char text[300];
    int rc;

    if (engine->probe == NULL)
        return 0; /* removed meanwhile: nothing more is armed */
    inst->state.timer_due_ms = due + def->probe_interval_ms;
    if (inst->state.timer_due_ms <= now) /* down for a while: one probe now, not one per period */
        inst->state.timer_due_ms = now + def->probe_interval_ms;
    if (def->detectors[0].computer.kind == MDM_PARAM_LITERAL &&
        def->detectors[0].computer.text != NULL &&
        strcmp(def->detectors[0].computer.text, ".") != 0 &&
        def->detectors[0].computer.text[0] != '\0')
        computer = def->detectors[0].computer.text;
    memset(&status, 0, sizeof(status));
    engine->stats.probes++;
    rc = engine->probe(computer, def->service_name, &status, engine->probe_ctx);
    status.detail[sizeof(status.detail) - 1] = '\0';
    if (rc != 0 || status.state == MDM_SERVICE_STATE_UNKNOWN) {
        engine->stats.probe_failures++;
        return 0;
    }
    if (status.state == MDM_SERVICE_STATE_RUNNING ||
        (def->check_startup_type && !status.automatic_start)) {
        health = def->detectors[0].health;
        snprintf(text, sizeof(text), "%s: service %s %s%s%s", "Running", def->service_name,
                 status.state == MDM_SERVICE_STATE_RUNNING ? "is running"
                                                           : "is not running and does not start "
                                                             "automatically (CheckStartupType)",
                 status.detail[0] ? ": " : "", status.detail);
    } else {
        health = def->detectors[1].health;
        snprintf(text, sizeof(text), "%s: service %s is not running%s%s", "NotRunning",
                 def->service_name, status.detail[0] ? ": " : "", status.detail);
    }
    synthetic_event(&synth, engine, inst, due, text);
    return monitor_change_state(engine, inst, health, &synth, MDM_CAUSE_TIMER, due, cb, ctx);
}

/*
 * A missing-event schedule window or a correlator window ends at due. Returns
 * 1 when handled (0: not such a monitor), or the callback's negative return.
 */
static int fire_window(struct mdm_engine *engine, struct mdm_instance *inst, int64_t due,
                       int64_t now, mdm_transition_cb cb, void *ctx)
{
    struct mdm_monitor_state *st = &inst->state;
    int idx = mdm_monitor_def_timed_detector(inst->def);
    const struct mdm_detector *det;
    struct mdm_event synth;
    char text[300];
    bool detected;
    int rc;

    if (idx < 0)
        return 0;
    det = &inst->def->detectors[idx];
    if (det->condition == MDM_CONDITION_MISSING) {
        /* OnNewItemNOP_OnTimerOutputRestart: the count of the window is output
         * and restarts; a window without the expected event is the detection. */
        detected = st->window_count == 0;
        st->window_start_ms = due;
        st->window_count = 0;
        st->timer_due_ms = due + det->repeat_interval_ms;
        /* Windows that ended before now saw no event either (advance runs
         * before any later event is evaluated): they only repeat the state. */
        if (detected && st->timer_due_ms <= now) {
            int64_t skip = (now - st->timer_due_ms) / det->repeat_interval_ms + 1;
            st->window_start_ms += skip * det->repeat_interval_ms;
            st->timer_due_ms += skip * det->repeat_interval_ms;
            st->repeat_count += (uint64_t)skip;
        }
        snprintf(text, sizeof(text), "%s: no matching event in %s within %" PRId64 " s",
                 det->state_id ? det->state_id : "MissingEventRaised",
                 det->log_name ? det->log_name : "", det->repeat_interval_ms / 1000);
    } else {
        /* System.CorrelatorAutoMissingCondition: the window that the primary
         * event opened ends with fewer than Count correlated events. */
        detected = st->window_count < det->repeat_count;
        st->timer_due_ms = 0;
        st->window_count = 0;
        st->window_start_ms = 0;
        snprintf(text, sizeof(text), "%s: the correlated event did not follow within %" PRId64 " s",
                 det->state_id ? det->state_id : "correlator", det->repeat_interval_ms / 1000);
    }
    if (!detected)
        return 1;
    synthetic_event(&synth, engine, inst, due, text);
    rc = monitor_change_state(engine, inst, det->health, &synth, MDM_CAUSE_TIMER, due, cb, ctx);
    return rc < 0 ? rc : 1;
}

/* Fires the timers due at or before now, in due order (row order on ties). */
int mdm_engine_advance(struct mdm_engine *engine, int64_t now_ms, mdm_transition_cb cb, void *ctx,
                       struct mdm_err *err)
{
    (void)err;
    monitor_arm_instances(engine, now_ms > engine->now_ms ? now_ms : engine->now_ms);
    if (engine->next_due == INT64_MIN)
        engine->next_due = scan_next_due(engine);
    while (engine->next_due <= now_ms) {
        struct mdm_instance *next = NULL;
        struct mdm_event synth;
        char text[160];
        int64_t due;
        int rc;

        for (size_t i = 0; i < engine->instance_count; i++) {
            struct mdm_instance *inst = &engine->instances[i];
            int64_t d = inst->state.timer_due_ms;
            if (d != 0 && d <= now_ms && (next == NULL || d < next->state.timer_due_ms))
                next = inst;
        }
        if (next == NULL) {
            engine->next_due = scan_next_due(engine); /* it was early (a cleared timer) */
            continue;
        }
        due = next->state.timer_due_ms;
        next->state.timer_due_ms = 0;
        if (due > engine->now_ms)
            engine->now_ms = due;
        engine->stats.timers_fired++;
        if (next->def->service_name != NULL || mdm_monitor_def_timed_detector(next->def) >= 0) {
            rc = next->def->service_name != NULL ? fire_probe(engine, next, due, now_ms, cb, ctx)
                                                 : fire_window(engine, next, due, now_ms, cb, ctx);
            engine->next_due = scan_next_due(engine);
            if (rc < 0)
                return rc;
            continue;
        }
        snprintf(text, sizeof(text), "%s: TimerWaitInSeconds (%" PRId64 " s) elapsed",
                 next->def->reset_state_id ? next->def->reset_state_id : "TimerEventRaised",
                 next->def->timer_ms / 1000);
        synthetic_event(&synth, engine, next, due, text);
        rc = monitor_change_state(engine, next, next->def->reset_health, &synth, MDM_CAUSE_TIMER,
                                  due, cb, ctx);
        engine->next_due = scan_next_due(engine);
        if (rc != 0)
            return rc;
    }
    if (now_ms > engine->now_ms)
        engine->now_ms = now_ms;
    return 0;
}

int64_t mdm_engine_next_deadline(const struct mdm_engine *engine)
{
    return engine->next_due == INT64_MIN ? scan_next_due(engine) : engine->next_due;
}

int64_t mdm_engine_now(const struct mdm_engine *engine)
{
    return engine->now_ms;
}

int mdm_engine_reset(struct mdm_engine *engine, const char *monitor_id, const char *target,
                     int64_t now_ms, mdm_transition_cb cb, void *ctx, struct mdm_err *err)
{
    bool monitor_found = false, target_found = false;
    int rc;

    for (size_t m = 0; m < engine->def_count && !monitor_found; m++)
        monitor_found = strcmp(engine->defs[m]->id, monitor_id) == 0;
    if (!monitor_found)
        return mdm_err_set(err, MDM_ENOTFOUND, "no monitor %s is evaluated", monitor_id);
    rc = mdm_engine_advance(engine, now_ms, cb, ctx, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < engine->instance_count; i++) {
        struct mdm_instance *inst = &engine->instances[i];
        const struct mdm_monitor_def *def = inst->def;
        enum mdm_health health;
        struct mdm_event synth;
        char text[200];

        if (strcmp(def->id, monitor_id) != 0)
            continue;
        if (target != NULL && !mdm_computer_matches(engine->targets[inst->target], target))
            continue;
        target_found = true;
        engine->stats.resets++;
        if (inst->state.timer_due_ms != 0)
            engine->next_due = INT64_MIN; /* rescan: this one no longer counts */
        inst->state.timer_due_ms = 0;
        inst->state.window_count = 0;
        inst->state.window_start_ms = 0;
        /* A missing-event schedule and a service probe start again from now. */
        if (monitor_needs_arming(engine, def))
            monitor_arm_all(engine);
        if (def->reset == MDM_RESET_MANUAL) {
            health = def->reset_health;
            snprintf(text, sizeof(text), "%s: manual reset",
                     def->reset_state_id ? def->reset_state_id : "ManualResetEventRaised");
        } else {
            health = MDM_HEALTH_HEALTHY;
            snprintf(text, sizeof(text), "Reset Health: manual reset to healthy");
        }
        synthetic_event(&synth, engine, inst, engine->now_ms, text);
        rc = monitor_change_state(engine, inst, health, &synth, MDM_CAUSE_RESET, engine->now_ms, cb,
                                  ctx);
        if (rc != 0)
            return rc;
    }
    monitor_arm_instances(engine, engine->now_ms);
    if (!target_found)
        return mdm_err_set(err, MDM_ENOTFOUND, "monitor %s has no target %s%s", monitor_id,
                           target ? target : "",
                           engine->target_count == 0 ? " (no target has been seen yet)" : "");
    return 0;
}

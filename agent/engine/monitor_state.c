/*
 * monitor_state.c - the monitor state machine, per event: detectors matched,
 * consolidated and counted, and state changes with their alert text.
 */
#include "agent/engine/monitor_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Resolves an alert parameter or computer name for ev into buf. */
static const char *resolve_param(const struct mdm_param *param, const struct mdm_monitor_def *def,
                                 const char *target, const struct mdm_event *ev, char *buf,
                                 size_t size)
{
    struct mdm_value value;

    switch (param->kind) {
    case MDM_PARAM_TARGET_NAME:
        return target;
    case MDM_PARAM_MONITOR_ID:
        return def->id;
    case MDM_PARAM_EVENT_FIELD:
        if (mdm_event_get(ev, param->field, &value) != 0)
            return "";
        /* Strings (descriptions) are used in place: scratch is only for numbers and times. */
        if (value.kind == MDM_VALUE_STRING)
            return value.str != NULL ? value.str : "";
        return mdm_value_format(&value, buf, size);
    default:
        return param->text ? param->text : "";
    }
}

/*
 * Builds the alert description into engine->alert_text: the pack's alert
 * message with {0}..{9} replaced by AlertParameter1..10. Text beyond the
 * cap is cut on a character boundary.
 */
static void build_alert_text(struct mdm_engine *engine, const struct mdm_monitor_def *def,
                             const char *target, const struct mdm_event *ev)
{
    struct mdm_buf *out = &engine->alert_text;
    const char *p = def->alert_description;
    char scratch[64];

    mdm_buf_reset(out);
    if (p == NULL) {
        p = ev->description ? ev->description : "";
        mdm_buf_add(out, p, mdm_utf8_cut(p, strlen(p), out->cap));
        return;
    }
    while (*p != '\0') {
        const char *piece = p;
        size_t len = 1;
        if (p[0] == '{' && p[1] >= '0' && p[1] <= '9' && p[2] == '}') {
            size_t n = (size_t)(p[1] - '0');
            piece = n < def->alert_param_count && def->alert_params[n].text != NULL
                        ? resolve_param(&def->alert_params[n], def, target, ev, scratch,
                                        sizeof(scratch))
                        : "";
            len = strlen(piece);
            p += 3;
        } else {
            p++;
        }
        if (mdm_buf_add(out, piece, len) != 0) {
            size_t room = out->cap - out->len;
            mdm_buf_add(out, piece, mdm_utf8_cut(piece, len, room));
            return;
        }
    }
}

/*
 * Moves inst to `health` because of ev (a real event for MDM_CAUSE_EVENT, a
 * synthetic one otherwise) at engine time time_ms: a repeat is counted, a
 * change raises / updates / resolves the alert and calls cb. Arms the reset
 * timer of MDM_RESET_TIMER types on entering a detected state.
 */
int monitor_change_state(struct mdm_engine *engine, struct mdm_instance *inst,
                         enum mdm_health health, const struct mdm_event *ev, enum mdm_cause cause,
                         int64_t time_ms, mdm_transition_cb cb, void *ctx)
{
    const struct mdm_monitor_def *def = inst->def;
    struct mdm_monitor_state *st = &inst->state;
    struct mdm_transition t;
    bool in_alert_state;

    if (cause == MDM_CAUSE_EVENT) {
        engine->stats.matched++;
        st->last_event_id = mdm_event_display_number(ev);
        st->last_record_id = ev->record_id;
        st->last_event_ms = ev->time_unix_ms;
        mdm_utf8_copy(st->last_description, sizeof(st->last_description),
                      ev->description ? ev->description : "");
    }
    if (health == st->health) {
        st->repeat_count++;
        engine->stats.repeats++;
        return 0;
    }

    memset(&t, 0, sizeof(t));
    t.instance = inst;
    t.def = def;
    t.target = engine->targets[inst->target];
    t.from = st->health;
    t.to = health;
    t.priority = def->priority;
    t.event = ev;
    t.description = ev->description ? ev->description : "";
    t.alert_text = "";
    t.repeats_before = st->repeat_count;
    t.cause = cause;
    t.time_ms = time_ms;

    if (def->alert_generate) {
        in_alert_state = health >= def->alert_on_state;
        if (in_alert_state) {
            enum mdm_severity sev = mdm_monitor_alert_severity(def, health);
            if (!st->alert_active) {
                t.alert = MDM_ALERT_RAISED;
                st->alert_active = true;
                engine->stats.alerts_raised++;
            } else if (sev != st->alert_severity) {
                t.alert = MDM_ALERT_UPDATED;
            }
            st->alert_severity = sev;
        } else if (st->alert_active && def->auto_resolve) {
            t.alert = MDM_ALERT_RESOLVED;
            st->alert_active = false;
            engine->stats.alerts_resolved++;
        }
        if (t.alert != MDM_ALERT_NONE) {
            t.severity = st->alert_severity;
            t.alert_name = def->alert_name;
            build_alert_text(engine, def, t.target, ev);
            t.alert_text = mdm_buf_str(&engine->alert_text);
        }
    }

    st->health = health;
    st->repeat_count = 0;
    st->change_count++;
    /* An event's change keeps the event's own time, as before timers existed. */
    st->last_change_ms = cause == MDM_CAUSE_EVENT ? ev->time_unix_ms : time_ms;
    engine->stats.changes++;
    /*
     * The timer of the timer-reset types runs from the detection that entered
     * the unhealthy state; a repeat does not restart it (SCOM's timer outputs
     * TimerEventRaised TimerWaitInSeconds after the first detection; later
     * ones only confirm the state). Leaving the state cancels it.
     */
    if (def->reset == MDM_RESET_TIMER) {
        if (health != def->reset_health && cause == MDM_CAUSE_EVENT) {
            st->timer_due_ms = time_ms + def->timer_ms;
            if (engine->next_due != INT64_MIN && st->timer_due_ms < engine->next_due)
                engine->next_due = st->timer_due_ms;
        } else {
            st->timer_due_ms = 0;
        }
    }
    return cb != NULL ? cb(&t, ctx) : 0;
}

/* True when detector d of def accepts ev as coming from its log and computer. */
static bool detector_sees(const struct mdm_detector *d, const struct mdm_monitor_def *def,
                          const char *target, const struct mdm_event *ev)
{
    char scratch[64];
    const char *computer;

    if (ev->channel == NULL || !mdm_ascii_iequal(ev->channel, d->log_name))
        return false;
    computer = resolve_param(&d->computer, def, target, ev, scratch, sizeof(scratch));
    return mdm_computer_matches(computer, ev->computer ? ev->computer : "");
}

/*
 * System.ConsolidatorCondition: counts a match at time now; true when it is
 * the Count-th within Interval (the detection), after which counting
 * restarts (OnNewItemTestOutputRestart). Returns MDM_ENOMEM as a negative.
 */
static int consolidate(struct mdm_instance *inst, const struct mdm_detector *d, int64_t now)
{
    struct mdm_monitor_state *st = &inst->state;

    if (d->count_mode == MDM_COUNT_WINDOW_RESTART) {
        /* OnTimerRestart: the window that the first match opened closes after
         * Interval and the count restarts; the next match opens a new one. */
        if (st->window_count == 0 || now >= st->window_start_ms + d->repeat_interval_ms) {
            st->window_start_ms = now;
            st->window_count = 0;
        }
        st->window_count++;
    } else {
        uint32_t keep = 0;
        if (inst->window_times == NULL) {
            inst->window_times = mdm_calloc(d->repeat_count, sizeof(*inst->window_times));
            if (inst->window_times == NULL)
                return MDM_ENOMEM;
        }
        /* OnTimerSlideByOne: only the matches of the last Interval count. */
        for (uint32_t i = 0; i < st->window_count; i++)
            if (inst->window_times[i] > now - d->repeat_interval_ms)
                inst->window_times[keep++] = inst->window_times[i];
        st->window_count = keep;
        if (st->window_count >= d->repeat_count) /* cannot happen: output at Count */
            st->window_count = d->repeat_count - 1;
        inst->window_times[st->window_count++] = now;
        st->window_start_ms = inst->window_times[0];
    }
    if (st->window_count < d->repeat_count)
        return 0;
    st->window_count = 0;
    st->window_start_ms = 0;
    return 1;
}

const char *mdm_cause_name(enum mdm_cause cause)
{
    switch (cause) {
    case MDM_CAUSE_TIMER:
        return "timer";
    case MDM_CAUSE_RESET:
        return "reset";
    default:
        return "event";
    }
}

/*
 * A match that is not a detection by itself: counted in a missing-event
 * window, or opening (primary) or filling (correlated input) a correlator
 * window. The detection, if any, comes when the window ends (fire_window).
 */
static void count_match(struct mdm_engine *engine, struct mdm_instance *inst,
                        const struct mdm_detector *det)
{
    struct mdm_monitor_state *st = &inst->state;
    int64_t now = engine->now_ms;

    engine->stats.matched++;
    if (det->condition == MDM_CONDITION_MISSING) {
        if (st->window_count < UINT32_MAX)
            st->window_count++;
        return;
    }
    if (det->condition == MDM_CONDITION_CORRELATOR_MISSING) {
        /* CorrelationItemPolicy OldestItem: an open window keeps its start;
         * MostRecentItem: the newest primary event starts it again. */
        if (st->timer_due_ms != 0 && !det->restart_on_new)
            return;
        if (st->timer_due_ms != 0)
            engine->next_due = INT64_MIN; /* moved later: rescan */
        st->window_start_ms = now;
        st->window_count = 0;
        st->timer_due_ms = now + det->repeat_interval_ms;
        if (engine->next_due != INT64_MIN && st->timer_due_ms < engine->next_due)
            engine->next_due = st->timer_due_ms;
        return;
    }
    /* The correlated input: in sequence, it only counts in an open window. */
    if (st->timer_due_ms == 0)
        return;
    st->window_count++;
    if (st->window_count >= inst->def->detectors[det->partner].repeat_count) {
        /* The correlated event followed in time: the window closes without output. */
        st->timer_due_ms = 0;
        engine->next_due = INT64_MIN; /* rescan when next asked */
        st->window_count = 0;
        st->window_start_ms = 0;
    }
}

int mdm_engine_process(struct mdm_engine *engine, const struct mdm_event *ev, mdm_transition_cb cb,
                       void *ctx, struct mdm_err *err)
{
    const char *computer = ev->computer ? ev->computer : "";
    long target;
    int rc;

    engine->stats.events++;
    /* Event time drives the timers: those due before this event fire first. */
    if (ev->time_unix_ms > engine->now_ms) {
        rc = mdm_engine_advance(engine, ev->time_unix_ms, cb, ctx, err);
        if (rc != 0)
            return rc;
    }
    if (engine->def_count == 0)
        return 0;
    target = monitor_find_target(engine, computer);
    if (target < 0) {
        size_t added;
        if (!engine->dynamic_targets || engine->fixed_targets)
            return 0;
        rc = monitor_append_target(engine, computer, &added);
        if (rc == MDM_ETOOBIG) {
            engine->stats.targets_dropped++;
            if (!engine->targets_dropped_reported) {
                engine->targets_dropped_reported = true;
                return mdm_err_set(err, MDM_ETOOBIG,
                                   "more than %u computers in the input; events from further "
                                   "computers are not evaluated",
                                   MDM_TARGETS_MAX);
            }
            return 0;
        }
        if (rc != 0)
            return mdm_err_set(err, rc, "out of memory");
        target = (long)added;
        /* A new target's schedules start with its first event. */
        monitor_arm_instances(engine, engine->now_ms);
    }
    for (size_t m = 0; m < engine->def_count; m++) {
        struct mdm_instance *inst = &engine->instances[(size_t)target * engine->def_count + m];
        const struct mdm_monitor_def *def = inst->def;
        const char *name = engine->targets[target];
        /*
         * The detectors are independent data sources in SCOM; when one event
         * satisfies both, both fire, First before Second.
         */
        for (size_t d = 0; d < def->detector_count; d++) {
            const struct mdm_detector *det = &def->detectors[d];
            if (!detector_sees(det, def, name, ev) || !mdm_expr_eval(det->expr, ev) ||
                (det->filter != NULL && !mdm_expr_eval(det->filter, ev)))
                continue;
            if (det->correlated_input || det->condition == MDM_CONDITION_MISSING ||
                det->condition == MDM_CONDITION_CORRELATOR_MISSING) {
                count_match(engine, inst, det);
                continue;
            }
            if (det->condition == MDM_CONDITION_CONSOLIDATOR) {
                rc = consolidate(inst, det, engine->now_ms);
                if (rc < 0)
                    return mdm_err_set(err, rc, "out of memory");
                if (rc == 0) {
                    /* Counted, not (yet) a detection. */
                    engine->stats.matched++;
                    continue;
                }
            }
            rc = monitor_change_state(engine, inst, det->health, ev, MDM_CAUSE_EVENT,
                                      engine->now_ms, cb, ctx);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}
/*
 * monitor.c - the monitor state machine (see monitor.h): the composition of
 * each type (pack.h) evaluated per target, with time passed in.
 */
#include "agent/engine/monitor.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct mdm_engine {
    const struct mdm_pack *pack;
    bool dynamic_targets;
    bool fixed_targets; /* at least one target was added explicitly */

    const struct mdm_monitor_def **defs; /* enabled monitors, in pack order */
    size_t def_count;

    char **targets;
    size_t target_count, target_cap;

    struct mdm_instance *instances; /* target-major: [target * def_count + def] */
    size_t instance_count, instance_cap;

    struct mdm_engine_stats stats;
    struct mdm_buf alert_text; /* scratch for the current transition */
    bool targets_dropped_reported;
    int64_t now_ms;      /* the engine's time: latest event time or advance */
    char synth_time[40]; /* TimeCreated of the current synthetic event */
    /*
     * The earliest pending timer, so that an event or an advance with nothing
     * due costs no scan of every instance. INT64_MIN: unknown (scan); it may
     * be early (a timer cleared by a reset), never late.
     */
    int64_t next_due;
    /* Instances whose schedule (missing event) or probe (service) has not
     * been started yet: started at the next known time (arm_instances). */
    bool arm_pending;
    size_t arm_from; /* instances before this index need no arming */
    mdm_service_probe_fn probe;
    void *probe_ctx;
};

int mdm_monitor_def_timed_detector(const struct mdm_monitor_def *def)
{
    for (size_t d = 0; d < def->detector_count; d++)
        if (def->detectors[d].condition == MDM_CONDITION_MISSING ||
            def->detectors[d].condition == MDM_CONDITION_CORRELATOR_MISSING)
            return (int)d;
    return -1;
}

bool mdm_monitor_def_timed(const struct mdm_monitor_def *def)
{
    return def->reset == MDM_RESET_TIMER || def->service_name != NULL ||
           mdm_monitor_def_timed_detector(def) >= 0;
}

/* The missing-event detector of def, or NULL. */
static const struct mdm_detector *missing_detector(const struct mdm_monitor_def *def)
{
    int d = mdm_monitor_def_timed_detector(def);
    return d >= 0 && def->detectors[d].condition == MDM_CONDITION_MISSING ? &def->detectors[d]
                                                                          : NULL;
}

/*
 * Starts, at time now, what runs on its own from the start: a missing-event
 * monitor's first schedule window, and (with a probe) a service monitor's
 * first probe, for each instance that has none pending.
 */
static void arm_instances(struct mdm_engine *engine, int64_t now)
{
    if (!engine->arm_pending || now <= 0)
        return;
    engine->arm_pending = false;
    /* Only the instances added since the last arming (a new target's), unless
     * everything may need it (a restore, a reset, a probe set): a new target
     * costs no scan of every instance. */
    for (size_t i = engine->arm_from; i < engine->instance_count; i++) {
        struct mdm_instance *inst = &engine->instances[i];
        const struct mdm_detector *miss = missing_detector(inst->def);
        if (inst->state.timer_due_ms != 0)
            continue;
        if (miss != NULL) {
            inst->state.window_start_ms = now;
            inst->state.window_count = 0;
            inst->state.timer_due_ms = now + miss->repeat_interval_ms;
        } else if (inst->def->service_name != NULL && engine->probe != NULL) {
            inst->state.timer_due_ms = now;
        } else {
            continue;
        }
        engine->next_due = INT64_MIN; /* rescan */
    }
    engine->arm_from = engine->instance_count;
}

/* Everything may need arming again at the next known time. */
static void arm_all(struct mdm_engine *engine)
{
    engine->arm_pending = true;
    engine->arm_from = 0;
}

/* True when def has something arm_instances starts. */
static bool needs_arming(const struct mdm_engine *engine, const struct mdm_monitor_def *def)
{
    return missing_detector(def) != NULL || (def->service_name != NULL && engine->probe != NULL);
}

void mdm_engine_set_service_probe(struct mdm_engine *engine, mdm_service_probe_fn fn, void *ctx)
{
    engine->probe = fn;
    engine->probe_ctx = ctx;
    if (fn != NULL) {
        arm_all(engine);
        return;
    }
    for (size_t i = 0; i < engine->instance_count; i++)
        if (engine->instances[i].def->service_name != NULL)
            engine->instances[i].state.timer_due_ms = 0;
    engine->next_due = INT64_MIN;
}

size_t mdm_engine_service_monitors_waiting(const struct mdm_engine *engine)
{
    size_t n = 0;

    if (engine->probe != NULL)
        return 0;
    for (size_t m = 0; m < engine->def_count; m++)
        n += engine->defs[m]->service_name != NULL;
    return n;
}

bool mdm_computer_matches(const char *a, const char *b)
{
    const char *dot_a, *dot_b;

    if (a == NULL || b == NULL)
        return false;
    if (mdm_ascii_iequal(a, b))
        return true;
    /* A NetBIOS name matches the first label of a fully qualified name. */
    dot_a = strchr(a, '.');
    dot_b = strchr(b, '.');
    if (dot_a == NULL && dot_b != NULL)
        return strlen(a) == (size_t)(dot_b - b) && mdm_ascii_iequal_n(a, b, (size_t)(dot_b - b));
    if (dot_b == NULL && dot_a != NULL)
        return strlen(b) == (size_t)(dot_a - a) && mdm_ascii_iequal_n(a, b, (size_t)(dot_a - a));
    return false;
}

int mdm_engine_new(const struct mdm_pack *pack, bool dynamic_targets, struct mdm_engine **out,
                   struct mdm_err *err)
{
    struct mdm_engine *engine = mdm_calloc(1, sizeof(*engine));
    int rc = 0;

    if (engine == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    engine->pack = pack;
    engine->dynamic_targets = dynamic_targets;
    engine->next_due = INT64_MIN;
    mdm_buf_init(&engine->alert_text, MDM_ALERT_TEXT_MAX);
    engine->defs = mdm_calloc(pack->monitor_count, sizeof(*engine->defs));
    if (engine->defs == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < pack->monitor_count; i++)
        if (pack->monitors[i].enabled)
            engine->defs[engine->def_count++] = &pack->monitors[i];
    *out = engine;
    engine = NULL;
out:
    mdm_engine_free(engine);
    return rc;
}

void mdm_engine_free(struct mdm_engine *engine)
{
    if (engine == NULL)
        return;
    for (size_t i = 0; i < engine->target_count; i++)
        mdm_free(engine->targets[i]);
    for (size_t i = 0; i < engine->instance_count; i++)
        mdm_free(engine->instances[i].window_times);
    mdm_free(engine->targets);
    mdm_free(engine->instances);
    mdm_free(engine->defs);
    mdm_buf_free(&engine->alert_text);
    mdm_free(engine);
}

/* Appends a target and its instances; returns its index or a negative code. */
static int append_target(struct mdm_engine *engine, const char *computer, size_t *index_out)
{
    size_t need = engine->instance_count + engine->def_count;
    char *name = NULL;
    size_t name_len;

    if (engine->target_count >= MDM_TARGETS_MAX)
        return MDM_ETOOBIG;
    name_len = mdm_utf8_cut(computer, strlen(computer), MDM_COMPUTER_NAME_MAX);
    name = mdm_strndup(computer, name_len);
    if (name == NULL)
        return MDM_ENOMEM;
    if (engine->target_count == engine->target_cap) {
        size_t cap = engine->target_cap ? engine->target_cap * 2 : 4;
        char **grown = mdm_realloc(engine->targets, cap * sizeof(*grown));
        if (grown == NULL)
            goto nomem;
        engine->targets = grown;
        engine->target_cap = cap;
    }
    if (need > engine->instance_cap) {
        size_t cap = engine->instance_cap ? engine->instance_cap * 2 : 4;
        struct mdm_instance *grown;
        while (cap < need)
            cap *= 2;
        grown = mdm_realloc(engine->instances, cap * sizeof(*grown));
        if (grown == NULL)
            goto nomem;
        engine->instances = grown;
        engine->instance_cap = cap;
    }
    for (size_t m = 0; m < engine->def_count; m++) {
        struct mdm_instance *inst = &engine->instances[engine->instance_count];
        memset(inst, 0, sizeof(*inst));
        inst->index = (unsigned)(engine->instance_count + 1);
        inst->def = engine->defs[m];
        inst->target = engine->target_count;
        engine->instance_count++;
        if (needs_arming(engine, inst->def))
            engine->arm_pending = true;
    }
    engine->targets[engine->target_count] = name;
    if (index_out != NULL)
        *index_out = engine->target_count;
    engine->target_count++;
    return 0;
nomem:
    mdm_free(name);
    return MDM_ENOMEM;
}

/* Finds the target index of computer, or -1. */
static long find_target(const struct mdm_engine *engine, const char *computer)
{
    /* Exact (case-insensitive) names first, so that "dm01" and "dm01.x" stay distinct targets. */
    for (size_t i = 0; i < engine->target_count; i++)
        if (mdm_ascii_iequal(engine->targets[i], computer))
            return (long)i;
    for (size_t i = 0; i < engine->target_count; i++)
        if (mdm_computer_matches(engine->targets[i], computer))
            return (long)i;
    return -1;
}

int mdm_engine_add_target(struct mdm_engine *engine, const char *computer, size_t *index_out)
{
    long found = find_target(engine, computer);

    engine->fixed_targets = true;
    if (found >= 0 && mdm_ascii_iequal(engine->targets[found], computer)) {
        if (index_out != NULL)
            *index_out = (size_t)found;
        return 0;
    }
    return append_target(engine, computer, index_out);
}

int mdm_engine_learn_target(struct mdm_engine *engine, const char *computer, size_t *index_out)
{
    for (size_t i = 0; i < engine->target_count; i++) {
        if (mdm_ascii_iequal(engine->targets[i], computer)) {
            if (index_out != NULL)
                *index_out = i;
            return 0;
        }
    }
    return append_target(engine, computer, index_out);
}

struct mdm_instance *mdm_engine_find_instance(struct mdm_engine *engine, size_t target,
                                              const char *monitor_id)
{
    if (target >= engine->target_count)
        return NULL;
    for (size_t m = 0; m < engine->def_count; m++) {
        struct mdm_instance *inst = &engine->instances[target * engine->def_count + m];
        if (strcmp(inst->def->id, monitor_id) == 0)
            return inst;
    }
    return NULL;
}

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
static int change_state(struct mdm_engine *engine, struct mdm_instance *inst,
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
    arm_all(engine); /* instances restored without a pending schedule */
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
    return change_state(engine, inst, health, &synth, MDM_CAUSE_TIMER, due, cb, ctx);
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
    rc = change_state(engine, inst, det->health, &synth, MDM_CAUSE_TIMER, due, cb, ctx);
    return rc < 0 ? rc : 1;
}

/* Fires the timers due at or before now, in due order (row order on ties). */
int mdm_engine_advance(struct mdm_engine *engine, int64_t now_ms, mdm_transition_cb cb, void *ctx,
                       struct mdm_err *err)
{
    (void)err;
    arm_instances(engine, now_ms > engine->now_ms ? now_ms : engine->now_ms);
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
        rc = change_state(engine, next, next->def->reset_health, &synth, MDM_CAUSE_TIMER, due, cb,
                          ctx);
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
        if (needs_arming(engine, def))
            arm_all(engine);
        if (def->reset == MDM_RESET_MANUAL) {
            health = def->reset_health;
            snprintf(text, sizeof(text), "%s: manual reset",
                     def->reset_state_id ? def->reset_state_id : "ManualResetEventRaised");
        } else {
            health = MDM_HEALTH_HEALTHY;
            snprintf(text, sizeof(text), "Reset Health: manual reset to healthy");
        }
        synthetic_event(&synth, engine, inst, engine->now_ms, text);
        rc = change_state(engine, inst, health, &synth, MDM_CAUSE_RESET, engine->now_ms, cb, ctx);
        if (rc != 0)
            return rc;
    }
    arm_instances(engine, engine->now_ms);
    if (!target_found)
        return mdm_err_set(err, MDM_ENOTFOUND, "monitor %s has no target %s%s", monitor_id,
                           target ? target : "",
                           engine->target_count == 0 ? " (no target has been seen yet)" : "");
    return 0;
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
    target = find_target(engine, computer);
    if (target < 0) {
        size_t added;
        if (!engine->dynamic_targets || engine->fixed_targets)
            return 0;
        rc = append_target(engine, computer, &added);
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
        arm_instances(engine, engine->now_ms);
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
            rc = change_state(engine, inst, det->health, ev, MDM_CAUSE_EVENT, engine->now_ms, cb,
                              ctx);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

size_t mdm_engine_instance_count(const struct mdm_engine *engine)
{
    return engine->instance_count;
}

struct mdm_instance *mdm_engine_instance(struct mdm_engine *engine, size_t i)
{
    return i < engine->instance_count ? &engine->instances[i] : NULL;
}

size_t mdm_engine_target_count(const struct mdm_engine *engine)
{
    return engine->target_count;
}

const char *mdm_engine_target(const struct mdm_engine *engine, size_t i)
{
    return i < engine->target_count ? engine->targets[i] : NULL;
}

void mdm_engine_pack_counts(const struct mdm_engine *engine, size_t *loaded, size_t *skipped)
{
    *loaded = engine->pack->monitor_count;
    *skipped = engine->pack->skip_count;
}

const struct mdm_engine_stats *mdm_engine_stats(const struct mdm_engine *engine)
{
    return &engine->stats;
}

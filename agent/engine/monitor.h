/*
 * monitor.h - the two-state event monitor, per monitor definition x target.
 *
 * Evaluates a monitor type's composition (pack.h: event detectors, an
 * optional consolidator, a reset by event, timer or manual reset) as SCOM
 * does: a detection moves the monitor to that detection's health state. An
 * alert is raised only on entering AlertOnState (or worse); a repeat while
 * already there is counted and raises nothing; with AutoResolve the return
 * below AlertOnState resolves the open alert. Time is passed in (see
 * mdm_engine_advance); the engine reads no clock and makes no OS call.
 *
 * Targets: a monitor runs once per target computer. Either the targets are
 * fixed (mdm_engine_add_target), or with `dynamic_targets` every computer
 * that appears in the events becomes a target of its own, in order of first
 * appearance (restricted to the fixed ones when any are given).
 */
#ifndef MDM_MONITOR_H
#define MDM_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wevt/event.h"
#include "agent/common/mdm_err.h"
#include "agent/engine/pack.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MDM_TARGETS_MAX           4096u /* dynamic targets kept; more are reported, not tracked */
#define MDM_COMPUTER_NAME_MAX     256u  /* longer computer names are cut */
#define MDM_ALERT_TEXT_MAX        2048u /* alert description after parameter substitution */
#define MDM_STATE_DESCRIPTION_MAX 1024u /* description kept in the monitor state */

enum mdm_alert_action {
    MDM_ALERT_NONE = 0,
    MDM_ALERT_RAISED,
    MDM_ALERT_RESOLVED,
    MDM_ALERT_UPDATED, /* an open alert changed severity (Warning <-> Error) */
};

/* The persisted state of one monitor x target (one row of mdmMonitorTable). */
struct mdm_monitor_state {
    enum mdm_health health;
    bool alert_active;
    enum mdm_severity alert_severity; /* of the open alert */
    uint64_t repeat_count;            /* events confirming the current state since it changed */
    uint64_t change_count;            /* state changes seen */
    int64_t last_change_ms;           /* time of the event that caused the last change */
    uint32_t last_event_id;           /* display number of the last matching event */
    uint64_t last_record_id;
    int64_t last_event_ms;
    char last_description[MDM_STATE_DESCRIPTION_MAX];

    /*
     * Pending time-driven work, on the engine's timeline (ms since the Unix
     * epoch; see mdm_engine_advance). Saved with the state, so a restart
     * resumes them; 0 = nothing pending.
     */
    int64_t timer_due_ms;    /* MDM_RESET_TIMER: when TimerEventRaised fires */
    int64_t window_start_ms; /* consolidator, window mode: when the open window started */
    uint32_t window_count;   /* consolidator: matches counted in the open window */
};

struct mdm_instance {
    unsigned index; /* 1-based row index: target-major, monitors in pack order */
    const struct mdm_monitor_def *def;
    size_t target; /* index into the engine's target list */
    struct mdm_monitor_state state;
    /* Consolidator, sliding mode: the times of the matches in the last
     * Interval, oldest first (window_count of them). Owned by the engine. */
    int64_t *window_times;
};

/* What caused a transition. */
enum mdm_cause {
    MDM_CAUSE_EVENT = 0, /* a matching event (or the Count-th repeat of one) */
    MDM_CAUSE_TIMER,     /* time: TimerEventRaised, a missing event's schedule, a correlator
                            window's end, a service probe */
    MDM_CAUSE_RESET,     /* mdm_engine_reset (ManualResetEventRaised / Reset Health) */
};

/* One state change, handed to the caller's callback. Valid during the call only. */
struct mdm_transition {
    const struct mdm_instance *instance;
    const struct mdm_monitor_def *def;
    const char *target;
    enum mdm_health from, to;
    enum mdm_alert_action alert;
    enum mdm_severity severity; /* of the alert raised/resolved/updated, NONE otherwise */
    enum mdm_priority priority;
    const struct mdm_event *event;
    const char *description; /* the event's EventDescription */
    const char *alert_name;  /* alert title, when an alert is raised/resolved/updated */
    const char *alert_text;  /* alert description with {0}.. filled, or "" */
    uint64_t repeats_before; /* repeats of the previous state that this change ended */
    /*
     * Why: for MDM_CAUSE_TIMER and MDM_CAUSE_RESET, `event` is a synthetic
     * event (never NULL) naming the target computer and the monitor's log,
     * record 0, event ID 0, time = when the timer fired / the reset was made,
     * description saying what happened.
     */
    enum mdm_cause cause;
    int64_t time_ms; /* engine time of the transition */
};

typedef int (*mdm_transition_cb)(const struct mdm_transition *t, void *ctx);

struct mdm_engine_stats {
    uint64_t events;  /* events offered */
    uint64_t matched; /* events that matched a detector of some instance */
    uint64_t changes; /* state changes */
    uint64_t repeats; /* matches that confirmed the current state */
    uint64_t alerts_raised;
    uint64_t alerts_resolved;
    uint64_t targets_dropped; /* events from computers beyond MDM_TARGETS_MAX */
    uint64_t timers_fired;    /* timers that fired: resets, schedule periods, correlator windows,
                                 service probes */
    uint64_t resets;          /* mdm_engine_reset calls that reached an instance */
    uint64_t probes;          /* service probes made (CheckNTServiceStateMonitorType) */
    uint64_t probe_failures;  /* probes that failed or answered "unknown": no state change */
};

/*
 * The service-state monitor type (Microsoft.Windows.CheckNTServiceStateMonitorType)
 * asks whether a service runs. The engine makes no OS call: the program gives
 * it a probe (run: the Service Control Manager through agent/os; replay sets
 * none, and such monitors are then not evaluated, see
 * mdm_engine_service_monitors_waiting).
 */
enum mdm_service_state {
    MDM_SERVICE_STATE_UNKNOWN = 0, /* could not be asked: no state change */
    MDM_SERVICE_STATE_RUNNING,
    MDM_SERVICE_STATE_NOT_RUNNING, /* stopped, paused, pending, or not installed */
};

struct mdm_service_status {
    enum mdm_service_state state;
    bool automatic_start; /* its start type is Automatic (for CheckStartupType) */
    char detail[128];     /* e.g. "stopped", "access denied": goes into the description */
};

/*
 * Called from mdm_engine_advance when a service monitor's probe is due (every
 * mdm_monitor_def.probe_interval_ms per monitor x target). computer is the
 * target computer (or the monitor's literal ComputerName), service the
 * <ServiceName> (the SCM key name, e.g. "RemoteAccess"). Fills *out and
 * returns 0, or a negative code (treated as unknown). Must not call back into
 * the engine.
 */
typedef int (*mdm_service_probe_fn)(const char *computer, const char *service,
                                    struct mdm_service_status *out, void *ctx);

struct mdm_engine;

/*
 * Creates an engine over `pack` (which must outlive the engine). With
 * dynamic_targets, computers become targets as events arrive. On success
 * *out is owned by the caller (mdm_engine_free).
 */
int mdm_engine_new(const struct mdm_pack *pack, bool dynamic_targets, struct mdm_engine **out,
                   struct mdm_err *err);
void mdm_engine_free(struct mdm_engine *engine);

/*
 * Adds a fixed target computer (config `target` lines, or this computer).
 * When fixed targets exist, events from other computers are not evaluated.
 * Returns its target index through *index_out (may be NULL).
 */
int mdm_engine_add_target(struct mdm_engine *engine, const char *computer, size_t *index_out);

/*
 * Adds a target learned earlier (restored from the state store) without
 * making the target list fixed. Returns its index through *index_out.
 */
int mdm_engine_learn_target(struct mdm_engine *engine, const char *computer, size_t *index_out);

/* The instance of monitor `monitor_id` for target index `target`, or NULL. */
struct mdm_instance *mdm_engine_find_instance(struct mdm_engine *engine, size_t target,
                                              const char *monitor_id);

/*
 * Evaluates one event. For each state change, calls cb (which may be NULL);
 * a negative return from cb stops processing and is returned. Returns 0 or
 * a negative error code.
 */
int mdm_engine_process(struct mdm_engine *engine, const struct mdm_event *ev, mdm_transition_cb cb,
                       void *ctx, struct mdm_err *err);

/*
 * Time. The engine never reads a clock: time is passed in, in ms on the
 * engine's timeline (Unix epoch based).
 *
 * - mdm_engine_process first advances the engine to the event's TimeCreated
 *   (when later than the engine's time), so a replay is driven by event time.
 * - mdm_engine_advance(now) fires every timer due at or before now, in due
 *   order (then row order), calling cb for each state change; time never
 *   goes back (an earlier now is ignored). `run` calls it from its event loop
 *   at mdm_engine_next_deadline() with a monotonic-derived now (docs/monitor.md).
 * - mdm_engine_next_deadline: the earliest pending timer, or INT64_MAX.
 */
int mdm_engine_advance(struct mdm_engine *engine, int64_t now_ms, mdm_transition_cb cb, void *ctx,
                       struct mdm_err *err);
int64_t mdm_engine_next_deadline(const struct mdm_engine *engine);
/* The pending timers were changed from outside (the state store): rescan. */
void mdm_engine_invalidate_deadline(struct mdm_engine *engine);
/* The engine's current time (the latest event time or advance), 0 before any. */
int64_t mdm_engine_now(const struct mdm_engine *engine);

/*
 * Manual reset: the OnDemandDetection of the manual-reset types
 * (ManualResetEventRaised -> its OperationalState's health); for a monitor
 * of another type, SCOM's "Reset Health" (-> healthy). Pending timers and
 * consolidation windows of the instance are cleared. target NULL resets the
 * monitor on every target; otherwise target names a target computer (as
 * mdm_computer_matches). now_ms is the time of the reset (advanced to first,
 * as mdm_engine_advance). Returns 0 (also when already in that health: no
 * transition), MDM_ENOTFOUND (no such monitor, or no such target) with a
 * message, or the callback's negative return.
 */
int mdm_engine_reset(struct mdm_engine *engine, const char *monitor_id, const char *target,
                     int64_t now_ms, mdm_transition_cb cb, void *ctx, struct mdm_err *err);

/*
 * Sets (or, with fn NULL, removes) the service probe. With a probe, every
 * service monitor x target is probed at the next mdm_engine_advance and then
 * every probe_interval_ms through the engine's timers (its due time is part
 * of the saved state like any timer). A probe's result moves the monitor to
 * the health of Running or NotRunning (cause MDM_CAUSE_TIMER).
 */
void mdm_engine_set_service_probe(struct mdm_engine *engine, mdm_service_probe_fn fn, void *ctx);

/* Service monitors that are not evaluated because no probe is set (replay). */
size_t mdm_engine_service_monitors_waiting(const struct mdm_engine *engine);

/* True when def has time-driven work (a reset timer, a missing-event schedule,
 * a correlator window, a service probe): its due time is saved with the state. */
bool mdm_monitor_def_timed(const struct mdm_monitor_def *def);

/* The detector of def with a time-driven condition (missing event, correlator), or -1. */
int mdm_monitor_def_timed_detector(const struct mdm_monitor_def *def);

/* "event", "timer", "reset". */
const char *mdm_cause_name(enum mdm_cause cause);

size_t mdm_engine_instance_count(const struct mdm_engine *engine);
/* The i-th instance (0-based; its row index is i + 1). */
struct mdm_instance *mdm_engine_instance(struct mdm_engine *engine, size_t i);
size_t mdm_engine_target_count(const struct mdm_engine *engine);
const char *mdm_engine_target(const struct mdm_engine *engine, size_t i);
const struct mdm_engine_stats *mdm_engine_stats(const struct mdm_engine *engine);

/*
 * The engine's pack set: monitors loaded (evaluated) and skipped (not
 * evaluable, reported by the loader). For the MIB's loaded/skipped counts.
 */
void mdm_engine_pack_counts(const struct mdm_engine *engine, size_t *loaded, size_t *skipped);

/* Case-insensitive computer name match; "dm01" also matches "DM01.contoso.com". */
bool mdm_computer_matches(const char *a, const char *b);

#ifdef __cplusplus
}
#endif

#endif

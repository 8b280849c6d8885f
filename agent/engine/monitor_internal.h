/*
 * monitor_internal.h - the engine of monitor.h, shared by its parts:
 * monitor.c (the engine, its targets and instances, arming), monitor_state.c
 * (events: detection, consolidation, state changes) and monitor_timer.c
 * (timers, service probes and resets). Private to those files.
 */
#ifndef MDM_ENGINE_MONITOR_INTERNAL_H
#define MDM_ENGINE_MONITOR_INTERNAL_H

#include "agent/engine/monitor.h"

#include "agent/common/mdm_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
     * been started yet: started at the next known time (monitor_arm_instances). */
    bool arm_pending;
    size_t arm_from; /* instances before this index need no arming */
    mdm_service_probe_fn probe;
    void *probe_ctx;
};

/* monitor.c: starts the schedules and probes of the instances not armed yet, at now. */
void monitor_arm_instances(struct mdm_engine *engine, int64_t now);
/* monitor.c: marks every instance as to be armed again. */
void monitor_arm_all(struct mdm_engine *engine);
/* monitor.c: whether def has a schedule or a probe to arm. */
bool monitor_needs_arming(const struct mdm_engine *engine, const struct mdm_monitor_def *def);
/* monitor.c: adds a target and its instances (see there). */
int monitor_append_target(struct mdm_engine *engine, const char *computer, size_t *index_out);
/* monitor.c: the index of the target computer, or -1. */
long monitor_find_target(const struct mdm_engine *engine, const char *computer);
/* monitor_state.c: moves inst to a new state and reports the transition (see there). */
int monitor_change_state(struct mdm_engine *engine, struct mdm_instance *inst,
                         enum mdm_health health, const struct mdm_event *ev, enum mdm_cause cause,
                         int64_t time_ms, mdm_transition_cb cb, void *ctx);

#endif

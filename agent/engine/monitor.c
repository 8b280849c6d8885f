/*
 * monitor.c - the monitor state machine (see monitor.h): the composition of
 * each type (pack.h) evaluated per target, with time passed in.
 */
#include "agent/engine/monitor_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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
void monitor_arm_instances(struct mdm_engine *engine, int64_t now)
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
void monitor_arm_all(struct mdm_engine *engine)
{
    engine->arm_pending = true;
    engine->arm_from = 0;
}

/* True when def has something monitor_arm_instances starts. */
bool monitor_needs_arming(const struct mdm_engine *engine, const struct mdm_monitor_def *def)
{
    return missing_detector(def) != NULL || (def->service_name != NULL && engine->probe != NULL);
}

void mdm_engine_set_service_probe(struct mdm_engine *engine, mdm_service_probe_fn fn, void *ctx)
{
    engine->probe = fn;
    engine->probe_ctx = ctx;
    if (fn != NULL) {
        monitor_arm_all(engine);
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
int monitor_append_target(struct mdm_engine *engine, const char *computer, size_t *index_out)
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
        if (monitor_needs_arming(engine, inst->def))
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
long monitor_find_target(const struct mdm_engine *engine, const char *computer)
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
    long found = monitor_find_target(engine, computer);

    engine->fixed_targets = true;
    if (found >= 0 && mdm_ascii_iequal(engine->targets[found], computer)) {
        if (index_out != NULL)
            *index_out = (size_t)found;
        return 0;
    }
    return monitor_append_target(engine, computer, index_out);
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
    return monitor_append_target(engine, computer, index_out);
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

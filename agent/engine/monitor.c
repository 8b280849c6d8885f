/*
 * monitor.c - the two-state event monitor state machine (see monitor.h).
 */
#include "agent/engine/monitor.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_text.h"

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
};

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
        if (mdm_event_get(ev, &param->field, &value) != 0)
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

/* Applies the health reached by a matching event to inst. */
static int apply(struct mdm_engine *engine, struct mdm_instance *inst, enum mdm_health health,
                 const struct mdm_event *ev, mdm_transition_cb cb, void *ctx)
{
    const struct mdm_monitor_def *def = inst->def;
    struct mdm_monitor_state *st = &inst->state;
    struct mdm_transition t;
    bool in_alert_state;

    engine->stats.matched++;
    st->last_event_id = mdm_event_display_number(ev);
    st->last_record_id = ev->record_id;
    st->last_event_ms = ev->time_unix_ms;
    mdm_utf8_copy(st->last_description, sizeof(st->last_description),
                  ev->description ? ev->description : "");
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
    st->last_change_ms = ev->time_unix_ms;
    engine->stats.changes++;
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

int mdm_engine_process(struct mdm_engine *engine, const struct mdm_event *ev, mdm_transition_cb cb,
                       void *ctx, struct mdm_err *err)
{
    const char *computer = ev->computer ? ev->computer : "";
    long target;
    int rc;

    engine->stats.events++;
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
    }
    for (size_t m = 0; m < engine->def_count; m++) {
        struct mdm_instance *inst = &engine->instances[(size_t)target * engine->def_count + m];
        const struct mdm_monitor_def *def = inst->def;
        const char *name = engine->targets[target];
        /*
         * The two detectors are two independent data sources in SCOM; when one
         * event satisfies both, both fire, First before Second.
         */
        for (int d = 0; d < 2; d++) {
            const struct mdm_detector *det = &def->detectors[d];
            if (!detector_sees(det, def, name, ev) || !mdm_expr_eval(det->expr, ev))
                continue;
            rc = apply(engine, inst, det->health, ev, cb, ctx);
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

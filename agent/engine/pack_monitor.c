/*
 * pack_monitor.c - compiles one <UnitMonitor> of an implemented type (see pack_internal.h).
 */
#include "agent/engine/pack_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"

#include <libxml/tree.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/*
 * Parses a non-negative whole number of seconds (or a count) from a
 * configuration element; max bounds it. Returns 0 or fails naming the element.
 */
static int parse_count(struct loader *ld, const xmlNode *node, unsigned long long max,
                       unsigned long long *out)
{
    char msg[300];
    char *text = pack_text_of(node);
    char *end = NULL;
    unsigned long long v;
    int rc = 0;

    if (text == NULL)
        return MDM_ENOMEM;
    v = strtoull(text, &end, 10);
    if (text[0] == '\0' || text[0] == '-' || end == NULL || *end != '\0' || v > max) {
        snprintf(msg, sizeof(msg), "<%.64s> must be a whole number from 0 to %llu, not \"%.64s\"",
                 node->name, max, text);
        rc = pack_fail(ld, node, MDM_EPARSE, msg);
    } else {
        *out = v;
    }
    mdm_free(text);
    return rc;
}

/*
 * Reads the System.ConsolidatorCondition settings a repeated-event type
 * passes through: <ConsolidationProperties/> (must be empty: grouping by
 * event properties is not implemented), <TimeControl><WithinTimeSchedule>
 * <Interval>, <CountingCondition><Count> and <CountMode>.
 */
static int load_consolidator(struct loader *ld, const xmlNode *c, struct mdm_detector *d)
{
    char msg[300];
    unsigned long long v;
    int rc = 0;

    if (pack_is_element(c, "ConsolidationProperties")) {
        for (const xmlNode *p = c->children; p != NULL; p = p->next)
            if (p->type == XML_ELEMENT_NODE)
                return pack_fail(ld, p, MDM_EUNSUPPORTED,
                                 "consolidation by event properties (<ConsolidationProperties> "
                                 "not empty) is not supported");
        return 0;
    }
    if (pack_is_element(c, "TimeControl")) {
        const xmlNode *within = pack_child(c, "WithinTimeSchedule");
        const xmlNode *interval = within ? pack_child(within, "Interval") : NULL;
        for (const xmlNode *p = c->children; p != NULL; p = p->next)
            if (p->type == XML_ELEMENT_NODE && !pack_is_element(p, "WithinTimeSchedule") &&
                !pack_is_element(p, "Latency") && !pack_is_element(p, "DrainWait")) {
                snprintf(msg, sizeof(msg), "unsupported element <%.64s> in <TimeControl>", p->name);
                return pack_fail(ld, p, MDM_EUNSUPPORTED, msg);
            }
        if (interval == NULL)
            return pack_fail(ld, c, MDM_EUNSUPPORTED,
                             "<TimeControl> without <WithinTimeSchedule><Interval> (a "
                             "consolidation on a weekly schedule) is not supported");
        rc = parse_count(ld, interval, 366ull * 86400, &v);
        if (rc == 0 && v == 0)
            rc = pack_fail(ld, interval, MDM_EPARSE, "<Interval> must be at least 1 second");
        if (rc == 0)
            d->repeat_interval_ms = (int64_t)v * 1000;
        return rc;
    }
    /* CountingCondition */
    for (const xmlNode *p = c->children; p != NULL && rc == 0; p = p->next) {
        char *mode;
        if (p->type != XML_ELEMENT_NODE)
            continue;
        if (pack_is_element(p, "Count")) {
            rc = parse_count(ld, p, MDM_REPEAT_COUNT_MAX, &v);
            if (rc == 0 && v == 0)
                rc = pack_fail(ld, p, MDM_EPARSE, "<Count> must be at least 1");
            if (rc == 0)
                d->repeat_count = (unsigned)v;
            if (rc == MDM_EPARSE && v > MDM_REPEAT_COUNT_MAX) {
                mdm_err_clear(ld->err);
                snprintf(msg, sizeof(msg), "a consolidator <Count> above %u is not supported",
                         MDM_REPEAT_COUNT_MAX);
                rc = pack_fail(ld, p, MDM_EUNSUPPORTED, msg);
            }
            continue;
        }
        if (!pack_is_element(p, "CountMode")) {
            snprintf(msg, sizeof(msg), "unsupported element <%.64s> in <CountingCondition>",
                     p->name);
            return pack_fail(ld, p, MDM_EUNSUPPORTED, msg);
        }
        mode = pack_text_of(p);
        if (mode == NULL)
            return MDM_ENOMEM;
        if (strcmp(mode, "OnNewItemTestOutputRestart_OnTimerRestart") == 0)
            d->count_mode = MDM_COUNT_WINDOW_RESTART;
        else if (strcmp(mode, "OnNewItemTestOutputRestart_OnTimerSlideByOne") == 0)
            d->count_mode = MDM_COUNT_SLIDING;
        else {
            snprintf(msg, sizeof(msg), "unsupported consolidator <CountMode> %.64s", mode);
            rc = pack_fail(ld, p, MDM_EUNSUPPORTED, msg);
        }
        mdm_free(mode);
    }
    return rc;
}

int pack_load_consolidator(struct loader *ld, const xmlNode *consolidator, struct mdm_detector *d)
{
    char msg[300];
    int rc;

    for (const xmlNode *s = consolidator->children; s != NULL; s = s->next) {
        if (s->type != XML_ELEMENT_NODE)
            continue;
        if (!pack_is_element(s, "ConsolidationProperties") && !pack_is_element(s, "TimeControl") &&
            !pack_is_element(s, "CountingCondition")) {
            snprintf(msg, sizeof(msg), "unsupported element <%.64s> in <Consolidator>", s->name);
            return pack_fail(ld, s, MDM_EUNSUPPORTED, msg);
        }
        rc = load_consolidator(ld, s, d);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * Reads the monitor's <Configuration> for its type: [First|Second]ComputerName,
 * LogName and Expression (no prefix for the single-detector types), the
 * consolidator settings of the repeated types and TimerWaitInSeconds.
 */
static int load_configuration(struct loader *ld, const xmlNode *config,
                              const struct pack_type_spec *spec, struct mdm_monitor_def *def)
{
    bool has_timer = false;
    char msg[300];
    int rc;

    def->detector_count = spec->detectors;
    def->reset = spec->reset;
    if (spec->repeated) {
        def->detectors[0].condition = MDM_CONDITION_CONSOLIDATOR;
        def->detectors[0].repeat_count = 1;
    }
    for (const xmlNode *c = config->children; c != NULL; c = c->next) {
        const char *name = (const char *)c->name;
        int which;
        const char *rest;
        char *text;

        if (c->type != XML_ELEMENT_NODE)
            continue;
        which = -1;
        rest = name;
        for (size_t d = 0; d < spec->detectors; d++) {
            size_t plen = strlen(spec->prefixes[d]);
            const char *r = name + plen;
            if (strncmp(name, spec->prefixes[d], plen) == 0 &&
                (strcmp(r, "ComputerName") == 0 || strcmp(r, "LogName") == 0 ||
                 strcmp(r, "Expression") == 0)) {
                which = (int)d;
                rest = r;
                break;
            }
        }
        if (spec->repeated && strcmp(name, "Consolidator") == 0) {
            rc = pack_load_consolidator(ld, c, &def->detectors[0]);
            if (rc != 0)
                return rc;
            continue;
        }
        if (spec->reset == MDM_RESET_TIMER && strcmp(name, "TimerWaitInSeconds") == 0) {
            unsigned long long v;
            rc = parse_count(ld, c, 366ull * 86400, &v);
            if (rc != 0)
                return rc;
            def->timer_ms = (int64_t)v * 1000;
            has_timer = true;
            continue;
        }
        if (which >= 0 && strcmp(rest, "Expression") == 0) {
            rc = mdm_expr_compile((xmlNode *)c, ld->origin, &def->detectors[which].expr, ld->err);
            if (rc != 0)
                return rc;
            continue;
        }
        if (which >= 0 && (strcmp(rest, "ComputerName") == 0 || strcmp(rest, "LogName") == 0)) {
            text = pack_text_of(c);
            if (text == NULL)
                return MDM_ENOMEM;
            if (rest[0] == 'C') {
                rc = pack_parse_param(ld, c, text, &def->detectors[which].computer);
                mdm_free(text);
                if (rc != 0)
                    return rc;
            } else {
                def->detectors[which].log_name = text;
            }
            continue;
        }
        snprintf(msg, sizeof(msg), "unsupported configuration element <%.64s> for monitor type %s",
                 name, spec->name);
        return pack_fail(ld, c, MDM_EUNSUPPORTED, msg);
    }
    for (size_t i = 0; i < spec->detectors; i++) {
        const char *p = spec->prefixes[i];
        if (def->detectors[i].expr == NULL || def->detectors[i].log_name == NULL ||
            def->detectors[i].computer.text == NULL) {
            snprintf(msg, sizeof(msg),
                     "<Configuration> lacks %sComputerName, %sLogName or %sExpression", p, p, p);
            return pack_fail(ld, config, MDM_EPARSE, msg);
        }
    }
    if (spec->repeated && def->detectors[0].repeat_interval_ms == 0)
        return pack_fail(ld, config, MDM_EPARSE,
                         "<Configuration> lacks <Consolidator><TimeControl><WithinTimeSchedule>"
                         "<Interval>");
    if (spec->reset == MDM_RESET_TIMER && !has_timer)
        return pack_fail(ld, config, MDM_EPARSE, "<Configuration> lacks <TimerWaitInSeconds>");
    return 0;
}

/* Maps <OperationalState MonitorTypeStateID=... HealthState=...> onto the type's states. */
static int load_operational_states(struct loader *ld, const xmlNode *states,
                                   const struct pack_type_spec *spec, struct mdm_monitor_def *def)
{
    bool seen[3] = {false, false, false};
    char msg[400];
    int rc = 0;

    for (const xmlNode *c = states->children; c != NULL; c = c->next) {
        char *id = NULL, *type_state = NULL, *health = NULL;
        enum mdm_health h = MDM_HEALTH_HEALTHY; /* set by pack_parse_health */
        int which = -1;

        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!pack_is_element(c, "OperationalState"))
            return pack_fail(ld, c, MDM_EPARSE, "unexpected element in <OperationalStates>");
        id = pack_attr_of(c, "ID");
        type_state = pack_attr_of(c, "MonitorTypeStateID");
        health = pack_attr_of(c, "HealthState");
        if (type_state == NULL || health == NULL) {
            rc =
                pack_fail(ld, c, MDM_EPARSE,
                          "<OperationalState> needs MonitorTypeStateID and HealthState attributes");
            goto next;
        }
        for (int s = 0; s < 3; s++)
            if (spec->state_ids[s] != NULL && strcmp(type_state, spec->state_ids[s]) == 0)
                which = s;
        if (which < 0) {
            snprintf(msg, sizeof(msg), "unknown MonitorTypeStateID \"%.64s\" (expected %s or %s)",
                     type_state, spec->state_ids[0],
                     spec->state_ids[1] ? spec->state_ids[1] : spec->state_ids[2]);
            rc = pack_fail(ld, c, MDM_EPARSE, msg);
            goto next;
        }
        if (seen[which]) {
            rc = pack_fail(ld, c, MDM_EPARSE, "MonitorTypeStateID mapped twice");
            goto next;
        }
        rc = pack_parse_health(ld, c, health, &h);
        if (rc != 0)
            goto next;
        seen[which] = true;
        if (which < 2) {
            def->detectors[which].health = h;
            def->detectors[which].state_id = id;
        } else {
            def->reset_health = h;
            def->reset_state_id = id;
        }
        id = NULL;
    next:
        mdm_free(id);
        mdm_free(type_state);
        mdm_free(health);
        if (rc != 0)
            return rc;
    }
    for (int s = 0; s < 3; s++) {
        if (spec->state_ids[s] != NULL && !seen[s]) {
            snprintf(msg, sizeof(msg), "<OperationalStates> must map both %s and %s",
                     spec->state_ids[0],
                     spec->state_ids[1] ? spec->state_ids[1] : spec->state_ids[2]);
            return pack_fail(ld, states, MDM_EPARSE, msg);
        }
    }
    return 0;
}

/*
 * Reads <AlertParameters> into def->alert_params, an array sized to the
 * highest AlertParameterN given (most monitors have one or two of the ten).
 */
static int load_alert_parameters(struct loader *ld, const xmlNode *list,
                                 struct mdm_monitor_def *def)
{
    struct mdm_param params[MDM_ALERT_PARAMS_MAX];
    size_t count = 0;
    char *text;
    int rc = 0;

    memset(params, 0, sizeof(params));
    for (const xmlNode *p = list->children; p != NULL && rc == 0; p = p->next) {
        unsigned n;
        char tail;
        if (p->type != XML_ELEMENT_NODE)
            continue;
        if (sscanf((const char *)p->name, "AlertParameter%u%c", &n, &tail) != 1 || n < 1 ||
            n > MDM_ALERT_PARAMS_MAX) {
            rc = pack_fail(ld, p, MDM_EUNSUPPORTED,
                           "alert parameters must be AlertParameter1 ... AlertParameter10");
            break;
        }
        if (params[n - 1].text != NULL) {
            rc = pack_fail(ld, p, MDM_EPARSE, "alert parameter given twice");
            break;
        }
        text = pack_text_of(p);
        if (text == NULL) {
            rc = MDM_ENOMEM;
            break;
        }
        rc = pack_parse_param(ld, p, text, &params[n - 1]);
        mdm_free(text);
        if (n > count)
            count = n;
    }
    if (rc == 0 && count > 0 && def->alert_params == NULL) {
        def->alert_params = mdm_calloc(count, sizeof(*def->alert_params));
        if (def->alert_params == NULL)
            rc = MDM_ENOMEM;
    } else if (rc == 0 && count > 0) {
        rc = pack_fail(ld, list, MDM_EPARSE, "<AlertParameters> given twice");
    }
    if (rc != 0) {
        for (size_t i = 0; i < MDM_ALERT_PARAMS_MAX; i++)
            pack_free_param(&params[i]);
        return rc;
    }
    if (count > 0)
        memcpy(def->alert_params, params, count * sizeof(*params));
    def->alert_param_count = count;
    return 0;
}

static int load_alert_settings(struct loader *ld, const xmlNode *settings,
                               struct mdm_monitor_def *def)
{
    char msg[300];
    int rc;

    def->alert_generate = true;
    def->alert_on_state = MDM_HEALTH_ERROR;
    def->severity_matches_health = true;
    def->priority = MDM_PRIORITY_NORMAL;
    def->alert_message_id = pack_attr_of(settings, "AlertMessage");

    for (const xmlNode *c = settings->children; c != NULL; c = c->next) {
        char *text;

        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (pack_is_element(c, "AlertParameters")) {
            rc = load_alert_parameters(ld, c, def);
            if (rc != 0)
                return rc;
            continue;
        }
        text = pack_text_of(c);
        if (text == NULL)
            return MDM_ENOMEM;
        rc = 0;
        if (pack_is_element(c, "AlertOnState")) {
            rc = pack_parse_health(ld, c, text, &def->alert_on_state);
            if (rc == 0 && def->alert_on_state == MDM_HEALTH_HEALTHY)
                rc = pack_fail(ld, c, MDM_EPARSE, "AlertOnState must be Warning or Error");
        } else if (pack_is_element(c, "AutoResolve")) {
            def->auto_resolve = strcmp(text, "true") == 0;
        } else if (pack_is_element(c, "AlertPriority")) {
            if (strcmp(text, "Low") == 0)
                def->priority = MDM_PRIORITY_LOW;
            else if (strcmp(text, "High") == 0)
                def->priority = MDM_PRIORITY_HIGH;
            else if (strcmp(text, "Normal") == 0)
                def->priority = MDM_PRIORITY_NORMAL;
            else
                rc = pack_fail(ld, c, MDM_EPARSE, "AlertPriority must be Low, Normal or High");
        } else if (pack_is_element(c, "AlertSeverity")) {
            def->severity_matches_health = false;
            if (strcmp(text, "MatchMonitorHealth") == 0)
                def->severity_matches_health = true;
            else if (strcmp(text, "Error") == 0 || strcmp(text, "Critical") == 0)
                def->severity = MDM_SEVERITY_CRITICAL;
            else if (strcmp(text, "Warning") == 0)
                def->severity = MDM_SEVERITY_WARNING;
            else if (strcmp(text, "Information") == 0)
                def->severity = MDM_SEVERITY_INFORMATION;
            else
                rc = pack_fail(ld, c, MDM_EPARSE,
                               "AlertSeverity must be MatchMonitorHealth, Information, Warning or "
                               "Error");
        } else if (pack_is_element(c, "AlertMessage")) {
            /* Some authoring tools write the message ID as an element. */
            mdm_free(def->alert_message_id);
            def->alert_message_id = text;
            text = NULL;
        } else if (pack_is_element(c, "Suppression") || pack_is_element(c, "AlertName") ||
                   pack_is_element(c, "AlertDescription")) {
            /* Presentation-only settings; they do not change state or alerts here. */
        } else {
            snprintf(msg, sizeof(msg), "unsupported element <%.64s> in <AlertSettings>", c->name);
            rc = pack_fail(ld, c, MDM_EUNSUPPORTED, msg);
        }
        mdm_free(text);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * Scans the text below a <Configuration> for $...$ references that mdmhealth
 * cannot substitute. ComputerName elements are compiled by parse_param; any
 * other $Target/...$, $Config/...$, $MPElement...$ or $RunAs...$ (an
 * expression <Value>, a LogName) would otherwise be compared literally.
 */
static int check_config_references(struct loader *ld, const xmlNode *node)
{
    static const char *const prefixes[] = {"$Target/", "$Config/", "$MPElement", "$RunAs"};
    char msg[400];

    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            size_t n = strlen((const char *)c->name);
            int rc;
            if (n >= 12 && strcmp((const char *)c->name + n - 12, "ComputerName") == 0)
                continue;
            rc = check_config_references(ld, c);
            if (rc != 0)
                return rc;
        } else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            const char *text = (const char *)c->content;
            for (size_t i = 0; text != NULL && i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                const char *at = strstr(text, prefixes[i]);
                const char *end;
                if (at == NULL)
                    continue;
                end = strchr(at + 1, '$');
                snprintf(msg, sizeof(msg), "reference %.*s in <%.64s>: %s",
                         end ? (int)(end - at + 1) : 64, at, node->name,
                         i == 1 ? "$Config/...$ has nothing to refer to in a unit monitor's own "
                                  "configuration"
                                : "mdmhealth substitutes only the target computer's name, in "
                                  "ComputerName");
                return pack_fail(ld, node, MDM_EUNSUPPORTED, msg);
            }
        }
    }
    return 0;
}

/*
 * Compiles a UnitMonitor of the supported type. The caller has set id,
 * origin, type_id and enabled. MDM_EUNSUPPORTED means a construct inside is
 * not implemented (the monitor is skipped); other codes are errors.
 */
int pack_load_unit_monitor(struct loader *ld, const xmlNode *um, const struct pack_type_spec *spec,
                           struct mdm_monitor_def *def)
{
    const xmlNode *config = NULL, *states = NULL;
    char msg[400];
    char *attr = NULL;
    int rc = 0;

    ld->spec = spec;
    def->target_class = pack_attr_of(um, "Target");
    attr = pack_attr_of(um, "Remotable");
    def->remotable = attr != NULL && strcmp(attr, "true") == 0;
    mdm_free(attr);
    attr = pack_attr_of(um, "ConfirmDelivery");
    def->confirm_delivery = attr != NULL && strcmp(attr, "true") == 0;
    mdm_free(attr);

    for (const xmlNode *c = um->children; c != NULL && rc == 0; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (pack_is_element(c, "Configuration")) {
            rc = check_config_references(ld, c);
            if (rc == 0 && spec != NULL)
                rc = spec->special ? pack_load_special_configuration(ld, c, spec, def)
                                   : load_configuration(ld, c, spec, def);
            config = c;
        } else if (pack_is_element(c, "OperationalStates")) {
            if (spec != NULL)
                rc = load_operational_states(ld, c, spec, def);
            states = c;
        } else if (pack_is_element(c, "AlertSettings"))
            rc = load_alert_settings(ld, c, def);
        else if (pack_is_element(c, "Category") || pack_is_element(c, "MonitorTypeStateID") ||
                 pack_is_element(c, "Comment"))
            continue; /* descriptive only */
        else {
            snprintf(msg, sizeof(msg), "unsupported element <%.64s> in <UnitMonitor>", c->name);
            rc = pack_fail(ld, c, MDM_EUNSUPPORTED, msg);
        }
    }
    if (rc == 0 && spec == NULL) {
        if (config == NULL || states == NULL)
            return pack_fail(ld, um, MDM_EPARSE,
                             "<UnitMonitor> has no <Configuration> or <OperationalStates>");
        rc = pack_compose_monitor(ld, um, config, states, def);
    }
    if (rc == 0 && def->detectors[0].expr == NULL && def->service_name == NULL)
        rc = pack_fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no <Configuration>");
    if (rc == 0 && def->detectors[0].state_id == NULL)
        rc = pack_fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no <OperationalStates>");
    return rc;
}

/* ---- references ------------------------------------------------------------ */

void pack_free_param(struct mdm_param *param)
{
    mdm_free(param->text);
    mdm_free(param->field);
    param->text = NULL;
    param->field = NULL;
}

void pack_free_monitor_def(struct mdm_monitor_def *def)
{
    mdm_free(def->id);
    mdm_free(def->origin);
    mdm_free(def->display_name);
    mdm_free(def->target_class);
    mdm_free(def->type_id);
    for (size_t d = 0; d < MDM_DETECTORS_MAX; d++) {
        mdm_expr_free(def->detectors[d].filter);
        pack_free_param(&def->detectors[d].computer);
        mdm_free(def->detectors[d].log_name);
        mdm_expr_free(def->detectors[d].expr);
        mdm_free(def->detectors[d].state_id);
    }
    mdm_free(def->reset_state_id);
    mdm_free(def->service_name);
    mdm_free(def->alert_message_id);
    mdm_free(def->alert_name);
    mdm_free(def->alert_description);
    for (size_t p = 0; p < def->alert_param_count; p++)
        pack_free_param(&def->alert_params[p]);
    mdm_free(def->alert_params);
    memset(def, 0, sizeof(*def));
}

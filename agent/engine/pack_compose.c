/*
 * pack_compose.c - interprets a UnitMonitorType that a loaded pack defines
 * from Microsoft.Windows.Library's and System.Library's modules, as SCOM
 * runs it: each RegularDetection is a chain of member modules ending in an
 * event data source; the chain becomes a detector (log, computer, the data
 * source's expression, an System.ExpressionFilter's expression, a
 * System.ConsolidatorCondition), and the UnitMonitor's OperationalStates
 * give each detection its health. An OnDemandDetection through
 * System.PassThroughProbe is the manual reset. $Config/NAME$ in the modules'
 * configuration is replaced by the UnitMonitor's <Configuration> element
 * NAME (its text, or its elements when the reference is the whole text).
 *
 * Supported modules (anything else skips the monitor, naming the module):
 *   DataSource        Microsoft.Windows.EventProvider, BaseEventProvider
 *   ConditionDetection System.ExpressionFilter, System.ConsolidatorCondition,
 *                     System.CorrelatorAutoMissingCondition (two input Nodes)
 *   ProbeAction       System.PassThroughProbe (OnDemandDetections only)
 *
 * Also here: the <Configuration> of the library types that are not plain
 * event detectors (pack_load_special_configuration): the missing-event type
 * and the service-state type.
 */
#include "agent/engine/pack_internal.h"

#include "agent/common/mdm_alloc.h"

#include <libxml/tree.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPOSE_DEPTH_MAX 8 /* modules in one detection chain */

/* The member module called id, or NULL. */
static const xmlNode *member(const xmlNode *members, const char *id)
{
    for (const xmlNode *m = members->children; m != NULL; m = m->next) {
        xmlChar *mid;
        bool match;
        if (m->type != XML_ELEMENT_NODE)
            continue;
        mid = xmlGetProp(m, (const xmlChar *)"ID");
        match = mid != NULL && strcmp((const char *)mid, id) == 0;
        xmlFree(mid);
        if (match)
            return m;
    }
    return NULL;
}

/* The UnitMonitor configuration element at path ("A" or "A/B"), or NULL. */
static const xmlNode *config_value(const xmlNode *config, const char *path, size_t len)
{
    const xmlNode *at = config;

    while (at != NULL && len > 0) {
        const char *slash = memchr(path, '/', len);
        size_t seg = slash ? (size_t)(slash - path) : len;
        const xmlNode *found = NULL;
        for (const xmlNode *c = at->children; c != NULL && found == NULL; c = c->next)
            if (c->type == XML_ELEMENT_NODE && strlen((const char *)c->name) == seg &&
                strncmp((const char *)c->name, path, seg) == 0)
                found = c;
        at = found;
        if (slash == NULL)
            break;
        path = slash + 1;
        len -= seg + 1;
    }
    return at;
}

/*
 * Replaces $Config/...$ below node (a private copy) from the UnitMonitor's
 * configuration. Returns 0 or MDM_ENOMEM.
 */
static int substitute(xmlNode *node, const xmlNode *config, int depth)
{
    if (depth > 32)
        return 0;
    for (xmlNode *c = node->children, *next; c != NULL; c = next) {
        next = c->next;
        if (c->type == XML_ELEMENT_NODE) {
            if (substitute(c, config, depth + 1) != 0)
                return MDM_ENOMEM;
            continue;
        }
        if (c->type != XML_TEXT_NODE || c->content == NULL ||
            strstr((const char *)c->content, "$Config/") == NULL)
            continue;
        {
            const char *text = (const char *)c->content;
            const char *s = text, *e;
            size_t tl;
            while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
                s++;
            tl = strlen(s);
            while (tl > 0 && (s[tl - 1] == ' ' || s[tl - 1] == '\t' || s[tl - 1] == '\r' ||
                              s[tl - 1] == '\n'))
                tl--;
            /* The whole text is one reference to an element with elements: copy them in. */
            if (tl > 9 && strncmp(s, "$Config/", 8) == 0 && s[tl - 1] == '$' &&
                memchr(s + 8, '$', tl - 9) == NULL) {
                const xmlNode *v = config_value(config, s + 8, tl - 9);
                bool has_elements = false;
                for (const xmlNode *k = v ? v->children : NULL; k != NULL; k = k->next)
                    has_elements |= k->type == XML_ELEMENT_NODE;
                if (has_elements) {
                    for (const xmlNode *k = v->children; k != NULL; k = k->next) {
                        xmlNode *copy = xmlDocCopyNode((xmlNode *)k, node->doc, 1);
                        if (copy == NULL || xmlAddPrevSibling(c, copy) == NULL)
                            return MDM_ENOMEM;
                    }
                    xmlUnlinkNode(c);
                    xmlFreeNode(c);
                    continue;
                }
            }
            /* Otherwise each reference becomes the element's text. */
            {
                xmlChar *out = xmlStrdup((const xmlChar *)"");
                const char *p = text;
                while (out != NULL && (s = strstr(p, "$Config/")) != NULL &&
                       (e = strchr(s + 8, '$')) != NULL) {
                    const xmlNode *v = config_value(config, s + 8, (size_t)(e - s - 8));
                    xmlChar *value = v ? xmlNodeGetContent(v) : NULL;
                    out = xmlStrncat(out, (const xmlChar *)p, (int)(s - p));
                    if (out != NULL && value != NULL)
                        out = xmlStrcat(out, value);
                    xmlFree(value);
                    p = e + 1;
                }
                if (out != NULL)
                    out = xmlStrcat(out, (const xmlChar *)p);
                if (out == NULL)
                    return MDM_ENOMEM;
                xmlNodeSetContent(c, out);
                xmlFree(out);
            }
        }
    }
    return 0;
}

/* A module's TypeID resolved to "Pack!Name" parts; false when unresolvable. */
static bool module_type(const struct pack_doc *doc, const xmlNode *m, const char **pack,
                        const char **name, xmlChar **raw)
{
    *raw = xmlGetProp(m, (const xmlChar *)"TypeID");
    return *raw != NULL && pack_resolve_ref(doc, (const char *)*raw, pack, name);
}

static bool is_library(const char *pack, const char *lib)
{
    return pack != NULL && strcmp(pack, lib) == 0;
}

/* Fails the monitor, naming the unsupported module and the state it feeds. */
static int unsupported_module(struct loader *ld, const xmlNode *um, const char *what,
                              const char *type, const char *id, const char *state)
{
    char msg[500];

    snprintf(msg, sizeof(msg), "composed type: %s %.150s (member %.100s, detection of %.100s): %s",
             what, type, id, state,
             "not a module mdmhealth interprets (see docs/monitor.md, composed types)");
    return pack_fail(ld, um, MDM_EUNSUPPORTED, msg);
}

/* A whole number from 0 to max in node's text; an error naming it otherwise. */
static int whole_number(struct loader *ld, const xmlNode *node, unsigned long long max,
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

#define INTERVAL_MAX_S (366ull * 86400) /* longest window, schedule or correlation interval */

/*
 * Reads a System.CorrelatorAutoMissingCondition's <Correlator> (CorrelatorType:
 * Count, Interval, CorrelationOrder, CorrelationItemPolicy; Latency and
 * DrainWait have no effect on one computer's ordered event stream) into d.
 * Correlation by an expression over both items and InputPorts time queries
 * are not implemented (skip reasons).
 */
static int load_correlator(struct loader *ld, const xmlNode *um, const xmlNode *cor,
                           struct mdm_detector *d)
{
    char msg[300];
    unsigned long long v;
    bool has_count = false, has_interval = false;
    int rc = 0;

    for (const xmlNode *c = cor->children; c != NULL && rc == 0; c = c->next) {
        char *text;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (pack_is_element(c, "Count")) {
            rc = whole_number(ld, c, MDM_REPEAT_COUNT_MAX, &v);
            if (rc == 0 && v == 0)
                rc = pack_fail(ld, c, MDM_EPARSE, "a correlator <Count> must be at least 1");
            d->repeat_count = (unsigned)v;
            has_count = true;
        } else if (pack_is_element(c, "Interval")) {
            rc = whole_number(ld, c, INTERVAL_MAX_S, &v);
            if (rc == 0 && v == 0)
                rc = pack_fail(ld, c, MDM_EPARSE,
                               "a correlator <Interval> must be at least 1 second");
            d->repeat_interval_ms = (int64_t)v * 1000;
            has_interval = true;
        } else if (pack_is_element(c, "Latency") || pack_is_element(c, "DrainWait")) {
            continue;
        } else if (pack_is_element(c, "CorrelationExpression")) {
            for (const xmlNode *e = c->children; e != NULL && rc == 0; e = e->next)
                if (e->type == XML_ELEMENT_NODE)
                    rc = pack_fail(ld, e, MDM_EUNSUPPORTED,
                                   "composed type: a correlator <CorrelationExpression> over both "
                                   "items is not supported");
        } else if (pack_is_element(c, "CorrelationOrder") ||
                   pack_is_element(c, "CorrelationItemPolicy")) {
            bool order = pack_is_element(c, "CorrelationOrder");
            if ((text = pack_text_of(c)) == NULL)
                return MDM_ENOMEM;
            if (order && strcmp(text, "InSequence") != 0) {
                snprintf(msg, sizeof(msg),
                         "composed type: correlator <CorrelationOrder> %.64s is not supported "
                         "(only InSequence)",
                         text);
                rc = pack_fail(ld, c, MDM_EUNSUPPORTED, msg);
            } else if (!order && strcmp(text, "MostRecentItem") == 0) {
                d->restart_on_new = true;
            } else if (!order && strcmp(text, "OldestItem") != 0) {
                snprintf(msg, sizeof(msg),
                         "composed type: correlator <CorrelationItemPolicy> %.64s is not supported",
                         text);
                rc = pack_fail(ld, c, MDM_EUNSUPPORTED, msg);
            }
            mdm_free(text);
        } else {
            snprintf(msg, sizeof(msg), "composed type: unsupported element <%.64s> in <Correlator>",
                     c->name);
            rc = pack_fail(ld, c, MDM_EUNSUPPORTED, msg);
        }
    }
    if (rc == 0 && (!has_count || !has_interval))
        rc = pack_fail(ld, um, MDM_EPARSE,
                       "composed type: a <Correlator> without <Count> or <Interval>");
    return rc;
}

static int compile_chain(struct loader *ld, const xmlNode *um, const xmlNode *config,
                         const xmlNode *members, const xmlNode *node, const char *state,
                         struct mdm_monitor_def *def, struct mdm_detector *d);

/*
 * System.CorrelatorAutoMissingCondition at node, whose two child Nodes are its
 * inputs in document order: the first (primary, Item0) is compiled into d,
 * which becomes the detection; the second into a new detector marked as the
 * correlated input of d.
 */
static int compile_correlator(struct loader *ld, const xmlNode *um, const xmlNode *config,
                              const xmlNode *members, const xmlNode *node, const xmlNode *copy,
                              const char *state, struct mdm_monitor_def *def,
                              struct mdm_detector *d)
{
    const xmlNode *inputs[2] = {NULL, NULL};
    const xmlNode *cor = pack_child(copy, "Correlator");
    size_t n = 0;
    struct mdm_detector *second;
    int rc;

    for (const xmlNode *c = node->children; c != NULL; c = c->next)
        if (pack_is_element(c, "Node")) {
            if (n == 2)
                return pack_fail(ld, um, MDM_EUNSUPPORTED,
                                 "composed type: a correlator with more than two inputs");
            inputs[n++] = c;
        }
    if (n != 2 || cor == NULL)
        return pack_fail(ld, um, MDM_EUNSUPPORTED,
                         "composed type: a System.CorrelatorAutoMissingCondition needs two input "
                         "Nodes and a <Correlator>");
    if (def->detector_count == MDM_DETECTORS_MAX)
        return pack_fail(ld, um, MDM_EUNSUPPORTED,
                         "composed type: more event sources than mdmhealth evaluates");
    for (size_t i = 0; i < def->detector_count; i++)
        if (def->detectors[i].condition == MDM_CONDITION_CORRELATOR_MISSING)
            return pack_fail(ld, um, MDM_EUNSUPPORTED,
                             "composed type: more than one correlator in a monitor type");
    rc = load_correlator(ld, um, cor, d);
    if (rc != 0)
        return rc;
    d->condition = MDM_CONDITION_CORRELATOR_MISSING;
    rc = compile_chain(ld, um, config, members, inputs[0], state, def, d);
    if (rc != 0)
        return rc;
    second = &def->detectors[def->detector_count++];
    second->correlated_input = true;
    second->partner = (unsigned)(d - def->detectors);
    return compile_chain(ld, um, config, members, inputs[1], state, def, second);
}

/*
 * Compiles one detection chain (the Node tree of a RegularDetection) into
 * detector d. Each Node has at most one child Node (a linear chain), except
 * a correlator's (two inputs).
 */
static int compile_chain(struct loader *ld, const xmlNode *um, const xmlNode *config,
                         const xmlNode *members, const xmlNode *node, const char *state,
                         struct mdm_monitor_def *def, struct mdm_detector *d)
{
    const struct pack_doc *doc = ld->composed_doc;
    int rc = 0;

    for (int depth = 0; node != NULL && rc == 0; depth++) {
        xmlChar *id = xmlGetProp(node, (const xmlChar *)"ID");
        const xmlNode *m = id ? member(members, (const char *)id) : NULL;
        const char *pack = NULL, *name = NULL;
        xmlChar *tid = NULL;
        xmlNode *copy = NULL;
        const xmlNode *next = NULL;

        if (depth >= COMPOSE_DEPTH_MAX || m == NULL) {
            rc = pack_fail(ld, um, MDM_EUNSUPPORTED,
                           "composed type: a detection names a member module the type does not "
                           "define, or is longer than mdmhealth interprets");
            goto next;
        }
        if (module_type(doc, m, &pack, &name, &tid) && pack_is_element(m, "ConditionDetection") &&
            is_library(pack, "System.Library") &&
            strcmp(name, "System.CorrelatorAutoMissingCondition") == 0) {
            copy = xmlDocCopyNode((xmlNode *)m, m->doc, 1);
            if (copy == NULL || substitute(copy, config, 0) != 0)
                rc = MDM_ENOMEM;
            else
                rc = compile_correlator(ld, um, config, members, node, copy, state, def, d);
            next = NULL; /* the correlator compiled both of its input chains */
            goto next;
        }
        xmlFree(tid);
        tid = NULL;
        for (const xmlNode *c = node->children; c != NULL; c = c->next)
            if (c->type == XML_ELEMENT_NODE) {
                if (next != NULL) {
                    rc = unsupported_module(ld, um, "a detection joining several modules at",
                                            (const char *)id, (const char *)id, state);
                    goto next;
                }
                next = c;
            }
        if (!module_type(doc, m, &pack, &name, &tid)) {
            rc = unsupported_module(ld, um, "module", tid ? (const char *)tid : "?",
                                    (const char *)id, state);
            goto next;
        }
        copy = xmlDocCopyNode((xmlNode *)m, m->doc, 1);
        if (copy == NULL || substitute(copy, config, 0) != 0) {
            rc = MDM_ENOMEM;
            goto next;
        }
        if (pack_is_element(m, "DataSource") && is_library(pack, WINDOWS_LIBRARY) &&
            (strcmp(name, "Microsoft.Windows.EventProvider") == 0 ||
             strcmp(name, "Microsoft.Windows.BaseEventProvider") == 0) &&
            next == NULL) {
            for (const xmlNode *c = copy->children; c != NULL && rc == 0; c = c->next) {
                char *text;
                if (c->type != XML_ELEMENT_NODE)
                    continue;
                if (pack_is_element(c, "Expression")) {
                    rc = mdm_expr_compile((xmlNode *)c, ld->origin, &d->expr, ld->err);
                    continue;
                }
                if (!pack_is_element(c, "ComputerName") && !pack_is_element(c, "LogName"))
                    continue; /* AllowProxying, ... : no effect on one computer */
                text = pack_text_of(c);
                if (text == NULL) {
                    rc = MDM_ENOMEM;
                } else if (pack_is_element(c, "LogName")) {
                    d->log_name = text;
                } else {
                    rc = pack_parse_param(ld, c, text, &d->computer);
                    mdm_free(text);
                }
            }
            if (rc == 0 && (d->log_name == NULL || d->computer.text == NULL || d->expr == NULL))
                rc = pack_fail(ld, um, MDM_EUNSUPPORTED,
                               "composed type: its event data source lacks ComputerName, "
                               "LogName or Expression");
        } else if (pack_is_element(m, "ConditionDetection") && is_library(pack, "System.Library") &&
                   strcmp(name, "System.ExpressionFilter") == 0) {
            const xmlNode *e = pack_child(copy, "Expression");
            if (d->filter != NULL)
                rc = unsupported_module(ld, um, "a second System.ExpressionFilter", name,
                                        (const char *)id, state);
            else if (e == NULL)
                rc = pack_fail(ld, um, MDM_EPARSE,
                               "composed type: an ExpressionFilter without "
                               "<Expression>");
            else
                rc = mdm_expr_compile((xmlNode *)e, ld->origin, &d->filter, ld->err);
        } else if (pack_is_element(m, "ConditionDetection") && is_library(pack, "System.Library") &&
                   strcmp(name, "System.ConsolidatorCondition") == 0) {
            const xmlNode *cons = pack_child(copy, "Consolidator");
            if (d->condition != MDM_CONDITION_NONE || cons == NULL) {
                rc = unsupported_module(ld, um, "consolidator", name, (const char *)id, state);
            } else {
                d->condition = MDM_CONDITION_CONSOLIDATOR;
                d->repeat_count = 1;
                rc = pack_load_consolidator(ld, cons, d);
                if (rc == 0 && d->repeat_interval_ms == 0)
                    rc = pack_fail(ld, um, MDM_EPARSE,
                                   "composed type: a consolidator without <Interval>");
            }
        } else {
            rc = unsupported_module(ld, um, (const char *)m->name, name, (const char *)id, state);
        }
    next:
        if (copy != NULL)
            xmlFreeNode(copy);
        xmlFree(tid);
        xmlFree(id);
        node = next;
    }
    if (rc == 0 && d->expr == NULL)
        rc = pack_fail(ld, um, MDM_EUNSUPPORTED,
                       "composed type: a detection that does not end in an event data source");
    return rc;
}

/* The health an OperationalState gives MonitorTypeStateID state; false when unmapped. */
static int state_health(struct loader *ld, const xmlNode *states, const char *state,
                        enum mdm_health *health, char **state_id, bool *found)
{
    *found = false;
    for (const xmlNode *c = states ? states->children : NULL; c != NULL; c = c->next) {
        xmlChar *ts, *h;
        int rc = 0;
        if (!pack_is_element(c, "OperationalState"))
            continue;
        ts = xmlGetProp(c, (const xmlChar *)"MonitorTypeStateID");
        if (ts == NULL || strcmp((const char *)ts, state) != 0) {
            xmlFree(ts);
            continue;
        }
        xmlFree(ts);
        h = xmlGetProp(c, (const xmlChar *)"HealthState");
        rc = pack_parse_health(ld, c, h ? (const char *)h : "", health);
        xmlFree(h);
        if (rc != 0)
            return rc;
        *state_id = pack_attr_of(c, "ID");
        *found = true;
        return *state_id ? 0 : MDM_ENOMEM;
    }
    return 0;
}

int pack_compose_monitor(struct loader *ld, const xmlNode *um, const xmlNode *config,
                         const xmlNode *states, struct mdm_monitor_def *def)
{
    const xmlNode *type = ld->composed_type;
    const xmlNode *impl = pack_child(type, "MonitorImplementation");
    const xmlNode *members = impl ? pack_child(impl, "MemberModules") : NULL;
    const xmlNode *regular = impl ? pack_child(impl, "RegularDetections") : NULL;
    const xmlNode *ondemand = impl ? pack_child(impl, "OnDemandDetections") : NULL;
    int rc = 0;

    if (members == NULL || regular == NULL)
        return pack_fail(ld, um, MDM_EUNSUPPORTED,
                         "composed type: no <MemberModules> or <RegularDetections>");
    def->reset = MDM_RESET_EVENT;
    for (const xmlNode *r = regular->children; r != NULL && rc == 0; r = r->next) {
        xmlChar *state;
        const xmlNode *root = NULL;
        struct mdm_detector *d;
        bool found;

        if (!pack_is_element(r, "RegularDetection"))
            continue;
        if (def->detector_count == MDM_DETECTORS_MAX)
            return pack_fail(ld, um, MDM_EUNSUPPORTED,
                             "composed type: more RegularDetections than mdmhealth evaluates");
        for (const xmlNode *c = r->children; c != NULL && root == NULL; c = c->next)
            if (pack_is_element(c, "Node"))
                root = c;
        state = xmlGetProp(r, (const xmlChar *)"MonitorTypeStateID");
        d = &def->detectors[def->detector_count++];
        rc = state_health(ld, states, state ? (const char *)state : "", &d->health, &d->state_id,
                          &found);
        if (rc == 0 && !found)
            rc = pack_fail(ld, um, MDM_EPARSE,
                           "<OperationalStates> does not map a MonitorTypeStateID of the type's "
                           "RegularDetections");
        if (rc == 0)
            rc = compile_chain(ld, um, config, members, root, state ? (const char *)state : "?",
                               def, d);
        xmlFree(state);
    }
    for (const xmlNode *o = ondemand ? ondemand->children : NULL; o != NULL && rc == 0;
         o = o->next) {
        xmlChar *state, *id, *tid = NULL;
        const xmlNode *node = NULL, *m;
        const char *pack = NULL, *name = NULL;
        bool found;

        if (!pack_is_element(o, "OnDemandDetection"))
            continue;
        for (const xmlNode *c = o->children; c != NULL && node == NULL; c = c->next)
            if (pack_is_element(c, "Node"))
                node = c;
        state = xmlGetProp(o, (const xmlChar *)"MonitorTypeStateID");
        id = node ? xmlGetProp(node, (const xmlChar *)"ID") : NULL;
        m = id ? member(members, (const char *)id) : NULL;
        if (m == NULL || !module_type(ld->composed_doc, m, &pack, &name, &tid) ||
            !is_library(pack, "System.Library") || strcmp(name, "System.PassThroughProbe") != 0) {
            rc = unsupported_module(ld, um, "on-demand module", tid ? (const char *)tid : "?",
                                    id ? (const char *)id : "?", state ? (const char *)state : "?");
        } else {
            rc = state_health(ld, states, state ? (const char *)state : "", &def->reset_health,
                              &def->reset_state_id, &found);
            if (rc == 0 && found)
                def->reset = MDM_RESET_MANUAL;
        }
        xmlFree(tid);
        xmlFree(id);
        xmlFree(state);
    }
    if (rc == 0 && def->detector_count == 0)
        rc = pack_fail(ld, um, MDM_EUNSUPPORTED, "composed type: no RegularDetection");
    /* A correlator and a consolidator would share the instance's one window. */
    for (size_t i = 0; rc == 0 && i < def->detector_count; i++)
        for (size_t j = 0; rc == 0 && j < def->detector_count; j++)
            if (def->detectors[i].condition == MDM_CONDITION_CONSOLIDATOR &&
                def->detectors[j].condition == MDM_CONDITION_CORRELATOR_MISSING)
                rc = pack_fail(ld, um, MDM_EUNSUPPORTED,
                               "composed type: a correlator and a consolidator in one monitor type "
                               "are not supported");
    return rc;
}

/* ---- library types that are not plain event detectors ---------------------- */

/*
 * The <Consolidator> of MissingEventLogSingleEventLog2StateMonitorType:
 * <ConsolidationProperties/> (empty), <TimeControl><GenericSchedule>
 * <SimpleReccuringSchedule><Interval Unit="Seconds|Minutes|Hours|Days">N
 * </Interval></SimpleReccuringSchedule><ExcludeDates/></GenericSchedule>
 * </TimeControl> and <CountingCondition><CountMode>
 * OnNewItemNOP_OnTimerOutputRestart</CountMode></CountingCondition>, as the
 * public monitors of this type write it. Anything else (a SyncTime, daily
 * windows, excluded dates, another count mode) is a skip reason.
 */
static int load_missing_consolidator(struct loader *ld, const xmlNode *cons, struct mdm_detector *d)
{
    char msg[300];
    int rc = 0;

    for (const xmlNode *s = cons->children; s != NULL && rc == 0; s = s->next) {
        if (s->type != XML_ELEMENT_NODE)
            continue;
        if (pack_is_element(s, "ConsolidationProperties")) {
            for (const xmlNode *p = s->children; p != NULL && rc == 0; p = p->next)
                if (p->type == XML_ELEMENT_NODE)
                    rc = pack_fail(ld, p, MDM_EUNSUPPORTED,
                                   "consolidation by event properties (<ConsolidationProperties> "
                                   "not empty) is not supported");
        } else if (pack_is_element(s, "TimeControl")) {
            const xmlNode *gen = pack_child(s, "GenericSchedule");
            const xmlNode *rec = gen ? pack_child(gen, "SimpleReccuringSchedule") : NULL;
            const xmlNode *iv = rec ? pack_child(rec, "Interval") : NULL;
            const xmlNode *ex = gen ? pack_child(gen, "ExcludeDates") : NULL;
            unsigned long long v = 0, unit = 1;
            char *u;
            if (iv == NULL || (rec != NULL && pack_child(rec, "SyncTime") != NULL) ||
                (ex != NULL && ex->children != NULL && xmlFirstElementChild((xmlNode *)ex))) {
                rc = pack_fail(ld, s, MDM_EUNSUPPORTED,
                               "a missing-event <TimeControl> other than a <GenericSchedule>"
                               "<SimpleReccuringSchedule><Interval> without SyncTime or excluded "
                               "dates is not supported");
                break;
            }
            u = pack_attr_of(iv, "Unit");
            if (u == NULL || strcmp(u, "Seconds") == 0)
                unit = 1;
            else if (strcmp(u, "Minutes") == 0)
                unit = 60;
            else if (strcmp(u, "Hours") == 0)
                unit = 3600;
            else if (strcmp(u, "Days") == 0)
                unit = 86400;
            else {
                snprintf(msg, sizeof(msg), "unsupported <Interval Unit=\"%.32s\">", u);
                rc = pack_fail(ld, iv, MDM_EUNSUPPORTED, msg);
            }
            mdm_free(u);
            if (rc == 0)
                rc = whole_number(ld, iv, INTERVAL_MAX_S / unit, &v);
            if (rc == 0 && v == 0)
                rc = pack_fail(ld, iv, MDM_EPARSE, "<Interval> must be at least 1");
            d->repeat_interval_ms = (int64_t)(v * unit * 1000);
        } else if (pack_is_element(s, "CountingCondition")) {
            const xmlNode *mode = pack_child(s, "CountMode");
            char *text = mode ? pack_text_of(mode) : NULL;
            if (mode != NULL && text == NULL)
                return MDM_ENOMEM;
            if (text == NULL || strcmp(text, "OnNewItemNOP_OnTimerOutputRestart") != 0) {
                snprintf(msg, sizeof(msg), "unsupported missing-event <CountMode> %.64s",
                         text ? text : "(none)");
                rc = pack_fail(ld, s, MDM_EUNSUPPORTED, msg);
            } else if (pack_child(s, "Count") != NULL) {
                rc = pack_fail(ld, s, MDM_EUNSUPPORTED,
                               "a missing-event <CountingCondition><Count> is not supported");
            }
            mdm_free(text);
        } else {
            snprintf(msg, sizeof(msg), "unsupported element <%.64s> in <Consolidator>", s->name);
            rc = pack_fail(ld, s, MDM_EUNSUPPORTED, msg);
        }
    }
    if (rc == 0 && d->repeat_interval_ms == 0)
        rc = pack_fail(ld, cons, MDM_EPARSE,
                       "<Consolidator> lacks <TimeControl><GenericSchedule>"
                       "<SimpleReccuringSchedule><Interval>");
    return rc;
}

/* One [PREFIX]ComputerName / LogName / Expression element into detector d. */
static int load_detector_element(struct loader *ld, const xmlNode *c, const char *rest,
                                 struct mdm_detector *d)
{
    char *text;
    int rc;

    if (strcmp(rest, "Expression") == 0)
        return mdm_expr_compile((xmlNode *)c, ld->origin, &d->expr, ld->err);
    if ((text = pack_text_of(c)) == NULL)
        return MDM_ENOMEM;
    if (strcmp(rest, "LogName") == 0) {
        d->log_name = text;
        return 0;
    }
    rc = pack_parse_param(ld, c, text, &d->computer);
    mdm_free(text);
    return rc;
}

#define SERVICE_PROBE_INTERVAL_MS 30000 /* see docs/monitor.md, service state */

int pack_load_special_configuration(struct loader *ld, const xmlNode *config,
                                    const struct pack_type_spec *spec, struct mdm_monitor_def *def)
{
    bool service = spec->detectors == 0;
    bool has_consolidator = false;
    char msg[300];
    int rc = 0;

    def->detector_count = spec->detectors;
    def->reset = spec->reset;
    if (!service)
        def->detectors[0].condition = MDM_CONDITION_MISSING;
    for (const xmlNode *c = config->children; c != NULL && rc == 0; c = c->next) {
        const char *name = (const char *)c->name;
        char *text;

        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (service && strcmp(name, "ComputerName") == 0) {
            if ((text = pack_text_of(c)) == NULL)
                return MDM_ENOMEM;
            /* The service's computer: the target (its NetworkName, or "."). */
            rc = pack_parse_param(ld, c, text, &def->detectors[0].computer);
            mdm_free(text);
        } else if (service && strcmp(name, "ServiceName") == 0) {
            if ((text = pack_text_of(c)) == NULL)
                return MDM_ENOMEM;
            mdm_free(def->service_name);
            def->service_name = text;
        } else if (service && strcmp(name, "CheckStartupType") == 0) {
            if ((text = pack_text_of(c)) == NULL)
                return MDM_ENOMEM;
            def->check_startup_type = strcmp(text, "true") == 0;
            mdm_free(text);
        } else if (!service && strcmp(name, "Consolidator") == 0) {
            rc = load_missing_consolidator(ld, c, &def->detectors[0]);
            has_consolidator = true;
        } else if (!service && strncmp(name, "Missing", 7) == 0 &&
                   (strcmp(name + 7, "ComputerName") == 0 || strcmp(name + 7, "LogName") == 0 ||
                    strcmp(name + 7, "Expression") == 0)) {
            rc = load_detector_element(ld, c, name + 7, &def->detectors[0]);
        } else if (!service && (strcmp(name, "ComputerName") == 0 || strcmp(name, "LogName") == 0 ||
                                strcmp(name, "Expression") == 0)) {
            rc = load_detector_element(ld, c, name, &def->detectors[1]);
        } else {
            snprintf(msg, sizeof(msg),
                     "unsupported configuration element <%.64s> for monitor type %s", name,
                     spec->name);
            rc = pack_fail(ld, c, MDM_EUNSUPPORTED, msg);
        }
    }
    if (rc != 0)
        return rc;
    if (service) {
        if (def->service_name == NULL || def->service_name[0] == '\0')
            return pack_fail(ld, config, MDM_EPARSE, "<Configuration> lacks <ServiceName>");
        def->probe_interval_ms = SERVICE_PROBE_INTERVAL_MS;
        return 0;
    }
    for (size_t i = 0; i < 2; i++) {
        const char *p = i == 0 ? "Missing" : "";
        if (def->detectors[i].expr == NULL || def->detectors[i].log_name == NULL ||
            def->detectors[i].computer.text == NULL) {
            snprintf(msg, sizeof(msg),
                     "<Configuration> lacks %sComputerName, %sLogName or %sExpression", p, p, p);
            return pack_fail(ld, config, MDM_EPARSE, msg);
        }
    }
    if (!has_consolidator)
        return pack_fail(ld, config, MDM_EPARSE, "<Configuration> lacks <Consolidator>");
    return 0;
}

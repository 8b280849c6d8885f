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
 *   ConditionDetection System.ExpressionFilter, System.ConsolidatorCondition
 *   ProbeAction       System.PassThroughProbe (OnDemandDetections only)
 */
#include "agent/engine/pack_internal.h"

#include "agent/common/mdm_alloc.h"

#include <libxml/tree.h>

#include <stdio.h>
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

/*
 * Compiles one detection chain (the Node tree of a RegularDetection) into
 * detector d. Each Node has at most one child Node (a linear chain).
 */
static int compile_chain(struct loader *ld, const xmlNode *um, const xmlNode *config,
                         const xmlNode *members, const xmlNode *node, const char *state,
                         struct mdm_detector *d)
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
            rc = compile_chain(ld, um, config, members, root, state ? (const char *)state : "?", d);
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
    return rc;
}

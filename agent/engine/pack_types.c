/*
 * pack_types.c - monitor types: references resolved through the Manifest, the
 * member modules of the types the packs define, and why a type is not evaluated.
 */
#include "agent/engine/pack_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"

#include <libxml/tree.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Aliases authors use without declaring them: the management-pack pages'
 * excerpts, bare <UnitMonitor> fragments and VSAE fragments (whose
 * References live in the project file). A declared alias always wins.
 */
static const char *conventional_alias(const char *alias, size_t len)
{
    static const struct {
        const char *alias, *pack;
    } known[] = {
        {"Windows", WINDOWS_LIBRARY},
        {"System", "System.Library"},
        {"SC", "Microsoft.SystemCenter.Library"},
        {"SystemCenter", "Microsoft.SystemCenter.Library"},
        {"Health", "System.Health.Library"},
        {"SystemHealth", "System.Health.Library"},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strlen(known[i].alias) == len && strncmp(known[i].alias, alias, len) == 0)
            return known[i].pack;
    return NULL;
}

/*
 * Resolves "Alias!Name" (or "Name", an element of doc's own pack) to the
 * pack ID that defines it. *pack_out is borrowed (NULL: this fragment's own,
 * unnamed pack); *name_out points into ref. Returns false for an alias that
 * is neither declared nor conventional.
 */
bool pack_resolve_ref(const struct pack_doc *doc, const char *ref, const char **pack_out,
                      const char **name_out)
{
    const char *bang = strchr(ref, '!');
    size_t len;

    if (bang == NULL) {
        *pack_out = doc->pack_id;
        *name_out = ref;
        return true;
    }
    len = (size_t)(bang - ref);
    *name_out = bang + 1;
    for (size_t i = 0; i < doc->alias_count; i++)
        if (strlen(doc->aliases[i].alias) == len && strncmp(doc->aliases[i].alias, ref, len) == 0) {
            *pack_out = doc->aliases[i].pack_id;
            return true;
        }
    *pack_out = conventional_alias(ref, len);
    return *pack_out != NULL;
}

/* Two resolved pack IDs name the same pack (NULL: a fragment's own pack, matches any). */
bool pack_same_pack(const char *a, const char *b)
{
    return a == NULL || b == NULL || strcmp(a, b) == 0;
}

/* Finds an element called `kind` with ID `id` defined in the set, or NULL. */
static const xmlNode *find_definition(const xmlNode *node, const char *kind, const char *id,
                                      int depth)
{
    if (depth > 6)
        return NULL;
    for (const xmlNode *c = node; c != NULL; c = c->next) {
        const xmlNode *found;
        xmlChar *cid;
        bool match;
        if (c->type != XML_ELEMENT_NODE || pack_is_element(c, "LanguagePacks") ||
            pack_is_element(c, "Presentation") || pack_is_element(c, "Monitoring"))
            continue;
        if (pack_is_element(c, kind)) {
            cid = xmlGetProp(c, (const xmlChar *)"ID");
            match = cid != NULL && strcmp((const char *)cid, id) == 0;
            xmlFree(cid);
            if (match)
                return c;
            continue;
        }
        found = find_definition(c->children, kind, id, depth + 1);
        if (found != NULL)
            return found;
    }
    return NULL;
}

/* A module type of the set by ID: the module type element and its document. */
static const xmlNode *find_module_type(const struct loader *ld, const char *pack_id, const char *id,
                                       struct pack_doc **doc_out)
{
    static const char *const kinds[] = {"UnitMonitorType", "DataSourceModuleType",
                                        "ProbeActionModuleType", "ConditionDetectionModuleType"};
    for (size_t d = 0; d < ld->doc_count; d++) {
        if (!pack_same_pack(pack_id, ld->docs[d].pack_id))
            continue;
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            const xmlNode *n = find_definition(ld->docs[d].root, kinds[k], id, 0);
            if (n != NULL) {
                *doc_out = &ld->docs[d];
                return n;
            }
        }
    }
    return NULL;
}

/* Event-log data sources of Microsoft.Windows.Library. */
static bool is_event_log_module(const char *pack, const char *name)
{
    return pack != NULL && strcmp(pack, WINDOWS_LIBRARY) == 0 &&
           (strcmp(name, "Microsoft.Windows.EventProvider") == 0 ||
            strcmp(name, "Microsoft.Windows.BaseEventProvider") == 0 ||
            strcmp(name, "Microsoft.Windows.EventCollector") == 0);
}

/* Helper modules that say nothing about where the data comes from. */
static bool is_plumbing_module(const char *name)
{
    return strncmp(name, "System.", 7) == 0 &&
           (strstr(name, "Scheduler") != NULL || strstr(name, "Filter") != NULL ||
            strstr(name, "Consolidator") != NULL || strstr(name, "Correlator") != NULL ||
            strstr(name, "Passthrough") != NULL || strstr(name, "Mapper") != NULL);
}

/*
 * Walks the member modules of a module type defined in the set (depth
 * bounded): sets *event_log when an event-log data source is reached, and
 * *first_source to the first data source or probe that is not plumbing.
 */
static void scan_modules(const struct loader *ld, const struct pack_doc *doc, const xmlNode *type,
                         int depth, bool *event_log, char *first_source, size_t cap)
{
    const xmlNode *impl;
    const xmlNode *members = NULL;

    if (depth > 8 || *event_log)
        return;
    impl = pack_child(type, "MonitorImplementation");
    if (impl == NULL && (impl = pack_child(type, "ModuleImplementation")) != NULL)
        impl = pack_child(impl, "Composite");
    if (impl != NULL)
        members = pack_child(impl, "MemberModules");
    if (members == NULL)
        return;
    for (const xmlNode *m = members->children; m != NULL; m = m->next) {
        xmlChar *tid;
        const char *pack, *name;
        struct pack_doc *def_doc = NULL;
        const xmlNode *def;

        if (m->type != XML_ELEMENT_NODE ||
            !(pack_is_element(m, "DataSource") || pack_is_element(m, "ProbeAction")))
            continue;
        tid = xmlGetProp(m, (const xmlChar *)"TypeID");
        if (tid == NULL)
            continue;
        if (pack_resolve_ref(doc, (const char *)tid, &pack, &name)) {
            if (is_event_log_module(pack, name)) {
                *event_log = true;
            } else if ((def = find_module_type(ld, pack, name, &def_doc)) != NULL) {
                scan_modules(ld, def_doc, def, depth + 1, event_log, first_source, cap);
            } else if (first_source[0] == '\0' && !is_plumbing_module(name)) {
                snprintf(first_source, cap, "%s", name);
            }
        }
        xmlFree(tid);
        if (*event_log)
            return;
    }
}

/*
 * The Microsoft.Windows.Library event-log types mdmhealth evaluates, each as
 * its composition (see pack.h): how many event detectors, whether the first
 * one is consolidated (repeated event), and how the detected state ends.
 * MonitorTypeStateIDs map to slots: 0 = first detector, 1 = second
 * detector, 2 = the reset (timer or manual). Sources: docs/monitor.md.
 */
static const struct pack_type_spec library_types[] = {
    {MONITOR_TYPE_2STATE,
     2,
     false,
     MDM_RESET_EVENT,
     {"First", "Second"},
     {"FirstEventRaised", "SecondEventRaised", NULL},
     false},
    {"Microsoft.Windows.SingleEventLogManualReset2StateMonitorType",
     1,
     false,
     MDM_RESET_MANUAL,
     {"", NULL},
     {"EventRaised", NULL, "ManualResetEventRaised"},
     false},
    {"Microsoft.Windows.SingleEventLogTimer2StateMonitorType",
     1,
     false,
     MDM_RESET_TIMER,
     {"", NULL},
     {"EventRaised", NULL, "TimerEventRaised"},
     false},
    {"Microsoft.Windows.RepeatedEventLogManualReset2StateMonitorType",
     1,
     true,
     MDM_RESET_MANUAL,
     {"", NULL},
     {"RepeatedEventRaised", NULL, "ManualResetEventRaised"},
     false},
    {"Microsoft.Windows.RepeatedEventLogTimer2StateMonitorType",
     1,
     true,
     MDM_RESET_TIMER,
     {"", NULL},
     {"RepeatedEventRaised", NULL, "TimerEventRaised"},
     false},
    /* The repeated event is Repeated{ComputerName,LogName,Expression}, the
     * healthy one plain ComputerName, LogName, Expression (EventRaised). */
    {"Microsoft.Windows.RepeatedEventLogSingleEventLog2StateMonitorType",
     2,
     true,
     MDM_RESET_EVENT,
     {"Repeated", ""},
     {"RepeatedEventRaised", "EventRaised", NULL},
     false},
    /* The expected event is Missing{ComputerName,LogName,Expression} counted
     * by <Consolidator> on a recurring schedule; the other one (plain
     * ComputerName, LogName, Expression) is EventRaised. As the public
     * QuaeNocentDocent/OMS-ManagementPack monitors configure it. */
    {"Microsoft.Windows.MissingEventLogSingleEventLog2StateMonitorType",
     2,
     false,
     MDM_RESET_EVENT,
     {"Missing", ""},
     {"MissingEventRaised", "EventRaised", NULL},
     true},
    /* Not an event monitor: ComputerName, ServiceName, CheckStartupType;
     * states Running / NotRunning (Microsoft's Remote Access pack, the ACS
     * pack on systemcenter.wiki). Evaluated through the engine's service
     * probe. */
    {"Microsoft.Windows.CheckNTServiceStateMonitorType",
     0,
     false,
     MDM_RESET_EVENT,
     {NULL, NULL},
     {"Running", "NotRunning", NULL},
     true},
};

const struct pack_type_spec *pack_library_type(const char *name)
{
    for (size_t i = 0; i < sizeof(library_types) / sizeof(library_types[0]); i++)
        if (strcmp(library_types[i].name, name) == 0)
            return &library_types[i];
    return NULL;
}

/*
 * Why a monitor type cannot be evaluated, as a new string (caller frees), or
 * NULL in *reason_out when it is an implemented type (then *spec_out is its
 * composition). Returns 0 or MDM_ENOMEM.
 */
int pack_classify_type(struct loader *ld, const char *type_ref, char **reason_out,
                       const struct pack_type_spec **spec_out)
{
    const struct pack_type_spec *spec;
    char reason[600];
    char source[200] = "";
    const char *pack, *name;
    const xmlNode *def;
    struct pack_doc *def_doc = NULL;
    bool event_log = false;

    *reason_out = NULL;
    ld->composed_type = NULL;
    ld->composed_doc = NULL;
    if (!pack_resolve_ref(ld->cur, type_ref, &pack, &name)) {
        int alias_len = (int)(strchr(type_ref, '!') - type_ref);
        snprintf(reason, sizeof(reason),
                 "type alias \"%.*s!\" is not declared in the Manifest's <References>",
                 alias_len > 100 ? 100 : alias_len, type_ref);
        goto out;
    }
    spec = pack_library_type(name);
    if (spec != NULL &&
        ((pack != NULL && strcmp(pack, WINDOWS_LIBRARY) == 0) || strchr(type_ref, '!') == NULL)) {
        *spec_out = spec;
        return 0;
    }
    if ((def = find_module_type(ld, pack, name, &def_doc)) != NULL) {
        scan_modules(ld, def_doc, def, 0, &event_log, source, sizeof(source));
        if (event_log && pack_is_element(def, "UnitMonitorType")) {
            /* Interpreted from its member modules (pack_compose.c). */
            ld->composed_type = def;
            ld->composed_doc = def_doc;
            *spec_out = NULL;
            return 0;
        }
        if (event_log)
            snprintf(reason, sizeof(reason),
                     "type %.200s (defined in %.200s): an event-log module type, not a monitor "
                     "type",
                     name, def_doc->origin);
        else if (source[0] != '\0')
            snprintf(reason, sizeof(reason), "data source %.200s: not an event-log workflow",
                     source);
        else
            snprintf(reason, sizeof(reason),
                     "type %.200s (defined in %.200s): no event-log data source", name,
                     def_doc->origin);
        goto out;
    }
    if (pack != NULL && strcmp(pack, WINDOWS_LIBRARY) == 0 && strstr(name, "EventLog") != NULL)
        /* The missing-event manual/timer, correlated and missing-correlated
         * types: their configuration element names appear in no public pack
         * or definition found (docs/monitor.md, Sources); guessing them would
         * evaluate an operator's monitor wrongly. */
        snprintf(reason, sizeof(reason), "type %.200s: not supported yet", name);
    else if (pack != NULL && strcmp(pack, WINDOWS_LIBRARY) == 0)
        snprintf(reason, sizeof(reason), "type %.200s: not an event-log workflow", name);
    else if (strchr(type_ref, '!') == NULL)
        snprintf(reason, sizeof(reason),
                 "type %.200s: defined in this pack, but its definition is not in the loaded "
                 "files",
                 name);
    else
        snprintf(reason, sizeof(reason),
                 "type %.200s from %.200s: not an event-log type mdmhealth implements", name,
                 pack ? pack : "this pack");
out:
    *reason_out = mdm_strdup(reason);
    return *reason_out ? 0 : MDM_ENOMEM;
}

/*
 * pack_overrides.c - monitor overrides: read, scoped, applied; the report lines.
 */
#include "agent/engine/pack_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"

#include <libxml/tree.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The override applies to every object of the monitor's target class. */
const char *pack_override_scope_problem(const struct override_rec *o, const char *target_pack,
                                        const char *target_id)
{
    if (o->has_instance)
        return "it applies to one object (ContextInstance); mdmhealth has no SCOM object model";
    if (o->context_id == NULL)
        return NULL;
    if (target_id == NULL)
        return "the monitor's Target alias is not declared in the Manifest's <References>, so "
               "the override's Context cannot be compared with it";
    if (strcmp(o->context_id, target_id) == 0 && pack_same_pack(o->context_pack, target_pack))
        return NULL;
    return "its Context is not the monitor's Target class; mdmhealth has no groups or class "
           "hierarchy to know which computers it covers";
}

bool pack_parse_bool_value(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else
        return false;
    return true;
}

int pack_set_override_outcome(struct override_rec *o, enum mdm_override_outcome outcome,
                              const char *why)
{
    o->report->outcome = outcome;
    mdm_free(o->report->why);
    o->report->why = NULL;
    if (why != NULL && (o->report->why = mdm_strdup(why)) == NULL)
        return MDM_ENOMEM;
    return 0;
}

/*
 * Applies a MonitorPropertyOverride other than Enabled to a compiled
 * monitor. Returns NULL when applied, else why not.
 */
const char *pack_apply_property(struct mdm_monitor_def *def, const char *name, const char *v)
{
    bool b;

    if (strcmp(name, "GenerateAlert") == 0) {
        if (!pack_parse_bool_value(v, &b))
            return "GenerateAlert must be true or false";
        if (b && def->alert_message_id == NULL && !def->alert_generate)
            return "the monitor has no <AlertSettings> to generate an alert from";
        def->alert_generate = b;
        return NULL;
    }
    if (strcmp(name, "AutoResolve") == 0) {
        if (!pack_parse_bool_value(v, &b))
            return "AutoResolve must be true or false";
        def->auto_resolve = b;
        return NULL;
    }
    if (strcmp(name, "AlertPriority") == 0) {
        if (strcmp(v, "Low") == 0 || strcmp(v, "0") == 0)
            def->priority = MDM_PRIORITY_LOW;
        else if (strcmp(v, "Normal") == 0 || strcmp(v, "1") == 0)
            def->priority = MDM_PRIORITY_NORMAL;
        else if (strcmp(v, "High") == 0 || strcmp(v, "2") == 0)
            def->priority = MDM_PRIORITY_HIGH;
        else
            return "AlertPriority must be Low, Normal or High";
        return NULL;
    }
    if (strcmp(name, "AlertSeverity") == 0) {
        def->severity_matches_health = false;
        if (strcmp(v, "MatchMonitorHealth") == 0)
            def->severity_matches_health = true;
        else if (strcmp(v, "Information") == 0 || strcmp(v, "0") == 0)
            def->severity = MDM_SEVERITY_INFORMATION;
        else if (strcmp(v, "Warning") == 0 || strcmp(v, "1") == 0)
            def->severity = MDM_SEVERITY_WARNING;
        else if (strcmp(v, "Error") == 0 || strcmp(v, "Critical") == 0 || strcmp(v, "2") == 0)
            def->severity = MDM_SEVERITY_CRITICAL;
        else
            return "AlertSeverity must be MatchMonitorHealth, Information, Warning or Error";
        return NULL;
    }
    if (strcmp(name, "AlertOnState") == 0) {
        if (strcmp(v, "Warning") == 0)
            def->alert_on_state = MDM_HEALTH_WARNING;
        else if (strcmp(v, "Error") == 0)
            def->alert_on_state = MDM_HEALTH_ERROR;
        else
            return "AlertOnState must be Warning or Error";
        return NULL;
    }
    return "mdmhealth does not use this monitor property";
}

/*
 * Applies a MonitorConfigurationOverride by replacing the text of the
 * <Configuration> child it names (a plain value such as FirstLogName),
 * before the monitor is compiled. Returns NULL when applied, else why not.
 */
const char *pack_apply_configuration(xmlNode *um, const char *name, const char *value, bool *nomem)
{
    xmlNode *config = pack_child(um, "Configuration");
    xmlNode *param = config ? pack_child(config, name) : NULL;
    xmlNode *text;

    *nomem = false;
    if (param == NULL)
        return "the monitor's <Configuration> has no such parameter";
    for (xmlNode *c = param->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return "the parameter is not a plain value";
    text = xmlNewText((const xmlChar *)value);
    if (text == NULL) {
        *nomem = true;
        return "out of memory";
    }
    while (param->children != NULL) {
        xmlNode *c = param->children;
        xmlUnlinkNode(c);
        xmlFreeNode(c);
    }
    xmlAddChild(param, text);
    return NULL;
}

/* The monitor (pack, id) the override targets. */
bool pack_override_targets(const struct override_rec *o, const char *pack_id, const char *id)
{
    return strcmp(o->monitor_id, id) == 0 && pack_same_pack(o->monitor_pack, pack_id);
}

/* Reads one <UnitMonitor>: loads it, or records why it is skipped. */
static void strip_mpelement(char *ref)
{
    static const char prefix[] = "$MPElement[Name=";
    size_t len = strlen(ref), plen = sizeof(prefix) - 1;

    if (len > plen + 4 && strncmp(ref, prefix, plen) == 0 && ref[len - 1] == '$' &&
        ref[len - 2] == ']' && (ref[plen] == '\'' || ref[plen] == '"') &&
        ref[len - 3] == ref[plen]) {
        memmove(ref, ref + plen + 1, len - plen - 4);
        ref[len - plen - 4] = '\0';
    }
}

static int add_override(struct loader *ld, struct pack_doc *doc, const xmlNode *node,
                        size_t *override_cap)
{
    struct mdm_pack *pack = ld->pack;
    bool is_config = pack_is_element(node, "MonitorConfigurationOverride");
    struct override_rec *o;
    struct mdm_pack_override *r;
    char *monitor = NULL, *context = NULL, *instance = NULL;
    const xmlNode *value;
    const char *mpack, *mname, *cpack, *cname;
    int rc = 0;

    if (ld->override_count == *override_cap) {
        size_t cap = *override_cap ? *override_cap * 2 : 8;
        struct override_rec *grown = mdm_realloc(ld->overrides, cap * sizeof(*grown));
        struct mdm_pack_override *rgrown;
        if (grown == NULL)
            return MDM_ENOMEM;
        ld->overrides = grown;
        rgrown = mdm_realloc(pack->overrides, cap * sizeof(*rgrown));
        if (rgrown == NULL)
            return MDM_ENOMEM;
        pack->overrides = rgrown;
        *override_cap = cap;
        for (size_t i = 0; i < ld->override_count; i++)
            ld->overrides[i].report = &pack->overrides[i];
    }
    o = &ld->overrides[ld->override_count];
    r = &pack->overrides[pack->override_count];
    memset(o, 0, sizeof(*o));
    memset(r, 0, sizeof(*r));
    ld->override_count++;
    pack->override_count++;
    o->doc = doc;
    o->node = node;
    o->is_config = is_config;
    o->report = r;
    r->outcome = MDM_OVERRIDE_UNUSED;
    r->line = pack_line_of(node);
    r->file = mdm_strdup(doc->origin);
    r->id = pack_attr_of(node, "ID");
    monitor = pack_attr_of(node, "Monitor");
    o->name = pack_attr_of(node, is_config ? "Parameter" : "Property");
    value = pack_child(node, "Value");
    o->value = value ? pack_text_of(value) : NULL;
    if (r->file == NULL)
        return MDM_ENOMEM;
    if (r->id == NULL && (r->id = mdm_strdup("(no ID)")) == NULL)
        return MDM_ENOMEM;
    if (monitor == NULL || o->name == NULL || o->value == NULL) {
        rc = mdm_err_set(ld->err, MDM_EPARSE,
                         "%s:%ld: <%s> needs Monitor and %s attributes and a <Value>", doc->origin,
                         r->line, node->name, is_config ? "Parameter" : "Property");
        goto out;
    }
    r->monitor = mdm_strdup(monitor);
    r->setting = mdm_malloc(strlen(o->name) + strlen(o->value) + 4);
    if (r->monitor == NULL || r->setting == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    sprintf(r->setting, "%s = %s", o->name, o->value);
    strip_mpelement(monitor);
    if (!pack_resolve_ref(doc, monitor, &mpack, &mname)) {
        rc = pack_set_override_outcome(o, MDM_OVERRIDE_UNUSED,
                                       "its Monitor alias is not declared in the Manifest's "
                                       "<References>");
        o->monitor_id = mdm_strdup("");
        if (rc == 0 && o->monitor_id == NULL)
            rc = MDM_ENOMEM;
        goto out;
    }
    o->monitor_pack = mpack;
    o->monitor_id = mdm_strdup(mname);
    if (o->monitor_id == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    context = pack_attr_of(node, "Context");
    instance = pack_attr_of(node, "ContextInstance");
    o->has_instance = instance != NULL && instance[0] != '\0';
    if (context != NULL && pack_resolve_ref(doc, context, &cpack, &cname)) {
        o->context_id = mdm_strdup(cname);
        o->context_pack = cpack ? mdm_strdup(cpack) : NULL;
        if (o->context_id == NULL || (cpack != NULL && o->context_pack == NULL))
            rc = MDM_ENOMEM;
    } else if (context != NULL) {
        /* An undeclared alias: keep the text, it will not match a target. */
        o->context_id = mdm_strdup(context);
        if (o->context_id == NULL)
            rc = MDM_ENOMEM;
    }
out:
    mdm_free(monitor);
    mdm_free(context);
    mdm_free(instance);
    return rc;
}

/* Collects the overrides of one document (they apply to the whole set). */
int pack_collect_overrides(struct loader *ld, struct pack_doc *doc, const xmlNode *node, int depth,
                           size_t *override_cap)
{
    int rc;

    if (depth > 6)
        return 0;
    for (const xmlNode *c = node; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || pack_is_element(c, "LanguagePacks") ||
            pack_is_element(c, "Presentation") || pack_is_element(c, "TypeDefinitions") ||
            pack_is_element(c, "Monitors") || pack_is_element(c, "Rules") ||
            pack_is_element(c, "Discoveries"))
            continue;
        if (pack_is_element(c, "Overrides")) {
            for (const xmlNode *o = c->children; o != NULL; o = o->next) {
                if (o->type != XML_ELEMENT_NODE)
                    continue;
                if (pack_is_element(o, "MonitorPropertyOverride") ||
                    pack_is_element(o, "MonitorConfigurationOverride")) {
                    rc = add_override(ld, doc, o, override_cap);
                    if (rc != 0)
                        return rc;
                } else {
                    ld->pack->other_override_count++;
                }
            }
            continue;
        }
        rc = pack_collect_overrides(ld, doc, c->children, depth + 1, override_cap);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Reads the Manifest's identity and reference aliases. */
void pack_free_override_rec(struct override_rec *o)
{
    mdm_free(o->monitor_id);
    mdm_free(o->context_pack);
    mdm_free(o->context_id);
    mdm_free(o->name);
    mdm_free(o->value);
}

size_t mdm_pack_unapplied_override_count(const struct mdm_pack *pack)
{
    size_t n = 0;

    for (size_t i = 0; i < pack->override_count; i++)
        if (pack->overrides[i].outcome == MDM_OVERRIDE_NOT_APPLIED)
            n++;
    return n;
}

int mdm_pack_format_skip(const struct mdm_pack_skip *s, struct mdm_buf *b)
{
    return mdm_buf_printf(b, "%s:%ld: skipped monitor %s (type %s): %s\n", s->file, s->line, s->id,
                          s->type, s->reason);
}

int mdm_pack_format_override(const struct mdm_pack_override *o, struct mdm_buf *b)
{
    const char *state = o->outcome == MDM_OVERRIDE_APPLIED ? "applied" : "not applied";

    return mdm_buf_printf(b, "%s:%ld: override %s (Monitor=%s: %s): %s%s%s\n", o->file, o->line,
                          o->id, o->monitor ? o->monitor : "?", o->setting ? o->setting : "?",
                          state, o->why ? ": " : "", o->why ? o->why : "");
}

struct reason_count {
    const char *reason;
    size_t count;
};

static int compare_reason_counts(const void *a, const void *b)
{
    const struct reason_count *x = a, *y = b;

    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->reason, y->reason);
}

int mdm_pack_format_summary(const struct mdm_pack *pack, bool by_reason, struct mdm_buf *b)
{
    struct reason_count *groups = NULL;
    size_t ngroups = 0;
    int rc;

    rc = mdm_buf_printf(b, "%zu monitor(s) loaded, %zu skipped", pack->monitor_count,
                        pack->skip_count);
    if (rc != 0 || !by_reason)
        return rc;
    rc = mdm_buf_adds(b, "\n");
    if (rc != 0 || pack->skip_count == 0)
        return rc;
    groups = mdm_calloc(pack->skip_count, sizeof(*groups));
    if (groups == NULL)
        return MDM_ENOMEM;
    for (size_t i = 0; i < pack->skip_count; i++) {
        size_t g;
        for (g = 0; g < ngroups; g++)
            if (strcmp(groups[g].reason, pack->skips[i].reason) == 0)
                break;
        if (g == ngroups) {
            groups[ngroups].reason = pack->skips[i].reason;
            ngroups++;
        }
        groups[g].count++;
    }
    qsort(groups, ngroups, sizeof(*groups), compare_reason_counts);
    for (size_t g = 0; rc == 0 && g < ngroups; g++)
        rc = mdm_buf_printf(b, "  %5zu  %s\n", groups[g].count, groups[g].reason);
    mdm_free(groups);
    return rc;
}

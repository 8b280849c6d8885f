/*
 * pack.c - loads <UnitMonitor> definitions from management pack XML.
 */
#include "pack.h"

#include "mdm_fs.h"

#include "mdm_alloc.h"

#include "xml_error.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The one monitor type implemented, without its reference alias ("Windows!"). */
#define MONITOR_TYPE_2STATE "Microsoft.Windows.2SingleEventLog2StateMonitorType"

/* A management pack larger than this is refused rather than parsed. */
#define PACK_MAX_BYTES (64u * 1024u * 1024u)

extern const unsigned char mdm_default_pack[];
extern const size_t mdm_default_pack_len;

const char *mdm_health_name(enum mdm_health health)
{
    switch (health) {
    case MDM_HEALTH_HEALTHY:
        return "healthy";
    case MDM_HEALTH_WARNING:
        return "warning";
    case MDM_HEALTH_ERROR:
        return "error";
    default:
        return "unknown";
    }
}

const char *mdm_severity_name(enum mdm_severity severity)
{
    switch (severity) {
    case MDM_SEVERITY_INFORMATION:
        return "information";
    case MDM_SEVERITY_WARNING:
        return "warning";
    case MDM_SEVERITY_CRITICAL:
        return "critical";
    default:
        return "none";
    }
}

const char *mdm_priority_name(enum mdm_priority priority)
{
    switch (priority) {
    case MDM_PRIORITY_LOW:
        return "low";
    case MDM_PRIORITY_HIGH:
        return "high";
    default:
        return "normal";
    }
}

enum mdm_severity mdm_monitor_alert_severity(const struct mdm_monitor_def *def,
                                             enum mdm_health health)
{
    if (!def->severity_matches_health)
        return def->severity;
    switch (health) {
    case MDM_HEALTH_ERROR:
        return MDM_SEVERITY_CRITICAL;
    case MDM_HEALTH_WARNING:
        return MDM_SEVERITY_WARNING;
    default:
        return MDM_SEVERITY_INFORMATION;
    }
}

/* ---- small XML helpers ---------------------------------------------------- */

static bool is_element(const xmlNode *node, const char *name)
{
    return node != NULL && node->type == XML_ELEMENT_NODE &&
           strcmp((const char *)node->name, name) == 0;
}

/* Returns the first child element called name, or NULL. */
static xmlNode *child(const xmlNode *parent, const char *name)
{
    for (xmlNode *c = parent->children; c != NULL; c = c->next)
        if (is_element(c, name))
            return c;
    return NULL;
}

/*
 * Returns the trimmed text of node as a new string owned by the caller, or
 * NULL when out of memory.
 */
static char *text_of(const xmlNode *node)
{
    xmlChar *raw = xmlNodeGetContent(node);
    const char *s = raw ? (const char *)raw : "";
    size_t len;
    char *out;

    while (isspace((unsigned char)*s))
        s++;
    len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    out = mdm_strndup(s, len);
    xmlFree(raw);
    return out;
}

/* Returns a copy of attribute name of node (caller frees), or NULL when absent or out of memory. */
static char *attr_of(const xmlNode *node, const char *name)
{
    xmlChar *raw = xmlGetProp(node, (const xmlChar *)name);
    char *out;

    if (raw == NULL)
        return NULL;
    out = mdm_strdup((const char *)raw);
    xmlFree(raw);
    return out;
}

/* ---- pack loading ---------------------------------------------------------- */

struct loader {
    const char *origin;
    xmlDoc *doc;
    struct mdm_err *err;
};

static int fail(struct loader *ld, const xmlNode *node, int code, const char *what)
{
    return mdm_err_set(ld->err, code, "%s:%ld: %s", ld->origin, node ? xmlGetLineNo(node) : 0L,
                       what);
}

static int parse_health(struct loader *ld, const xmlNode *node, const char *s, enum mdm_health *out)
{
    char msg[256];

    if (strcmp(s, "Success") == 0)
        *out = MDM_HEALTH_HEALTHY;
    else if (strcmp(s, "Warning") == 0)
        *out = MDM_HEALTH_WARNING;
    else if (strcmp(s, "Error") == 0)
        *out = MDM_HEALTH_ERROR;
    else {
        snprintf(msg, sizeof(msg),
                 "unknown health state \"%.64s\" (expected Success, Warning or Error)", s);
        return fail(ld, node, MDM_EPARSE, msg);
    }
    return 0;
}

/*
 * Compiles a $...$ reference or literal text into param. Supported:
 * $Data/Context/FIELD$ and $Data/FIELD$ (an event field), $Target/...$ ending
 * in NetworkName, PrincipalName or DNSName (the target computer), $MPElement$.
 */
static int parse_param(struct loader *ld, const xmlNode *node, const char *text,
                       struct mdm_param *param)
{
    size_t len = strlen(text);
    char ref[MDM_FIELD_NAME_MAX + 32];
    char msg[400];
    const char *field;
    int rc;

    memset(param, 0, sizeof(*param));
    param->text = mdm_strdup(text);
    if (param->text == NULL)
        return MDM_ENOMEM;
    if (len < 2 || text[0] != '$' || text[len - 1] != '$' ||
        strchr(text + 1, '$') != text + len - 1) {
        param->kind = MDM_PARAM_LITERAL;
        return 0;
    }
    if (len - 2 >= sizeof(ref))
        return fail(ld, node, MDM_ETOOBIG, "reference too long");
    memcpy(ref, text + 1, len - 2);
    ref[len - 2] = '\0';

    if (strncmp(ref, "Target/", 7) == 0) {
        const char *last = strrchr(ref, '/');
        if (last != NULL &&
            (strcmp(last, "/NetworkName") == 0 || strcmp(last, "/PrincipalName") == 0 ||
             strcmp(last, "/DNSName") == 0)) {
            param->kind = MDM_PARAM_TARGET_NAME;
            return 0;
        }
        snprintf(msg, sizeof(msg),
                 "unsupported target reference \"%.200s\" (mdmhealth resolves only the target "
                 "computer's NetworkName, PrincipalName or DNSName)",
                 text);
        return fail(ld, node, MDM_EUNSUPPORTED, msg);
    }
    if (strcmp(ref, "MPElement") == 0) {
        param->kind = MDM_PARAM_MONITOR_ID;
        return 0;
    }
    if (strncmp(ref, "Data/Context/", 13) == 0)
        field = ref + 13;
    else if (strncmp(ref, "Data/", 5) == 0)
        field = ref + 5;
    else {
        snprintf(msg, sizeof(msg), "unsupported reference \"%.200s\"", text);
        return fail(ld, node, MDM_EUNSUPPORTED, msg);
    }
    rc = mdm_field_parse(field, &param->field, ld->err);
    if (rc != 0) {
        mdm_err_prefix(ld->err, "%s:%ld: in %s: ", ld->origin, xmlGetLineNo(node), text);
        return rc;
    }
    param->kind = MDM_PARAM_EVENT_FIELD;
    return 0;
}

/* Reads <First|Second>ComputerName, LogName and Expression from <Configuration>. */
static int load_configuration(struct loader *ld, const xmlNode *config, struct mdm_monitor_def *def)
{
    static const char *const prefixes[2] = {"First", "Second"};
    char msg[300];
    int rc;

    for (const xmlNode *c = config->children; c != NULL; c = c->next) {
        const char *name = (const char *)c->name;
        int which;
        const char *rest;
        char *text;

        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (strncmp(name, "First", 5) == 0) {
            which = 0;
            rest = name + 5;
        } else if (strncmp(name, "Second", 6) == 0) {
            which = 1;
            rest = name + 6;
        } else {
            which = -1;
            rest = name;
        }
        if (which >= 0 && strcmp(rest, "Expression") == 0) {
            rc = mdm_expr_compile((xmlNode *)c, ld->origin, &def->detectors[which].expr, ld->err);
            if (rc != 0)
                return rc;
            continue;
        }
        if (which >= 0 && (strcmp(rest, "ComputerName") == 0 || strcmp(rest, "LogName") == 0)) {
            text = text_of(c);
            if (text == NULL)
                return MDM_ENOMEM;
            if (rest[0] == 'C') {
                rc = parse_param(ld, c, text, &def->detectors[which].computer);
                mdm_free(text);
                if (rc != 0)
                    return rc;
            } else {
                def->detectors[which].log_name = text;
            }
            continue;
        }
        snprintf(msg, sizeof(msg), "unsupported configuration element <%.64s> for monitor type %s",
                 name, MONITOR_TYPE_2STATE);
        return fail(ld, c, MDM_EUNSUPPORTED, msg);
    }
    for (int i = 0; i < 2; i++) {
        if (def->detectors[i].expr == NULL || def->detectors[i].log_name == NULL ||
            def->detectors[i].computer.text == NULL) {
            snprintf(msg, sizeof(msg),
                     "<Configuration> lacks %sComputerName, %sLogName or %sExpression", prefixes[i],
                     prefixes[i], prefixes[i]);
            return fail(ld, config, MDM_EPARSE, msg);
        }
    }
    return 0;
}

/* Maps <OperationalState MonitorTypeStateID=... HealthState=...> onto the detectors. */
static int load_operational_states(struct loader *ld, const xmlNode *states,
                                   struct mdm_monitor_def *def)
{
    bool seen[2] = {false, false};
    char msg[300];
    int rc = 0;

    for (const xmlNode *c = states->children; c != NULL; c = c->next) {
        char *id = NULL, *type_state = NULL, *health = NULL;
        int which;

        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!is_element(c, "OperationalState"))
            return fail(ld, c, MDM_EPARSE, "unexpected element in <OperationalStates>");
        id = attr_of(c, "ID");
        type_state = attr_of(c, "MonitorTypeStateID");
        health = attr_of(c, "HealthState");
        if (type_state == NULL || health == NULL) {
            rc = fail(ld, c, MDM_EPARSE,
                      "<OperationalState> needs MonitorTypeStateID and HealthState attributes");
            goto next;
        }
        if (strcmp(type_state, "FirstEventRaised") == 0)
            which = 0;
        else if (strcmp(type_state, "SecondEventRaised") == 0)
            which = 1;
        else {
            snprintf(msg, sizeof(msg),
                     "unknown MonitorTypeStateID \"%.64s\" (expected FirstEventRaised or "
                     "SecondEventRaised)",
                     type_state);
            rc = fail(ld, c, MDM_EPARSE, msg);
            goto next;
        }
        if (seen[which]) {
            rc = fail(ld, c, MDM_EPARSE, "MonitorTypeStateID mapped twice");
            goto next;
        }
        rc = parse_health(ld, c, health, &def->detectors[which].health);
        if (rc != 0)
            goto next;
        seen[which] = true;
        def->detectors[which].state_id = id;
        id = NULL;
    next:
        mdm_free(id);
        mdm_free(type_state);
        mdm_free(health);
        if (rc != 0)
            return rc;
    }
    if (!seen[0] || !seen[1])
        return fail(ld, states, MDM_EPARSE,
                    "<OperationalStates> must map both FirstEventRaised and SecondEventRaised");
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
    def->alert_message_id = attr_of(settings, "AlertMessage");

    for (const xmlNode *c = settings->children; c != NULL; c = c->next) {
        char *text;

        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_element(c, "AlertParameters")) {
            for (const xmlNode *p = c->children; p != NULL; p = p->next) {
                unsigned n;
                char tail;
                if (p->type != XML_ELEMENT_NODE)
                    continue;
                if (sscanf((const char *)p->name, "AlertParameter%u%c", &n, &tail) != 1 || n < 1 ||
                    n > MDM_ALERT_PARAMS_MAX)
                    return fail(ld, p, MDM_EUNSUPPORTED,
                                "alert parameters must be AlertParameter1 ... AlertParameter10");
                if (def->alert_params[n - 1].text != NULL)
                    return fail(ld, p, MDM_EPARSE, "alert parameter given twice");
                text = text_of(p);
                if (text == NULL)
                    return MDM_ENOMEM;
                rc = parse_param(ld, p, text, &def->alert_params[n - 1]);
                mdm_free(text);
                if (rc != 0)
                    return rc;
                if (n > def->alert_param_count)
                    def->alert_param_count = n;
            }
            continue;
        }
        text = text_of(c);
        if (text == NULL)
            return MDM_ENOMEM;
        rc = 0;
        if (is_element(c, "AlertOnState")) {
            rc = parse_health(ld, c, text, &def->alert_on_state);
            if (rc == 0 && def->alert_on_state == MDM_HEALTH_HEALTHY)
                rc = fail(ld, c, MDM_EPARSE, "AlertOnState must be Warning or Error");
        } else if (is_element(c, "AutoResolve")) {
            def->auto_resolve = strcmp(text, "true") == 0;
        } else if (is_element(c, "AlertPriority")) {
            if (strcmp(text, "Low") == 0)
                def->priority = MDM_PRIORITY_LOW;
            else if (strcmp(text, "High") == 0)
                def->priority = MDM_PRIORITY_HIGH;
            else if (strcmp(text, "Normal") == 0)
                def->priority = MDM_PRIORITY_NORMAL;
            else
                rc = fail(ld, c, MDM_EPARSE, "AlertPriority must be Low, Normal or High");
        } else if (is_element(c, "AlertSeverity")) {
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
                rc = fail(ld, c, MDM_EPARSE,
                          "AlertSeverity must be MatchMonitorHealth, Information, Warning or "
                          "Error");
        } else if (is_element(c, "AlertMessage")) {
            /* Some authoring tools write the message ID as an element. */
            mdm_free(def->alert_message_id);
            def->alert_message_id = text;
            text = NULL;
        } else if (is_element(c, "Suppression") || is_element(c, "AlertName") ||
                   is_element(c, "AlertDescription")) {
            /* Presentation-only settings; they do not change state or alerts here. */
        } else {
            snprintf(msg, sizeof(msg), "unsupported element <%.64s> in <AlertSettings>", c->name);
            rc = fail(ld, c, MDM_EUNSUPPORTED, msg);
        }
        mdm_free(text);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int load_unit_monitor(struct loader *ld, const xmlNode *um, struct mdm_monitor_def *def)
{
    char msg[400];
    char *enabled = NULL, *attr = NULL;
    const char *type;
    int rc = 0;

    def->line = xmlGetLineNo(um);
    def->id = attr_of(um, "ID");
    if (def->id == NULL)
        return fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no ID attribute");
    def->target_class = attr_of(um, "Target");
    def->type_id = attr_of(um, "TypeID");
    if (def->type_id == NULL)
        return fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no TypeID attribute");
    type = strchr(def->type_id, '!');
    type = type ? type + 1 : def->type_id;
    if (strcmp(type, MONITOR_TYPE_2STATE) != 0) {
        snprintf(msg, sizeof(msg),
                 "<UnitMonitor ID=\"%.120s\"> uses monitor type %.120s, which mdmhealth does not "
                 "implement (supported: %s)",
                 def->id, def->type_id, MONITOR_TYPE_2STATE);
        return fail(ld, um, MDM_EUNSUPPORTED, msg);
    }
    enabled = attr_of(um, "Enabled");
    def->enabled = enabled == NULL || strcmp(enabled, "false") != 0;
    attr = attr_of(um, "Remotable");
    def->remotable = attr != NULL && strcmp(attr, "true") == 0;
    mdm_free(attr);
    attr = attr_of(um, "ConfirmDelivery");
    def->confirm_delivery = attr != NULL && strcmp(attr, "true") == 0;

    for (const xmlNode *c = um->children; c != NULL && rc == 0; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_element(c, "Configuration"))
            rc = load_configuration(ld, c, def);
        else if (is_element(c, "OperationalStates"))
            rc = load_operational_states(ld, c, def);
        else if (is_element(c, "AlertSettings"))
            rc = load_alert_settings(ld, c, def);
        else if (is_element(c, "Category") || is_element(c, "MonitorTypeStateID") ||
                 is_element(c, "Comment"))
            continue; /* descriptive only */
        else {
            snprintf(msg, sizeof(msg), "unsupported element <%.64s> in <UnitMonitor>", c->name);
            rc = fail(ld, c, MDM_EUNSUPPORTED, msg);
        }
    }
    if (rc == 0 && def->detectors[0].expr == NULL)
        rc = fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no <Configuration>");
    if (rc == 0 && def->detectors[0].state_id == NULL)
        rc = fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no <OperationalStates>");
    mdm_free(enabled);
    mdm_free(attr);
    return rc;
}

/* Finds the default LanguagePack's DisplayString for element id, or NULL. */
static const xmlNode *display_string(const xmlNode *root, const char *id)
{
    const xmlNode *lps = child(root, "LanguagePacks");
    const xmlNode *found = NULL;

    if (lps == NULL || id == NULL)
        return NULL;
    for (const xmlNode *lp = lps->children; lp != NULL; lp = lp->next) {
        xmlChar *lang, *is_default;
        bool preferred;
        const xmlNode *strings;

        if (!is_element(lp, "LanguagePack"))
            continue;
        lang = xmlGetProp(lp, (const xmlChar *)"ID");
        is_default = xmlGetProp(lp, (const xmlChar *)"IsDefault");
        preferred = (is_default && strcmp((const char *)is_default, "true") == 0) ||
                    (lang && strcmp((const char *)lang, "ENU") == 0);
        xmlFree(lang);
        xmlFree(is_default);
        strings = child(lp, "DisplayStrings");
        if (strings == NULL)
            continue;
        for (const xmlNode *ds = strings->children; ds != NULL; ds = ds->next) {
            xmlChar *element;
            bool match;
            if (!is_element(ds, "DisplayString"))
                continue;
            element = xmlGetProp(ds, (const xmlChar *)"ElementID");
            match = element && strcmp((const char *)element, id) == 0;
            xmlFree(element);
            if (match && (preferred || found == NULL)) {
                found = ds;
                if (preferred)
                    return found;
            }
        }
    }
    return found;
}

/* Fills display names and alert text from the pack's LanguagePacks. */
static int load_display_strings(const xmlNode *root, struct mdm_monitor_def *def)
{
    const xmlNode *ds = display_string(root, def->id);
    const xmlNode *n;

    if (ds != NULL && (n = child(ds, "Name")) != NULL) {
        def->display_name = text_of(n);
        if (def->display_name == NULL)
            return MDM_ENOMEM;
    }
    if (!def->alert_generate)
        return 0;
    ds = display_string(root, def->alert_message_id);
    if (ds != NULL && (n = child(ds, "Name")) != NULL)
        def->alert_name = text_of(n);
    else
        def->alert_name = mdm_strdup(def->alert_message_id ? def->alert_message_id : def->id);
    if (def->alert_name == NULL)
        return MDM_ENOMEM;
    if (ds != NULL && (n = child(ds, "Description")) != NULL) {
        def->alert_description = text_of(n);
        if (def->alert_description == NULL)
            return MDM_ENOMEM;
    }
    return 0;
}

/* Collects UnitMonitor elements below node, in document order. */
static int collect_monitors(struct loader *ld, const xmlNode *root, const xmlNode *node,
                            struct mdm_pack *pack, size_t *capacity)
{
    int rc;

    for (const xmlNode *c = node; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_element(c, "UnitMonitor")) {
            struct mdm_monitor_def *def;
            if (pack->monitor_count == *capacity) {
                size_t cap = *capacity ? *capacity * 2 : 4;
                struct mdm_monitor_def *grown =
                    mdm_realloc(pack->monitors, cap * sizeof(*pack->monitors));
                if (grown == NULL)
                    return MDM_ENOMEM;
                pack->monitors = grown;
                *capacity = cap;
            }
            def = &pack->monitors[pack->monitor_count++];
            memset(def, 0, sizeof(*def));
            rc = load_unit_monitor(ld, c, def);
            if (rc == 0)
                rc = load_display_strings(root, def);
            if (rc != 0)
                return rc;
            /* Rows, the state file and the MIB are keyed by the ID: it must be unique. */
            for (size_t i = 0; i + 1 < pack->monitor_count; i++)
                if (strcmp(pack->monitors[i].id, def->id) == 0)
                    return mdm_err_set(ld->err, MDM_EPARSE,
                                       "%s:%ld: <UnitMonitor ID=\"%.120s\"> is defined twice, on "
                                       "lines %ld and %ld",
                                       ld->origin, def->line, def->id, pack->monitors[i].line,
                                       def->line);
            continue;
        }
        /* Presentation and LanguagePacks hold no monitors. */
        if (is_element(c, "LanguagePacks") || is_element(c, "Presentation"))
            continue;
        rc = collect_monitors(ld, root, c->children, pack, capacity);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void free_param(struct mdm_param *param)
{
    mdm_free(param->text);
}

void mdm_pack_free(struct mdm_pack *pack)
{
    if (pack == NULL)
        return;
    for (size_t i = 0; i < pack->monitor_count; i++) {
        struct mdm_monitor_def *def = &pack->monitors[i];
        mdm_free(def->id);
        mdm_free(def->display_name);
        mdm_free(def->target_class);
        mdm_free(def->type_id);
        for (int d = 0; d < 2; d++) {
            free_param(&def->detectors[d].computer);
            mdm_free(def->detectors[d].log_name);
            mdm_expr_free(def->detectors[d].expr);
            mdm_free(def->detectors[d].state_id);
        }
        mdm_free(def->alert_message_id);
        mdm_free(def->alert_name);
        mdm_free(def->alert_description);
        for (size_t p = 0; p < MDM_ALERT_PARAMS_MAX; p++)
            free_param(&def->alert_params[p]);
    }
    mdm_free(pack->monitors);
    mdm_free(pack->origin);
    mdm_free(pack->id);
    mdm_free(pack);
}

int mdm_pack_load_memory(const char *data, size_t len, const char *origin, struct mdm_pack **out,
                         struct mdm_err *err)
{
    struct loader ld = {origin, NULL, err};
    struct mdm_pack *pack = NULL;
    xmlParserCtxt *ctxt = NULL;
    struct mdm_xml_first_error first;
    const xmlNode *root;
    size_t capacity = 0;
    int rc;

    memset(&first, 0, sizeof(first));
    if (len > PACK_MAX_BYTES) {
        rc = mdm_err_set(err, MDM_ETOOBIG, "%s: management pack larger than %u MiB", origin,
                         PACK_MAX_BYTES / (1024u * 1024u));
        goto out;
    }
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    /*
     * No network, no entity substitution, no DTD loading. libxml2 2.9 has no
     * per-context structured handler, so the (thread-local) one is set for
     * the duration of the parse.
     */
    xmlSetStructuredErrorFunc(&first, mdm_xml_capture_first_error);
    ld.doc = xmlCtxtReadMemory(ctxt, data, (int)len, origin, NULL,
                               XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (ld.doc == NULL || (first.seen && !ctxt->wellFormed)) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s:%d:%d: malformed XML: %s", origin, first.line,
                         first.column, first.seen ? first.message : "cannot parse");
        goto out;
    }
    if (ld.doc->intSubset != NULL || ld.doc->extSubset != NULL) {
        rc = mdm_err_set(err, MDM_EPARSE,
                         "%s: a document type declaration (DTD) is not allowed in a management "
                         "pack",
                         origin);
        goto out;
    }
    root = xmlDocGetRootElement(ld.doc);
    pack = mdm_calloc(1, sizeof(*pack));
    if (pack == NULL || (pack->origin = mdm_strdup(origin)) == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    if (is_element(root, "ManagementPack")) {
        const xmlNode *manifest = child(root, "Manifest");
        const xmlNode *identity = manifest ? child(manifest, "Identity") : NULL;
        const xmlNode *id = identity ? child(identity, "ID") : NULL;
        if (id != NULL && (pack->id = text_of(id)) == NULL) {
            rc = MDM_ENOMEM;
            goto out;
        }
    }
    rc = collect_monitors(&ld, root, root, pack, &capacity);
    if (rc == MDM_ENOMEM)
        mdm_err_set(err, rc, "%s: out of memory", origin);
    if (rc != 0)
        goto out;
    if (pack->monitor_count == 0) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s:%ld: no <UnitMonitor> element found", origin,
                         xmlGetLineNo(root));
        goto out;
    }
    *out = pack;
    pack = NULL;
    rc = 0;
out:
    mdm_pack_free(pack);
    if (ld.doc != NULL)
        xmlFreeDoc(ld.doc);
    if (ctxt != NULL)
        xmlFreeParserCtxt(ctxt);
    return rc;
}

int mdm_pack_load_file(const char *path, struct mdm_pack **out, struct mdm_err *err)
{
    FILE *f = NULL;
    char *data = NULL;
    size_t len = 0, cap = 0, n;
    int rc;

    rc = mdm_fs_open_regular(path, &f, err);
    if (rc == MDM_ENOTFOUND)
        return mdm_err_set(err, MDM_EIO, "%s: cannot open management pack: no such file", path);
    if (rc != 0) {
        mdm_err_prefix(err, "management pack ");
        return rc;
    }
    for (;;) {
        if (len == cap) {
            char *grown;
            if (cap >= PACK_MAX_BYTES) {
                rc = mdm_err_set(err, MDM_ETOOBIG, "%s: management pack larger than %u MiB", path,
                                 PACK_MAX_BYTES / (1024u * 1024u));
                goto out;
            }
            cap = cap ? cap * 2 : 65536;
            grown = mdm_realloc(data, cap + 1);
            if (grown == NULL) {
                rc = mdm_err_set(err, MDM_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            data = grown;
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        rc = mdm_err_set(err, MDM_EIO, "%s: read error", path);
        goto out;
    }
    rc = mdm_pack_load_memory(data, len, path, out, err);
out:
    mdm_free(data);
    fclose(f);
    return rc;
}

int mdm_pack_load_default(struct mdm_pack **out, struct mdm_err *err)
{
    return mdm_pack_load_memory((const char *)mdm_default_pack, mdm_default_pack_len,
                                "(built-in enrollment-connection pack)", out, err);
}

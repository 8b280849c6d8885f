/*
 * pack.c - loads <UnitMonitor> definitions from management pack XML.
 */
#include "agent/engine/pack.h"

#include "agent/os/mdm_fs.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"

#include "wevt/xml_error.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
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

static void free_monitor_def(struct mdm_monitor_def *def);

/* A reference alias declared in a Manifest: Alias="Windows" -> Microsoft.Windows.Library. */
struct pack_alias {
    char *alias;
    char *pack_id;
};

/* One parsed pack file of the set. */
struct pack_doc {
    const char *origin; /* borrowed from the caller's source list */
    xmlDoc *doc;
    xmlNode *root;
    char *pack_id; /* Manifest/Identity/ID; NULL for a fragment */
    struct pack_alias *aliases;
    size_t alias_count;
};

/* An override of a monitor property or configuration parameter, resolved. */
struct override_rec {
    struct pack_doc *doc;
    const xmlNode *node;
    bool is_config;                  /* MonitorConfigurationOverride */
    const char *monitor_pack;        /* pack ID the Monitor reference resolves to; NULL = unknown */
    char *monitor_id;                /* the monitor's ID without alias */
    char *context_pack, *context_id; /* Context resolved; NULL when absent */
    bool has_instance;               /* ContextInstance: one object only */
    char *name;                      /* Property or Parameter */
    char *value;                     /* <Value> */
    struct mdm_pack_override *report; /* its entry in pack->overrides */
};

struct loader {
    const char *origin;   /* the file being read, for messages */
    struct pack_doc *cur; /* the document being read */
    struct pack_doc *docs;
    size_t doc_count;
    struct override_rec *overrides;
    size_t override_count;
    struct mdm_pack *pack;
    size_t monitor_cap, skip_cap;
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
                return fail(ld, node, MDM_EUNSUPPORTED, msg);
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
static int load_unit_monitor(struct loader *ld, const xmlNode *um, struct mdm_monitor_def *def)
{
    char msg[400];
    char *attr = NULL;
    int rc = 0;

    def->target_class = attr_of(um, "Target");
    attr = attr_of(um, "Remotable");
    def->remotable = attr != NULL && strcmp(attr, "true") == 0;
    mdm_free(attr);
    attr = attr_of(um, "ConfirmDelivery");
    def->confirm_delivery = attr != NULL && strcmp(attr, "true") == 0;
    mdm_free(attr);

    for (const xmlNode *c = um->children; c != NULL && rc == 0; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_element(c, "Configuration")) {
            rc = check_config_references(ld, c);
            if (rc == 0)
                rc = load_configuration(ld, c, def);
        } else if (is_element(c, "OperationalStates"))
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
    return rc;
}

/* Finds the default LanguagePack's DisplayString for element id in one document, or NULL. */
static const xmlNode *display_string_in(const xmlNode *root, const char *id)
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
            match = element && strcmp((const char *)element, id) == 0 &&
                    !xmlHasProp(ds, (const xmlChar *)"SubElementID");
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

/*
 * The DisplayString for id: in the monitor's own document first, then in the
 * other files of the set (a VSAE project keeps its LanguagePacks in a
 * fragment of their own).
 */
static const xmlNode *display_string(const struct loader *ld, const char *id)
{
    const xmlNode *ds = display_string_in(ld->cur->root, id);

    for (size_t i = 0; ds == NULL && i < ld->doc_count; i++)
        if (&ld->docs[i] != ld->cur)
            ds = display_string_in(ld->docs[i].root, id);
    return ds;
}

/* Fills display names and alert text from the packs' LanguagePacks. */
static int load_display_strings(const struct loader *ld, struct mdm_monitor_def *def)
{
    const xmlNode *ds = display_string(ld, def->id);
    const xmlNode *n;

    if (ds != NULL && (n = child(ds, "Name")) != NULL) {
        def->display_name = text_of(n);
        if (def->display_name == NULL)
            return MDM_ENOMEM;
    }
    if (!def->alert_generate)
        return 0;
    ds = display_string(ld, def->alert_message_id);
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

/* ---- references ------------------------------------------------------------ */

/* The library that defines the one implemented monitor type. */
#define WINDOWS_LIBRARY "Microsoft.Windows.Library"

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
static bool resolve_ref(const struct pack_doc *doc, const char *ref, const char **pack_out,
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
static bool same_pack(const char *a, const char *b)
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
        if (c->type != XML_ELEMENT_NODE || is_element(c, "LanguagePacks") ||
            is_element(c, "Presentation") || is_element(c, "Monitoring"))
            continue;
        if (is_element(c, kind)) {
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
        if (!same_pack(pack_id, ld->docs[d].pack_id))
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
    impl = child(type, "MonitorImplementation");
    if (impl == NULL && (impl = child(type, "ModuleImplementation")) != NULL)
        impl = child(impl, "Composite");
    if (impl != NULL)
        members = child(impl, "MemberModules");
    if (members == NULL)
        return;
    for (const xmlNode *m = members->children; m != NULL; m = m->next) {
        xmlChar *tid;
        const char *pack, *name;
        struct pack_doc *def_doc = NULL;
        const xmlNode *def;

        if (m->type != XML_ELEMENT_NODE ||
            !(is_element(m, "DataSource") || is_element(m, "ProbeAction")))
            continue;
        tid = xmlGetProp(m, (const xmlChar *)"TypeID");
        if (tid == NULL)
            continue;
        if (resolve_ref(doc, (const char *)tid, &pack, &name)) {
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
 * Why a monitor type cannot be evaluated, as a new string (caller frees), or
 * NULL in *reason_out when it is the implemented type. Returns 0 or
 * MDM_ENOMEM.
 */
static int classify_type(const struct loader *ld, const char *type_ref, char **reason_out)
{
    char reason[600];
    char source[200] = "";
    const char *pack, *name;
    const xmlNode *def;
    struct pack_doc *def_doc = NULL;
    bool event_log = false;

    *reason_out = NULL;
    if (!resolve_ref(ld->cur, type_ref, &pack, &name)) {
        int alias_len = (int)(strchr(type_ref, '!') - type_ref);
        snprintf(reason, sizeof(reason),
                 "type alias \"%.*s!\" is not declared in the Manifest's <References>",
                 alias_len > 100 ? 100 : alias_len, type_ref);
        goto out;
    }
    if (strcmp(name, MONITOR_TYPE_2STATE) == 0 &&
        ((pack != NULL && strcmp(pack, WINDOWS_LIBRARY) == 0) || strchr(type_ref, '!') == NULL))
        return 0;
    if ((def = find_module_type(ld, pack, name, &def_doc)) != NULL) {
        scan_modules(ld, def_doc, def, 0, &event_log, source, sizeof(source));
        if (event_log)
            snprintf(reason, sizeof(reason),
                     "type %.200s (defined in %.200s): an event-log monitor type composed in the "
                     "pack; composed types are not supported yet",
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
    if (pack != NULL && strcmp(pack, WINDOWS_LIBRARY) == 0 &&
        (strstr(name, "EventLog") != NULL ||
         strcmp(name, "Microsoft.Windows.CheckNTServiceStateMonitorType") == 0))
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

/* ---- the pack set ---------------------------------------------------------- */

static int record_skip(struct loader *ld, const char *id, const char *type, long line,
                       const char *reason)
{
    struct mdm_pack *pack = ld->pack;
    struct mdm_pack_skip *s;

    if (pack->skip_count == ld->skip_cap) {
        size_t cap = ld->skip_cap ? ld->skip_cap * 2 : 8;
        struct mdm_pack_skip *grown = mdm_realloc(pack->skips, cap * sizeof(*grown));
        if (grown == NULL)
            return MDM_ENOMEM;
        pack->skips = grown;
        ld->skip_cap = cap;
    }
    s = &pack->skips[pack->skip_count];
    memset(s, 0, sizeof(*s));
    s->line = line;
    s->file = mdm_strdup(ld->origin);
    s->id = mdm_strdup(id);
    s->type = mdm_strdup(type);
    s->reason = mdm_strdup(reason);
    pack->skip_count++;
    if (s->file == NULL || s->id == NULL || s->type == NULL || s->reason == NULL)
        return MDM_ENOMEM;
    return 0;
}

/*
 * Turns the message of a construct error ("FILE:LINE: text") into a skip
 * reason ("text (line LINE)").
 */
static void construct_reason(const struct loader *ld, char *out, size_t cap)
{
    const char *msg = ld->err->msg;
    size_t olen = strlen(ld->origin);
    char *end;
    long line = 0;

    if (strncmp(msg, ld->origin, olen) == 0 && msg[olen] == ':') {
        line = strtol(msg + olen + 1, &end, 10);
        if (end[0] == ':' && end[1] == ' ')
            msg = end + 2;
        else
            msg += olen + 1;
    }
    if (line > 0)
        snprintf(out, cap, "%s (line %ld)", msg, line);
    else
        snprintf(out, cap, "%s", msg);
}

/* The override applies to every object of the monitor's target class. */
static const char *override_scope_problem(const struct override_rec *o, const char *target_pack,
                                          const char *target_id)
{
    if (o->has_instance)
        return "it applies to one object (ContextInstance); mdmhealth has no SCOM object model";
    if (o->context_id == NULL)
        return NULL;
    if (target_id == NULL)
        return "the monitor's Target alias is not declared in the Manifest's <References>, so "
               "the override's Context cannot be compared with it";
    if (strcmp(o->context_id, target_id) == 0 && same_pack(o->context_pack, target_pack))
        return NULL;
    return "its Context is not the monitor's Target class; mdmhealth has no groups or class "
           "hierarchy to know which computers it covers";
}

static bool parse_bool_value(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else
        return false;
    return true;
}

static int set_override_outcome(struct override_rec *o, enum mdm_override_outcome outcome,
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
static const char *apply_property(struct mdm_monitor_def *def, const char *name, const char *v)
{
    bool b;

    if (strcmp(name, "GenerateAlert") == 0) {
        if (!parse_bool_value(v, &b))
            return "GenerateAlert must be true or false";
        if (b && def->alert_message_id == NULL && !def->alert_generate)
            return "the monitor has no <AlertSettings> to generate an alert from";
        def->alert_generate = b;
        return NULL;
    }
    if (strcmp(name, "AutoResolve") == 0) {
        if (!parse_bool_value(v, &b))
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
static const char *apply_configuration(xmlNode *um, const char *name, const char *value,
                                       bool *nomem)
{
    xmlNode *config = child(um, "Configuration");
    xmlNode *param = config ? child(config, name) : NULL;
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
static bool override_targets(const struct override_rec *o, const char *pack_id, const char *id)
{
    return strcmp(o->monitor_id, id) == 0 && same_pack(o->monitor_pack, pack_id);
}

/* Reads one <UnitMonitor>: loads it, or records why it is skipped. */
static int process_unit_monitor(struct loader *ld, xmlNode *um)
{
    struct mdm_pack *pack = ld->pack;
    struct mdm_monitor_def *def = NULL;
    char *id = NULL, *type = NULL, *enabled_attr = NULL, *target = NULL, *reason = NULL;
    const char *target_pack = NULL, *target_id = NULL;
    char why[700];
    long line = xmlGetLineNo(um);
    bool enabled;
    struct override_rec *enabled_by = NULL;
    int rc = 0;

    id = attr_of(um, "ID");
    if (id == NULL) {
        rc = fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no ID attribute");
        goto out;
    }
    type = attr_of(um, "TypeID");
    if (type == NULL) {
        rc = fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no TypeID attribute");
        goto out;
    }
    enabled_attr = attr_of(um, "Enabled");
    enabled = enabled_attr == NULL || strcmp(enabled_attr, "false") != 0;
    target = attr_of(um, "Target");
    if (target != NULL && !resolve_ref(ld->cur, target, &target_pack, &target_id))
        target_id = NULL;

    /* Enabled overrides first: a disabled monitor is not compiled. */
    for (size_t i = 0; i < ld->override_count; i++) {
        struct override_rec *o = &ld->overrides[i];
        const char *problem;
        bool b;
        if (o->is_config || strcmp(o->name, "Enabled") != 0 ||
            !override_targets(o, ld->cur->pack_id, id))
            continue;
        problem = override_scope_problem(o, target_pack, target_id);
        if (problem == NULL && !parse_bool_value(o->value, &b))
            problem = "Enabled must be true or false";
        if (problem != NULL) {
            rc = set_override_outcome(o, MDM_OVERRIDE_NOT_APPLIED, problem);
            if (rc != 0)
                goto out;
            continue;
        }
        enabled = b;
        enabled_by = o;
        rc = set_override_outcome(o, MDM_OVERRIDE_APPLIED, NULL);
        if (rc != 0)
            goto out;
    }
    if (!enabled) {
        if (enabled_by != NULL)
            snprintf(why, sizeof(why), "disabled by override %.200s (%.200s:%ld)",
                     enabled_by->report->id, enabled_by->doc->origin, enabled_by->report->line);
        else
            snprintf(why, sizeof(why), "disabled (Enabled=\"false\" in its definition)");
        rc = record_skip(ld, id, type, line, why);
        goto unused;
    }
    rc = classify_type(ld, type, &reason);
    if (rc != 0)
        goto out;
    if (reason != NULL) {
        rc = record_skip(ld, id, type, line, reason);
        goto unused;
    }

    /* Configuration overrides change the XML before it is compiled. */
    for (size_t i = 0; i < ld->override_count; i++) {
        struct override_rec *o = &ld->overrides[i];
        const char *problem;
        bool nomem;
        if (!o->is_config || !override_targets(o, ld->cur->pack_id, id))
            continue;
        problem = override_scope_problem(o, target_pack, target_id);
        if (problem == NULL) {
            problem = apply_configuration(um, o->name, o->value, &nomem);
            if (nomem) {
                rc = MDM_ENOMEM;
                goto out;
            }
        }
        rc = set_override_outcome(o, problem ? MDM_OVERRIDE_NOT_APPLIED : MDM_OVERRIDE_APPLIED,
                                  problem);
        if (rc != 0)
            goto out;
    }

    if (pack->monitor_count == ld->monitor_cap) {
        size_t cap = ld->monitor_cap ? ld->monitor_cap * 2 : 4;
        struct mdm_monitor_def *grown = mdm_realloc(pack->monitors, cap * sizeof(*grown));
        if (grown == NULL) {
            rc = MDM_ENOMEM;
            goto out;
        }
        pack->monitors = grown;
        ld->monitor_cap = cap;
    }
    def = &pack->monitors[pack->monitor_count++];
    memset(def, 0, sizeof(*def));
    def->id = id;
    id = NULL;
    def->type_id = type;
    type = NULL;
    def->line = line;
    def->enabled = true;
    def->origin = mdm_strdup(ld->origin);
    if (def->origin == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    rc = load_unit_monitor(ld, um, def);
    if (rc == MDM_EUNSUPPORTED) {
        /* A construct inside is not implemented: skip the monitor, naming it. */
        construct_reason(ld, why, sizeof(why));
        mdm_err_clear(ld->err);
        pack->monitor_count--;
        rc = record_skip(ld, def->id, def->type_id, line, why);
        free_monitor_def(def);
        if (rc == 0) {
            id = NULL;
            goto unused_def;
        }
        goto out;
    }
    if (rc == 0)
        rc = load_display_strings(ld, def);
    if (rc != 0)
        goto out;

    /* The other property overrides apply to the compiled monitor. */
    for (size_t i = 0; i < ld->override_count; i++) {
        struct override_rec *o = &ld->overrides[i];
        const char *problem;
        if (o->is_config || strcmp(o->name, "Enabled") == 0 ||
            !override_targets(o, ld->cur->pack_id, def->id))
            continue;
        problem = override_scope_problem(o, target_pack, target_id);
        if (problem == NULL)
            problem = apply_property(def, o->name, o->value);
        rc = set_override_outcome(o, problem ? MDM_OVERRIDE_NOT_APPLIED : MDM_OVERRIDE_APPLIED,
                                  problem);
        if (rc != 0)
            goto out;
    }
    goto out;

unused_def:
    /* The skip owns copies; look the overrides up by the skip's ID. */
    id = mdm_strdup(pack->skips[pack->skip_count - 1].id);
    if (id == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
unused:
    /*
     * Overrides of a skipped monitor change nothing, except the Enabled
     * override that disabled it (the skip names it).
     */
    for (size_t i = 0; rc == 0 && i < ld->override_count; i++) {
        struct override_rec *o = &ld->overrides[i];
        /* An Enabled override that could not be applied to a disabled
         * monitor keeps its reason: it is why the monitor stays disabled. */
        bool kept_disabled = !enabled && !o->is_config && strcmp(o->name, "Enabled") == 0 &&
                             o->report->outcome == MDM_OVERRIDE_NOT_APPLIED;
        if (override_targets(o, ld->cur->pack_id, id) && !(o == enabled_by && !enabled) &&
            !kept_disabled)
            rc = set_override_outcome(o, MDM_OVERRIDE_UNUSED, "its monitor is skipped");
    }
out:
    mdm_free(id);
    mdm_free(type);
    mdm_free(enabled_attr);
    mdm_free(target);
    mdm_free(reason);
    return rc;
}

/* Reads every UnitMonitor below node, in document order. */
static int collect_monitors(struct loader *ld, xmlNode *node)
{
    int rc;

    for (xmlNode *c = node; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_element(c, "UnitMonitor")) {
            rc = process_unit_monitor(ld, c);
            if (rc != 0)
                return rc;
            continue;
        }
        /* Presentation, LanguagePacks and type definitions hold no monitors. */
        if (is_element(c, "LanguagePacks") || is_element(c, "Presentation") ||
            is_element(c, "TypeDefinitions") || is_element(c, "Overrides"))
            continue;
        rc = collect_monitors(ld, c->children);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* "$MPElement[Name='X']$" or "$MPElement[Name=\"X\"]$" -> "X" (in place); other text unchanged. */
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
    bool is_config = is_element(node, "MonitorConfigurationOverride");
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
    r->line = xmlGetLineNo(node);
    r->file = mdm_strdup(doc->origin);
    r->id = attr_of(node, "ID");
    monitor = attr_of(node, "Monitor");
    o->name = attr_of(node, is_config ? "Parameter" : "Property");
    value = child(node, "Value");
    o->value = value ? text_of(value) : NULL;
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
    if (!resolve_ref(doc, monitor, &mpack, &mname)) {
        rc = set_override_outcome(o, MDM_OVERRIDE_UNUSED,
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
    context = attr_of(node, "Context");
    instance = attr_of(node, "ContextInstance");
    o->has_instance = instance != NULL && instance[0] != '\0';
    if (context != NULL && resolve_ref(doc, context, &cpack, &cname)) {
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
static int collect_overrides(struct loader *ld, struct pack_doc *doc, const xmlNode *node,
                             int depth, size_t *override_cap)
{
    int rc;

    if (depth > 6)
        return 0;
    for (const xmlNode *c = node; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || is_element(c, "LanguagePacks") ||
            is_element(c, "Presentation") || is_element(c, "TypeDefinitions") ||
            is_element(c, "Monitors") || is_element(c, "Rules") || is_element(c, "Discoveries"))
            continue;
        if (is_element(c, "Overrides")) {
            for (const xmlNode *o = c->children; o != NULL; o = o->next) {
                if (o->type != XML_ELEMENT_NODE)
                    continue;
                if (is_element(o, "MonitorPropertyOverride") ||
                    is_element(o, "MonitorConfigurationOverride")) {
                    rc = add_override(ld, doc, o, override_cap);
                    if (rc != 0)
                        return rc;
                } else {
                    ld->pack->other_override_count++;
                }
            }
            continue;
        }
        rc = collect_overrides(ld, doc, c->children, depth + 1, override_cap);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Reads the Manifest's identity and reference aliases. */
static int read_manifest(struct pack_doc *doc)
{
    const xmlNode *manifest = child(doc->root, "Manifest");
    const xmlNode *identity = manifest ? child(manifest, "Identity") : NULL;
    const xmlNode *id = identity ? child(identity, "ID") : NULL;
    const xmlNode *refs = manifest ? child(manifest, "References") : NULL;
    size_t n = 0;

    if (id != NULL && (doc->pack_id = text_of(id)) == NULL)
        return MDM_ENOMEM;
    if (refs == NULL)
        return 0;
    for (const xmlNode *r = refs->children; r != NULL; r = r->next)
        if (is_element(r, "Reference"))
            n++;
    if (n == 0)
        return 0;
    doc->aliases = mdm_calloc(n, sizeof(*doc->aliases));
    if (doc->aliases == NULL)
        return MDM_ENOMEM;
    for (const xmlNode *r = refs->children; r != NULL; r = r->next) {
        const xmlNode *rid;
        struct pack_alias *a;
        if (!is_element(r, "Reference") || (rid = child(r, "ID")) == NULL)
            continue;
        a = &doc->aliases[doc->alias_count];
        a->alias = attr_of(r, "Alias");
        if (a->alias == NULL)
            continue;
        doc->alias_count++;
        if ((a->pack_id = text_of(rid)) == NULL)
            return MDM_ENOMEM;
    }
    return 0;
}

/*
 * Parses one source. libxml2 reads the encoding from the byte order mark or
 * the XML declaration (no encoding is forced), so UTF-16 LE/BE exports load
 * like UTF-8 ones; CRLF line ends are normalised by the parser.
 */
static int parse_source(const struct mdm_pack_source *src, struct pack_doc *doc,
                        struct mdm_err *err)
{
    xmlParserCtxt *ctxt = NULL;
    struct mdm_xml_first_error first;
    int rc = 0;

    memset(&first, 0, sizeof(first));
    doc->origin = src->origin;
    if (src->len > PACK_MAX_BYTES)
        return mdm_err_set(err, MDM_ETOOBIG, "%s: management pack larger than %u MiB", src->origin,
                           PACK_MAX_BYTES / (1024u * 1024u));
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "%s: out of memory", src->origin);
    /*
     * No network, no entity substitution, no DTD loading. libxml2 2.9 has no
     * per-context structured handler, so the (thread-local) one is set for
     * the duration of the parse.
     */
    xmlSetStructuredErrorFunc(&first, mdm_xml_capture_first_error);
    doc->doc = xmlCtxtReadMemory(ctxt, src->data, (int)src->len, src->origin, NULL,
                                 XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (doc->doc == NULL || (first.seen && !ctxt->wellFormed)) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s:%d:%d: malformed XML: %s", src->origin, first.line,
                         first.column, first.seen ? first.message : "cannot parse");
        goto out;
    }
    if (doc->doc->intSubset != NULL || doc->doc->extSubset != NULL) {
        rc = mdm_err_set(err, MDM_EPARSE,
                         "%s: a document type declaration (DTD) is not allowed in a management "
                         "pack",
                         src->origin);
        goto out;
    }
    doc->root = xmlDocGetRootElement(doc->doc);
    if (doc->root == NULL) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s: empty document", src->origin);
        goto out;
    }
    if (is_element(doc->root, "ManagementPack") && read_manifest(doc) != 0)
        rc = mdm_err_set(err, MDM_ENOMEM, "%s: out of memory", src->origin);
out:
    xmlFreeParserCtxt(ctxt);
    return rc;
}

static void free_doc(struct pack_doc *doc)
{
    if (doc->doc != NULL)
        xmlFreeDoc(doc->doc);
    mdm_free(doc->pack_id);
    for (size_t i = 0; i < doc->alias_count; i++) {
        mdm_free(doc->aliases[i].alias);
        mdm_free(doc->aliases[i].pack_id);
    }
    mdm_free(doc->aliases);
}

static void free_override_rec(struct override_rec *o)
{
    mdm_free(o->monitor_id);
    mdm_free(o->context_pack);
    mdm_free(o->context_id);
    mdm_free(o->name);
    mdm_free(o->value);
}

static int compare_monitor_ids(const void *a, const void *b)
{
    const struct mdm_monitor_def *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

/*
 * Monitor IDs must be unique across the whole set (every file, every monitor
 * evaluated): rows, the state file and the MIB are keyed by the ID.
 */
static int check_unique_ids(const struct mdm_pack *pack, struct mdm_err *err)
{
    const struct mdm_monitor_def **sorted;
    int rc = 0;

    if (pack->monitor_count < 2)
        return 0;
    sorted = mdm_calloc(pack->monitor_count, sizeof(*sorted));
    if (sorted == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    for (size_t i = 0; i < pack->monitor_count; i++)
        sorted[i] = &pack->monitors[i];
    qsort(sorted, pack->monitor_count, sizeof(*sorted), compare_monitor_ids);
    for (size_t i = 1; i < pack->monitor_count; i++) {
        const struct mdm_monitor_def *a = sorted[i - 1], *b = sorted[i];
        if (strcmp(a->id, b->id) != 0)
            continue;
        /* Name them in document order. */
        if (a > b) {
            const struct mdm_monitor_def *t = a;
            a = b;
            b = t;
        }
        rc = mdm_err_set(err, MDM_EINVAL,
                         "%s:%ld: monitor ID %.200s is defined twice (also at %s:%ld); monitor "
                         "IDs must be unique across the packs",
                         b->origin, b->line, b->id, a->origin, a->line);
        break;
    }
    mdm_free(sorted);
    return rc;
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

static void free_monitor_def(struct mdm_monitor_def *def)
{
    mdm_free(def->id);
    mdm_free(def->origin);
    mdm_free(def->display_name);
    mdm_free(def->target_class);
    mdm_free(def->type_id);
    for (int d = 0; d < 2; d++) {
        mdm_free(def->detectors[d].computer.text);
        mdm_free(def->detectors[d].log_name);
        mdm_expr_free(def->detectors[d].expr);
        mdm_free(def->detectors[d].state_id);
    }
    mdm_free(def->alert_message_id);
    mdm_free(def->alert_name);
    mdm_free(def->alert_description);
    for (size_t p = 0; p < MDM_ALERT_PARAMS_MAX; p++)
        mdm_free(def->alert_params[p].text);
    memset(def, 0, sizeof(*def));
}

void mdm_pack_free(struct mdm_pack *pack)
{
    if (pack == NULL)
        return;
    for (size_t i = 0; i < pack->monitor_count; i++)
        free_monitor_def(&pack->monitors[i]);
    mdm_free(pack->monitors);
    for (size_t i = 0; i < pack->skip_count; i++) {
        mdm_free(pack->skips[i].file);
        mdm_free(pack->skips[i].id);
        mdm_free(pack->skips[i].type);
        mdm_free(pack->skips[i].reason);
    }
    mdm_free(pack->skips);
    for (size_t i = 0; i < pack->override_count; i++) {
        mdm_free(pack->overrides[i].file);
        mdm_free(pack->overrides[i].id);
        mdm_free(pack->overrides[i].monitor);
        mdm_free(pack->overrides[i].setting);
        mdm_free(pack->overrides[i].why);
    }
    mdm_free(pack->overrides);
    mdm_free(pack->origin);
    mdm_free(pack->id);
    mdm_free(pack);
}

/* Appends every skip line to details (when given); a full buffer only cuts the list. */
static void report_skips(const struct mdm_pack *pack, const struct mdm_pack_options *opt)
{
    if (opt == NULL || opt->details == NULL)
        return;
    for (size_t i = 0; i < pack->skip_count; i++)
        if (mdm_pack_format_skip(&pack->skips[i], opt->details) != 0)
            return;
    for (size_t i = 0; i < pack->override_count; i++)
        if (pack->overrides[i].outcome == MDM_OVERRIDE_NOT_APPLIED &&
            mdm_pack_format_override(&pack->overrides[i], opt->details) != 0)
            return;
}

int mdm_pack_load_sources(const struct mdm_pack_source *sources, size_t count,
                          const struct mdm_pack_options *opt, struct mdm_pack **out,
                          struct mdm_err *err)
{
    struct loader ld;
    size_t override_cap = 0;
    int rc = 0;

    memset(&ld, 0, sizeof(ld));
    ld.err = err;
    if (count == 0 || count > MDM_PACK_FILES_MAX)
        return mdm_err_set(err, MDM_EINVAL, "between 1 and %d management packs can be loaded",
                           MDM_PACK_FILES_MAX);
    ld.pack = mdm_calloc(1, sizeof(*ld.pack));
    ld.docs = mdm_calloc(count, sizeof(*ld.docs));
    if (ld.pack == NULL || ld.docs == NULL ||
        (ld.pack->origin = mdm_strdup(sources[0].origin)) == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    ld.pack->file_count = count;
    for (size_t i = 0; i < count; i++) {
        rc = parse_source(&sources[i], &ld.docs[i], err);
        if (rc != 0)
            goto out;
        ld.doc_count++;
    }
    if (ld.docs[0].pack_id != NULL && (ld.pack->id = mdm_strdup(ld.docs[0].pack_id)) == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    /* Overrides of every file first: an override pack may come before or after its monitors. */
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = collect_overrides(&ld, &ld.docs[i], ld.docs[i].root, 0, &override_cap);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        ld.cur = &ld.docs[i];
        ld.origin = ld.docs[i].origin;
        rc = collect_monitors(&ld, ld.docs[i].root);
    }
    if (rc == MDM_ENOMEM)
        mdm_err_set(err, rc, "%s: out of memory", ld.origin ? ld.origin : sources[0].origin);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < ld.override_count; i++) {
        struct override_rec *o = &ld.overrides[i];
        if (o->report->outcome == MDM_OVERRIDE_UNUSED && o->report->why == NULL) {
            char why[300];
            snprintf(why, sizeof(why), "no monitor %.200s in the loaded packs", o->monitor_id);
            rc = set_override_outcome(o, MDM_OVERRIDE_UNUSED, why);
            if (rc != 0) {
                mdm_err_set(err, rc, "out of memory");
                goto out;
            }
        }
    }
    rc = check_unique_ids(ld.pack, err);
    if (rc != 0)
        goto out;
    if (ld.pack->monitor_count == 0 && ld.pack->skip_count == 0) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s:%ld: no <UnitMonitor> element found",
                         sources[0].origin, xmlGetLineNo(ld.docs[0].root));
        goto out;
    }
    if (ld.pack->monitor_count == 0) {
        const struct mdm_pack_skip *s = &ld.pack->skips[0];
        rc = mdm_err_set(err, MDM_EUNSUPPORTED,
                         "no monitor that mdmhealth can evaluate: %zu skipped; the first: "
                         "%s:%ld: %s (type %s): %s",
                         ld.pack->skip_count, s->file, s->line, s->id, s->type, s->reason);
        report_skips(ld.pack, opt);
        goto out;
    }
    if (opt != NULL && opt->strict &&
        (ld.pack->skip_count > 0 || mdm_pack_unapplied_override_count(ld.pack) > 0)) {
        if (ld.pack->skip_count > 0) {
            const struct mdm_pack_skip *s = &ld.pack->skips[0];
            rc = mdm_err_set(err, MDM_EUNSUPPORTED,
                             "strict: %zu monitor(s) skipped; the first: %s:%ld: %s (type %s): "
                             "%s",
                             ld.pack->skip_count, s->file, s->line, s->id, s->type, s->reason);
        } else {
            rc = mdm_err_set(err, MDM_EUNSUPPORTED, "strict: %zu override(s) cannot be applied",
                             mdm_pack_unapplied_override_count(ld.pack));
        }
        report_skips(ld.pack, opt);
        goto out;
    }
    *out = ld.pack;
    ld.pack = NULL;
out:
    mdm_pack_free(ld.pack);
    /* Every slot: a failed parse may leave a document in the slot after the last counted one. */
    for (size_t i = 0; ld.docs != NULL && i < count; i++)
        free_doc(&ld.docs[i]);
    mdm_free(ld.docs);
    for (size_t i = 0; i < ld.override_count; i++)
        free_override_rec(&ld.overrides[i]);
    mdm_free(ld.overrides);
    return rc;
}

int mdm_pack_load_memory(const char *data, size_t len, const char *origin, struct mdm_pack **out,
                         struct mdm_err *err)
{
    struct mdm_pack_source src = {origin, data, len};

    return mdm_pack_load_sources(&src, 1, NULL, out, err);
}

/* Reads a whole file into memory (capped); *out owned by the caller. */
static int read_pack_file(const char *path, char **out, size_t *len_out, struct mdm_err *err)
{
    FILE *f = NULL;
    char *data = NULL;
    size_t len = 0, cap = 0, n;
    int rc = 0;

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
    *out = data;
    *len_out = len;
    data = NULL;
out:
    mdm_free(data);
    fclose(f);
    return rc;
}

int mdm_pack_load_files(const char *const *paths, size_t count, const struct mdm_pack_options *opt,
                        struct mdm_pack **out, struct mdm_err *err)
{
    struct mdm_pack_source *sources;
    char **buffers;
    int rc = 0;

    if (count == 0 || count > MDM_PACK_FILES_MAX)
        return mdm_err_set(err, MDM_EINVAL, "between 1 and %d management packs can be loaded",
                           MDM_PACK_FILES_MAX);
    sources = mdm_calloc(count, sizeof(*sources));
    buffers = mdm_calloc(count, sizeof(*buffers));
    if (sources == NULL || buffers == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        rc = read_pack_file(paths[i], &buffers[i], &sources[i].len, err);
        if (rc != 0)
            goto out;
        sources[i].origin = paths[i];
        sources[i].data = buffers[i];
    }
    rc = mdm_pack_load_sources(sources, count, opt, out, err);
out:
    for (size_t i = 0; buffers != NULL && i < count; i++)
        mdm_free(buffers[i]);
    mdm_free(buffers);
    mdm_free(sources);
    return rc;
}

int mdm_pack_load_file(const char *path, struct mdm_pack **out, struct mdm_err *err)
{
    return mdm_pack_load_files(&path, 1, NULL, out, err);
}

int mdm_pack_load_default(struct mdm_pack **out, struct mdm_err *err)
{
    return mdm_pack_load_memory((const char *)mdm_default_pack, mdm_default_pack_len,
                                "(built-in enrollment-connection pack)", out, err);
}

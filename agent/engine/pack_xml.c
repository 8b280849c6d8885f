/*
 * pack_xml.c - the loader's XML helpers (elements, text, attributes, start
 * tag lines, errors naming them) and the values it parses (health states,
 * alert parameters).
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
bool pack_is_element(const xmlNode *node, const char *name)
{
    return node != NULL && node->type == XML_ELEMENT_NODE &&
           strcmp((const char *)node->name, name) == 0;
}

/* Returns the first child element called name, or NULL. */
xmlNode *pack_child(const xmlNode *parent, const char *name)
{
    for (xmlNode *c = parent->children; c != NULL; c = c->next)
        if (pack_is_element(c, name))
            return c;
    return NULL;
}

/*
 * Returns the trimmed text of node as a new string owned by the caller, or
 * NULL when out of memory.
 */
char *pack_text_of(const xmlNode *node)
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
char *pack_attr_of(const xmlNode *node, const char *name)
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
long pack_line_of(const xmlNode *node)
{
    /* pack_stream.c's start-element handler keeps the start line of each element in psvi. */
    if (node->type == XML_ELEMENT_NODE && node->psvi != NULL)
        return (long)(uintptr_t)node->psvi;
    return xmlGetLineNo(node);
}

int pack_fail(struct loader *ld, const xmlNode *node, int code, const char *what)
{
    return mdm_err_set(ld->err, code, "%s:%ld: %s", ld->origin, node ? pack_line_of(node) : 0L,
                       what);
}

int pack_parse_health(struct loader *ld, const xmlNode *node, const char *s, enum mdm_health *out)
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
        return pack_fail(ld, node, MDM_EPARSE, msg);
    }
    return 0;
}

/*
 * Compiles a $...$ reference or literal text into param. Supported:
 * $Data/Context/FIELD$ and $Data/FIELD$ (an event field), $Target/...$ ending
 * in NetworkName, PrincipalName or DNSName (the target computer), $MPElement$.
 */
int pack_parse_param(struct loader *ld, const xmlNode *node, const char *text,
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
    /* "." is the local computer in SCOM: the monitor's target. */
    if (strcmp(text, ".") == 0) {
        param->kind = MDM_PARAM_TARGET_NAME;
        return 0;
    }
    if (len < 2 || text[0] != '$' || text[len - 1] != '$' ||
        strchr(text + 1, '$') != text + len - 1) {
        param->kind = MDM_PARAM_LITERAL;
        return 0;
    }
    if (len - 2 >= sizeof(ref))
        return pack_fail(ld, node, MDM_ETOOBIG, "reference too long");
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
        return pack_fail(ld, node, MDM_EUNSUPPORTED, msg);
    }
    if (strcmp(ref, "MPElement") == 0) {
        param->kind = MDM_PARAM_MONITOR_ID;
        return 0;
    }
    /* A consolidated detection's data item is System.ConsolidatorData: its
     * Context holds the consolidated event (the one that completed the Count). */
    if (ld->spec != NULL && ld->spec->repeated &&
        strncmp(ref, "Data/Context/Context/DataItem/", 30) == 0)
        field = ref + 30;
    else if (strncmp(ref, "Data/Context/", 13) == 0)
        field = ref + 13;
    else if (strncmp(ref, "Data/", 5) == 0)
        field = ref + 5;
    else {
        snprintf(msg, sizeof(msg), "unsupported reference \"%.200s\"", text);
        return pack_fail(ld, node, MDM_EUNSUPPORTED, msg);
    }
    param->field = mdm_calloc(1, sizeof(*param->field));
    if (param->field == NULL)
        return MDM_ENOMEM;
    rc = mdm_field_parse(field, param->field, ld->err);
    if (rc != 0) {
        mdm_err_prefix(ld->err, "%s:%ld: in %s: ", ld->origin, pack_line_of(node), text);
        return rc;
    }
    param->kind = MDM_PARAM_EVENT_FIELD;
    return 0;
}

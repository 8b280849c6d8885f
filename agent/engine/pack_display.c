/*
 * pack_display.c - the DisplayString index of a pack (LanguagePacks, the
 * preferred language first) and the display names it gives a monitor.
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

bool pack_language_pack_preferred(const xmlNode *lp)
{
    const xmlAttr *is_default = xmlHasProp(lp, (const xmlChar *)"IsDefault");
    const xmlAttr *lang = xmlHasProp(lp, (const xmlChar *)"ID");
    const xmlChar *v;

    /* An attribute's value is its text child; compared in place, not copied. */
    v = is_default && is_default->children ? is_default->children->content : NULL;
    if (v != NULL && is_default->children->next == NULL && strcmp((const char *)v, "true") == 0)
        return true;
    v = lang && lang->children ? lang->children->content : NULL;
    return v != NULL && lang->children->next == NULL && strcmp((const char *)v, "ENU") == 0;
}

/*
 * Indexes one <DisplayString> of doc (ignored when it has a SubElementID or
 * no ElementID). The texts are copied so that the tree can be freed.
 */
int pack_add_display_string(struct pack_doc *doc, const xmlNode *ds, bool preferred)
{
    struct pack_display_string *e;
    const xmlNode *name_node = pack_child(ds, "Name");
    const xmlNode *description_node = pack_child(ds, "Description");
    char *id = NULL, *name = NULL, *description = NULL;
    size_t id_len, name_len, description_len;
    int rc = 0;

    if (xmlHasProp(ds, (const xmlChar *)"SubElementID") != NULL ||
        xmlHasProp(ds, (const xmlChar *)"ElementID") == NULL)
        return 0;
    if (doc->string_count == doc->string_cap) {
        size_t cap = doc->string_cap ? doc->string_cap * 2 : 64;
        struct pack_display_string *grown = mdm_realloc(doc->strings, cap * sizeof(*grown));
        if (grown == NULL)
            return MDM_ENOMEM;
        doc->strings = grown;
        doc->string_cap = cap;
    }
    id = pack_attr_of(ds, "ElementID");
    if (id == NULL || (name_node != NULL && (name = pack_text_of(name_node)) == NULL) ||
        (description_node != NULL && (description = pack_text_of(description_node)) == NULL)) {
        rc = MDM_ENOMEM;
        goto out;
    }
    /* One allocation per entry, "ID\0NAME\0DESCRIPTION\0": a pack has thousands of them. */
    id_len = strlen(id) + 1;
    name_len = name ? strlen(name) + 1 : 0;
    description_len = description ? strlen(description) + 1 : 0;
    e = &doc->strings[doc->string_count];
    memset(e, 0, sizeof(*e));
    e->element_id = mdm_malloc(id_len + name_len + description_len);
    if (e->element_id == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    memcpy(e->element_id, id, id_len);
    if (name != NULL) {
        e->name = e->element_id + id_len;
        memcpy(e->name, name, name_len);
    }
    if (description != NULL) {
        e->description = e->element_id + id_len + name_len;
        memcpy(e->description, description, description_len);
    }
    e->seq = doc->string_count;
    e->preferred = preferred;
    doc->string_count++;
out:
    mdm_free(id);
    mdm_free(name);
    mdm_free(description);
    return rc;
}

static int compare_display_strings(const void *a, const void *b)
{
    const struct pack_display_string *x = a, *y = b;
    int c = strcmp(x->element_id, y->element_id);

    if (c != 0)
        return c;
    if (x->preferred != y->preferred)
        return x->preferred ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void pack_sort_display_strings(struct pack_doc *doc)
{
    /* The index is complete: give back what the doubling left unused. */
    if (doc->string_count > 0 && doc->string_count < doc->string_cap) {
        struct pack_display_string *fit =
            mdm_realloc(doc->strings, doc->string_count * sizeof(*fit));
        if (fit != NULL) {
            doc->strings = fit;
            doc->string_cap = doc->string_count;
        }
    }
    if (doc->string_count > 1)
        qsort(doc->strings, doc->string_count, sizeof(*doc->strings), compare_display_strings);
}

void pack_free_display_strings(struct pack_doc *doc)
{
    for (size_t i = 0; i < doc->string_count; i++)
        mdm_free(doc->strings[i].element_id); /* holds the name and description too */
    mdm_free(doc->strings);
    doc->strings = NULL;
    doc->string_count = doc->string_cap = 0;
}

/*
 * The DisplayString for element id in one document's index, or NULL: the
 * first of the preferred LanguagePack (IsDefault="true" or ENU) in document
 * order, else the first of any. A binary search for the first entry of id.
 */
static const struct pack_display_string *display_string_in(const struct pack_doc *doc,
                                                           const char *id)
{
    size_t lo = 0, hi = doc->string_count;

    if (id == NULL)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(doc->strings[mid].element_id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < doc->string_count && strcmp(doc->strings[lo].element_id, id) == 0)
        return &doc->strings[lo];
    return NULL;
}

/*
 * The DisplayString for id: in the monitor's own document first, then in the
 * other files of the set (a VSAE project keeps its LanguagePacks in a
 * fragment of their own).
 */
static const struct pack_display_string *display_string(const struct loader *ld, const char *id)
{
    const struct pack_display_string *ds = display_string_in(ld->cur, id);

    for (size_t i = 0; ds == NULL && i < ld->doc_count; i++)
        if (&ld->docs[i] != ld->cur)
            ds = display_string_in(&ld->docs[i], id);
    return ds;
}

/* Fills display names and alert text from the packs' LanguagePacks. */
int pack_load_display_strings(const struct loader *ld, struct mdm_monitor_def *def)
{
    const struct pack_display_string *ds = display_string(ld, def->id);

    if (ds != NULL && ds->name != NULL) {
        def->display_name = mdm_strdup(ds->name);
        if (def->display_name == NULL)
            return MDM_ENOMEM;
    }
    if (!def->alert_generate)
        return 0;
    ds = display_string(ld, def->alert_message_id);
    if (ds != NULL && ds->name != NULL)
        def->alert_name = mdm_strdup(ds->name);
    else
        def->alert_name = mdm_strdup(def->alert_message_id ? def->alert_message_id : def->id);
    if (def->alert_name == NULL)
        return MDM_ENOMEM;
    if (ds != NULL && ds->description != NULL) {
        def->alert_description = mdm_strdup(ds->description);
        if (def->alert_description == NULL)
            return MDM_ENOMEM;
    }
    return 0;
}

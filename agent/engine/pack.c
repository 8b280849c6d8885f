/*
 * pack.c - loads <UnitMonitor> definitions from management pack XML.
 */
#include "agent/engine/pack.h"
#include "agent/engine/pack_internal.h"

#include "agent/os/mdm_fs.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"

#include "wevt/xml_error.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int process_unit_monitor(struct loader *ld, xmlNode *um)
{
    struct mdm_pack *pack = ld->pack;
    struct mdm_monitor_def *def = NULL;
    char *id = NULL, *type = NULL, *enabled_attr = NULL, *target = NULL, *reason = NULL;
    const char *target_pack = NULL, *target_id = NULL;
    char why[700];
    long line = pack_line_of(um);
    bool enabled;
    struct override_rec *enabled_by = NULL;
    const struct pack_type_spec *spec = NULL;
    int rc = 0;

    id = pack_attr_of(um, "ID");
    if (id == NULL) {
        rc = pack_fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no ID attribute");
        goto out;
    }
    type = pack_attr_of(um, "TypeID");
    if (type == NULL) {
        rc = pack_fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no TypeID attribute");
        goto out;
    }
    enabled_attr = pack_attr_of(um, "Enabled");
    enabled = enabled_attr == NULL || strcmp(enabled_attr, "false") != 0;
    target = pack_attr_of(um, "Target");
    if (target != NULL && !pack_resolve_ref(ld->cur, target, &target_pack, &target_id))
        target_id = NULL;

    /* Enabled overrides first: a disabled monitor is not compiled. */
    for (size_t i = 0; i < ld->override_count; i++) {
        struct override_rec *o = &ld->overrides[i];
        const char *problem;
        bool b;
        if (o->is_config || strcmp(o->name, "Enabled") != 0 ||
            !pack_override_targets(o, ld->cur->pack_id, id))
            continue;
        problem = pack_override_scope_problem(o, target_pack, target_id);
        if (problem == NULL && !pack_parse_bool_value(o->value, &b))
            problem = "Enabled must be true or false";
        if (problem != NULL) {
            rc = pack_set_override_outcome(o, MDM_OVERRIDE_NOT_APPLIED, problem);
            if (rc != 0)
                goto out;
            continue;
        }
        enabled = b;
        enabled_by = o;
        rc = pack_set_override_outcome(o, MDM_OVERRIDE_APPLIED, NULL);
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
    rc = pack_classify_type(ld, type, &reason, &spec);
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
        if (!o->is_config || !pack_override_targets(o, ld->cur->pack_id, id))
            continue;
        problem = pack_override_scope_problem(o, target_pack, target_id);
        if (problem == NULL) {
            problem = pack_apply_configuration(um, o->name, o->value, &nomem);
            if (nomem) {
                rc = MDM_ENOMEM;
                goto out;
            }
        }
        rc = pack_set_override_outcome(o, problem ? MDM_OVERRIDE_NOT_APPLIED : MDM_OVERRIDE_APPLIED,
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
    rc = pack_load_unit_monitor(ld, um, spec, def);
    if (rc == MDM_EUNSUPPORTED) {
        /* A construct inside is not implemented: skip the monitor, naming it. */
        construct_reason(ld, why, sizeof(why));
        mdm_err_clear(ld->err);
        pack->monitor_count--;
        rc = record_skip(ld, def->id, def->type_id, line, why);
        pack_free_monitor_def(def);
        if (rc == 0) {
            id = NULL;
            goto unused_def;
        }
        goto out;
    }
    if (rc == 0)
        rc = pack_load_display_strings(ld, def);
    if (rc != 0)
        goto out;

    /* The other property overrides apply to the compiled monitor. */
    for (size_t i = 0; i < ld->override_count; i++) {
        struct override_rec *o = &ld->overrides[i];
        const char *problem;
        if (o->is_config || strcmp(o->name, "Enabled") == 0 ||
            !pack_override_targets(o, ld->cur->pack_id, def->id))
            continue;
        problem = pack_override_scope_problem(o, target_pack, target_id);
        if (problem == NULL)
            problem = pack_apply_property(def, o->name, o->value);
        rc = pack_set_override_outcome(o, problem ? MDM_OVERRIDE_NOT_APPLIED : MDM_OVERRIDE_APPLIED,
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
        if (pack_override_targets(o, ld->cur->pack_id, id) && !(o == enabled_by && !enabled) &&
            !kept_disabled)
            rc = pack_set_override_outcome(o, MDM_OVERRIDE_UNUSED, "its monitor is skipped");
    }
out:
    mdm_free(id);
    mdm_free(type);
    mdm_free(enabled_attr);
    mdm_free(target);
    mdm_free(reason);
    return rc;
}

/* "$MPElement[Name='X']$" or "$MPElement[Name=\"X\"]$" -> "X" (in place); other text unchanged. */
static int read_manifest(struct pack_doc *doc)
{
    const xmlNode *manifest = pack_child(doc->root, "Manifest");
    const xmlNode *identity = manifest ? pack_child(manifest, "Identity") : NULL;
    const xmlNode *id = identity ? pack_child(identity, "ID") : NULL;
    const xmlNode *refs = manifest ? pack_child(manifest, "References") : NULL;
    size_t n = 0;

    if (id != NULL && (doc->pack_id = pack_text_of(id)) == NULL)
        return MDM_ENOMEM;
    if (refs == NULL)
        return 0;
    for (const xmlNode *r = refs->children; r != NULL; r = r->next)
        if (pack_is_element(r, "Reference"))
            n++;
    if (n == 0)
        return 0;
    doc->aliases = mdm_calloc(n, sizeof(*doc->aliases));
    if (doc->aliases == NULL)
        return MDM_ENOMEM;
    for (const xmlNode *r = refs->children; r != NULL; r = r->next) {
        const xmlNode *rid;
        struct pack_alias *a;
        if (!pack_is_element(r, "Reference") || (rid = pack_child(r, "ID")) == NULL)
            continue;
        a = &doc->aliases[doc->alias_count];
        a->alias = pack_attr_of(r, "Alias");
        if (a->alias == NULL)
            continue;
        doc->alias_count++;
        if ((a->pack_id = pack_text_of(rid)) == NULL)
            return MDM_ENOMEM;
    }
    return 0;
}

/*
 * ---- reading a pack file: two streaming passes ------------------------------
 *
 * A pack is read twice, each time by libxml2's parser with the tree builder's
 * SAX handlers wrapped (pack_start_element, pack_end_element), so that no
 * pass holds the whole document:
 *
 *   PASS_STRUCTURE keeps the document's skeleton: the Manifest, the type
 *   definitions, the overrides and everything else a monitor may refer to.
 *   Each <UnitMonitor> is emptied as soon as it ends, each DisplayString of
 *   the LanguagePacks is copied into the document's index and emptied, and
 *   the rest of Presentation and LanguagePacks (string resources, knowledge
 *   articles) is emptied too: the loader does not read them.
 *
 *   PASS_MONITORS, once the skeletons and overrides of every file of the set
 *   are known, compiles each <UnitMonitor> when its end tag is read, in
 *   document order, and then empties it and everything else read.
 *
 * An element is emptied in place (its children and attributes freed, the
 * element itself left as the last child of its parent), which keeps the tree
 * builder's view of the current node valid. Both wrappers also record where
 * each element's start tag begins (libxml2's own line is where it ends).
 */
enum pack_pass { PASS_STRUCTURE, PASS_MONITORS };

/* One source of the set: a buffer, or a regular file read in pieces. */
struct pack_input {
    const char *origin;
    const char *data; /* when file is NULL */
    size_t len;
    FILE *file; /* read again for each pass */
};

/* The state of one pass over one document (the parser context's _private). */
struct pack_pass_state {
    struct loader *ld;
    struct pack_doc *doc;
    enum pack_pass pass;
    int rc; /* the first failure; the parser is stopped at it */
};

/* A file read through libxml2's I/O callbacks, capped at PACK_MAX_BYTES. */
struct pack_file_reader {
    FILE *file;
    size_t total;
    int rc;
};

static int read_file_piece(void *context, char *buf, int len)
{
    struct pack_file_reader *r = context;
    size_t n = fread(buf, 1, (size_t)len, r->file);

    if (n == 0 && ferror(r->file)) {
        r->rc = MDM_EIO;
        return -1;
    }
    r->total += n;
    if (r->total > PACK_MAX_BYTES) {
        r->rc = MDM_ETOOBIG;
        return -1;
    }
    return (int)n;
}

/* node->extra of an element emptied by the loader (libxml2 uses extra only in its xmlTextReader).
 */
#define PACK_NODE_EMPTIED 0x4d44u

/*
 * Frees what an element holds (children and attributes), keeping the element
 * itself: it is still its parent's last child, where the tree builder may
 * look (remove_emptied_siblings frees it once a sibling starts).
 */
static void empty_element(xmlNode *node)
{
    if (node->children != NULL) {
        xmlFreeNodeList(node->children);
        node->children = node->last = NULL;
    }
    if (node->properties != NULL) {
        xmlFreePropList(node->properties);
        node->properties = NULL;
    }
    node->extra = PACK_NODE_EMPTIED;
}

static bool is_blank_text(const xmlNode *node)
{
    if (node->type != XML_TEXT_NODE || node->content == NULL)
        return false;
    for (const xmlChar *c = node->content; *c != '\0'; c++)
        if (*c != ' ' && *c != '\t' && *c != '\r' && *c != '\n')
            return false;
    return true;
}

/*
 * Called as an element starts in parent: frees the emptied elements that end
 * parent's children (and the blank text between them), so that neither pass
 * keeps one node per monitor. The tree builder only appends to parent->last,
 * which is a finished node here.
 */
static void remove_emptied_siblings(xmlNode *parent)
{
    while (parent != NULL && parent->last != NULL) {
        xmlNode *last = parent->last;
        bool blank_after_emptied = is_blank_text(last) && last->prev != NULL &&
                                   last->prev->type == XML_ELEMENT_NODE &&
                                   last->prev->extra == PACK_NODE_EMPTIED;
        if (!blank_after_emptied &&
            !(last->type == XML_ELEMENT_NODE && last->extra == PACK_NODE_EMPTIED))
            return;
        xmlUnlinkNode(last);
        xmlFreeNode(last);
    }
}

/*
 * Whether a <UnitMonitor> is one the loader evaluates: not inside another
 * monitor, LanguagePacks, Presentation, TypeDefinitions or Overrides.
 */
static bool is_monitor_position(const xmlNode *um)
{
    for (const xmlNode *p = um->parent; p != NULL && p->type == XML_ELEMENT_NODE; p = p->parent)
        if (pack_is_element(p, "UnitMonitor") || pack_is_element(p, "LanguagePacks") ||
            pack_is_element(p, "Presentation") || pack_is_element(p, "TypeDefinitions") ||
            pack_is_element(p, "Overrides"))
            return false;
    return true;
}

/*
 * Whether the first pass may empty node as it ends: what the loader never
 * reads, inside Presentation, and the parts of a LanguagePack (DisplayStrings,
 * KnowledgeArticles) and their children, which it reads only through the
 * DisplayString index (a DisplayString's own children are read when it ends,
 * before it is emptied).
 */
static bool unread_presentation(const xmlNode *node)
{
    const xmlNode *parent = node->parent;
    const xmlNode *grandparent = parent != NULL ? parent->parent : NULL;

    if (pack_is_element(parent, "LanguagePack") || pack_is_element(grandparent, "LanguagePack"))
        return true;
    for (const xmlNode *p = parent; p != NULL && p->type == XML_ELEMENT_NODE; p = p->parent)
        if (pack_is_element(p, "Presentation"))
            return true;
    return false;
}

static bool inside_unit_monitor(const xmlNode *node)
{
    for (const xmlNode *p = node->parent; p != NULL && p->type == XML_ELEMENT_NODE; p = p->parent)
        if (pack_is_element(p, "UnitMonitor"))
            return true;
    return false;
}

/*
 * The LanguagePack of a DisplayString that names elements: one of
 * root/LanguagePacks/LanguagePack/DisplayStrings/DisplayString, in the first
 * LanguagePacks of the root and the first DisplayStrings of its LanguagePack.
 * NULL for any other DisplayString.
 */
static const xmlNode *indexed_language_pack(const xmlNode *ds)
{
    const xmlNode *strings = ds->parent;
    const xmlNode *lp = strings && strings->type == XML_ELEMENT_NODE ? strings->parent : NULL;
    const xmlNode *lps = lp && lp->type == XML_ELEMENT_NODE ? lp->parent : NULL;
    const xmlNode *root = lps && lps->type == XML_ELEMENT_NODE ? lps->parent : NULL;

    if (root == NULL || root->type != XML_ELEMENT_NODE || root->parent == NULL ||
        root->parent->type != XML_DOCUMENT_NODE || !pack_is_element(strings, "DisplayStrings") ||
        !pack_is_element(lp, "LanguagePack") || !pack_is_element(lps, "LanguagePacks") ||
        pack_child(root, "LanguagePacks") != lps || pack_child(lp, "DisplayStrings") != strings)
        return NULL;
    return lp;
}

/*
 * The line where the start tag just parsed begins. libxml2 calls the
 * start-element handler with its input at the end of the tag ('>' or "/>");
 * the tag's '<' is the last one before it (an attribute value cannot hold a
 * '<'), and the parser keeps the whole tag in its buffer while parsing it.
 */
static long start_tag_line(const xmlParserCtxt *ctxt)
{
    const xmlParserInput *in = ctxt->input;
    long newlines = 0;

    if (in == NULL || in->cur == NULL || in->base == NULL)
        return 0;
    for (const xmlChar *p = in->cur; p > in->base;) {
        p--;
        if (*p == '<')
            return in->line - newlines;
        if (*p == '\n')
            newlines++;
    }
    return in->line;
}

static void pack_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                               const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                               int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxt *ctxt = ctx;
    xmlNode *before = ctxt->node;
    long line = start_tag_line(ctxt);

    if (before != NULL && before->type == XML_ELEMENT_NODE)
        remove_emptied_siblings(before);
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
    if (ctxt->node != NULL && ctxt->node != before && line > 0) {
        ctxt->node->psvi = (void *)(uintptr_t)line;
        ctxt->node->line = line < 65535 ? (unsigned short)line : 65535;
    }
}

static void pack_end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                             const xmlChar *uri)
{
    xmlParserCtxt *ctxt = ctx;
    struct pack_pass_state *st = ctxt->_private;
    xmlNode *node = ctxt->node;
    const xmlNode *lp;

    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
    if (node == NULL || node->type != XML_ELEMENT_NODE || st->rc != 0)
        return;
    if (st->pass == PASS_STRUCTURE) {
        if (pack_is_element(node, "UnitMonitor") && is_monitor_position(node)) {
            st->ld->monitors_seen++;
            empty_element(node);
        } else if (pack_is_element(node, "DisplayString") &&
                   (lp = indexed_language_pack(node)) != NULL) {
            st->rc = pack_add_display_string(st->doc, node, pack_language_pack_preferred(lp));
            empty_element(node);
        } else if (unread_presentation(node)) {
            empty_element(node);
        }
    } else if (pack_is_element(node, "UnitMonitor") && is_monitor_position(node)) {
        st->rc = process_unit_monitor(st->ld, node);
        empty_element(node);
    } else if (!inside_unit_monitor(node)) {
        empty_element(node);
    }
    if (st->rc != 0)
        xmlStopParser(ctxt);
}

/*
 * Runs one pass over a source. On success *out is the document as the pass
 * leaves it (owned by the caller, xmlFreeDoc). libxml2 reads the encoding
 * from the byte order mark or the XML declaration (no encoding is forced), so
 * UTF-16 LE/BE exports load like UTF-8 ones; CRLF line ends are normalised.
 */
static int run_pass(const struct pack_input *in, struct pack_pass_state *st, xmlDoc **out,
                    struct mdm_err *err)
{
    xmlParserCtxt *ctxt = NULL;
    struct mdm_xml_first_error first;
    struct pack_file_reader reader;
    xmlDoc *doc = NULL;
    int rc = 0;
    /* BIG_LINES: past line 65535, xmlGetLineNo (the expression compiler's messages) reads
     * the line libxml2 keeps in text nodes. */
    const int options =
        XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR | XML_PARSE_BIG_LINES;

    memset(&first, 0, sizeof(first));
    memset(&reader, 0, sizeof(reader));
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "%s: out of memory", in->origin);
    ctxt->sax->startElementNs = pack_start_element;
    ctxt->sax->endElementNs = pack_end_element;
    ctxt->_private = st;
    /*
     * No network, no entity substitution, no DTD loading. libxml2 2.9 has no
     * per-context structured handler, so the (thread-local) one is set for
     * the duration of the parse.
     */
    xmlSetStructuredErrorFunc(&first, mdm_xml_capture_first_error);
    if (in->file != NULL) {
        rewind(in->file);
        reader.file = in->file;
        doc = xmlCtxtReadIO(ctxt, read_file_piece, NULL, &reader, in->origin, NULL, options);
    } else {
        doc = xmlCtxtReadMemory(ctxt, in->data, (int)in->len, in->origin, NULL, options);
    }
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (st->rc != 0) {
        rc = st->rc;
        if (rc == MDM_ENOMEM)
            mdm_err_set(err, rc, "%s: out of memory", in->origin);
        goto out;
    }
    if (reader.rc == MDM_ETOOBIG) {
        rc = mdm_err_set(err, MDM_ETOOBIG, "%s: management pack larger than %u MiB", in->origin,
                         PACK_MAX_BYTES / (1024u * 1024u));
        goto out;
    }
    if (reader.rc != 0) {
        rc = mdm_err_set(err, MDM_EIO, "%s: read error", in->origin);
        goto out;
    }
    if (doc == NULL || (first.seen && !ctxt->wellFormed)) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s:%d:%d: malformed XML: %s", in->origin, first.line,
                         first.column, first.seen ? first.message : "cannot parse");
        goto out;
    }
    *out = doc;
    doc = NULL;
out:
    if (doc != NULL)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

/* The first pass over one source: its skeleton, Manifest and DisplayString index. */
static int parse_source(struct loader *ld, const struct pack_input *in, struct pack_doc *doc,
                        struct mdm_err *err)
{
    struct pack_pass_state st = {ld, doc, PASS_STRUCTURE, 0};
    int rc;

    doc->origin = in->origin;
    if (in->file == NULL && in->len > PACK_MAX_BYTES)
        return mdm_err_set(err, MDM_ETOOBIG, "%s: management pack larger than %u MiB", in->origin,
                           PACK_MAX_BYTES / (1024u * 1024u));
    rc = run_pass(in, &st, &doc->doc, err);
    if (rc != 0)
        return rc;
    if (doc->doc->intSubset != NULL || doc->doc->extSubset != NULL)
        return mdm_err_set(err, MDM_EPARSE,
                           "%s: a document type declaration (DTD) is not allowed in a management "
                           "pack",
                           in->origin);
    doc->root = xmlDocGetRootElement(doc->doc);
    if (doc->root == NULL)
        return mdm_err_set(err, MDM_EPARSE, "%s: empty document", in->origin);
    if (pack_is_element(doc->root, "ManagementPack") && read_manifest(doc) != 0)
        return mdm_err_set(err, MDM_ENOMEM, "%s: out of memory", in->origin);
    pack_sort_display_strings(doc);
    return 0;
}

/* The second pass over one source: compiles its monitors in document order. */
static int load_monitors(struct loader *ld, const struct pack_input *in, struct pack_doc *doc,
                         struct mdm_err *err)
{
    struct pack_pass_state st = {ld, doc, PASS_MONITORS, 0};
    xmlDoc *read = NULL;
    int rc;

    ld->cur = doc;
    ld->origin = doc->origin;
    rc = run_pass(in, &st, &read, err);
    if (read != NULL)
        xmlFreeDoc(read);
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
    pack_free_display_strings(doc);
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

void mdm_pack_free(struct mdm_pack *pack)
{
    if (pack == NULL)
        return;
    for (size_t i = 0; i < pack->monitor_count; i++)
        pack_free_monitor_def(&pack->monitors[i]);
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

/* Loads the set of count sources (see mdm_pack_load_sources). */
static int load_set(const struct pack_input *sources, size_t count,
                    const struct mdm_pack_options *opt, struct mdm_pack **out, struct mdm_err *err)
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
        rc = parse_source(&ld, &sources[i], &ld.docs[i], err);
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
        rc = pack_collect_overrides(&ld, &ld.docs[i], ld.docs[i].root, 0, &override_cap);
    /* The monitor array is allocated once, for every monitor the first pass saw. */
    if (rc == 0 && ld.monitors_seen > 0) {
        ld.pack->monitors = mdm_calloc(ld.monitors_seen, sizeof(*ld.pack->monitors));
        if (ld.pack->monitors == NULL)
            rc = MDM_ENOMEM;
        else
            ld.monitor_cap = ld.monitors_seen;
    }
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = load_monitors(&ld, &sources[i], &ld.docs[i], err);
    if (rc == MDM_ENOMEM)
        mdm_err_set(err, rc, "%s: out of memory", ld.origin ? ld.origin : sources[0].origin);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < ld.override_count; i++) {
        struct override_rec *o = &ld.overrides[i];
        if (o->report->outcome == MDM_OVERRIDE_UNUSED && o->report->why == NULL) {
            char why[300];
            snprintf(why, sizeof(why), "no monitor %.200s in the loaded packs", o->monitor_id);
            rc = pack_set_override_outcome(o, MDM_OVERRIDE_UNUSED, why);
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
                         sources[0].origin, pack_line_of(ld.docs[0].root));
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
        pack_free_override_rec(&ld.overrides[i]);
    mdm_free(ld.overrides);
    return rc;
}

int mdm_pack_load_sources(const struct mdm_pack_source *sources, size_t count,
                          const struct mdm_pack_options *opt, struct mdm_pack **out,
                          struct mdm_err *err)
{
    struct pack_input *inputs;
    int rc;

    if (count == 0 || count > MDM_PACK_FILES_MAX)
        return mdm_err_set(err, MDM_EINVAL, "between 1 and %d management packs can be loaded",
                           MDM_PACK_FILES_MAX);
    inputs = mdm_calloc(count, sizeof(*inputs));
    if (inputs == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        inputs[i].origin = sources[i].origin;
        inputs[i].data = sources[i].data;
        inputs[i].len = sources[i].len;
    }
    rc = load_set(inputs, count, opt, out, err);
    mdm_free(inputs);
    return rc;
}

int mdm_pack_load_memory(const char *data, size_t len, const char *origin, struct mdm_pack **out,
                         struct mdm_err *err)
{
    struct mdm_pack_source src = {origin, data, len};

    return mdm_pack_load_sources(&src, 1, NULL, out, err);
}

/*
 * Opens a pack file for reading (it is read in pieces, once per pass, never
 * held whole); a file larger than the cap is refused before it is parsed.
 * *out is owned by the caller (fclose).
 */
static int open_pack_file(const char *path, FILE **out, struct mdm_err *err)
{
    FILE *f = NULL;
    long size;
    int rc;

    rc = mdm_fs_open_regular(path, &f, err);
    if (rc == MDM_ENOTFOUND)
        return mdm_err_set(err, MDM_EIO, "%s: cannot open management pack: no such file", path);
    if (rc != 0) {
        mdm_err_prefix(err, "management pack ");
        return rc;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return mdm_err_set(err, MDM_EIO, "%s: read error", path);
    }
    if ((unsigned long)size > PACK_MAX_BYTES) {
        fclose(f);
        return mdm_err_set(err, MDM_ETOOBIG, "%s: management pack larger than %u MiB", path,
                           PACK_MAX_BYTES / (1024u * 1024u));
    }
    *out = f;
    return 0;
}

int mdm_pack_load_files(const char *const *paths, size_t count, const struct mdm_pack_options *opt,
                        struct mdm_pack **out, struct mdm_err *err)
{
    struct pack_input *inputs;
    int rc = 0;

    if (count == 0 || count > MDM_PACK_FILES_MAX)
        return mdm_err_set(err, MDM_EINVAL, "between 1 and %d management packs can be loaded",
                           MDM_PACK_FILES_MAX);
    inputs = mdm_calloc(count, sizeof(*inputs));
    if (inputs == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        rc = open_pack_file(paths[i], &inputs[i].file, err);
        if (rc != 0)
            goto out;
        inputs[i].origin = paths[i];
    }
    rc = load_set(inputs, count, opt, out, err);
out:
    for (size_t i = 0; i < count; i++)
        if (inputs[i].file != NULL)
            fclose(inputs[i].file);
    mdm_free(inputs);
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

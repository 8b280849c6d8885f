/*
 * pack_stream.c - reads one management pack file in two streaming passes
 * (see below) and its Manifest.
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
        st->rc = pack_process_unit_monitor(st->ld, node);
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
int pack_parse_source(struct loader *ld, const struct pack_input *in, struct pack_doc *doc,
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
int pack_load_monitors(struct loader *ld, const struct pack_input *in, struct pack_doc *doc,
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
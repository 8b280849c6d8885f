/*
 * expr_compile.c - compiles a SCOM expression (System.ExpressionFilter,
 * ExpressionType) from the management pack XML into the tree that
 * expr_eval.c evaluates, and frees it. The rules are in expr_internal.h.
 */
#include "agent/engine/expr_internal.h"

#include "agent/common/mdm_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    "String", "Integer", "UnsignedInteger", "Double", "Boolean", "DateTime",
};

static const struct {
    const char *name;
    enum op op;
} operator_names[] = {
    {"Equal", OP_EQUAL},
    {"NotEqual", OP_NOT_EQUAL},
    {"Greater", OP_GREATER},
    {"Less", OP_LESS},
    {"GreaterEqual", OP_GREATER_EQUAL},
    {"LessEqual", OP_LESS_EQUAL},
    {"Like", OP_LIKE},
    {"NotLike", OP_NOT_LIKE},
    {"ContainsSubstring", OP_CONTAINS},
    {"DoesNotContainSubstring", OP_NOT_CONTAINS},
    {"MatchesWildcard", OP_WILDCARD},
    {"DoesNotMatchWildcard", OP_NOT_WILDCARD},
    {"MatchesRegularExpression", OP_REGEX},
    {"DoesNotMatchRegularExpression", OP_NOT_REGEX},
};

void mdm_expr_free(struct mdm_expr *expr)
{
    if (expr == NULL)
        return;
    for (size_t k = 0; k < expr->nkids; k++)
        mdm_expr_free(expr->kids[k]);
    mdm_free(expr->kids);
    mdm_free(expr->cmp.left.text);
    mdm_free(expr->cmp.right.text);
    mdm_free(expr->cmp.left.ref);
    mdm_free(expr->cmp.right.ref);
    mdm_free(expr->field);
    if (expr->cmp.glob != NULL) {
        mdm_free(expr->cmp.glob->toks);
        mdm_free(expr->cmp.glob->ranges);
        mdm_free(expr->cmp.glob);
    }
    if (expr->cmp.re != NULL) {
        expr_regex_free(expr->cmp.re);
        mdm_free(expr->cmp.re);
    }
    mdm_free(expr);
}

/* ------------------------------------------------------------------------- */
/* Compilation                                                                 */

/* Records "FILE:LINE: message" for node in the compiler's error and returns code. */
int expr_fail(const struct compiler *cc, const xmlNode *node, int code, const char *fmt, ...)
{
    char msg[MDM_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return mdm_err_set(cc->err, code, "%s:%ld: %s", cc->file, xmlGetLineNo(node), msg);
}

int expr_fail_nomem(const struct compiler *cc, const xmlNode *node)
{
    return expr_fail(cc, node, MDM_ENOMEM, "out of memory compiling the expression");
}

static const char *node_name(const xmlNode *node)
{
    return (const char *)node->name;
}

static bool name_is(const xmlNode *node, const char *name)
{
    return strcmp(node_name(node), name) == 0;
}

static bool is_expression_element(const xmlNode *node)
{
    static const char *const names[] = {
        "And", "Or", "Not", "SimpleExpression", "RegExExpression", "Exists",
    };

    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        if (name_is(node, names[k]))
            return true;
    return false;
}

static bool is_blank_text(const xmlNode *node)
{
    const char *s = (const char *)node->content;

    return s == NULL || only_space(s);
}

/*
 * Checks that parent holds only elements, comments, processing instructions
 * and whitespace, and counts the elements.
 */
static int element_children(const struct compiler *cc, const xmlNode *parent, size_t *count)
{
    size_t n = 0;

    for (const xmlNode *c = parent->children; c != NULL; c = c->next) {
        switch (c->type) {
        case XML_ELEMENT_NODE:
            n++;
            break;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            if (!is_blank_text(c))
                return expr_fail(cc, c, MDM_EPARSE, "unexpected text in <%s>", node_name(parent));
            break;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
            break;
        default:
            return expr_fail(cc, c, MDM_EPARSE, "unexpected content in <%s>", node_name(parent));
        }
    }
    *count = n;
    return 0;
}

/* The first element child of parent at or after c, or NULL. */
static xmlNode *next_element(xmlNode *c)
{
    while (c != NULL && c->type != XML_ELEMENT_NODE)
        c = c->next;
    return c;
}

/*
 * The text content of node (text and CDATA children; comments skipped), trimmed
 * of surrounding whitespace when trim is set. On success *out is owned by the
 * caller (mdm_free).
 */
static int text_content(const struct compiler *cc, const xmlNode *node, bool trim, char **out)
{
    size_t len = 0, pos = 0;
    char *text = NULL;
    int rc;

    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (c->content != NULL)
                len += strlen((const char *)c->content);
        } else if (c->type == XML_ELEMENT_NODE) {
            return expr_fail(cc, c, MDM_EPARSE, "unexpected element <%s> in <%s>", node_name(c),
                             node_name(node));
        } else if (c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE) {
            return expr_fail(cc, c, MDM_EUNSUPPORTED,
                             "unsupported content (entity reference?) in <%s>", node_name(node));
        }
        if (len > EXPR_TEXT_MAX)
            return expr_fail(cc, node, MDM_ETOOBIG, "the text of <%s> is longer than %u bytes",
                             node_name(node), (unsigned)EXPR_TEXT_MAX);
    }
    text = mdm_malloc(len + 1);
    if (text == NULL) {
        rc = expr_fail_nomem(cc, node);
        goto out;
    }
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != NULL) {
            size_t k = strlen((const char *)c->content);
            memcpy(text + pos, c->content, k);
            pos += k;
        }
    }
    text[pos] = '\0';
    if (trim) {
        size_t start = 0;
        while (pos > 0 && is_space((unsigned char)text[pos - 1]))
            text[--pos] = '\0';
        while (is_space((unsigned char)text[start]))
            start++;
        memmove(text, text + start, pos - start + 1);
    }
    *out = text;
    text = NULL;
    rc = 0;
out:
    mdm_free(text);
    return rc;
}

/* Reads the Type attribute of node into *out (TYPE_NONE when absent). */
static int type_attr(const struct compiler *cc, xmlNode *node, enum value_type *out)
{
    xmlAttr *attr = xmlHasProp(node, (const xmlChar *)"Type");
    const char *value = "";

    if (attr == NULL) {
        *out = TYPE_NONE;
        return 0;
    }
    if (attr->children != NULL && attr->children->type == XML_TEXT_NODE &&
        attr->children->next == NULL && attr->children->content != NULL)
        value = (const char *)attr->children->content;
    for (size_t k = 0; k < sizeof(type_names) / sizeof(type_names[0]); k++) {
        if (strcmp(value, type_names[k]) == 0) {
            *out = (enum value_type)k;
            return 0;
        }
    }
    return expr_fail(cc, node, MDM_EUNSUPPORTED, "unsupported Type \"%.100s\" on <%s>", value,
                     node_name(node));
}

/* Where an operand came from, kept for the checks made after both sides are read. */
struct operand_src {
    xmlNode *node; /* the XPathQuery, Value or Pattern element */
    enum value_type type;
};

/*
 * Compiles a <ValueExpression> into o (which the caller frees with its
 * compare on error, so partial results are fine).
 */
static int compile_value_expression(const struct compiler *cc, xmlNode *ve, struct operand *o,
                                    struct operand_src *src)
{
    char *text = NULL;
    xmlNode *child;
    size_t n;
    int rc;

    rc = element_children(cc, ve, &n);
    if (rc != 0)
        goto out;
    if (n != 1) {
        rc =
            expr_fail(cc, ve, MDM_EPARSE,
                      "<ValueExpression> must hold one <XPathQuery> or <Value>, found %lu elements",
                      (unsigned long)n);
        goto out;
    }
    child = next_element(ve->children);
    if (!name_is(child, "XPathQuery") && !name_is(child, "Value")) {
        rc = expr_fail(cc, child, MDM_EUNSUPPORTED, "unsupported value element <%s>",
                       node_name(child));
        goto out;
    }
    rc = type_attr(cc, child, &src->type);
    if (rc != 0)
        goto out;
    src->node = child;
    if (name_is(child, "XPathQuery")) {
        rc = text_content(cc, child, true, &text);
        if (rc != 0)
            goto out;
        o->ref = mdm_calloc(1, sizeof(*o->ref));
        if (o->ref == NULL) {
            rc = expr_fail_nomem(cc, child);
            goto out;
        }
        rc = mdm_field_parse(text, o->ref, cc->err);
        if (rc != 0) {
            mdm_err_prefix(cc->err, "%s:%ld: ", cc->file, xmlGetLineNo(child));
            goto out;
        }
        o->is_field = true;
    } else {
        rc = text_content(cc, child, false, &text);
        if (rc != 0)
            goto out;
        o->is_field = false;
        o->text = text;
        text = NULL;
    }
    rc = 0;
out:
    mdm_free(text);
    return rc;
}

static int compile_operator(const struct compiler *cc, xmlNode *node, enum op *out)
{
    char *text = NULL;
    int rc;

    rc = text_content(cc, node, true, &text);
    if (rc != 0)
        goto out;
    for (size_t k = 0; k < sizeof(operator_names) / sizeof(operator_names[0]); k++) {
        if (strcmp(text, operator_names[k].name) == 0) {
            *out = operator_names[k].op;
            rc = 0;
            goto out;
        }
    }
    rc = expr_fail(cc, node, MDM_EUNSUPPORTED, "unsupported operator \"%.100s\"", text);
out:
    mdm_free(text);
    return rc;
}

static bool is_pattern_op(enum op op)
{
    return op == OP_LIKE || op == OP_NOT_LIKE || op == OP_WILDCARD || op == OP_NOT_WILDCARD ||
           op == OP_REGEX || op == OP_NOT_REGEX;
}

static bool is_ordering_op(enum op op)
{
    return op <= OP_LESS_EQUAL;
}

/* Converts a constant operand to the comparison type at compile time. */
static int convert_constant(const struct compiler *cc, struct operand *o,
                            const struct operand_src *src, enum value_type type)
{
    if (o->is_field)
        return 0;
    if (!expr_convert_text(o->text, type, &o->value))
        return expr_fail(cc, src->node, MDM_EPARSE, "cannot convert Value \"%.100s\" to %s",
                         o->text, type_names[type]);
    return 0;
}

/*
 * Compiles the parts of a SimpleExpression or RegExExpression into e. For a
 * RegExExpression `pattern` is the <Pattern> element and right_ve is NULL.
 */
static int compile_compare(const struct compiler *cc, xmlNode *expr_node, xmlNode *left_ve,
                           xmlNode *op_node, xmlNode *right_ve, xmlNode *pattern,
                           struct mdm_expr *e)
{
    struct compare *c = &e->cmp;
    struct operand_src lsrc = {NULL, TYPE_NONE}, rsrc = {NULL, TYPE_NONE};
    int rc;

    e->kind = EXPR_COMPARE;
    rc = compile_value_expression(cc, left_ve, &c->left, &lsrc);
    if (rc != 0)
        goto out;
    rc = compile_operator(cc, op_node, &c->op);
    if (rc != 0)
        goto out;
    if (right_ve != NULL) {
        rc = compile_value_expression(cc, right_ve, &c->right, &rsrc);
        if (rc != 0)
            goto out;
    } else {
        rc = text_content(cc, pattern, false, &c->right.text);
        if (rc != 0)
            goto out;
        rsrc.node = pattern;
    }
    if (lsrc.type != TYPE_NONE && rsrc.type != TYPE_NONE && lsrc.type != rsrc.type) {
        rc = expr_fail(cc, expr_node, MDM_EPARSE,
                       "<%s> Type \"%s\" and <%s> Type \"%s\" differ in <%s>", node_name(lsrc.node),
                       type_names[lsrc.type], node_name(rsrc.node), type_names[rsrc.type],
                       node_name(expr_node));
        goto out;
    }
    c->type = lsrc.type != TYPE_NONE ? lsrc.type : rsrc.type;
    if (c->type == TYPE_NONE)
        c->type = TYPE_STRING;

    if (is_ordering_op(c->op)) {
        rc = convert_constant(cc, &c->left, &lsrc, c->type);
        if (rc == 0)
            rc = convert_constant(cc, &c->right, &rsrc, c->type);
        goto out;
    }
    if (is_pattern_op(c->op) && c->right.is_field) {
        rc = expr_fail(cc, op_node, MDM_EUNSUPPORTED,
                       "the pattern of operator \"%s\" must be a <Value>, not an <XPathQuery>",
                       operator_names[c->op].name);
        goto out;
    }
    switch (c->op) {
    case OP_LIKE:
    case OP_NOT_LIKE:
    case OP_WILDCARD:
    case OP_NOT_WILDCARD:
        c->glob = mdm_calloc(1, sizeof(*c->glob));
        rc = c->glob == NULL ? expr_fail_nomem(cc, rsrc.node)
                             : expr_glob_compile(cc, rsrc.node, c->right.text,
                                                 c->op == OP_LIKE || c->op == OP_NOT_LIKE, c->glob);
        break;
    case OP_REGEX:
    case OP_NOT_REGEX:
        c->re = mdm_calloc(1, sizeof(*c->re));
        rc = c->re == NULL ? expr_fail_nomem(cc, rsrc.node)
                           : expr_regex_compile(cc, rsrc.node, c->right.text, c->re);
        break;
    default:
        /* ContainsSubstring and its negation use the texts as they are. */
        rc = 0;
        break;
    }
out:
    return rc;
}

static int compile_wrapper(const struct compiler *cc, xmlNode *wrapper, int depth,
                           struct mdm_expr **out);

/*
 * Classifies the element children of a SimpleExpression / RegExExpression /
 * Exists: counts ValueExpression, Operator and Pattern and remembers the
 * first two ValueExpressions. Any other element is an error.
 */
struct parts {
    xmlNode *ve[2];
    size_t nve;
    xmlNode *op;
    size_t nop;
    xmlNode *pattern;
    size_t npattern;
};

static int collect_parts(const struct compiler *cc, xmlNode *node, bool allow_pattern,
                         struct parts *p)
{
    size_t n;
    int rc;

    memset(p, 0, sizeof(*p));
    rc = element_children(cc, node, &n);
    if (rc != 0)
        return rc;
    for (xmlNode *c = next_element(node->children); c != NULL; c = next_element(c->next)) {
        if (name_is(c, "ValueExpression")) {
            if (p->nve < 2)
                p->ve[p->nve] = c;
            p->nve++;
        } else if (name_is(c, "Operator")) {
            p->op = c;
            p->nop++;
        } else if (allow_pattern && name_is(c, "Pattern")) {
            p->pattern = c;
            p->npattern++;
        } else {
            return expr_fail(cc, c, MDM_EPARSE, "unexpected element <%s> in <%s>", node_name(c),
                             node_name(node));
        }
    }
    return 0;
}

static int compile_simple(const struct compiler *cc, xmlNode *node, struct mdm_expr *e)
{
    struct parts p;
    int rc;

    rc = collect_parts(cc, node, false, &p);
    if (rc != 0)
        return rc;
    if (p.nop != 1)
        return expr_fail(cc, node, MDM_EPARSE, "<SimpleExpression> needs one <Operator>, found %lu",
                         (unsigned long)p.nop);
    if (p.nve != 2)
        return expr_fail(cc, node, MDM_EPARSE,
                         "<SimpleExpression> needs two <ValueExpression> elements, found %lu",
                         (unsigned long)p.nve);
    return compile_compare(cc, node, p.ve[0], p.op, p.ve[1], NULL, e);
}

static int compile_regex_expression(const struct compiler *cc, xmlNode *node, struct mdm_expr *e)
{
    struct parts p;
    int rc;

    rc = collect_parts(cc, node, true, &p);
    if (rc != 0)
        return rc;
    if (p.nop != 1)
        return expr_fail(cc, node, MDM_EPARSE, "<RegExExpression> needs one <Operator>, found %lu",
                         (unsigned long)p.nop);
    if (p.nve != 1)
        return expr_fail(cc, node, MDM_EPARSE,
                         "<RegExExpression> needs one <ValueExpression>, found %lu",
                         (unsigned long)p.nve);
    if (p.npattern != 1)
        return expr_fail(cc, node, MDM_EPARSE, "<RegExExpression> needs one <Pattern>, found %lu",
                         (unsigned long)p.npattern);
    return compile_compare(cc, node, p.ve[0], p.op, NULL, p.pattern, e);
}

static int compile_exists(const struct compiler *cc, xmlNode *node, struct mdm_expr *e)
{
    struct operand o;
    struct operand_src src = {NULL, TYPE_NONE};
    struct parts p;
    int rc;

    memset(&o, 0, sizeof(o));
    rc = collect_parts(cc, node, false, &p);
    if (rc != 0)
        goto out;
    if (p.nve != 1 || p.nop != 0) {
        rc = expr_fail(cc, node, MDM_EPARSE, "<Exists> must hold exactly one <ValueExpression>");
        goto out;
    }
    rc = compile_value_expression(cc, p.ve[0], &o, &src);
    if (rc != 0)
        goto out;
    if (!o.is_field) {
        rc = expr_fail(cc, src.node, MDM_EPARSE, "<Exists> needs an <XPathQuery>, not a <Value>");
        goto out;
    }
    e->kind = EXPR_EXISTS;
    e->field = o.ref;
    o.ref = NULL;
out:
    mdm_free(o.text);
    mdm_free(o.ref);
    return rc;
}

/* Compiles the <Expression> children of an And / Or / Not into e->kids. */
static int compile_list(const struct compiler *cc, xmlNode *node, int depth, struct mdm_expr *e)
{
    size_t n;
    int rc;

    if (depth >= EXPR_DEPTH_MAX)
        return expr_fail(cc, node, MDM_ETOOBIG, "expressions are nested more than %d levels deep",
                         EXPR_DEPTH_MAX);
    rc = element_children(cc, node, &n);
    if (rc != 0)
        return rc;
    if (n == 0)
        return expr_fail(cc, node, MDM_EPARSE, "<%s> holds no <Expression>", node_name(node));
    if (e->kind == EXPR_NOT && n != 1)
        return expr_fail(cc, node, MDM_EPARSE,
                         "<Not> must hold exactly one <Expression>, found %lu", (unsigned long)n);
    e->kids = mdm_calloc(n, sizeof(*e->kids));
    if (e->kids == NULL)
        return expr_fail_nomem(cc, node);
    for (xmlNode *c = next_element(node->children); c != NULL; c = next_element(c->next)) {
        if (!name_is(c, "Expression"))
            return expr_fail(cc, c, MDM_EPARSE,
                             "unexpected element <%s> in <%s>; expected <Expression>", node_name(c),
                             node_name(node));
        rc = compile_wrapper(cc, c, depth + 1, &e->kids[e->nkids]);
        if (rc != 0)
            return rc;
        e->nkids++;
    }
    return 0;
}

/* Compiles one expression element (And, Or, ...). On success *out is owned by the caller. */
static int compile_element(const struct compiler *cc, xmlNode *node, int depth,
                           struct mdm_expr **out)
{
    struct mdm_expr *e;
    int rc;

    if (!is_expression_element(node))
        return expr_fail(cc, node, MDM_EUNSUPPORTED, "unsupported expression element <%s>",
                         node_name(node));
    e = mdm_calloc(1, sizeof(*e));
    if (e == NULL)
        return expr_fail_nomem(cc, node);
    if (name_is(node, "And") || name_is(node, "Or") || name_is(node, "Not")) {
        e->kind = name_is(node, "And") ? EXPR_AND : name_is(node, "Or") ? EXPR_OR : EXPR_NOT;
        rc = compile_list(cc, node, depth, e);
    } else if (name_is(node, "SimpleExpression")) {
        rc = compile_simple(cc, node, e);
    } else if (name_is(node, "RegExExpression")) {
        rc = compile_regex_expression(cc, node, e);
    } else {
        rc = compile_exists(cc, node, e);
    }
    if (rc != 0)
        goto out;
    *out = e;
    e = NULL;
out:
    mdm_expr_free(e);
    return rc;
}

/* Compiles the single expression element held by wrapper. */
static int compile_wrapper(const struct compiler *cc, xmlNode *wrapper, int depth,
                           struct mdm_expr **out)
{
    size_t n;
    int rc;

    rc = element_children(cc, wrapper, &n);
    if (rc != 0)
        return rc;
    if (n != 1)
        return expr_fail(cc, wrapper, MDM_EPARSE,
                         "<%s> must hold exactly one expression element, found %lu",
                         node_name(wrapper), (unsigned long)n);
    return compile_element(cc, next_element(wrapper->children), depth, out);
}

int mdm_expr_compile(struct _xmlNode *node, const char *file, struct mdm_expr **out,
                     struct mdm_err *err)
{
    struct compiler cc;
    struct mdm_expr *e = NULL;
    int rc;

    cc.file = file != NULL ? file : "(expression)";
    cc.err = err;
    if (node == NULL || out == NULL || node->type != XML_ELEMENT_NODE)
        return mdm_err_set(err, MDM_EINVAL, "%s: no expression element to compile", cc.file);
    if (is_expression_element(node))
        rc = compile_element(&cc, node, 0, &e);
    else
        rc = compile_wrapper(&cc, node, 0, &e);
    if (rc != 0)
        goto out;
    *out = e;
    e = NULL;
out:
    mdm_expr_free(e);
    return rc;
}

/*
 * expr_eval.c - evaluation of a compiled SCOM expression against an event, and
 * the conversion of text to the comparison types (also used by the compiler
 * for constants). The rules are in expr_internal.h.
 */
#include "agent/engine/expr_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Text to typed values                                                        */

/* Writes the decimal text of u into buf (>= 21 bytes); returns buf. */
static const char *u64_text(uint64_t u, char *buf)
{
    char tmp[24];
    size_t n = 0, k = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (n > 0)
        buf[k++] = tmp[--n];
    buf[k] = '\0';
    return buf;
}

/* Parses decimal digits at *p into *out (no sign); false on none or overflow. */
static bool parse_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return true;
}

static bool parse_int64(const char *s, int64_t *out)
{
    bool neg = false;
    uint64_t v;

    s = skip_space(s);
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!parse_digits(&s, &v) || !only_space(s))
        return false;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        /* Negating in unsigned arithmetic keeps INT64_MIN representable. */
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

static bool parse_uint64(const char *s, uint64_t *out)
{
    uint64_t v;

    s = skip_space(s);
    if (*s == '+')
        s++;
    if (!parse_digits(&s, &v) || !only_space(s))
        return false;
    *out = v;
    return true;
}

/*
 * Parses a decimal floating-point number. The grammar is checked first so
 * that strtod's extras (hex, inf, nan) are refused; mdmhealth never changes
 * LC_NUMERIC, so strtod's decimal point is '.'.
 */
static bool parse_double(const char *s, double *out)
{
    const char *p = skip_space(s);
    const char *start = p;
    bool digits = false;
    char *end;
    double d;

    if (*p == '+' || *p == '-')
        p++;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (!only_space(p))
        return false;
    d = strtod(start, &end);
    if (end != p || isinf(d) || isnan(d))
        return false;
    *out = d;
    return true;
}

/* Compares s (whitespace-trimmed) with the lower-case word w, ignoring ASCII case. */
static bool word_equals(const char *s, const char *w)
{
    s = skip_space(s);
    while (*w != '\0') {
        if (ascii_lower((unsigned char)*s) != (unsigned char)*w)
            return false;
        s++;
        w++;
    }
    return only_space(s);
}

static bool parse_bool(const char *s, uint64_t *out)
{
    if (word_equals(s, "true") || word_equals(s, "1")) {
        *out = 1;
        return true;
    }
    if (word_equals(s, "false") || word_equals(s, "0")) {
        *out = 0;
        return true;
    }
    return false;
}

/* Converts text to type t; false when it does not convert. */
bool expr_convert_text(const char *s, enum value_type t, union typed *out)
{
    switch (t) {
    case TYPE_INTEGER:
        return parse_int64(s, &out->i);
    case TYPE_UNSIGNED:
        return parse_uint64(s, &out->u);
    case TYPE_DOUBLE:
        return parse_double(s, &out->d);
    case TYPE_BOOLEAN:
        return parse_bool(s, &out->u);
    case TYPE_DATETIME:
        return mdm_parse_iso8601(s, &out->i) == 0;
    case TYPE_STRING:
    case TYPE_NONE:
    default:
        out->s = s;
        return true;
    }
}

/* ------------------------------------------------------------------------- */
/* Evaluation                                                                  */

/* The text of a field value; numbers and times are rendered into buf. */
static const char *value_text(const struct mdm_value *v, char *buf)
{
    switch (v->kind) {
    case MDM_VALUE_UINT:
        return u64_text(v->u, buf);
    case MDM_VALUE_TIME:
        mdm_format_iso8601((int64_t)v->u, buf, TEXT_BUF_SIZE);
        return buf;
    case MDM_VALUE_STRING:
    default:
        return v->str != NULL ? v->str : "";
    }
}

/* The text of an operand; false when the field is missing. */
static bool operand_text(const struct operand *o, const struct mdm_event *ev, char *buf,
                         const char **out)
{
    struct mdm_value v;

    if (!o->is_field) {
        *out = o->text;
        return true;
    }
    if (mdm_event_get(ev, o->ref, &v) != 0)
        return false;
    *out = value_text(&v, buf);
    return true;
}

/* The operand converted to type t; false when missing or not convertible. */
static bool operand_typed(const struct operand *o, enum value_type t, const struct mdm_event *ev,
                          char *buf, union typed *out)
{
    struct mdm_value v;

    if (!o->is_field) {
        *out = o->value;
        return true;
    }
    if (mdm_event_get(ev, o->ref, &v) != 0)
        return false;
    if (v.kind == MDM_VALUE_STRING || t == TYPE_STRING)
        return expr_convert_text(value_text(&v, buf), t, out);
    if (v.kind == MDM_VALUE_TIME) {
        /* A time converts only to DateTime (and to its text for String). */
        if (t != TYPE_DATETIME)
            return false;
        out->i = (int64_t)v.u;
        return true;
    }
    switch (t) {
    case TYPE_INTEGER:
        if (v.u > (uint64_t)INT64_MAX)
            return false;
        out->i = (int64_t)v.u;
        return true;
    case TYPE_UNSIGNED:
        out->u = v.u;
        return true;
    case TYPE_DOUBLE:
        out->d = (double)v.u;
        return true;
    case TYPE_BOOLEAN:
        if (v.u > 1)
            return false;
        out->u = v.u;
        return true;
    case TYPE_DATETIME:
    default:
        return false;
    }
}

/* Three-way comparison of two values of type t. */
static int compare_typed(enum value_type t, const union typed *a, const union typed *b)
{
    switch (t) {
    case TYPE_INTEGER:
    case TYPE_DATETIME:
        return (a->i > b->i) - (a->i < b->i);
    case TYPE_UNSIGNED:
    case TYPE_BOOLEAN:
        return (a->u > b->u) - (a->u < b->u);
    case TYPE_DOUBLE:
        return (a->d > b->d) - (a->d < b->d);
    case TYPE_STRING:
    case TYPE_NONE:
    default: {
        int c = strcmp(a->s, b->s);
        return (c > 0) - (c < 0);
    }
    }
}

static bool is_negative(enum op op)
{
    return op == OP_NOT_EQUAL || op == OP_NOT_LIKE || op == OP_NOT_CONTAINS ||
           op == OP_NOT_WILDCARD || op == OP_NOT_REGEX;
}

static bool eval_compare(const struct compare *c, const struct mdm_event *ev)
{
    char lbuf[TEXT_BUF_SIZE], rbuf[TEXT_BUF_SIZE];
    union typed l, r;
    const char *ls, *rs;
    bool match;
    int cmp;

    switch (c->op) {
    case OP_EQUAL:
    case OP_NOT_EQUAL:
    case OP_GREATER:
    case OP_LESS:
    case OP_GREATER_EQUAL:
    case OP_LESS_EQUAL:
        if (!operand_typed(&c->left, c->type, ev, lbuf, &l) ||
            !operand_typed(&c->right, c->type, ev, rbuf, &r))
            return false;
        cmp = compare_typed(c->type, &l, &r);
        switch (c->op) {
        case OP_EQUAL:
            return cmp == 0;
        case OP_NOT_EQUAL:
            return cmp != 0;
        case OP_GREATER:
            return cmp > 0;
        case OP_LESS:
            return cmp < 0;
        case OP_GREATER_EQUAL:
            return cmp >= 0;
        default:
            return cmp <= 0;
        }
    case OP_CONTAINS:
    case OP_NOT_CONTAINS:
        if (!operand_text(&c->left, ev, lbuf, &ls) || !operand_text(&c->right, ev, rbuf, &rs))
            return false;
        match = strstr(ls, rs) != NULL;
        break;
    case OP_LIKE:
    case OP_NOT_LIKE:
    case OP_WILDCARD:
    case OP_NOT_WILDCARD:
        if (!operand_text(&c->left, ev, lbuf, &ls))
            return false;
        match = expr_glob_match(c->glob, ls);
        break;
    case OP_REGEX:
    case OP_NOT_REGEX:
        if (!operand_text(&c->left, ev, lbuf, &ls))
            return false;
        cmp = expr_regex_match(c->re, ls);
        if (cmp < 0)
            return false;
        match = cmp == 1;
        break;
    default:
        return false;
    }
    return is_negative(c->op) ? !match : match;
}

bool mdm_expr_eval(const struct mdm_expr *expr, const struct mdm_event *ev)
{
    struct mdm_value v;

    if (expr == NULL || ev == NULL)
        return false;
    switch (expr->kind) {
    case EXPR_AND:
        for (size_t k = 0; k < expr->nkids; k++)
            if (!mdm_expr_eval(expr->kids[k], ev))
                return false;
        return true;
    case EXPR_OR:
        for (size_t k = 0; k < expr->nkids; k++)
            if (mdm_expr_eval(expr->kids[k], ev))
                return true;
        return false;
    case EXPR_NOT:
        return !mdm_expr_eval(expr->kids[0], ev);
    case EXPR_EXISTS:
        return mdm_event_get(ev, expr->field, &v) == 0;
    case EXPR_COMPARE:
        return eval_compare(&expr->cmp, ev);
    default:
        return false;
    }
}

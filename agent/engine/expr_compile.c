/*
 * expr.c - SCOM expression filters (System.ExpressionFilter, ExpressionType),
 * compiled once from the management pack XML and evaluated per event.
 *
 * This comment is the specification of how mdmhealth evaluates expressions.
 *
 * Structure
 *   <And>/<Or> hold one or more <Expression> elements, <Not> exactly one; each
 *   <Expression> holds exactly one expression element. <SimpleExpression> is
 *   ValueExpression, Operator, ValueExpression; <RegExExpression> is
 *   ValueExpression, Operator, Pattern; <Exists> is one ValueExpression with an
 *   XPathQuery and is true when the event carries that field. A ValueExpression
 *   holds one <XPathQuery> (a field of the event, see wevt/field.c) or one
 *   <Value> (a constant). Comments, processing instructions and whitespace are
 *   ignored; any other text, element or operator is an error at compile time
 *   (MDM_EUNSUPPORTED for constructs we do not implement such as
 *   <DayTimeExpression>, MDM_EPARSE for a malformed structure), always as
 *   "FILE:LINE: message". And/Or/Not may nest EXPR_DEPTH_MAX levels deep.
 *   XPathQuery names and Operator text are trimmed of surrounding whitespace;
 *   Value and Pattern text is used exactly as written.
 *
 * Types
 *   The comparison type is the Type attribute of either side (XPathQuery or
 *   Value): String (the default), Integer (int64), UnsignedInteger (uint64),
 *   Double, Boolean ("true"/"false"/"1"/"0", case-insensitive) or DateTime
 *   (ISO 8601; without an offset it is UTC). Both sides giving different types
 *   is a compile error, and so is a constant <Value> that does not convert to
 *   the type. Numbers may have surrounding whitespace and a sign; Double
 *   accepts decimal notation with an exponent but not hex, inf or nan. An
 *   event value that does not convert makes the comparison false.
 *   Numeric fields (EventDisplayNumber, ...) compared as String use their
 *   decimal text and times their ISO 8601 text, so the seed's
 *   `EventDisplayNumber Equal 1004` without a Type matches EventID 1004.
 *   String comparison is ordinal and case-sensitive, like .NET String.Equals /
 *   String.CompareOrdinal in the SCOM filter; on UTF-8 bytes this is code point
 *   order.
 *
 * Operators
 *   Every operator is accepted in both SimpleExpression and RegExExpression;
 *   in a RegExExpression the Pattern is the right-hand constant.
 *   Equal, NotEqual, Greater, Less, GreaterEqual, LessEqual compare in the type.
 *   The pattern operators work on the text of the left side whatever the Type,
 *   and their right side must be a constant (a <Value> or the <Pattern>):
 *   - ContainsSubstring / DoesNotContainSubstring: case-sensitive substring
 *     (the empty string is contained in everything); here the right side may
 *     also be an XPathQuery.
 *   - MatchesWildcard / DoesNotMatchWildcard: the whole string matches the SCOM
 *     wildcard, where `*` is any run of characters, `?` exactly one character
 *     (one UTF-8 code point), `#` one ASCII digit, everything else literal and
 *     case-sensitive.
 *   - Like / NotLike: SQL LIKE as SCOM group criteria use it, whole string:
 *     `%` any run, `_` one character, `[abc]`, `[a-z]`, `[^a]` sets (a `]`
 *     right after `[` or `[^` is a member, `-` first or last is literal, `[%]`
 *     matches a literal `%`), case-insensitive with ASCII folding only. An
 *     unterminated `[` is a compile error.
 *   - MatchesRegularExpression / DoesNotMatchRegularExpression: PCRE2 in UTF
 *     and UCP mode (\d, \w as Unicode, like .NET), case-sensitive, unanchored
 *     search (.NET Regex.IsMatch). Compiled (and JIT-compiled when available)
 *     once; a bad pattern is a compile error with PCRE2's message and offset.
 *     A match that exceeds the match or heap limit counts as "no answer":
 *     both the positive and the negative operator are false.
 *
 * Missing fields
 *   When a side is an XPathQuery the event does not carry (MDM_ENOTFOUND: an
 *   absent Param, EventData name or GUID), every comparison is false,
 *   including the negative operators NotEqual, NotLike, DoesNotContainSubstring,
 *   DoesNotMatchWildcard and DoesNotMatchRegularExpression: SCOM evaluates a
 *   missing property as failing the whole SimpleExpression. Wrap the positive
 *   operator in <Not> to get "absent or different".
 *
 * Threading and memory
 *   Compilation allocates through mdm_alloc.h, PCRE2 included (through a
 *   pcre2_general_context). Evaluation allocates nothing on its path: the
 *   constants are converted at compile time, numbers are formatted into stack
 *   buffers, and each regex has a match-data block made at compile time. PCRE2
 *   may allocate its backtracking frames once, on the first match of a
 *   pattern, and keeps them in that block. Because the block is shared, one
 *   compiled expression must not be evaluated by two threads at once.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "expr.h"

#include "mdm_alloc.h"

#include <libxml/tree.h>
#include <pcre2.h>

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deepest nesting of And / Or / Not accepted. */
#define EXPR_DEPTH_MAX 64
/* Longest Value, Pattern or XPathQuery text accepted from a pack. */
#define EXPR_TEXT_MAX MDM_EVENT_FIELD_MAX
/* PCRE2 limits: enough for any sane filter, bounded for hostile patterns. */
#define REGEX_MATCH_LIMIT    1000000u
#define REGEX_DEPTH_LIMIT    100000u
#define REGEX_HEAP_LIMIT_KIB 8192u
/* Stack buffer for a number or a time rendered as text (ISO 8601 needs 25). */
#define TEXT_BUF_SIZE 48

enum expr_kind {
    EXPR_AND,
    EXPR_OR,
    EXPR_NOT,
    EXPR_COMPARE,
    EXPR_EXISTS,
};

enum value_type {
    TYPE_NONE = -1, /* no Type attribute */
    TYPE_STRING,
    TYPE_INTEGER,
    TYPE_UNSIGNED,
    TYPE_DOUBLE,
    TYPE_BOOLEAN,
    TYPE_DATETIME,
};

static const char *const type_names[] = {
    "String", "Integer", "UnsignedInteger", "Double", "Boolean", "DateTime",
};

enum op {
    OP_EQUAL,
    OP_NOT_EQUAL,
    OP_GREATER,
    OP_LESS,
    OP_GREATER_EQUAL,
    OP_LESS_EQUAL,
    OP_LIKE,
    OP_NOT_LIKE,
    OP_CONTAINS,
    OP_NOT_CONTAINS,
    OP_WILDCARD,
    OP_NOT_WILDCARD,
    OP_REGEX,
    OP_NOT_REGEX,
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

/* A value converted to the comparison type; only the member of that type is set. */
struct typed {
    const char *s; /* TYPE_STRING */
    int64_t i;     /* TYPE_INTEGER, TYPE_DATETIME (ms since 1970 UTC) */
    uint64_t u;    /* TYPE_UNSIGNED, TYPE_BOOLEAN (0 or 1) */
    double d;      /* TYPE_DOUBLE */
};

struct operand {
    bool is_field;
    struct mdm_field_ref ref; /* is_field */
    char *text;               /* constant text (owned), NULL for fields */
    struct typed value;       /* constant converted to the comparison type */
};

/* One position of a compiled Like or MatchesWildcard pattern. */
enum tok_kind {
    TOK_CHAR,  /* one literal code point */
    TOK_ANY,   /* `?` or `_`: one code point */
    TOK_DIGIT, /* `#`: one ASCII digit */
    TOK_SET,   /* `[...]`: one code point in (or not in) a set of ranges */
    TOK_STAR,  /* `*` or `%`: any run */
};

struct tok {
    enum tok_kind kind;
    bool negate;        /* TOK_SET */
    uint32_t cp;        /* TOK_CHAR (folded to lower case for Like) */
    uint32_t set_first; /* TOK_SET: index into ranges */
    uint32_t set_count;
};

struct range {
    uint32_t lo, hi;
};

struct glob {
    struct tok *toks;
    size_t ntoks;
    struct range *ranges;
    size_t nranges;
    bool fold; /* Like: ASCII case-insensitive */
};

struct regex {
    pcre2_general_context *gctx;
    pcre2_code *code;
    pcre2_match_context *mctx;
    pcre2_match_data *mdata; /* shared by every evaluation: single-threaded use */
};

struct compare {
    enum op op;
    enum value_type type;
    struct operand left, right;
    struct glob glob; /* Like, MatchesWildcard and their negations */
    struct regex re;  /* MatchesRegularExpression and its negation */
};

struct mdm_expr {
    enum expr_kind kind;
    struct mdm_expr **kids; /* And, Or, Not */
    size_t nkids;
    struct compare cmp;         /* EXPR_COMPARE */
    struct mdm_field_ref field; /* EXPR_EXISTS */
};

/* ------------------------------------------------------------------------- */
/* Text helpers                                                                */

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static uint32_t ascii_lower(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static uint32_t ascii_upper(uint32_t c)
{
    return c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c;
}

/*
 * Decodes the code point at s (n > 0 bytes available) and stores its length
 * in *len. A byte that does not start a valid sequence is one unit of its
 * own, returned as 0x110000 + byte so that it equals no real character.
 */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    uint32_t cp;
    size_t need;

    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 1;
        cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 2;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 3;
        cp = s[0] & 0x07u;
    } else {
        goto invalid;
    }
    if (n <= need)
        goto invalid;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xC0u) != 0x80u)
            goto invalid;
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    *len = need + 1;
    return cp;
invalid:
    *len = 1;
    return 0x110000u + s[0];
}

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

/* Skips leading whitespace; returns the first other character. */
static const char *skip_space(const char *s)
{
    while (is_space((unsigned char)*s))
        s++;
    return s;
}

/* True when only whitespace remains at s. */
static bool only_space(const char *s)
{
    return *skip_space(s) == '\0';
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
static bool convert_text(const char *s, enum value_type t, struct typed *out)
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
    if (mdm_event_get(ev, &o->ref, &v) != 0)
        return false;
    *out = value_text(&v, buf);
    return true;
}

/* The operand converted to type t; false when missing or not convertible. */
static bool operand_typed(const struct operand *o, enum value_type t, const struct mdm_event *ev,
                          char *buf, struct typed *out)
{
    struct mdm_value v;

    if (!o->is_field) {
        *out = o->value;
        return true;
    }
    if (mdm_event_get(ev, &o->ref, &v) != 0)
        return false;
    if (v.kind == MDM_VALUE_STRING || t == TYPE_STRING)
        return convert_text(value_text(&v, buf), t, out);
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
static int compare_typed(enum value_type t, const struct typed *a, const struct typed *b)
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

static bool range_contains(const struct glob *g, const struct tok *t, uint32_t cp)
{
    for (uint32_t k = 0; k < t->set_count; k++) {
        const struct range *r = &g->ranges[t->set_first + k];
        if (cp >= r->lo && cp <= r->hi)
            return true;
    }
    return false;
}

static bool tok_matches(const struct glob *g, const struct tok *t, uint32_t cp)
{
    bool in;

    switch (t->kind) {
    case TOK_CHAR:
        return cp == t->cp || (g->fold && ascii_lower(cp) == t->cp);
    case TOK_ANY:
        return true;
    case TOK_DIGIT:
        return cp >= '0' && cp <= '9';
    case TOK_SET:
        in = range_contains(g, t, cp) || (g->fold && (range_contains(g, t, ascii_lower(cp)) ||
                                                      range_contains(g, t, ascii_upper(cp))));
        return in != t->negate;
    case TOK_STAR:
    default:
        return false;
    }
}

/*
 * Whole-string match of a compiled Like / wildcard pattern. Every token but
 * TOK_STAR consumes exactly one code point, so the classic "remember the last
 * star" backtracking is exact and needs no memory: O(len(s) * ntoks) worst case.
 */
static bool glob_match(const struct glob *g, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);
    size_t p = 0, i = 0, len;
    size_t star_p = SIZE_MAX, star_i = 0;

    while (i < n) {
        if (p < g->ntoks && g->toks[p].kind == TOK_STAR) {
            star_p = p++;
            star_i = i;
            continue;
        }
        if (p < g->ntoks) {
            uint32_t cp = utf8_next(s + i, n - i, &len);
            if (tok_matches(g, &g->toks[p], cp)) {
                p++;
                i += len;
                continue;
            }
        }
        if (star_p == SIZE_MAX)
            return false;
        /* Let the last star absorb one more code point and retry after it. */
        utf8_next(s + star_i, n - star_i, &len);
        star_i += len;
        i = star_i;
        p = star_p + 1;
    }
    while (p < g->ntoks && g->toks[p].kind == TOK_STAR)
        p++;
    return p == g->ntoks;
}

/* Returns 1 on a match, 0 on none, negative when PCRE2 gave no answer. */
static int regex_match(const struct regex *re, const char *s)
{
    size_t n = strlen(s);
    int rc;

    rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, re->mdata, re->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        /* The JIT stack is small; the interpreter has its own (heap) limits. */
        rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_JIT, re->mdata, re->mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    return -1;
}

static bool is_negative(enum op op)
{
    return op == OP_NOT_EQUAL || op == OP_NOT_LIKE || op == OP_NOT_CONTAINS ||
           op == OP_NOT_WILDCARD || op == OP_NOT_REGEX;
}

static bool eval_compare(const struct compare *c, const struct mdm_event *ev)
{
    char lbuf[TEXT_BUF_SIZE], rbuf[TEXT_BUF_SIZE];
    struct typed l, r;
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
        match = glob_match(&c->glob, ls);
        break;
    case OP_REGEX:
    case OP_NOT_REGEX:
        if (!operand_text(&c->left, ev, lbuf, &ls))
            return false;
        cmp = regex_match(&c->re, ls);
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
        return mdm_event_get(ev, &expr->field, &v) == 0;
    case EXPR_COMPARE:
        return eval_compare(&expr->cmp, ev);
    default:
        return false;
    }
}

/* ------------------------------------------------------------------------- */
/* Freeing                                                                     */

static void regex_free(struct regex *re)
{
    pcre2_match_data_free(re->mdata);
    pcre2_match_context_free(re->mctx);
    pcre2_code_free(re->code);
    pcre2_general_context_free(re->gctx);
    memset(re, 0, sizeof(*re));
}

void mdm_expr_free(struct mdm_expr *expr)
{
    if (expr == NULL)
        return;
    for (size_t k = 0; k < expr->nkids; k++)
        mdm_expr_free(expr->kids[k]);
    mdm_free(expr->kids);
    mdm_free(expr->cmp.left.text);
    mdm_free(expr->cmp.right.text);
    mdm_free(expr->cmp.glob.toks);
    mdm_free(expr->cmp.glob.ranges);
    regex_free(&expr->cmp.re);
    mdm_free(expr);
}

/* ------------------------------------------------------------------------- */
/* Compilation                                                                 */

struct compiler {
    const char *file;
    struct mdm_err *err;
};

/* Records "FILE:LINE: message" for node in the compiler's error and returns code. */
static int fail(const struct compiler *cc, const xmlNode *node, int code, const char *fmt, ...)
    MDM_PRINTF_FORMAT(4, 5);

static int fail(const struct compiler *cc, const xmlNode *node, int code, const char *fmt, ...)
{
    char msg[MDM_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return mdm_err_set(cc->err, code, "%s:%ld: %s", cc->file, xmlGetLineNo(node), msg);
}

static int fail_nomem(const struct compiler *cc, const xmlNode *node)
{
    return fail(cc, node, MDM_ENOMEM, "out of memory compiling the expression");
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
                return fail(cc, c, MDM_EPARSE, "unexpected text in <%s>", node_name(parent));
            break;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
            break;
        default:
            return fail(cc, c, MDM_EPARSE, "unexpected content in <%s>", node_name(parent));
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
            return fail(cc, c, MDM_EPARSE, "unexpected element <%s> in <%s>", node_name(c),
                        node_name(node));
        } else if (c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE) {
            return fail(cc, c, MDM_EUNSUPPORTED, "unsupported content (entity reference?) in <%s>",
                        node_name(node));
        }
        if (len > EXPR_TEXT_MAX)
            return fail(cc, node, MDM_ETOOBIG, "the text of <%s> is longer than %u bytes",
                        node_name(node), (unsigned)EXPR_TEXT_MAX);
    }
    text = mdm_malloc(len + 1);
    if (text == NULL) {
        rc = fail_nomem(cc, node);
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
    return fail(cc, node, MDM_EUNSUPPORTED, "unsupported Type \"%.100s\" on <%s>", value,
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
        rc = fail(cc, ve, MDM_EPARSE,
                  "<ValueExpression> must hold one <XPathQuery> or <Value>, found %lu elements",
                  (unsigned long)n);
        goto out;
    }
    child = next_element(ve->children);
    if (!name_is(child, "XPathQuery") && !name_is(child, "Value")) {
        rc = fail(cc, child, MDM_EUNSUPPORTED, "unsupported value element <%s>", node_name(child));
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
        rc = mdm_field_parse(text, &o->ref, cc->err);
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
    rc = fail(cc, node, MDM_EUNSUPPORTED, "unsupported operator \"%.100s\"", text);
out:
    mdm_free(text);
    return rc;
}

/* PCRE2 allocates through mdm_alloc.h so that the failure fixture covers it. */
static void *pcre_alloc(PCRE2_SIZE size, void *data)
{
    (void)data;
    return mdm_malloc(size);
}

static void pcre_release(void *ptr, void *data)
{
    (void)data;
    mdm_free(ptr);
}

/* Compiles pattern into re; on error the caller frees the partial re. */
static int compile_regex(const struct compiler *cc, const xmlNode *node, const char *pattern,
                         struct regex *re)
{
    pcre2_compile_context *ccontext = NULL;
    PCRE2_SIZE offset = 0;
    int errcode = 0;
    int rc;

    re->gctx = pcre2_general_context_create(pcre_alloc, pcre_release, NULL);
    if (re->gctx == NULL) {
        rc = fail_nomem(cc, node);
        goto out;
    }
    ccontext = pcre2_compile_context_create(re->gctx);
    if (ccontext == NULL) {
        rc = fail_nomem(cc, node);
        goto out;
    }
    re->code =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &errcode, &offset, ccontext);
    if (re->code == NULL) {
        PCRE2_UCHAR msg[256];

        if (errcode == PCRE2_ERROR_HEAP_FAILED) {
            rc = fail_nomem(cc, node);
            goto out;
        }
        if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", errcode);
        rc = fail(cc, node, MDM_EPARSE, "invalid regular expression \"%.100s\": %s at offset %lu",
                  pattern, (const char *)msg, (unsigned long)offset);
        goto out;
    }
    re->mctx = pcre2_match_context_create(re->gctx);
    re->mdata = pcre2_match_data_create(1, re->gctx);
    if (re->mctx == NULL || re->mdata == NULL) {
        rc = fail_nomem(cc, node);
        goto out;
    }
    pcre2_set_match_limit(re->mctx, REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(re->mctx, REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(re->mctx, REGEX_HEAP_LIMIT_KIB);
    /* JIT is an optimisation: when it is unavailable or fails, the interpreter runs. */
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    rc = 0;
out:
    pcre2_compile_context_free(ccontext);
    return rc;
}

/* Compiles a Like (like = true) or MatchesWildcard pattern into g. */
static int compile_glob(const struct compiler *cc, const xmlNode *node, const char *pattern,
                        bool like, struct glob *g)
{
    const unsigned char *s = (const unsigned char *)pattern;
    size_t n = strlen(pattern);
    size_t i = 0, len;
    int rc;

    g->fold = like;
    /* Each token and each range consumes at least one byte of the pattern. */
    g->toks = mdm_calloc(n + 1, sizeof(*g->toks));
    g->ranges = mdm_calloc(n + 1, sizeof(*g->ranges));
    if (g->toks == NULL || g->ranges == NULL) {
        rc = fail_nomem(cc, node);
        goto out;
    }
    while (i < n) {
        struct tok *t = &g->toks[g->ntoks];
        uint32_t cp = utf8_next(s + i, n - i, &len);

        i += len;
        if (cp == (like ? '%' : '*')) {
            /* A run of stars is one star. */
            if (g->ntoks > 0 && g->toks[g->ntoks - 1].kind == TOK_STAR)
                continue;
            t->kind = TOK_STAR;
        } else if (cp == (like ? '_' : '?')) {
            t->kind = TOK_ANY;
        } else if (!like && cp == '#') {
            t->kind = TOK_DIGIT;
        } else if (like && cp == '[') {
            bool first = true;

            t->kind = TOK_SET;
            if (i < n && s[i] == '^') {
                t->negate = true;
                i++;
            }
            t->set_first = (uint32_t)g->nranges;
            for (;;) {
                uint32_t lo, hi;

                if (i >= n) {
                    rc = fail(cc, node, MDM_EPARSE, "unterminated [ in Like pattern \"%.100s\"",
                              pattern);
                    goto out;
                }
                if (s[i] == ']' && !first) {
                    i++;
                    break;
                }
                first = false;
                lo = hi = utf8_next(s + i, n - i, &len);
                i += len;
                if (i + 1 < n && s[i] == '-' && s[i + 1] != ']') {
                    hi = utf8_next(s + i + 1, n - i - 1, &len);
                    i += 1 + len;
                }
                g->ranges[g->nranges].lo = lo;
                g->ranges[g->nranges].hi = hi;
                g->nranges++;
            }
            t->set_count = (uint32_t)(g->nranges - t->set_first);
        } else {
            t->kind = TOK_CHAR;
            t->cp = like ? ascii_lower(cp) : cp;
        }
        g->ntoks++;
    }
    rc = 0;
out:
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
    if (!convert_text(o->text, type, &o->value))
        return fail(cc, src->node, MDM_EPARSE, "cannot convert Value \"%.100s\" to %s", o->text,
                    type_names[type]);
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
        rc = fail(cc, expr_node, MDM_EPARSE, "<%s> Type \"%s\" and <%s> Type \"%s\" differ in <%s>",
                  node_name(lsrc.node), type_names[lsrc.type], node_name(rsrc.node),
                  type_names[rsrc.type], node_name(expr_node));
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
        rc = fail(cc, op_node, MDM_EUNSUPPORTED,
                  "the pattern of operator \"%s\" must be a <Value>, not an <XPathQuery>",
                  operator_names[c->op].name);
        goto out;
    }
    switch (c->op) {
    case OP_LIKE:
    case OP_NOT_LIKE:
        rc = compile_glob(cc, rsrc.node, c->right.text, true, &c->glob);
        break;
    case OP_WILDCARD:
    case OP_NOT_WILDCARD:
        rc = compile_glob(cc, rsrc.node, c->right.text, false, &c->glob);
        break;
    case OP_REGEX:
    case OP_NOT_REGEX:
        rc = compile_regex(cc, rsrc.node, c->right.text, &c->re);
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
            return fail(cc, c, MDM_EPARSE, "unexpected element <%s> in <%s>", node_name(c),
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
        return fail(cc, node, MDM_EPARSE, "<SimpleExpression> needs one <Operator>, found %lu",
                    (unsigned long)p.nop);
    if (p.nve != 2)
        return fail(cc, node, MDM_EPARSE,
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
        return fail(cc, node, MDM_EPARSE, "<RegExExpression> needs one <Operator>, found %lu",
                    (unsigned long)p.nop);
    if (p.nve != 1)
        return fail(cc, node, MDM_EPARSE,
                    "<RegExExpression> needs one <ValueExpression>, found %lu",
                    (unsigned long)p.nve);
    if (p.npattern != 1)
        return fail(cc, node, MDM_EPARSE, "<RegExExpression> needs one <Pattern>, found %lu",
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
        rc = fail(cc, node, MDM_EPARSE, "<Exists> must hold exactly one <ValueExpression>");
        goto out;
    }
    rc = compile_value_expression(cc, p.ve[0], &o, &src);
    if (rc != 0)
        goto out;
    if (!o.is_field) {
        rc = fail(cc, src.node, MDM_EPARSE, "<Exists> needs an <XPathQuery>, not a <Value>");
        goto out;
    }
    e->kind = EXPR_EXISTS;
    e->field = o.ref;
out:
    mdm_free(o.text);
    return rc;
}

/* Compiles the <Expression> children of an And / Or / Not into e->kids. */
static int compile_list(const struct compiler *cc, xmlNode *node, int depth, struct mdm_expr *e)
{
    size_t n;
    int rc;

    if (depth >= EXPR_DEPTH_MAX)
        return fail(cc, node, MDM_ETOOBIG, "expressions are nested more than %d levels deep",
                    EXPR_DEPTH_MAX);
    rc = element_children(cc, node, &n);
    if (rc != 0)
        return rc;
    if (n == 0)
        return fail(cc, node, MDM_EPARSE, "<%s> holds no <Expression>", node_name(node));
    if (e->kind == EXPR_NOT && n != 1)
        return fail(cc, node, MDM_EPARSE, "<Not> must hold exactly one <Expression>, found %lu",
                    (unsigned long)n);
    e->kids = mdm_calloc(n, sizeof(*e->kids));
    if (e->kids == NULL)
        return fail_nomem(cc, node);
    for (xmlNode *c = next_element(node->children); c != NULL; c = next_element(c->next)) {
        if (!name_is(c, "Expression"))
            return fail(cc, c, MDM_EPARSE, "unexpected element <%s> in <%s>; expected <Expression>",
                        node_name(c), node_name(node));
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
        return fail(cc, node, MDM_EUNSUPPORTED, "unsupported expression element <%s>",
                    node_name(node));
    e = mdm_calloc(1, sizeof(*e));
    if (e == NULL)
        return fail_nomem(cc, node);
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
        return fail(cc, wrapper, MDM_EPARSE,
                    "<%s> must hold exactly one expression element, found %lu", node_name(wrapper),
                    (unsigned long)n);
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

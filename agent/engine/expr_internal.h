/*
 * expr_internal.h - SCOM expression filters (System.ExpressionFilter, ExpressionType),
 * compiled once from the management pack XML and evaluated per event: the
 * types and helpers shared by expr_compile.c (the pack XML to a tree),
 * expr_eval.c (value conversion and evaluation) and expr_match.c (Like,
 * wildcard and regular-expression patterns). Private to those three files.
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
#ifndef MDM_EXPR_INTERNAL_H
#define MDM_EXPR_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include "agent/common/mdm_text.h"
#include "agent/engine/expr.h"

#include <libxml/tree.h>
#include <pcre2.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * A value converted to the comparison type: only the member of that type is
 * set or read (a union: a pack of thousands of monitors holds two per
 * comparison).
 */
union typed {
    const char *s; /* TYPE_STRING */
    int64_t i;     /* TYPE_INTEGER, TYPE_DATETIME (ms since 1970 UTC) */
    uint64_t u;    /* TYPE_UNSIGNED, TYPE_BOOLEAN (0 or 1) */
    double d;      /* TYPE_DOUBLE */
};

struct operand {
    bool is_field;
    struct mdm_field_ref *ref; /* is_field: owned (allocated only for fields: a pack of
                                  thousands of monitors holds thousands of constants) */
    char *text;                /* constant text (owned), NULL for fields */
    union typed value;         /* constant converted to the comparison type */
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
    /* The compiled pattern, allocated only for the operators that have one. */
    struct glob *glob; /* Like, MatchesWildcard and their negations */
    struct regex *re;  /* MatchesRegularExpression and its negation */
};

struct mdm_expr {
    enum expr_kind kind;
    struct mdm_expr **kids; /* And, Or, Not */
    size_t nkids;
    struct compare cmp;          /* EXPR_COMPARE */
    struct mdm_field_ref *field; /* EXPR_EXISTS: owned */
};
/* ------------------------------------------------------------------------- */
/* Text helpers shared by the three parts                                      */

static inline bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* mdm_text's ASCII case folding on a code point (those above ASCII unchanged). */
static inline uint32_t ascii_lower(uint32_t cp)
{
    return cp < 0x80 ? (uint32_t)mdm_ascii_tolower((int)cp) : cp;
}

static inline uint32_t ascii_upper(uint32_t cp)
{
    return cp < 0x80 ? (uint32_t)mdm_ascii_toupper((int)cp) : cp;
}

/* Skips leading whitespace; returns the first other character. */
static inline const char *skip_space(const char *s)
{
    while (is_space((unsigned char)*s))
        s++;
    return s;
}

/* True when only whitespace remains at s. */
static inline bool only_space(const char *s)
{
    return *skip_space(s) == '\0';
}

/* Converts text to type t; false when it does not convert (expr_eval.c). */
bool expr_convert_text(const char *s, enum value_type t, union typed *out);

/* ------------------------------------------------------------------------- */
/* Compilation context and its error reporting (expr_compile.c)                */

struct compiler {
    const char *file;
    struct mdm_err *err;
};

/* Records "FILE:LINE: message" for node in the compiler's error and returns code. */
int expr_fail(const struct compiler *cc, const xmlNode *node, int code, const char *fmt, ...)
    MDM_PRINTF_FORMAT(4, 5);

/* Records an out-of-memory error for node and returns MDM_ENOMEM. */
int expr_fail_nomem(const struct compiler *cc, const xmlNode *node);

/* ------------------------------------------------------------------------- */
/* Like, wildcard and regular-expression patterns (expr_match.c)               */

/* Compiles a Like (like = true) or MatchesWildcard pattern into g. */
int expr_glob_compile(const struct compiler *cc, const xmlNode *node, const char *pattern,
                      bool like, struct glob *g);

/* Whole-string match of a compiled Like / wildcard pattern. */
bool expr_glob_match(const struct glob *g, const char *str);

/* Compiles pattern into re; on error the caller frees the partial re. */
int expr_regex_compile(const struct compiler *cc, const xmlNode *node, const char *pattern,
                       struct regex *re);

/* Returns 1 on a match, 0 on none, negative when PCRE2 gave no answer. */
int expr_regex_match(const struct regex *re, const char *s);

/* Frees what expr_regex_compile made (also a partial one) and zeroes re. */
void expr_regex_free(struct regex *re);

#endif

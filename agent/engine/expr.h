/*
 * expr.h - SCOM expression filters (System.ExpressionFilter schema), compiled
 * once from the management pack XML and evaluated against events.
 *
 * Supported: And, Or, Not, SimpleExpression, RegExExpression, Exists, with the
 * operators Equal, NotEqual, Greater, Less, GreaterEqual, LessEqual, Like,
 * NotLike, ContainsSubstring, DoesNotContainSubstring, MatchesWildcard,
 * DoesNotMatchWildcard, MatchesRegularExpression, DoesNotMatchRegularExpression,
 * and Type= String, Integer, UnsignedInteger, Double, Boolean, DateTime on
 * XPathQuery / Value. Anything else is rejected at compile time with the
 * element name and line.
 */
#ifndef MDM_EXPR_H
#define MDM_EXPR_H

#include <stdbool.h>

#include "wevt/event.h"
#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mdm_expr;
struct _xmlNode;

/*
 * Compiles the expression element `node` (an <Expression>, <FirstExpression>
 * or similar wrapper holding exactly one expression element, or the expression
 * element itself). `file` is used in error messages ("pack.xml:42: ...").
 * On success *out is owned by the caller (mdm_expr_free).
 */
int mdm_expr_compile(struct _xmlNode *node, const char *file, struct mdm_expr **out,
                     struct mdm_err *err);

/* Evaluates the expression against ev. A missing field makes a comparison false. */
bool mdm_expr_eval(const struct mdm_expr *expr, const struct mdm_event *ev);

void mdm_expr_free(struct mdm_expr *expr);

#ifdef __cplusplus
}
#endif

#endif

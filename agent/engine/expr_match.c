/*
 * expr_match.c - the pattern operators of SCOM expressions: Like and
 * MatchesWildcard compiled to a token list and matched without allocating,
 * MatchesRegularExpression through PCRE2. The rules are in expr_internal.h.
 */
#include "agent/engine/expr_internal.h"

#include "agent/common/mdm_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
bool expr_glob_match(const struct glob *g, const char *str)
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
int expr_regex_match(const struct regex *re, const char *s)
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

void expr_regex_free(struct regex *re)
{
    pcre2_match_data_free(re->mdata);
    pcre2_match_context_free(re->mctx);
    pcre2_code_free(re->code);
    pcre2_general_context_free(re->gctx);
    memset(re, 0, sizeof(*re));
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
int expr_regex_compile(const struct compiler *cc, const xmlNode *node, const char *pattern,
                       struct regex *re)
{
    pcre2_compile_context *ccontext = NULL;
    PCRE2_SIZE offset = 0;
    int errcode = 0;
    int rc;

    re->gctx = pcre2_general_context_create(pcre_alloc, pcre_release, NULL);
    if (re->gctx == NULL) {
        rc = expr_fail_nomem(cc, node);
        goto out;
    }
    ccontext = pcre2_compile_context_create(re->gctx);
    if (ccontext == NULL) {
        rc = expr_fail_nomem(cc, node);
        goto out;
    }
    re->code =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &errcode, &offset, ccontext);
    if (re->code == NULL) {
        PCRE2_UCHAR msg[256];

        if (errcode == PCRE2_ERROR_HEAP_FAILED) {
            rc = expr_fail_nomem(cc, node);
            goto out;
        }
        if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", errcode);
        rc = expr_fail(cc, node, MDM_EPARSE,
                       "invalid regular expression \"%.100s\": %s at offset %lu", pattern,
                       (const char *)msg, (unsigned long)offset);
        goto out;
    }
    re->mctx = pcre2_match_context_create(re->gctx);
    re->mdata = pcre2_match_data_create(1, re->gctx);
    if (re->mctx == NULL || re->mdata == NULL) {
        rc = expr_fail_nomem(cc, node);
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
int expr_glob_compile(const struct compiler *cc, const xmlNode *node, const char *pattern,
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
        rc = expr_fail_nomem(cc, node);
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
                    rc = expr_fail(cc, node, MDM_EPARSE,
                                   "unterminated [ in Like pattern \"%.100s\"", pattern);
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

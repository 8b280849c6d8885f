/*
 * ldap_membership.c - decides whether the computer is a member of the group,
 * directly or nested (the three steps at the top of ldap_check.c), with a
 * breadth-first expansion of the member attribute where the server cannot
 * walk the nesting itself.
 */
#include "agent/diag/ldap_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_ldap.h"
#include "agent/os/mdm_os.h"
#include "agent/common/mdm_text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int match_one(struct ad_session *s, const char *base, const char *attr_rule,
                     const char *value, bool *hit, struct mdm_err *err)
{
    const char *attrs[] = {"1.1", NULL};
    char escaped[2 * AD_DN_MAX];
    char filter[AD_FILTER_MAX];
    struct mdm_ldap_msg *res = NULL;
    int rc;

    if (ad_filter_escape(value, escaped, sizeof(escaped)) != 0 ||
        snprintf(filter, sizeof(filter), "(%s=%s)", attr_rule, escaped) >= (int)sizeof(filter))
        return mdm_err_set(err, MDM_EINVAL, "the DN %s is too long for a search filter", value);
    rc = ad_search(s, base, MDM_LDAP_SCOPE_BASE, filter, attrs, 1, &res, err);
    if (rc != 0)
        return rc;
    *hit = mdm_ldap_first_entry(s->ld, res) != NULL;
    mdm_ldap_msg_free(res);
    return 0;
}

static void walk_free(struct ad_walk *w)
{
    for (size_t i = 0; i < w->count; i++) {
        mdm_free(w->nodes[i].dn);
        mdm_free(w->nodes[i].norm);
    }
    mdm_free(w->nodes);
    mdm_free(w->table);
    memset(w, 0, sizeof(*w));
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/*
 * Adds dn (normalized as norm) to the walk unless it was seen before.
 * Returns 0 when added, 1 when already visited, MDM_ETOOBIG at the entry
 * cap, MDM_ENOMEM.
 */
static int walk_add(struct ad_walk *w, const char *dn, const char *norm, unsigned depth,
                    long parent)
{
    uint32_t slot = hash_str(norm) & (AD_WALK_TABLE_SIZE - 1);
    struct ad_walk_node *node;

    while (w->table[slot] != 0) {
        if (strcmp(w->nodes[w->table[slot] - 1].norm, norm) == 0)
            return 1;
        slot = (slot + 1) & (AD_WALK_TABLE_SIZE - 1);
    }
    if (w->count >= MDM_LDAP_EXPAND_MAX)
        return MDM_ETOOBIG;
    if (w->count == w->size) {
        size_t size = w->size == 0 ? 64 : w->size * 2;
        struct ad_walk_node *grown = mdm_realloc(w->nodes, size * sizeof(*grown));
        if (grown == NULL)
            return MDM_ENOMEM;
        w->nodes = grown;
        w->size = size;
    }
    node = &w->nodes[w->count];
    node->dn = mdm_strdup(dn);
    node->norm = mdm_strdup(norm);
    node->depth = depth;
    node->parent = parent;
    if (node->dn == NULL || node->norm == NULL) {
        mdm_free(node->dn);
        mdm_free(node->norm);
        return MDM_ENOMEM;
    }
    w->count++;
    w->table[slot] = (uint32_t)w->count;
    return 0;
}

/*
 * Writes the intermediate groups between the top group and node i (the group
 * that lists the computer) into via, outer first. A chain of more than two
 * is shortened to "first -> ... -> last (N nested groups)" so that the
 * group holding the computer always fits in a check's detail.
 */
static void walk_path(const struct ad_walk *w, long i, char *via, size_t size)
{
    long chain[MDM_LDAP_NEST_DEPTH_MAX + 1];
    size_t n = 0;

    via[0] = '\0';
    for (; i > 0 && n < sizeof(chain) / sizeof(chain[0]); i = w->nodes[i].parent)
        chain[n++] = i; /* innermost first */
    if (n == 1)
        snprintf(via, size, "%s", w->nodes[chain[0]].dn);
    else if (n == 2)
        snprintf(via, size, "%s -> %s", w->nodes[chain[1]].dn, w->nodes[chain[0]].dn);
    else if (n > 2)
        snprintf(via, size, "%s -> ... -> %s (%zu nested groups)", w->nodes[chain[n - 1]].dn,
                 w->nodes[chain[0]].dn, n);
}

/*
 * Reads node i of the walk. When it is a group (the top node always is),
 * compares each member with the computer (computer_norm, normalized) and
 * sets *found, or queues the members not seen before. A group at the depth
 * cap that still has members sets *deep; the entry cap sets *capped.
 */
static int walk_visit(struct ad_session *s, struct ad_walk *w, size_t i, const char *computer_norm,
                      bool *found, bool *capped, bool *deep, struct mdm_err *err)
{
    const char *attrs[] = {"objectClass", "member", NULL};
    char norm[AD_DN_MAX];
    char value[AD_DN_MAX];
    struct mdm_ldap_msg *res = NULL, *entry;
    struct mdm_ldap_values *vals = NULL;
    const char *v;
    size_t len;
    int rc;

    rc = ad_search(s, w->nodes[i].dn, MDM_LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, &res, err);
    if (rc == MDM_ENOTFOUND) {
        rc = 0; /* a member value that names a deleted entry */
        goto out;
    }
    if (rc != 0)
        goto out;
    entry = mdm_ldap_first_entry(s->ld, res);
    if (entry == NULL || (i > 0 && !ad_entry_is_group(s->ld, entry)))
        goto out;
    vals = mdm_ldap_get_values(s->ld, entry, "member");
    if (mdm_ldap_value(vals, 0, &v, &len) && w->nodes[i].depth >= MDM_LDAP_NEST_DEPTH_MAX) {
        *deep = true;
        goto out;
    }
    for (size_t k = 0; mdm_ldap_value(vals, k, &v, &len); k++) {
        if (len == 0 || len >= sizeof(value) || memchr(v, '\0', len) != NULL)
            continue;
        memcpy(value, v, len);
        value[len] = '\0';
        if (ad_dn_normalize(value, norm, sizeof(norm)) != 0)
            continue;
        if (strcmp(norm, computer_norm) == 0) {
            *found = true;
            goto out;
        }
        /* w->nodes may move here: node i is always re-read through w. */
        rc = walk_add(w, value, norm, w->nodes[i].depth + 1, (long)i);
        if (rc == MDM_ENOMEM) {
            rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
            goto out;
        }
        if (rc == MDM_ETOOBIG)
            *capped = true;
        rc = 0;
    }
out:
    mdm_ldap_values_free(vals);
    mdm_ldap_msg_free(res);
    return rc;
}

/*
 * Expands group_dn's member attribute breadth-first, looking for the
 * computer (computer_norm, normalized). On success *out is filled: a direct
 * or nested member with the path, or not a member. MDM_ETOOBIG when a cap
 * (depth, entries) stopped the expansion before the computer was found.
 */
static int expand_members(struct ad_session *s, const char *group_dn, const char *computer_norm,
                          struct ad_membership *out, struct mdm_err *err)
{
    struct ad_walk w;
    char norm[AD_DN_MAX];
    bool capped = false, deep = false;
    int rc;

    memset(&w, 0, sizeof(w));
    w.table = mdm_calloc(AD_WALK_TABLE_SIZE, sizeof(*w.table));
    if (w.table == NULL || ad_dn_normalize(group_dn, norm, sizeof(norm)) != 0 ||
        walk_add(&w, group_dn, norm, 0, -1) != 0) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < w.count; i++) {
        bool found = false;
        rc = walk_visit(s, &w, i, computer_norm, &found, &capped, &deep, err);
        if (rc != 0)
            goto out;
        if (found) {
            out->how = i == 0 ? AD_DIRECT : AD_NESTED;
            walk_path(&w, (long)i, out->via, sizeof(out->via));
            goto out;
        }
    }
    if (capped || deep) {
        rc = mdm_err_set(err, MDM_ETOOBIG,
                         "could not decide whether the computer is a member of %s: its nesting "
                         "has more than %u %s",
                         group_dn, capped ? MDM_LDAP_EXPAND_MAX : MDM_LDAP_NEST_DEPTH_MAX,
                         capped ? "entries" : "levels");
        goto out;
    }
    out->how = AD_NOT_MEMBER;
    out->via[0] = '\0';
    rc = 0;
out:
    walk_free(&w);
    return rc;
}

/* Decides whether computer_dn is a member of group_dn (see the top of ldap_check.c). */
int ad_check_membership(struct ad_session *s, const char *group_dn, const char *computer_dn,
                        struct ad_membership *out, struct mdm_err *err)
{
    char rule[64];
    char computer_norm[AD_DN_MAX];
    struct ad_membership walked;
    struct mdm_err chain_err;
    bool hit = false;
    int rc;

    memset(&walked, 0, sizeof(walked));
    if (ad_dn_normalize(computer_dn, computer_norm, sizeof(computer_norm)) != 0)
        return mdm_err_set(err, MDM_EINVAL, "computer-dn is longer than %u bytes", AD_DN_MAX);

    /* 1. A direct member: the server compares the DNs. */
    rc = match_one(s, group_dn, "member", computer_dn, &hit, err);
    if (rc != 0)
        return rc;
    if (hit) {
        out->how = AD_DIRECT;
        out->via[0] = '\0';
        return 0;
    }

    /* 2. Nested, by Active Directory's matching rule in chain. */
    snprintf(rule, sizeof(rule), "memberOf:%s:", AD_IN_CHAIN_RULE);
    mdm_err_clear(&chain_err);
    rc = match_one(s, computer_dn, rule, group_dn, &hit, &chain_err);
    if (rc != 0 && (rc == MDM_ENOMEM || rc == MDM_EINVAL || ad_is_connection_failure(s->last_lrc)))
        return mdm_err_set(err, rc, "%s", chain_err.msg);
    if (rc == 0 && hit) {
        /* Name the intermediate group when the expansion can; the answer stands anyway. */
        out->how = AD_NESTED;
        out->via[0] = '\0';
        if (expand_members(s, group_dn, computer_norm, &walked, NULL) == 0 &&
            walked.how == AD_NESTED)
            memcpy(out->via, walked.via, sizeof(out->via));
        return 0;
    }
    if (rc == 0 && ad_server_is_ad(s)) {
        out->how = AD_NOT_MEMBER;
        out->via[0] = '\0';
        return 0;
    }

    /* 3. The rule was rejected or is not trusted here: expand the group. */
    rc = expand_members(s, group_dn, computer_norm, &walked, err);
    if (rc != 0)
        return rc;
    *out = walked;
    return 0;
}

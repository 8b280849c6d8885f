/* config_snmp.c - checks the Net-SNMP lines of mdmhealth.conf (see config_snmp.h). */
#include "agent/config/config_snmp_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Splits value into words the way copy_nword() does: a word starting with a
 * double or single quote runs to the matching quote (spaces included), a
 * backslash makes the next character plain, other words end at white space.
 * Net-SNMP takes an unterminated quote silently to the end of the line; here
 * it is an error, since it is almost always a typing mistake in a secret.
 */
static int split_words(const char *name, const char *value, struct words *out, struct mdm_err *err)
{
    size_t len = strlen(value);
    const char *p = value;
    char *w;

    out->n = 0;
    out->buf = mdm_malloc(len + 1);
    if (out->buf == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    w = out->buf;
    while (isspace((unsigned char)*p))
        p++;
    while (*p != '\0') {
        char *start = w;
        if (out->n >= MDM_SNMP_WORDS_MAX)
            return mdm_err_set(err, MDM_EINVAL, "%s: more than %u words", name, MDM_SNMP_WORDS_MAX);
        if (*p == '"' || *p == '\'') {
            char quote = *p++;
            while (*p != quote && *p != '\0') {
                if (*p == '\\' && p[1] != '\0')
                    p++;
                *w++ = *p++;
            }
            if (*p == '\0')
                return mdm_err_set(err, MDM_EINVAL, "%s: a %s quote is not closed", name,
                                   quote == '"' ? "double" : "single");
            p++;
        } else {
            while (*p != '\0' && !isspace((unsigned char)*p)) {
                if (*p == '\\' && p[1] != '\0')
                    p++;
                *w++ = *p++;
            }
        }
        *w++ = '\0';
        if ((size_t)(w - start - 1) > MDM_SNMP_WORD_MAX)
            return mdm_err_set(err, MDM_EINVAL,
                               "%s: a word is longer than %u bytes (Net-SNMP would cut it)", name,
                               MDM_SNMP_WORD_MAX);
        out->w[out->n++] = start;
        while (isspace((unsigned char)*p))
            p++;
    }
    return 0;
}

bool cfg_snmp_is_one_of(const char *word, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (mdm_ascii_iequal(word, list[i]))
            return true;
    return false;
}
bool cfg_snmp_is_decimal(const char *s, unsigned long max)
{
    char *end;
    unsigned long v;

    if (s[0] < '0' || s[0] > '9')
        return false;
    v = strtoul(s, &end, 10);
    return *end == '\0' && v <= max;
}

/* A numeric OID: no MIB files are loaded, so names like "system" cannot be resolved. */
static bool is_numeric_oid(const char *s)
{
    bool digit = false;

    if (*s == '.')
        s++;
    for (; *s != '\0'; s++) {
        if (*s >= '0' && *s <= '9') {
            digit = true;
        } else if (*s == '.' && digit) {
            digit = false;
        } else {
            return false;
        }
    }
    return digit;
}

static const char *const levels[] = {"noauth",     "auth",     "priv", "noauthnopriv",
                                     "authnopriv", "authpriv", NULL};
static const char *const models[] = {"any", "v1", "v2c", "usm", "tsm", "ksm", NULL};
/* What may follow the security name: [OID | -V VIEW [CONTEXT]] (vacm_create_simple). */
static int check_view_tail(const char *name, const struct words *ws, size_t i, struct mdm_err *err)
{
    if (i >= ws->n)
        return 0;
    if (strcmp(ws->w[i], "-V") == 0) {
        if (i + 1 >= ws->n)
            return mdm_err_set(err, MDM_EINVAL, "%s: -V needs a view name", name);
        i += 2;
    } else {
        if (!is_numeric_oid(ws->w[i]))
            return mdm_err_set(err, MDM_EINVAL,
                               "%s: \"%s\" is not a numeric OID (no MIB files are loaded)", name,
                               ws->w[i]);
        i++;
    }
    if (i + 1 < ws->n)
        return mdm_err_set(err, MDM_EINVAL, "%s: unexpected \"%s\" after the context", name,
                           ws->w[i + 1]);
    return 0;
}

/* rouser [-s MODEL] USER [LEVEL [OID | -V VIEW [CONTEXT]]] */
static int check_rouser(const char *name, const struct words *ws, struct mdm_err *err)
{
    size_t i = 0;

    if (i < ws->n && strcmp(ws->w[i], "-s") == 0) {
        if (i + 1 >= ws->n || !cfg_snmp_is_one_of(ws->w[i + 1], models))
            return mdm_err_set(err, MDM_EINVAL, "%s: -s needs a security model (usm, tsm)", name);
        i += 2;
    }
    if (i >= ws->n || ws->w[i][0] == '-' || ws->w[i][0] == '\0')
        return mdm_err_set(err, MDM_EINVAL, "%s needs a user name: rouser USER [noauth|auth|priv]",
                           name);
    i++;
    if (i < ws->n && !cfg_snmp_is_one_of(ws->w[i], levels))
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: \"%s\" is not a security level (noauth, auth, priv)", name,
                           ws->w[i]);
    return check_view_tail(name, ws, i + 1, err);
}

/*
 * rwuser [-s MODEL] USER [LEVEL [OID | -V VIEW [CONTEXT]]]: write access,
 * which only mdmMonitorReset uses. SNMPv3 only, and never without
 * authentication: a reset is an operator's act, and an unauthenticated
 * write would let anyone on the network hide an open alert.
 */
static int check_rwuser(const char *name, const struct words *ws, struct mdm_err *err)
{
    size_t i = 0;
    int rc;

    if ((rc = check_rouser(name, ws, err)) != 0)
        return rc;
    if (i < ws->n && strcmp(ws->w[i], "-s") == 0)
        i += 2;
    i++; /* the user */
    if (i < ws->n &&
        (mdm_ascii_iequal(ws->w[i], "noauth") || mdm_ascii_iequal(ws->w[i], "noauthnopriv")))
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: write access needs authentication: use auth or priv, not \"%s\"",
                           name, ws->w[i]);
    return 0;
}

/* rocommunity [-v 1|2c] COMMUNITY [SOURCE [OID | -V VIEW [CONTEXT]]] */
static int check_rocommunity(const char *name, const struct words *ws, struct mdm_err *err)
{
    static const char *const versions[] = {"1", "v1", "2c", "v2c", NULL};
    size_t i = 0;

    if (i < ws->n && strcmp(ws->w[i], "-v") == 0) {
        if (i + 1 >= ws->n || !cfg_snmp_is_one_of(ws->w[i + 1], versions))
            return mdm_err_set(err, MDM_EINVAL, "%s: -v needs 1 or 2c", name);
        i += 2;
    }
    if (i >= ws->n || ws->w[i][0] == '\0')
        return mdm_err_set(err, MDM_EINVAL, "%s needs a community: rocommunity COMMUNITY [SOURCE]",
                           name);
    if (strlen(ws->w[i]) > 255)
        return mdm_err_set(err, MDM_EINVAL, "%s: the community is longer than 255 bytes", name);
    i++;
    if (i >= ws->n)
        return 0;
    return check_view_tail(name, ws, i + 1, err); /* after SOURCE */
}
/* com2sec [-Cn CONTEXT] SECNAME SOURCE COMMUNITY */
static int check_com2sec(const char *name, const struct words *ws, struct mdm_err *err)
{
    size_t i = 0;

    if (i < ws->n && strcmp(ws->w[i], "-Cn") == 0) {
        if (i + 1 >= ws->n)
            return mdm_err_set(err, MDM_EINVAL, "%s: -Cn needs a context name", name);
        i += 2;
    }
    if (ws->n - i != 3)
        return mdm_err_set(err, MDM_EINVAL, "%s needs [-Cn CONTEXT] SECNAME SOURCE COMMUNITY",
                           name);
    return 0;
}

/* group GROUP MODEL SECNAME */
static int check_group(const char *name, const struct words *ws, struct mdm_err *err)
{
    if (ws->n != 3)
        return mdm_err_set(err, MDM_EINVAL, "%s needs GROUP {v1|v2c|usm|tsm} SECNAME", name);
    if (!cfg_snmp_is_one_of(ws->w[1], models))
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: \"%s\" is not a security model (v1, v2c, usm, tsm)", name,
                           ws->w[1]);
    return 0;
}

/* view NAME included|excluded SUBTREE [MASK] */
static int check_view(const char *name, const struct words *ws, struct mdm_err *err)
{
    static const char *const types[] = {"included", "excluded", NULL};

    if (ws->n < 3 || ws->n > 4)
        return mdm_err_set(err, MDM_EINVAL, "%s needs NAME included|excluded SUBTREE [MASK]", name);
    if (!cfg_snmp_is_one_of(ws->w[1], types))
        return mdm_err_set(err, MDM_EINVAL, "%s: \"%s\" is neither included nor excluded", name,
                           ws->w[1]);
    if (!is_numeric_oid(ws->w[2]))
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: \"%s\" is not a numeric OID (no MIB files are loaded)", name,
                           ws->w[2]);
    return 0;
}

/* access GROUP CONTEXT MODEL LEVEL PREFX READ WRITE NOTIFY */
static int check_access(const char *name, const struct words *ws, struct mdm_err *err)
{
    static const char *const prefixes[] = {"exact", "prefix", NULL};

    if (ws->n != 8)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s needs GROUP CONTEXT MODEL LEVEL PREFX READ WRITE NOTIFY (8 words; "
                           "write \"\" for the default context)",
                           name);
    if (!cfg_snmp_is_one_of(ws->w[2], models))
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: \"%s\" is not a security model (any, v1, v2c, usm, tsm)", name,
                           ws->w[2]);
    if (!cfg_snmp_is_one_of(ws->w[3], levels))
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: \"%s\" is not a security level (noauth, auth, priv)", name,
                           ws->w[3]);
    if (!cfg_snmp_is_one_of(ws->w[4], prefixes))
        return mdm_err_set(err, MDM_EINVAL, "%s: \"%s\" is neither exact nor prefix", name,
                           ws->w[4]);
    /* Write access (mdmMonitorReset) is for authenticated SNMPv3 users only, as with rwuser. */
    if (strcmp(ws->w[6], "none") != 0 && strcmp(ws->w[6], "\"\"") != 0 &&
        (!(mdm_ascii_iequal(ws->w[2], "usm") || mdm_ascii_iequal(ws->w[2], "tsm")) ||
         mdm_ascii_iequal(ws->w[3], "noauth") || mdm_ascii_iequal(ws->w[3], "noauthnopriv")))
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: a write view (\"%s\") is for SNMPv3 (usm) with auth or priv only; "
                           "write none for %s %s",
                           name, ws->w[6], ws->w[2], ws->w[3]);
    return 0;
}
typedef int snmp_check_fn(const char *name, const struct words *ws, struct mdm_err *err);

/*
 * The Net-SNMP directives that mdmhealth.conf may carry (snmpd.conf(5),
 * snmptrapd.conf(5) and the USM/VACM/AgentX ones), the one list of them:
 * mdm_config_is_snmp_directive() answers from it and each line is checked as
 * its row says. Names match without regard to case, as Net-SNMP's do. A row
 * with neither a check, a number nor one word is passed on as it is.
 */
static const struct {
    const char *name;
    snmp_check_fn *check;     /* the syntax of the directive, or NULL */
    unsigned long number_max; /* > 0: the value is one whole number from 0 to this */
    bool one_word;            /* the value is one word */
} snmp_directives[] = {
    /* Notifications (notify.c registers its own handlers for these). */
    {"trapsink", cfg_snmp_check_trapsink, 0, false},
    {"trap2sink", cfg_snmp_check_sink, 0, false},
    {"informsink", cfg_snmp_check_sink, 0, false},
    {"trapsess", cfg_snmp_check_trapsess, 0, false},
    {"trapcommunity", NULL, 0, true},
    {"authtrapenable", NULL, 2, false},
    {"v1trapaddress", NULL, 0, false},
    {"informretries", NULL, 100, false},
    {"informtimeout", NULL, 3600, false},
    {"clientaddr", NULL, 0, false},
    /* Queries: addresses, USM and VACM access. */
    {"agentaddress", cfg_snmp_check_agentaddress, 0, false},
    {"rocommunity", check_rocommunity, 0, false},
    {"rocommunity6", check_rocommunity, 0, false},
    {"rouser", check_rouser, 0, false},
    {"rwuser", check_rwuser, 0, false},
    {"createUser", cfg_snmp_check_create_user, 0, false},
    {"com2sec", check_com2sec, 0, false},
    {"com2sec6", check_com2sec, 0, false},
    {"group", check_group, 0, false},
    {"view", check_view, 0, false},
    {"access", check_access, 0, false},
    {"authcommunity", NULL, 0, false},
    {"authuser", NULL, 0, false},
    {"authgroup", NULL, 0, false},
    {"maxGetbulkRepeats", NULL, 2147483647ul, false},
    {"maxGetbulkResponses", NULL, 2147483647ul, false},
    {"sourceFilterType", NULL, 0, false},
    {"sourceFilterAddress", NULL, 0, false},
    /* AgentX. */
    {"master", NULL, 0, true},
    {"agentXSocket", NULL, 0, true},
    {"agentXPerms", NULL, 0, false},
    {"agentXTimeout", NULL, 3600, false},
    {"agentXRetries", NULL, 100, false},
    {"agentXPingInterval", NULL, 86400, false},
    /* The engine, the system group, the library. */
    {"engineID", NULL, 0, false},
    {"engineIDType", NULL, 3, false},
    {"engineIDNic", NULL, 0, true},
    {"defaultMonitors", NULL, 0, false},
    {"sysLocation", NULL, 0, false},
    {"sysContact", NULL, 0, false},
    {"sysName", NULL, 0, false},
    {"sysDescr", NULL, 0, false},
    {"sysObjectID", NULL, 0, false},
    {"sysServices", NULL, 127, false},
    {"defContext", NULL, 0, false},
    {"defSecurityName", NULL, 0, false},
    {"defAuthType", NULL, 0, true},
    {"defPrivType", NULL, 0, true},
    {"defSecurityLevel", NULL, 0, true},
    {"defVersion", NULL, 0, true},
    {"defCommunity", NULL, 0, false},
    {"dontLogTCPWrappersConnects", NULL, 0, false},
    {"doDebugging", NULL, 1, false},
    {"debugTokens", NULL, 0, false},
    {"mibdirs", NULL, 0, false},
    {"mibs", NULL, 0, false},
    {"persistentDir", NULL, 0, true},
    {"noPersistentLoad", NULL, 0, false},
    {"noPersistentSave", NULL, 0, false},
    {"tsmUseTransportPrefix", NULL, 0, false},
    {"leave_pidfile", NULL, 0, false},
    {"snmpTlsPrivateKey", NULL, 0, false},
    {"snmpTlsCertificate", NULL, 0, false},
    {"trustCert", NULL, 0, false},
    {"certSecName", NULL, 0, false},
    {"localCert", NULL, 0, false},
    {"peerCert", NULL, 0, false},
};
#define SNMP_DIRECTIVE_COUNT (sizeof(snmp_directives) / sizeof(snmp_directives[0]))

/* The row of a Net-SNMP directive, or SNMP_DIRECTIVE_COUNT. */
static size_t snmp_directive_row(const char *name)
{
    for (size_t i = 0; i < SNMP_DIRECTIVE_COUNT; i++)
        if (mdm_ascii_iequal(name, snmp_directives[i].name))
            return i;
    return SNMP_DIRECTIVE_COUNT;
}

bool mdm_config_is_snmp_directive(const char *name)
{
    return snmp_directive_row(name) < SNMP_DIRECTIVE_COUNT;
}

int mdm_config_snmp_check_line(const char *name, const char *value, struct mdm_err *err)
{
    size_t row = snmp_directive_row(name);
    struct words ws;
    int rc;

    memset(&ws, 0, sizeof(ws));
    rc = split_words(name, value, &ws, err);
    if (rc != 0)
        goto out;
    if (ws.n == 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "%s needs a value", name);
        goto out;
    }
    if (row == SNMP_DIRECTIVE_COUNT)
        goto out; /* not one of ours to check: Net-SNMP says what it thinks */
    if (snmp_directives[row].check != NULL)
        rc = snmp_directives[row].check(name, &ws, err);
    else if (snmp_directives[row].number_max > 0 &&
             (ws.n != 1 || !cfg_snmp_is_decimal(ws.w[0], snmp_directives[row].number_max)))
        rc = mdm_err_set(err, MDM_EINVAL, "%s needs a whole number from 0 to %lu", name,
                         snmp_directives[row].number_max);
    else if (snmp_directives[row].one_word && ws.n != 1)
        rc = mdm_err_set(err, MDM_EINVAL, "%s takes one value, not %zu words", name, ws.n);
out:
    mdm_free(ws.buf);
    return rc;
}

/* config_snmp.c - checks the Net-SNMP lines of mdmhealth.conf (see config_snmp.h). */
#include "agent/config/config_snmp.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The words of one line, split as Net-SNMP's copy_nword() splits them. */
struct words {
    char *buf; /* every word, NUL-terminated, one after the other */
    const char *w[MDM_SNMP_WORDS_MAX];
    size_t n;
};

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

static bool is_one_of(const char *word, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (mdm_ascii_iequal(word, list[i]))
            return true;
    return false;
}

/*
 * The names Net-SNMP 5.9 knows, matched whole. (Net-SNMP itself matches any
 * prefix, so "S" would silently mean SHA-1: refused here.) The key length
 * is that of the hash, for `-l KEY`.
 */
static const struct {
    const char *name;
    unsigned key_len;
} auth_protocols[] = {
    {"MD5", 16},     {"SHA", 20},    {"SHA-1", 20},   {"SHA1", 20},
    {"SHA-224", 28}, {"SHA224", 28}, {"SHA-256", 32}, {"SHA256", 32},
    {"SHA-384", 48}, {"SHA384", 48}, {"SHA-512", 64}, {"SHA512", 64},
};
#define AUTH_NAMES "MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512"

static const char *const priv_protocols[] = {
    "DES",    "AES",       "AES-128", "AES128",    "AES-192", "AES192", "AES-256",
    "AES256", "AES-192-C", "AES192C", "AES-256-C", "AES256C", NULL,
};
#define PRIV_NAMES "DES, AES, AES-192 or AES-256"

/* The key length of an authentication protocol, or 0 when the name is not one. */
static unsigned auth_key_len(const char *word)
{
    for (size_t i = 0; i < sizeof(auth_protocols) / sizeof(auth_protocols[0]); i++)
        if (mdm_ascii_iequal(word, auth_protocols[i].name))
            return auth_protocols[i].key_len;
    return 0;
}

/* Number of octets of a hex string (optional 0x), or -1 when it is not one. */
static long hex_octets(const char *s)
{
    size_t n = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    for (; s[n] != '\0'; n++)
        if (!isxdigit((unsigned char)s[n]))
            return -1;
    if (n == 0 || n % 2 != 0)
        return -1;
    return (long)(n / 2);
}

/* An SnmpEngineID (RFC 3411): 5 to 32 octets, written in hex. */
static int check_engine_id(const char *name, const char *option, const char *s, struct mdm_err *err)
{
    long octets = hex_octets(s);

    if (octets < 5 || octets > 32)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: %s needs an engine ID of 5 to 32 octets in hex (e.g. "
                           "0x80001f8880...), not \"%s\"",
                           name, option, s);
    return 0;
}

static int check_passphrase(const char *name, const char *what, const char *s, struct mdm_err *err)
{
    if (strlen(s) < MDM_SNMP_PASSPHRASE_MIN)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: the %s pass phrase is shorter than %u characters (the USM "
                           "minimum)",
                           name, what, MDM_SNMP_PASSPHRASE_MIN);
    return 0;
}

static bool is_decimal(const char *s, unsigned long max)
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

/*
 * createUser [-M] [-e ENGINEID] NAME [AUTH (PASS | -m KEY | -l KEY)
 *            [PRIV [PASS | -m KEY | -l KEY]]]
 * as usm_create_usmUser_from_string() reads it.
 */
static int check_create_user(const char *name, const struct words *ws, struct mdm_err *err)
{
    size_t i = 0;
    unsigned key_len;
    const char *user, *auth, *priv;
    char label[64];

    if (i < ws->n && strcmp(ws->w[i], "-M") == 0)
        i++;
    if (i < ws->n && strcmp(ws->w[i], "-e") == 0) {
        if (i + 1 >= ws->n)
            return mdm_err_set(err, MDM_EINVAL, "%s: -e needs an engine ID", name);
        if (check_engine_id(name, "-e", ws->w[i + 1], err) != 0)
            return MDM_EINVAL;
        i += 2;
    }
    if (i >= ws->n)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s needs a user name: createUser [-e ENGINEID] NAME (%s) PASS "
                           "[(%s) [PASS]]",
                           name, AUTH_NAMES, PRIV_NAMES);
    user = ws->w[i++];
    if (user[0] == '-' || user[0] == '\0' || strlen(user) > 32)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: \"%s\" is not a user name (1 to 32 characters, not an option)",
                           name, user);
    snprintf(label, sizeof(label), "%s %s", name, user);
    if (i >= ws->n)
        return 0; /* a user without authentication (noAuthNoPriv), as Net-SNMP allows */
    auth = ws->w[i++];
    key_len = auth_key_len(auth);
    if (key_len == 0)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s %s: unknown authentication protocol \"%s\" (use %s)", name, user,
                           auth, AUTH_NAMES);
    if (i >= ws->n)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s %s: an authentication pass phrase is needed after %s", name, user,
                           auth);
    if (strcmp(ws->w[i], "-m") == 0 || strcmp(ws->w[i], "-l") == 0) {
        const char *opt = ws->w[i];
        long octets = i + 1 < ws->n ? hex_octets(ws->w[i + 1]) : -1;
        if (octets < 0)
            return mdm_err_set(err, MDM_EINVAL, "%s %s: %s needs a key in hex", name, user, opt);
        if (opt[1] == 'l' && (unsigned long)octets != key_len)
            return mdm_err_set(err, MDM_EINVAL,
                               "%s %s: a localized %s key (-l) is %u octets, not %ld", name, user,
                               auth, key_len, octets);
        i += 2;
    } else {
        /*
         * Net-SNMP 5.9 compares the text after the protocol with "default"
         * and, when it starts so, replaces the protocol named by the
         * default one: a pass phrase "default..." would silently downgrade
         * SHA-256 to the library default.
         */
        if (strncmp(ws->w[i], "default", 7) == 0)
            return mdm_err_set(err, MDM_EINVAL,
                               "%s %s: a pass phrase starting with \"default\" makes Net-SNMP "
                               "ignore %s; choose another",
                               name, user, auth);
        if (check_passphrase(label, "authentication", ws->w[i], err) != 0)
            return MDM_EINVAL;
        i++;
    }
    if (i >= ws->n)
        return 0; /* authNoPriv */
    priv = ws->w[i++];
    if (!is_one_of(priv, priv_protocols))
        return mdm_err_set(err, MDM_EINVAL, "%s %s: unknown privacy protocol \"%s\" (use %s)", name,
                           user, priv, PRIV_NAMES);
    if (i >= ws->n)
        return 0; /* the privacy key is the authentication key, as Net-SNMP does */
    if (strcmp(ws->w[i], "-m") == 0 || strcmp(ws->w[i], "-l") == 0) {
        if (i + 1 >= ws->n || hex_octets(ws->w[i + 1]) < 0)
            return mdm_err_set(err, MDM_EINVAL, "%s %s: %s needs a key in hex", name, user,
                               ws->w[i]);
        i += 2;
    } else {
        if (check_passphrase(label, "privacy", ws->w[i], err) != 0)
            return MDM_EINVAL;
        i++;
    }
    if (i < ws->n)
        return mdm_err_set(err, MDM_EINVAL, "%s %s: unexpected \"%s\" after the privacy key", name,
                           user, ws->w[i]);
    return 0;
}

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
        if (i + 1 >= ws->n || !is_one_of(ws->w[i + 1], models))
            return mdm_err_set(err, MDM_EINVAL, "%s: -s needs a security model (usm, tsm)", name);
        i += 2;
    }
    if (i >= ws->n || ws->w[i][0] == '-' || ws->w[i][0] == '\0')
        return mdm_err_set(err, MDM_EINVAL, "%s needs a user name: rouser USER [noauth|auth|priv]",
                           name);
    i++;
    if (i < ws->n && !is_one_of(ws->w[i], levels))
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
        if (i + 1 >= ws->n || !is_one_of(ws->w[i + 1], versions))
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

static int check_port(const char *name, const char *s, struct mdm_err *err)
{
    if (!is_decimal(s, 65535) || strtoul(s, NULL, 10) == 0)
        return mdm_err_set(err, MDM_EINVAL, "%s: \"%s\" is not a port (1-65535)", name, s);
    return 0;
}

/*
 * One transport address: [TRANSPORT:]ADDRESS[:PORT], ADDRESS[:PORT] or PORT.
 * Only what can be told without resolving: a known transport, a port in
 * range. (Whether the address can be bound is known when the agent starts.)
 */
static int check_address(const char *name, const char *addr, struct mdm_err *err)
{
    static const char *const transports[] = {
        "udp",     "tcp",  "udp6",    "tcp6",   "udpv6", "tcpv6", "udpipv6",
        "tcpipv6", "unix", "dtlsudp", "tlstcp", "ipx",   "ssh",   NULL,
    };
    const char *colon = strchr(addr, ':'), *last;
    char transport[16];

    if (addr[0] == '\0')
        return mdm_err_set(err, MDM_EINVAL, "%s: an empty address", name);
    if (colon != NULL && (size_t)(colon - addr) < sizeof(transport) && colon != addr &&
        isalpha((unsigned char)addr[0])) {
        memcpy(transport, addr, (size_t)(colon - addr));
        transport[colon - addr] = '\0';
        if (is_one_of(transport, transports)) {
            if (mdm_ascii_iequal(transport, "unix"))
                return colon[1] == '\0'
                           ? mdm_err_set(err, MDM_EINVAL, "%s: unix: needs a socket path", name)
                           : 0;
            addr = colon + 1;
            if (addr[0] == '\0')
                return mdm_err_set(err, MDM_EINVAL, "%s: %s: needs an address or port", name,
                                   transport);
        }
    }
    if (addr[0] == '[') { /* [IPv6]:PORT */
        const char *close = strchr(addr, ']');
        if (close == NULL)
            return mdm_err_set(err, MDM_EINVAL, "%s: \"%s\": no closing ]", name, addr);
        if (close[1] == '\0')
            return 0;
        if (close[1] != ':')
            return mdm_err_set(err, MDM_EINVAL, "%s: \"%s\": ':' expected after ]", name, addr);
        return check_port(name, close + 2, err);
    }
    if (addr[0] >= '0' && addr[0] <= '9' && strchr(addr, '.') == NULL && strchr(addr, ':') == NULL)
        return check_port(name, addr, err); /* a bare port */
    last = strrchr(addr, ':');
    if (last != NULL && strchr(addr, ':') == last) /* HOST:PORT (one colon: not IPv6) */
        return check_port(name, last + 1, err);
    return 0;
}

/* agentaddress ADDR[,ADDR...] */
static int check_agentaddress(const char *name, const struct words *ws, struct mdm_err *err)
{
    char item[MDM_SNMP_WORD_MAX + 1];

    if (ws->n != 1)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s needs one comma-separated list of addresses, e.g. "
                           "udp:127.0.0.1:161",
                           name);
    for (const char *p = ws->w[0];;) {
        size_t n = strcspn(p, ",");
        memcpy(item, p, n);
        item[n] = '\0';
        if (check_address(name, item, err) != 0)
            return MDM_EINVAL;
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}

/*
 * trapsess [OPTIONS] HOST[:PORT]: the snmpcmd options netsnmp_parse_args()
 * takes (option letters may be bundled, "-v3", and stand anywhere, as
 * getopt permutes), plus -C. Options that act on the whole process rather
 * than on the session are refused: -Y and --NAME=VALUE would inject other
 * configuration lines past this check, -L would move the log, -h/-H/-V print
 * help and end the parse.
 */
static int check_trapsess(const char *name, const struct words *ws, struct mdm_err *err)
{
    static const char with_arg[] = "YmMOIPDvrtcZeEnulxXaApT-3LsC";
    static const char without_arg[] = "d";
    static const char *const sec_levels[] = {"noAuthNoPriv", "1", "nanp", "authNoPriv", "2", "anp",
                                             "authPriv",     "3", "ap",   NULL};
    const char *host = NULL;

    for (size_t i = 0; i < ws->n; i++) {
        const char *word = ws->w[i];
        if (word[0] != '-' || word[1] == '\0') {
            if (host != NULL)
                return mdm_err_set(err, MDM_EINVAL,
                                   "%s: a second manager address \"%s\" (one per line)", name,
                                   word);
            host = word;
            continue;
        }
        if (strcmp(word, "--") == 0) { /* the end of the options: the rest are operands */
            for (size_t j = i + 1; j < ws->n; j++) {
                if (host != NULL)
                    return mdm_err_set(err, MDM_EINVAL,
                                       "%s: a second manager address \"%s\" (one per line)", name,
                                       ws->w[j]);
                host = ws->w[j];
            }
            break;
        }
        for (size_t k = 1; word[k] != '\0'; k++) {
            char opt = word[k];
            const char *arg;
            if (strchr(without_arg, opt) != NULL)
                continue;
            if (strchr("hHV", opt) != NULL || strchr(with_arg, opt) == NULL)
                return mdm_err_set(err, MDM_EINVAL, "%s: option -%c is not accepted here", name,
                                   opt);
            if (word[k + 1] != '\0') {
                arg = word + k + 1;
            } else if (i + 1 < ws->n) {
                arg = ws->w[++i];
            } else {
                return mdm_err_set(err, MDM_EINVAL, "%s: option -%c needs a value", name, opt);
            }
            switch (opt) {
            case 'Y':
            case '-':
            case 'L':
                return mdm_err_set(err, MDM_EINVAL,
                                   "%s: option -%c is not accepted in mdmhealth.conf (it changes "
                                   "more than this destination)",
                                   name, opt);
            case 'v':
                if (strcmp(arg, "1") == 0)
                    return mdm_err_set(err, MDM_EINVAL,
                                       "%s: SNMPv1 traps are not supported: use -v 2c or -v 3",
                                       name);
                if (!mdm_ascii_iequal(arg, "2c") && strcmp(arg, "3") != 0)
                    return mdm_err_set(err, MDM_EINVAL, "%s: -v needs 2c or 3, not \"%s\"", name,
                                       arg);
                break;
            case 'l':
                if (!is_one_of(arg, sec_levels))
                    return mdm_err_set(err, MDM_EINVAL,
                                       "%s: -l needs noAuthNoPriv, authNoPriv or authPriv, not "
                                       "\"%s\"",
                                       name, arg);
                break;
            case 'a':
                if (auth_key_len(arg) == 0)
                    return mdm_err_set(err, MDM_EINVAL,
                                       "%s: unknown authentication protocol \"%s\" (use %s)", name,
                                       arg, AUTH_NAMES);
                break;
            case 'x':
                if (!is_one_of(arg, priv_protocols))
                    return mdm_err_set(err, MDM_EINVAL,
                                       "%s: unknown privacy protocol \"%s\" (use %s)", name, arg,
                                       PRIV_NAMES);
                break;
            case 'A':
            case 'X':
                if (check_passphrase(name, opt == 'A' ? "authentication" : "privacy", arg, err) !=
                    0)
                    return MDM_EINVAL;
                break;
            case 'e':
            case 'E':
                if (check_engine_id(name, opt == 'e' ? "-e" : "-E", arg, err) != 0)
                    return MDM_EINVAL;
                break;
            case 't': {
                char *end;
                double t = strtod(arg, &end);
                if (end == arg || *end != '\0' || !(t > 0 && t <= 3600))
                    return mdm_err_set(err, MDM_EINVAL,
                                       "%s: -t needs a timeout in seconds (above 0, at most "
                                       "3600)",
                                       name);
                break;
            }
            case 'r':
                if (!is_decimal(arg, 100))
                    return mdm_err_set(err, MDM_EINVAL, "%s: -r needs a retry count (0-100)", name);
                break;
            case 'C':
                if (strcmp(arg, "i") != 0)
                    return mdm_err_set(err, MDM_EINVAL,
                                       "%s: unknown argument to -C (only -Ci, send informs, is "
                                       "known)",
                                       name);
                break;
            case 'c':
            case 'u':
                if (arg[0] == '\0')
                    return mdm_err_set(err, MDM_EINVAL, "%s: -%c needs a value", name, opt);
                break;
            default:
                break;
            }
            break; /* the rest of the word was the value */
        }
    }
    if (host == NULL)
        return mdm_err_set(err, MDM_EINVAL, "%s: no manager address", name);
    return check_address(name, host, err);
}

/* trap2sink / informsink HOST[:PORT] [COMMUNITY [PORT]] */
static int check_sink(const char *name, const struct words *ws, struct mdm_err *err)
{
    if (ws->n < 1 || ws->n > 3)
        return mdm_err_set(err, MDM_EINVAL, "%s needs HOST[:PORT] [COMMUNITY [PORT]]", name);
    if (ws->w[0][0] == '-')
        return mdm_err_set(err, MDM_EINVAL, "%s takes no options (use trapsess for those): \"%s\"",
                           name, ws->w[0]);
    if (check_address(name, ws->w[0], err) != 0)
        return MDM_EINVAL;
    if (ws->n == 3)
        return check_port(name, ws->w[2], err);
    return 0;
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
    if (!is_one_of(ws->w[1], models))
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
    if (!is_one_of(ws->w[1], types))
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
    if (!is_one_of(ws->w[2], models))
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: \"%s\" is not a security model (any, v1, v2c, usm, tsm)", name,
                           ws->w[2]);
    if (!is_one_of(ws->w[3], levels))
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: \"%s\" is not a security level (noauth, auth, priv)", name,
                           ws->w[3]);
    if (!is_one_of(ws->w[4], prefixes))
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

static int check_trapsink(const char *name, const struct words *ws, struct mdm_err *err)
{
    (void)name;
    (void)ws;
    return mdm_err_set(err, MDM_EINVAL,
                       "trapsink (SNMPv1) is not supported: use trap2sink, informsink or "
                       "trapsess");
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
    {"trapsink", check_trapsink, 0, false},
    {"trap2sink", check_sink, 0, false},
    {"informsink", check_sink, 0, false},
    {"trapsess", check_trapsess, 0, false},
    {"trapcommunity", NULL, 0, true},
    {"authtrapenable", NULL, 2, false},
    {"v1trapaddress", NULL, 0, false},
    {"informretries", NULL, 100, false},
    {"informtimeout", NULL, 3600, false},
    {"clientaddr", NULL, 0, false},
    /* Queries: addresses, USM and VACM access. */
    {"agentaddress", check_agentaddress, 0, false},
    {"rocommunity", check_rocommunity, 0, false},
    {"rocommunity6", check_rocommunity, 0, false},
    {"rouser", check_rouser, 0, false},
    {"rwuser", check_rwuser, 0, false},
    {"createUser", check_create_user, 0, false},
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
             (ws.n != 1 || !is_decimal(ws.w[0], snmp_directives[row].number_max)))
        rc = mdm_err_set(err, MDM_EINVAL, "%s needs a whole number from 0 to %lu", name,
                         snmp_directives[row].number_max);
    else if (snmp_directives[row].one_word && ws.n != 1)
        rc = mdm_err_set(err, MDM_EINVAL, "%s takes one value, not %zu words", name, ws.n);
out:
    mdm_free(ws.buf);
    return rc;
}

/*
 * config_snmp_usm.c - checks the USM lines of mdmhealth.conf (createUser) and
 * the USM parts other lines share: authentication and privacy protocols,
 * engine IDs, pass phrases.
 */
#include "agent/config/config_snmp_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char *const cfg_snmp_priv_protocols[] = {
    "DES",    "AES",       "AES-128", "AES128",    "AES-192", "AES192", "AES-256",
    "AES256", "AES-192-C", "AES192C", "AES-256-C", "AES256C", NULL,
};

/* The key length of an authentication protocol, or 0 when the name is not one. */
unsigned cfg_snmp_auth_key_len(const char *word)
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
int cfg_snmp_check_engine_id(const char *name, const char *option, const char *s,
                             struct mdm_err *err)
{
    long octets = hex_octets(s);

    if (octets < 5 || octets > 32)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: %s needs an engine ID of 5 to 32 octets in hex (e.g. "
                           "0x80001f8880...), not \"%s\"",
                           name, option, s);
    return 0;
}

int cfg_snmp_check_passphrase(const char *name, const char *what, const char *s,
                              struct mdm_err *err)
{
    if (strlen(s) < MDM_SNMP_PASSPHRASE_MIN)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s: the %s pass phrase is shorter than %u characters (the USM "
                           "minimum)",
                           name, what, MDM_SNMP_PASSPHRASE_MIN);
    return 0;
}
/*
 * createUser [-M] [-e ENGINEID] NAME [AUTH (PASS | -m KEY | -l KEY)
 *            [PRIV [PASS | -m KEY | -l KEY]]]
 * as usm_create_usmUser_from_string() reads it.
 */
int cfg_snmp_check_create_user(const char *name, const struct words *ws, struct mdm_err *err)
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
        if (cfg_snmp_check_engine_id(name, "-e", ws->w[i + 1], err) != 0)
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
    key_len = cfg_snmp_auth_key_len(auth);
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
        if (cfg_snmp_check_passphrase(label, "authentication", ws->w[i], err) != 0)
            return MDM_EINVAL;
        i++;
    }
    if (i >= ws->n)
        return 0; /* authNoPriv */
    priv = ws->w[i++];
    if (!cfg_snmp_is_one_of(priv, cfg_snmp_priv_protocols))
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
        if (cfg_snmp_check_passphrase(label, "privacy", ws->w[i], err) != 0)
            return MDM_EINVAL;
        i++;
    }
    if (i < ws->n)
        return mdm_err_set(err, MDM_EINVAL, "%s %s: unexpected \"%s\" after the privacy key", name,
                           user, ws->w[i]);
    return 0;
}

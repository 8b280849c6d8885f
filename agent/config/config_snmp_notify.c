/*
 * config_snmp_notify.c - checks the transport and notification lines of
 * mdmhealth.conf: agentaddress, trapsess, trap2sink/informsink, trapsink.
 */
#include "agent/config/config_snmp_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_port(const char *name, const char *s, struct mdm_err *err)
{
    if (!cfg_snmp_is_decimal(s, 65535) || strtoul(s, NULL, 10) == 0)
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
        if (cfg_snmp_is_one_of(transport, transports)) {
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
int cfg_snmp_check_agentaddress(const char *name, const struct words *ws, struct mdm_err *err)
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
int cfg_snmp_check_trapsess(const char *name, const struct words *ws, struct mdm_err *err)
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
                if (!cfg_snmp_is_one_of(arg, sec_levels))
                    return mdm_err_set(err, MDM_EINVAL,
                                       "%s: -l needs noAuthNoPriv, authNoPriv or authPriv, not "
                                       "\"%s\"",
                                       name, arg);
                break;
            case 'a':
                if (cfg_snmp_auth_key_len(arg) == 0)
                    return mdm_err_set(err, MDM_EINVAL,
                                       "%s: unknown authentication protocol \"%s\" (use %s)", name,
                                       arg, AUTH_NAMES);
                break;
            case 'x':
                if (!cfg_snmp_is_one_of(arg, cfg_snmp_priv_protocols))
                    return mdm_err_set(err, MDM_EINVAL,
                                       "%s: unknown privacy protocol \"%s\" (use %s)", name, arg,
                                       PRIV_NAMES);
                break;
            case 'A':
            case 'X':
                if (cfg_snmp_check_passphrase(name, opt == 'A' ? "authentication" : "privacy", arg,
                                              err) != 0)
                    return MDM_EINVAL;
                break;
            case 'e':
            case 'E':
                if (cfg_snmp_check_engine_id(name, opt == 'e' ? "-e" : "-E", arg, err) != 0)
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
                if (!cfg_snmp_is_decimal(arg, 100))
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
int cfg_snmp_check_sink(const char *name, const struct words *ws, struct mdm_err *err)
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
int cfg_snmp_check_trapsink(const char *name, const struct words *ws, struct mdm_err *err)
{
    (void)name;
    (void)ws;
    return mdm_err_set(err, MDM_EINVAL,
                       "trapsink (SNMPv1) is not supported: use trap2sink, informsink or "
                       "trapsess");
}

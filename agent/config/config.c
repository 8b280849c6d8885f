/* config.c - reads mdmhealth.conf (see config.h). */
#include "agent/config/config.h"

#include "agent/config/config_snmp.h"
#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"
#include "agent/common/mdm_text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mdm_config *mdm_config_new(void)
{
    struct mdm_config *cfg = mdm_calloc(1, sizeof(*cfg));

    if (cfg == NULL)
        return NULL;
    cfg->channel = mdm_strdup(MDM_DEFAULT_CHANNEL);
    cfg->ad_group = mdm_strdup(MDM_DEFAULT_AD_GROUP);
    cfg->state_dir = mdm_strdup(mdm_fs_default_state_dir());
    cfg->enrollment_ports[0] = MDM_DEFAULT_ENROLLMENT_PORT;
    cfg->enrollment_ports[1] = MDM_DEFAULT_DM_ADMIN_PORT;
    cfg->notify_backoff_max = MDM_NOTIFY_BACKOFF_MAX_DEFAULT;
    if (cfg->channel == NULL || cfg->ad_group == NULL || cfg->state_dir == NULL) {
        mdm_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void mdm_config_free(struct mdm_config *cfg)
{
    if (cfg == NULL)
        return;
    mdm_free(cfg->path);
    for (size_t i = 0; i < cfg->pack_count; i++)
        mdm_free(cfg->pack_paths[i]);
    mdm_free(cfg->pack_paths);
    mdm_free(cfg->channel);
    mdm_free(cfg->source_path);
    for (size_t i = 0; i < cfg->target_count; i++)
        mdm_free(cfg->targets[i]);
    mdm_free(cfg->targets);
    mdm_free(cfg->state_dir);
    mdm_free(cfg->enrollment_server);
    mdm_free(cfg->enrollment_address);
    mdm_free(cfg->dm_server);
    mdm_free(cfg->diag_skip);
    mdm_free(cfg->ad_group);
    mdm_free(cfg->ldap_uri);
    mdm_free(cfg->ldap_base);
    mdm_free(cfg->computer_dn);
    mdm_free(cfg->ldap_bind_dn);
    mdm_free(cfg->ldap_password_file);
    for (size_t i = 0; i < cfg->snmp_line_count; i++) {
        mdm_free(cfg->snmp_lines[i].directive);
        mdm_free(cfg->snmp_lines[i].value);
    }
    mdm_free(cfg->snmp_lines);
    mdm_free(cfg);
}

static bool is_absolute(const char *path)
{
    return path[0] == '/' || path[0] == '\\' || (isalpha((unsigned char)path[0]) && path[1] == ':');
}

/* Returns path resolved against base_dir as a new string (caller frees), or NULL. */
static char *resolve_path(const char *base_dir, const char *path)
{
    size_t len;
    char *out;

    if (base_dir == NULL || base_dir[0] == '\0' || is_absolute(path))
        return mdm_strdup(path);
    len = strlen(base_dir) + 1 + strlen(path) + 1;
    out = mdm_malloc(len);
    if (out != NULL)
        snprintf(out, len, "%s/%s", base_dir, path);
    return out;
}

/* Replaces *slot with a copy of value. */
static int set_string(char **slot, const char *value)
{
    char *copy = mdm_strdup(value);

    if (copy == NULL)
        return MDM_ENOMEM;
    mdm_free(*slot);
    *slot = copy;
    return 0;
}

/* Replaces *slot with a copy of value, which must look like a distinguished name. */
static int set_dn(char **slot, const char *name, const char *value, struct mdm_err *err)
{
    if (value[0] == '\0' || strchr(value, '=') == NULL)
        return mdm_err_set(err, MDM_EINVAL,
                           "%s needs a distinguished name, e.g. \"DC=contoso,DC=com\"", name);
    if (strlen(value) > MDM_CONFIG_DN_MAX)
        return mdm_err_set(err, MDM_EINVAL, "%s is longer than %u bytes", name, MDM_CONFIG_DN_MAX);
    return set_string(slot, value);
}

static int parse_port(const char *s, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (end == s || *end != '\0' || v == 0 || v > 65535 || s[0] == '-' || s[0] == '+')
        return MDM_EINVAL;
    *out = (unsigned)v;
    return 0;
}

/*
 * The lower bound of diag-interval: MDM_DIAG_INTERVAL_MIN, or the test hook's
 * value (config.h). A hook that lowers the bound of the real directive is
 * preferred over one that replaces the interval in milliseconds: the tests
 * then go through the same parsing, unit and scheduling as production.
 */
static unsigned long diag_interval_min(void)
{
    const char *hook = getenv(MDM_DIAG_INTERVAL_MIN_ENV);
    unsigned long v;
    char *end;

    if (hook == NULL || hook[0] < '0' || hook[0] > '9')
        return MDM_DIAG_INTERVAL_MIN;
    v = strtoul(hook, &end, 10);
    if (*end != '\0' || v < 1 || v > MDM_DIAG_INTERVAL_MIN)
        return MDM_DIAG_INTERVAL_MIN;
    return v;
}

/*
 * `pack` is repeatable: the packs are loaded together as one set (an
 * override pack next to the packs it changes). Takes ownership of path.
 */
static int add_pack_path(struct mdm_config *cfg, char *path, struct mdm_err *err)
{
    char **grown;

    for (size_t i = 0; i < cfg->pack_count; i++)
        if (strcmp(cfg->pack_paths[i], path) == 0) {
            mdm_free(path);
            return mdm_err_set(err, MDM_EINVAL, "pack %s is listed twice", cfg->pack_paths[i]);
        }
    if (cfg->pack_count >= MDM_CONFIG_PACKS_MAX) {
        mdm_free(path);
        return mdm_err_set(err, MDM_EINVAL, "at most %d pack lines", MDM_CONFIG_PACKS_MAX);
    }
    grown = mdm_realloc(cfg->pack_paths, (cfg->pack_count + 1) * sizeof(*grown));
    if (grown == NULL) {
        mdm_free(path);
        return MDM_ENOMEM;
    }
    cfg->pack_paths = grown;
    cfg->pack_paths[cfg->pack_count++] = path;
    return 0;
}

/*
 * The handlers of our directives, one per table row below. Each gets the
 * directive's name (for its messages), the rest of the line and the
 * configuration file's directory.
 */
#define DIRECTIVE_HANDLER(fn)                                                                      \
    static int fn(struct mdm_config *cfg, const char *name, const char *value,                     \
                  const char *base_dir, struct mdm_err *err)

/* Parses yes or no. */
DIRECTIVE_HANDLER(set_pack_strict)
{
    (void)base_dir;
    if (strcmp(value, "yes") == 0)
        cfg->pack_strict = true;
    else if (strcmp(value, "no") == 0)
        cfg->pack_strict = false;
    else
        return mdm_err_set(err, MDM_EINVAL, "%s must be yes or no", name);
    return 0;
}

/* Returns value resolved against base_dir in *out (caller frees); value must not be empty. */
static int path_value(const char *name, const char *value, const char *base_dir, char **out,
                      struct mdm_err *err)
{
    if (value[0] == '\0')
        return mdm_err_set(err, MDM_EINVAL, "%s needs a path", name);
    *out = resolve_path(base_dir, value);
    return *out == NULL ? MDM_ENOMEM : 0;
}

DIRECTIVE_HANDLER(set_pack)
{
    char *path = NULL;
    int rc = path_value(name, value, base_dir, &path, err);

    return rc != 0 ? rc : add_pack_path(cfg, path, err);
}

/* Replaces *slot with value resolved against base_dir. */
static int set_path(char **slot, const char *name, const char *value, const char *base_dir,
                    struct mdm_err *err)
{
    char *path = NULL;
    int rc = path_value(name, value, base_dir, &path, err);

    if (rc != 0)
        return rc;
    mdm_free(*slot);
    *slot = path;
    return 0;
}

DIRECTIVE_HANDLER(set_state_dir)
{
    return set_path(&cfg->state_dir, name, value, base_dir, err);
}

DIRECTIVE_HANDLER(set_ldap_password_file)
{
    return set_path(&cfg->ldap_password_file, name, value, base_dir, err);
}

DIRECTIVE_HANDLER(set_channel)
{
    (void)base_dir;
    if (value[0] == '\0')
        return mdm_err_set(err, MDM_EINVAL, "%s needs a channel name", name);
    return set_string(&cfg->channel, value);
}

DIRECTIVE_HANDLER(set_source)
{
    char kind[32];
    const char *path = value;
    size_t n = 0;
    char *resolved;

    (void)name;
    while (*path != '\0' && !isspace((unsigned char)*path) && n < sizeof(kind) - 1)
        kind[n++] = *path++;
    kind[n] = '\0';
    while (isspace((unsigned char)*path))
        path++;
    if (mdm_source_kind_parse(kind, &cfg->source_kind) != 0)
        return mdm_err_set(err, MDM_EINVAL,
                           "source kind \"%s\" is not one of evtx, xml, xml-follow", kind);
    if (*path == '\0')
        return mdm_err_set(err, MDM_EINVAL, "source %s needs a file name", kind);
    resolved = strcmp(path, "-") == 0 ? mdm_strdup(path) : resolve_path(base_dir, path);
    if (resolved == NULL)
        return MDM_ENOMEM;
    mdm_free(cfg->source_path);
    cfg->source_path = resolved;
    cfg->has_source = true;
    return 0;
}

DIRECTIVE_HANDLER(set_target)
{
    char **grown;

    (void)name;
    (void)base_dir;
    if (value[0] == '\0' || strchr(value, ' ') != NULL)
        return mdm_err_set(err, MDM_EINVAL, "target needs one computer name");
    if (cfg->target_count >= MDM_CONFIG_TARGETS_MAX)
        return mdm_err_set(err, MDM_EINVAL, "more than %u target lines", MDM_CONFIG_TARGETS_MAX);
    for (size_t i = 0; i < cfg->target_count; i++)
        if (mdm_ascii_iequal(cfg->targets[i], value))
            return mdm_err_set(err, MDM_EINVAL, "target %s is listed twice", value);
    grown = mdm_realloc(cfg->targets, (cfg->target_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return MDM_ENOMEM;
    cfg->targets = grown;
    cfg->targets[cfg->target_count] = mdm_strdup(value);
    if (cfg->targets[cfg->target_count] == NULL)
        return MDM_ENOMEM;
    cfg->target_count++;
    return 0;
}

/* NAME [ADDRESS]: the address lets the diagnoser ping by IP when DNS fails. */
DIRECTIVE_HANDLER(set_enrollment_server)
{
    char host[256], addr[64], extra[2];
    int n = sscanf(value, "%255s %63s %1s", host, addr, extra);

    (void)name;
    (void)base_dir;
    if (n < 1 || n > 2)
        return mdm_err_set(err, MDM_EINVAL,
                           "enrollment-server needs a host name and optionally its IP "
                           "address");
    if (n == 2 && (strchr(addr, '.') == NULL && strchr(addr, ':') == NULL))
        return mdm_err_set(err, MDM_EINVAL, "enrollment-server: \"%s\" is not an IP address", addr);
    if (set_string(&cfg->enrollment_server, host) != 0)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    if (n == 2)
        return set_string(&cfg->enrollment_address, addr);
    mdm_free(cfg->enrollment_address);
    cfg->enrollment_address = NULL;
    return 0;
}

/* Check names (MDM_DIAG_CHECKS); unknown names are refused so that a typo is not silent. */
DIRECTIVE_HANDLER(set_diag_skip)
{
    char word[64];
    const char *p = value;
    int used;

    (void)base_dir;
    while (sscanf(p, "%63s%n", word, &used) == 1) {
        if (!mdm_diag_check_name_known(word))
            return mdm_err_set(err, MDM_EINVAL, "%s: unknown check \"%s\"", name, word);
        p += used;
    }
    return set_string(&cfg->diag_skip, value);
}

DIRECTIVE_HANDLER(set_diag_interval)
{
    unsigned long v, min = diag_interval_min();
    char *end;

    (void)name;
    (void)base_dir;
    v = strtoul(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || end == value || *end != '\0' ||
        (v != 0 && (v < min || v > MDM_DIAG_INTERVAL_MAX)))
        return mdm_err_set(err, MDM_EINVAL,
                           "diag-interval needs 0 (off) or a number of seconds from %lu to %u", min,
                           MDM_DIAG_INTERVAL_MAX);
    cfg->diag_interval = (unsigned)v;
    return 0;
}

DIRECTIVE_HANDLER(set_notification_backoff_max)
{
    unsigned long v;
    char *end;

    (void)name;
    (void)base_dir;
    v = strtoul(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || end == value || *end != '\0' ||
        v < MDM_NOTIFY_BACKOFF_MAX_MIN || v > MDM_NOTIFY_BACKOFF_MAX_MAX)
        return mdm_err_set(err, MDM_EINVAL,
                           "notification-backoff-max needs a number of seconds from %u to %u",
                           MDM_NOTIFY_BACKOFF_MAX_MIN, MDM_NOTIFY_BACKOFF_MAX_MAX);
    cfg->notify_backoff_max = (unsigned)v;
    return 0;
}

DIRECTIVE_HANDLER(set_dm_server)
{
    (void)name;
    (void)base_dir;
    if (value[0] == '\0' || strchr(value, ' ') != NULL)
        return mdm_err_set(err, MDM_EINVAL, "dm-server needs one host name or address");
    return set_string(&cfg->dm_server, value);
}

DIRECTIVE_HANDLER(set_enrollment_ports)
{
    char a[16], b[16], extra[2];
    unsigned pa, pb;
    int n = sscanf(value, "%15s %15s %1s", a, b, extra);

    (void)name;
    (void)base_dir;
    if (n != 2 || parse_port(a, &pa) != 0 || parse_port(b, &pb) != 0)
        return mdm_err_set(err, MDM_EINVAL,
                           "enrollment-ports needs two TCP ports (Enrollment Server admin "
                           "port, DM server admin port), e.g. \"8445 8446\"");
    cfg->enrollment_ports[0] = pa;
    cfg->enrollment_ports[1] = pb;
    return 0;
}

DIRECTIVE_HANDLER(set_ad_group)
{
    (void)name;
    (void)base_dir;
    if (value[0] == '\0')
        return mdm_err_set(err, MDM_EINVAL, "ad-group needs a group common name");
    return set_string(&cfg->ad_group, value);
}

DIRECTIVE_HANDLER(set_ldap_uri)
{
    (void)name;
    (void)base_dir;
    if (strncmp(value, "ldap://", 7) != 0 && strncmp(value, "ldaps://", 8) != 0 &&
        strncmp(value, "ldapi://", 8) != 0)
        return mdm_err_set(err, MDM_EINVAL,
                           "ldap-uri must start with ldap://, ldaps:// or ldapi://");
    return set_string(&cfg->ldap_uri, value);
}

DIRECTIVE_HANDLER(set_ldap_base)
{
    (void)base_dir;
    return set_dn(&cfg->ldap_base, name, value, err);
}

DIRECTIVE_HANDLER(set_computer_dn)
{
    (void)base_dir;
    return set_dn(&cfg->computer_dn, name, value, err);
}

DIRECTIVE_HANDLER(set_ldap_bind_dn)
{
    (void)base_dir;
    return set_dn(&cfg->ldap_bind_dn, name, value, err);
}

/*
 * mdmhealth's own directives, the one table of them: X(name, argument shape,
 * repeatable, the part that consumes the value, handler, one-line help). The
 * parser, `mdmhealth check --directives`, the SNMP layer's list of names it
 * leaves to us, and the test that compares docs/configuration.md with this
 * table all read it. A directive that is not repeatable takes the value of
 * its last line, except `source` (a second line is an error).
 */
#define MDM_CONFIG_DIRECTIVES(X)                                                                   \
    X("pack", "FILE", true, "packs", set_pack,                                                     \
      "a management pack; the lines are loaded as one set")                                        \
    X("pack-strict", "yes|no", false, "packs", set_pack_strict,                                    \
      "a skipped monitor is an error (as --strict)")                                               \
    X("channel", "NAME", false, "source", set_channel, "the Windows event log channel")            \
    X("source", "evtx|xml|xml-follow PATH", false, "source", set_source,                           \
      "a portable event source instead of the channel")                                            \
    X("target", "COMPUTER", true, "source", set_target, "an extra computer to monitor")            \
    X("state-dir", "DIR", false, "state", set_state_dir,                                           \
      "directory of the monitor state and bookmark")                                               \
    X("enrollment-server", "FQDN [ADDRESS]", false, "diag", set_enrollment_server,                 \
      "the Enrollment Server, for the diagnoser")                                                  \
    X("diag-skip", "CHECK...", false, "diag", set_diag_skip, "checks the diagnoser does not run")  \
    X("diag-interval", "SECONDS", false, "diag", set_diag_interval,                                \
      "re-diagnosis period while a row is in error (0: off)")                                      \
    X("notification-backoff-max", "SECONDS", false, "snmp", set_notification_backoff_max,          \
      "longest wait between two delivery attempts")                                                \
    X("dm-server", "HOST", false, "diag", set_dm_server,                                           \
      "this DM server's admin host, for https-dm-admin")                                           \
    X("enrollment-ports", "PORT PORT", false, "diag", set_enrollment_ports,                        \
      "Enrollment Server and DM server admin ports")                                               \
    X("ad-group", "NAME", false, "diag", set_ad_group, "AD group DM servers must belong to")       \
    X("ldap-uri", "URI", false, "diag", set_ldap_uri, "URI of a domain controller")                \
    X("ldap-base", "DN", false, "diag", set_ldap_base, "search base for the ad-group group")       \
    X("computer-dn", "DN", false, "diag", set_computer_dn, "this DM server's computer account")    \
    X("ldap-bind-dn", "DN", false, "diag", set_ldap_bind_dn, "account to bind as (simple bind)")   \
    X("ldap-password-file", "FILE", false, "diag", set_ldap_password_file,                         \
      "file holding the password of ldap-bind-dn")

#define DIRECTIVE_INFO(name, args, repeatable, part, handler, help)                                \
    {name, args, repeatable, part, help},
const struct mdm_config_directive_info mdm_config_directives[] = {
    MDM_CONFIG_DIRECTIVES(DIRECTIVE_INFO)};
#undef DIRECTIVE_INFO
const size_t mdm_config_directive_count =
    sizeof(mdm_config_directives) / sizeof(mdm_config_directives[0]);

typedef int (*directive_fn)(struct mdm_config *cfg, const char *name, const char *value,
                            const char *base_dir, struct mdm_err *err);

/* The handlers, in the order of mdm_config_directives. */
#define DIRECTIVE_FN(name, args, repeatable, part, handler, help) handler,
static const directive_fn directive_handlers[] = {MDM_CONFIG_DIRECTIVES(DIRECTIVE_FN)};
#undef DIRECTIVE_FN

const struct mdm_config_directive_info *mdm_config_directive_find(const char *name)
{
    for (size_t i = 0; i < mdm_config_directive_count; i++)
        if (strcmp(mdm_config_directives[i].name, name) == 0)
            return &mdm_config_directives[i];
    return NULL;
}

int mdm_config_directive(struct mdm_config *cfg, const char *name, const char *value,
                         const char *base_dir, struct mdm_err *err)
{
    const struct mdm_config_directive_info *d = mdm_config_directive_find(name);

    if (d == NULL)
        return MDM_ENOTFOUND;
    return directive_handlers[d - mdm_config_directives](cfg, name, value, base_dir, err);
}

static int keep_snmp_line(struct mdm_config *cfg, const char *name, const char *value,
                          unsigned line)
{
    struct mdm_config_snmp_line *grown;
    struct mdm_config_snmp_line *l;

    if (cfg->snmp_line_count >= MDM_CONFIG_SNMP_LINES_MAX)
        return MDM_ETOOBIG;
    grown = mdm_realloc(cfg->snmp_lines, (cfg->snmp_line_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return MDM_ENOMEM;
    cfg->snmp_lines = grown;
    l = &cfg->snmp_lines[cfg->snmp_line_count];
    l->directive = mdm_strdup(name);
    l->value = mdm_strdup(value);
    l->line = line;
    if (l->directive == NULL || l->value == NULL) {
        mdm_free(l->directive);
        mdm_free(l->value);
        return MDM_ENOMEM;
    }
    cfg->snmp_line_count++;
    return 0;
}

int mdm_config_load(const char *path, struct mdm_config **out, struct mdm_err *err)
{
    struct mdm_config *cfg = NULL;
    char *data = NULL, *line, *next;
    char *base_dir = NULL;
    const char *slash;
    size_t len, lineno = 0;
    int rc;

    rc = mdm_fs_read_all(path, MDM_CONFIG_MAX_BYTES, &data, &len, err);
    if (rc == MDM_ENOTFOUND)
        rc = mdm_err_set(err, MDM_ENOTFOUND, "%s: no such configuration file", path);
    if (rc != 0)
        goto out;
    if (strlen(data) != len) {
        rc = mdm_err_set(err, MDM_EINVAL, "%s: contains a NUL byte; not a text file", path);
        goto out;
    }
    cfg = mdm_config_new();
    if (cfg == NULL || (cfg->path = mdm_strdup(path)) == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    slash = strrchr(path, '/');
    if (slash == NULL)
        slash = strrchr(path, '\\');
    base_dir = slash ? mdm_strndup(path, (size_t)(slash - path)) : mdm_strdup(".");
    if (base_dir == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    for (line = data; line != NULL; line = next) {
        char name[64];
        char *value, *end;
        size_t n = 0;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        if (strlen(line) > MDM_CONFIG_LINE_MAX) {
            rc = mdm_err_set(err, MDM_EINVAL, "%s:%zu: line longer than %u bytes", path, lineno,
                             MDM_CONFIG_LINE_MAX);
            goto out;
        }
        while (isspace((unsigned char)*line))
            line++;
        if (*line == '\0' || *line == '#')
            continue;
        end = line + strlen(line);
        while (end > line && isspace((unsigned char)end[-1]))
            *--end = '\0';
        while (*line != '\0' && !isspace((unsigned char)*line) && n < sizeof(name) - 1)
            name[n++] = *line++;
        name[n] = '\0';
        value = line;
        while (isspace((unsigned char)*value))
            value++;
        if (strcmp(name, "source") == 0 && cfg->has_source) {
            /* One source per agent: a second line would silently replace the first. */
            rc = mdm_err_set(err, MDM_EINVAL,
                             "%s:%zu: a second source line (the first is on line %u); mdmhealth "
                             "reads one source: remove one of them",
                             path, lineno, cfg->source_line);
            goto out;
        }
        rc = mdm_config_directive(cfg, name, value, base_dir, err);
        if (rc == 0 && strcmp(name, "source") == 0)
            cfg->source_line = (unsigned)lineno;
        if (rc == MDM_ENOTFOUND) {
            if (mdm_config_is_snmp_directive(name)) {
                /* Checked here, before Net-SNMP reads the file (config_snmp.h). */
                rc = mdm_config_snmp_check_line(name, value, err);
                if (rc != 0) {
                    if (rc == MDM_ENOMEM)
                        mdm_err_set(err, rc, "out of memory");
                    mdm_err_prefix(err, "%s:%zu: ", path, lineno);
                    goto out;
                }
                rc = keep_snmp_line(cfg, name, value, (unsigned)lineno);
                if (rc != 0) {
                    rc = mdm_err_set(err, rc, "%s:%zu: %s: %s", path, lineno, name,
                                     mdm_strerror(rc));
                    goto out;
                }
                continue;
            }
            rc = mdm_err_set(err, MDM_EINVAL, "%s:%zu: unknown directive \"%s\"", path, lineno,
                             name);
            goto out;
        }
        if (rc == MDM_ENOMEM) {
            rc = mdm_err_set(err, rc, "out of memory");
            goto out;
        }
        if (rc != 0) {
            mdm_err_prefix(err, "%s:%zu: ", path, lineno);
            goto out;
        }
    }
    if (!cfg->has_source && cfg->target_count > MDM_CONFIG_CHANNEL_TARGETS_MAX) {
        rc = mdm_err_set(err, MDM_EINVAL,
                         "%s: %zu target lines; at most %u with the Windows channel (each is a "
                         "remote subscription of its own)",
                         path, cfg->target_count, MDM_CONFIG_CHANNEL_TARGETS_MAX);
        goto out;
    }
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    mdm_config_free(cfg);
    mdm_free(base_dir);
    mdm_free(data);
    return rc;
}

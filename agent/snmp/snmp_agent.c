/*
 * snmp_agent.c - Net-SNMP set-up and its place in the main loop (see
 * mdm_snmp.h for the roles and how the configuration is read).
 */
#include "agent/snmp/snmp_internal.h"

#include "agent/config/config.h"
#include "agent/diag/tls_texts.h"
#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_log.h"
#include "mdm_select.h"
#include "agent/common/mdm_text.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_os.h"

#include <stdio.h>
#include <string.h>

struct mdm_snmp_state mdm_snmp;

static bool started;

/*
 * How late an outbox change that only records work done (a trap sent, an
 * inform acknowledged, destinations changed by a reload) may be saved.
 *
 * Durability does not need it at once. Every notice was in a durably saved
 * state file before it was first sent (run.c saves new notices, with the
 * states and the position, before mdm_snmp_deliver); a kill before its "done"
 * is saved makes the next start send it again with the same
 * mdmNotificationId, a duplicate the manager drops, never a loss. Saving it
 * at once cost a second atomic write (two fsyncs) after every notification,
 * in the way of the next event; now it goes with the next event's write
 * when one follows within ACK_SAVE_DELAY_MS (events arriving at 10/s: one
 * write per event instead of two), else on its own when the delay is over
 * (the select timeout of mdm_snmp_prepare wakes the loop for it). The price
 * is a window of ACK_SAVE_DELAY_MS instead of one write for such duplicates
 * after a kill; a clean stop saves everything.
 */
#define ACK_SAVE_DELAY_MS 250

static int64_t ack_save_at; /* monotonic ms at which the unsaved change is due; 0: none */
/*
 * The outbox's save count when ack_save_at was set: a save since then took
 * that change, and what is unsaved now is younger, due ACK_SAVE_DELAY_MS
 * after now (else, with events every 100 ms, the delay of the first
 * change would run out between two events and cost a write of its own).
 */
static uint64_t ack_save_count;
static bool capture_errors;
static int config_errors;
static char first_error[MDM_ERR_MSG_MAX];

/*
 * The checked copy Net-SNMP reads (see write_checked_copy) and the
 * operator's configuration file it stands for, whose name replaces the
 * copy's in Net-SNMP's messages.
 */
static char checked_copy_path[MDM_PATH_MAX];
static char operator_config_path[MDM_PATH_MAX];

/* The name of the checked copy in its directory. */
#define CHECKED_COPY_NAME "mdmhealth-checked.conf"

static void ignore_directive(const char *token, char *line)
{
    (void)token;
    (void)line;
}

/*
 * Net-SNMP's log messages arrive here: configuration errors are counted (the
 * first is kept for the caller), and everything else goes through mdm_log,
 * so that in a command (`check`, `init`) they read as the command's own.
 */
static bool answering_requests;

static int log_callback(int major, int minor, void *server_arg, void *client_arg)
{
    const struct snmp_log_message *m = server_arg;
    char text[MDM_ERR_MSG_MAX];
    size_t n;
    (void)major;
    (void)minor;
    (void)client_arg;

    if (m == NULL || m->msg == NULL)
        return 0;
    snprintf(text, sizeof(text), "%s", m->msg);
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    if (n == 0)
        return 0;
    /*
     * Net-SNMP names the file it reads, the checked copy; the operator knows
     * the configuration file it was made from, and the line numbers are the
     * same.
     */
    if (checked_copy_path[0] != '\0' && operator_config_path[0] != '\0') {
        char *at = strstr(text, checked_copy_path);
        if (at != NULL) {
            char renamed[MDM_ERR_MSG_MAX];
            /* A message too long for the buffer is cut, like any other. */
            if (snprintf(renamed, sizeof(renamed), "%.*s%s%s", (int)(at - text), text,
                         operator_config_path, at + strlen(checked_copy_path)) >= 0)
                memcpy(text, renamed, sizeof(text));
        }
    }
    /*
     * Net-SNMP warns about missing rouser / rocommunity lines whenever it is
     * not a subagent, with advice for snmpd ("Run snmpconf..."). Without an
     * agentaddress nothing is answered anyway, so the warning is noise (and
     * alarmed administrators after `mdmhealth init`); with one, say plainly
     * what it means.
     */
    if (strstr(text, "no access control information configured") != NULL) {
        if (answering_requests)
            mdm_log(MDM_LOG_WARNING, "agentaddress is set but no rouser, rocommunity or "
                                     "other access line is: every SNMP request will be refused");
        return 0;
    }
    /*
     * The first configuration error is the caller's to tell (the error of
     * `check`, of the start or of the reload); the log says only the others,
     * the "more errors" that message points at.
     */
    if (capture_errors && m->priority <= LOG_ERR && strstr(text, ": line ") != NULL) {
        if (config_errors++ == 0) {
            snprintf(first_error, sizeof(first_error), "%s", text);
            return 0;
        }
    }
    /* Net-SNMP's informational chatter (one line per request) is debug output here. */
    mdm_log(m->priority <= LOG_ERR       ? MDM_LOG_ERROR
            : m->priority <= LOG_WARNING ? MDM_LOG_WARNING
            : m->priority <= LOG_NOTICE  ? MDM_LOG_INFO
                                         : MDM_LOG_DEBUG,
            "net-snmp: %s", text);
    return 0;
}

/*
 * Keeps Net-SNMP from starting the agent modules that mdmhealth does not
 * use. Debian's libnetsnmpagent has SMUX built in, and init_master_agent()
 * then listens for SMUX peers on TCP 0.0.0.0:199, a socket nobody
 * configured. Net-SNMP keeps the list for the process (once is enough).
 */
static void disable_unused_agent_modules(void)
{
    static bool done;
    char modules[] = "-smux";

    if (done)
        return;
    add_to_init_list(modules);
    done = true;
}

/*
 * Writes the Net-SNMP lines of the loaded configuration to DIR/CHECKED_COPY_NAME
 * (owner-only, atomically) and makes it the file Net-SNMP reads. These are
 * the lines config.c checked, from the one read of the file that checked
 * them: Net-SNMP never reads the operator's file itself, so a file changed
 * after the check cannot hand it unchecked text (some malformed lines crash
 * its parsers). Each line is put at its original line number, with blank
 * lines between, so that Net-SNMP's "line N" is the operator's line N. The
 * copy holds secrets (communities, pass phrases): dir is the state
 * directory's snmp directory (0700) or a private temporary directory.
 */
static int write_checked_copy(const struct mdm_config *cfg, const char *dir, struct mdm_err *err)
{
    char path[sizeof(checked_copy_path)];
    struct mdm_buf b;
    unsigned at_line = 1;
    int rc = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, CHECKED_COPY_NAME) >= sizeof(path))
        return mdm_err_set(err, MDM_EINVAL, "%s: the path is too long", dir);
    /* The lines come from a file of at most MDM_CONFIG_MAX_BYTES, verbatim or shorter. */
    mdm_buf_init(&b, 2u * MDM_CONFIG_MAX_BYTES);
    for (size_t i = 0; rc == 0 && i < cfg->snmp_line_count; i++) {
        const struct mdm_config_snmp_line *l = &cfg->snmp_lines[i];
        while (rc == 0 && at_line < l->line) {
            rc = mdm_buf_adds(&b, "\n");
            at_line++;
        }
        if (rc == 0)
            rc = mdm_buf_adds(&b, l->directive);
        if (rc == 0)
            rc = mdm_buf_adds(&b, " ");
        if (rc == 0)
            rc = mdm_buf_adds(&b, l->value);
        if (rc == 0)
            rc = mdm_buf_adds(&b, "\n");
        at_line++;
    }
    if (rc != 0) {
        rc = mdm_err_set(err, rc, "%s: the SNMP lines do not fit in memory", path);
        goto out;
    }
    if ((rc = mdm_fs_write_atomic(path, b.len ? (const char *)b.data : "", b.len, err)) != 0)
        goto out;
    snprintf(checked_copy_path, sizeof(checked_copy_path), "%s", path);
    snprintf(operator_config_path, sizeof(operator_config_path), "%s", cfg->path ? cfg->path : "");
    netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_OPTIONALCONFIG, checked_copy_path);
out:
    mdm_buf_free(&b);
    return rc;
}

/*
 * Whether a Net-SNMP line of cfg names a TLS transport ("tlstcp:",
 * "dtlsudp:", any case), whose errors Net-SNMP reports with OpenSSL's texts.
 */
static bool uses_tls_transport(const struct mdm_config *cfg)
{
    static const char *const prefixes[] = {"tlstcp:", "dtlsudp:"};

    for (size_t i = 0; cfg != NULL && i < cfg->snmp_line_count; i++)
        for (const char *p = cfg->snmp_lines[i].value; p != NULL && *p != '\0'; p++)
            for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
                size_t n = strlen(prefixes[k]), j = 0;
                while (j < n && p[j] != '\0' &&
                       (p[j] | 0x20) == prefixes[k][j] /* the prefixes are lower case */)
                    j++;
                if (j == n)
                    return true;
            }
    return false;
}

static void setup_library(const struct mdm_snmp_options *opt, bool subagent)
{
    /*
     * OpenSSL's error texts are left for the diagnoser's TLS check to load
     * when it runs (agent/diag/tls_texts.h: 0.47 MiB of an idle agent's RSS,
     * loaded by the RAND_bytes of Net-SNMP's start otherwise), unless
     * Net-SNMP itself speaks TLS here and reports OpenSSL's errors.
     */
    if (!uses_tls_transport(opt->config))
        mdm_tls_defer_error_texts();
    /*
     * Read only our file and Net-SNMP's persistent data in persist_dir: not
     * /etc/snmp or ~/.snmp, which belong to other programs. No MIB files are
     * loaded; every OID here is numeric.
     */
    mdm_os_setenv("SNMPCONFPATH", opt->persist_dir);
    /*
     * An empty module list. (A list holding only the separator, because on
     * Windows an empty value deletes the variable and Net-SNMP would then
     * load its default modules.)
     */
    mdm_os_setenv("MIBS", mdm_os_path_list_separator());
    netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR, opt->persist_dir);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
                           NETSNMP_DS_AGENT_DONT_LOG_TCPWRAPPERS_CONNECTS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE,
                           subagent ? 1 : 0); /* SUB_AGENT : MASTER_AGENT */
    if (subagent &&
        netsnmp_ds_get_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL) == 0)
        /* Notice a restarted snmpd and register again (agentxPingInterval overrides). */
        netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, 5);
    if (opt->check_only) {
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    }
    /* Winsock must be started before Net-SNMP's first socket (a no-op elsewhere). */
    SOCK_STARTUP;
    disable_unused_agent_modules();
    snmp_disable_log();
    snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, log_callback, NULL);
    snmp_enable_calllog();
}

static void register_directives(void)
{
    /*
     * mdmhealth's own directives (config.c's table) are parsed by config.c;
     * they are only made known to Net-SNMP here, so that a line of ours is
     * never an "unknown token" to it.
     */
    for (size_t i = 0; i < mdm_config_directive_count; i++)
        register_app_config_handler(mdm_config_directives[i].name, ignore_directive, NULL, NULL);
    /*
     * clientaddr ADDRESS: the local address of the client sockets (the
     * notification destinations) instead of the wildcard. Net-SNMP knows it only in snmp.conf; here
     * it is a line of mdmhealth.conf like the others.
     */
    netsnmp_ds_register_config(ASN_OCTET_STR,
                               netsnmp_ds_get_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_APPTYPE),
                               "clientaddr", NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_CLIENT_ADDR);
    mdm_notify_register_directives();
}

int mdm_snmp_start(const struct mdm_snmp_options *opt, struct mdm_engine *engine,
                   struct mdm_agent_status *status, struct mdm_outbox *outbox, struct mdm_err *err)
{
    bool has_address = opt->has_agentaddress;
    bool subagent = !has_address && opt->has_agentx_socket;
    int rc;

    if (started)
        return mdm_err_set(err, MDM_EINVAL, "the SNMP module is already started");
    /*
     * Not a memset of the whole of mdm_snmp: its mdmDiagTable slots are
     * 600 KiB that stay untouched (zero pages of .bss, no RSS) until a
     * diagnosis is stored, and clearing them made all of it resident in
     * every agent. mdm_snmp_stop clears the slots that were used, so they
     * are zero here at every start.
     */
    mdm_snmp.engine = engine;
    mdm_snmp.status = status;
    mdm_snmp.outbox = outbox;
    mdm_snmp.check_only = opt->check_only;
    mdm_snmp.outbox_changed = false;
    ack_save_at = 0;
    answering_requests = has_address;
    config_errors = 0;
    first_error[0] = '\0';

    setup_library(opt, subagent);
    if ((rc = write_checked_copy(opt->config, opt->copy_dir ? opt->copy_dir : opt->persist_dir,
                                 err)) != 0)
        return rc;
    if (init_agent("mdmhealth") != 0)
        return mdm_err_set(err, MDM_EIO, "cannot initialise the Net-SNMP agent library");
    register_directives();
    mdm_std_mibs_start(subagent);
    if (!opt->check_only && (rc = mdm_mib_register()) != 0) {
        mdm_std_mibs_stop();
        snmp_shutdown("mdmhealth");
        return mdm_err_set(err, rc, "cannot register MDM-HEALTH-MIB");
    }
    capture_errors = true;
    init_snmp("mdmhealth");
    capture_errors = false;
    started = true;
    if (config_errors > 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "%s%s", first_error,
                         config_errors > 1 ? " (and more errors, see the log)" : "");
        mdm_snmp_stop();
        return rc;
    }
    if (opt->check_only)
        return 0;
    /*
     * Save the persistent data now, as snmpd does, not only at a clean stop:
     * the snmpEngineBoots of this start and the engine ID. After a crash,
     * the next start then still counts up from this one (RFC 3414) with the
     * same engine ID, so v3 managers that cached the engine keep working.
     */
    snmp_store("mdmhealth");
    mdm_std_mibs_ready();
    mdm_notify_destinations_ready();
    if (has_address) {
        if (init_master_agent() != 0) {
            rc = mdm_err_set(err, MDM_EIO,
                             "%s: cannot listen on the agentaddress (in use, or needs "
                             "privileges?)",
                             opt->config->path ? opt->config->path : "the configuration");
            mdm_snmp_stop();
            return rc;
        }
        mdm_log(MDM_LOG_INFO, "answering SNMP requests on %s",
                netsnmp_ds_get_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_PORTS));
    } else if (subagent) {
        mdm_log(MDM_LOG_INFO, "AgentX subagent of the snmpd at %s",
                netsnmp_ds_get_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET));
    } else {
        mdm_log(MDM_LOG_INFO, "no agentaddress or agentXSocket: not answering SNMP requests");
    }
    return 0;
}

int mdm_snmp_check(const struct mdm_config *cfg, struct mdm_err *err)
{
    /*
     * Net-SNMP creates PERSISTENT_DIR/cert_indexes whatever the
     * don't-persist settings say (as root, "/nonexistent-..." was created).
     * A directory below the configuration file, a regular file, can never
     * be created, so a check leaves nothing behind there. The checked copy
     * goes to a private temporary directory, removed afterwards.
     */
    const char *config_path = cfg->path ? cfg->path : "mdmhealth.conf";
    char persist[MDM_PATH_MAX], copy_dir[MDM_PATH_MAX],
        copy[MDM_PATH_MAX + sizeof(CHECKED_COPY_NAME) + 1];
    struct mdm_snmp_options opt = {cfg, persist, copy_dir, true, true, false, false};
    struct mdm_agent_status status;
    struct mdm_outbox outbox;
    int rc;

    if ((size_t)snprintf(persist, sizeof(persist), "%s/.mdmhealth-check", config_path) >=
        sizeof(persist))
        return mdm_err_set(err, MDM_EINVAL, "%s: the path is too long", config_path);
    memset(&status, 0, sizeof(status));
    if (mdm_outbox_init(&outbox, 1) != 0)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    if ((rc = mdm_fs_make_private_temp_dir(copy_dir, sizeof(copy_dir), err)) != 0)
        goto out;
    rc = mdm_snmp_start(&opt, NULL, &status, &outbox, err);
    if (rc == 0)
        mdm_snmp_stop();
    snprintf(copy, sizeof(copy), "%s/%s", copy_dir, CHECKED_COPY_NAME);
    mdm_fs_remove(copy);
    mdm_fs_remove_dir(copy_dir);
    checked_copy_path[0] = '\0';
out:
    mdm_outbox_free(&outbox);
    return rc;
}

void mdm_snmp_set_engine(struct mdm_engine *engine)
{
    mdm_snmp.engine = engine;
}

int mdm_snmp_reload(const struct mdm_config *cfg, const char *persist_dir, struct mdm_err *err)
{
    int rc;

    /* The new copy replaces the old one atomically; if it cannot be written, nothing changes. */
    if ((rc = write_checked_copy(cfg, persist_dir, err)) != 0)
        return rc;
    config_errors = 0;
    capture_errors = true;
    update_config();
    capture_errors = false;
    if (config_errors > 0)
        mdm_log(MDM_LOG_ERROR, "reload: %s", first_error);
    mdm_notify_destinations_ready();
    return 0;
}

bool mdm_snmp_outbox_changed(void)
{
    int64_t now;

    mdm_snmp.outbox_changed = false;
    if (mdm_snmp.outbox == NULL || !mdm_outbox_unsaved(mdm_snmp.outbox)) {
        ack_save_at = 0;
        return false;
    }
    now = mdm_os_monotonic_ms();
    if (ack_save_at == 0 || ack_save_count != mdm_snmp.outbox->saves) {
        ack_save_at = now + ACK_SAVE_DELAY_MS;
        ack_save_count = mdm_snmp.outbox->saves;
    }
    if (now < ack_save_at)
        return false;
    ack_save_at = 0;
    return true;
}

void mdm_snmp_prepare(void *fds_arg, int *maxfd, int *timeout_ms)
{
    fd_set *fds = fds_arg;
    int numfds = *maxfd + 1;
    int block = 1;
    struct timeval tv = {0, 0};

    snmp_select_info(&numfds, fds, &tv, &block);
    *maxfd = numfds - 1;
    if (!block) {
        long ms = (long)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
        if (*timeout_ms < 0 || ms < *timeout_ms)
            *timeout_ms = (int)ms;
    }
    /* The delayed save of sent-notice records (mdm_snmp_outbox_changed) is due then. */
    if (ack_save_at != 0) {
        int64_t left = ack_save_at - mdm_os_monotonic_ms();
        int deadline = left > 0 ? (int)left : 0;

        if (*timeout_ms < 0 || deadline < *timeout_ms)
            *timeout_ms = deadline;
    }
}

void mdm_snmp_process(void *fds_arg, int ready)
{
    if (ready > 0)
        snmp_read((fd_set *)fds_arg);
    snmp_timeout();
    run_alarms();
    netsnmp_check_outstanding_agent_requests();
}

void mdm_snmp_stop(void)
{
    if (!started)
        return;
    if (!mdm_snmp.check_only)
        mdm_mib_unregister();
    mdm_std_mibs_stop();
    mdm_notify_free_destinations();
    snmp_shutdown("mdmhealth");
    shutdown_agent();
    snmp_unregister_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, log_callback, NULL, 1);
    mdm_snmp.reset = NULL; /* its context was the agent that is stopping */
    mdm_snmp.reset_ctx = NULL;
    /* Only the slots in use: reading an unused one's flag maps no page. */
    for (size_t s = 0; s < MDM_DIAG_TARGETS_MAX; s++)
        if (mdm_snmp.diag[s].used)
            memset(&mdm_snmp.diag[s], 0, sizeof(mdm_snmp.diag[s]));
    started = false;
}

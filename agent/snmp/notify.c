/*
 * notify.c - notification destinations and delivery (ConfirmDelivery).
 *
 * The sink directives of snmpd.conf are handled here rather than by
 * Net-SNMP's agent_trap.c, because agent_trap.c sends and forgets: it cannot
 * tell us when a manager acknowledged an inform, and the state file may only
 * forget a notice once it did. The directives keep snmpd.conf's syntax:
 *
 *   trap2sink  HOST [COMMUNITY [PORT]]     SNMPv2c trap
 *   informsink HOST [COMMUNITY [PORT]]     SNMPv2c inform
 *   trapsess   [snmpcmd options] HOST      any version; -Ci sends informs
 *   trapcommunity COMMUNITY                default community for the sinks
 *
 * Every destination is independent: it takes the oldest notice still pending
 * for it from the outbox, and an inform destination sends the next one only
 * after the manager acknowledged the previous one, so each manager sees the
 * notices in order. A destination whose manager does not answer (after the
 * session's own -t timeout and -r retries) backs off, 5 s doubling up to
 * the cap set by `notification-backoff-max` (default 60 s), while the others
 * go on; so after an outage every queued notice reaches the manager in
 * order, starting at most one cap after the manager is back. Sessions are opened at first use, so
 * an SNMPv3 inform destination that is down at start-up is retried, not lost.
 *
 * SNMPv3 informs need the manager's engine ID; without `-e ENGINEID` on the
 * trapsess line, Net-SNMP discovers it when the session is opened, which
 * waits for the manager (up to the -t/-r limits). Give -e to avoid that.
 */
#include "agent/snmp/snmp_internal.h"

#include "agent/config/config.h"
#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_log.h"
#include "agent/os/mdm_os.h"
#include "agent/engine/pack.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define NOTIFY_ARGS_MAX    64
#define BACKOFF_FIRST_MS   5000
#define DIRECTIVE_TEXT_MAX 2048

struct dest {
    size_t slot;
    char directive[DIRECTIVE_TEXT_MAX]; /* token and arguments: the outbox key */
    char label[160];                    /* for logs: never holds a secret */
    int argc;
    char *argv[NOTIFY_ARGS_MAX];
    bool inform;
    netsnmp_session *ss;
    bool busy;         /* an inform is outstanding */
    uint64_t busy_seq; /* ... for this notice */
    int64_t retry_at_ms;
    int backoff_ms;
    bool discover; /* SNMPv3 inform without -e: the manager's engine ID is found first */
    bool probing;  /* ... the discovery request is outstanding */
};

static struct dest *dests[MDM_DEST_MAX];
static size_t dest_count;
static char trap_community[256];
static bool deliver_again;
static int backoff_max_ms = MDM_NOTIFY_BACKOFF_MAX_DEFAULT * 1000;

/* -C i on a trapsess line; netsnmp_parse_args calls this for "C:". */
static int parsed_pdu_type;
static bool parsed_c_invalid; /* a -C letter other than i */

static void opt_proc(int argc, char *const *argv, int opt)
{
    (void)argc;
    (void)argv;
    if (opt != 'C')
        return;
    for (const char *p = optarg; *p; p++) {
        if (*p == 'i')
            parsed_pdu_type = SNMP_MSG_INFORM;
        else
            parsed_c_invalid = true;
    }
}

static void dest_free(struct dest *d)
{
    if (d == NULL)
        return;
    if (d->ss != NULL)
        snmp_close(d->ss);
    for (int i = 0; i < d->argc; i++)
        mdm_free(d->argv[i]);
    mdm_free(d);
}

void mdm_notify_free_destinations(void)
{
    for (size_t i = 0; i < dest_count; i++)
        dest_free(dests[i]);
    dest_count = 0;
    memset(dests, 0, sizeof(dests));
}

static void free_sinks(void)
{
    mdm_notify_free_destinations();
    trap_community[0] = '\0';
}

/* Frees one -T NAME=VALUE entry (netsnmp_transport_create_config allocated it). */
static void transport_config_free(void *data, void *ctx)
{
    netsnmp_transport_config *c = data;
    (void)ctx;

    if (c == NULL)
        return;
    free(c->key);
    free(c->value);
    free(c);
}

/*
 * Frees what netsnmp_parse_args allocated in a session (community, -e / -E
 * engine IDs, -s, -3k / -3K keys, the -T container); Net-SNMP exports no
 * call for it, and frees none of it itself (not even the -T container when
 * it closes a session). The other pointers point into the argument vector.
 * snmp_add() copies them all.
 */
static void session_free_parsed(netsnmp_session *s)
{
    if (s->transport_configuration != NULL) {
        CONTAINER_CLEAR(s->transport_configuration, transport_config_free, NULL);
        CONTAINER_FREE(s->transport_configuration);
        s->transport_configuration = NULL;
    }
    SNMP_FREE(s->localname);
    SNMP_FREE(s->community);
    SNMP_FREE(s->securityEngineID);
    SNMP_FREE(s->contextEngineID);
    SNMP_FREE(s->securityAuthLocalKey);
    SNMP_FREE(s->securityPrivLocalKey);
}

/*
 * Parses the argument vector into a session (without opening it). Returns
 * 0, or MDM_EINVAL after reporting the problem with config_perror when
 * reporting. On success the caller frees the session with
 * session_free_parsed(); on failure nothing is left to free.
 */
static int dest_parse(struct dest *d, netsnmp_session *session, bool report)
{
    char *argv[NOTIFY_ARGS_MAX + 1];
    int rc;

    snmp_sess_init(session);
    /* getopt may permute its vector: give it a copy. */
    for (int i = 0; i < d->argc; i++)
        argv[i] = d->argv[i];
    argv[d->argc] = NULL;
    parsed_pdu_type = SNMP_MSG_TRAP2;
    parsed_c_invalid = false;
    optind = 1;
    rc = netsnmp_parse_args(d->argc, argv, session, "C:", opt_proc,
                            NETSNMP_PARSE_ARGS_NOLOGGING | NETSNMP_PARSE_ARGS_NOZERO);
    if (rc < 0) { /* success is the index of the first argument after the options */
        if (report)
            config_perror("invalid options, or no manager address, in this notification "
                          "destination");
        session_free_parsed(session);
        return MDM_EINVAL;
    }
    if (session->version == SNMP_VERSION_1) {
        if (report)
            config_perror("SNMPv1 traps are not supported: use -v 2c or -v 3");
        session_free_parsed(session);
        return MDM_EINVAL;
    }
    if (parsed_c_invalid) {
        if (report)
            config_perror("unknown argument to -C (only -Ci, send informs, is known)");
        session_free_parsed(session);
        return MDM_EINVAL;
    }
    if (session->transport_configuration != NULL) {
        /* The destinations' transports (UDP) take no NAME=VALUE options. */
        if (report)
            config_perror("-T transport options are not supported in a notification destination");
        session_free_parsed(session);
        return MDM_EINVAL;
    }
    d->inform = parsed_pdu_type == SNMP_MSG_INFORM;
    return 0;
}

/* Adds a destination from a directive; token is "trapsess" and args its options. */
static void add_destination(const char *token, const char *args)
{
    struct dest *d;
    netsnmp_session session;
    char word[SPRINT_MAX_LEN];
    const char *cp = args;

    if (dest_count >= MDM_DEST_MAX) {
        config_perror("too many notification destinations (at most 32)");
        return;
    }
    d = mdm_calloc(1, sizeof(*d));
    if (d == NULL) {
        config_perror("out of memory");
        return;
    }
    snprintf(d->directive, sizeof(d->directive), "%s %s", token, args);
    d->argv[d->argc++] = mdm_strdup("mdmhealth-notify");
    while (cp != NULL && *cp != '\0' && d->argc < NOTIFY_ARGS_MAX) {
        cp = copy_nword((char *)cp, word, sizeof(word));
        d->argv[d->argc++] = mdm_strdup(word);
    }
    for (int i = 0; i < d->argc; i++) {
        if (d->argv[i] == NULL) {
            config_perror("out of memory");
            dest_free(d);
            return;
        }
    }
    if (dest_parse(d, &session, true) != 0) {
        dest_free(d);
        return;
    }
    snprintf(d->label, sizeof(d->label), "%s %s (SNMPv%s %s)",
             d->inform ? "inform destination" : "trap destination",
             session.peername ? session.peername : "?",
             session.version == SNMP_VERSION_3 ? "3" : "2c", d->inform ? "inform" : "trap");
    session_free_parsed(&session);
    d->slot = dest_count;
    dests[dest_count++] = d;
}

static void parse_trapsess(const char *token, char *line)
{
    if (strncmp(line, "-profile", 8) == 0 || strncmp(line, "-name", 5) == 0 ||
        strncmp(line, "-tag", 4) == 0) {
        config_perror("-profile, -name and -tag are not supported by mdmhealth");
        return;
    }
    add_destination(token, line);
}

/* trap2sink / informsink HOST [COMMUNITY [PORT]] become trapsess options. */
static void parse_sink(const char *token, char *line)
{
    char host[SPRINT_MAX_LEN], community[SPRINT_MAX_LEN], port[SPRINT_MAX_LEN];
    char args[DIRECTIVE_TEXT_MAX];
    char *cp = line;
    int n;

    host[0] = community[0] = port[0] = '\0';
    cp = copy_nword(cp, host, sizeof(host));
    if (cp != NULL)
        cp = copy_nword(cp, community, sizeof(community));
    if (cp != NULL)
        copy_nword(cp, port, sizeof(port));
    if (host[0] == '\0') {
        config_perror("no manager address");
        return;
    }
    if (community[0] == '\0') {
        if (trap_community[0] == '\0') {
            config_perror("no community: give one (there is no default community) or set "
                          "trapcommunity first");
            return;
        }
        snprintf(community, sizeof(community), "%s", trap_community);
    }
    n = snprintf(args, sizeof(args), "%s-v 2c -c %s %s%s%s",
                 strcmp(token, "informsink") == 0 ? "-Ci " : "", community, host,
                 port[0] ? ":" : "", port);
    if (n < 0 || (size_t)n >= sizeof(args)) {
        /* Cut, it would name another manager or community. */
        config_perror("the manager address and community are too long");
        return;
    }
    /* The key is the directive as written, so that rewording it is a new destination. */
    add_destination(token, args);
}

static void parse_trapsink_v1(const char *token, char *line)
{
    (void)token;
    (void)line;
    config_perror("trapsink (SNMPv1) is not supported: use trap2sink, informsink or trapsess");
}

static void parse_trapcommunity(const char *token, char *line)
{
    (void)token;
    copy_nword(line, trap_community, sizeof(trap_community));
}

void mdm_notify_register_directives(void)
{
    /* Registered after init_agent(), so these replace agent_trap.c's handlers. */
    register_app_config_handler("trapsess", parse_trapsess, free_sinks, "[snmpcmdargs] host");
    register_app_config_handler("trap2sink", parse_sink, free_sinks, "host [community] [port]");
    register_app_config_handler("informsink", parse_sink, free_sinks, "host [community] [port]");
    register_app_config_handler("trapsink", parse_trapsink_v1, free_sinks, "(not supported)");
    register_app_config_handler("trapcommunity", parse_trapcommunity, NULL, "community");
    /* notification-backoff-max is ours: config.c's table, registered by snmp_agent.c. */
}

/* After (re)reading the configuration: tell the outbox which destinations exist. */
static void sync_outbox(void)
{
    uint64_t keys[MDM_DEST_MAX];

    for (size_t i = 0; i < dest_count; i++)
        keys[i] = mdm_outbox_dest_key(dests[i]->directive);
    mdm_outbox_set_destinations(mdm_snmp.outbox, keys, dest_count);
    mdm_snmp.outbox_changed = true;
}

void mdm_notify_destinations_ready(void)
{
    sync_outbox();
    for (size_t i = 0; i < dest_count; i++)
        mdm_log(MDM_LOG_INFO, "notifications: %s", dests[i]->label);
    if (dest_count == 0)
        mdm_log(MDM_LOG_INFO, "notifications: no destination configured (trap2sink, informsink "
                              "or trapsess); state changes are not sent");
}

/* Opens the session of d. Returns 0, MDM_EINVAL or MDM_EIO (logged). */
static int dest_open(struct dest *d)
{
    netsnmp_session session;
    netsnmp_transport *transport;
    int rc;

    rc = dest_parse(d, &session, false);
    if (rc != 0)
        return rc;
    transport = netsnmp_transport_open_client("snmptrap", session.peername);
    if (transport == NULL) {
        mdm_log(MDM_LOG_WARNING, "%s: cannot open a transport to the manager", d->label);
        session_free_parsed(&session);
        return MDM_EIO;
    }
    if (session.version == SNMP_VERSION_3 && !d->inform && session.securityEngineIDLen == 0) {
        /* For v3 traps this agent is the authoritative engine. */
        u_char id[SPRINT_MAX_LEN];
        size_t len = snmpv3_get_engineID(id, sizeof(id));
        session.securityEngineID = netsnmp_memdup(id, len);
        session.securityEngineIDLen = len;
    }
    /*
     * An SNMPv3 inform needs the manager's engine ID. Net-SNMP would find it
     * with a synchronous request inside snmp_add(), stopping the whole main
     * loop (SNMP answers, other destinations) while the manager is silent.
     * The discovery is done asynchronously instead (probe_engine_id).
     */
    d->discover =
        session.version == SNMP_VERSION_3 && d->inform && session.securityEngineIDLen == 0;
    if (d->discover)
        session.flags |= SNMP_FLAGS_DONT_PROBE;
    d->ss = snmp_add(&session, transport, NULL, NULL);
    session_free_parsed(&session); /* also our engine ID copy above */
    if (d->ss == NULL) {
        mdm_log(MDM_LOG_WARNING, "%s: cannot open the session (%s)", d->label,
                snmp_api_errstring(snmp_errno));
        return MDM_EIO;
    }
    if (d->discover)
        d->ss->flags |= SNMP_FLAGS_DONT_PROBE; /* snmp_add() cleared it */
    return 0;
}

static int probe_callback(int op, netsnmp_session *session, int reqid, netsnmp_pdu *pdu,
                          void *magic);

/*
 * Sends the RFC 3414 discovery request (an unauthenticated GET from the
 * empty user), as Net-SNMP's own probe does, but without waiting: the
 * manager's Report carries its engine ID, which Net-SNMP stores in the
 * session when it processes the Report. Returns 0, MDM_ENOMEM or MDM_EIO.
 *
 * The PDU's security name and the usmUser below are handed to Net-SNMP,
 * which frees them with free(): they are allocated with the C library's
 * strdup / calloc on purpose, not with mdm_alloc.
 */
static int probe_engine_id(struct dest *d)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);

    if (pdu == NULL)
        return MDM_ENOMEM;
    pdu->version = SNMP_VERSION_3;
    pdu->securityName = strdup("");
    pdu->securityNameLen = 0;
    pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
    pdu->securityModel = SNMP_SEC_MODEL_USM;
    if (pdu->securityName == NULL) {
        snmp_free_pdu(pdu);
        return MDM_ENOMEM;
    }
    if (usm_get_user(NULL, 0, pdu->securityName) == NULL) {
        /* The empty, unauthenticated user the discovery is sent as. */
        struct usmUser *user = calloc(1, sizeof(*user));
        if (user == NULL) {
            snmp_free_pdu(pdu);
            return MDM_ENOMEM;
        }
        user->name = strdup("");
        user->secName = strdup("");
        user->authProtocolLen = OID_LENGTH(usmNoAuthProtocol);
        user->authProtocol = snmp_duplicate_objid(usmNoAuthProtocol, user->authProtocolLen);
        user->privProtocolLen = OID_LENGTH(usmNoPrivProtocol);
        user->privProtocol = snmp_duplicate_objid(usmNoPrivProtocol, user->privProtocolLen);
        if (user->name == NULL || user->secName == NULL || user->authProtocol == NULL ||
            user->privProtocol == NULL) {
            usm_free_user(user);
            snmp_free_pdu(pdu);
            return MDM_ENOMEM;
        }
        usm_add_user(user);
    }
    if (snmp_async_send(d->ss, pdu, probe_callback, d) == 0) {
        snmp_free_pdu(pdu);
        return MDM_EIO;
    }
    d->probing = true;
    return 0;
}

static void add_var(netsnmp_pdu *pdu, int column, unsigned row, u_char type, const void *value,
                    size_t len)
{
    oid name[MAX_OID_LEN];
    size_t name_len;

    mdm_mib_monitor_column(column, row, name, &name_len);
    snmp_pdu_add_variable(pdu, name, name_len, type, value, len);
}

static void add_diag_var(netsnmp_pdu *pdu, int column, unsigned row, u_char type, const void *value,
                         size_t len)
{
    oid name[MAX_OID_LEN];
    size_t name_len;

    mdm_mib_diag_column(column, row, name, &name_len);
    snmp_pdu_add_variable(pdu, name, name_len, type, value, len);
}

/*
 * mdmNotificationId.0: the notice's outbox sequence number (saved with it in
 * the state file), the same in every retry and after a restart, so that a
 * manager can drop a notification it already has. Unsigned32: it wraps.
 */
static void add_notification_id(netsnmp_pdu *pdu, const struct mdm_notice *n)
{
    static const oid id_oid[] = {MDM_MIB_ROOT, 1, 4, 1, 0};
    u_long id = (u_long)(n->seq & 0xFFFFFFFFu);

    snmp_pdu_add_variable(pdu, id_oid, OID_LENGTH(id_oid), ASN_UNSIGNED, &id, sizeof(id));
}

/* Builds the notification PDU for a notice (varbinds as in MDM-HEALTH-MIB). */
static netsnmp_pdu *build_pdu(const struct mdm_notice *n, int type)
{
    static const oid sys_uptime[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
    static const oid trap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
    oid notification[] = {MDM_MIB_ROOT, 0, (oid)n->kind};
    netsnmp_pdu *pdu = snmp_pdu_create(type);
    u_long uptime = netsnmp_get_agent_uptime();
    u_long event_id = n->event_id;
    long health = n->health, severity = n->severity, priority = n->priority;
    char record[32];
    u_char dt[11];
    size_t dt_len = mdm_date_and_time(n->time_ms, dt);

    if (pdu == NULL)
        return NULL;
    snprintf(record, sizeof(record), "%" PRIu64, n->record_id);
    snmp_pdu_add_variable(pdu, sys_uptime, OID_LENGTH(sys_uptime), ASN_TIMETICKS, &uptime,
                          sizeof(uptime));
    snmp_pdu_add_variable(pdu, trap_oid, OID_LENGTH(trap_oid), ASN_OBJECT_ID, notification,
                          sizeof(notification));
    add_var(pdu, MDM_COL_NAME, n->row, ASN_OCTET_STR, n->monitor, strlen(n->monitor));
    add_var(pdu, MDM_COL_TARGET, n->row, ASN_OCTET_STR, n->target, strlen(n->target));
    add_var(pdu, MDM_COL_STATE, n->row, ASN_INTEGER, &health, sizeof(health));
    add_var(pdu, MDM_COL_LAST_EVENT_ID, n->row, ASN_UNSIGNED, &event_id, sizeof(event_id));
    add_var(pdu, MDM_COL_LAST_RECORD_ID, n->row, ASN_OCTET_STR, record, strlen(record));
    add_var(pdu, MDM_COL_LAST_CHANGE, n->row, ASN_OCTET_STR, dt, dt_len);
    if (n->kind == MDM_NOTICE_DIAGNOSIS) {
        /* The evidence: the mdmDiagTable row of the check that established the diagnosis. */
        long status = n->check_status;
        add_diag_var(pdu, MDM_DCOL_NAME, n->diag_row, ASN_OCTET_STR, n->check, strlen(n->check));
        add_diag_var(pdu, MDM_DCOL_STATUS, n->diag_row, ASN_INTEGER, &status, sizeof(status));
        add_diag_var(pdu, MDM_DCOL_DETAIL, n->diag_row, ASN_OCTET_STR, n->detail,
                     strlen(n->detail));
        add_diag_var(pdu, MDM_DCOL_DIAGNOSIS, n->diag_row, ASN_OCTET_STR, n->diagnosis,
                     strlen(n->diagnosis));
        add_diag_var(pdu, MDM_DCOL_RESOLVER, n->diag_row, ASN_OCTET_STR, n->resolver,
                     strlen(n->resolver));
        add_notification_id(pdu, n);
        return pdu;
    }
    add_var(pdu, MDM_COL_LAST_DESCRIPTION, n->row, ASN_OCTET_STR, n->description,
            strlen(n->description));
    add_var(pdu, MDM_COL_ALERT_SEVERITY, n->row, ASN_INTEGER, &severity, sizeof(severity));
    add_var(pdu, MDM_COL_ALERT_PRIORITY, n->row, ASN_INTEGER, &priority, sizeof(priority));
    add_notification_id(pdu, n);
    return pdu;
}

static void delivery_failed(struct dest *d, const char *why)
{
    mdm_snmp.status->notifications_failed++;
    if (d->backoff_ms == 0)
        mdm_log(MDM_LOG_WARNING, "%s: %s; notices stay queued and are retried", d->label, why);
    d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (d->backoff_ms > backoff_max_ms)
        d->backoff_ms = backoff_max_ms;
    d->retry_at_ms = mdm_os_monotonic_ms() + d->backoff_ms;
}

static void delivered(struct dest *d, uint64_t seq)
{
    if (d->backoff_ms != 0)
        mdm_log(MDM_LOG_INFO, "%s: delivering again", d->label);
    d->backoff_ms = 0;
    d->retry_at_ms = 0;
    mdm_outbox_done(mdm_snmp.outbox, seq, d->slot);
    mdm_snmp.status->notifications_sent++;
    mdm_snmp.outbox_changed = true;
}

static int inform_callback(int op, netsnmp_session *session, int reqid, netsnmp_pdu *pdu,
                           void *magic)
{
    struct dest *d = magic;
    (void)session;
    (void)reqid;

    d->busy = false;
    deliver_again = true;
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu != NULL &&
        pdu->command == SNMP_MSG_RESPONSE) {
        delivered(d, d->busy_seq);
    } else if (op == NETSNMP_CALLBACK_OP_TIMED_OUT) {
        delivery_failed(d, "the manager did not acknowledge the inform");
    } else {
        delivery_failed(d, "the inform was refused (security or protocol error)");
    }
    return 1;
}

static int probe_callback(int op, netsnmp_session *session, int reqid, netsnmp_pdu *pdu,
                          void *magic)
{
    struct dest *d = magic;
    (void)session;
    (void)reqid;
    (void)pdu;

    d->probing = false;
    deliver_again = true;
    /* A Report is the expected answer (op SEC_ERROR); the engine ID is stored after we return. */
    if (op == NETSNMP_CALLBACK_OP_TIMED_OUT)
        delivery_failed(d, "the manager did not answer the SNMPv3 engine ID discovery");
    return 1;
}

void mdm_notify_set_backoff_max(unsigned seconds)
{
    if (seconds < MDM_NOTIFY_BACKOFF_MAX_MIN || seconds > MDM_NOTIFY_BACKOFF_MAX_MAX)
        seconds = MDM_NOTIFY_BACKOFF_MAX_DEFAULT;
    backoff_max_ms = (int)seconds * 1000;
    /* A destination waiting longer than the new cap is retried within it. */
    for (size_t i = 0; i < dest_count; i++) {
        struct dest *d = dests[i];
        int64_t latest = mdm_os_monotonic_ms() + backoff_max_ms;
        if (d->backoff_ms > backoff_max_ms)
            d->backoff_ms = backoff_max_ms;
        if (d->retry_at_ms > latest)
            d->retry_at_ms = latest;
    }
}

void mdm_snmp_deliver(void)
{
    int64_t now = mdm_os_monotonic_ms();

    deliver_again = false;
    if (mdm_snmp.check_only)
        return;
    for (size_t i = 0; i < dest_count; i++) {
        struct dest *d = dests[i];

        while (!d->busy && now >= d->retry_at_ms) {
            const struct mdm_notice *n = mdm_outbox_next_for(mdm_snmp.outbox, d->slot);
            netsnmp_pdu *pdu;

            if (n == NULL)
                break;
            if (d->ss == NULL && dest_open(d) != 0) {
                delivery_failed(d, "cannot open the session");
                break;
            }
            if (d->discover) {
                if (d->ss->securityEngineIDLen == 0) {
                    if (!d->probing && probe_engine_id(d) != 0)
                        delivery_failed(d, "cannot send the SNMPv3 engine ID discovery");
                    break; /* wait for the Report */
                }
                /* Localize the user's keys for the engine ID just learned. */
                usm_create_user_from_session(d->ss);
                d->discover = false;
                mdm_log(MDM_LOG_INFO, "%s: SNMPv3 engine ID discovered", d->label);
            }
            pdu = build_pdu(n, d->inform ? SNMP_MSG_INFORM : SNMP_MSG_TRAP2);
            if (pdu == NULL) {
                delivery_failed(d, "out of memory");
                break;
            }
            if (d->inform) {
                if (snmp_async_send(d->ss, pdu, inform_callback, d) == 0) {
                    snmp_free_pdu(pdu);
                    delivery_failed(d, snmp_api_errstring(d->ss->s_snmp_errno));
                    break;
                }
                d->busy = true;
                d->busy_seq = n->seq;
                break;
            }
            if (snmp_send(d->ss, pdu) == 0) {
                snmp_free_pdu(pdu);
                delivery_failed(d, snmp_api_errstring(d->ss->s_snmp_errno));
                break;
            }
            delivered(d, n->seq);
        }
    }
}

int mdm_notify_next_deadline_ms(void)
{
    int64_t now = mdm_os_monotonic_ms(), best = -1;

    if (deliver_again)
        return 0;
    for (size_t i = 0; i < dest_count; i++) {
        const struct dest *d = dests[i];
        if (d->busy || d->retry_at_ms == 0 || mdm_outbox_next_for(mdm_snmp.outbox, d->slot) == NULL)
            continue;
        int64_t wait = d->retry_at_ms > now ? d->retry_at_ms - now : 0;
        if (best < 0 || wait < best)
            best = wait;
    }
    return best > INT32_MAX ? INT32_MAX : (int)best;
}

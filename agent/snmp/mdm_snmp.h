/*
 * mdm_snmp.h - the SNMP side of the agent: Net-SNMP set up from
 * mdmhealth.conf, the MDM-HEALTH-MIB handlers, and notification delivery.
 *
 * Net-SNMP is not thread-safe, so every function here runs on the main loop
 * thread. Net-SNMP's state is global, so this module is a singleton.
 *
 * Configuration: Net-SNMP's parsers handle the standard directives of
 * mdmhealth.conf, so they behave exactly as documented for snmpd.conf:
 * agentaddress, rocommunity, rouser, createUser, trap2sink, informsink,
 * trapsess (-Ci for informs, -v 3 ...), agentXSocket, master,
 * agentxPingInterval. It does not read mdmhealth.conf itself: config.c reads
 * the file once and checks every SNMP line (config_snmp.c), and this module
 * writes exactly those lines, each at its original line number, to a
 * "checked copy" that only it writes (STATE-DIR/snmp/mdmhealth-checked.conf,
 * owner-only; a private temporary directory for `check`), which Net-SNMP
 * reads. A file edited after the check thus never reaches Net-SNMP
 * unchecked. Net-SNMP's messages name the operator's file, not the copy.
 * mdmhealth's own directives are parsed by config.c and only registered
 * here so that Net-SNMP does not call them unknown. Net-SNMP keeps its
 * persistent data (engineBoots, localized v3 keys) in STATE-DIR/snmp, not
 * in a system-wide directory.
 *
 * Roles: with `agentaddress` the agent answers on those addresses itself
 * (embedded agent); with `agentXSocket` and no `agentaddress` it registers
 * the MIB with that existing snmpd as an AgentX subagent, and reconnects when
 * snmpd restarts; with neither it sends notifications only.
 */
#ifndef MDM_SNMP_H
#define MDM_SNMP_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/diag/diag.h"
#include "agent/common/mdm_err.h"
#include "agent/engine/monitor.h"
#include "agent/snmp/outbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mdmAgentSourceState */
enum mdm_source_state { MDM_SOURCE_RUNNING = 1, MDM_SOURCE_RETRYING = 2, MDM_SOURCE_STOPPED = 3 };

/* What the agent objects of the MIB show; owned and updated by the main loop. */
struct mdm_agent_status {
    int64_t start_ms;
    enum mdm_source_state source_state;
    char source_detail[256];
    uint64_t events_read;
    uint64_t events_matched;
    uint64_t events_damaged;
    uint64_t notifications_sent;
    uint64_t notifications_failed;
    uint64_t render_failures;
    uint64_t resubscriptions;
};

struct mdm_config;

struct mdm_snmp_options {
    const struct mdm_config
        *config;             /* loaded and checked: its snmp_lines are what Net-SNMP reads */
    const char *persist_dir; /* Net-SNMP's persistent directory (STATE-DIR/snmp) */
    const char *copy_dir;    /* where the checked copy is written (NULL: persist_dir); owner-only */
    bool foreground;         /* Net-SNMP logs to stderr rather than syslog */
    bool check_only;         /* parse and validate only: no sockets, no sessions */
    bool has_agentaddress;   /* the configuration has agentaddress lines: embedded agent */
    bool has_agentx_socket;  /* ... agentXSocket: subagent when there is no agentaddress */
};

/*
 * Starts Net-SNMP: reads the configuration, opens the agent or subagent,
 * registers the MIB, creates the notification destinations. engine, status
 * and outbox stay owned by the caller and must outlive the module (or be
 * replaced with mdm_snmp_set_engine). Configuration errors are returned as
 * MDM_EINVAL with err holding Net-SNMP's "FILE: line N: ..." message.
 */
int mdm_snmp_start(const struct mdm_snmp_options *opt, struct mdm_engine *engine,
                   struct mdm_agent_status *status, struct mdm_outbox *outbox, struct mdm_err *err);

/*
 * Validates the Net-SNMP directives of a loaded configuration (its
 * snmp_lines, not the file again) with Net-SNMP's parsers, without opening
 * anything. The checked copy is written to a private temporary directory and
 * removed before returning.
 */
int mdm_snmp_check(const struct mdm_config *cfg, struct mdm_err *err);

/*
 * Publishes a diagnoser run for a target in mdmDiagTable, replacing that
 * target's previous rows (the report is copied). Returns the table row
 * index of each check through rows[i] (for the mdmDiagnosis varbinds) when
 * rows is not NULL.
 */
void mdm_snmp_set_diagnosis(const char *target, const struct mdm_diag_report *report,
                            unsigned rows[MDM_CHECKS_MAX]);

/* Points the MIB at a new engine (after a reload). */
void mdm_snmp_set_engine(struct mdm_engine *engine);

/*
 * What a SET of mdmMonitorReset.N to reset(2) does: reset monitor_id on
 * target (the row's mdmMonitorName and mdmMonitorTarget) as `mdmhealth
 * reset` does, on the main loop, with the state saved and notifications
 * queued by the callee. Returns 0 or a negative MDM_E* code (the SET then
 * fails with commitFailed; the reason is logged by the callee).
 */
typedef int mdm_snmp_reset_fn(void *ctx, const char *monitor_id, const char *target);
/* Sets the reset action; NULL makes every SET of mdmMonitorReset fail (notWritable). */
void mdm_snmp_set_reset_handler(mdm_snmp_reset_fn *fn, void *ctx);

/*
 * Makes Net-SNMP read the Net-SNMP directives of a newly loaded
 * configuration (SIGHUP): its checked copy replaces the old one in
 * persist_dir, then destinations and access control are rebuilt; listening
 * addresses stay as they are (as in snmpd). Errors in the lines are logged.
 * Returns MDM_EIO (err set) when the copy cannot be written: then Net-SNMP
 * keeps the running configuration.
 */
int mdm_snmp_reload(const struct mdm_config *cfg, const char *persist_dir, struct mdm_err *err);

/*
 * Sets the longest wait between two delivery attempts to a destination whose
 * manager does not answer (notification-backoff-max, seconds; out of range
 * means the default). Waits already longer are shortened to it.
 */
void mdm_notify_set_backoff_max(unsigned seconds);

/* Sends what the outbox holds to every destination that is free to take it. */
void mdm_snmp_deliver(void);

/*
 * True (once) when the outbox holds a change not saved yet (deliveries done,
 * destinations changed) that is due now, so the caller saves the state file.
 * Such a change is due up to 250 ms after it happened (see snmp_agent.c), so
 * that it usually goes with the next event's write; mdm_snmp_prepare wakes
 * the loop when it is due. New notices are the caller's to save at once.
 */
bool mdm_snmp_outbox_changed(void);

/*
 * Milliseconds until a destination that backed off may be tried again (0:
 * deliveries asked to go on at once), or -1 when nothing is waiting. The
 * caller arms a timer for it and calls mdm_snmp_deliver() when it fires.
 */
int mdm_notify_next_deadline_ms(void);

/*
 * Net-SNMP's select-info model: adds Net-SNMP's descriptors to *fds /
 * *maxfd and shortens *timeout_ms (-1 = none) to its next deadline
 * (retransmissions, AgentX pings, alarms); delivery retries are
 * mdm_notify_next_deadline_ms(). Then, after the wait, mdm_snmp_process()
 * handles what is ready.
 */
void mdm_snmp_prepare(void *fds, int *maxfd, int *timeout_ms);
void mdm_snmp_process(void *fds, int ready);

/* Stops Net-SNMP and frees everything it holds. */
void mdm_snmp_stop(void);

#ifdef __cplusplus
}
#endif

#endif

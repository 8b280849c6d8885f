/*
 * snmp_internal.h - what the files of agent/snmp share: the module state and
 * the MDM-HEALTH-MIB object identifiers (defined once, in mib_handlers.c).
 */
#ifndef MDM_SNMP_INTERNAL_H
#define MDM_SNMP_INTERNAL_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "agent/snmp/mdm_snmp.h"

#define MDM_DIAG_TARGETS_MAX 64u /* targets whose last diagnosis is kept in mdmDiagTable */

struct mdm_diag_slot {
    bool used;
    char target[256];
    struct mdm_diag_report report;
};

struct mdm_snmp_state {
    struct mdm_diag_slot diag[MDM_DIAG_TARGETS_MAX];
    struct mdm_engine *engine;
    struct mdm_agent_status *status;
    struct mdm_outbox *outbox;
    bool check_only;
    bool outbox_changed;
    mdm_snmp_reset_fn *reset; /* mdmMonitorReset's action, or NULL (not writable) */
    void *reset_ctx;
};

extern struct mdm_snmp_state mdm_snmp;

/* 1.3.6.1.4.1.8072.9999.9999: the provisional enterprise arc (see mib/MDM-HEALTH-MIB.txt). */
#define MDM_MIB_ROOT     1, 3, 6, 1, 4, 1, 8072, 9999, 9999
#define MDM_MIB_ROOT_LEN 9

/* mdmMonitorEntry columns */
enum {
    MDM_COL_INDEX = 1,
    MDM_COL_NAME,
    MDM_COL_DISPLAY_NAME,
    MDM_COL_TARGET,
    MDM_COL_STATE,
    MDM_COL_LAST_CHANGE,
    MDM_COL_LAST_EVENT_ID,
    MDM_COL_LAST_RECORD_ID,
    MDM_COL_LAST_DESCRIPTION,
    MDM_COL_ALERT_ACTIVE,
    MDM_COL_REPEAT_COUNT,
    MDM_COL_ALERT_SEVERITY,
    MDM_COL_ALERT_PRIORITY,
    MDM_COL_RESET,
    MDM_COL_TYPE,
};

/* mdmMonitorReset values */
enum { MDM_RESET_IDLE = 1, MDM_RESET_RESET = 2 };

/* Registers the MIB handlers. Returns 0 or a negative code. */
int mdm_mib_register(void);
void mdm_mib_unregister(void);

/*
 * The MDM-HEALTH-MIB name of scalar mdmAgent n from the handler's table, or
 * NULL past its last row (a test compares the table with the MIB file).
 */
const char *mdm_mib_agent_scalar_name(unsigned n);

/* Encodes ms since 1970 UTC as an 11-octet DateAndTime (all zero when ms is 0). */
size_t mdm_date_and_time(int64_t ms, u_char out[11]);

/* Column OID of mdmMonitorEntry (root.1.2.1.column), for notification varbinds. */
void mdm_mib_monitor_column(int column, unsigned row, oid *out, size_t *len);
/* Column OID of mdmDiagEntry (root.1.3.1.column). */
void mdm_mib_diag_column(int column, unsigned row, oid *out, size_t *len);

/* mdmDiagEntry columns */
enum {
    MDM_DCOL_INDEX = 1,
    MDM_DCOL_NAME,
    MDM_DCOL_STATUS,
    MDM_DCOL_DETAIL,
    MDM_DCOL_DIAGNOSIS,
    MDM_DCOL_RESOLVER,
    MDM_DCOL_LAST_RUN,
    MDM_DCOL_DURATION_MS,
    MDM_DCOL_TARGET,
};

/* Notification destinations (notify.c). */
void mdm_notify_register_directives(void);
void mdm_notify_free_destinations(void);
void mdm_notify_destinations_ready(void); /* after the configuration was read */

/*
 * The standard groups (std_mibs.c): Net-SNMP's system, sysORTable, snmp,
 * snmpEngine, MPD and USM statistics modules, started after init_agent() and
 * before the configuration is read. As a subagent only their directives are
 * accepted (the master serves them) and MDM-HEALTH-MIB's sysORTable entry is
 * sent to the master.
 */
void mdm_std_mibs_start(bool subagent);
/* After init_snmp(): lists MDM-HEALTH-MIB's compliance in sysORTable (the master's too). */
void mdm_std_mibs_ready(void);
void mdm_std_mibs_stop(void);

#endif

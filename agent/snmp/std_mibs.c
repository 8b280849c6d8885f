/*
 * std_mibs.c - the standard objects every SNMP manager reads first, served
 * by Net-SNMP's own MIB modules (libnetsnmpmibs), as snmpd serves them:
 *
 *   SNMPv2-MIB system group    mibII/system_mib (sysDescr ... sysServices,
 *                              and the sysdescr, syscontact, sysname,
 *                              syslocation, sysservices, sysobjectid
 *                              directives of snmpd.conf)
 *   SNMPv2-MIB sysORTable      mibII/sysORTable
 *   SNMPv2-MIB snmp group      mibII/snmp_mib (snmpInPkts ...,
 *                              snmpEnableAuthenTraps)
 *   SNMP-FRAMEWORK-MIB         snmpv3/snmpEngine (snmpEngineID, Boots,
 *                              Time, MaxMessageSize)
 *   SNMP-MPD-MIB               snmpv3/snmpMPDStats
 *   SNMP-USER-BASED-SM-MIB     snmpv3/usmStats (usmStats*)
 *
 * Only these modules are started, by their init functions: linking
 * libnetsnmpmibs starts nothing by itself (snmpd calls init_mib_modules()
 * for that; mdmhealth never does). The writable tables of those MIBs
 * (usmUserTable, the VACM tables) are not served: MDM-HEALTH-MIB's agent is
 * read-only, and users and access come from the configuration file.
 *
 * mdmhealth's own defaults replace Net-SNMP's compiled-in ones: sysDescr
 * names mdmhealth, its version, the host and the OS; sysObjectID is
 * mdmHealthAgent (MDM-HEALTH-MIB); sysContact and sysLocation are empty
 * (RFC 3418: unknown) rather than the placeholders a Net-SNMP build carries;
 * sysServices is 72 (end-to-end and application layers, as in snmpd);
 * snmpEnableAuthenTraps is false(2).
 * They are set just before every read of the configuration (start and
 * reload), so a line in the file wins and a line removed on reload gives
 * the default back. The system strings are thus configured values, which
 * system_mib makes read-only (notWritable), as all of mdmhealth's objects.
 *
 * As an AgentX subagent the master agent serves all of this: the modules are
 * not started and their directives are accepted and ignored (a file that
 * works for the embedded agent keeps working). Only the sysORTable entry of
 * MDM-HEALTH-MIB goes to the master (AgentX AddAgentCaps).
 */
#include "agent/snmp/snmp_internal.h"

#include "agent/os/mdm_log.h"
#include "agent/os/mdm_os.h"
#include "agent/common/mdm_version.h"

#include <net-snmp/agent/agent_sysORTable.h>
#include <net-snmp/agent/sysORTable.h>

#include <stdio.h>
#include <string.h>

/*
 * The init and shutdown functions of Net-SNMP's modules in libnetsnmpmibs
 * (agent/mibgroup/...): their headers are not installed, the functions are
 * exported.
 */
extern void init_system_mib(void);
extern void init_sysORTable(void);
extern void shutdown_sysORTable(void);
extern void init_snmp_mib(void);
extern void init_snmpEngine(void);
extern void init_snmpMPDStats(void);
extern void shutdown_snmpMPDStats(void);
extern void init_usmStats(void);
extern void shutdown_usmStats(void);

/* mdmHealthCompliance (MDM-HEALTH-MIB root.2.1.1), listed in sysORTable. */
static oid compliance_oid[] = {MDM_MIB_ROOT, 2, 1, 1};
/* mdmHealthAgent (root.3.1, mdmHealthProducts.1): the value of sysObjectID. */
static const oid product_oid[] = {MDM_MIB_ROOT, 3, 1};

/* The system group directives of snmpd.conf (mibII/system_mib). */
static const char *const system_directives[] = {
    "sysdescr", "syscontact", "sysname", "syslocation", "sysservices", "sysobjectid", NULL,
};

static bool modules_started;
static bool sysor_registered;
static bool defaults_registered;
static bool subagent_notice_logged;
static char sys_descr[256];
static char product_oid_text[128];

/* Calls the handler Net-SNMP registered for token with value, as a file line would. */
static void apply_default(const char *token, const char *value)
{
    const char *type = netsnmp_ds_get_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_APPTYPE);
    struct config_line *line;
    char buf[512];

    snprintf(buf, sizeof(buf), "%s", value);
    for (line = read_config_get_handlers(type); line != NULL; line = line->next) {
        if (line->config_token != NULL && strcmp(line->config_token, token) == 0 &&
            line->parse_line != NULL) {
            line->parse_line(token, buf);
            return;
        }
    }
}

static int set_defaults(int major, int minor, void *server_arg, void *client_arg)
{
    (void)major;
    (void)minor;
    (void)server_arg;
    (void)client_arg;
    apply_default("sysdescr", sys_descr);
    apply_default("sysobjectid", product_oid_text);
    apply_default("syscontact", "");
    apply_default("syslocation", "");
    /*
     * Layers 4 (end-to-end) and 7 (applications), as snmpd says; Debian's
     * build answers noSuchInstance for a sysServices nobody configured.
     */
    apply_default("sysservices", "72");
    /*
     * snmpEnableAuthenTraps false(2), as configured (so read-only, as all
     * of mdmhealth's objects): authenticationFailure notifications would go
     * to Net-SNMP's own trap sinks, which mdmhealth's delivery replaces.
     */
    apply_default("authtrapenable", "2");
    return 0;
}

/*
 * "mdmhealth VERSION on HOST, OS RELEASE ARCH", with "unknown" for what the
 * OS does not say; cut to sysDescr's 255 octets on a UTF-8 character boundary.
 */
static void describe_system(void)
{
    char host[256], os[200], text[600];
    size_t n;

    if (mdm_os_host_name(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown host");
    if (mdm_os_system_description(os, sizeof(os)) != 0)
        snprintf(os, sizeof(os), "unknown system");
    snprintf(text, sizeof(text), "mdmhealth %s on %s, %s", MDM_VERSION, host, os);
    n = strlen(text);
    if (n >= sizeof(sys_descr)) {
        n = sizeof(sys_descr) - 1;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(sys_descr, text, n);
    sys_descr[n] = '\0';
}

/* product_oid as the numeric text the sysobjectid directive takes (".1.3.6..."). */
static void format_product_oid(void)
{
    size_t used = 0;

    product_oid_text[0] = '\0';
    for (size_t i = 0; i < OID_LENGTH(product_oid); i++)
        used += (size_t)snprintf(product_oid_text + used, sizeof(product_oid_text) - used, ".%lu",
                                 (unsigned long)product_oid[i]);
}

static void ignore_system_directive(const char *token, char *line)
{
    (void)line;
    if (!subagent_notice_logged)
        mdm_log(MDM_LOG_INFO,
                "%s: ignored as an AgentX subagent (the master agent serves the system group)",
                token);
    subagent_notice_logged = true;
}

void mdm_std_mibs_start(bool subagent)
{
    if (subagent) {
        for (size_t i = 0; system_directives[i] != NULL; i++)
            register_app_config_handler(system_directives[i], ignore_system_directive, NULL, NULL);
    } else {
        describe_system();
        format_product_oid();
        init_system_mib();
        init_sysORTable();
        init_snmp_mib();
        init_snmpEngine();
        init_snmpMPDStats();
        init_usmStats();
        modules_started = true;
        snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_PRE_READ_CONFIG, set_defaults,
                               NULL);
        defaults_registered = true;
    }
}

void mdm_std_mibs_ready(void)
{
    /*
     * After the configuration was read: a subagent has then opened its
     * session with the master, and an entry registered now goes to it as
     * AgentX AddAgentCaps (an earlier one would be sent only after a
     * reconnection).
     */
    if (!sysor_registered &&
        register_sysORTable(compliance_oid, OID_LENGTH(compliance_oid),
                            "MDM-HEALTH-MIB: health of the SCMDM 2008 Enrollment Connection, "
                            "as evaluated by mdmhealth") == SYS_ORTABLE_REGISTERED_OK)
        sysor_registered = true;
}

void mdm_std_mibs_stop(void)
{
    if (sysor_registered)
        unregister_sysORTable(compliance_oid, OID_LENGTH(compliance_oid));
    sysor_registered = false;
    if (defaults_registered)
        snmp_unregister_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_PRE_READ_CONFIG, set_defaults,
                                 NULL, 1);
    defaults_registered = false;
    if (modules_started) {
        shutdown_usmStats();
        shutdown_snmpMPDStats();
        shutdown_sysORTable();
    }
    modules_started = false;
    subagent_notice_logged = false;
}

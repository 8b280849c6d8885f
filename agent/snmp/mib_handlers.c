/*
 * mib_handlers.c - MDM-HEALTH-MIB answers: the agent scalars and counters
 * (mdmAgent), and mdmMonitorTable from the monitor engine's rows, shaped
 * after Net-SNMP's mib2c scalar-group and table-iterator modules. One column
 * is writable, mdmMonitorReset; VACM (rwuser / access lines, authenticated
 * SNMPv3 only, config_snmp.c) decides who may write it.
 */
#include "agent/snmp/snmp_internal.h"

#include "agent/common/mdm_text.h"
#include "agent/common/mdm_version.h"
#include "agent/engine/pack.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static oid agent_oid[] = {MDM_MIB_ROOT, 1, 1};         /* mdmAgent */
static oid monitor_table_oid[] = {MDM_MIB_ROOT, 1, 2}; /* mdmMonitorTable */
static oid diag_table_oid[] = {MDM_MIB_ROOT, 1, 3};    /* mdmDiagTable */

static netsnmp_handler_registration *agent_reg, *monitor_reg, *diag_reg;

/*
 * The civil (proleptic Gregorian) date of a day count since 1970-01-01, by
 * arithmetic (H. Hinnant's civil_from_days) rather than gmtime(): gmtime
 * returns NULL for times it cannot represent (Windows: any year after 3000),
 * and an event's TimeCreated comes from the event, which may be hostile.
 */
static void civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */

    *day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

size_t mdm_date_and_time(int64_t ms, u_char out[11])
{
    int64_t secs, year;
    int64_t in_day;
    unsigned month, day;

    memset(out, 0, 11);
    if (ms <= 0)
        return 8;
    secs = ms / 1000;
    civil_from_days(secs / 86400, &year, &month, &day);
    if (year > 65535) /* DateAndTime's year has two octets: such a time is unknown */
        return 8;
    in_day = secs % 86400;
    out[0] = (u_char)(year >> 8);
    out[1] = (u_char)(year & 0xFF);
    out[2] = (u_char)month;
    out[3] = (u_char)day;
    out[4] = (u_char)(in_day / 3600);
    out[5] = (u_char)(in_day / 60 % 60);
    out[6] = (u_char)(in_day % 60);
    out[7] = (u_char)((ms % 1000) / 100);
    out[8] = '+';
    out[9] = 0;
    out[10] = 0;
    return 11;
}

void mdm_mib_monitor_column(int column, unsigned row, oid *out, size_t *len)
{
    static const oid entry[] = {MDM_MIB_ROOT, 1, 2, 1};
    size_t n = sizeof(entry) / sizeof(entry[0]);

    memcpy(out, entry, sizeof(entry));
    out[n] = (oid)column;
    out[n + 1] = row;
    *len = n + 2;
}

void mdm_mib_diag_column(int column, unsigned row, oid *out, size_t *len)
{
    static const oid entry[] = {MDM_MIB_ROOT, 1, 3, 1};
    size_t n = sizeof(entry) / sizeof(entry[0]);

    memcpy(out, entry, sizeof(entry));
    out[n] = (oid)column;
    out[n + 1] = row;
    *len = n + 2;
}

static void set_string(netsnmp_variable_list *var, const char *s)
{
    snmp_set_var_typed_value(var, ASN_OCTET_STR, s, strlen(s));
}

static void set_counter32(netsnmp_variable_list *var, uint64_t v)
{
    u_long c = (u_long)(v & 0xFFFFFFFFu);
    snmp_set_var_typed_value(var, ASN_COUNTER, &c, sizeof(c));
}

static void set_integer(netsnmp_variable_list *var, long v)
{
    snmp_set_var_typed_value(var, ASN_INTEGER, &v, sizeof(v));
}

static void set_date_and_time(netsnmp_variable_list *var, int64_t ms)
{
    u_char dt[11];

    snmp_set_var_typed_value(var, ASN_OCTET_STR, dt, mdm_date_and_time(ms, dt));
}

/* The mdmAgent scalars that are not a counter of struct mdm_agent_status. */
typedef void agent_scalar_fn(netsnmp_variable_list *var, const struct mdm_agent_status *st);

static void get_version(netsnmp_variable_list *var, const struct mdm_agent_status *st)
{
    (void)st;
    set_string(var, "mdmhealth " MDM_VERSION);
}

static void get_start_time(netsnmp_variable_list *var, const struct mdm_agent_status *st)
{
    set_date_and_time(var, st->start_ms);
}

static void get_source_state(netsnmp_variable_list *var, const struct mdm_agent_status *st)
{
    set_integer(var, st->source_state);
}

static void get_source_detail(netsnmp_variable_list *var, const struct mdm_agent_status *st)
{
    set_string(var, st->source_detail);
}

static void get_notifications_pending(netsnmp_variable_list *var, const struct mdm_agent_status *st)
{
    u_long g = (u_long)mdm_outbox_count(mdm_snmp.outbox);

    (void)st;
    snmp_set_var_typed_value(var, ASN_GAUGE, &g, sizeof(g));
}

static void get_queue_overflows(netsnmp_variable_list *var, const struct mdm_agent_status *st)
{
    (void)st;
    set_counter32(var, mdm_snmp.outbox->overflows);
}

static void get_pack_counts(netsnmp_variable_list *var, bool skipped)
{
    size_t loaded = 0, skip = 0;
    u_long g;

    if (mdm_snmp.engine != NULL)
        mdm_engine_pack_counts(mdm_snmp.engine, &loaded, &skip);
    g = (u_long)(skipped ? skip : loaded);
    snmp_set_var_typed_value(var, ASN_GAUGE, &g, sizeof(g));
}

static void get_monitors_loaded(netsnmp_variable_list *var, const struct mdm_agent_status *st)
{
    (void)st;
    get_pack_counts(var, false);
}

static void get_monitors_skipped(netsnmp_variable_list *var, const struct mdm_agent_status *st)
{
    (void)st;
    get_pack_counts(var, true);
}

/*
 * The mdmAgent scalars, keyed by their MDM-HEALTH-MIB names: row N is
 * mdmAgent N (OBJECT-TYPE ... ::= { mdmAgent N } in the MIB), so the table's
 * order is the MIB's and a new scalar is one new row at the end. A row is
 * either a Counter32 of struct mdm_agent_status (its offset) or a getter.
 */
#define COUNTER(field) offsetof(struct mdm_agent_status, field), NULL
#define GETTER(fn)     0, fn
static const struct {
    const char *mib_name;
    size_t counter_offset; /* of a uint64_t in struct mdm_agent_status, when get is NULL */
    agent_scalar_fn *get;
} agent_scalars[] = {
    {NULL, GETTER(NULL)}, /* mdmAgent 0 does not exist */
    {"mdmAgentVersion", GETTER(get_version)},
    {"mdmAgentStartTime", GETTER(get_start_time)},
    {"mdmAgentSourceState", GETTER(get_source_state)},
    {"mdmAgentSourceDetail", GETTER(get_source_detail)},
    {"mdmEventsRead", COUNTER(events_read)},
    {"mdmEventsMatched", COUNTER(events_matched)},
    {"mdmEventsDamaged", COUNTER(events_damaged)},
    {"mdmNotificationsSent", COUNTER(notifications_sent)},
    {"mdmNotificationsFailed", COUNTER(notifications_failed)},
    {"mdmNotificationsPending", GETTER(get_notifications_pending)},
    {"mdmNotificationsQueueOverflows", GETTER(get_queue_overflows)},
    {"mdmRenderFailures", COUNTER(render_failures)},
    {"mdmResubscriptions", COUNTER(resubscriptions)},
    {"mdmPackMonitorsLoaded", GETTER(get_monitors_loaded)},
    {"mdmPackMonitorsSkipped", GETTER(get_monitors_skipped)},
};
#undef COUNTER
#undef GETTER
#define AGENT_SCALAR_LAST (sizeof(agent_scalars) / sizeof(agent_scalars[0]) - 1)

const char *mdm_mib_agent_scalar_name(unsigned n)
{
    return n <= AGENT_SCALAR_LAST ? agent_scalars[n].mib_name : NULL;
}

static int agent_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
                         netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    (void)handler;
    (void)reg;

    if (reqinfo->mode != MODE_GET)
        return SNMP_ERR_NOERROR;
    for (netsnmp_request_info *r = requests; r != NULL; r = r->next) {
        netsnmp_variable_list *var = r->requestvb;
        /* The scalar-group helper passes reg with the instance as root: index our own OID. */
        oid item = var->name_length > OID_LENGTH(agent_oid) ? var->name[OID_LENGTH(agent_oid)] : 0;
        uint64_t counter;

        if (item < 1 || item > AGENT_SCALAR_LAST) {
            netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHOBJECT);
            continue;
        }
        if (agent_scalars[item].get != NULL) {
            agent_scalars[item].get(var, mdm_snmp.status);
            continue;
        }
        memcpy(&counter, (const char *)mdm_snmp.status + agent_scalars[item].counter_offset,
               sizeof(counter));
        set_counter32(var, counter);
    }
    return SNMP_ERR_NOERROR;
}

/*
 * The table iterator walks the engine's rows in index order; the loop
 * context is the next position in the engine's instance array.
 */
static netsnmp_variable_list *monitor_next(void **loop_ctx, void **data_ctx,
                                           netsnmp_variable_list *index,
                                           netsnmp_iterator_info *info)
{
    size_t i = (size_t)(uintptr_t)*loop_ctx;
    struct mdm_instance *inst;
    u_long row;
    (void)info;

    if (mdm_snmp.engine == NULL || i >= mdm_engine_instance_count(mdm_snmp.engine))
        return NULL;
    inst = mdm_engine_instance(mdm_snmp.engine, i);
    row = inst->index;
    snmp_set_var_typed_value(index, ASN_UNSIGNED, &row, sizeof(row));
    *data_ctx = inst;
    *loop_ctx = (void *)(uintptr_t)(i + 1);
    return index;
}

static netsnmp_variable_list *monitor_first(void **loop_ctx, void **data_ctx,
                                            netsnmp_variable_list *index,
                                            netsnmp_iterator_info *info)
{
    *loop_ctx = (void *)(uintptr_t)0;
    return monitor_next(loop_ctx, data_ctx, index, info);
}

void mdm_snmp_set_reset_handler(mdm_snmp_reset_fn *fn, void *ctx)
{
    mdm_snmp.reset = fn;
    mdm_snmp.reset_ctx = ctx;
}

/*
 * SET of mdmMonitorReset (mib2c's RESERVE1 / ... / COMMIT sequence): every
 * check is made in RESERVE1, so that COMMIT, which may not fail by
 * protocol, only acts. A reset cannot be undone, so it is done in COMMIT,
 * after every varbind of the request was accepted.
 */
static int monitor_set(netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    for (netsnmp_request_info *r = requests; r != NULL; r = r->next) {
        const struct mdm_instance *inst = netsnmp_extract_iterator_context(r);
        netsnmp_table_request_info *ti = netsnmp_extract_table_info(r);
        netsnmp_variable_list *var = r->requestvb;
        int rc;

        if (r->processed)
            continue;
        switch (reqinfo->mode) {
        case MODE_SET_RESERVE1:
            if (ti == NULL || ti->colnum != MDM_COL_RESET || mdm_snmp.reset == NULL) {
                netsnmp_set_request_error(reqinfo, r, SNMP_ERR_NOTWRITABLE);
            } else if (inst == NULL) {
                netsnmp_set_request_error(reqinfo, r, SNMP_ERR_NOCREATION);
            } else if ((rc = netsnmp_check_vb_type(var, ASN_INTEGER)) != SNMP_ERR_NOERROR) {
                netsnmp_set_request_error(reqinfo, r, rc);
            } else if (*var->val.integer != MDM_RESET_IDLE &&
                       *var->val.integer != MDM_RESET_RESET) {
                netsnmp_set_request_error(reqinfo, r, SNMP_ERR_WRONGVALUE);
            }
            break;
        case MODE_SET_COMMIT:
            if (inst != NULL && *var->val.integer == MDM_RESET_RESET && mdm_snmp.reset != NULL &&
                mdm_snmp.reset(mdm_snmp.reset_ctx, inst->def->id,
                               mdm_engine_target(mdm_snmp.engine, inst->target)) != 0)
                netsnmp_set_request_error(reqinfo, r, SNMP_ERR_COMMITFAILED);
            break;
        default: /* RESERVE2, ACTION, UNDO, FREE: nothing held, nothing to undo */
            break;
        }
    }
    return SNMP_ERR_NOERROR;
}

static int monitor_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
                           netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    (void)handler;
    (void)reg;
    if (reqinfo->mode != MODE_GET)
        return monitor_set(reqinfo, requests);
    for (netsnmp_request_info *r = requests; r != NULL; r = r->next) {
        const struct mdm_instance *inst = netsnmp_extract_iterator_context(r);
        netsnmp_table_request_info *ti = netsnmp_extract_table_info(r);
        netsnmp_variable_list *var = r->requestvb;
        const struct mdm_monitor_state *st;
        char text[32];
        u_long u;

        if (inst == NULL || ti == NULL) {
            netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHINSTANCE);
            continue;
        }
        st = &inst->state;
        switch (ti->colnum) {
        case MDM_COL_NAME:
            set_string(var, inst->def->id);
            break;
        case MDM_COL_DISPLAY_NAME:
            set_string(var, inst->def->display_name ? inst->def->display_name : inst->def->id);
            break;
        case MDM_COL_TARGET:
            set_string(var, mdm_engine_target(mdm_snmp.engine, inst->target));
            break;
        case MDM_COL_STATE:
            set_integer(var, st->health);
            break;
        case MDM_COL_LAST_CHANGE:
            set_date_and_time(var, st->last_change_ms);
            break;
        case MDM_COL_LAST_EVENT_ID:
            u = st->last_event_id;
            snmp_set_var_typed_value(var, ASN_UNSIGNED, &u, sizeof(u));
            break;
        case MDM_COL_LAST_RECORD_ID:
            if (st->last_record_id == 0 && st->health == MDM_HEALTH_UNKNOWN)
                text[0] = '\0';
            else
                snprintf(text, sizeof(text), "%" PRIu64, st->last_record_id);
            set_string(var, text);
            break;
        case MDM_COL_LAST_DESCRIPTION:
            set_string(var, st->last_description);
            break;
        case MDM_COL_ALERT_ACTIVE:
            set_integer(var, st->alert_active ? 1 : 2); /* TruthValue */
            break;
        case MDM_COL_REPEAT_COUNT:
            set_counter32(var, st->repeat_count);
            break;
        case MDM_COL_ALERT_SEVERITY:
            set_integer(var, st->alert_severity);
            break;
        case MDM_COL_ALERT_PRIORITY:
            set_integer(var, inst->def->priority);
            break;
        case MDM_COL_RESET:
            set_integer(var, MDM_RESET_IDLE);
            break;
        case MDM_COL_TYPE:
            set_string(var, inst->def->type_id ? inst->def->type_id : "");
            break;
        default:
            netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHOBJECT);
            break;
        }
    }
    return SNMP_ERR_NOERROR;
}

/*
 * mdmDiagTable: slot s (one per target), check i -> row s * MDM_CHECKS_MAX + i + 1.
 * The loop context is the next (slot, check) position as one number.
 */
static netsnmp_variable_list *diag_next(void **loop_ctx, void **data_ctx,
                                        netsnmp_variable_list *index, netsnmp_iterator_info *info)
{
    size_t pos = (size_t)(uintptr_t)*loop_ctx;
    (void)info;

    for (; pos < MDM_DIAG_TARGETS_MAX * MDM_CHECKS_MAX; pos++) {
        size_t slot = pos / MDM_CHECKS_MAX, i = pos % MDM_CHECKS_MAX;
        const struct mdm_diag_slot *d = &mdm_snmp.diag[slot];
        if (d->used && i < d->report.check_count) {
            u_long row = (u_long)pos + 1;
            snmp_set_var_typed_value(index, ASN_UNSIGNED, &row, sizeof(row));
            *data_ctx = (void *)(uintptr_t)(pos + 1);
            *loop_ctx = (void *)(uintptr_t)(pos + 1);
            return index;
        }
    }
    return NULL;
}

static netsnmp_variable_list *diag_first(void **loop_ctx, void **data_ctx,
                                         netsnmp_variable_list *index, netsnmp_iterator_info *info)
{
    *loop_ctx = (void *)(uintptr_t)0;
    return diag_next(loop_ctx, data_ctx, index, info);
}

/* The diagnosis established by check i of a report, or NULL. */
static const struct mdm_diagnosis *diagnosis_of(const struct mdm_diag_report *r, size_t i)
{
    for (size_t k = 0; k < r->diagnosis_count; k++)
        if (r->diagnoses[k].check != NULL && strcmp(r->diagnoses[k].check, r->checks[i].name) == 0)
            return &r->diagnoses[k];
    return NULL;
}

static int diag_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
                        netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    (void)handler;
    (void)reg;
    if (reqinfo->mode != MODE_GET)
        return SNMP_ERR_NOERROR;
    for (netsnmp_request_info *r = requests; r != NULL; r = r->next) {
        uintptr_t pos1 = (uintptr_t)netsnmp_extract_iterator_context(r);
        netsnmp_table_request_info *ti = netsnmp_extract_table_info(r);
        netsnmp_variable_list *var = r->requestvb;
        const struct mdm_diag_slot *d;
        const struct mdm_check_result *c;
        const struct mdm_diagnosis *dg;
        size_t slot, i;
        u_long u;

        if (pos1 == 0 || ti == NULL) {
            netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHINSTANCE);
            continue;
        }
        slot = (pos1 - 1) / MDM_CHECKS_MAX;
        i = (pos1 - 1) % MDM_CHECKS_MAX;
        d = &mdm_snmp.diag[slot];
        c = &d->report.checks[i];
        dg = diagnosis_of(&d->report, i);
        switch (ti->colnum) {
        case MDM_DCOL_NAME:
            set_string(var, c->name);
            break;
        case MDM_DCOL_STATUS:
            set_integer(var, c->status);
            break;
        case MDM_DCOL_DETAIL:
            /* SnmpAdminString: at most 255 octets, cut on a character boundary. */
            snmp_set_var_typed_value(var, ASN_OCTET_STR, c->detail,
                                     mdm_utf8_cut(c->detail, strlen(c->detail), 255));
            break;
        case MDM_DCOL_DIAGNOSIS:
            set_string(var, dg ? dg->diagnosis : "");
            break;
        case MDM_DCOL_RESOLVER:
            set_string(var, dg ? dg->resolver : "");
            break;
        case MDM_DCOL_LAST_RUN:
            set_date_and_time(var, d->report.started_ms);
            break;
        case MDM_DCOL_DURATION_MS:
            u = c->duration_ms > 0 ? (u_long)c->duration_ms : 0;
            snmp_set_var_typed_value(var, ASN_UNSIGNED, &u, sizeof(u));
            break;
        case MDM_DCOL_TARGET:
            set_string(var, d->target);
            break;
        default:
            netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHOBJECT);
            break;
        }
    }
    return SNMP_ERR_NOERROR;
}

void mdm_snmp_set_diagnosis(const char *target, const struct mdm_diag_report *report,
                            unsigned rows[MDM_CHECKS_MAX])
{
    size_t slot = MDM_DIAG_TARGETS_MAX;

    for (size_t s = 0; s < MDM_DIAG_TARGETS_MAX && slot == MDM_DIAG_TARGETS_MAX; s++)
        if (mdm_snmp.diag[s].used && strcmp(mdm_snmp.diag[s].target, target) == 0)
            slot = s;
    for (size_t s = 0; s < MDM_DIAG_TARGETS_MAX && slot == MDM_DIAG_TARGETS_MAX; s++)
        if (!mdm_snmp.diag[s].used)
            slot = s;
    if (slot == MDM_DIAG_TARGETS_MAX)
        slot = 0; /* full: the first target's rows give way */
    mdm_snmp.diag[slot].used = true;
    mdm_utf8_copy(mdm_snmp.diag[slot].target, sizeof(mdm_snmp.diag[slot].target), target);
    mdm_snmp.diag[slot].report = *report;
    for (size_t i = 0; rows != NULL && i < MDM_CHECKS_MAX; i++)
        rows[i] = (unsigned)(slot * MDM_CHECKS_MAX + i + 1);
}

/*
 * Registers a table indexed by one Unsigned32, walked by the iterator helper
 * with first/next (mib2c's table_iterator shape); modes is HANDLER_CAN_RONLY
 * or HANDLER_CAN_RWRITE.
 */
static int register_table(const char *name, Netsnmp_Node_Handler *handler, const oid *root,
                          size_t root_len, int modes, unsigned min_column, unsigned max_column,
                          Netsnmp_First_Data_Point *first, Netsnmp_Next_Data_Point *next,
                          netsnmp_handler_registration **out)
{
    netsnmp_handler_registration *reg =
        netsnmp_create_handler_registration(name, handler, root, root_len, modes);
    netsnmp_table_registration_info *table = SNMP_MALLOC_TYPEDEF(netsnmp_table_registration_info);
    netsnmp_iterator_info *iter = SNMP_MALLOC_TYPEDEF(netsnmp_iterator_info);

    if (reg == NULL || table == NULL || iter == NULL) {
        SNMP_FREE(table);
        SNMP_FREE(iter);
        return MDM_ENOMEM;
    }
    netsnmp_table_helper_add_indexes(table, ASN_UNSIGNED, 0);
    table->min_column = min_column;
    table->max_column = max_column;
    iter->get_first_data_point = first;
    iter->get_next_data_point = next;
    iter->table_reginfo = table;
    if (netsnmp_register_table_iterator2(reg, iter) != SNMPERR_SUCCESS)
        return MDM_ENOMEM;
    *out = reg;
    return 0;
}

int mdm_mib_register(void)
{
    int rc;

    agent_reg = netsnmp_create_handler_registration("mdmAgent", agent_handler, agent_oid,
                                                    OID_LENGTH(agent_oid), HANDLER_CAN_RONLY);
    if (agent_reg == NULL ||
        netsnmp_register_scalar_group(agent_reg, 1, AGENT_SCALAR_LAST) != SNMPERR_SUCCESS)
        return MDM_ENOMEM;
    rc = register_table("mdmMonitorTable", monitor_handler, monitor_table_oid,
                        OID_LENGTH(monitor_table_oid), HANDLER_CAN_RWRITE, MDM_COL_NAME,
                        MDM_COL_TYPE, monitor_first, monitor_next, &monitor_reg);
    if (rc == 0)
        rc = register_table("mdmDiagTable", diag_handler, diag_table_oid,
                            OID_LENGTH(diag_table_oid), HANDLER_CAN_RONLY, MDM_DCOL_NAME,
                            MDM_DCOL_TARGET, diag_first, diag_next, &diag_reg);
    return rc;
}

void mdm_mib_unregister(void)
{
    if (agent_reg != NULL)
        netsnmp_unregister_handler(agent_reg);
    if (monitor_reg != NULL)
        netsnmp_unregister_handler(monitor_reg);
    if (diag_reg != NULL)
        netsnmp_unregister_handler(diag_reg);
    agent_reg = monitor_reg = diag_reg = NULL;
}

/*
 * pack.h - management pack loader.
 *
 * Reads <UnitMonitor> elements from a whole <ManagementPack> (with its
 * LanguagePacks / DisplayStrings for alert text) or from a bare fragment such
 * as the one on the management-pack page, and compiles them into monitor
 * definitions. Only Microsoft.Windows.2SingleEventLog2StateMonitorType is
 * implemented; any other monitor type, unknown element or unsupported
 * expression is an error naming the element and the file position, never
 * silently ignored.
 */
#ifndef MDM_PACK_H
#define MDM_PACK_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "expr.h"
#include "mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Health states; the numbers are those of mdmMonitorState in MDM-HEALTH-MIB. */
enum mdm_health {
    MDM_HEALTH_UNKNOWN = 0,
    MDM_HEALTH_HEALTHY = 1,
    MDM_HEALTH_WARNING = 2,
    MDM_HEALTH_ERROR = 3,
};

enum mdm_severity {
    MDM_SEVERITY_NONE = 0,
    MDM_SEVERITY_INFORMATION = 1,
    MDM_SEVERITY_WARNING = 2,
    MDM_SEVERITY_CRITICAL = 3,
};

enum mdm_priority {
    MDM_PRIORITY_LOW = 0,
    MDM_PRIORITY_NORMAL = 1,
    MDM_PRIORITY_HIGH = 2,
};

/* How an alert parameter or a ComputerName is resolved for one event. */
enum mdm_param_kind {
    MDM_PARAM_LITERAL,     /* text as written */
    MDM_PARAM_EVENT_FIELD, /* $Data/Context/NAME$ (or $Data/NAME$) */
    MDM_PARAM_TARGET_NAME, /* $Target/.../NetworkName$ and similar: the target computer */
    MDM_PARAM_MONITOR_ID,  /* $MPElement$ */
};

struct mdm_param {
    enum mdm_param_kind kind;
    char *text; /* MDM_PARAM_LITERAL: the text; otherwise the reference as written */
    struct mdm_field_ref field;
};

/* One of the two event detectors of the monitor type (First / Second). */
struct mdm_detector {
    struct mdm_param computer; /* FirstComputerName / SecondComputerName */
    char *log_name;            /* FirstLogName / SecondLogName */
    struct mdm_expr *expr;     /* FirstExpression / SecondExpression */
    enum mdm_health health;    /* from OperationalStates */
    char *state_id;            /* OperationalState/@ID, e.g. "Success" */
};

#define MDM_ALERT_PARAMS_MAX 10

struct mdm_monitor_def {
    char *id;           /* UnitMonitor/@ID */
    char *display_name; /* DisplayString Name, or NULL */
    char *target_class; /* UnitMonitor/@Target */
    char *type_id;      /* UnitMonitor/@TypeID as written */
    bool enabled;       /* false only for Enabled="false" */
    bool remotable;
    bool confirm_delivery;
    long line; /* line of <UnitMonitor> */

    struct mdm_detector detectors[2]; /* [0] First, [1] Second */

    bool alert_generate; /* <AlertSettings> present */
    enum mdm_health alert_on_state;
    bool auto_resolve;
    bool severity_matches_health; /* AlertSeverity=MatchMonitorHealth */
    enum mdm_severity severity;   /* otherwise the fixed severity */
    enum mdm_priority priority;
    char *alert_message_id;  /* AlertSettings/@AlertMessage */
    char *alert_name;        /* its DisplayString Name, or the ID */
    char *alert_description; /* its DisplayString Description, or NULL */
    struct mdm_param alert_params[MDM_ALERT_PARAMS_MAX];
    size_t alert_param_count;
};

struct mdm_pack {
    char *origin; /* file name, or "(built-in)" */
    char *id;     /* Manifest/Identity/ID, or NULL for a fragment */
    struct mdm_monitor_def *monitors;
    size_t monitor_count;
};

/*
 * Loads a pack from a file. On success *out is owned by the caller
 * (mdm_pack_free). Errors are "FILE:LINE: message" in err, with
 * MDM_EPARSE (malformed), MDM_EUNSUPPORTED (valid but not implemented),
 * MDM_EIO or MDM_ENOMEM.
 */
int mdm_pack_load_file(const char *path, struct mdm_pack **out, struct mdm_err *err);
/* Same, from memory; `origin` names the data in messages. */
int mdm_pack_load_memory(const char *data, size_t len, const char *origin, struct mdm_pack **out,
                         struct mdm_err *err);
/* Loads the pack compiled into the binary (packs/enrollment-connection.xml). */
int mdm_pack_load_default(struct mdm_pack **out, struct mdm_err *err);
void mdm_pack_free(struct mdm_pack *pack);

const char *mdm_health_name(enum mdm_health health);       /* "unknown", "healthy", ... */
const char *mdm_severity_name(enum mdm_severity severity); /* "none", "critical", ... */
const char *mdm_priority_name(enum mdm_priority priority); /* "low", "normal", "high" */

/* The alert severity for a monitor entering `health`. */
enum mdm_severity mdm_monitor_alert_severity(const struct mdm_monitor_def *def,
                                             enum mdm_health health);

#ifdef __cplusplus
}
#endif

#endif

/*
 * pack.h - management pack loader.
 *
 * Reads <UnitMonitor> elements from one or several management packs as
 * operators have them: whole <ManagementPack> XML (authored or exported from
 * a sealed pack, UTF-8 or UTF-16 with a byte order mark, any line ends), VSAE
 * <ManagementPackFragment> files (.mpx) or a bare <UnitMonitor> as on the
 * management-pack pages, with the overrides they carry. Monitor types are
 * resolved through the Manifest's <References> (pack ID + type name, never
 * the alias text).
 *
 * The loader is tolerant: every monitor the engine can evaluate (the
 * Microsoft.Windows.Library event-log types of docs/monitor.md, and the
 * UnitMonitorTypes the packs compose from supported modules) is loaded;
 * every other one is skipped and recorded with its file, line, ID, type and
 * the reason, never silently ignored and never a reason to refuse the others.
 * A pack set in which nothing can be evaluated is an error, and so is any
 * skip in strict mode. Malformed XML or a monitor that breaks the schema
 * (no ID, no TypeID, a bad health state...) is an error naming the file and
 * position.
 */
#ifndef MDM_PACK_H
#define MDM_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wevt/event.h"
#include "agent/engine/expr.h"
#include "agent/common/mdm_err.h"

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
    struct mdm_field_ref *field; /* MDM_PARAM_EVENT_FIELD: the field (owned); NULL otherwise */
};

/*
 * The composition of a monitor type, as SCOM runs it: event data sources
 * (Microsoft.Windows.EventProvider: log, computer, System.ExpressionFilter),
 * each optionally followed by a condition detection, whose output is a
 * RegularDetection of one MonitorTypeState; and how the unhealthy state ends
 * (another RegularDetection, a timer, or an OnDemandDetection = manual reset).
 */
enum mdm_condition {
    MDM_CONDITION_NONE = 0,     /* every matching event is a detection */
    MDM_CONDITION_CONSOLIDATOR, /* System.ConsolidatorCondition: Count matches within Interval */
    /* The missing-event types' consolidator (OnNewItemNOP_OnTimerOutputRestart
     * on a recurring schedule): matches are counted; at the end of every
     * Interval with none, the detection. */
    MDM_CONDITION_MISSING,
    /* System.CorrelatorAutoMissingCondition: a match of this (primary) source
     * opens a window of Interval; fewer than Count matches of the correlated
     * (secondary) source, detector `partner`, within it is the detection at
     * its end. */
    MDM_CONDITION_CORRELATOR_MISSING,
};

/* System.ConsolidatorCondition CountMode values mdmhealth implements. */
enum mdm_count_mode {
    /* OnNewItemTestOutputRestart_OnTimerRestart: the window opens at the first
     * match and lasts Interval; at its end the count restarts at zero. */
    MDM_COUNT_WINDOW_RESTART = 0,
    /* OnNewItemTestOutputRestart_OnTimerSlideByOne: the last Interval seconds
     * (a sliding window over the matches' times). */
    MDM_COUNT_SLIDING,
};

#define MDM_REPEAT_COUNT_MAX 1024u
#define MDM_DETECTORS_MAX                                                                          \
    4u /* RegularDetections of a composed type */ /* larger consolidator Counts are skipped */

enum mdm_reset_kind {
    MDM_RESET_EVENT = 0, /* the second detector's event (2SingleEventLog2State...) */
    MDM_RESET_TIMER,     /* TimerEventRaised after TimerWaitInSeconds (System.SchedulerFilter) */
    MDM_RESET_MANUAL,    /* ManualResetEventRaised: an OnDemandDetection (mdm_engine_reset) */
};

/* One event detector of the monitor type (First / Second). */
struct mdm_detector {
    struct mdm_param computer; /* FirstComputerName / SecondComputerName */
    char *log_name;            /* FirstLogName / SecondLogName */
    struct mdm_expr *expr;     /* FirstExpression / SecondExpression */
    struct mdm_expr *filter;   /* composed types: a System.ExpressionFilter after the source */
    enum mdm_health health;    /* from OperationalStates */
    char *state_id;            /* OperationalState/@ID, e.g. "Success" */
    enum mdm_condition condition;
    unsigned repeat_count;      /* consolidator: Count */
    int64_t repeat_interval_ms; /* consolidator: Interval (seconds in the pack) */
    enum mdm_count_mode count_mode;
    /*
     * A correlator's secondary input (System.CorrelatorAutoMissingCondition's
     * second Node): not a detection of its own; its matches count in the
     * window of detector `partner`.
     */
    bool correlated_input;
    unsigned partner;
    bool restart_on_new; /* correlator: CorrelationItemPolicy MostRecentItem */
};

#define MDM_ALERT_PARAMS_MAX 10

struct mdm_monitor_def {
    char *id;           /* UnitMonitor/@ID */
    char *origin;       /* the file it was read from */
    char *display_name; /* DisplayString Name, or NULL */
    char *target_class; /* UnitMonitor/@Target */
    char *type_id;      /* UnitMonitor/@TypeID as written */
    bool enabled;       /* false only for Enabled="false" */
    bool remotable;
    bool confirm_delivery;
    long line; /* line of <UnitMonitor> */

    struct mdm_detector detectors[MDM_DETECTORS_MAX]; /* [0] First, [1] Second, ... */
    size_t detector_count;        /* 2, 1 for the single-event types, up to 4 for composed types */
    enum mdm_reset_kind reset;    /* how the detected state ends, besides detector 2 */
    enum mdm_health reset_health; /* health of TimerEventRaised / ManualResetEventRaised */
    char *reset_state_id;         /* OperationalState/@ID of that state */
    int64_t timer_ms;             /* MDM_RESET_TIMER: TimerWaitInSeconds */

    /*
     * Microsoft.Windows.CheckNTServiceStateMonitorType: not an event monitor
     * (detector_count 0). detectors[0] holds the health and state ID of
     * "Running", detectors[1] those of "NotRunning"; the engine asks its
     * service probe (mdm_engine_set_service_probe) every probe_interval_ms.
     */
    char *service_name;      /* <ServiceName>, or NULL for an event monitor */
    bool check_startup_type; /* <CheckStartupType>true: a stopped service that does
                                not start automatically is not "NotRunning" */
    int64_t probe_interval_ms;

    bool alert_generate; /* <AlertSettings> present */
    enum mdm_health alert_on_state;
    bool auto_resolve;
    bool severity_matches_health; /* AlertSeverity=MatchMonitorHealth */
    enum mdm_severity severity;   /* otherwise the fixed severity */
    enum mdm_priority priority;
    char *alert_message_id;  /* AlertSettings/@AlertMessage */
    char *alert_name;        /* its DisplayString Name, or the ID */
    char *alert_description; /* its DisplayString Description, or NULL */
    /* AlertParameter1..N (N <= MDM_ALERT_PARAMS_MAX), sized to the highest given; NULL when none.
     */
    struct mdm_param *alert_params;
    size_t alert_param_count;
};

/* A monitor the loader did not load, and why. */
struct mdm_pack_skip {
    char *file;   /* the pack file */
    long line;    /* line of its <UnitMonitor> */
    char *id;     /* UnitMonitor/@ID */
    char *type;   /* UnitMonitor/@TypeID as written */
    char *reason; /* one phrase, e.g. "type X: not supported yet" */
};

enum mdm_override_outcome {
    MDM_OVERRIDE_APPLIED,     /* changed a monitor of the set */
    MDM_OVERRIDE_NOT_APPLIED, /* targets a monitor of the set but cannot be applied */
    MDM_OVERRIDE_UNUSED,      /* its monitor is skipped or not in the loaded packs */
};

/* One MonitorPropertyOverride / MonitorConfigurationOverride and its outcome. */
struct mdm_pack_override {
    char *file;
    long line;
    char *id;      /* the override's ID */
    char *monitor; /* the Monitor attribute as written */
    char *setting; /* "Enabled = false", "FirstLogName = System"... */
    enum mdm_override_outcome outcome;
    char *why; /* for NOT_APPLIED / UNUSED: the reason; NULL when applied */
};

struct mdm_pack {
    char *origin; /* the first file name, or "(built-in)" */
    char *id;     /* the first pack's Manifest/Identity/ID, or NULL for a fragment */
    size_t file_count;
    struct mdm_monitor_def *monitors; /* the monitors that are evaluated */
    size_t monitor_count;
    struct mdm_pack_skip *skips; /* the monitors that are not, in document order */
    size_t skip_count;
    struct mdm_pack_override *overrides; /* monitor overrides found, in document order */
    size_t override_count;
    size_t other_override_count; /* overrides of rules, discoveries...: not for mdmhealth */
};

/* One pack held in memory; `origin` names it in messages. */
struct mdm_pack_source {
    const char *origin;
    const char *data;
    size_t len;
};

struct mdm_buf;

struct mdm_pack_options {
    /* Every skipped monitor, and every override that targets a loaded monitor
     * but cannot be applied, is an error (MDM_EUNSUPPORTED). */
    bool strict;
    /* When loading fails because of skips (nothing can be evaluated, or
     * strict), receives every skip line and every override that could not be
     * applied, one "FILE:LINE: ...\n" each; may be NULL. */
    struct mdm_buf *details;
};

/*
 * Loads several packs as one set: their monitors, the overrides of any of
 * them applied to all (an override pack loaded alongside), monitor IDs unique
 * across the set. `opt` may be NULL (tolerant). On success *out is owned by
 * the caller (mdm_pack_free). Errors are "FILE:LINE: message" in err, with
 * MDM_EPARSE (malformed), MDM_EUNSUPPORTED (nothing can be evaluated, or a
 * skip in strict mode; the skip lines go to opt->details), MDM_EINVAL (a
 * monitor ID given twice), MDM_ETOOBIG, MDM_EIO or MDM_ENOMEM.
 */
int mdm_pack_load_sources(const struct mdm_pack_source *sources, size_t count,
                          const struct mdm_pack_options *opt, struct mdm_pack **out,
                          struct mdm_err *err);
/* Same, reading each file (at most MDM_PACK_FILES_MAX). */
int mdm_pack_load_files(const char *const *paths, size_t count, const struct mdm_pack_options *opt,
                        struct mdm_pack **out, struct mdm_err *err);
#define MDM_PACK_FILES_MAX 64

/* One file, tolerant (no options). */
int mdm_pack_load_file(const char *path, struct mdm_pack **out, struct mdm_err *err);
/* One pack in memory, tolerant; `origin` names the data in messages. */
int mdm_pack_load_memory(const char *data, size_t len, const char *origin, struct mdm_pack **out,
                         struct mdm_err *err);
/* Loads the pack compiled into the binary (packs/enrollment-connection.xml). */
int mdm_pack_load_default(struct mdm_pack **out, struct mdm_err *err);
void mdm_pack_free(struct mdm_pack *pack);

/* Appends "FILE:LINE: skipped monitor ID (type TYPE): REASON\n". */
int mdm_pack_format_skip(const struct mdm_pack_skip *skip, struct mdm_buf *b);
/* Appends "FILE:LINE: override ID (Monitor=...: SETTING): OUTCOME\n". */
int mdm_pack_format_override(const struct mdm_pack_override *o, struct mdm_buf *b);
/*
 * Appends the summary: "N monitor(s) loaded, M skipped" and, with
 * by_reason, one line per distinct reason with its count (most frequent
 * first), each line ending in '\n'. Without by_reason: one line, no '\n'.
 */
int mdm_pack_format_summary(const struct mdm_pack *pack, bool by_reason, struct mdm_buf *b);
/* Overrides that target a loaded monitor but could not be applied. */
size_t mdm_pack_unapplied_override_count(const struct mdm_pack *pack);

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

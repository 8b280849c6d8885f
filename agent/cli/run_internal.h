/*
 * run_internal.h - the parts of `mdmhealth run` (agent/cli/run*.c) and what
 * they share: the agent's state and the functions one part calls in another.
 *
 *   run.c              the agent's life: start, the turn of the loop, stop
 *   run_sources.c      the event sources: open, retry, read, evaluate
 *   run_state.c        the state file: extra lines, saving with retries, engines
 *   run_diag.c         the diagnoser: runs after alerts, periodic re-runs
 *   run_reload.c       SIGHUP / PARAMCHANGE: a new configuration, state kept
 *   run_snmp.c         Net-SNMP's select-info model on the loop, delivery timer
 *   run_engine_timer.c the engine's own deadlines (time-based monitors)
 *
 * Everything happens on the loop's thread (mdm_loop.h), except the
 * diagnoser's report, which comes back under diag_lock and a wake-up.
 */
#ifndef MDM_RUN_INTERNAL_H
#define MDM_RUN_INTERNAL_H

#include "agent/cli/cli.h"

#include "agent/os/mdm_loop.h"
#include "agent/snmp/mdm_snmp.h"
#include "agent/os/mdm_thread.h"
#include "agent/snmp/outbox.h"
#include "wevt/source.h"

#include <stdbool.h>
#include <stdint.h>

#define PUMP_BATCH       512 /* events per loop turn over all sources, so SNMP stays responsive */
#define PUMP_SHARE_MIN   16  /* events per source and loop turn, at least */
#define SOURCE_RETRY_MS  10000
#define POSITION_KEYWORD "source-position"

#define SAVE_RETRY_FIRST_MS 1000
#define SAVE_RETRY_MAX_MS   10000
#define SAVE_SUMMARY_MS     600000

#define DIAG_SENT 0x80u

/* Net-SNMP descriptors watched at once (it uses a handful: listening sockets, sessions). */
#define RUN_SNMP_FDS_MAX 64

struct agent;

/*
 * One event source of the agent. Source 0 is the portable source, or the
 * Windows channel of this computer; with the channel, sources 1.. read the
 * channel of each `target` computer.
 */
struct agent_source {
    struct agent *agent;
    char *computer; /* the target computer; NULL for source 0 */
    char *path;     /* as opened: a file, "CHANNEL" or "\\COMPUTER\CHANNEL" */
    enum mdm_source_kind kind;
    struct mdm_source *src;
    char position[MDM_SOURCE_POSITION_MAX]; /* after the last event evaluated */
    bool done;                              /* xml / evtx read to the end, or unsupported here */
    bool retrying;                          /* the last open or read failed (logged once) */
    struct mdm_loop_timer retry_timer;      /* armed while closed and not done: the next open */
    struct mdm_loop_io io;                  /* the source's wake-up descriptor, when it has one */
    char error[200];                        /* why it is retrying */
};

/* A remote source's position read from the state file, until the sources are made. */
struct saved_position {
    char *computer;
    char position[MDM_SOURCE_POSITION_MAX];
};

/* Net-SNMP on the loop (run_snmp.c): its descriptors this turn and what became readable. */
struct run_snmp_watch {
    struct mdm_loop_io io;
    bool ready;
};

struct agent {
    const char *config_path;
    struct mdm_cli_packs packs; /* none listed: the configuration's; strict from --strict */
    struct mdm_config *cfg;
    struct mdm_pack *pack;
    struct mdm_engine *engine;
    struct mdm_outbox outbox;
    struct mdm_agent_status status;
    struct mdm_event ev;
    struct agent_source *sources; /* source_count >= 1 once the agent runs */
    size_t source_count;
    size_t pump_next;                         /* the source read first in the next turn */
    char saved_main[MDM_SOURCE_POSITION_MAX]; /* positions from the state file */
    struct saved_position *saved;
    size_t saved_count;
    bool dirty; /* state to save */

    struct mdm_loop *loop;
    struct mdm_loop_io signal_io; /* stop and reload requests (mdm_signal.h) */

    /* Saving the state fails (run_state.c): nothing is sent or read meanwhile. */
    bool save_failing;
    uint64_t save_failures;     /* attempts that failed since the condition began */
    uint64_t save_summarized;   /* ... of which the last summary line counted */
    int64_t save_failing_since; /* wall-clock ms of the first failure */
    int64_t save_summary_at;    /* monotonic ms of the next summary line */
    int save_backoff_ms;
    struct mdm_loop_timer save_timer; /* the next attempt while saving fails */
    char save_error[MDM_ERR_MSG_MAX]; /* the cause, as logged */
    bool publish_failing;             /* the state file could not be updated (run_state.c) */

    /*
     * The diagnoser runs on its own thread after an alert is raised; its
     * report comes back through diag_done (under diag_lock) and a wake-up of
     * the loop. One run at a time; an alert during a run asks for another.
     */
    struct mdm_waitgroup *diag_lock;
    struct mdm_diag_report *diag_done; /* set by the diagnoser thread; NULL if it failed */
    bool diag_finished;                /* set by the diagnoser thread: the run ended */
    long diag_drop_reports;            /* DIAG_DROP_REPORTS_ENV */
    bool diag_running;
    bool diag_again;
    struct mdm_notice diag_trigger; /* the alert the run is for */
    struct mdm_notice diag_next;    /* the latest alert raised during the run */
    bool diag_off_logged;

    /*
     * diag-interval: while a row is in error (its alert open), the diagnoser
     * runs again cfg->diag_interval seconds after the end of the previous
     * run, when diag_timer fires (armed: a run is planned). A run notifies a
     * row only when its set of diagnoses differs from the last one sent for
     * the row's alert, kept in diag_sent[row - 1]: 0 = nothing sent yet, else
     * DIAG_SENT | diagnosis_set(). The rows are those of the engine; a
     * reload keeps them (same pack, same rows), an alert raised or resolved
     * forgets the row's entry.
     */
    struct mdm_loop_timer diag_timer;
    bool diag_periodic;    /* the run under way is a periodic one */
    bool diag_periodic_on; /* periodic runs planned (logged when they start and stop) */
    unsigned char *diag_sent;
    size_t diag_sent_count;

    /* Net-SNMP's descriptors and next deadline, renewed every turn (run_snmp.c). */
    struct run_snmp_watch snmp_watch[RUN_SNMP_FDS_MAX];
    size_t snmp_watch_count;
    bool snmp_fds_logged;               /* more descriptors than RUN_SNMP_FDS_MAX (logged once) */
    struct mdm_loop_timer snmp_timer;   /* Net-SNMP's next deadline */
    struct mdm_loop_timer notify_timer; /* the next delivery attempt after a back-off */

    /*
     * The engine's next deadline (run_engine_timer.c). The engine's clock is
     * wall-clock ms (event times are); the agent runs it as engine_wall0 +
     * (loop now - engine_loop0), the wall clock read once at start and
     * advanced by the monotonic clock, so an NTP step or a DST change
     * neither fires nor loses a timer.
     */
    struct mdm_loop_timer engine_timer;
    int64_t engine_wall0;
    int64_t engine_loop0;

    /* `mdmhealth reset` requests in the state directory (control.h), looked for every second. */
    struct mdm_loop_timer control_timer;
};

/* run_state.c */
int mdm_run_save_state(struct agent *a);
int mdm_run_save_state_ex(struct agent *a, bool force);
void mdm_run_publish_state(struct agent *a);
void mdm_run_log_save_summary(struct agent *a, const char *what);
void mdm_run_free_saved(struct agent *a);
int mdm_run_new_engine(struct agent *a, struct mdm_config *cfg, struct mdm_pack *pack, bool restore,
                       struct mdm_engine **out, struct mdm_err *err);
void mdm_run_state_timers_init(struct agent *a);

/* run_sources.c */
/* Queues n in the outbox; a failure (out of memory) is logged. */
void mdm_run_queue_notice(struct agent *a, const struct mdm_notice *n);
/* A state change of the engine: logged, its notice queued, the diagnoser asked for. */
int mdm_run_on_transition(const struct mdm_transition *t, void *ctx);
int mdm_run_open_source(struct agent *a, struct agent_source *s, struct mdm_err *err_out);
int mdm_run_build_sources(struct agent *a, const struct mdm_config *cfg);
void mdm_run_free_sources(struct agent_source *set, size_t count);
void mdm_run_update_status(struct agent *a);
bool mdm_run_pump(struct agent *a);
void mdm_run_watch_sources(struct agent *a);

/* run_diag.c */
void mdm_run_diag_init(struct agent *a);
void mdm_run_request_diagnosis(struct agent *a, const struct mdm_notice *alert);
void mdm_run_take_diagnosis(struct agent *a);
void mdm_run_plan_periodic(struct agent *a);
void mdm_run_forget_sent(struct agent *a, unsigned row);
size_t mdm_run_rows_in_error(struct agent *a);
void mdm_run_wait_for_diagnoser(struct agent *a);

/* run_reload.c */
void mdm_run_reload(struct agent *a);

/* run_snmp.c */
void mdm_run_snmp_init(struct agent *a);
void mdm_run_deliver(struct agent *a);
void mdm_run_snmp_prepare(struct agent *a);
void mdm_run_snmp_process(struct agent *a);
void mdm_run_snmp_stop(struct agent *a);

/* run_engine_timer.c */
void mdm_run_engine_timer_init(struct agent *a);
void mdm_run_engine_timer_plan(struct agent *a);
/*
 * Fires the engine's timers due by now (turn_prepare calls it once the
 * sources have nothing more ready, so that events written before a due time
 * are evaluated before it, as in replay); nothing while saving fails.
 */
void mdm_run_engine_advance(struct agent *a);
int64_t mdm_run_engine_now(const struct agent *a);
/*
 * Resets monitor_id on target (NULL: every target) now, as `mdmhealth reset`
 * and a SET of mdmMonitorReset ask. On success text (if not NULL) says what
 * changed, one line. Returns 0 or a negative MDM_E* code with err set.
 */
/* The engine's service probe (CheckNTServiceStateMonitorType): the SCM, mdm_services.h. */
int mdm_run_service_probe(const char *computer, const char *service, struct mdm_service_status *out,
                          void *ctx);
int mdm_run_reset(struct agent *a, const char *monitor_id, const char *target, char *text,
                  size_t text_size, struct mdm_err *err);

#endif

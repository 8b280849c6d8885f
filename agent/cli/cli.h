/*
 * cli.h - the mdmhealth commands. Each returns the process exit status:
 * 0 success, 1 runtime failure, 2 usage or configuration error.
 */
#ifndef MDM_CLI_H
#define MDM_CLI_H

#include <stdio.h>

#include "agent/config/config.h"
#include "agent/diag/diag.h"
#include "agent/common/mdm_buf.h"
#include "agent/engine/monitor.h"
#include "agent/engine/pack.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MDM_EXIT_OK = 0, MDM_EXIT_FAILURE = 1, MDM_EXIT_USAGE = 2 };

int mdm_cmd_replay(int argc, char **argv);
int mdm_cmd_check(int argc, char **argv);
int mdm_cmd_run(int argc, char **argv);
int mdm_cmd_diagnose(int argc, char **argv);
int mdm_cmd_resolve(int argc, char **argv);
int mdm_cmd_service(int argc, char **argv);
int mdm_cmd_init(int argc, char **argv);
int mdm_cmd_reset(int argc, char **argv);

/* The diagnoser's options from a configuration (strings borrowed from cfg). */
void mdm_diag_options_from_config(const struct mdm_config *cfg, struct mdm_diag_options *opt);
/* Appends the `diagnose --json` document (one line, with '\n'). */
int mdm_diag_report_json(const struct mdm_diag_report *r, struct mdm_buf *b);

/* Which packs to load and how (see mdm_cli_load_packs). */
struct mdm_cli_packs {
    const char *const *paths; /* --pack FILE (repeatable); none: the configuration's */
    size_t count;
    bool strict; /* --strict: skipped monitors are errors (as is `pack-strict yes`) */
};

/*
 * Loads the configuration named by -c (cfg_path, may be NULL: the default
 * file if it exists, else built-in defaults) and the packs (those of
 * `packs`, else the configuration's `pack` lines, else the built-in pack) as
 * one set; `packs` may be NULL. Prints nothing: err receives the reason, and
 * when the set is refused because of skipped monitors, details (if not NULL)
 * receives every skip line. Returns 0 or MDM_EXIT_USAGE; on success *cfg and
 * *pack are owned by the caller.
 */
int mdm_cli_load_packs_ex(const char *cfg_path, const struct mdm_cli_packs *packs,
                          struct mdm_config **cfg, struct mdm_pack **pack, struct mdm_err *err,
                          struct mdm_buf *details);
/* The same for a command: errors and skip lines go to stderr. */
int mdm_cli_load_packs(const char *cfg_path, const struct mdm_cli_packs *packs,
                       struct mdm_config **cfg, struct mdm_pack **pack);
/* The same with at most one pack (pack_override; NULL: the configuration's). */
int mdm_cli_load(const char *cfg_path, const char *pack_override, struct mdm_config **cfg,
                 struct mdm_pack **pack);

/*
 * Logs the pack set's summary (loaded, skipped by reason) and each applied
 * override at start of the agent; skipped monitors are a warning.
 */
void mdm_cli_log_pack_summary(const struct mdm_pack *pack);

/* True for the configuration file option, `-c` or `--config`, of every command. */
bool mdm_cli_is_config_option(const char *arg);
/*
 * The one parser of `-c FILE`: when argv[*i] is the option and a value
 * follows, sets *path to the value (borrowed from argv), moves *i onto it and
 * returns true; otherwise changes nothing and returns false.
 */
bool mdm_cli_config_arg(int argc, char **argv, int *i, const char **path);

/*
 * Telling the operator, one rule (docs/operators.md, "Running the agent"):
 *   - a command (check, replay, diagnose, resolve, init, service, and the
 *     argument errors of run) is run from a terminal or a script: its errors
 *     go to stderr (mdm_cli_error() in the commands themselves), and
 *     its exit status says the outcome;
 *   - the agent (`run` once it started, in the foreground or as a service)
 *     is watched through its log.
 * One function says both, mdm_log() (agent/os/mdm_log.h): the process is a
 * command until `run` calls mdm_log_open(), and every line of every layer
 * takes the destination and the format of what the process is (a command's
 * "mdmhealth: [warning: ]MESSAGE" on stderr; the agent's log: stderr with a
 * timestamp under -f, else syslog or the Windows Event Log). An error that
 * stops the agent from starting goes to the log and, when the log is not
 * the terminal, to stderr as well, where the operator who typed the command
 * waits for an answer. Layers below cli return an MDM_E* code with a
 * message in struct mdm_err and the command or the agent tells it; the few
 * that log themselves (the state store setting a damaged file aside, the
 * SNMP layer relaying Net-SNMP) go through mdm_log too.
 *
 * mdm_cli_error is mdm_log(MDM_LOG_ERROR, ...), the commands' name for it.
 */
void mdm_cli_error(const char *fmt, ...) MDM_PRINTF_FORMAT(1, 2);

/* Appends one state change as a JSON object (one line, with '\n'). */
int mdm_output_transition_json(struct mdm_buf *buf, const struct mdm_transition *t);
/* Writes the header / one row of the human-readable table. */
void mdm_output_table_header(FILE *out);
void mdm_output_transition_row(FILE *out, const struct mdm_transition *t);

#ifdef __cplusplus
}
#endif

#endif

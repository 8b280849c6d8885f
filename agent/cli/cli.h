/*
 * cli.h - the mdmhealth commands. Each returns the process exit status:
 * 0 success, 1 runtime failure, 2 usage or configuration error.
 */
#ifndef MDM_CLI_H
#define MDM_CLI_H

#include <stdio.h>

#include "config.h"
#include "diag.h"
#include "mdm_buf.h"
#include "monitor.h"
#include "pack.h"

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

/* The diagnoser's options from a configuration (strings borrowed from cfg). */
void mdm_diag_options_from_config(const struct mdm_config *cfg, struct mdm_diag_options *opt);
/* Appends the `diagnose --json` document (one line, with '\n'). */
int mdm_diag_report_json(const struct mdm_diag_report *r, struct mdm_buf *b);

/*
 * Loads the configuration named by -c (cfg_path, may be NULL: the default
 * file if it exists, else built-in defaults) and the pack (pack_override,
 * else the config's `pack`, else the built-in pack). Prints errors to
 * stderr. Returns 0 or MDM_EXIT_USAGE; on success *cfg and *pack are owned by
 * the caller.
 */
int mdm_cli_load(const char *cfg_path, const char *pack_override, struct mdm_config **cfg,
                 struct mdm_pack **pack);

/*
 * mdm_cli_load without printing: the reason is left in err (FILE:LINE:
 * message), for a caller that reports it elsewhere, e.g. a running agent's
 * reload, which logs it (the Event Log on Windows) and keeps its configuration.
 * Returns 0 or MDM_EXIT_USAGE.
 */
int mdm_cli_load_err(const char *cfg_path, const char *pack_override, struct mdm_config **cfg,
                     struct mdm_pack **pack, struct mdm_err *err);

/* Prints "mdmhealth: " and a formatted message to stderr. */
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

/*
 * mdm_log.h - the one way mdmhealth tells the operator something.
 *
 * Where a line goes is set once per process, by what the process is:
 *   - a command (check, replay, diagnose, ...; the default until
 *     mdm_log_open): stderr, as "mdmhealth: MESSAGE" for an error and
 *     "mdmhealth: warning: MESSAGE" for a warning, the format of
 *     mdm_cli_error, so a command's messages all look alike, whichever layer
 *     wrote them (the state store, Net-SNMP's parsers);
 *   - the agent (mdm_log_open, at the start of `run`): its log, stderr with
 *     a UTC timestamp in the foreground, syslog (POSIX) or the Windows Event
 *     Log (source "mdmhealth") otherwise. Until mdm_log_agent_started, an
 *     error that goes to syslog or the Event Log goes to stderr as well, in
 *     the command format: it stops the start, and the operator who typed the
 *     command waits for an answer there.
 * log.c holds the rule; log_posix.c and log_win.c the clock and the system
 * log. Messages never contain secrets.
 */
#ifndef MDM_LOG_H
#define MDM_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mdm_log_level { MDM_LOG_ERROR, MDM_LOG_WARNING, MDM_LOG_INFO, MDM_LOG_DEBUG };

/*
 * Makes the process the agent: from here on lines go to its log, stderr
 * when foreground, the system log otherwise; debug lines only with debug.
 */
void mdm_log_open(bool foreground, bool debug);
/* The agent has started: errors stop going to stderr as well. */
void mdm_log_agent_started(void);
void mdm_log_close(void);

void mdm_log(enum mdm_log_level level, const char *fmt, ...) MDM_PRINTF_FORMAT(2, 3);
void mdm_vlog(enum mdm_log_level level, const char *fmt, va_list ap) MDM_PRINTF_FORMAT(2, 0);

#ifdef __cplusplus
}
#endif

#endif

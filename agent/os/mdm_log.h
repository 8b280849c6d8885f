/*
 * mdm_log.h - the agent's own log: stderr in the foreground, syslog (POSIX)
 * or the Windows Event Log (source "mdmhealth") as a service. log_posix.c and
 * log_win.c implement it. Messages never contain secrets.
 */
#ifndef MDM_LOG_H
#define MDM_LOG_H

#include <stdbool.h>

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mdm_log_level { MDM_LOG_ERROR, MDM_LOG_WARNING, MDM_LOG_INFO, MDM_LOG_DEBUG };

/* Chooses the destination: stderr when foreground, the system log otherwise. */
void mdm_log_open(bool foreground, bool debug);
void mdm_log_close(void);

void mdm_log(enum mdm_log_level level, const char *fmt, ...) MDM_PRINTF_FORMAT(2, 3);

#ifdef __cplusplus
}
#endif

#endif

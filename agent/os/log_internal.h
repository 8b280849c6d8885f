/*
 * log_internal.h - what log.c (the rule of mdm_log.h) needs from the OS:
 * log_posix.c and log_win.c implement it.
 */
#ifndef MDM_LOG_INTERNAL_H
#define MDM_LOG_INTERNAL_H

#include <stddef.h>

#include "agent/os/mdm_log.h"

/* Opens / closes the system log (syslog, the Event Log source). */
void mdm_log_system_open(void);
void mdm_log_system_close(void);
/* Writes one line to the system log; false if there is none open (then stderr is used). */
bool mdm_log_system_write(enum mdm_log_level level, const char *msg);
/* Writes the current UTC time as YYYY-MM-DDTHH:MM:SS.mmmZ into stamp. */
void mdm_log_utc_stamp(char *stamp, size_t size);

#endif

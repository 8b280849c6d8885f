/*
 * log.c - the rule of mdm_log.h: one function for every message to the
 * operator, its destination set once per process by what the process is.
 */
#include "agent/os/log_internal.h"

#include <stdio.h>

enum log_mode { LOG_COMMAND, LOG_AGENT_FOREGROUND, LOG_AGENT_SYSTEM };

static enum log_mode log_mode = LOG_COMMAND;
static bool log_debug;
static bool log_starting;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void mdm_log_open(bool foreground, bool debug)
{
    log_debug = debug;
    log_starting = true;
    log_mode = foreground ? LOG_AGENT_FOREGROUND : LOG_AGENT_SYSTEM;
    if (!foreground)
        mdm_log_system_open();
}

void mdm_log_agent_started(void)
{
    log_starting = false;
}

void mdm_log_close(void)
{
    if (log_mode == LOG_AGENT_SYSTEM)
        mdm_log_system_close();
}

/* A command's line: the format of mdm_cli_error, the level named unless it is an error. */
static void write_command_line(enum mdm_log_level level, const char *msg)
{
    if (level == MDM_LOG_ERROR || level == MDM_LOG_INFO)
        fprintf(stderr, "mdmhealth: %s\n", msg);
    else
        fprintf(stderr, "mdmhealth: %s: %s\n", level_names[level], msg);
    fflush(stderr);
}

static void write_timestamped_line(enum mdm_log_level level, const char *msg)
{
    char stamp[40];

    mdm_log_utc_stamp(stamp, sizeof(stamp));
    fprintf(stderr, "%s mdmhealth: %s: %s\n", stamp, level_names[level], msg);
    fflush(stderr);
}

void mdm_vlog(enum mdm_log_level level, const char *fmt, va_list ap)
{
    char msg[2048];

    if (level == MDM_LOG_DEBUG && !log_debug)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    switch (log_mode) {
    case LOG_COMMAND:
        write_command_line(level, msg);
        break;
    case LOG_AGENT_FOREGROUND:
        write_timestamped_line(level, msg);
        break;
    case LOG_AGENT_SYSTEM:
        /* Without a system log (the Event Log source cannot be registered), stderr. */
        if (!mdm_log_system_write(level, msg))
            write_timestamped_line(level, msg);
        else if (level == MDM_LOG_ERROR && log_starting)
            write_command_line(level, msg);
        break;
    }
}

void mdm_log(enum mdm_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mdm_vlog(level, fmt, ap);
    va_end(ap);
}

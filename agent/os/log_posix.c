/* log_posix.c - log_internal.h on POSIX: syslog and the clock. */
#define _POSIX_C_SOURCE 200809L

#include "agent/os/log_internal.h"

#include <stdio.h>
#include <syslog.h>
#include <time.h>

static bool syslog_open;

void mdm_log_system_open(void)
{
    openlog("mdmhealth", LOG_PID, LOG_DAEMON);
    syslog_open = true;
}

void mdm_log_system_close(void)
{
    if (syslog_open)
        closelog();
    syslog_open = false;
}

bool mdm_log_system_write(enum mdm_log_level level, const char *msg)
{
    static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

    if (!syslog_open)
        return false;
    syslog(priorities[level], "%s", msg);
    return true;
}

void mdm_log_utc_stamp(char *stamp, size_t size)
{
    char seconds[32];
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
        strftime(seconds, sizeof(seconds), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(seconds, sizeof(seconds), "%lld", (long long)ts.tv_sec); /* a clock out of range */
    snprintf(stamp, size, "%s.%03ldZ", seconds, ts.tv_nsec / 1000000L);
}

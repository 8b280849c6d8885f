/* log_posix.c - mdm_log.h on POSIX: stderr with a UTC timestamp, or syslog. */
#define _POSIX_C_SOURCE 200809L

#include "agent/os/mdm_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

static bool log_foreground = true;
static bool log_debug;

void mdm_log_open(bool foreground, bool debug)
{
    log_foreground = foreground;
    log_debug = debug;
    if (!foreground)
        openlog("mdmhealth", LOG_PID, LOG_DAEMON);
}

void mdm_log_close(void)
{
    if (!log_foreground)
        closelog();
}

void mdm_log(enum mdm_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char msg[2048];
    va_list ap;

    if (level == MDM_LOG_DEBUG && !log_debug)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (log_foreground) {
        char stamp[32];
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
            strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            snprintf(stamp, sizeof(stamp), "%lld", (long long)ts.tv_sec); /* a clock out of range */
        fprintf(stderr, "%s.%03ldZ mdmhealth: %s: %s\n", stamp, ts.tv_nsec / 1000000L, names[level],
                msg);
        fflush(stderr);
    } else {
        syslog(priorities[level], "%s", msg);
    }
}

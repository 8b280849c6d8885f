/* os_posix.c - mdm_os.h on POSIX. */
#define _POSIX_C_SOURCE 200809L

#include "mdm_os.h"

#include "mdm_err.h"

#include <stdlib.h>
#include <time.h>

int mdm_os_setenv(const char *name, const char *value)
{
    return setenv(name, value, 1) == 0 ? 0 : MDM_EIO;
}

const char *mdm_os_path_list_separator(void)
{
    return ":";
}

int64_t mdm_os_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mdm_os_monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

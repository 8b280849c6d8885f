/* services_posix.c - mdm_services.h where there is no Service Control Manager. */
#include "agent/os/mdm_services.h"

#include "agent/common/mdm_err.h"

#include <stdio.h>

int mdm_services_find(const char *machine, const char *words, struct mdm_service_info *out,
                      size_t max, size_t *count, char *why, size_t why_size)
{
    (void)machine;
    (void)words;
    (void)out;
    (void)max;
    *count = 0;
    if (why_size > 0)
        snprintf(why, why_size, "there is no Windows Service Control Manager on this system");
    return MDM_EUNSUPPORTED;
}

int mdm_services_query(const char *machine, const char *name, struct mdm_service_query *out,
                       char *why, size_t why_size)
{
    (void)machine;
    (void)name;
    (void)out;
    if (why_size > 0)
        snprintf(why, why_size, "there is no Windows Service Control Manager on this system");
    return MDM_EUNSUPPORTED;
}

/* service_posix.c - mdm_service.h where there is no Service Control Manager. */
#include "agent/os/mdm_service.h"

int mdm_service_manage(const char *verb, const char *config_path, struct mdm_err *err)
{
    (void)config_path;
    return mdm_err_set(err, MDM_EUNSUPPORTED,
                       "service %s: Windows services exist only on Windows; on Linux run "
                       "`mdmhealth run` under systemd (Type=simple)",
                       verb);
}

int mdm_service_run(int (*body)(void *ctx), void *ctx, struct mdm_err *err)
{
    (void)body;
    (void)ctx;
    return mdm_err_set(err, MDM_EUNSUPPORTED,
                       "--service is for the Windows Service Control "
                       "Manager only");
}

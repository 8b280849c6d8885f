/*
 * mdm_service.h - running as, and managing, the Windows service "mdmhealth"
 * (display name "MDM Enrollment Connection Health"). service_win.c talks to
 * the Service Control Manager; service_posix.c says it is Windows only
 * (run `mdmhealth run` under systemd there).
 */
#ifndef MDM_SERVICE_H
#define MDM_SERVICE_H

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MDM_SERVICE_NAME         "mdmhealth"
#define MDM_SERVICE_DISPLAY_NAME "MDM Enrollment Connection Health"

/*
 * `mdmhealth service install|uninstall|start|stop|configure`. install registers the
 * service to start automatically as NT AUTHORITY\NetworkService, running
 * "<this program> run --service -c CONFIG", restarting on failure, and the
 * Application event log source "mdmhealth" (HKLM\SYSTEM\CurrentControlSet\
 * Services\EventLog\Application\mdmhealth: EventMessageFile = this
 * program, TypesSupported = 7); if the source cannot be registered the
 * service is deleted again. uninstall removes both (the source even when
 * the service is already gone). configure sets the description and the
 * recovery actions of the installed service (the MSI's ServiceInstall cannot).
 * Returns 0, MDM_EUNSUPPORTED (not Windows),
 * MDM_EINVAL (unknown verb) or MDM_EIO (err says what Windows refused).
 */
int mdm_service_manage(const char *verb, const char *config_path, struct mdm_err *err);

/*
 * Runs body(ctx) as the service's main function under the Service Control
 * Manager: stop and shutdown requests become mdm_signal_raise(STOP),
 * SERVICE_CONTROL_PARAMCHANGE a reload. Returns body's result, or
 * MDM_EUNSUPPORTED / MDM_EIO when not started by the SCM.
 */
int mdm_service_run(int (*body)(void *ctx), void *ctx, struct mdm_err *err);

#ifdef __cplusplus
}
#endif

#endif

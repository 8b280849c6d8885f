/*
 * mdm_services.h - operating-system services, locally or on another
 * computer. services_win.c asks the Service Control Manager (OpenSCManager on
 * the Enrollment Server); services_posix.c has none and returns
 * MDM_EUNSUPPORTED, which the check reports as "skip".
 */
#ifndef MDM_SERVICES_H
#define MDM_SERVICES_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mdm_service_info {
    char name[128];         /* service name */
    char display_name[256]; /* as the Services console shows it */
    bool running;
    char state[32]; /* "running", "stopped", "start pending", ... */
};

/*
 * Lists the services on `machine` (NULL = this computer) whose display name
 * contains every word of `words` (case-insensitive, space-separated), e.g.
 * "SCMDM Enrollment". Returns 0 (count may be 0), MDM_EUNSUPPORTED, or
 * MDM_EIO with why saying what failed (access denied, RPC unavailable).
 */
int mdm_services_find(const char *machine, const char *words, struct mdm_service_info *out,
                      size_t max, size_t *count, char *why, size_t why_size);

/* One service by its key name (mdm_services_query). */
struct mdm_service_query {
    bool running;
    bool automatic_start; /* start type Automatic (incl. delayed) */
    char state[32];       /* as mdm_service_info.state */
};

/*
 * Asks the Service Control Manager on `machine` (NULL or "" = this computer)
 * for the service whose key name is `name` (e.g. "RemoteAccess"). Returns 0,
 * MDM_ENOTFOUND (no such service), MDM_EUNSUPPORTED (no SCM here), or
 * MDM_EIO; why says what failed. A remote computer's SCM is asked over RPC
 * and can take seconds to answer when it is unreachable.
 */
int mdm_services_query(const char *machine, const char *name, struct mdm_service_query *out,
                       char *why, size_t why_size);

#ifdef __cplusplus
}
#endif

#endif

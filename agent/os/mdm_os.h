/* mdm_os.h - small process-level services that differ per OS (os_posix.c, os_win.c). */
#ifndef MDM_OS_H
#define MDM_OS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sets an environment variable for this process. Returns 0 or MDM_EIO. */
int mdm_os_setenv(const char *name, const char *value);
/* The separator of path lists in environment variables: ":" (POSIX), ";" (Windows). */
const char *mdm_os_path_list_separator(void);
/* Wall-clock time in ms since 1970-01-01 UTC. */
int64_t mdm_os_now_ms(void);
/* A monotonic clock in ms, for timeouts and back-off. */
int64_t mdm_os_monotonic_ms(void);

#ifdef __cplusplus
}
#endif

#endif

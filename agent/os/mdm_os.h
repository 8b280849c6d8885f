/* mdm_os.h - small process-level services that differ per OS (os_posix.c, os_win.c). */
#ifndef MDM_OS_H
#define MDM_OS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/common/mdm_err.h"

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
/* Suspends the calling thread for about ms milliseconds (a command's polling wait). */
void mdm_os_sleep_ms(unsigned ms);
/* This process's id. */
long mdm_os_process_id(void);

/*
 * This machine's host name (POSIX gethostname, Windows' DNS host name) in
 * out (size bytes, NUL-terminated). Returns 0, MDM_ETOOBIG (does not fit)
 * or MDM_EIO; out is written only on success.
 */
int mdm_os_host_name(char *out, size_t size);

/*
 * The operating system as "NAME RELEASE ARCH" in out (size bytes): uname's
 * sysname, release and machine on POSIX ("Linux 6.1.0-18-amd64 x86_64"),
 * the version the system reports (not the one a compatibility shim shows
 * the program) and the native architecture on Windows ("Windows
 * 10.0.17763 x64"). Returns 0, MDM_ETOOBIG or MDM_EIO; out is written only
 * on success.
 */
int mdm_os_system_description(char *out, size_t size);

/* The longest line mdm_os_read_secret reads, in bytes (without the line end). */
#define MDM_OS_SECRET_LINE_MAX 1024u

/*
 * Asks for a secret (a password) on the terminal: writes prompt to the
 * terminal (not to stdout), turns its echo off, reads one line of at most
 * MDM_OS_SECRET_LINE_MAX bytes, turns the echo back on and ends the line.
 * The terminal's state is restored on every path, also when the process is
 * interrupted (Ctrl-C) while it waits: the handler restores it, then the
 * signal (POSIX) or the console event (Windows) takes its normal course.
 * On success out (size bytes) holds the line without its line end, as
 * UTF-8, and 0 is returned; the caller wipes it after use. Errors:
 * MDM_ENOTFOUND standard input is not a terminal (console), so there is
 * nobody to ask; MDM_ETOOBIG the line does not fit in out or is longer than
 * MDM_OS_SECRET_LINE_MAX; MDM_EIO the terminal cannot be set or read, or
 * end of input before a line; err says which, never with the secret.
 */
int mdm_os_read_secret(const char *prompt, char *out, size_t size, struct mdm_err *err);

#ifdef __cplusplus
}
#endif

#endif

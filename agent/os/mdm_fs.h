/*
 * mdm_fs.h - file system operations that differ per OS (fs_posix.c, fs_win.c).
 */
#ifndef MDM_FS_H
#define MDM_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The longest path, in bytes with its NUL, that mdmhealth builds or keeps
 * (state files, the checked SNMP copy, the undo file, directories to create):
 * a longer one is refused as too long, never cut. Linux's PATH_MAX.
 */
#define MDM_PATH_MAX 4096u

/*
 * Replaces the file at path with data atomically: writes "path.tmp",
 * flushes it to disk, then renames it over path (and flushes the directory
 * on POSIX). A crash at any instant leaves either the old or the new file.
 * The file is created owner-only (0600 / the creator's ACL).
 */
int mdm_fs_write_atomic(const char *path, const void *data, size_t len, struct mdm_err *err);

/*
 * Replaces the file at path with data like mdm_fs_write_atomic, but flushes
 * nothing: a process crash at any instant leaves the old or the new file,
 * a power loss may leave the old one, the new one, or a damaged one. For
 * callers that keep the same data durable elsewhere (the state journal).
 */
int mdm_fs_replace_unflushed(const char *path, const void *data, size_t len, struct mdm_err *err);

/*
 * Writes data at byte offset of path, cuts the file right after it when it
 * was longer, and flushes the file's data and size to disk before returning
 * (POSIX fdatasync, Windows FlushFileBuffers): one flush. A missing file is
 * created owner-only and its directory flushed too (POSIX). Used to append
 * to a journal: a crash during the call may leave the written range torn.
 */
int mdm_fs_write_at_flushed(const char *path, uint64_t offset, const void *data, size_t len,
                            struct mdm_err *err);

/*
 * Reads a whole regular file (mdm_fs_open_regular) of at most max bytes. On
 * success *out (NUL-terminated, owned by the caller, mdm_free) and *len are
 * set. MDM_ENOTFOUND when the file does not exist, MDM_EINVAL when it is not
 * a regular file, MDM_ETOOBIG past max.
 */
int mdm_fs_read_all(const char *path, size_t max, char **out, size_t *len, struct mdm_err *err);

/*
 * Opens a regular file for reading ("rb"), the one way configuration, packs
 * and the state file are opened. A FIFO, device, socket or directory is
 * refused without blocking (a FIFO opened for reading would wait for a
 * writer forever): POSIX opens with O_NONBLOCK and checks fstat(), Windows
 * checks the attributes and GetFileType(). Returns 0 with *out set,
 * MDM_ENOTFOUND (err not set: callers word it), MDM_EINVAL for "PATH: not
 * a regular file (a FIFO)", or MDM_EIO.
 */
int mdm_fs_open_regular(const char *path, FILE **out, struct mdm_err *err);

/*
 * fopen() with a UTF-8 path on every OS (Windows: _wfopen, so that any
 * file name works). Returns NULL with errno set on failure.
 */
FILE *mdm_fs_fopen(const char *path, const char *mode);

/* Creates a directory (and missing parents) owner-only; existing is fine. */
int mdm_fs_mkdirs(const char *path, struct mdm_err *err);

/*
 * The identity and size of a file: two stats with equal dev and ino name the
 * same file, so a followed file that was replaced (rotated) is noticed.
 */
struct mdm_fs_info {
    uint64_t dev;
    uint64_t ino;
    uint64_t size;
};

/* Stats path; MDM_ENOTFOUND when it does not exist, MDM_EIO otherwise. */
int mdm_fs_stat(const char *path, struct mdm_fs_info *out);
/* Stats an open stream. */
int mdm_fs_fstat(FILE *fp, struct mdm_fs_info *out);
/* Moves an open stream to a byte offset from the start (64-bit safe). */
int mdm_fs_seek(FILE *fp, uint64_t offset);

/*
 * Moves the file from to the new name to, which must not exist (the
 * installer's "never overwrite a configuration" rule holds even against a
 * file that appeared meanwhile). MDM_EIO with err naming the cause otherwise.
 */
int mdm_fs_rename_new(const char *from, const char *to, struct mdm_err *err);

/* Removes a file; a missing file is not an error. */
void mdm_fs_remove(const char *path);

/*
 * Creates a new, empty directory that only this account can use, under the
 * system's place for temporary files (POSIX: $TMPDIR or /tmp, mkdtemp, 0700;
 * Windows: GetTempPath, then the service DACL). Its name is written to out
 * (size bytes) only on success. The caller removes what it puts there, then
 * the directory with mdm_fs_remove_dir.
 */
int mdm_fs_make_private_temp_dir(char *out, size_t size, struct mdm_err *err);

/* Removes an empty directory; a missing one is not an error. */
void mdm_fs_remove_dir(const char *path);

/*
 * Restricts a file or directory to the service account, administrators and
 * SYSTEM: on POSIX its owner only (0600 / 0700); on Windows a protected DACL
 * (no inherited entries) of SYSTEM and Administrators full control and
 * NT AUTHORITY\NetworkService read (file) or modify (directory, inherited by
 * what is created in it). Used for the configuration, which holds SNMP
 * secrets, and the state directory.
 */
int mdm_fs_restrict_to_service(const char *path, bool is_dir, struct mdm_err *err);

/* The platform's default configuration file and state directory. */
const char *mdm_fs_default_config_path(void);
const char *mdm_fs_default_state_dir(void);

#ifdef __cplusplus
}
#endif

#endif

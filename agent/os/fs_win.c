/* fs_win.c - mdm_fs.h on Windows: UTF-8 paths converted to UTF-16, write-through replacement. */
#include "agent/os/mdm_fs.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/win_util.h"

#include <windows.h>

#include <aclapi.h>
#include <knownfolders.h>
#include <shlobj.h>
#include <sddl.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#define WPATH_MAX 4096

static int widen(const char *path, wchar_t *out, struct mdm_err *err)
{
    if (mdm_win_utf8_to_wide(path, out, WPATH_MAX) != 0)
        return mdm_err_set(err, MDM_EINVAL, "%s: path too long or not UTF-8", path);
    return 0;
}

int mdm_fs_write_atomic(const char *path, const void *data, size_t len, struct mdm_err *err)
{
    wchar_t wpath[WPATH_MAX], wtmp[WPATH_MAX];
    char tmp[WPATH_MAX], why[256];
    HANDLE h = INVALID_HANDLE_VALUE;
    const char *p = data;
    int rc;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return mdm_err_set(err, MDM_EINVAL, "%s: path too long", path);
    if ((rc = widen(path, wpath, err)) != 0 || (rc = widen(tmp, wtmp, err)) != 0)
        return rc;
    /*
     * The file inherits its directory's DACL; `mdmhealth init` (run by the
     * MSI) restricts the state directory to SYSTEM, Administrators and
     * NetworkService with mdm_fs_restrict_to_service().
     */
    h = CreateFileW(wtmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        return mdm_err_set(err, MDM_EIO, "%s: cannot create: %s", tmp, why);
    }
    while (len > 0) {
        DWORD chunk = len > 0x40000000u ? 0x40000000u : (DWORD)len, wrote = 0;
        if (!WriteFile(h, p, chunk, &wrote, NULL) || wrote == 0) {
            mdm_win_error_text(GetLastError(), why, sizeof(why));
            rc = mdm_err_set(err, MDM_EIO, "%s: write failed: %s", tmp, why);
            goto out;
        }
        p += wrote;
        len -= wrote;
    }
    if (!FlushFileBuffers(h)) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        rc = mdm_err_set(err, MDM_EIO, "%s: flush failed: %s", tmp, why);
        goto out;
    }
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    /* MOVEFILE_WRITE_THROUGH: the call returns once the rename is on disk. */
    if (!MoveFileExW(wtmp, wpath, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot replace: %s", path, why);
        goto out;
    }
    rc = 0;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (rc != 0)
        DeleteFileW(wtmp);
    return rc;
}

int mdm_fs_replace_unflushed(const char *path, const void *data, size_t len, struct mdm_err *err)
{
    wchar_t wpath[WPATH_MAX], wtmp[WPATH_MAX];
    char tmp[WPATH_MAX], why[256];
    HANDLE h = INVALID_HANDLE_VALUE;
    const char *p = data;
    int rc;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return mdm_err_set(err, MDM_EINVAL, "%s: path too long", path);
    if ((rc = widen(path, wpath, err)) != 0 || (rc = widen(tmp, wtmp, err)) != 0)
        return rc;
    h = CreateFileW(wtmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        return mdm_err_set(err, MDM_EIO, "%s: cannot create: %s", tmp, why);
    }
    while (len > 0) {
        DWORD chunk = len > 0x40000000u ? 0x40000000u : (DWORD)len, wrote = 0;
        if (!WriteFile(h, p, chunk, &wrote, NULL) || wrote == 0) {
            mdm_win_error_text(GetLastError(), why, sizeof(why));
            rc = mdm_err_set(err, MDM_EIO, "%s: write failed: %s", tmp, why);
            goto out;
        }
        p += wrote;
        len -= wrote;
    }
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    /* No FlushFileBuffers, no MOVEFILE_WRITE_THROUGH: see mdm_fs.h. */
    if (!MoveFileExW(wtmp, wpath, MOVEFILE_REPLACE_EXISTING)) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot replace: %s", path, why);
        goto out;
    }
    rc = 0;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (rc != 0)
        DeleteFileW(wtmp);
    return rc;
}

int mdm_fs_write_at_flushed(const char *path, uint64_t offset, const void *data, size_t len,
                            struct mdm_err *err)
{
    wchar_t wpath[WPATH_MAX];
    char why[256];
    HANDLE h;
    LARGE_INTEGER size, pos;
    const char *p = data;
    int rc;

    if (offset > (uint64_t)INT64_MAX - len)
        return mdm_err_set(err, MDM_EINVAL, "%s: offset too large", path);
    if ((rc = widen(path, wpath, err)) != 0)
        return rc;
    /* NTFS journals the new name itself: no directory flush is needed on Windows. */
    h = CreateFileW(wpath, GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL,
                    NULL);
    if (h == INVALID_HANDLE_VALUE) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        return mdm_err_set(err, MDM_EIO, "%s: cannot open: %s", path, why);
    }
    if (!GetFileSizeEx(h, &size)) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot stat: %s", path, why);
        goto out;
    }
    pos.QuadPart = (LONGLONG)offset;
    if (!SetFilePointerEx(h, pos, NULL, FILE_BEGIN)) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot seek: %s", path, why);
        goto out;
    }
    while (len > 0) {
        DWORD chunk = len > 0x40000000u ? 0x40000000u : (DWORD)len, wrote = 0;
        if (!WriteFile(h, p, chunk, &wrote, NULL) || wrote == 0) {
            mdm_win_error_text(GetLastError(), why, sizeof(why));
            rc = mdm_err_set(err, MDM_EIO, "%s: write failed: %s", path, why);
            goto out;
        }
        p += wrote;
        len -= wrote;
    }
    /* Anything after the new data (a torn record, an older generation) is cut. */
    if ((uint64_t)size.QuadPart > offset + (uint64_t)(p - (const char *)data) && !SetEndOfFile(h)) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot truncate: %s", path, why);
        goto out;
    }
    if (!FlushFileBuffers(h)) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        rc = mdm_err_set(err, MDM_EIO, "%s: flush failed: %s", path, why);
        goto out;
    }
    rc = 0;
out:
    CloseHandle(h);
    return rc;
}

FILE *mdm_fs_fopen(const char *path, const char *mode)
{
    wchar_t wpath[WPATH_MAX], wmode[16];
    HANDLE h;
    FILE *fp;
    DWORD e;
    int fd;

    if (mdm_win_utf8_to_wide(path, wpath, WPATH_MAX) != 0 ||
        mdm_win_utf8_to_wide(mode, wmode, 16) != 0) {
        errno = EINVAL;
        return NULL;
    }
    if (mode[0] != 'r' || strchr(mode, '+') != NULL)
        return _wfopen(wpath, wmode);
    /*
     * Reading shares delete as well as read and write, as a POSIX open does:
     * _wfopen() does not, and then the producer of a log file that
     * xml-follow reads could not rotate it (rename it away) or remove it.
     */
    h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        /* fopen()'s errno, which callers test for ENOENT. */
        e = GetLastError();
        if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
            errno = ENOENT;
        else if (e == ERROR_ACCESS_DENIED || e == ERROR_SHARING_VIOLATION)
            errno = EACCES;
        else
            errno = EIO;
        return NULL;
    }
    fd = _open_osfhandle((intptr_t)h, _O_RDONLY | (strchr(mode, 'b') != NULL ? _O_BINARY : 0));
    if (fd == -1) {
        CloseHandle(h);
        errno = EMFILE;
        return NULL;
    }
    fp = _wfdopen(fd, wmode);
    if (fp == NULL) {
        int saved = errno;
        _close(fd); /* closes h too */
        errno = saved;
    }
    return fp;
}

int mdm_fs_open_regular(const char *path, FILE **out, struct mdm_err *err)
{
    wchar_t wpath[WPATH_MAX];
    DWORD attrs, type, e;
    HANDLE h;
    FILE *fp;
    int fd, rc;

    if ((rc = widen(path, wpath, err)) != 0)
        return rc;
    attrs = GetFileAttributesW(wpath);
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY) != 0)
        return mdm_err_set(err, MDM_EINVAL, "%s: not a regular file (a directory)", path);
    /* As mdm_fs_fopen: share read, write and delete, like a POSIX open. */
    h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        char why[256];
        e = GetLastError();
        if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
            return MDM_ENOTFOUND;
        mdm_win_error_text(e, why, sizeof(why));
        return mdm_err_set(err, MDM_EIO, "%s: cannot open: %s", path, why);
    }
    /* A named pipe (\\.\pipe\...) or a character device (CON, COM1) is not FILE_TYPE_DISK. */
    type = GetFileType(h);
    if (type != FILE_TYPE_DISK) {
        CloseHandle(h);
        return mdm_err_set(err, MDM_EINVAL, "%s: not a regular file (%s)", path,
                           type == FILE_TYPE_PIPE   ? "a pipe"
                           : type == FILE_TYPE_CHAR ? "a device"
                                                    : "not a plain file");
    }
    fd = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY);
    if (fd == -1) {
        CloseHandle(h);
        return mdm_err_set(err, MDM_EIO, "%s: cannot open: too many open files", path);
    }
    fp = _wfdopen(fd, L"rb");
    if (fp == NULL) {
        _close(fd); /* closes h too */
        return mdm_err_set(err, MDM_EIO, "%s: cannot open", path);
    }
    *out = fp;
    return 0;
}

int mdm_fs_mkdirs(const char *path, struct mdm_err *err)
{
    wchar_t wpath[WPATH_MAX];
    char why[256];
    size_t n;
    int rc;

    if ((rc = widen(path, wpath, err)) != 0)
        return rc;
    n = wcslen(wpath);
    /*
     * Create every prefix that ends at a separator, then the whole path.
     * Failures on the way (the drive root, a parent that exists, one we may
     * not list) are judged by the final check alone.
     */
    for (size_t i = 1; i <= n; i++) {
        wchar_t saved;
        if (i < n && wpath[i] != L'\\' && wpath[i] != L'/')
            continue;
        saved = wpath[i];
        wpath[i] = L'\0';
        CreateDirectoryW(wpath, NULL);
        wpath[i] = saved;
    }
    {
        DWORD attr = GetFileAttributesW(wpath);
        if (attr == INVALID_FILE_ATTRIBUTES || !(attr & FILE_ATTRIBUTE_DIRECTORY)) {
            mdm_win_error_text(GetLastError(), why, sizeof(why));
            return mdm_err_set(err, MDM_EIO, "%s: cannot create directory: %s", path, why);
        }
    }
    return 0;
}

/*
 * %ProgramData%\mdmhealth, computed once. The known-folder API, not the
 * environment: a service's environment need not hold ProgramData (Wine gives
 * services another value than user programs), and the configuration the MSI
 * writes and the state the service keeps must be found in the same place.
 */
static const char *program_data_dir(void)
{
    static char dir[1024];
    PWSTR w = NULL;

    if (dir[0] != '\0')
        return dir;
    if (SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &w) != S_OK ||
        mdm_win_wide_to_utf8(w, dir, sizeof(dir) - 16) != 0)
        snprintf(dir, sizeof(dir), "C:\\ProgramData");
    CoTaskMemFree(w);
    strncat(dir, "\\mdmhealth", sizeof(dir) - strlen(dir) - 1);
    return dir;
}

const char *mdm_fs_default_config_path(void)
{
    static char path[1100];

    snprintf(path, sizeof(path), "%s\\mdmhealth.conf", program_data_dir());
    return path;
}

const char *mdm_fs_default_state_dir(void)
{
    static char path[1100];

    snprintf(path, sizeof(path), "%s\\state", program_data_dir());
    return path;
}

static int info_of(HANDLE h, struct mdm_fs_info *out)
{
    BY_HANDLE_FILE_INFORMATION bi;

    if (!GetFileInformationByHandle(h, &bi))
        return MDM_EIO;
    out->dev = bi.dwVolumeSerialNumber;
    out->ino = ((uint64_t)bi.nFileIndexHigh << 32) | bi.nFileIndexLow;
    out->size = ((uint64_t)bi.nFileSizeHigh << 32) | bi.nFileSizeLow;
    return 0;
}

int mdm_fs_stat(const char *path, struct mdm_fs_info *out)
{
    wchar_t wpath[WPATH_MAX];
    HANDLE h;
    int rc;

    if (mdm_win_utf8_to_wide(path, wpath, WPATH_MAX) != 0)
        return MDM_EIO;
    /* Share everything: a followed log file is open for writing by its producer. */
    h = CreateFileW(wpath, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ? MDM_ENOTFOUND : MDM_EIO;
    }
    rc = info_of(h, out);
    CloseHandle(h);
    return rc;
}

int mdm_fs_fstat(FILE *fp, struct mdm_fs_info *out)
{
    intptr_t h = _get_osfhandle(_fileno(fp));

    if (h == -1)
        return MDM_EIO;
    return info_of((HANDLE)h, out);
}

int mdm_fs_seek(FILE *fp, uint64_t offset)
{
    if (offset > (uint64_t)INT64_MAX || _fseeki64(fp, (__int64)offset, SEEK_SET) != 0)
        return MDM_EIO;
    return 0;
}

int mdm_fs_rename_new(const char *from, const char *to, struct mdm_err *err)
{
    wchar_t wfrom[WPATH_MAX], wto[WPATH_MAX];
    char why[256];
    int rc;

    if ((rc = widen(from, wfrom, err)) != 0 || (rc = widen(to, wto, err)) != 0)
        return rc;
    /* Without MOVEFILE_REPLACE_EXISTING the move fails when the target exists. */
    if (!MoveFileExW(wfrom, wto, MOVEFILE_WRITE_THROUGH)) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        return mdm_err_set(err, MDM_EIO, "%s: cannot create: %s", to, why);
    }
    return 0;
}

void mdm_fs_remove(const char *path)
{
    wchar_t wpath[WPATH_MAX];

    if (mdm_win_utf8_to_wide(path, wpath, WPATH_MAX) == 0)
        DeleteFileW(wpath);
}

int mdm_fs_make_private_temp_dir(char *out, size_t size, struct mdm_err *err)
{
    static unsigned long counter;
    wchar_t wbase[MAX_PATH + 1], wpath[WPATH_MAX];
    char base[WPATH_MAX], name[WPATH_MAX], why[256];
    DWORD n = GetTempPathW(MAX_PATH + 1, wbase);
    int rc;

    if (n == 0 || n > MAX_PATH ||
        WideCharToMultiByte(CP_UTF8, 0, wbase, -1, base, (int)sizeof(base), NULL, NULL) == 0) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        return mdm_err_set(err, MDM_EIO, "cannot find the temporary directory: %s", why);
    }
    /*
     * CreateDirectoryW fails when the name exists, so the directory is new;
     * the name mixes the process, the time and a counter, and a taken name is
     * tried again with the next counter.
     */
    for (int attempt = 0; attempt < 100; attempt++) {
        if ((size_t)snprintf(name, sizeof(name), "%smdmhealth-%lu-%llu-%lu", base,
                             (unsigned long)GetCurrentProcessId(),
                             (unsigned long long)GetTickCount64(), ++counter) >= sizeof(name))
            return mdm_err_set(err, MDM_EINVAL, "%s: path too long", base);
        if ((rc = widen(name, wpath, err)) != 0)
            return rc;
        if (CreateDirectoryW(wpath, NULL))
            break;
        if (GetLastError() != ERROR_ALREADY_EXISTS) {
            mdm_win_error_text(GetLastError(), why, sizeof(why));
            return mdm_err_set(err, MDM_EIO, "%s: cannot create a private directory: %s", name,
                               why);
        }
        name[0] = '\0';
    }
    if (name[0] == '\0')
        return mdm_err_set(err, MDM_EIO, "%s: cannot create a private directory", base);
    if (strlen(name) >= size || (rc = mdm_fs_restrict_to_service(name, true, err)) != 0) {
        RemoveDirectoryW(wpath);
        return strlen(name) >= size ? mdm_err_set(err, MDM_EINVAL, "%s: path too long", name) : rc;
    }
    memcpy(out, name, strlen(name) + 1);
    return 0;
}

void mdm_fs_remove_dir(const char *path)
{
    wchar_t wpath[WPATH_MAX];

    if (mdm_win_utf8_to_wide(path, wpath, WPATH_MAX) == 0)
        RemoveDirectoryW(wpath);
}

int mdm_fs_restrict_to_service(const char *path, bool is_dir, struct mdm_err *err)
{
    /*
     * P: protected, nothing inherited from %ProgramData% (whose ACL lets
     * every user read). SY, BA: full control. NS (NetworkService, the
     * service account): read for a file; modify (0x1301bf) for a directory,
     * inherited by files and subdirectories (OICI) so that the state the
     * service writes stays private too.
     */
    static const wchar_t file_sddl[] = L"D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;NS)";
    static const wchar_t dir_sddl[] = L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;NS)";
    wchar_t wpath[WPATH_MAX];
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    DWORD status;
    char why[256];
    int rc;

    if ((rc = widen(path, wpath, err)) != 0)
        return rc;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(is_dir ? dir_sddl : file_sddl,
                                                              SDDL_REVISION_1, &sd, NULL) ||
        !GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted)) {
        mdm_win_error_text(GetLastError(), why, sizeof(why));
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot build the access list: %s", path, why);
        goto out;
    }
    status = SetNamedSecurityInfoW(wpath, SE_FILE_OBJECT,
                                   DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                   NULL, NULL, dacl, NULL);
    if (status != ERROR_SUCCESS) {
        mdm_win_error_text(status, why, sizeof(why));
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot set its access list: %s", path, why);
        goto out;
    }
    rc = 0;
out:
    if (sd != NULL)
        LocalFree(sd);
    return rc;
}

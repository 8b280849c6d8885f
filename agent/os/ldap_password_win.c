/*
 * ldap_password_win.c - mdm_ldap_read_password_file() on Windows: the file
 * must be a disk file whose DACL lets no broad group read or change it;
 * the LDAP client is in ldap_win.c, discovery in ldap_discover_win.c.
 */
#include "agent/os/mdm_ldap.h"

#include "agent/os/ldap_password.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/win_util.h"

#include <windows.h>
#include <aclapi.h>

#include <stdio.h>
#include <string.h>

/* The groups too broad to be let near a password, with the names used in messages. */
static const struct {
    WELL_KNOWN_SID_TYPE type;
    const char *name;
} broad_groups[] = {
    {WinWorldSid, "Everyone"},
    {WinAuthenticatedUserSid, "Authenticated Users"},
    {WinBuiltinUsersSid, "Users"},
    {WinBuiltinGuestsSid, "Guests"},
    {WinAnonymousSid, "Anonymous Logon"},
    {WinInteractiveSid, "Interactive"},
    {WinNetworkSid, "Network"},
};

/* The broad group that sid is, or NULL. */
static const char *broad_group(PSID sid)
{
    for (size_t i = 0; i < sizeof(broad_groups) / sizeof(broad_groups[0]); i++) {
        BYTE buf[SECURITY_MAX_SID_SIZE];
        DWORD size = sizeof(buf);
        if (CreateWellKnownSid(broad_groups[i].type, NULL, buf, &size) && EqualSid(sid, buf))
            return broad_groups[i].name;
    }
    return NULL;
}

/*
 * The Windows form of "owner-only": no ACE of the file's DACL lets a broad
 * group read or change it. A file without a DACL is open to everyone.
 */
static int check_acl(HANDLE h, const char *path, struct mdm_err *err)
{
    const ACCESS_MASK risky = FILE_READ_DATA | FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_READ |
                              GENERIC_WRITE | GENERIC_ALL | WRITE_DAC | WRITE_OWNER;
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    const char *who = NULL;
    char text[256];
    DWORD status;
    int rc;

    status =
        GetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd);
    if (status != ERROR_SUCCESS) {
        mdm_win_error_text(status, text, sizeof(text));
        rc = mdm_err_set(err, MDM_EIO, "ldap-password-file %s: cannot read its permissions: %s",
                         path, text);
        goto out;
    }
    if (dacl == NULL)
        who = "Everyone (the file has no access control list)";
    for (DWORD i = 0; who == NULL && i < dacl->AceCount; i++) {
        ACE_HEADER *ace = NULL;
        if (!GetAce(dacl, i, (LPVOID *)&ace) || ace->AceType != ACCESS_ALLOWED_ACE_TYPE ||
            (ace->AceFlags & INHERIT_ONLY_ACE) != 0)
            continue;
        if ((((ACCESS_ALLOWED_ACE *)ace)->Mask & risky) != 0)
            who = broad_group((PSID) & ((ACCESS_ALLOWED_ACE *)ace)->SidStart);
    }
    if (who != NULL) {
        rc = mdm_err_set(err, MDM_EINVAL,
                         "ldap-password-file %s may be read or changed by %s; allow only the "
                         "service account and administrators: icacls \"%s\" /inheritance:r "
                         "/grant:r *S-1-5-18:R *S-1-5-32-544:F *S-1-5-20:R",
                         path, who, path);
        goto out;
    }
    rc = 0;
out:
    if (sd != NULL)
        LocalFree(sd);
    return rc;
}

int mdm_ldap_read_password_file(const char *path, char *out, size_t size, struct mdm_err *err)
{
    wchar_t wpath[MDM_PATH_MAX];
    char buf[MDM_LDAP_PASSWORD_MAX + 2];
    char text[256];
    HANDLE h = INVALID_HANDLE_VALUE;
    size_t len = 0;
    int rc;

    if (mdm_win_utf8_to_wide(path, wpath, MDM_PATH_MAX) != 0) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s is not a usable path", path);
        goto out;
    }
    h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        mdm_win_error_text(GetLastError(), text, sizeof(text));
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s cannot be opened: %s", path, text);
        goto out;
    }
    if (GetFileType(h) != FILE_TYPE_DISK) {
        rc = mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s is not a regular file", path);
        goto out;
    }
    rc = check_acl(h, path, err);
    if (rc != 0)
        goto out;
    while (len < sizeof(buf) - 1) {
        DWORD got = 0;
        if (!ReadFile(h, buf + len, (DWORD)(sizeof(buf) - 1 - len), &got, NULL)) {
            mdm_win_error_text(GetLastError(), text, sizeof(text));
            rc = mdm_err_set(err, MDM_EIO, "ldap-password-file %s cannot be read: %s", path, text);
            goto out;
        }
        if (got == 0)
            break;
        len += got;
    }
    buf[len] = '\0';
    rc = mdm_ldap_password_first_line(path, buf, len, len == sizeof(buf) - 1, out, size, err);
out:
    mdm_wipe(buf, sizeof(buf));
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    return rc;
}

/* ldap_password.c - ldap_password.h: the first line of a password file is the password. */
#include "agent/os/ldap_password.h"

#include "agent/os/mdm_ldap.h"

#include <string.h>

int mdm_ldap_password_first_line(const char *path, const char *text, size_t len, bool full,
                                 char *out, size_t size, struct mdm_err *err)
{
    size_t line = strcspn(text, "\r\n");

    if (line == len && full)
        return mdm_err_set(err, MDM_EINVAL,
                           "ldap-password-file %s: the password is longer than %u bytes", path,
                           MDM_LDAP_PASSWORD_MAX);
    if (line == 0)
        return mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s: the first line is empty", path);
    if (line >= size)
        return mdm_err_set(err, MDM_EINVAL, "ldap-password-file %s: the password is too long",
                           path);
    memcpy(out, text, line);
    out[line] = '\0';
    return 0;
}

/*
 * ldap_password.h - inside agent/os: the portable half of
 * mdm_ldap_read_password_file (mdm_ldap.h). ldap_posix.c and
 * ldap_password_win.c open the file and check who may read it, each with
 * its platform's means; what the bytes read mean is decided here, once.
 */
#ifndef MDM_LDAP_PASSWORD_H
#define MDM_LDAP_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/common/mdm_err.h"

/*
 * text (NUL-terminated, len bytes) is what was read from the password file
 * at path, into a buffer of MDM_LDAP_PASSWORD_MAX + 2 bytes; full says the
 * read stopped because that buffer was full. Copies the first line, without
 * its line end, into out (size bytes). The secret never appears in err.
 * Returns 0 or MDM_EINVAL.
 */
int mdm_ldap_password_first_line(const char *path, const char *text, size_t len, bool full,
                                 char *out, size_t size, struct mdm_err *err);

#endif

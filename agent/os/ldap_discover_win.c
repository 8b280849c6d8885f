/*
 * ldap_discover_win.c - mdm_ldap_discover() on Windows: the domain
 * controller and the domain from DsGetDcNameW (netapi32), the computer
 * account from GetComputerObjectNameW (secur32); see the top of ldap_win.c.
 */
#include "agent/os/mdm_ldap.h"

#include "agent/os/ldap_win.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"
#include "agent/common/mdm_text.h"
#include "agent/os/win_util.h"

#include <windows.h>
#include <dsgetdc.h>
#include <lm.h>
#define SECURITY_WIN32
#include <secext.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Appends "; " (unless first) and a printf-style text to the message in buf (size bytes). */
static void add_problem(char *buf, size_t size, const char *fmt, ...) MDM_PRINTF_FORMAT(3, 4);

static void add_problem(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used > 0 && used + 2 < size) {
        memcpy(buf + used, "; ", 3);
        used += 2;
    }
    if (used + 1 >= size)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/*
 * Writes the naming context of the DNS domain name ("contoso.com." ->
 * "DC=contoso,DC=com") into out (size bytes), escaping the characters
 * RFC 4514 reserves. Returns 0, MDM_EINVAL (an empty label) or MDM_ETOOBIG.
 */
static int domain_to_dn(const char *domain, char *out, size_t size)
{
    size_t n = 0, len = strlen(domain);
    bool label_start = true;

    while (len > 0 && domain[len - 1] == '.')
        len--; /* the root of a fully qualified name */
    if (len == 0)
        return MDM_EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = domain[i];
        if (c == '.') {
            if (label_start)
                return MDM_EINVAL;
            label_start = true;
            if (n + 1 >= size)
                return MDM_ETOOBIG;
            out[n++] = ',';
            continue;
        }
        if (label_start) {
            if (n + 3 >= size)
                return MDM_ETOOBIG;
            memcpy(out + n, "DC=", 3);
            n += 3;
            if (c == ' ' || c == '#') {
                if (n + 1 >= size)
                    return MDM_ETOOBIG;
                out[n++] = '\\';
            }
            label_start = false;
        }
        if (strchr(",+\"\\<>;=", c) != NULL) {
            if (n + 1 >= size)
                return MDM_ETOOBIG;
            out[n++] = '\\';
        }
        if (n + 1 >= size)
            return MDM_ETOOBIG;
        out[n++] = c;
    }
    if (label_start)
        return MDM_EINVAL;
    out[n] = '\0';
    return 0;
}

/* The directives DsGetDcName stands in for, as "ldap-uri and ldap-base". */
static const char *dc_directives(unsigned what)
{
    if ((what & MDM_LDAP_DISCOVER_URI) && (what & MDM_LDAP_DISCOVER_BASE))
        return "ldap-uri and ldap-base";
    return (what & MDM_LDAP_DISCOVER_URI) ? "ldap-uri" : "ldap-base";
}

/*
 * Fills f->uri and f->base (as asked by what) from DsGetDcNameW. On failure
 * adds the reason to problems and returns the Windows error.
 */
static DWORD discover_dc(unsigned what, struct mdm_ldap_discovery *f, char *problems, size_t size)
{
    DOMAIN_CONTROLLER_INFOW *info = NULL;
    char dc[HOST_MAX], domain[HOST_MAX], text[256];
    const wchar_t *name;
    DWORD code;

    code = DsGetDcNameW(NULL, NULL, NULL, NULL, DS_DIRECTORY_SERVICE_REQUIRED | DS_RETURN_DNS_NAME,
                        &info);
    if (code != ERROR_SUCCESS || info == NULL) {
        if (code == ERROR_SUCCESS)
            code = ERROR_NO_SUCH_DOMAIN;
        mdm_win_error_text(code, text, sizeof(text));
        add_problem(problems, size,
                    "no domain controller found (DsGetDcName: %s; is this computer a member of a "
                    "domain?); set %s",
                    text, dc_directives(what));
        goto out;
    }
    name = info->DomainControllerName;
    while (name != NULL && *name == L'\\')
        name++; /* "\\dc01.contoso.com" */
    if ((what & MDM_LDAP_DISCOVER_URI) &&
        (name == NULL || *name == L'\0' || mdm_win_wide_to_utf8(name, dc, sizeof(dc)) != 0 ||
         (size_t)snprintf(f->uri, sizeof(f->uri), "ldap://%s/", dc) >= sizeof(f->uri))) {
        code = ERROR_INVALID_DATA;
        add_problem(problems, size,
                    "DsGetDcName returned no usable domain controller name; set ldap-uri");
        goto out;
    }
    if ((what & MDM_LDAP_DISCOVER_BASE) &&
        (info->DomainName == NULL ||
         mdm_win_wide_to_utf8(info->DomainName, domain, sizeof(domain)) != 0 ||
         domain_to_dn(domain, f->base, sizeof(f->base)) != 0)) {
        code = ERROR_INVALID_DATA;
        add_problem(problems, size, "DsGetDcName returned no usable domain name; set ldap-base");
        goto out;
    }
    code = ERROR_SUCCESS;
out:
    if (info != NULL)
        NetApiBufferFree(info);
    return code;
}

/*
 * True when every RDN of dn has a type and a value ("CN=DM01,DC=contoso").
 * Wine answers for a computer outside any domain with
 * "CN=NAME,CN=Computers,DC=", which no directory holds.
 */
static bool dn_is_complete(const char *dn)
{
    bool have_type = false, have_value = false, in_value = false;

    for (const char *p = dn;; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            have_value = have_value || in_value;
            have_type = have_type || !in_value;
            continue;
        }
        if (*p == ',' || *p == '+' || *p == '\0') {
            if (!have_type || !have_value)
                return false;
            if (*p == '\0')
                return true;
            have_type = have_value = in_value = false;
            continue;
        }
        if (*p == '=' && !in_value) {
            in_value = true;
            continue;
        }
        if (*p != ' ') {
            if (in_value)
                have_value = true;
            else
                have_type = true;
        }
    }
}

/*
 * Fills f->computer_dn from GetComputerObjectNameW. On failure adds the
 * reason to problems and returns the Windows error.
 */
static DWORD discover_computer(struct mdm_ldap_discovery *f, char *problems, size_t size)
{
    wchar_t dn[MDM_LDAP_DN_MAX];
    ULONG units = MDM_LDAP_DN_MAX;
    char text[256];
    DWORD code;

    if (!GetComputerObjectNameW(NameFullyQualifiedDN, dn, &units)) {
        code = GetLastError();
        if (code == ERROR_SUCCESS)
            code = ERROR_CANT_ACCESS_DOMAIN_INFO;
        mdm_win_error_text(code, text, sizeof(text));
        add_problem(problems, size,
                    "this computer's account is unknown (GetComputerObjectName: %s); set "
                    "computer-dn",
                    text);
        return code;
    }
    if (dn[0] == L'\0' || mdm_win_wide_to_utf8(dn, f->computer_dn, sizeof(f->computer_dn)) != 0) {
        add_problem(problems, size,
                    "GetComputerObjectName returned no usable DN (over %u bytes?); set "
                    "computer-dn",
                    MDM_LDAP_DN_MAX - 1);
        return ERROR_INVALID_DATA;
    }
    if (!dn_is_complete(f->computer_dn)) {
        add_problem(problems, size,
                    "GetComputerObjectName returned \"%.200s\", which is not a complete DN (is "
                    "this computer a member of a domain?); set computer-dn",
                    f->computer_dn);
        f->computer_dn[0] = '\0';
        return ERROR_INVALID_DATA;
    }
    return ERROR_SUCCESS;
}

int mdm_ldap_discover(unsigned what, struct mdm_ldap_discovery *out, struct mdm_err *err)
{
    struct mdm_ldap_discovery *found = mdm_calloc(1, sizeof(*found));
    char problems[MDM_ERR_MSG_MAX] = "";
    DWORD first = ERROR_SUCCESS, code;
    int rc;

    if (found == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    /* Every lookup is tried, so that the message names every directive to set. */
    if (what & (MDM_LDAP_DISCOVER_URI | MDM_LDAP_DISCOVER_BASE)) {
        code = discover_dc(what, found, problems, sizeof(problems));
        if (first == ERROR_SUCCESS)
            first = code;
    }
    if (what & MDM_LDAP_DISCOVER_COMPUTER_DN) {
        code = discover_computer(found, problems, sizeof(problems));
        if (first == ERROR_SUCCESS)
            first = code;
    }
    if (first != ERROR_SUCCESS) {
        /* MDM_EUNSUPPORTED is kept for "this OS cannot discover" (ldap_posix.c). */
        rc = mdm_win_error_code(first);
        if (rc == 0 || rc == MDM_EUNSUPPORTED)
            rc = MDM_EIO;
        rc = mdm_err_set(err, rc, "%s", problems);
        goto out;
    }
    memcpy(out, found, sizeof(*out));
    rc = 0;
out:
    mdm_free(found);
    return rc;
}

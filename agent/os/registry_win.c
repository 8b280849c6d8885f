/*
 * registry_win.c - mdm_registry.h with the Windows registry (HKEY_LOCAL_MACHINE).
 *
 * Keys are opened with KEY_WOW64_64KEY, so that a 32-bit build would still
 * read and write the 64-bit view that the system itself uses (the LSA
 * settings live there). Names arrive in UTF-8 and are passed to the W
 * functions in UTF-16.
 */
#include "agent/os/mdm_registry.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"
#include "agent/os/win_util.h"

#include <string.h>
#include <windows.h>

#define REG_PATH_MAX 512 /* wide characters of a key path or a value name */

/*
 * The registry's error as one of the codes mdm_registry.h documents: an
 * absent key or value is MDM_ENOTFOUND, a buffer too small MDM_ETOOBIG,
 * anything else (access denied included) MDM_EIO. MDM_EUNSUPPORTED means
 * "no registry at all" to the callers, so it is never returned here.
 */
static int reg_error(LSTATUS status)
{
    int rc = mdm_win_error_code((DWORD)status);

    if (rc == MDM_ENOTFOUND || rc == MDM_ETOOBIG || rc == MDM_ENOMEM)
        return rc;
    return MDM_EIO;
}

/* Converts the key path and the value name to UTF-16. */
static int wide_names(const char *key, const char *name, wchar_t *wkey, wchar_t *wname)
{
    if (key == NULL || name == NULL)
        return MDM_EINVAL;
    if (mdm_win_utf8_to_wide(key, wkey, REG_PATH_MAX) != 0 ||
        mdm_win_utf8_to_wide(name, wname, REG_PATH_MAX) != 0)
        return MDM_EINVAL;
    return 0;
}

/* Opens HKLM\key for reading, in the 64-bit view. */
static int open_key(const wchar_t *wkey, REGSAM access, HKEY *out)
{
    LSTATUS status = RegOpenKeyExW(HKEY_LOCAL_MACHINE, wkey, 0, access | KEY_WOW64_64KEY, out);

    return status == ERROR_SUCCESS ? 0 : reg_error(status);
}

int mdm_registry_get_dword(const char *key, const char *name, uint32_t *out)
{
    wchar_t wkey[REG_PATH_MAX], wname[REG_PATH_MAX];
    DWORD value = 0, size = sizeof(value);
    HKEY h = NULL;
    LSTATUS status;
    int rc;

    rc = wide_names(key, name, wkey, wname);
    if (rc != 0)
        goto out;
    rc = open_key(wkey, KEY_QUERY_VALUE, &h);
    if (rc != 0)
        goto out;
    status = RegGetValueW(h, NULL, wname, RRF_RT_REG_DWORD, NULL, &value, &size);
    if (status != ERROR_SUCCESS) {
        /* A value of another type is there, but it is not the setting. */
        rc = status == ERROR_UNSUPPORTED_TYPE ? MDM_EIO : reg_error(status);
        goto out;
    }
    *out = value;
    rc = 0;
out:
    if (h != NULL)
        RegCloseKey(h);
    return rc;
}

int mdm_registry_get_multi_sz(const char *key, const char *name, char *buf, size_t size)
{
    wchar_t wkey[REG_PATH_MAX], wname[REG_PATH_MAX];
    wchar_t *data = NULL;
    char *text = NULL;
    size_t cap, used = 0, n, i;
    DWORD bytes;
    HKEY h = NULL;
    LSTATUS status;
    int rc;

    if (buf == NULL || size == 0 || size > (1u << 20))
        return MDM_EINVAL;
    rc = wide_names(key, name, wkey, wname);
    if (rc != 0)
        goto out;
    rc = open_key(wkey, KEY_QUERY_VALUE, &h);
    if (rc != 0)
        goto out;
    /*
     * Every UTF-16 unit becomes at least one UTF-8 byte: data longer than
     * size units (plus the two terminating NULs) cannot fit in buf.
     */
    cap = size + 2;
    data = mdm_malloc(cap * sizeof(wchar_t));
    text = mdm_malloc(size);
    if (data == NULL || text == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    bytes = (DWORD)(cap * sizeof(wchar_t));
    status = RegGetValueW(h, NULL, wname, RRF_RT_REG_MULTI_SZ, NULL, data, &bytes);
    if (status != ERROR_SUCCESS) {
        rc = status == ERROR_UNSUPPORTED_TYPE ? MDM_EIO : reg_error(status);
        goto out;
    }
    /* Walk the strings within what was returned; each one ends with a NUL. */
    n = bytes / sizeof(wchar_t);
    for (i = 0; i < n && data[i] != L'\0';) {
        size_t len = wcsnlen(data + i, n - i);
        int k;
        if (i + len >= n) {
            rc = MDM_EIO; /* the last string has no NUL: a damaged value */
            goto out;
        }
        if (used > 0) {
            if (used + 1 >= size) {
                rc = MDM_ETOOBIG;
                goto out;
            }
            text[used++] = '\n';
        }
        if (used + 1 >= size) {
            rc = MDM_ETOOBIG; /* no room left (a size of 0 would only ask for the length) */
            goto out;
        }
        k = WideCharToMultiByte(CP_UTF8, 0, data + i, (int)len, text + used, (int)(size - 1 - used),
                                NULL, NULL);
        if (k <= 0) {
            rc = GetLastError() == ERROR_INSUFFICIENT_BUFFER ? MDM_ETOOBIG : MDM_EIO;
            goto out;
        }
        used += (size_t)k;
        i += len + 1;
    }
    text[used] = '\0';
    memcpy(buf, text, used + 1);
    rc = 0;
out:
    if (h != NULL)
        RegCloseKey(h);
    mdm_free(data);
    mdm_free(text);
    return rc;
}

/* Opens (creating it when missing) HKLM\key for writing, in the 64-bit view. */
static int create_key(const wchar_t *wkey, HKEY *out)
{
    LSTATUS status = RegCreateKeyExW(HKEY_LOCAL_MACHINE, wkey, 0, NULL, REG_OPTION_NON_VOLATILE,
                                     KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, out, NULL);

    return status == ERROR_SUCCESS ? 0 : reg_error(status);
}

int mdm_registry_set_dword(const char *key, const char *name, uint32_t value)
{
    wchar_t wkey[REG_PATH_MAX], wname[REG_PATH_MAX];
    DWORD data = value;
    HKEY h = NULL;
    LSTATUS status;
    int rc;

    rc = wide_names(key, name, wkey, wname);
    if (rc != 0)
        goto out;
    rc = create_key(wkey, &h);
    if (rc != 0)
        goto out;
    status = RegSetKeyValueW(h, NULL, wname, REG_DWORD, &data, sizeof(data));
    rc = status == ERROR_SUCCESS ? 0 : reg_error(status);
out:
    if (h != NULL)
        RegCloseKey(h);
    return rc;
}

int mdm_registry_set_multi_sz(const char *key, const char *name, const char *values)
{
    wchar_t wkey[REG_PATH_MAX], wname[REG_PATH_MAX];
    wchar_t *data = NULL;
    size_t len, cap, used = 0;
    const char *p;
    HKEY h = NULL;
    LSTATUS status;
    int rc;

    if (values == NULL)
        return MDM_EINVAL;
    len = strlen(values);
    if (len > (1u << 20))
        return MDM_ETOOBIG;
    rc = wide_names(key, name, wkey, wname);
    if (rc != 0)
        goto out;
    /* A UTF-8 byte never becomes more than one UTF-16 unit; +2 for the final NULs. */
    cap = len + 2;
    data = mdm_malloc(cap * sizeof(wchar_t));
    if (data == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    /* One string per line; an empty line would end the list early, so it is left out. */
    for (p = values; *p != '\0';) {
        size_t line = strcspn(p, "\n");
        int k;
        if (line > 0) {
            k = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, p, (int)line, data + used,
                                    (int)(cap - 2 - used));
            if (k <= 0) {
                rc = MDM_EINVAL;
                goto out;
            }
            used += (size_t)k;
            data[used++] = L'\0';
        }
        p += line + (p[line] == '\n');
    }
    if (used == 0)
        data[used++] = L'\0'; /* an empty list: the two NULs of REG_MULTI_SZ */
    data[used++] = L'\0';
    rc = create_key(wkey, &h);
    if (rc != 0)
        goto out;
    status = RegSetKeyValueW(h, NULL, wname, REG_MULTI_SZ, data, (DWORD)(used * sizeof(wchar_t)));
    rc = status == ERROR_SUCCESS ? 0 : reg_error(status);
out:
    if (h != NULL)
        RegCloseKey(h);
    mdm_free(data);
    return rc;
}

int mdm_registry_delete_value(const char *key, const char *name)
{
    wchar_t wkey[REG_PATH_MAX], wname[REG_PATH_MAX];
    HKEY h = NULL;
    LSTATUS status;
    int rc;

    rc = wide_names(key, name, wkey, wname);
    if (rc != 0)
        goto out;
    rc = open_key(wkey, KEY_SET_VALUE, &h);
    if (rc == MDM_ENOTFOUND) {
        rc = 0; /* no key, so no value: nothing to delete */
        goto out;
    }
    if (rc != 0)
        goto out;
    status = RegDeleteKeyValueW(h, NULL, wname);
    rc = status == ERROR_SUCCESS || status == ERROR_FILE_NOT_FOUND ? 0 : reg_error(status);
out:
    if (h != NULL)
        RegCloseKey(h);
    return rc;
}

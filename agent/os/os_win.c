/* os_win.c - mdm_os.h on Windows. */
#include "mdm_os.h"

#include "mdm_err.h"

#include <windows.h>

#include <stdlib.h>

int mdm_os_setenv(const char *name, const char *value)
{
    /* The C runtime's copy is what getenv() and Net-SNMP's netsnmp_getenv() read. */
    return _putenv_s(name, value) == 0 ? 0 : MDM_EIO;
}

const char *mdm_os_path_list_separator(void)
{
    return ";";
}

int64_t mdm_os_now_ms(void)
{
    FILETIME ft;
    ULARGE_INTEGER t;

    GetSystemTimeAsFileTime(&ft);
    t.LowPart = ft.dwLowDateTime;
    t.HighPart = ft.dwHighDateTime;
    /* 100 ns ticks since 1601-01-01 to ms since 1970-01-01. */
    return (int64_t)((t.QuadPart - 116444736000000000ULL) / 10000ULL);
}

int64_t mdm_os_monotonic_ms(void)
{
    return (int64_t)GetTickCount64();
}

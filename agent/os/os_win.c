/* os_win.c - mdm_os.h on Windows. */
#include "agent/os/mdm_os.h"

#include "agent/common/mdm_err.h"
#include "agent/os/win_util.h"

#include <windows.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mdm_os_setenv(const char *name, const char *value)
{
    /* The C runtime's copy is what getenv() and Net-SNMP's netsnmp_getenv() read. */
    return _putenv_s(name, value) == 0 ? 0 : MDM_EIO;
}

const char *mdm_os_path_list_separator(void)
{
    return ";";
}

int mdm_os_host_name(char *out, size_t size)
{
    wchar_t name[256];
    DWORD count = (DWORD)(sizeof(name) / sizeof(name[0]));
    char utf8[1024];
    int rc;

    if (!GetComputerNameExW(ComputerNameDnsHostname, name, &count))
        return mdm_win_error_code(GetLastError()) == MDM_ETOOBIG ? MDM_ETOOBIG : MDM_EIO;
    if ((rc = mdm_win_wide_to_utf8(name, utf8, sizeof(utf8))) != 0)
        return rc;
    if (strlen(utf8) >= size)
        return MDM_ETOOBIG;
    memcpy(out, utf8, strlen(utf8) + 1);
    return 0;
}

/* RtlGetVersion's signature (ntdll exports it; the SDK declares it for drivers only). */
typedef LONG(WINAPI *rtl_get_version_fn)(OSVERSIONINFOW *);

int mdm_os_system_description(char *out, size_t size)
{
    /*
     * GetVersionEx reports 6.2 to a program without a compatibility
     * manifest from Windows 8.1 on; RtlGetVersion reports the real version.
     */
    OSVERSIONINFOW v;
    SYSTEM_INFO si;
    rtl_get_version_fn get_version;
    const char *arch;
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    int n;

    memset(&v, 0, sizeof(v));
    v.dwOSVersionInfoSize = sizeof(v);
    get_version = ntdll != NULL
                      ? (rtl_get_version_fn)(void (*)(void))GetProcAddress(ntdll, "RtlGetVersion")
                      : NULL;
    if (get_version == NULL || get_version(&v) != 0)
        return MDM_EIO;
    GetNativeSystemInfo(&si);
    switch (si.wProcessorArchitecture) {
    case PROCESSOR_ARCHITECTURE_AMD64:
        arch = "x64";
        break;
    case PROCESSOR_ARCHITECTURE_INTEL:
        arch = "x86";
        break;
    case PROCESSOR_ARCHITECTURE_ARM64:
        arch = "arm64";
        break;
    default:
        arch = "unknown-architecture";
        break;
    }
    n = snprintf(NULL, 0, "Windows %lu.%lu.%lu %s", (unsigned long)v.dwMajorVersion,
                 (unsigned long)v.dwMinorVersion, (unsigned long)v.dwBuildNumber, arch);
    if (n < 0)
        return MDM_EIO;
    if ((size_t)n >= size)
        return MDM_ETOOBIG;
    snprintf(out, size, "Windows %lu.%lu.%lu %s", (unsigned long)v.dwMajorVersion,
             (unsigned long)v.dwMinorVersion, (unsigned long)v.dwBuildNumber, arch);
    return 0;
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

void mdm_os_sleep_ms(unsigned ms)
{
    Sleep(ms);
}

long mdm_os_process_id(void)
{
    return (long)GetCurrentProcessId();
}

/*
 * The console whose echo is off, for the Ctrl-C / Ctrl-Break / close
 * handler, which Windows runs on a thread of its own: it puts the saved
 * mode back and returns FALSE, so that the next handler (the default one
 * ends the process) still runs.
 */
static HANDLE secret_console = NULL;
static DWORD secret_saved_mode;

static BOOL WINAPI secret_on_ctrl(DWORD type)
{
    HANDLE h = secret_console;

    (void)type;
    if (h != NULL)
        SetConsoleMode(h, secret_saved_mode);
    return FALSE;
}

/* Writes UTF-8 text to the console (converted to UTF-16); errors are ignored. */
static void console_write(const char *text)
{
    HANDLE h = GetStdHandle(STD_ERROR_HANDLE), own = INVALID_HANDLE_VALUE;
    wchar_t wide[512];
    DWORD mode, written;

    /* stderr redirected: the console itself, so that the prompt is seen, not saved in a file. */
    if (h == NULL || h == INVALID_HANDLE_VALUE || !GetConsoleMode(h, &mode)) {
        own = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE,
                          FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
        h = own;
    }
    if (h != INVALID_HANDLE_VALUE &&
        mdm_win_utf8_to_wide(text, wide, sizeof(wide) / sizeof(wide[0])) == 0)
        WriteConsoleW(h, wide, (DWORD)wcslen(wide), &written, NULL);
    if (own != INVALID_HANDLE_VALUE)
        CloseHandle(own);
}

int mdm_os_read_secret(const char *prompt, char *out, size_t size, struct mdm_err *err)
{
    /* UTF-16: at most one wide character per byte of the UTF-8 line, plus "\r\n". */
    wchar_t line[MDM_OS_SECRET_LINE_MAX + 3];
    wchar_t chunk[256];
    char utf8[MDM_OS_SECRET_LINE_MAX + 1];
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    DWORD mode, got;
    size_t len = 0;
    bool too_long = false, got_line = false, restore = false;
    char text[256];
    int rc;

    if (in == NULL || in == INVALID_HANDLE_VALUE || !GetConsoleMode(in, &mode))
        return mdm_err_set(err, MDM_ENOTFOUND, "standard input is not a console");
    secret_saved_mode = mode;
    secret_console = in;
    restore = true;
    SetConsoleCtrlHandler(secret_on_ctrl, TRUE);
    /* Line input without echo; processed input keeps Ctrl-C a signal. */
    if (!SetConsoleMode(in, (mode & ~(DWORD)ENABLE_ECHO_INPUT) | ENABLE_LINE_INPUT |
                                ENABLE_PROCESSED_INPUT)) {
        DWORD e = GetLastError();
        mdm_win_error_text(e, text, sizeof(text));
        rc = mdm_err_set(err, MDM_EIO, "cannot turn the console's echo off: %s", text);
        goto out;
    }
    console_write(prompt);
    /* A line longer than chunk comes in several reads; the rest of a too long line is dropped. */
    while (!got_line) {
        if (!ReadConsoleW(in, chunk, (DWORD)(sizeof(chunk) / sizeof(chunk[0])), &got, NULL)) {
            DWORD e = GetLastError();
            mdm_win_error_text(e, text, sizeof(text));
            rc = mdm_err_set(err, MDM_EIO, "cannot read the console: %s", text);
            goto out;
        }
        if (got == 0)
            break;
        for (DWORD i = 0; i < got; i++) {
            if (chunk[i] == L'\n') {
                got_line = true;
                break;
            }
            if (len < MDM_OS_SECRET_LINE_MAX)
                line[len++] = chunk[i];
            else
                too_long = true;
        }
    }
    if (len > 0 && line[len - 1] == L'\r')
        len--;
    line[len] = L'\0';
    if (!got_line && len == 0) {
        rc = mdm_err_set(err, MDM_EIO, "end of input before a line was entered");
        goto out;
    }
    rc = too_long ? MDM_ETOOBIG : mdm_win_wide_to_utf8(line, utf8, sizeof(utf8));
    if (rc == 0 && strlen(utf8) + 1 > size)
        rc = MDM_ETOOBIG;
    if (rc == MDM_ETOOBIG) {
        rc = mdm_err_set(err, MDM_ETOOBIG, "the line entered is too long (at most %zu bytes)",
                         size > 0 && size - 1 < MDM_OS_SECRET_LINE_MAX
                             ? size - 1
                             : (size_t)MDM_OS_SECRET_LINE_MAX);
        goto out;
    }
    if (rc != 0) {
        rc = mdm_err_set(err, rc, "the line entered is not valid text (unpaired surrogate)");
        goto out;
    }
    memcpy(out, utf8, strlen(utf8) + 1);
out:
    if (restore) {
        SetConsoleMode(in, secret_saved_mode);
        SetConsoleCtrlHandler(secret_on_ctrl, FALSE);
        secret_console = NULL;
        /* The Enter key was not echoed: end the prompt's line. */
        console_write("\n");
    }
    SecureZeroMemory(line, sizeof(line));
    SecureZeroMemory(chunk, sizeof(chunk));
    SecureZeroMemory(utf8, sizeof(utf8));
    return rc;
}

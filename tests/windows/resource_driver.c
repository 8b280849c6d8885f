/*
 * resource_driver.c - reads the resources of a program the way Event Viewer
 * and Explorer do, for tests/test_windows_smoke.cc:
 *
 *   resource_driver.exe message EXE ID...   for each ID (decimal or 0x hex):
 *       LoadLibraryExW(EXE, LOAD_LIBRARY_AS_DATAFILE), then FormatMessageW
 *       from that module with the one insertion string "hello"; prints
 *       "ID=<text>" or "ID error <Windows error number>"
 *   resource_driver.exe version EXE
 *       GetFileVersionInfoW / VerQueryValueW; prints the fixed file and
 *       product versions and the U.S. English strings, one "name=value" a line
 *
 * Output is UTF-8. Exit status 0 when every lookup worked, 1 otherwise, 2 for
 * usage errors.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static void print_wide(const wchar_t *w)
{
    char utf8[4096];

    if (WideCharToMultiByte(CP_UTF8, 0, w, -1, utf8, (int)sizeof(utf8), NULL, NULL) == 0)
        strcpy(utf8, "(not convertible)");
    fputs(utf8, stdout);
}

static int messages(const wchar_t *exe, int count, char **ids)
{
    const wchar_t *hello = L"hello";
    DWORD_PTR args[1] = {(DWORD_PTR)hello};
    HMODULE module;
    int status = 0;

    module = LoadLibraryExW(exe, NULL, LOAD_LIBRARY_AS_DATAFILE);
    if (module == NULL) {
        printf("LoadLibraryExW error %lu\n", GetLastError());
        return 1;
    }
    for (int i = 0; i < count; i++) {
        DWORD id = (DWORD)strtoul(ids[i], NULL, 0);
        wchar_t text[1024];
        DWORD n =
            FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY, module, id,
                           0, text, sizeof(text) / sizeof(text[0]), (va_list *)args);
        if (n == 0) {
            printf("%s error %lu\n", ids[i], GetLastError());
            status = 1;
            continue;
        }
        printf("%s=", ids[i]);
        print_wide(text);
        putchar('\n');
    }
    FreeLibrary(module);
    return status;
}

static int version(const wchar_t *exe)
{
    static const wchar_t *const names[] = {L"CompanyName",   L"FileDescription",  L"FileVersion",
                                           L"InternalName",  L"OriginalFilename", L"ProductName",
                                           L"ProductVersion"};
    VS_FIXEDFILEINFO *fixed;
    UINT len;
    DWORD handle, size;
    void *data;
    int status = 1;

    size = GetFileVersionInfoSizeW(exe, &handle);
    if (size == 0) {
        printf("GetFileVersionInfoSizeW error %lu\n", GetLastError());
        return 1;
    }
    data = malloc(size);
    if (data == NULL || !GetFileVersionInfoW(exe, 0, size, data)) {
        printf("GetFileVersionInfoW error %lu\n", GetLastError());
        goto out;
    }
    if (!VerQueryValueW(data, L"\\", (void **)&fixed, &len) || len < sizeof(*fixed)) {
        printf("no VS_FIXEDFILEINFO\n");
        goto out;
    }
    printf("fixed FileVersion=%u.%u.%u.%u\n", (unsigned)HIWORD(fixed->dwFileVersionMS),
           (unsigned)LOWORD(fixed->dwFileVersionMS), (unsigned)HIWORD(fixed->dwFileVersionLS),
           (unsigned)LOWORD(fixed->dwFileVersionLS));
    printf("fixed ProductVersion=%u.%u.%u.%u\n", (unsigned)HIWORD(fixed->dwProductVersionMS),
           (unsigned)LOWORD(fixed->dwProductVersionMS), (unsigned)HIWORD(fixed->dwProductVersionLS),
           (unsigned)LOWORD(fixed->dwProductVersionLS));
    printf("fixed FileType=%lu\n", (unsigned long)fixed->dwFileType);
    status = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        wchar_t path[128];
        wchar_t *value;
        _snwprintf(path, sizeof(path) / sizeof(path[0]), L"\\StringFileInfo\\040904b0\\%ls",
                   names[i]);
        path[sizeof(path) / sizeof(path[0]) - 1] = L'\0';
        print_wide(names[i]);
        if (!VerQueryValueW(data, path, (void **)&value, &len) || len == 0) {
            fputs(" missing\n", stdout);
            status = 1;
            continue;
        }
        putchar('=');
        print_wide(value);
        putchar('\n');
    }
out:
    free(data);
    return status;
}

int main(int argc, char **argv)
{
    wchar_t exe[MAX_PATH];

    if (argc < 3 || MultiByteToWideChar(CP_ACP, 0, argv[2], -1, exe, MAX_PATH) == 0) {
        fprintf(stderr, "usage: resource_driver message EXE ID... | version EXE\n");
        return 2;
    }
    if (strcmp(argv[1], "message") == 0 && argc > 3)
        return messages(exe, argc - 3, argv + 3);
    if (strcmp(argv[1], "version") == 0 && argc == 3)
        return version(exe);
    fprintf(stderr, "usage: resource_driver message EXE ID... | version EXE\n");
    return 2;
}

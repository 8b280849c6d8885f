// test_util_win.cc - test_util.h on Windows (the cross-built suites run under
// Wine): temporary directories under GetTempPathW() and programs started with
// CreateProcessW, their standard handles redirected to files.
#include "test_util.h"

#include <gtest/gtest.h>

#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include <string>
#include <vector>

namespace mdmtest
{

static std::wstring widen(const std::string &s)
{
    if (s.empty())
        return std::wstring();
    int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), (int)s.size(), nullptr, 0);
    std::wstring w((size_t)n, L'\0');
    MultiByteToWideChar(CP_UTF8, 0, s.data(), (int)s.size(), &w[0], n);
    return w;
}

static std::string narrow(const std::wstring &w)
{
    if (w.empty())
        return std::string();
    int n = WideCharToMultiByte(CP_UTF8, 0, w.data(), (int)w.size(), nullptr, 0, nullptr, nullptr);
    std::string s((size_t)n, '\0');
    WideCharToMultiByte(CP_UTF8, 0, w.data(), (int)w.size(), &s[0], n, nullptr, nullptr);
    return s;
}

std::string make_temp_dir(const std::string &tag)
{
    static unsigned counter;
    wchar_t base[MAX_PATH + 1];
    DWORD n = GetTempPathW(MAX_PATH + 1, base);
    EXPECT_TRUE(n > 0 && n <= MAX_PATH) << "GetTempPathW failed: " << GetLastError();
    if (n == 0 || n > MAX_PATH)
        return std::string();
    /* Like mkdtemp(): a new name, created here, never an existing directory. */
    for (int attempt = 0; attempt < 100; attempt++) {
        std::wstring dir = std::wstring(base) + L"mdmtest-" + widen(tag) + L"-" +
                           std::to_wstring(GetCurrentProcessId()) + L"-" +
                           std::to_wstring(++counter) + L"-" + std::to_wstring(GetTickCount());
        if (CreateDirectoryW(dir.c_str(), nullptr))
            return narrow(dir);
        if (GetLastError() != ERROR_ALREADY_EXISTS)
            break;
    }
    ADD_FAILURE() << "cannot create a temporary directory: " << GetLastError();
    return std::string();
}

std::string access_of(const std::string &path)
{
    PSECURITY_DESCRIPTOR sd = nullptr;
    wchar_t *sddl = nullptr;
    std::string out;
    if (GetNamedSecurityInfoW(widen(path).c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                              nullptr, nullptr, nullptr, nullptr, &sd) != ERROR_SUCCESS)
        return out;
    if (ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &sddl, nullptr)) {
        out = narrow(sddl);
        LocalFree(sddl);
    }
    LocalFree(sd);
    return out;
}

bool running_under_wine()
{
    /* Wine's ntdll exports its version; Windows' does not. */
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

/* One argument quoted as CommandLineToArgvW and the C runtime read it back. */
static std::wstring quote_arg(const std::wstring &arg)
{
    if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos)
        return arg;
    std::wstring q = L"\"";
    size_t backslashes = 0;
    for (wchar_t c : arg) {
        if (c == L'\\') {
            backslashes++;
            continue;
        }
        /* Backslashes are literal unless a quote follows: then double them. */
        q.append(c == L'"' ? backslashes * 2 + 1 : backslashes, L'\\');
        backslashes = 0;
        q += c;
    }
    q.append(backslashes * 2, L'\\');
    q += L'"';
    return q;
}

static HANDLE open_inheritable(const std::wstring &path, bool write)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), nullptr, TRUE};
    return CreateFileW(path.c_str(), write ? GENERIC_WRITE : GENERIC_READ,
                       FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                       write ? CREATE_ALWAYS : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
}

static std::string without_cr(const std::string &text)
{
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); i++)
        if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n'))
            out += text[i];
    return out;
}

RunResult run_program(const std::vector<std::string> &argv, const std::string &stdin_data)
{
    RunResult result{-1, "", ""};
    std::string dir = make_temp_dir("run");
    std::string in_path = dir + "\\stdin", out_path = dir + "\\stdout", err_path = dir + "\\stderr";
    write_file(in_path, stdin_data);

    /* The program's own path with Windows separators ("/work/..." is on the current drive). */
    std::wstring app = widen(argv.at(0));
    for (wchar_t &c : app)
        if (c == L'/')
            c = L'\\';
    std::wstring cmdline;
    for (size_t i = 0; i < argv.size(); i++)
        cmdline += (i ? L" " : L"") + quote_arg(i ? widen(argv[i]) : app);

    HANDLE in = open_inheritable(widen(in_path), false);
    HANDLE out = open_inheritable(widen(out_path), true);
    HANDLE err = open_inheritable(widen(err_path), true);
    if (in != INVALID_HANDLE_VALUE && out != INVALID_HANDLE_VALUE && err != INVALID_HANDLE_VALUE) {
        STARTUPINFOW si;
        PROCESS_INFORMATION pi;
        ZeroMemory(&si, sizeof(si));
        si.cb = sizeof(si);
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = in;
        si.hStdOutput = out;
        si.hStdError = err;
        std::vector<wchar_t> line(cmdline.begin(), cmdline.end());
        line.push_back(L'\0');
        if (CreateProcessW(app.c_str(), line.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr,
                           &si, &pi)) {
            DWORD code = 0;
            WaitForSingleObject(pi.hProcess, INFINITE);
            /* An exception code (0xC0000005, ...) is a crash: -1 as for a signal on Linux. */
            if (GetExitCodeProcess(pi.hProcess, &code) && code < 0xC0000000u)
                result.status = (int)code;
            CloseHandle(pi.hThread);
            CloseHandle(pi.hProcess);
        } else {
            /* As on Linux, a program that cannot start is a status, not a test failure. */
            result.err = "cannot start " + argv[0] + ": error " + std::to_string(GetLastError());
        }
    }
    for (HANDLE h : {in, out, err})
        if (h != INVALID_HANDLE_VALUE)
            CloseHandle(h);
    result.out = without_cr(read_file(out_path));
    result.err += without_cr(read_file(err_path));
    remove_tree(dir);
    return result;
}

} // namespace mdmtest

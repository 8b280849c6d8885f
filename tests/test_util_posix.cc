// test_util_posix.cc - test_util.h on Linux: mkdtemp(), fork() and execv().
#include "test_util.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mdmtest
{

std::string make_temp_dir(const std::string &tag)
{
    const char *base = getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/mdmtest-" + tag + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char *dir = mkdtemp(buf.data());
    EXPECT_NE(dir, nullptr) << strerror(errno);
    return dir ? std::string(dir) : std::string();
}

std::string access_of(const std::string &path)
{
    struct stat st;
    char mode[8];
    if (stat(path.c_str(), &st) != 0)
        return "";
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
    return mode;
}

bool running_under_wine()
{
    return false;
}

/* Drains fd into out until EOF. */
static void drain(int fd, std::string &out)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        out.append(buf, (size_t)n);
}

RunResult run_program(const std::vector<std::string> &argv, const std::string &stdin_data)
{
    RunResult result{-1, "", ""};
    std::string dir = make_temp_dir("run");
    std::string in_path = dir + "/stdin", out_path = dir + "/stdout", err_path = dir + "/stderr";
    write_file(in_path, stdin_data);

    pid_t pid = fork();
    if (pid == 0) {
        int in = open(in_path.c_str(), O_RDONLY);
        int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0)
            _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        std::vector<char *> args;
        for (const auto &a : argv)
            args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
        result.status = WEXITSTATUS(status);
    int fd = open(out_path.c_str(), O_RDONLY);
    if (fd >= 0) {
        drain(fd, result.out);
        close(fd);
    }
    fd = open(err_path.c_str(), O_RDONLY);
    if (fd >= 0) {
        drain(fd, result.err);
        close(fd);
    }
    unlink(in_path.c_str());
    unlink(out_path.c_str());
    unlink(err_path.c_str());
    rmdir(dir.c_str());
    return result;
}

} // namespace mdmtest

// test_util.cc - helpers shared by the GoogleTest files.
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
#include <fstream>
#include <sstream>

namespace mdmtest
{

std::string read_file(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string &path, const std::string &data)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    out << data;
}

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

bool file_exists(const std::string &path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0;
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

std::string shared_evtx_dir()
{
    const char *env = getenv("MDM_SHARED_EVTX_DIR");
    return env != nullptr && *env != '\0' ? env : MDM_SHARED_EVTX_DIR;
}

std::string event_xml(const std::string &provider, unsigned event_id, unsigned long long record_id,
                      const std::string &computer, const std::string &time,
                      const std::string &channel, const std::string &message, unsigned qualifiers)
{
    std::ostringstream x;
    x << "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
      << "<Provider Name='" << provider << "'/>"
      << "<EventID Qualifiers='" << qualifiers << "'>" << event_id << "</EventID>"
      << "<Level>" << (event_id == 1003 ? 2 : 4) << "</Level><Task>0</Task>"
      << "<Keywords>0x80000000000000</Keywords>"
      << "<TimeCreated SystemTime='" << time << "'/>"
      << "<EventRecordID>" << record_id << "</EventRecordID>"
      << "<Channel>" << channel << "</Channel><Computer>" << computer << "</Computer>"
      << "<Security/></System><EventData><Data>param one</Data><Data>param two</Data></EventData>";
    if (!message.empty())
        x << "<RenderingInfo Culture='en-US'><Message>" << message << "</Message></RenderingInfo>";
    x << "</Event>\n";
    return x.str();
}

} // namespace mdmtest

// snmp_fixtures.cc - real processes for the SNMP end-to-end tests (see snmp_fixtures.h).
#include "snmp_fixtures.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <thread>

extern char **environ;

namespace snmptest
{

namespace
{

int free_port(int type)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t len = sizeof(sa);
    int port = 0;
    if (bind(fd, reinterpret_cast<struct sockaddr *>(&sa), sizeof(sa)) == 0 &&
        getsockname(fd, reinterpret_cast<struct sockaddr *>(&sa), &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* envp for execve: the current environment with the entries of extra replacing or added. */
std::vector<std::string> merged_env(const std::vector<std::string> &extra)
{
    std::vector<std::string> out;
    for (char **e = environ; e != nullptr && *e != nullptr; e++) {
        std::string entry(*e);
        std::string name = entry.substr(0, entry.find('='));
        bool replaced = false;
        for (const auto &x : extra)
            if (x.compare(0, name.size() + 1, name + "=") == 0)
                replaced = true;
        if (!replaced)
            out.push_back(entry);
    }
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

std::vector<char *> c_vector(std::vector<std::string> &v)
{
    std::vector<char *> out;
    for (auto &s : v)
        out.push_back(&s[0]);
    out.push_back(nullptr);
    return out;
}

/* Forks and execs argv with env; fd 1 and 2 go to out_fd / err_fd. Returns the pid or -1. */
pid_t spawn(const std::vector<std::string> &argv_in, const std::vector<std::string> &env_in,
            int out_fd, int err_fd, bool own_group)
{
    std::vector<std::string> argv_copy = argv_in;
    std::vector<std::string> env_copy = merged_env(env_in);
    std::vector<char *> argv = c_vector(argv_copy);
    std::vector<char *> envp = c_vector(env_copy);
    pid_t parent = getpid();

    pid_t pid = fork();
    if (pid == 0) {
        if (own_group)
            setpgid(0, 0);
        /* Die with the test process, even when it is killed (ctest timeout). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0)
            dup2(in, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execve(argv[0], argv.data(), envp.data());
        const char msg[] = "exec failed\n";
        ssize_t ignored = write(2, msg, sizeof(msg) - 1);
        (void)ignored;
        _exit(127);
    }
    if (pid > 0 && own_group)
        setpgid(pid, pid); /* also here, so the group exists when start() returns */
    return pid;
}

int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return -WTERMSIG(st);
    return -1;
}

std::string slurp(const std::string &path)
{
    FILE *fp = fopen(path.c_str(), "rb");
    if (fp == nullptr)
        return "";
    std::string out;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
        out.append(buf, n);
    fclose(fp);
    return out;
}

void write_text(const std::string &path, const std::string &text, mode_t mode = 0600)
{
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return;
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = write(fd, text.data() + off, text.size() - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
}

void make_dir(const std::string &path)
{
    mkdir(path.c_str(), 0700);
}

std::string trim(const std::string &s)
{
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos)
        return "";
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

bool contains(const std::string &hay, const std::string &needle)
{
    return hay.find(needle) != std::string::npos;
}

} // namespace

int free_udp_port()
{
    return free_port(SOCK_DGRAM);
}

int free_tcp_port()
{
    return free_port(SOCK_STREAM);
}

std::string read_text(const std::string &path)
{
    return slurp(path);
}

bool wait_until(const std::function<bool()> &pred, int timeout_ms, int step_ms)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (pred())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return pred();
        std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
    }
}

std::string find_program(const std::string &name)
{
    std::vector<std::string> dirs = {"/usr/sbin", "/usr/bin",        "/sbin",
                                     "/bin",      "/usr/local/sbin", "/usr/local/bin"};
    const char *path = getenv("PATH");
    if (path != nullptr) {
        std::stringstream ss(path);
        std::string d;
        while (std::getline(ss, d, ':'))
            if (!d.empty())
                dirs.push_back(d);
    }
    for (const auto &d : dirs) {
        std::string p = d + "/" + name;
        if (access(p.c_str(), X_OK) == 0)
            return p;
    }
    return "";
}

// ---------------------------------------------------------------------------
// Process

Process::~Process()
{
    stop(2000);
}

bool Process::start(const std::vector<std::string> &argv, const std::vector<std::string> &env,
                    const std::string &log_path)
{
    stop();
    log_path_ = log_path;
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    pid_ = spawn(argv, env, fd, fd, true);
    close(fd);
    if (pid_ <= 0) {
        pid_ = -1;
        return false;
    }
    exited_ = false;
    status_ = -1;
    return true;
}

bool Process::running()
{
    if (exited_)
        return false;
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
        exited_ = true;
        status_ = r == pid_ ? decode_status(st) : -1;
        return false;
    }
    return true;
}

bool Process::wait_exit(int timeout_ms)
{
    return wait_until([this] { return !running(); }, timeout_ms, 20);
}

void Process::signal(int sig)
{
    if (!exited_ && pid_ > 0)
        kill(pid_, sig);
}

void Process::kill_hard()
{
    if (exited_ || pid_ <= 0)
        return;
    kill(-pid_, SIGKILL);
    int st = 0;
    if (waitpid(pid_, &st, 0) == pid_)
        status_ = decode_status(st);
    exited_ = true;
}

int Process::stop(int grace_ms)
{
    if (exited_ || pid_ <= 0)
        return status_;
    kill(-pid_, SIGTERM);
    if (!wait_exit(grace_ms))
        kill_hard();
    return status_;
}

std::string Process::log() const
{
    return log_path_.empty() ? std::string() : slurp(log_path_);
}

std::vector<std::string> netsnmp_env(const std::string &dir)
{
    make_dir(dir);
    make_dir(dir + "/persist");
    return {"SNMPCONFPATH=" + dir, "SNMP_PERSISTENT_DIR=" + dir + "/persist"};
}

mdmtest::RunResult run_with_env(const std::vector<std::string> &argv,
                                const std::vector<std::string> &env, int timeout_ms)
{
    mdmtest::RunResult result{-1, "", ""};
    char out_tmpl[] = "/tmp/mdmtest-out-XXXXXX";
    char err_tmpl[] = "/tmp/mdmtest-err-XXXXXX";
    int out = mkstemp(out_tmpl);
    int err = mkstemp(err_tmpl);
    if (out < 0 || err < 0) {
        if (out >= 0)
            close(out);
        if (err >= 0)
            close(err);
        result.err = "mkstemp failed";
        return result;
    }
    pid_t pid = spawn(argv, env, out, err, true);
    close(out);
    close(err);
    if (pid > 0) {
        int st = 0;
        bool done = wait_until(
            [&] {
                pid_t r = waitpid(pid, &st, WNOHANG);
                return r == pid || r < 0;
            },
            timeout_ms, 10);
        if (!done) {
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            result.status = -1;
        } else {
            result.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
    }
    result.out = slurp(out_tmpl);
    result.err = slurp(err_tmpl);
    unlink(out_tmpl);
    unlink(err_tmpl);
    return result;
}

// ---------------------------------------------------------------------------
// Notifications

std::string Notification::typed(const std::string &oid) const
{
    for (const auto &v : vars)
        if (v.first == oid)
            return v.second;
    return "<absent>";
}

std::string Notification::value(const std::string &oid) const
{
    std::string t = typed(oid);
    if (t == "<absent>")
        return t;
    size_t p = t.find(": ");
    std::string v = p == std::string::npos ? std::string() : t.substr(p + 2);
    if (p == std::string::npos && !t.empty() && t.back() == ':')
        v = "";
    v = trim(v);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
        v = v.substr(1, v.size() - 2);
    return v;
}

std::vector<Notification> parse_notifications(const std::string &log)
{
    static const std::string prefix = "NOTIFICATION|";
    std::vector<Notification> out;
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line)) {
        size_t start = line.find(prefix);
        if (start == std::string::npos)
            continue;
        Notification n;
        n.raw = line;
        std::string rest = line.substr(start + prefix.size());
        size_t bar = rest.find('|');
        std::string header = rest.substr(0, bar);
        std::string vars = bar == std::string::npos ? std::string() : rest.substr(bar + 1);
        size_t comma = header.find(", ");
        n.pdu = header.substr(0, comma);
        n.security = comma == std::string::npos ? std::string() : header.substr(comma + 2);
        std::istringstream vs(vars);
        std::string vb;
        while (std::getline(vs, vb, '\t')) {
            size_t eq = vb.find(" = ");
            if (eq == std::string::npos)
                continue;
            std::string name = vb.substr(0, eq);
            std::string typed = vb.substr(eq + 3);
            n.vars.emplace_back(name, typed);
            if (name == ".1.3.6.1.6.3.1.1.4.1.0" || name == "SNMPv2-MIB::snmpTrapOID.0") {
                size_t p = typed.find("OID: ");
                n.trap_oid = p == std::string::npos ? typed : trim(typed.substr(p + 5));
            }
        }
        out.push_back(n);
    }
    return out;
}

// ---------------------------------------------------------------------------
// snmptrapd

std::string TrapReceiver::start(const std::string &dir, const std::string &conf,
                                const std::string &mib_dirs, int port)
{
    std::string prog = find_program("snmptrapd");
    if (prog.empty())
        return "snmptrapd is not installed";
    make_dir(dir);
    std::string conf_path = dir + "/snmptrapd.conf";
    write_text(conf_path, conf);
    std::vector<std::string> env = netsnmp_env(dir);
    std::string why;
    for (int attempt = 0; attempt < (port ? 20 : 5); attempt++) {
        if (port != 0 && attempt > 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        port_ = port ? port : free_udp_port();
        log_path_ = dir + "/snmptrapd-" + std::to_string(port_) + ".log";
        std::vector<std::string> argv = {prog, "-f", "-Lf", log_path_, "-C", "-c", conf_path};
        std::vector<std::string> e = env;
        if (mib_dirs.empty()) {
            argv.push_back("-On");
            e.push_back("MIBS="); /* numeric: load no MIB modules at all */
        } else {
            argv.insert(argv.end(), {"-M", "+" + mib_dirs, "-m", "SNMPv2-MIB:MDM-HEALTH-MIB"});
        }
        argv.insert(argv.end(),
                    {"-F", "NOTIFICATION|%P|%v\\n", "udp:127.0.0.1:" + std::to_string(port_)});
        if (!proc_.start(argv, e, log_path_))
            return "cannot start snmptrapd";
        bool ready = wait_until(
            [&] { return !proc_.running() || contains(proc_.log(), "NET-SNMP version"); }, 10000);
        if (ready && proc_.running())
            return "";
        why = proc_.log();
        proc_.stop();
    }
    return "snmptrapd did not start: " + why;
}

std::vector<Notification> TrapReceiver::notifications() const
{
    return parse_notifications(proc_.log());
}

bool TrapReceiver::wait_for(const std::function<bool(const std::vector<Notification> &)> &pred,
                            int timeout_ms) const
{
    return wait_until([&] { return pred(notifications()); }, timeout_ms);
}

// ---------------------------------------------------------------------------
// snmpd as AgentX master

std::string MasterAgent::start(const std::string &dir, const std::string &extra_conf, int udp_port,
                               int agentx_port)
{
    std::string prog = find_program("snmpd");
    if (prog.empty())
        return "snmpd is not installed";
    make_dir(dir);
    std::vector<std::string> env = netsnmp_env(dir);
    env.push_back("MIBS=");
    bool fixed = udp_port != 0 && agentx_port != 0;
    std::string why;
    for (int attempt = 0; attempt < (fixed ? 20 : 5); attempt++) {
        udp_port_ = fixed ? udp_port : free_udp_port();
        agentx_port_ = fixed ? agentx_port : free_tcp_port();
        std::string conf_path = dir + "/snmpd.conf";
        write_text(conf_path,
                   "master agentx\nagentXSocket tcp:127.0.0.1:" + std::to_string(agentx_port_) +
                       "\nagentaddress udp:127.0.0.1:" + std::to_string(udp_port_) + "\n" +
                       extra_conf);
        std::string log_path = dir + "/snmpd-" + std::to_string(++starts_) + ".log";
        std::vector<std::string> argv = {prog, "-f", "-Lf", log_path, "-C", "-c", conf_path};
        if (!proc_.start(argv, env, log_path))
            return "cannot start snmpd";
        bool ready = wait_until(
            [&] { return !proc_.running() || contains(proc_.log(), "NET-SNMP version"); }, 10000);
        std::string log = proc_.log();
        /* snmpd goes on without its AgentX socket when it cannot bind it: a clash too. */
        bool agentx_failed =
            contains(log, "agentx") && (contains(log, "Error") || contains(log, "rror opening"));
        if (ready && proc_.running() && !agentx_failed)
            return "";
        why = log;
        proc_.stop();
        if (fixed) /* the same ports again: wait for them to be released */
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return "snmpd did not start: " + why;
}

// ---------------------------------------------------------------------------
// mdmhealth run

MdmAgent::MdmAgent(const std::string &dir)
    : dir_(dir), events_(dir + "/events.xml"), config_(dir + "/mdmhealth.conf")
{
    make_dir(dir_);
    write_text(events_, "", 0644);
}

void MdmAgent::configure(const std::string &snmp_lines)
{
    write_text(config_, "# written by test_snmp_agent\nsource xml-follow " + events_ +
                            "\nstate-dir " + dir_ + "/state\n" + snmp_lines);
}

std::string MdmAgent::start(int timeout_ms)
{
    std::string log_path = dir_ + "/mdm-" + std::to_string(++starts_) + ".log";
    std::vector<std::string> argv = {MDM_BINARY, "run", "-c", config_, "-f"};
    argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
    if (!proc_.start(argv, extra_env_, log_path))
        return "cannot start " MDM_BINARY;
    bool ready = wait_until(
        [&] { return !proc_.running() || contains(proc_.log(), "event source: xml-follow"); },
        timeout_ms);
    if (ready && proc_.running())
        return "";
    std::string why = proc_.running() ? "not ready in time" : "exited";
    proc_.stop();
    return "mdmhealth run " + why + " (status " + std::to_string(proc_.exit_status()) + "):\n" +
           proc_.log();
}

void MdmAgent::append(const std::string &event_xml_line)
{
    int fd = open(events_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = write(fd, event_xml_line.data(), event_xml_line.size());
    (void)n;
    close(fd);
}

bool MdmAgent::wait_log(const std::string &text, int timeout_ms) const
{
    return wait_until([&] { return contains(proc_.log(), text); }, timeout_ms);
}

// ---------------------------------------------------------------------------
// MIB and tools

namespace oids
{
const std::string kRoot = ".1.3.6.1.4.1.8072.9999.9999";
const std::string kAlertRaised = kRoot + ".0.1";
const std::string kAlertResolved = kRoot + ".0.2";

std::string monitor_column(int column, int row)
{
    return kRoot + ".1.2.1." + std::to_string(column) + "." + std::to_string(row);
}

std::string agent_scalar(int item)
{
    return kRoot + ".1.1." + std::to_string(item) + ".0";
}
} // namespace oids

mdmtest::RunResult snmp_tool(const std::string &dir, const std::string &tool,
                             const std::vector<std::string> &auth_args, int port,
                             const std::vector<std::string> &oid_list,
                             const std::vector<std::string> &extra)
{
    std::string prog = find_program(tool);
    if (prog.empty())
        return {-1, "", tool + " is not installed"};
    std::vector<std::string> env = netsnmp_env(dir + "/client");
    env.push_back("MIBS=");
    std::vector<std::string> argv = {prog};
    argv.insert(argv.end(), auth_args.begin(), auth_args.end());
    argv.insert(argv.end(), {"-On", "-t", "2", "-r", "0"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("udp:127.0.0.1:" + std::to_string(port));
    argv.insert(argv.end(), oid_list.begin(), oid_list.end());
    return run_with_env(argv, env, 30000);
}

std::string get_value(const mdmtest::RunResult &r, const std::string &oid)
{
    std::istringstream in(r.out);
    std::string line;
    std::string key = (oid.empty() || oid[0] == '.' ? oid : "." + oid) + " = ";
    while (std::getline(in, line)) {
        if (line.compare(0, key.size(), key) != 0)
            continue;
        std::string v = line.substr(key.size());
        if (v.compare(0, 7, "No Such") == 0 || v.compare(0, 7, "No more") == 0)
            return "";
        return v;
    }
    return "";
}

std::string state_file_health(const std::string &state_text, size_t row_index)
{
    std::istringstream in(state_text);
    std::string line;
    size_t seen = 0;
    while (std::getline(in, line)) {
        if (line.compare(0, 4, "row ") != 0)
            continue;
        if (seen++ != row_index)
            continue;
        std::istringstream ts(line);
        std::string tok[4];
        for (auto &t : tok)
            ts >> t;
        return tok[3];
    }
    return "";
}

size_t state_file_notices(const std::string &state_text)
{
    std::istringstream in(state_text);
    std::string line;
    size_t n = 0;
    while (std::getline(in, line))
        if (line.compare(0, 7, "notice ") == 0)
            n++;
    return n;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path); /* best effort: go on with the rest */
    return 0;
}

void remove_tree(const std::string &path)
{
    if (!path.empty())
        nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

std::string mib_base_dir(std::string *why)
{
    std::string script = std::string(MDM_SOURCE_DIR) + "/scripts/mib-base-modules";
    auto r = run_with_env({"/bin/bash", script}, {}, 300000);
    std::string dir = trim(r.out);
    if (r.status != 0 || dir.empty()) {
        if (why != nullptr)
            *why = "scripts/mib-base-modules failed (status " + std::to_string(r.status) +
                   "): " + r.err;
        return "";
    }
    return dir;
}

namespace enrollment
{
const std::string kMonitorId =
    "Microsoft.SystemCenter.MobileDeviceManager.2008.1_0.WipeServiceDriver.EnrollmentConnection."
    "MobileDeviceManager.EnrollmentConnection.EventBased.UnitMonitor";
const std::string kComputer = "DM01.contoso.com";
const std::string kFailure =
    "The Device Management Server cannot connect to the Enrollment Server at "
    "https://enroll.contoso.com:8445/EnrollmentServer/. The remote server returned an error: "
    "(401) Unauthorized.";
const std::string kSuccess = "The Device Management Server connected to the Enrollment Server at "
                             "https://enroll.contoso.com:8445/EnrollmentServer/.";
const std::string kFailureTime = "2026-11-20T09:15:02.300Z";
const std::string kSuccessTime = "2026-11-20T09:20:00.000Z";

std::string failure_event(unsigned long long record, const std::string &computer)
{
    return mdmtest::event_xml("Device Manager", 1003, record, computer, kFailureTime,
                              "Mobile Device Manager", kFailure);
}

std::string success_event(unsigned long long record, const std::string &computer)
{
    return mdmtest::event_xml("Device Manager", 1004, record, computer, kSuccessTime,
                              "Mobile Device Manager", kSuccess);
}
} // namespace enrollment

void AgentTest::prepare(const char *dir_name, std::initializer_list<const char *> programs)
{
    for (const char *p : programs)
        if (find_program(p).empty())
            GTEST_SKIP() << p << " is not installed (scripts/setup installs it)";
    dir_ = mdmtest::make_temp_dir(dir_name);
    ASSERT_FALSE(dir_.empty());
    agent_ = std::make_unique<MdmAgent>(dir_ + "/mdm");
}

bool AgentTest::queue_drained(int timeout_ms)
{
    return wait_until([&] { return state_file_notices(read_text(agent_->state_file())) == 0; },
                      timeout_ms);
}

void AgentTest::TearDown()
{
    std::string logs;
    if (agent_) {
        agent_->stop();
        logs += "--- mdmhealth (last run) ---\n" + agent_->log();
    }
    trapd_.stop();
    logs += "--- snmptrapd ---\n" + trapd_.log();
    master_.stop();
    logs += "--- snmpd ---\n" + master_.log();
    logs += stop_others();
    if (dir_.empty())
        return;
    if (HasFailure())
        std::cerr << logs << "(files kept in " << dir_ << ")\n";
    else
        remove_tree(dir_);
}

} // namespace snmptest

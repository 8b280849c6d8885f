// test_snmp_nms.cc - mdmhealth as foreign NMS software sees it (docs/nms.md).
//
// Each test starts the real mdmhealth agent (`mdmhealth run -f` following an
// Event XML file, as in test_snmp_agent.cc) and a real consumer from its
// Debian 12 package, on 127.0.0.1 and ports chosen free at run time:
//   - snmptrapd handing every notification to snmptt (standalone mode, its
//     own snmptt.ini and log) with the shipped nms/snmptt/mdmhealth.snmptt.conf;
//   - Prometheus snmp_exporter with the shipped nms/prometheus/snmp.yml,
//     scraped over HTTP like Prometheus does;
//   - the Nagios / Icinga plugin check_snmp (monitoring-plugins-standard)
//     with the command line docs/nms.md documents;
//   - nmap's SNMP discovery scripts (snmp-info, snmp-sysdescr);
//   - pysnmp (python3-pysnmp4), an SNMP stack that shares no code with
//     Net-SNMP, as manager (v3 GET / WALK) and as inform receiver, through
//     tests/nms/pysnmp_tool.py;
//   - the Zabbix template's OIDs, read from nms/zabbix/mdmhealth-zabbix6.yaml
//     with PyYAML (tests/nms/zabbix_template.py) and asked of the agent (no
//     Zabbix server exists here: see docs/nms.md).
// Nothing is mocked. A test skips only when the consumer is not installed
// (scripts/setup installs all of them) or, for nmap's UDP scan, when the
// test does not run as root. Waits are bounded polls, never fixed sleeps.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "snmp_fixtures.h"
#include "test_util.h"

using snmptest::MdmAgent;
using snmptest::Process;
using snmptest::wait_until;
namespace oids = snmptest::oids;

namespace
{

using namespace snmptest::enrollment;

// The event times as DateAndTime's DISPLAY-HINT shows them (Net-SNMP with the MIB).
const std::string kFailureShown = "2026-11-20,9:15:2.3,+0:0";
const std::string kSuccessShown = "2026-11-20,9:20:0.0,+0:0";

std::string col(int column)
{
    return oids::monitor_column(column, 1);
}

std::string source_path(const std::string &rel)
{
    return std::string(MDM_SOURCE_DIR) + "/" + rel;
}

bool contains(const std::string &hay, const std::string &needle)
{
    return hay.find(needle) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string &text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        out.push_back(line);
    return out;
}

/* The lines of text that contain what. */
std::vector<std::string> grep(const std::string &text, const std::string &what)
{
    std::vector<std::string> out;
    for (const auto &l : lines_of(text))
        if (contains(l, what))
            out.push_back(l);
    return out;
}

/* The python3 that has pysnmp / PyYAML (Debian's), or "" with why. */
std::string debian_python(const std::string &module, std::string *why)
{
    std::string py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
                                                           : snmptest::find_program("python3");
    if (py.empty()) {
        *why = "python3 is not installed";
        return "";
    }
    auto r = snmptest::run_with_env({py, "-c", "import " + module}, {}, 30000);
    if (r.status != 0) {
        *why = py + " cannot import " + module + " (apt-get install " +
               (module == "pysnmp" ? "python3-pysnmp4" : "python3-yaml") + "): " + r.err;
        return "";
    }
    return py;
}

// --- HTTP and the Prometheus text format -------------------------------------------

struct HttpReply {
    int status = 0; /* 0 when no HTTP answer */
    std::string body;
    std::string error;
};

/* GET path from 127.0.0.1:port over HTTP/1.0 (the exporter closes after the reply). */
HttpReply http_get(int port, const std::string &path)
{
    HttpReply reply;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        reply.error = "socket failed";
        return reply;
    }
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<struct sockaddr *>(&sa), sizeof(sa)) != 0) {
        reply.error = std::string("connect: ") + strerror(errno);
        close(fd);
        return reply;
    }
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
        reply.error = "short write";
        close(fd);
        return reply;
    }
    std::string raw;
    char buf[8192];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        raw.append(buf, static_cast<size_t>(n));
    close(fd);
    size_t sp = raw.find(' ');
    size_t end = raw.find("\r\n\r\n");
    if (raw.compare(0, 5, "HTTP/") != 0 || sp == std::string::npos || end == std::string::npos) {
        reply.error = "not an HTTP reply: " + raw.substr(0, 200);
        return reply;
    }
    reply.status = atoi(raw.c_str() + sp + 1);
    reply.body = raw.substr(end + 4);
    return reply;
}

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
    std::string line;
};

/* The samples of a Prometheus text exposition (comments skipped, label values unescaped). */
std::vector<Sample> parse_exposition(const std::string &text)
{
    std::vector<Sample> out;
    for (const auto &line : lines_of(text)) {
        if (line.empty() || line[0] == '#')
            continue;
        Sample s;
        s.line = line;
        size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ')
            i++;
        s.name = line.substr(0, i);
        if (i < line.size() && line[i] == '{') {
            i++;
            while (i < line.size() && line[i] != '}') {
                size_t eq = line.find('=', i);
                if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
                    break;
                std::string key = line.substr(i, eq - i);
                std::string val;
                size_t j = eq + 2;
                for (; j < line.size() && line[j] != '"'; j++) {
                    if (line[j] == '\\' && j + 1 < line.size()) {
                        j++;
                        val += line[j] == 'n' ? '\n' : line[j];
                    } else {
                        val += line[j];
                    }
                }
                s.labels[key] = val;
                i = j + 1;
                if (i < line.size() && line[i] == ',')
                    i++;
            }
            i++; /* '}' */
        }
        s.value = strtod(line.c_str() + i, nullptr);
        out.push_back(s);
    }
    return out;
}

/* The samples named name whose labels include every pair of want. */
std::vector<Sample> select(const std::vector<Sample> &all, const std::string &name,
                           const std::map<std::string, std::string> &want = {})
{
    std::vector<Sample> out;
    for (const auto &s : all) {
        if (s.name != name)
            continue;
        bool ok = true;
        for (const auto &w : want) {
            auto it = s.labels.find(w.first);
            if (it == s.labels.end() || it->second != w.second)
                ok = false;
        }
        if (ok)
            out.push_back(s);
    }
    return out;
}

/* The value of the one sample that select() finds, or -1 (and a failure) when not exactly one. */
double value_of(const std::vector<Sample> &all, const std::string &name,
                const std::map<std::string, std::string> &want = {})
{
    auto found = select(all, name, want);
    EXPECT_EQ(1u, found.size()) << name;
    return found.size() == 1 ? found[0].value : -1;
}

// --- the fixture ---------------------------------------------------------------------

class NmsTest : public snmptest::AgentTest
{
  protected:
    void SetUp() override
    {
        prepare("nms", {"snmpget", "snmpwalk"});
    }

    std::string stop_others() override
    {
        std::string logs;
        for (auto &c : consumers_) {
            c.second->stop();
            logs += "--- " + c.first + " ---\n" + c.second->log();
        }
        return logs;
    }

    /* A consumer process that TearDown stops and whose log it shows on failure. */
    Process &consumer(const std::string &name)
    {
        consumers_.emplace_back(name, std::make_unique<Process>());
        return *consumers_.back().second;
    }

    /* Starts mdmhealth with lines(port), port a free UDP port for its agentaddress. */
    std::string start_agent(const std::function<std::string(int)> &lines)
    {
        std::string err;
        for (int attempt = 0; attempt < 5; attempt++) {
            agent_port_ = snmptest::free_udp_port();
            agent_->configure("agentaddress udp:127.0.0.1:" + std::to_string(agent_port_) +
                              "\nrocommunity secret 127.0.0.1\n" + lines(agent_port_));
            err = agent_->start();
            if (err.empty() || err.find("cannot listen") == std::string::npos)
                return err;
        }
        return err;
    }

    std::string get_v2c(const std::string &oid)
    {
        return snmptest::get_value(
            snmptest::snmp_tool(dir_, "snmpget", {"-v2c", "-c", "secret"}, agent_port_, {oid}),
            oid);
    }

    std::string wait_get(const std::string &oid, const std::string &want)
    {
        std::string last;
        wait_until(
            [&] {
                last = get_v2c(oid);
                return last == want;
            },
            10000, 100);
        return last;
    }

    /*
     * Starts argv + {"udp:127.0.0.1:PORT"}-style programs that log `ready`
     * once listening: make_argv(port) with a free port, retried on a clash.
     */
    std::string start_listener(Process &p, const std::function<std::vector<std::string>(int)> &argv,
                               const std::vector<std::string> &env, const std::string &log,
                               const std::string &ready, bool tcp, int *port_out)
    {
        std::string why;
        for (int attempt = 0; attempt < 5; attempt++) {
            int port = tcp ? snmptest::free_tcp_port() : snmptest::free_udp_port();
            std::string log_path = log + "-" + std::to_string(port) + ".log";
            if (!p.start(argv(port), env, log_path))
                return "cannot start " + argv(port)[0];
            bool up = wait_until([&] { return !p.running() || contains(p.log(), ready); }, 20000);
            if (up && p.running()) {
                *port_out = port;
                return "";
            }
            why = p.log();
            p.stop();
        }
        return argv(0)[0] + " did not start: " + why;
    }

    std::vector<std::pair<std::string, std::unique_ptr<Process>>> consumers_;
    int agent_port_ = 0;
};

// --- 1. snmptrapd + snmptt --------------------------------------------------------------

// The classic trap pipeline: snmptrapd (with MDM-HEALTH-MIB loaded, -On)
// hands each notification to snmptt through `traphandle default`; snmptt
// formats it with nms/snmptt/mdmhealth.snmptt.conf, which scripts/gen-nms
// generated from the MIB. The agent sends SNMPv3 authPriv informs, as
// docs/operators.md recommends; the diagnosis comes from a real diagnoser
// run (Enrollment Server 127.0.0.1 with a closed admin port).
TEST_F(NmsTest, SnmpttFormatsRaisedDiagnosisAndResolvedWithTheShippedConf)
{
    std::string snmptrapd = snmptest::find_program("snmptrapd");
    std::string snmptt = snmptest::find_program("snmptt");
    if (snmptrapd.empty() || snmptt.empty())
        GTEST_SKIP() << "snmptrapd or snmptt is not installed (apt-get install snmptrapd snmptt)";
    std::string why;
    std::string base = snmptest::mib_base_dir(&why);
    ASSERT_FALSE(base.empty()) << why;

    const std::string sdir = dir_ + "/snmptt";
    mkdir(sdir.c_str(), 0700);
    const std::string snmptt_log = sdir + "/snmptt.log";
    const std::string unknown_log = sdir + "/snmpttunknown.log";
    // The recipe's snmptt.ini (docs/nms.md), with this test's paths.
    mdmtest::write_file(sdir + "/snmptt.ini", "[General]\n"
                                              "snmptt_system_name = nms-test\n"
                                              "mode = standalone\n"
                                              "multiple_event = 1\n"
                                              "dns_enable = 0\n"
                                              "net_snmp_perl_enable = 0\n"
                                              "[Logging]\n"
                                              "stdout_enable = 0\n"
                                              "log_enable = 1\n"
                                              "log_file = " +
                                                  snmptt_log +
                                                  "\n"
                                                  "log_system_enable = 0\n"
                                                  "unknown_trap_log_enable = 1\n"
                                                  "unknown_trap_log_file = " +
                                                  unknown_log +
                                                  "\n"
                                                  "syslog_enable = 0\n"
                                                  "syslog_system_enable = 0\n"
                                                  "[Exec]\n"
                                                  "exec_enable = 0\n"
                                                  "pre_exec_enable = 0\n"
                                                  "[Debugging]\n"
                                                  "DEBUGGING = 0\n"
                                                  "[TrapFiles]\n"
                                                  "snmptt_conf_files = <<END\n" +
                                                  source_path("nms/snmptt/mdmhealth.snmptt.conf") +
                                                  "\nEND\n");
    const std::string tdir = dir_ + "/trapd";
    std::vector<std::string> env = snmptest::netsnmp_env(tdir);
    mdmtest::write_file(tdir + "/snmptrapd.conf",
                        "createUser snmptt-in SHA-256 authpass123 AES privpass123\n"
                        "authUser log,execute snmptt-in priv\n"
                        "traphandle default " +
                            snmptt + " --ini=" + sdir + "/snmptt.ini\n");
    Process &trapd = consumer("snmptrapd");
    int trapd_port = 0;
    ASSERT_EQ("", start_listener(
                      trapd,
                      [&](int port) {
                          return std::vector<std::string>{snmptrapd,
                                                          "-f",
                                                          "-Lo",
                                                          "-C",
                                                          "-c",
                                                          tdir + "/snmptrapd.conf",
                                                          "-On",
                                                          "-M",
                                                          "+" + base + ":" + source_path("mib"),
                                                          "-m",
                                                          "SNMPv2-MIB:MDM-HEALTH-MIB",
                                                          "udp:127.0.0.1:" + std::to_string(port)};
                      },
                      env, tdir + "/out", "NET-SNMP version", false, &trapd_port));
    const int closed = snmptest::free_tcp_port();
    ASSERT_EQ("", start_agent([&](int) {
                  return "trapsess -Ci -v 3 -u snmptt-in -l authPriv -a SHA-256 -A authpass123 "
                         "-x AES -X privpass123 127.0.0.1:" +
                         std::to_string(trapd_port) +
                         "\n"
                         "enrollment-server 127.0.0.1\n"
                         "enrollment-ports " +
                         std::to_string(closed) + " " + std::to_string(closed) +
                         "\n"
                         "diag-skip ping-gateway ping-dns-servers ping-loopback "
                         "ping-enrollment-ip ping-enrollment-fqdn\n";
              }));

    agent_->append(failure_event(301));
    ASSERT_TRUE(wait_until(
        [&] {
            std::string log = snmptest::read_text(snmptt_log);
            return contains(log, " - mdmhealth alert raised: ") &&
                   contains(log, " - mdmhealth diagnosis: ");
        },
        30000))
        << snmptest::read_text(snmptt_log) << trapd.log();
    agent_->append(success_event(302));
    ASSERT_TRUE(wait_until(
        [&] { return contains(snmptest::read_text(snmptt_log), " - mdmhealth alert resolved: "); },
        30000))
        << snmptest::read_text(snmptt_log) << trapd.log();
    // Every inform acknowledged: snmptrapd answered each one.
    EXPECT_EQ("Gauge32: 0",
              wait_get(oids::agent_scalar(oids::kNotificationsPending), "Gauge32: 0"));

    const std::string log = snmptest::read_text(snmptt_log);
    SCOPED_TRACE(log);
    // snmptt's log line: DATE TRAP-OID SEVERITY "CATEGORY" HOST - FORMAT.
    auto raised = grep(log, " - mdmhealth alert raised: ");
    ASSERT_EQ(1u, raised.size());
    EXPECT_TRUE(contains(raised[0], " .1.3.6.1.4.1.8072.9999.9999.0.1 Critical \"Status Events\" "))
        << raised[0];
    EXPECT_EQ("mdmhealth alert raised: target " + kComputer + ", monitor " + kMonitorId +
                  ", state error, event 1003 record 301 at " + kFailureShown + ": " + kFailure +
                  " (alert severity critical, priority normal)",
              raised[0].substr(raised[0].find(" - mdmhealth") + 3));

    auto diagnosis = grep(log, " - mdmhealth diagnosis: ");
    ASSERT_GE(diagnosis.size(), 1u);
    EXPECT_TRUE(
        contains(diagnosis[0], " .1.3.6.1.4.1.8072.9999.9999.0.3 Warning \"Status Events\" "))
        << diagnosis[0];
    const std::string diag_text = diagnosis[0].substr(diagnosis[0].find(" - mdmhealth") + 3);
    const std::string diag_head =
        "mdmhealth diagnosis: target " + kComputer + ", monitor " + kMonitorId +
        ", state error after event 1003 record 301: diagnosis The Device Management Machine "
        "cannot connect to network, resolver Fix network connectivity issues (check "
        "https-enrollment fail: ";
    EXPECT_EQ(diag_head, diag_text.substr(0, diag_head.size()));
    EXPECT_TRUE(contains(diag_text, "TCP stage")) << diag_text; // the check's evidence

    auto resolved = grep(log, " - mdmhealth alert resolved: ");
    ASSERT_EQ(1u, resolved.size());
    EXPECT_TRUE(contains(resolved[0], " .1.3.6.1.4.1.8072.9999.9999.0.2 Normal \"Status Events\" "))
        << resolved[0];
    EXPECT_EQ("mdmhealth alert resolved: target " + kComputer + ", monitor " + kMonitorId +
                  ", state healthy, event 1004 record 302 at " + kSuccessShown + ": " + kSuccess +
                  " (resolved alert severity critical)",
              resolved[0].substr(resolved[0].find(" - mdmhealth") + 3));
    // Nothing fell through to snmptt's unknown-trap log.
    EXPECT_EQ("", snmptest::read_text(unknown_log));
}

// --- 2. Prometheus snmp_exporter --------------------------------------------------------

// The shipped nms/prometheus/snmp.yml, unchanged: its SNMPv3 user is the
// placeholder user docs/nms.md tells operators to replace, and the agent
// here is configured with that user.
TEST_F(NmsTest, SnmpExporterModuleReportsMonitorStateAndCountersWithLabels)
{
    std::string exporter = snmptest::find_program("prometheus-snmp-exporter");
    if (exporter.empty())
        GTEST_SKIP() << "prometheus-snmp-exporter is not installed "
                        "(apt-get install prometheus-snmp-exporter)";
    ASSERT_EQ("", start_agent([](int) {
                  return std::string("createUser prometheus SHA-256 change-this-auth-passphrase "
                                     "AES change-this-priv-passphrase\n"
                                     "rouser prometheus authPriv\n");
              }));
    Process &exp = consumer("snmp_exporter");
    int http_port = 0;
    ASSERT_EQ("", start_listener(
                      exp,
                      [&](int port) {
                          return std::vector<std::string>{
                              exporter, "--config.file=" + source_path("nms/prometheus/snmp.yml"),
                              "--web.listen-address=127.0.0.1:" + std::to_string(port)};
                      },
                      {}, dir_ + "/exporter", "Listening on", true, &http_port));

    const std::string path =
        "/snmp?target=127.0.0.1:" + std::to_string(agent_port_) + "&module=mdmhealth";
    const std::map<std::string, std::string> row = {{"mdmMonitorName", kMonitorId},
                                                    {"mdmMonitorTarget", kComputer}};
    auto with = [&](const std::string &k, const std::string &v) {
        auto m = row;
        m[k] = v;
        return m;
    };

    agent_->append(success_event(201));
    ASSERT_EQ("INTEGER: 1", wait_get(col(oids::kState), "INTEGER: 1"));
    HttpReply r = http_get(http_port, path);
    ASSERT_EQ(200, r.status) << r.error << r.body;
    auto s = parse_exposition(r.body);
    SCOPED_TRACE(r.body);
    // One series per state (EnumAsStateSet), labelled by monitor and target, no index label.
    EXPECT_EQ(1, value_of(s, "mdmMonitorState", with("mdmMonitorState", "healthy")));
    EXPECT_EQ(0, value_of(s, "mdmMonitorState", with("mdmMonitorState", "error")));
    EXPECT_EQ(4u, select(s, "mdmMonitorState", row).size());
    for (const auto &x : select(s, "mdmMonitorState"))
        EXPECT_EQ(3u, x.labels.size()) << x.line;
    EXPECT_EQ(1004, value_of(s, "mdmMonitorLastEventId", row));
    EXPECT_EQ(2, value_of(s, "mdmMonitorAlertActive", row)); // TruthValue false(2)
    EXPECT_EQ(
        1, value_of(s, "mdmMonitorLastDescription", with("mdmMonitorLastDescription", kSuccess)));
    // DateAndTime as seconds since the epoch: 2026-11-20T09:20:00Z.
    EXPECT_EQ(1795166400, value_of(s, "mdmMonitorLastChange", row));
    EXPECT_EQ(1, value_of(s, "mdmEventsRead"));
    EXPECT_EQ(1, value_of(s, "mdmEventsMatched"));
    EXPECT_EQ(0, value_of(s, "mdmNotificationsPending"));
    EXPECT_EQ(1, value_of(s, "mdmAgentSourceState", {{"mdmAgentSourceState", "running"}}));
    EXPECT_GT(value_of(s, "mdmAgentStartTime"), 1.7e9); // a DateAndTime of this century
    // The record ID is left out on purpose (a new series per event), and so is the index.
    EXPECT_TRUE(select(s, "mdmMonitorLastRecordId").empty());
    EXPECT_TRUE(select(s, "mdmMonitorIndex").empty());
    // sysUpTime comes from the SNMPv2-MIB system group that the embedded agent serves.
    EXPECT_FALSE(select(s, "sysUpTime").empty());

    // A 1003 arrives: the same series change.
    agent_->append(failure_event(202));
    ASSERT_EQ("INTEGER: 3", wait_get(col(oids::kState), "INTEGER: 3"));
    r = http_get(http_port, path);
    ASSERT_EQ(200, r.status) << r.error << r.body;
    s = parse_exposition(r.body);
    SCOPED_TRACE(r.body);
    EXPECT_EQ(0, value_of(s, "mdmMonitorState", with("mdmMonitorState", "healthy")));
    EXPECT_EQ(1, value_of(s, "mdmMonitorState", with("mdmMonitorState", "error")));
    EXPECT_EQ(1003, value_of(s, "mdmMonitorLastEventId", row));
    EXPECT_EQ(1, value_of(s, "mdmMonitorAlertActive", row));
    EXPECT_EQ(1,
              value_of(s, "mdmMonitorAlertSeverity", with("mdmMonitorAlertSeverity", "critical")));
    EXPECT_EQ(
        1, value_of(s, "mdmMonitorLastDescription", with("mdmMonitorLastDescription", kFailure)));
    EXPECT_EQ(2, value_of(s, "mdmEventsRead"));
    EXPECT_EQ(2, value_of(s, "mdmEventsMatched"));

    // Wrong credentials give no mdm metric (the exporter reports the SNMP error).
    Process &wrong = consumer("snmp_exporter (wrong user)");
    std::string yml = mdmtest::read_file(source_path("nms/prometheus/snmp.yml"));
    size_t at = yml.find("password: change-this-auth-passphrase");
    ASSERT_NE(std::string::npos, at);
    yml.replace(at, strlen("password: change-this-auth-passphrase"), "password: wrong-passphrase");
    mdmtest::write_file(dir_ + "/wrong.yml", yml);
    int wrong_port = 0;
    ASSERT_EQ("", start_listener(
                      wrong,
                      [&](int port) {
                          return std::vector<std::string>{
                              exporter, "--config.file=" + dir_ + "/wrong.yml",
                              "--web.listen-address=127.0.0.1:" + std::to_string(port)};
                      },
                      {}, dir_ + "/exporter-wrong", "Listening on", true, &wrong_port));
    r = http_get(wrong_port, path);
    EXPECT_TRUE(select(parse_exposition(r.body), "mdmMonitorState").empty()) << r.body;
}

// --- 3. Nagios / Icinga check_snmp ------------------------------------------------------

std::string check_snmp_path()
{
    for (const char *p :
         {"/usr/lib/nagios/plugins/check_snmp", "/usr/lib/monitoring-plugins/check_snmp"})
        if (access(p, X_OK) == 0)
            return p;
    return "";
}

// The command docs/nms.md documents: state, target and description of one
// row; OK for healthy(1), WARNING for unknown(0) / warning(2), CRITICAL for
// error(3), UNKNOWN when the agent does not answer.
TEST_F(NmsTest, CheckSnmpIsOkCriticalWithTheAlertTextAndUnknownWhenUnreachable)
{
    const std::string plugin = check_snmp_path();
    if (plugin.empty())
        GTEST_SKIP() << "check_snmp is not installed (apt-get install monitoring-plugins-standard)";
    ASSERT_EQ("", start_agent([](int) {
                  return std::string("createUser nagios SHA-256 authpass456 AES privpass456\n"
                                     "rouser nagios authPriv\n");
              }));
    auto check = [&]() {
        std::vector<std::string> env = snmptest::netsnmp_env(dir_ + "/check");
        return snmptest::run_with_env(
            {plugin,
             "-H",
             "127.0.0.1",
             "-p",
             std::to_string(agent_port_),
             "-P",
             "3",
             "-L",
             "authPriv",
             "-U",
             "nagios",
             "-a",
             "SHA-256",
             "-A",
             "authpass456",
             "-x",
             "AES",
             "-X",
             "privpass456",
             "-o",
             col(oids::kState) + "," + col(oids::kTarget) + "," + col(oids::kLastDescription),
             "-w",
             "1:1",
             "-c",
             "0:2",
             "-l",
             "mdmhealth",
             "-t",
             "3",
             "-e",
             "1"},
            env, 60000);
    };

    agent_->append(success_event(201));
    ASSERT_EQ("INTEGER: 1", wait_get(col(oids::kState), "INTEGER: 1"));
    auto r = check();
    EXPECT_EQ(0, r.status) << r.out << r.err;
    EXPECT_EQ("SNMP OK - mdmhealth 1 \"" + kComputer + "\" \"" + kSuccess +
                  "\" | mdmhealth=1;1:1;0:2 ",
              lines_of(r.out).empty() ? "" : lines_of(r.out)[0]);

    agent_->append(failure_event(202));
    ASSERT_EQ("INTEGER: 3", wait_get(col(oids::kState), "INTEGER: 3"));
    r = check();
    EXPECT_EQ(2, r.status) << r.out << r.err;
    EXPECT_EQ("SNMP CRITICAL - mdmhealth *3* \"" + kComputer + "\" \"" + kFailure +
                  "\" | mdmhealth=3;1:1;0:2 ",
              lines_of(r.out).empty() ? "" : lines_of(r.out)[0]);

    agent_->append(success_event(203));
    ASSERT_EQ("INTEGER: 1", wait_get(col(oids::kState), "INTEGER: 1"));
    r = check();
    EXPECT_EQ(0, r.status) << r.out << r.err;

    // The agent is gone: the plugin cannot tell the state, so UNKNOWN(3).
    EXPECT_EQ(0, agent_->stop());
    r = check();
    EXPECT_EQ(3, r.status) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "Timeout")) << r.out;
}

// --- 4. discovery with nmap ---------------------------------------------------------------

/*
 * Runs nmap's UDP scan of the agent's port with script. nmap's SNMP scripts
 * run on ports it knows as "snmp" (161); a --servicedb file that names the
 * agent's port snmp stands for running the agent on 161. Returns "" with why
 * set when nmap cannot run here.
 */
mdmtest::RunResult nmap_snmp(const std::string &dir, int port, const std::string &script,
                             const std::string &args, std::string *why)
{
    std::string nmap = snmptest::find_program("nmap");
    if (nmap.empty()) {
        *why = "nmap is not installed (apt-get install nmap)";
        return {-1, "", ""};
    }
    if (geteuid() != 0) {
        *why = "nmap's UDP scan (-sU) needs raw sockets: run the test as root";
        return {-1, "", ""};
    }
    mdmtest::write_file(dir + "/nmap-services", "snmp\t" + std::to_string(port) + "/udp\t0.5\n");
    std::vector<std::string> argv = {
        nmap, "-n", "-sU", "--servicedb", dir + "/nmap-services", "--script", script};
    if (!args.empty())
        argv.insert(argv.end(), {"--script-args", args});
    argv.push_back("127.0.0.1");
    return snmptest::run_with_env(argv, {}, 180000);
}

// snmp-info identifies an SNMPv3 engine by the engine ID discovery every
// SNMPv3 manager starts with (no credentials needed).
TEST_F(NmsTest, NmapSnmpInfoFindsTheAgentsSnmpv3Engine)
{
    ASSERT_EQ("", start_agent([](int) { return std::string(); }));
    std::string why;
    auto r = nmap_snmp(dir_, agent_port_, "snmp-info", "", &why);
    if (!why.empty())
        GTEST_SKIP() << why;
    ASSERT_EQ(0, r.status) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, std::to_string(agent_port_) + "/udp")) << r.out;
    EXPECT_TRUE(contains(r.out, "| snmp-info: ")) << r.out;
    EXPECT_TRUE(contains(r.out, "enterprise: net-snmp")) << r.out;
    EXPECT_TRUE(contains(r.out, "engineIDData: ")) << r.out;
    EXPECT_TRUE(contains(r.out, "snmpEngineBoots: ")) << r.out;
}

// snmp-sysdescr reads sysDescr.0 and sysUpTime.0 with SNMPv1 and the
// community given as creds.snmp: the way discovery finds out what a device is.
TEST_F(NmsTest, NmapSnmpSysdescrIdentifiesTheAgentBySysDescr)
{
    ASSERT_EQ("", start_agent([](int) { return std::string(); }));
    std::string why;
    auto r = nmap_snmp(dir_, agent_port_, "snmp-sysdescr", "creds.snmp=:secret", &why);
    if (!why.empty())
        GTEST_SKIP() << why;
    ASSERT_EQ(0, r.status) << r.out << r.err;
    auto version = mdmtest::run_program({MDM_BINARY, "--version"});
    ASSERT_EQ(0, version.status);
    std::string ver =
        lines_of(version.out).empty() ? "" : lines_of(version.out)[0]; // "mdmhealth X"
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    // "| snmp-sysdescr: mdmhealth VERSION on HOST, ..." then "System uptime: ...".
    EXPECT_TRUE(contains(r.out, "| snmp-sysdescr: " + ver + " on " + host)) << r.out;
    EXPECT_TRUE(contains(r.out, "System uptime: ")) << r.out;
    EXPECT_TRUE(contains(r.out, std::to_string(agent_port_) + "/udp open ")) << r.out;
}

// --- 5. pysnmp, an independent SNMP stack ----------------------------------------------------

const std::string kPysnmpTool = std::string(MDM_SOURCE_DIR) + "/tests/nms/pysnmp_tool.py";

TEST_F(NmsTest, PysnmpV3GetAndWalkReadTheAgent)
{
    std::string why;
    std::string py = debian_python("pysnmp", &why);
    if (py.empty())
        GTEST_SKIP() << why;
    ASSERT_EQ("", start_agent([](int) {
                  return std::string("createUser pyuser SHA-256 authpass456 AES privpass456\n"
                                     "rouser pyuser authPriv\n");
              }));
    agent_->append(failure_event(201));
    agent_->append(failure_event(202));
    ASSERT_EQ("Counter32: 1", wait_get(col(oids::kRepeatCount), "Counter32: 1"));

    const std::vector<std::string> cred = {std::to_string(agent_port_), "pyuser", "authpass456",
                                           "privpass456"};
    std::vector<std::string> argv = {py, kPysnmpTool, "get"};
    argv.insert(argv.end(), cred.begin(), cred.end());
    argv.insert(argv.end(), {col(oids::kState), oids::agent_scalar(oids::kEventsRead),
                             col(oids::kTarget), col(oids::kLastRecordId)});
    auto r = snmptest::run_with_env(argv, {}, 60000);
    ASSERT_EQ(0, r.status) << r.out << r.err;
    EXPECT_EQ(col(oids::kState) + " = Integer: 3\n" + oids::agent_scalar(oids::kEventsRead) +
                  " = Counter32: 2\n" + col(oids::kTarget) + " = OctetString: " + kComputer + "\n" +
                  col(oids::kLastRecordId) + " = OctetString: 202\n",
              r.out);

    // WALK of the monitor table: the same OIDs, in the same order, as Net-SNMP's snmpwalk.
    argv = {py, kPysnmpTool, "walk"};
    argv.insert(argv.end(), cred.begin(), cred.end());
    argv.push_back(oids::kRoot + ".1.2");
    auto w = snmptest::run_with_env(argv, {}, 60000);
    ASSERT_EQ(0, w.status) << w.out << w.err;
    auto net = snmptest::snmp_tool(dir_, "snmpwalk",
                                   {"-v3", "-u", "pyuser", "-l", "authPriv", "-a", "SHA-256", "-A",
                                    "authpass456", "-x", "AES", "-X", "privpass456"},
                                   agent_port_, {oids::kRoot + ".1.2"});
    ASSERT_EQ(0, net.status) << net.out << net.err;
    auto oid_list = [](const std::string &text) {
        std::vector<std::string> out;
        for (const auto &l : lines_of(text))
            if (contains(l, " = ") && !contains(l, "No more variables"))
                out.push_back(l.substr(0, l.find(" = ")));
        return out;
    };
    EXPECT_EQ(oid_list(net.out), oid_list(w.out)) << w.out << net.out;
    EXPECT_EQ(14u, oid_list(w.out).size()) << w.out;
    EXPECT_TRUE(contains(w.out, col(oids::kName) + " = OctetString: " + kMonitorId + "\n"));
    EXPECT_TRUE(
        contains(w.out, col(oids::kLastDescription) + " = OctetString: " + kFailure + "\n"));
    EXPECT_TRUE(contains(w.out, col(oids::kRepeatCount) + " = Counter32: 1\n"));

    // A wrong passphrase is refused (pysnmp checks the agent's authentication of its reply).
    argv = {py,       kPysnmpTool,    "get",         std::to_string(agent_port_),
            "pyuser", "wrongpass000", "privpass456", col(oids::kState)};
    r = snmptest::run_with_env(argv, {}, 60000);
    EXPECT_NE(0, r.status) << r.out;
    EXPECT_FALSE(contains(r.out, "Integer")) << r.out;
}

TEST_F(NmsTest, PysnmpReceivesAndAcknowledgesTheAgentsV3Informs)
{
    std::string why;
    std::string py = debian_python("pysnmp", &why);
    if (py.empty())
        GTEST_SKIP() << why;
    Process &recv = consumer("pysnmp receiver");
    ASSERT_TRUE(
        recv.start({py, "-u", kPysnmpTool, "receive", "pyinform", "authpass123", "privpass123"}, {},
                   dir_ + "/pysnmp-receiver.log"));
    int port = 0;
    ASSERT_TRUE(wait_until(
        [&] {
            for (const auto &l : grep(recv.log(), "LISTENING "))
                port = atoi(l.c_str() + strlen("LISTENING "));
            return port > 0 || !recv.running();
        },
        30000))
        << recv.log();
    ASSERT_GT(port, 0) << recv.log();
    ASSERT_EQ("", start_agent([&](int) {
                  return "trapsess -Ci -v 3 -u pyinform -l authPriv -a SHA-256 -A authpass123 "
                         "-x AES -X privpass123 127.0.0.1:" +
                         std::to_string(port) + "\n";
              }));

    const std::string trap_oid = "[\".1.3.6.1.6.3.1.1.4.1.0\", \"ObjectIdentifier\", \"";
    const std::string raised_oid = trap_oid + oids::kAlertRaised.substr(1) + "\"]";
    const std::string resolved_oid = trap_oid + oids::kAlertResolved.substr(1) + "\"]";
    agent_->append(failure_event(201));
    ASSERT_TRUE(wait_until([&] { return contains(recv.log(), raised_oid); }, 30000)) << recv.log();
    agent_->append(success_event(202));
    ASSERT_TRUE(wait_until([&] { return contains(recv.log(), resolved_oid); }, 30000))
        << recv.log();
    // pysnmp's acknowledgements reached the agent: both informs count as sent, none pending.
    EXPECT_EQ("Counter32: 2",
              wait_get(oids::agent_scalar(oids::kNotificationsSent), "Counter32: 2"));
    EXPECT_EQ("Gauge32: 0", get_v2c(oids::agent_scalar(oids::kNotificationsPending)));
    EXPECT_EQ("Counter32: 0", get_v2c(oids::agent_scalar(oids::kNotificationsFailed)));

    auto raised = grep(recv.log(), raised_oid);
    auto resolved = grep(recv.log(), resolved_oid);
    ASSERT_FALSE(raised.empty());
    ASSERT_FALSE(resolved.empty());
    for (const auto &n : {raised[0], resolved[0]}) {
        SCOPED_TRACE(n);
        // SNMPv3 authPriv (securityLevel 3), an InformRequest, sysUpTime first.
        EXPECT_TRUE(contains(n, "\"security\": \"pyinform\", \"level\": 3, "
                                "\"pdu\": \"InformRequestPDU\", "
                                "\"varbinds\": [[\".1.3.6.1.2.1.1.3.0\", \"TimeTicks\", "));
        EXPECT_TRUE(
            contains(n, "[\"" + col(oids::kName) + "\", \"OctetString\", \"" + kMonitorId + "\"]"));
        EXPECT_TRUE(contains(n, "[\"" + col(oids::kTarget) + "\", \"OctetString\", \"" + kComputer +
                                    "\"]"));
    }
    EXPECT_TRUE(contains(raised[0], "[\"" + col(oids::kState) + "\", \"Integer\", \"3\"]"));
    EXPECT_TRUE(contains(raised[0], "[\"" + col(oids::kLastDescription) +
                                        "\", \"OctetString\", \"" + kFailure + "\"]"));
    EXPECT_TRUE(contains(resolved[0], "[\"" + col(oids::kState) + "\", \"Integer\", \"1\"]"));
    EXPECT_TRUE(
        contains(resolved[0], "[\"" + col(oids::kLastEventId) + "\", \"Gauge32\", \"1004\"]"));
}

// --- 6. the Zabbix template's OIDs ----------------------------------------------------------

// No Zabbix server here (docs/nms.md says so). What can be checked without
// one: the file is Zabbix 6.0 export YAML with the structure Zabbix imports
// (tests/nms/zabbix_template.py checks it), and every SNMP OID its items,
// discovery rule and item prototypes ask for is answered by the agent.
TEST_F(NmsTest, ZabbixTemplateAsksOnlyForOidsTheAgentAnswers)
{
    std::string why;
    std::string py = debian_python("yaml", &why);
    if (py.empty())
        GTEST_SKIP() << why;
    auto t = snmptest::run_with_env({py, source_path("tests/nms/zabbix_template.py"),
                                     source_path("nms/zabbix/mdmhealth-zabbix6.yaml")},
                                    {}, 60000);
    ASSERT_EQ(0, t.status) << t.out << t.err;
    std::vector<std::string> get_oids, walk_oids;
    for (const auto &l : lines_of(t.out)) {
        if (l.compare(0, 4, "GET ") == 0)
            get_oids.push_back(l.substr(4));
        else if (l.compare(0, 5, "WALK ") == 0)
            walk_oids.push_back(l.substr(5));
    }
    ASSERT_GE(get_oids.size(), 10u) << t.out;
    ASSERT_GE(walk_oids.size(), 2u) << t.out;

    ASSERT_EQ("", start_agent([](int) { return std::string(); }));
    agent_->append(failure_event(201));
    ASSERT_EQ("INTEGER: 3", wait_get(col(oids::kState), "INTEGER: 3"));
    for (const auto &oid : walk_oids) {
        // A discovery OID is a column: its walk yields row 1.
        auto w =
            snmptest::snmp_tool(dir_, "snmpwalk", {"-v2c", "-c", "secret"}, agent_port_, {oid});
        EXPECT_TRUE(contains(w.out, oid + ".1 = ")) << oid << "\n" << w.out << w.err;
    }
    for (std::string oid : get_oids) {
        size_t at = oid.find(".{#SNMPINDEX}");
        if (at != std::string::npos)
            oid.replace(at, strlen(".{#SNMPINDEX}"), ".1");
        if (oid.compare(0, 1, ".") != 0)
            oid = "." + oid;
        EXPECT_NE("", get_v2c(oid)) << oid;
    }
}

} // namespace

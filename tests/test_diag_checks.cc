// The diagnoser (agent/diag/): the specification's diagnosis -> resolver
// table for every combination of failed checks, and the network checks
// against real listeners on loopback: an open port with a real TLS server
// (openssl s_server with a certificate made by the test), a port that accepts
// TCP but fails the handshake, a closed port, a name that cannot resolve
// (.invalid), ICMP to 127.0.0.1, and - inside a network namespace the test
// creates - an Enrollment Server that does not exist. Nothing is a double.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "agent/diag/checks.h"
#include "agent/diag/diag.h"
#include "test_util.h"

namespace
{

// --- the decision table -----------------------------------------------------

mdm_diag_report report_with(const std::vector<std::pair<std::string, mdm_check_status>> &set)
{
    const char *names[] = {"dns",
                           "ping-loopback",
                           "ping-gateway",
                           "ping-dns-servers",
                           "ping-enrollment-ip",
                           "ping-enrollment-fqdn",
                           "https-enrollment",
                           "https-dm-admin",
                           "enrollment-services",
                           "ad-group",
                           "loopback-check"};
    mdm_diag_report r;
    memset(&r, 0, sizeof(r));
    for (const char *n : names) {
        mdm_check_result &c = r.checks[r.check_count++];
        snprintf(c.name, sizeof(c.name), "%s", n);
        c.status = MDM_CHECK_PASS;
    }
    for (const auto &s : set)
        for (size_t i = 0; i < r.check_count; i++)
            if (s.first == r.checks[i].name)
                r.checks[i].status = s.second;
    mdm_diag_decide(&r);
    return r;
}

std::vector<std::string> resolvers(const mdm_diag_report &r)
{
    std::vector<std::string> out;
    for (size_t i = 0; i < r.diagnosis_count; i++)
        out.push_back(r.diagnoses[i].resolver);
    return out;
}

const std::string kNet = "Fix network connectivity issues";
const std::string kLoop = "HTTP 401 Unauthorized Logon Failed using Loopback connector";
const std::string kAd = "Add Computer Account to SCMDM 2008 AD Groups";

TEST(DiagnosisTable, AllClearGivesNoDiagnosis)
{
    EXPECT_TRUE(resolvers(report_with({})).empty());
}

TEST(DiagnosisTable, EveryCombinationOfTheThreeCauses)
{
    // Each cause is made by a representative failed check; all 8 combinations.
    for (int mask = 0; mask < 8; mask++) {
        std::vector<std::pair<std::string, mdm_check_status>> set;
        std::vector<std::string> want;
        if (mask & 1) {
            set.push_back({"https-enrollment", MDM_CHECK_FAIL});
            set.push_back({"ping-enrollment-ip", MDM_CHECK_FAIL});
            want.push_back(kNet);
        }
        if (mask & 2) {
            set.push_back({"loopback-check", MDM_CHECK_FAIL});
            want.push_back(kLoop);
        }
        if (mask & 4) {
            set.push_back({"ad-group", MDM_CHECK_FAIL});
            want.push_back(kAd);
        }
        SCOPED_TRACE(mask);
        EXPECT_EQ(want, resolvers(report_with(set)));
    }
}

TEST(DiagnosisTable, DiagnosisNamesAreTheSpecifications)
{
    mdm_diag_report r = report_with({{"dns", MDM_CHECK_FAIL},
                                     {"loopback-check", MDM_CHECK_FAIL},
                                     {"ad-group", MDM_CHECK_FAIL}});
    ASSERT_EQ(3u, r.diagnosis_count);
    EXPECT_STREQ("The Device Management Machine cannot connect to network",
                 r.diagnoses[0].diagnosis);
    EXPECT_STREQ("HTTP 401 Unauthorized Logon Failed using Loopback connector",
                 r.diagnoses[1].diagnosis);
    EXPECT_STREQ("Server is not in proper security groups", r.diagnoses[2].diagnosis);
    for (size_t i = 0; i < r.diagnosis_count; i++)
        EXPECT_NE(std::string(""), mdm_diag_explain(r.diagnoses[i].id));
}

TEST(DiagnosisTable, NetworkCausesAreToldApart)
{
    auto because = [](const mdm_diag_report &r) {
        return r.diagnosis_count ? std::string(r.diagnoses[0].because) : std::string();
    };
    // IP answers, name does not resolve: DNS.
    EXPECT_NE(std::string::npos, because(report_with({{"dns", MDM_CHECK_FAIL}})).find("DNS"));
    // Neither ICMP nor the port: host down or no route.
    EXPECT_NE(std::string::npos, because(report_with({{"https-enrollment", MDM_CHECK_FAIL},
                                                      {"ping-enrollment-ip", MDM_CHECK_FAIL}}))
                                     .find("host down"));
    // ICMP answers but HTTPS does not: firewall or service.
    EXPECT_NE(std::string::npos,
              because(report_with({{"https-enrollment", MDM_CHECK_FAIL}})).find("firewall"));
    // The port answers but pings fail: ICMP blocked, no network diagnosis.
    EXPECT_TRUE(resolvers(report_with({{"ping-enrollment-ip", MDM_CHECK_FAIL},
                                       {"ping-enrollment-fqdn", MDM_CHECK_FAIL},
                                       {"ping-gateway", MDM_CHECK_FAIL}}))
                    .empty());
    // A broken local stack comes first.
    EXPECT_NE(std::string::npos,
              because(report_with({{"ping-loopback", MDM_CHECK_FAIL}, {"dns", MDM_CHECK_FAIL}}))
                  .find("TCP/IP stack"));
    // Skipped or erroring checks never make a diagnosis.
    EXPECT_TRUE(resolvers(report_with({{"ad-group", MDM_CHECK_ERROR},
                                       {"loopback-check", MDM_CHECK_SKIP},
                                       {"enrollment-services", MDM_CHECK_SKIP}}))
                    .empty());
}

// --- network checks against real listeners ---------------------------------

int listen_tcp(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0)
        return -1;
    socklen_t len = sizeof(a);
    getsockname(fd, (sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

int free_tcp_port()
{
    int port = 0;
    int fd = listen_tcp(&port);
    close(fd);
    return port;
}

mdm_diag_options options(const char *server, unsigned port)
{
    mdm_diag_options o;
    memset(&o, 0, sizeof(o));
    o.enrollment_server = server;
    o.ports[0] = port;
    o.ports[1] = port;
    o.dm_server = "127.0.0.1";
    o.ad_group = "SCMDM2008DeviceManagementServers";
    o.timeout_ms = 2000;
    return o;
}

mdm_check_result run_check(mdm_check_fn fn, const mdm_diag_options &o)
{
    mdm_check_result r;
    memset(&r, 0, sizeof(r));
    fn(&o, &r);
    return r;
}

TEST(NetworkChecks, ClosedPortFailsAtTheTcpStage)
{
    mdm_check_result r =
        run_check(mdm_check_https_enrollment, options("127.0.0.1", free_tcp_port()));
    EXPECT_EQ(MDM_CHECK_FAIL, r.status);
    EXPECT_NE(std::string::npos, std::string(r.detail).find("TCP stage")) << r.detail;
    EXPECT_NE(std::string::npos, std::string(r.detail).find("refused")) << r.detail;
}

TEST(NetworkChecks, PlainTcpListenerFailsAtTheTlsStage)
{
    int port = 0;
    int fd = listen_tcp(&port);
    ASSERT_GE(fd, 0);
    // Accept and answer with something that is not TLS, then close.
    std::thread server([fd] {
        int c = accept(fd, nullptr, nullptr);
        if (c >= 0) {
            const char junk[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
            (void)!write(c, junk, sizeof(junk) - 1);
            close(c);
        }
    });
    mdm_check_result r = run_check(mdm_check_https_enrollment, options("127.0.0.1", port));
    server.join();
    close(fd);
    EXPECT_EQ(MDM_CHECK_FAIL, r.status);
    EXPECT_NE(std::string::npos, std::string(r.detail).find("TLS handshake failed")) << r.detail;
}

TEST(NetworkChecks, RealTlsServerPasses)
{
    if (access("/usr/bin/openssl", X_OK) != 0)
        GTEST_SKIP() << "/usr/bin/openssl is not installed";
    std::string dir = mdmtest::make_temp_dir("tls");
    auto gen = mdmtest::run_program({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                                     "-nodes", "-days", "1", "-subj", "/CN=enroll.test", "-keyout",
                                     dir + "/key.pem", "-out", dir + "/cert.pem"});
    ASSERT_EQ(0, gen.status) << gen.err;
    int port = free_tcp_port();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl("/usr/bin/openssl", "openssl", "s_server", "-quiet", "-accept",
              ("127.0.0.1:" + std::to_string(port)).c_str(), "-cert", (dir + "/cert.pem").c_str(),
              "-key", (dir + "/key.pem").c_str(), "-naccept", "50", (char *)nullptr);
        _exit(127);
    }
    mdm_check_result r;
    for (int i = 0; i < 100; i++) { // until s_server listens
        r = run_check(mdm_check_https_enrollment, options("127.0.0.1", port));
        if (r.status == MDM_CHECK_PASS)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(-pid, SIGTERM);
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    EXPECT_EQ(MDM_CHECK_PASS, r.status) << r.detail;
    EXPECT_NE(std::string::npos, std::string(r.detail).find("certificate /CN=enroll.test"))
        << r.detail;
}

TEST(NetworkChecks, PingLoopbackAnswers)
{
    mdm_check_result r = run_check(mdm_check_ping_loopback, options("127.0.0.1", 1));
    if (r.status == MDM_CHECK_ERROR)
        GTEST_SKIP() << "ICMP is not permitted here: " << r.detail;
    EXPECT_EQ(MDM_CHECK_PASS, r.status) << r.detail;
    EXPECT_NE(std::string::npos, std::string(r.detail).find("127.0.0.1 replied")) << r.detail;
}

TEST(NetworkChecks, EnrollmentServerOnThisComputerIsALoopbackCase)
{
    // 127.0.0.1 is this computer: on Linux the registry part is a skip that says so.
    mdm_check_result r = run_check(mdm_check_loopback, options("127.0.0.1", 1));
    EXPECT_EQ(MDM_CHECK_SKIP, r.status) << r.detail;
    EXPECT_NE(std::string::npos, std::string(r.detail).find("maps to this computer")) << r.detail;
}

// Runs `mdmhealth diagnose --json` inside a network namespace of the test's
// own (user + net namespace, only loopback up): nothing leaves the machine.
mdmtest::RunResult diagnose_in_namespace(const std::string &conf_body)
{
    std::string dir = mdmtest::make_temp_dir("netns");
    mdmtest::write_file(dir + "/mdm.conf", conf_body + "state-dir " + dir + "/state\n");
    return mdmtest::run_program(
        {"/usr/bin/unshare", "-rn", "/bin/sh", "-c",
         "ip link set lo up 2>/dev/null; exec \"$0\" diagnose --json --timeout 2 -c \"$1\"",
         MDM_BINARY, dir + "/mdm.conf"});
}

bool namespaces_permitted(std::string *why)
{
    auto probe = mdmtest::run_program({"/usr/bin/unshare", "-rn", "/bin/true"});
    *why = probe.err;
    return probe.status == 0;
}

TEST(DiagnoseCommand, EnrollmentServerThatDoesNotAnswer)
{
    std::string why;
    if (!namespaces_permitted(&why))
        GTEST_SKIP() << "network namespaces are not permitted here: " << why;
    // 10.77.0.1 has no route in the namespace: no ICMP, no TCP.
    auto r = diagnose_in_namespace("enrollment-server 10.77.0.1\nenrollment-ports 8445 8446\n");
    ASSERT_EQ(0, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.out.find("\"name\":\"ping-enrollment-ip\",\"status\":\"fail\""))
        << r.out;
    EXPECT_NE(std::string::npos, r.out.find("\"name\":\"https-enrollment\",\"status\":\"fail\""))
        << r.out;
    EXPECT_NE(std::string::npos, r.out.find("\"resolver\":\"Fix network connectivity issues\""))
        << r.out;
    EXPECT_NE(std::string::npos, r.out.find("host down")) << r.out;
}

TEST(DiagnoseCommand, EnrollmentServerNameThatDoesNotResolve)
{
    std::string why;
    if (!namespaces_permitted(&why))
        GTEST_SKIP() << "network namespaces are not permitted here: " << why;
    auto r = diagnose_in_namespace("enrollment-server enroll.mdmhealth-test.invalid\n");
    ASSERT_EQ(0, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.out.find("\"name\":\"dns\",\"status\":\"fail\"")) << r.out;
    EXPECT_NE(std::string::npos, r.out.find("\"resolver\":\"Fix network connectivity issues\""))
        << r.out;
    EXPECT_NE(std::string::npos, r.out.find("(DNS)")) << r.out;
}

} // namespace

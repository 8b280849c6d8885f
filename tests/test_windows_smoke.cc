// The cross-built mdmhealth.exe under Wine. Real: Wine's kernel32, registry,
// Service Control Manager and Winsock (the agent's SNMP traffic goes over
// real loopback sockets to a real Linux snmptrapd); the program is the same
// source as the Linux build. No double is used here (the wevtapi double is
// for the channel source, see test_windows_channel.cc). Skipped when wine or
// the Windows build (MDM_WINDOWS_BUILD_DIR) is absent.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <strings.h>
#include <string>
#include <vector>

#include "agent/common/mdm_version.h"
#include "snmp_fixtures.h"
#include "test_util.h"

namespace
{

const std::string kExe = std::string(MDM_WINDOWS_BUILD_DIR) + "/mdmhealth.exe";
const std::string kSource = MDM_SOURCE_DIR;
const std::string kWevtapiDouble =
    std::string(MDM_WINDOWS_BUILD_DIR) + "/tests/windows/wevtapi.dll";

std::string wine_path()
{
    for (const char *p : {"/usr/bin/wine", "/usr/bin/wine64"})
        if (access(p, X_OK) == 0)
            return p;
    return "";
}

// Windows sees the Linux file system as drive Z:.
std::string win(const std::string &linux_path)
{
    return "Z:" + linux_path;
}

// A predicate for TrapReceiver::wait_for: a notification whose
// snmpTrapOID.0 is oid arrived.
std::function<bool(const std::vector<snmptest::Notification> &)> received(const std::string &oid)
{
    return [oid](const std::vector<snmptest::Notification> &ns) {
        for (const auto &n : ns)
            if (n.trap_oid == oid)
                return true;
        return false;
    };
}

// Appends one Device Manager event of the Mobile Device Manager log for
// DM01.contoso.com to a followed Event XML file.
void append_event(const std::string &path, unsigned id, unsigned long long record,
                  const std::string &time, const std::string &message)
{
    std::ofstream f(path, std::ios::app);
    f << mdmtest::event_xml("Device Manager", id, record, "DM01.contoso.com", time,
                            "Mobile Device Manager", message);
}

// The Wine prefix shared by the suite (made once by the wine_prefix fixture).
std::vector<std::string> wine_env()
{
    return {"WINEPREFIX=" + std::string(MDM_WINE_PREFIX), "WINEDEBUG=-all",
            "WINEDLLOVERRIDES=mscoree,mshtml="};
}

class WineTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        if (wine_path().empty())
            GTEST_SKIP() << "wine is not installed (apt-get install wine)";
        struct stat st;
        if (stat(kExe.c_str(), &st) != 0)
            GTEST_SKIP() << kExe << " is absent: build it with scripts/build-windows";
        dir_ = mdmtest::make_temp_dir("wine");
    }
    void TearDown() override
    {
        if (!dir_.empty() && !HasFailure())
            snmptest::remove_tree(dir_);
    }
    mdmtest::RunResult wine(const std::vector<std::string> &args, int timeout_ms = 120000)
    {
        std::vector<std::string> argv = {wine_path(), kExe};
        argv.insert(argv.end(), args.begin(), args.end());
        return snmptest::run_with_env(argv, wine_env(), timeout_ms);
    }
    mdmtest::RunResult wine_tool(const std::vector<std::string> &args, int timeout_ms = 60000)
    {
        std::vector<std::string> argv = {wine_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        return snmptest::run_with_env(argv, wine_env(), timeout_ms);
    }
    // mdmhealth.exe and the wevtapi double side by side in dir_/bin, as
    // Windows loads DLLs (the program's directory first); "" without the double.
    std::string with_wevtapi_double()
    {
        if (!mdmtest::file_exists(kWevtapiDouble))
            return "";
        const std::string bin = dir_ + "/bin";
        mkdir(bin.c_str(), 0700);
        mdmtest::write_file(bin + "/mdmhealth.exe", mdmtest::read_file(kExe));
        mdmtest::write_file(bin + "/wevtapi.dll", mdmtest::read_file(kWevtapiDouble));
        chmod((bin + "/mdmhealth.exe").c_str(), 0755);
        return bin;
    }
    std::string dir_;
};

TEST_F(WineTest, VersionAndHelp)
{
    auto r = wine({"--version"});
    ASSERT_EQ(0, r.status) << r.err;
    EXPECT_EQ(0u, r.out.find("mdmhealth ")) << r.out;
    r = wine({"--help"});
    EXPECT_EQ(0, r.status);
    EXPECT_NE(std::string::npos, r.out.find("service  install|uninstall|start|stop")) << r.out;
}

// The same events give the same JSON on Windows as on Linux (file names aside).
TEST_F(WineTest, ReplayMatchesTheLinuxBuild)
{
    const std::string events = kSource + "/tests/data/mdm-enrollment-sequence.xml";
    // An empty configuration: a device such as /dev/null is refused (regular files only).
    mdmtest::write_file(dir_ + "/empty.conf", "");
    auto linux_run =
        mdmtest::run_program({MDM_BINARY, "replay", "-c", dir_ + "/empty.conf", "--json", events});
    ASSERT_EQ(0, linux_run.status) << linux_run.err;
    auto windows_run = wine({"replay", "-c", win(dir_ + "/empty.conf"), "--json", win(events)});
    ASSERT_EQ(0, windows_run.status) << windows_run.err;
    std::regex origin("\"origin\":\"[^\"]*\"");
    std::string a = std::regex_replace(linux_run.out, origin, "\"origin\":\"\"");
    std::string b = std::regex_replace(windows_run.out, origin, "\"origin\":\"\"");
    b = std::regex_replace(b, std::regex("\r\n"), "\n");
    EXPECT_EQ(a, b);
    EXPECT_EQ(5u, std::count(a.begin(), a.end(), '\n'));
}

TEST_F(WineTest, CheckValidatesConfigurationAndSnmpLines)
{
    mdmtest::write_file(dir_ + "/good.conf", "enrollment-server enroll.contoso.com\n"
                                             "trap2sink 127.0.0.1:16200 public\n");
    auto r = wine({"check", "-c", win(dir_ + "/good.conf")});
    EXPECT_EQ(0, r.status) << r.out << r.err;
    mdmtest::write_file(dir_ + "/bad.conf", "enrollment-ports 8445\n");
    r = wine({"check", "-c", win(dir_ + "/bad.conf")});
    EXPECT_EQ(2, r.status) << r.out << r.err;
    EXPECT_NE(std::string::npos, r.err.find("bad.conf:1:")) << r.err;
}

// Every privacy protocol docs/configuration.md lists is in the Windows
// build's Net-SNMP (scripts/cross-deps: AES-192 and AES-256 need
// --enable-blumenthal-aes, which it once lacked: `check` then refused them).
TEST_F(WineTest, CheckAcceptsEveryDocumentedPrivacyProtocol)
{
    for (const char *priv : {"DES", "AES", "AES-192", "AES-256"}) {
        SCOPED_TRACE(priv);
        mdmtest::write_file(dir_ + "/usm.conf", std::string("createUser u1 SHA-256 authpass1 ") +
                                                    priv + " privpass1\nrouser u1 priv\n");
        auto r = wine({"check", "-c", win(dir_ + "/usm.conf")});
        EXPECT_EQ(0, r.status) << r.out << r.err;
    }
}

// The Windows agent follows an event file and sends its trap over Winsock to
// a real snmptrapd on Linux; the state file it writes (MoveFileEx) says error.
TEST_F(WineTest, AgentUnderWineSendsTheAlertToARealSnmptrapd)
{
    if (snmptest::find_program("snmptrapd").empty())
        GTEST_SKIP() << "snmptrapd is not installed";
    snmptest::TrapReceiver trapd;
    ASSERT_EQ("", trapd.start(dir_ + "/trapd", "authCommunity log,execute,net wine\n"));
    const std::string events = dir_ + "/events.xml";
    mdmtest::write_file(events, "");
    mdmtest::write_file(dir_ + "/mdm.conf",
                        "source xml-follow " + win(events) + "\nstate-dir " + win(dir_ + "/state") +
                            "\ntrap2sink 127.0.0.1:" + std::to_string(trapd.port()) + " wine\n");
    snmptest::Process agent;
    std::vector<std::string> env = wine_env();
    ASSERT_TRUE(agent.start({wine_path(), kExe, "run", "-f", "-c", win(dir_ + "/mdm.conf")}, env,
                            dir_ + "/agent.log"));
    ASSERT_TRUE(snmptest::wait_until(
        [&] { return agent.log().find("event source: xml-follow") != std::string::npos; }, 120000,
        200))
        << agent.log();
    append_event(events, 1003, 501, "2026-11-25T10:00:00.000Z", "cannot connect");
    EXPECT_TRUE(trapd.wait_for(received(snmptest::oids::kAlertRaised), 60000)) << agent.log();
    EXPECT_TRUE(snmptest::wait_until(
        [&] {
            return snmptest::state_file_health(snmptest::read_text(dir_ + "/state/state")) == "3";
        },
        20000))
        << snmptest::read_text(dir_ + "/state/state");
    agent.stop();
    trapd.stop();
}

// resolve loopback writes the real (Wine) registry, keeps the old values and undoes.
TEST_F(WineTest, ResolveLoopbackWritesTheRegistryAndUndoes)
{
    mdmtest::write_file(dir_ + "/mdm.conf", "enrollment-server enroll-nlb.contoso.test\n"
                                            "state-dir " +
                                                win(dir_ + "/state") + "\n");
    const std::string key = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\MSV1_0";
    wine_tool({"reg", "delete", key, "/v", "BackConnectionHostNames", "/f"});

    auto dry = wine({"resolve", "loopback", "-c", win(dir_ + "/mdm.conf")});
    ASSERT_EQ(0, dry.status) << dry.out << dry.err;
    EXPECT_NE(std::string::npos, dry.out.find("Dry run")) << dry.out;
    auto q = wine_tool({"reg", "query", key, "/v", "BackConnectionHostNames"});
    EXPECT_EQ(std::string::npos, q.out.find("enroll-nlb.contoso.test")) << q.out;

    auto apply = wine({"resolve", "loopback", "-c", win(dir_ + "/mdm.conf"), "--apply"});
    ASSERT_EQ(0, apply.status) << apply.out << apply.err;
    q = wine_tool({"reg", "query", key, "/v", "BackConnectionHostNames"});
    EXPECT_NE(std::string::npos, q.out.find("enroll-nlb.contoso.test")) << q.out;

    auto undo = wine({"resolve", "loopback", "-c", win(dir_ + "/mdm.conf"), "--undo", "--apply"});
    ASSERT_EQ(0, undo.status) << undo.out << undo.err;
    q = wine_tool({"reg", "query", key, "/v", "BackConnectionHostNames"});
    EXPECT_EQ(std::string::npos, q.out.find("enroll-nlb.contoso.test")) << q.out;
}

// service install registers with Wine's Service Control Manager.
TEST_F(WineTest, ServiceInstallAndUninstall)
{
    mdmtest::write_file(dir_ + "/mdm.conf", "");
    wine({"service", "uninstall"});
    auto r = wine({"service", "install", "-c", win(dir_ + "/mdm.conf")});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    // Wine keeps the SCM database in the registry, where Windows keeps it too.
    const std::string key = "HKLM\\System\\CurrentControlSet\\Services\\mdmhealth";
    auto q = wine_tool({"reg", "query", key});
    EXPECT_NE(std::string::npos, q.out.find("run --service -c")) << q.out;
    EXPECT_NE(std::string::npos, q.out.find("NT AUTHORITY\\NetworkService")) << q.out;
    EXPECT_NE(std::string::npos, q.out.find("MDM Enrollment Connection Health")) << q.out;
    EXPECT_NE(std::string::npos, q.out.find("Start    REG_DWORD    0x2")) << q.out; // automatic
    r = wine({"service", "uninstall"});
    EXPECT_EQ(0, r.status) << r.out << r.err;
    q = wine_tool({"reg", "query", key});
    EXPECT_EQ(std::string::npos, q.out.find("run --service")) << q.out;
}

} // namespace

namespace
{

/*
 * Waits until the state file holds no queued notice: a notice's sending is
 * saved within 250 ms (docs/operators.md, "Delivery guarantees"), and a
 * program stopped under Wine may end without its clean stop's save.
 */
bool sent_notices_saved(const std::string &state_file)
{
    return snmptest::wait_until(
        [&] { return snmptest::state_file_notices(snmptest::read_text(state_file)) == 0; }, 10000,
        50);
}

// The service's own event source: with no `source` line, mdmhealth.exe
// subscribes to the "Mobile Device Manager" channel with EvtSubscribe. Real:
// mdmhealth.exe, Wine, Winsock, snmptrapd. Double: wevtapi.dll
// (tests/windows/wevtapi_double.c, Wine's EvtSubscribe is a stub), loaded
// with WINEDLLOVERRIDES=wevtapi=n from the program's directory.
TEST_F(WineTest, AgentSubscribesToTheChannelAndResumesAfterRestart)
{
    if (snmptest::find_program("snmptrapd").empty())
        GTEST_SKIP() << "snmptrapd is not installed";
    const std::string bin = with_wevtapi_double();
    if (bin.empty())
        GTEST_SKIP() << kWevtapiDouble << " (the wevtapi double) is absent";

    snmptest::TrapReceiver trapd;
    ASSERT_EQ("", trapd.start(dir_ + "/trapd", "authCommunity log,execute,net wine\n"));
    const std::string log = dir_ + "/mdm-log.xml"; // the double's "Mobile Device Manager" log
    mdmtest::write_file(log, mdmtest::event_xml("Device Manager", 1003, 601, "DM01.contoso.com",
                                                "2026-11-25T10:00:00.000Z", "Mobile Device Manager",
                                                "cannot connect"));
    mdmtest::write_file(dir_ + "/mdm.conf",
                        "state-dir " + win(dir_ + "/state") +
                            "\ntrap2sink 127.0.0.1:" + std::to_string(trapd.port()) + " wine\n");
    std::vector<std::string> env = wine_env();
    env.push_back("WINEDLLOVERRIDES=wevtapi=n;mscoree,mshtml=");
    env.push_back("MDM_WEVTAPI_DOUBLE_FILE=" + win(log));
    auto count_of = [&](const std::string &oid) {
        size_t n = 0;
        for (const auto &x : trapd.notifications())
            n += x.trap_oid == oid;
        return n;
    };

    snmptest::Process agent;
    ASSERT_TRUE(agent.start(
        {wine_path(), bin + "/mdmhealth.exe", "run", "-f", "-c", win(dir_ + "/mdm.conf")}, env,
        dir_ + "/agent1.log"));
    ASSERT_TRUE(snmptest::wait_until([&] { return count_of(snmptest::oids::kAlertRaised) == 1; },
                                     90000, 200))
        << agent.log();
    EXPECT_NE(std::string::npos, agent.log().find("event source: channel Mobile Device Manager"))
        << agent.log();
    // A program stopped under Wine may not run its clean stop: wait until the sent notice is saved
    // as sent (within 250 ms of sending, docs/operators.md), as a manager would.
    EXPECT_TRUE(sent_notices_saved(dir_ + "/state/state"));
    agent.stop();

    // Restart: the bookmark (record 601) is resumed; only the new 1004 is evaluated.
    {
        std::ofstream f(log, std::ios::app);
        f << mdmtest::event_xml("Device Manager", 1004, 602, "DM01.contoso.com",
                                "2026-11-25T10:05:00.000Z", "Mobile Device Manager", "connected");
    }
    snmptest::Process again;
    ASSERT_TRUE(again.start(
        {wine_path(), bin + "/mdmhealth.exe", "run", "-f", "-c", win(dir_ + "/mdm.conf")}, env,
        dir_ + "/agent2.log"));
    EXPECT_TRUE(snmptest::wait_until([&] { return count_of(snmptest::oids::kAlertResolved) == 1; },
                                     90000, 200))
        << again.log();
    EXPECT_NE(std::string::npos, again.log().find("resuming at record-id:601")) << again.log();
    again.stop();
    EXPECT_EQ(1u, count_of(snmptest::oids::kAlertRaised)); // no duplicate after the restart
    trapd.stop();
}

// `target` lines with the Windows channel: this computer's log and each
// target's log are subscriptions of their own (the target's through
// EvtOpenSession(EvtRpcLogin) to that computer, path "\\COMPUTER\CHANNEL"),
// each resumed at its own saved position. Real: mdmhealth.exe, Wine, Winsock,
// snmptrapd, the state file. Double: wevtapi.dll (tests/windows/
// wevtapi_double.c), which serves the file MDM_WEVTAPI_DOUBLE_FILE to this
// computer and MDM_WEVTAPI_DOUBLE_FILE + ".DM02.contoso.com" to a session to
// DM02.contoso.com: no remote computer or RPC is involved.
TEST_F(WineTest, AgentFollowsTheChannelOfEveryTargetWithItsOwnPosition)
{
    if (snmptest::find_program("snmptrapd").empty())
        GTEST_SKIP() << "snmptrapd is not installed";
    const std::string bin = with_wevtapi_double();
    if (bin.empty())
        GTEST_SKIP() << kWevtapiDouble << " (the wevtapi double) is absent";

    snmptest::TrapReceiver trapd;
    ASSERT_EQ("", trapd.start(dir_ + "/trapd", "authCommunity log,execute,net wine\n"));
    const std::string log = dir_ + "/mdm-log.xml";        // this computer's log (DM01)
    const std::string remote = log + ".DM02.contoso.com"; // DM02's log, through a session
    mdmtest::write_file(log, mdmtest::event_xml("Device Manager", 1003, 601, "DM01.contoso.com",
                                                "2026-11-25T10:00:00.000Z", "Mobile Device Manager",
                                                "cannot connect"));
    mdmtest::write_file(remote, mdmtest::event_xml("Device Manager", 1003, 9001, "DM02.contoso.com",
                                                   "2026-11-25T10:01:00.000Z",
                                                   "Mobile Device Manager", "cannot connect"));
    mdmtest::write_file(dir_ + "/mdm.conf", "state-dir " + win(dir_ + "/state") +
                                                "\ntarget DM02.contoso.com\ntrap2sink 127.0.0.1:" +
                                                std::to_string(trapd.port()) + " wine\n");
    std::vector<std::string> env = wine_env();
    env.push_back("WINEDLLOVERRIDES=wevtapi=n;mscoree,mshtml=");
    env.push_back("MDM_WEVTAPI_DOUBLE_FILE=" + win(log));
    auto count_of = [&](const std::string &oid, const std::string &computer) {
        size_t n = 0;
        for (const auto &x : trapd.notifications())
            n += x.trap_oid == oid && x.raw.find(computer) != std::string::npos;
        return n;
    };
    const std::string &raised = snmptest::oids::kAlertRaised;
    const std::string &resolved = snmptest::oids::kAlertResolved;

    snmptest::Process agent;
    ASSERT_TRUE(agent.start(
        {wine_path(), bin + "/mdmhealth.exe", "run", "-f", "-c", win(dir_ + "/mdm.conf")}, env,
        dir_ + "/agent1.log"));
    // One alert per computer: two rows of mdmMonitorTable.
    ASSERT_TRUE(snmptest::wait_until(
        [&] {
            return count_of(raised, "DM01.contoso.com") == 1 &&
                   count_of(raised, "DM02.contoso.com") == 1;
        },
        90000, 200))
        << agent.log();
    EXPECT_NE(std::string::npos,
              agent.log().find("event source: channel \\\\DM02.contoso.com\\Mobile Device Manager"))
        << agent.log();
    EXPECT_TRUE(
        sent_notices_saved(dir_ + "/state/state")); // a stop under Wine may skip the clean stop
    agent.stop();
    // Both positions are in the one state file: the local one as `position`.
    const std::string state = mdmtest::read_file(dir_ + "/state/state");
    EXPECT_NE(std::string::npos, state.find("\nposition record-id:601")) << state;
    EXPECT_NE(std::string::npos, state.find("\nsource-position DM02.contoso.com record-id:9001"))
        << state;

    // Restart after DM02 recovered: only DM02's log has news.
    {
        std::ofstream f(remote, std::ios::app);
        f << mdmtest::event_xml("Device Manager", 1004, 9002, "DM02.contoso.com",
                                "2026-11-25T10:05:00.000Z", "Mobile Device Manager", "connected");
    }
    snmptest::Process again;
    ASSERT_TRUE(again.start(
        {wine_path(), bin + "/mdmhealth.exe", "run", "-f", "-c", win(dir_ + "/mdm.conf")}, env,
        dir_ + "/agent2.log"));
    EXPECT_TRUE(snmptest::wait_until([&] { return count_of(resolved, "DM02.contoso.com") == 1; },
                                     90000, 200))
        << again.log();
    EXPECT_NE(std::string::npos,
              again.log().find("Mobile Device Manager, resuming at record-id:601"))
        << again.log();
    EXPECT_NE(std::string::npos, again.log().find("resuming at record-id:9001")) << again.log();
    again.stop();
    // Nothing evaluated twice: no new alert for either, and DM01 stays raised.
    EXPECT_EQ(1u, count_of(raised, "DM01.contoso.com"));
    EXPECT_EQ(1u, count_of(raised, "DM02.contoso.com"));
    EXPECT_EQ(0u, count_of(resolved, "DM01.contoso.com"));
    EXPECT_NE(std::string::npos, mdmtest::read_file(dir_ + "/state/state")
                                     .find("\nsource-position DM02.contoso.com record-id:9002"));
    trapd.stop();
}

// A target that cannot be reached does not stop this computer's source: it is
// retried on its own while the local log is read and alerts are sent. Real:
// mdmhealth.exe, Wine, Winsock, snmptrapd. Double: wevtapi.dll, which fails a
// subscription through a session to MDM_WEVTAPI_DOUBLE_UNREACHABLE with
// RPC_S_SERVER_UNAVAILABLE, as Windows does for a computer that is down.
TEST_F(WineTest, AnUnreachableTargetDoesNotStopThisComputersSource)
{
    if (snmptest::find_program("snmptrapd").empty())
        GTEST_SKIP() << "snmptrapd is not installed";
    const std::string bin = with_wevtapi_double();
    if (bin.empty())
        GTEST_SKIP() << kWevtapiDouble << " (the wevtapi double) is absent";

    snmptest::TrapReceiver trapd;
    ASSERT_EQ("", trapd.start(dir_ + "/trapd", "authCommunity log,execute,net wine\n"));
    const std::string log = dir_ + "/mdm-log.xml";
    mdmtest::write_file(log, mdmtest::event_xml("Device Manager", 1003, 601, "DM01.contoso.com",
                                                "2026-11-25T10:00:00.000Z", "Mobile Device Manager",
                                                "cannot connect"));
    mdmtest::write_file(dir_ + "/mdm.conf", "state-dir " + win(dir_ + "/state") +
                                                "\ntarget DM09.contoso.com\ntrap2sink 127.0.0.1:" +
                                                std::to_string(trapd.port()) + " wine\n");
    std::vector<std::string> env = wine_env();
    env.push_back("WINEDLLOVERRIDES=wevtapi=n;mscoree,mshtml=");
    env.push_back("MDM_WEVTAPI_DOUBLE_FILE=" + win(log));
    env.push_back("MDM_WEVTAPI_DOUBLE_UNREACHABLE=DM09.contoso.com");
    auto count_of = [&](const std::string &oid) {
        size_t n = 0;
        for (const auto &x : trapd.notifications())
            n += x.trap_oid == oid;
        return n;
    };

    snmptest::Process agent;
    ASSERT_TRUE(agent.start(
        {wine_path(), bin + "/mdmhealth.exe", "run", "-f", "-c", win(dir_ + "/mdm.conf")}, env,
        dir_ + "/agent.log"));
    ASSERT_TRUE(snmptest::wait_until([&] { return count_of(snmptest::oids::kAlertRaised) == 1; },
                                     90000, 200))
        << agent.log();
    // While the target is down, this computer's log is still followed.
    {
        std::ofstream f(log, std::ios::app);
        f << mdmtest::event_xml("Device Manager", 1004, 602, "DM01.contoso.com",
                                "2026-11-25T10:05:00.000Z", "Mobile Device Manager", "connected");
    }
    EXPECT_TRUE(snmptest::wait_until([&] { return count_of(snmptest::oids::kAlertResolved) == 1; },
                                     90000, 200))
        << agent.log();
    agent.stop();
    const std::string text = agent.log();
    EXPECT_NE(std::string::npos, text.find("\\\\DM09.contoso.com\\Mobile Device Manager")) << text;
    EXPECT_NE(std::string::npos, text.find("retrying every")) << text;
    EXPECT_NE(std::string::npos, text.find("event source: channel Mobile Device Manager")) << text;
    trapd.stop();
}

} // namespace

namespace
{

// mdmhealth.exe needs nothing but Windows' own DLLs (everything else is static).
TEST_F(WineTest, ImportsOnlyWindowsSystemDlls)
{
    const char *objdump = "/usr/bin/x86_64-w64-mingw32-objdump";
    if (access(objdump, X_OK) != 0)
        GTEST_SKIP() << objdump << " is not installed";
    auto r = mdmtest::run_program({objdump, "-p", kExe});
    ASSERT_EQ(0, r.status) << r.err;
    const std::vector<std::string> system = {
        "ADVAPI32.dll", "bcrypt.dll",    "CRYPT32.dll",  "GDI32.dll",   "IPHLPAPI.DLL",
        "KERNEL32.dll", "msvcrt.dll",    "NETAPI32.dll", "ole32.dll",   "Secur32.dll",
        "SHELL32.dll",  "USER32.dll",    "USERENV.dll",  "wevtapi.dll", "WLDAP32.dll",
        "WS2_32.dll",   "api-ms-win-crt"};
    std::istringstream in(r.out);
    std::string line;
    size_t dlls = 0;
    while (std::getline(in, line)) {
        size_t at = line.find("DLL Name: ");
        if (at == std::string::npos)
            continue;
        std::string name = line.substr(at + 10);
        dlls++;
        bool ok = false;
        for (const auto &s : system)
            ok = ok || strncasecmp(name.c_str(), s.c_str(), s.size()) == 0;
        EXPECT_TRUE(ok) << "mdmhealth.exe imports " << name;
    }
    EXPECT_GT(dlls, 3u);
}

// diagnose under Wine decides the loopback case from the real (Wine) registry.
TEST_F(WineTest, DiagnoseDecidesTheLoopbackCaseFromTheRegistry)
{
    mdmtest::write_file(dir_ + "/mdm.conf",
                        "enrollment-server localhost\n"
                        "diag-skip ping-gateway ping-dns-servers ping-enrollment-ip "
                        "ping-enrollment-fqdn ping-loopback https-enrollment https-dm-admin "
                        "enrollment-services ad-group\n"
                        "state-dir " +
                            win(dir_ + "/state") + "\n");
    const std::string lsa = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa";
    wine_tool({"reg", "delete", lsa + "\\MSV1_0", "/v", "BackConnectionHostNames", "/f"});
    wine_tool({"reg", "delete", lsa, "/v", "DisableLoopbackCheck", "/f"});
    auto r = wine({"diagnose", "--json", "-c", win(dir_ + "/mdm.conf")});
    ASSERT_EQ(0, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.out.find("\"name\":\"loopback-check\",\"status\":\"fail\""))
        << r.out;
    EXPECT_NE(std::string::npos,
              r.out.find("\"resolver\":\"HTTP 401 Unauthorized Logon Failed using Loopback "
                         "connector\""))
        << r.out;

    auto add = wine_tool(
        {"reg", "add", lsa, "/v", "DisableLoopbackCheck", "/t", "REG_DWORD", "/d", "1", "/f"});
    ASSERT_EQ(0, add.status) << add.out << add.err;
    r = wine({"diagnose", "--json", "-c", win(dir_ + "/mdm.conf")});
    ASSERT_EQ(0, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.out.find("\"name\":\"loopback-check\",\"status\":\"pass\""))
        << r.out;
    EXPECT_NE(std::string::npos, r.out.find("\"diagnoses\":[]")) << r.out;
    wine_tool({"reg", "delete", lsa, "/v", "DisableLoopbackCheck", "/f"});
}

} // namespace

namespace
{

// The ad-group check without ldap-uri, ldap-base and computer-dn discovers
// them (agent/os/ldap_discover_win.c, mdm_ldap_discover). Real: mdmhealth.exe and
// Wine's netapi32 DsGetDcNameW and secur32 GetComputerObjectNameW; no double.
// The Wine prefix is in no domain, so only the failure path can be shown
// here: DsGetDcName finds no domain controller, and GetComputerObjectName
// answers with a DN whose domain part is empty ("CN=NAME,CN=Computers,DC="),
// which the check refuses. The detail names both calls and the directives
// that replace them, and the check is an error, not a crash or a skip.
// Discovery inside a real domain needs a real Windows Server (docs/windows.md).
TEST_F(WineTest, AdGroupWithoutDirectivesNamesTheFailedDiscovery)
{
    const std::string others = "diag-skip dns ping-gateway ping-dns-servers ping-enrollment-ip "
                               "ping-enrollment-fqdn ping-loopback https-enrollment "
                               "https-dm-admin enrollment-services loopback-check\n"
                               "state-dir " +
                               win(dir_ + "/state") + "\n";
    mdmtest::write_file(dir_ + "/none.conf", others);
    auto r = wine({"diagnose", "--json", "-c", win(dir_ + "/none.conf")});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    std::smatch m;
    // The check's JSON object: its status and its detail (JSON escapes kept).
    const std::regex ad(
        R"re(\{"name":"ad-group","status":"([a-z]+)","detail":"((?:[^"\\]|\\.)*)")re");
    ASSERT_TRUE(std::regex_search(r.out, m, ad)) << r.out;
    EXPECT_EQ("error", m[1].str()) << r.out;
    const std::string detail = m[2].str();
    EXPECT_NE(std::string::npos, detail.find("no domain controller found (DsGetDcName: "))
        << detail;
    EXPECT_NE(std::string::npos, detail.find("set ldap-uri and ldap-base")) << detail;
    EXPECT_NE(std::string::npos, detail.find("GetComputerObjectName")) << detail;
    EXPECT_NE(std::string::npos, detail.find("set computer-dn")) << detail;
    EXPECT_NE(std::string::npos, r.out.find("\"diagnoses\":[]")) << r.out;

    // Only what is missing is discovered, and the detail names only that directive.
    mdmtest::write_file(dir_ + "/base.conf", others + "ldap-uri ldap://127.0.0.1:9/\n"
                                                      "computer-dn CN=DM01,DC=contoso,DC=com\n");
    r = wine({"diagnose", "--json", "-c", win(dir_ + "/base.conf")});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    ASSERT_TRUE(std::regex_search(r.out, m, ad)) << r.out;
    EXPECT_EQ("error", m[1].str()) << r.out;
    EXPECT_NE(std::string::npos, m[2].str().find("(DsGetDcName: ")) << m[2].str();
    EXPECT_NE(std::string::npos, m[2].str().find("; set ldap-base")) << m[2].str();
    EXPECT_EQ(std::string::npos, m[2].str().find("ldap-uri")) << m[2].str();
    EXPECT_EQ(std::string::npos, m[2].str().find("GetComputerObjectName")) << m[2].str();

    // The resolver shares the discovery and says the same.
    r = wine({"resolve", "ad-group", "-c", win(dir_ + "/none.conf")});
    EXPECT_NE(0, r.status) << r.out << r.err;
    EXPECT_NE(std::string::npos, r.err.find("DsGetDcName")) << r.err;
    EXPECT_NE(std::string::npos, r.err.find("set computer-dn")) << r.err;
}

} // namespace

namespace
{

// The Event Log message table and VERSIONINFO of mdmhealth.exe
// (agent/os/win/mdmhealth_messages.mc and mdmhealth.rc, windmc + windres).
// Real: the resources linked into mdmhealth.exe and Wine's LoadLibraryExW,
// FormatMessageW, GetFileVersionInfoW and registry. resource_driver.exe
// (tests/windows/resource_driver.c) only calls those APIs and prints what
// they return; it links nothing of the product. Wine's ReportEventW is a
// stub that traces its arguments: the test reads the IDs mdmhealth.exe
// reports from that trace (Wine 8's format), not from a real Event Log.

// The event IDs as Event Viewer looks them up: severity (error 3, warning 2,
// informational 1), customer bit, facility 0xFFF, code 1..4.
const char *const kMessageIds[] = {"0xefff0001", "0xafff0002", "0x6fff0003", "0x6fff0004"};

const std::string kResourceDriver =
    std::string(MDM_WINDOWS_BUILD_DIR) + "/tests/windows/resource_driver.exe";

std::string without_cr(const std::string &s)
{
    std::string out;
    for (char c : s)
        if (c != '\r')
            out += c;
    return out;
}

// "Z:\dir\mdmhealth.exe": the path Windows programs see for a Linux path.
std::string win_backslash(const std::string &linux_path)
{
    std::string p = win(linux_path);
    std::replace(p.begin(), p.end(), '/', '\\');
    return p;
}

// resource_driver.exe message EXE ID... under the suite's Wine prefix.
mdmtest::RunResult format_messages(const std::string &exe_windows_path,
                                   const std::vector<std::string> &ids)
{
    std::vector<std::string> argv = {wine_path(), kResourceDriver, "message", exe_windows_path};
    argv.insert(argv.end(), ids.begin(), ids.end());
    auto r = snmptest::run_with_env(argv, wine_env(), 60000);
    r.out = without_cr(r.out);
    return r;
}

#define SKIP_WITHOUT_RESOURCE_DRIVER()                                                             \
    do {                                                                                           \
        if (!mdmtest::file_exists(kResourceDriver))                                                \
            GTEST_SKIP() << kResourceDriver << " is absent: build it with scripts/build-windows";  \
    } while (0)

// Event Viewer's lookup: every ID log_win.c reports formats to exactly the
// insertion string; the bare codes (no severity bits) and 5 are not there.
TEST_F(WineTest, MessageTableFormatsTheInsertionString)
{
    SKIP_WITHOUT_RESOURCE_DRIVER();
    std::vector<std::string> ids(std::begin(kMessageIds), std::end(kMessageIds));
    auto r = format_messages(win(kExe), ids);
    ASSERT_EQ(0, r.status) << r.out << r.err;
    EXPECT_EQ("0xefff0001=hello\n"
              "0xafff0002=hello\n"
              "0x6fff0003=hello\n"
              "0x6fff0004=hello\n",
              r.out);
    // 317 = ERROR_MR_MID_NOT_FOUND: the table holds the documented IDs only.
    r = format_messages(win(kExe), {"1", "0xefff0005"});
    EXPECT_EQ(1, r.status) << r.out << r.err;
    EXPECT_EQ("1 error 317\n0xefff0005 error 317\n", r.out);
}

// VERSIONINFO carries project()'s version, the same as the Linux build's --version.
TEST_F(WineTest, VersionInfoCarriesTheProjectVersion)
{
    SKIP_WITHOUT_RESOURCE_DRIVER();
    auto v = mdmtest::run_program({MDM_BINARY, "--version"});
    ASSERT_EQ(0, v.status) << v.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(v.out, m, std::regex("mdmhealth (\\d+)\\.(\\d+)\\.(\\d+)")))
        << v.out;
    const std::string version = m[1].str() + "." + m[2].str() + "." + m[3].str();

    auto r = wine_tool({kResourceDriver, "version", win(kExe)});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    const std::string out = without_cr(r.out);
    EXPECT_NE(std::string::npos, out.find("fixed FileVersion=" + version + ".0\n")) << out;
    EXPECT_NE(std::string::npos, out.find("fixed ProductVersion=" + version + ".0\n")) << out;
    EXPECT_NE(std::string::npos, out.find("fixed FileType=1\n")) << out; // VFT_APP
    EXPECT_NE(std::string::npos, out.find("\nFileVersion=" + version + "\n")) << out;
    EXPECT_NE(std::string::npos, out.find("\nProductVersion=" + version + "\n")) << out;
    EXPECT_NE(std::string::npos, out.find("CompanyName=mdmhealth\n")) << out;
    EXPECT_NE(std::string::npos, out.find("\nProductName=mdmhealth\n")) << out;
    EXPECT_NE(std::string::npos, out.find("\nOriginalFilename=mdmhealth.exe\n")) << out;
    EXPECT_NE(std::string::npos, out.find("\nFileDescription=MDM Enrollment Connection Health"))
        << out;
}

// service install registers the Application event source (overwriting a
// stale one), the file it names holds the message table, a second install
// says what to do, and uninstall removes the source, also when the service
// itself is already gone.
TEST_F(WineTest, ServiceInstallRegistersTheEventSource)
{
    SKIP_WITHOUT_RESOURCE_DRIVER();
    const std::string key =
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\mdmhealth";
    mdmtest::write_file(dir_ + "/mdm.conf", "");
    wine({"service", "uninstall"});
    auto add = wine_tool({"reg", "add", key, "/v", "EventMessageFile", "/t", "REG_EXPAND_SZ", "/d",
                          "C:\\old\\mdmhealth.exe", "/f"});
    ASSERT_EQ(0, add.status) << add.out << add.err;

    auto r = wine({"service", "install", "-c", win(dir_ + "/mdm.conf")});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    auto q = wine_tool({"reg", "query", key});
    ASSERT_EQ(0, q.status) << q.out << q.err;
    std::smatch m;
    const std::string listing = without_cr(q.out);
    ASSERT_TRUE(std::regex_search(listing, m,
                                  std::regex("EventMessageFile    REG_EXPAND_SZ    ([^\n]*)\n")))
        << listing;
    EXPECT_EQ(0, strcasecmp(win_backslash(kExe).c_str(), m[1].str().c_str())) << m[1];
    EXPECT_NE(std::string::npos, listing.find("TypesSupported    REG_DWORD    0x7\n")) << listing;
    EXPECT_EQ(std::string::npos, listing.find("C:\\old")) << listing;

    // The registered file is what Event Viewer opens: it formats the messages.
    auto f = format_messages(m[1].str(), {"0x6fff0003"});
    EXPECT_EQ(0, f.status) << f.out << f.err;
    EXPECT_EQ("0x6fff0003=hello\n", f.out);

    r = wine({"service", "install", "-c", win(dir_ + "/mdm.conf")});
    EXPECT_EQ(1, r.status) << r.out << r.err;
    EXPECT_NE(std::string::npos, r.err.find("service uninstall` first")) << r.err;

    r = wine({"service", "uninstall"});
    EXPECT_EQ(0, r.status) << r.out << r.err;
    q = wine_tool({"reg", "query", key});
    EXPECT_NE(0, q.status) << q.out; // the key is gone
    EXPECT_EQ(std::string::npos, q.out.find("EventMessageFile")) << q.out;

    // A left-over source without the service: removed, and the missing service reported.
    add =
        wine_tool({"reg", "add", key, "/v", "TypesSupported", "/t", "REG_DWORD", "/d", "7", "/f"});
    ASSERT_EQ(0, add.status) << add.out << add.err;
    r = wine({"service", "uninstall"});
    EXPECT_EQ(1, r.status) << r.out << r.err;
    EXPECT_NE(std::string::npos, r.err.find("cannot open the mdmhealth service")) << r.err;
    q = wine_tool({"reg", "query", key});
    EXPECT_NE(0, q.status) << q.out;
}

// Not in the foreground, mdmhealth.exe logs through ReportEventW with the
// message table's IDs and the matching event types, and each ID it used
// formats from mdmhealth.exe to the logged text's placeholder.
TEST_F(WineTest, AgentReportsEventsWithTheMessageTableIds)
{
    SKIP_WITHOUT_RESOURCE_DRIVER();
    const std::string events = dir_ + "/events.xml";
    mdmtest::write_file(events, "");
    mdmtest::write_file(dir_ + "/mdm.conf", "source xml-follow " + win(events) + "\nstate-dir " +
                                                win(dir_ + "/state") + "\n");
    std::vector<std::string> env = wine_env();
    // fixme+advapi: Wine's ReportEventW stub prints its arguments; +eventlog: the strings.
    env.push_back("WINEDEBUG=-all,fixme+advapi,+eventlog");
    snmptest::Process agent;
    ASSERT_TRUE(agent.start({wine_path(), kExe, "run", "-c", win(dir_ + "/mdm.conf")}, env,
                            dir_ + "/agent.log"));
    ASSERT_TRUE(snmptest::wait_until(
        [&] { return agent.log().find("event source: xml-follow") != std::string::npos; }, 120000,
        200))
        << agent.log();
    agent.stop();

    // "fixme:advapi:ReportEventW (HANDLE,0xTYPE,0x0000,0xID,...)" then the string it logged.
    const std::regex call("ReportEventW \\([0-9A-Fa-f]+,0x([0-9a-f]{4}),0x0000,0x([0-9a-f]{8}),");
    const std::map<std::string, std::string> type_of = {
        {"efff0001", "0001"}, {"afff0002", "0002"}, {"6fff0003", "0004"}, {"6fff0004", "0004"}};
    std::istringstream in(agent.log());
    std::string line, last_id;
    std::set<std::string> used;
    bool saw_started = false;
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_search(line, m, call)) {
            auto t = type_of.find(m[2].str());
            ASSERT_NE(type_of.end(), t) << "an event ID outside the message table: " << line;
            EXPECT_EQ(t->second, m[1].str()) << line;
            used.insert("0x" + m[2].str());
            last_id = m[2].str();
        } else if (line.find("eventlog:ReportEventW L\"mdmhealth ") != std::string::npos &&
                   line.find(" started: ") != std::string::npos) {
            EXPECT_EQ("6fff0003", last_id) << line; // information
            saw_started = true;
        }
    }
    EXPECT_TRUE(saw_started) << agent.log();
    ASSERT_FALSE(used.empty()) << agent.log();
    auto r = format_messages(win(kExe), std::vector<std::string>(used.begin(), used.end()));
    EXPECT_EQ(0, r.status) << r.out << r.err;
    for (const auto &id : used)
        EXPECT_NE(std::string::npos, r.out.find(id + "=hello\n")) << r.out;
}

} // namespace

namespace
{

// The service run by Wine's Service Control Manager: `mdmhealth service
// install`, then started and stopped both by `mdmhealth service start|stop`
// and by `wine sc start|stop`. Real: mdmhealth.exe as a service (ServiceMain,
// the control handler, SetServiceStatus), Wine's SCM and registry, Winsock,
// snmptrapd. No double: the configuration names an xml-follow source, so the
// service needs no event log. Wine stops services when the last ordinary
// program of the prefix exits, so a long `wine ping` keeps the prefix up.
TEST_F(WineTest, ServiceStartsStopsAndSendsUnderTheScm)
{
    if (snmptest::find_program("snmptrapd").empty())
        GTEST_SKIP() << "snmptrapd is not installed";
    snmptest::TrapReceiver trapd;
    ASSERT_EQ("", trapd.start(dir_ + "/trapd", "authCommunity log,execute,net wine\n"));
    const std::string events = dir_ + "/events.xml";
    mdmtest::write_file(events, "");
    mdmtest::write_file(dir_ + "/svc.conf",
                        "source xml-follow " + win(events) + "\nstate-dir " + win(dir_ + "/state") +
                            "\ntrap2sink 127.0.0.1:" + std::to_string(trapd.port()) + " wine\n");
    snmptest::Process keep_alive;
    ASSERT_TRUE(keep_alive.start({wine_path(), "ping", "-n", "600", "127.0.0.1"}, wine_env(),
                                 dir_ + "/keepalive.log"));
    auto state_of = [&] { return wine_tool({"sc", "query", "mdmhealth"}).out; };
    auto until_state = [&](const char *want) {
        return snmptest::wait_until([&] { return state_of().find(want) != std::string::npos; },
                                    60000, 250);
    };

    wine({"service", "uninstall"});
    auto r = wine({"service", "install", "-c", win(dir_ + "/svc.conf")});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    r = wine({"service", "start"});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    EXPECT_TRUE(until_state("RUNNING")) << state_of();
    /* The service follows the file: a 1003 event becomes the trap. */
    EXPECT_TRUE(
        snmptest::wait_until([&] { return mdmtest::file_exists(dir_ + "/state/state"); }, 60000));
    append_event(events, 1003, 801, "2026-11-25T10:00:00.000Z", "cannot connect");
    EXPECT_TRUE(trapd.wait_for(received(snmptest::oids::kAlertRaised), 60000)) << trapd.log();
    r = wine({"service", "stop"});
    EXPECT_EQ(0, r.status) << r.out << r.err;
    EXPECT_TRUE(until_state("STOPPED")) << state_of();
    /* Stopping saved the state: the monitor is in error (3). */
    EXPECT_EQ("3", snmptest::state_file_health(snmptest::read_text(dir_ + "/state/state")));

    /* The same through Wine's own sc.exe; the recovery is then 1004 -> resolved. */
    r = wine_tool({"sc", "start", "mdmhealth"});
    EXPECT_TRUE(until_state("RUNNING")) << r.out << state_of();
    append_event(events, 1004, 802, "2026-11-25T10:05:00.000Z", "connected");
    EXPECT_TRUE(trapd.wait_for(received(snmptest::oids::kAlertResolved), 60000)) << trapd.log();
    wine_tool({"sc", "stop", "mdmhealth"});
    EXPECT_TRUE(until_state("STOPPED")) << state_of();
    r = wine({"service", "uninstall"});
    EXPECT_EQ(0, r.status) << r.out << r.err;
    keep_alive.kill_hard();
    trapd.stop();
}

// The embedded agent of the Windows build answers the SNMPv2-MIB system group
// with Net-SNMP's modules (built into the cross-compiled libnetsnmpmibs): a
// sysDescr naming mdmhealth and Windows (RtlGetVersion), sysObjectID
// mdmHealthAgent, and sysORTable with MDM-HEALTH-MIB's compliance; snmpget
// and snmpwalk are the Linux tools, over loopback.
TEST_F(WineTest, EmbeddedAgentUnderWineAnswersTheSystemGroup)
{
    if (snmptest::find_program("snmpget").empty())
        GTEST_SKIP() << "snmpget is not installed";
    const std::string events = dir_ + "/events.xml";
    mdmtest::write_file(events, "");
    snmptest::Process agent;
    int port = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        port = snmptest::free_udp_port();
        mdmtest::write_file(dir_ + "/mdm.conf",
                            "source xml-follow " + win(events) + "\nstate-dir " +
                                win(dir_ + "/state") + "\nagentaddress udp:127.0.0.1:" +
                                std::to_string(port) + "\nrocommunity wine 127.0.0.1\n");
        ASSERT_TRUE(agent.start({wine_path(), kExe, "run", "-f", "-c", win(dir_ + "/mdm.conf")},
                                wine_env(), dir_ + "/agent.log"));
        ASSERT_TRUE(snmptest::wait_until(
            [&] {
                return !agent.running() ||
                       agent.log().find("event source: xml-follow") != std::string::npos;
            },
            120000, 200))
            << agent.log();
        if (agent.running())
            break;
    }
    ASSERT_TRUE(agent.running()) << agent.log();
    const std::string descr = ".1.3.6.1.2.1.1.1.0", object_id = ".1.3.6.1.2.1.1.2.0",
                      name = ".1.3.6.1.2.1.1.5.0";
    mdmtest::RunResult r;
    EXPECT_TRUE(snmptest::wait_until(
        [&] {
            r = snmptest::snmp_tool(dir_, "snmpget", {"-v2c", "-c", "wine"}, port,
                                    {descr, object_id, name});
            return r.status == 0;
        },
        30000, 200))
        << r.out << r.err << agent.log();
    std::string d = snmptest::get_value(r, descr);
    EXPECT_EQ(0u, d.find("STRING: \"mdmhealth " MDM_VERSION " on ")) << r.out;
    EXPECT_NE(std::string::npos, d.find(", Windows ")) << r.out;
    EXPECT_EQ("OID: .1.3.6.1.4.1.8072.9999.9999.3.1", snmptest::get_value(r, object_id)) << r.out;
    EXPECT_EQ(0u, snmptest::get_value(r, name).find("STRING: \"")) << r.out;
    auto w = snmptest::snmp_tool(dir_, "snmpwalk", {"-v2c", "-c", "wine"}, port,
                                 {".1.3.6.1.2.1.1.9.1.2"});
    EXPECT_NE(std::string::npos, w.out.find("OID: .1.3.6.1.4.1.8072.9999.9999.2.1.1"))
        << w.out << w.err;
    agent.stop();
}

} // namespace

namespace
{

// A service whose configuration is refused at start: Wine's SCM shows it
// stopped with ERROR_SERVICE_SPECIFIC_ERROR (1066) and our exit status 2 in
// dwServiceSpecificExitCode, and the reason reaches the Event Log (Wine
// prints ReportEventW's strings on its eventlog channel, in the output of
// the prefix's first program, here the keep-alive `wine cmd ... ping`). Real:
// mdmhealth.exe as a service, Wine's SCM and sc.exe, Wine's advapi32.
TEST_F(WineTest, ServiceRefusingItsConfigurationStopsWithItsExitCodeAndLogsWhy)
{
    // A pack that does not exist: refused at start, exit status 2 (configuration error).
    mdmtest::write_file(dir_ + "/bad.conf", "state-dir " + win(dir_ + "/state") + "\npack " +
                                                win(dir_ + "/missing-pack.xml") + "\n");
    // Wine's own report of each ReportEventW call (its event log is not kept).
    // One WINEDEBUG entry: with two, a program sees the first.
    std::vector<std::string> env = wine_env();
    for (auto &e : env)
        if (e.compare(0, 10, "WINEDEBUG=") == 0)
            e = "WINEDEBUG=-all,err+eventlog";
    // The keep-alive must be the prefix's first program: the first Windows process
    // of a wineserver starts wineboot, which starts the SCM (services.exe), and both
    // inherit that process's stderr and WINEDEBUG; the service inherits the SCM's.
    // Stop a wineserver that an earlier test left running.
    const std::string wineserver = snmptest::find_program("wineserver");
    if (!wineserver.empty()) {
        snmptest::run_with_env({wineserver, "-k"}, wine_env(), 30000);
        snmptest::run_with_env({wineserver, "-w"}, wine_env(), 30000);
    }
    // No other Wine program may start until the keep-alive has booted the prefix:
    // one started right after it (the `service uninstall` below) can reach the new
    // wineserver first and boot the SCM with its own output and WINEDEBUG=-all,
    // and the reason is then never seen. The keep-alive says when its own program
    // runs (cmd's echo is written at once; ping's printf output stays in its
    // buffer until it exits), which is after its process has started wineboot.
    const std::string ready = "mdmtest keep-alive started";
    snmptest::Process keep_alive;
    ASSERT_TRUE(
        keep_alive.start({wine_path(), "cmd", "/c", "echo " + ready + "& ping -n 600 127.0.0.1"},
                         env, dir_ + "/keepalive.log"));
    ASSERT_TRUE(snmptest::wait_until(
        [&] { return keep_alive.log().find(ready) != std::string::npos; }, 120000, 100))
        << keep_alive.log();
    auto state_of = [&] { return wine_tool({"sc", "query", "mdmhealth"}).out; };

    wine({"service", "uninstall"});
    auto r = wine({"service", "install", "-c", win(dir_ + "/bad.conf")});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    wine_tool({"sc", "start", "mdmhealth"});
    std::string state;
    EXPECT_TRUE(snmptest::wait_until(
        [&] {
            state = state_of();
            return state.find("STOPPED") != std::string::npos &&
                   state.find("WIN32_EXIT_CODE    : 1066") != std::string::npos;
        },
        60000, 250))
        << state;
    EXPECT_NE(std::string::npos, state.find("SERVICE_EXIT_CODE  : 2 ")) << state;
    EXPECT_TRUE(snmptest::wait_until(
        [&] { return keep_alive.log().find("cannot open management pack") != std::string::npos; },
        30000, 250))
        << keep_alive.log();
    EXPECT_NE(std::string::npos,
              keep_alive.log().find("err:eventlog:ReportEventW L\"cannot start: "))
        << keep_alive.log();
    EXPECT_NE(std::string::npos, keep_alive.log().find("missing-pack.xml")) << keep_alive.log();
    r = wine({"service", "uninstall"});
    EXPECT_EQ(0, r.status) << r.out << r.err;
    keep_alive.kill_hard();
}

} // namespace

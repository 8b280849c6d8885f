/*
 * test_snmp_reset.cc - what changes a monitor's state other than an event,
 * in a running agent: an operator's reset (`mdmhealth reset`, an SNMPv3 SET
 * of mdmMonitorReset) and the engine's timers on the agent's loop (a
 * timer-reset monitor turns healthy with no event, also when its timer came
 * due while the agent was stopped). Real: mdmhealth run, snmptrapd, snmpset
 * and snmpget (Net-SNMP's own tools); nothing is a double.
 */
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "snmp_fixtures.h"
#include "test_util.h"

using snmptest::get_value;
using snmptest::Notification;
using snmptest::snmp_tool;
using snmptest::wait_until;
namespace oids = snmptest::oids;
using namespace snmptest::enrollment;

namespace
{

size_t count(const std::vector<Notification> &ns, const std::string &trap_oid)
{
    size_t n = 0;
    for (const auto &x : ns)
        if (x.trap_oid == trap_oid)
            n++;
    return n;
}

std::string col(int column)
{
    return oids::monitor_column(column, 1);
}

/* An ISO 8601 UTC time offset_s from now, as TimeCreated/@SystemTime. */
std::string iso_now(int offset_s = 0)
{
    std::time_t t = std::time(nullptr) + offset_s;
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", std::gmtime(&t));
    return buf;
}

class ResetTest : public snmptest::AgentTest
{
  protected:
    void SetUp() override
    {
        prepare("reset", {"snmptrapd", "snmpset", "snmpget"});
    }

    std::string start(const std::string &extra)
    {
        std::string err = trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net traps\n");
        if (!err.empty())
            return err;
        for (int attempt = 0; attempt < 5; attempt++) {
            port_ = snmptest::free_udp_port();
            agent_->configure("agentaddress udp:127.0.0.1:" + std::to_string(port_) +
                              "\nrocommunity secret 127.0.0.1\n"
                              "trap2sink 127.0.0.1:" +
                              std::to_string(trapd_.port()) + " traps\n" + extra);
            err = agent_->start();
            if (err.empty() || err.find("cannot listen") == std::string::npos)
                return err;
        }
        return err;
    }

    bool wait_traps(const std::string &trap_oid, size_t n)
    {
        return trapd_.wait_for(
            [&](const std::vector<Notification> &ns) { return count(ns, trap_oid) >= n; });
    }

    std::string get(const std::string &oid)
    {
        return get_value(snmp_tool(dir_, "snmpget", {"-v2c", "-c", "secret"}, port_, {oid}), oid);
    }

    int port_ = 0;
};

const std::vector<std::string> kWriter = {"-v3", "-u",      "writer",     "-l",          "authPriv",
                                          "-a",  "SHA-256", "-A",         "authpass789", "-x",
                                          "AES", "-X",      "privpass789"};
const std::vector<std::string> kReader = {"-v3", "-u",      "reader",     "-l",          "authPriv",
                                          "-a",  "SHA-256", "-A",         "authpass456", "-x",
                                          "AES", "-X",      "privpass456"};
const std::string kUsers = "createUser writer SHA-256 authpass789 AES privpass789\n"
                           "rwuser writer authPriv\n"
                           "createUser reader SHA-256 authpass456 AES privpass456\n"
                           "rouser reader authPriv\n";

TEST_F(ResetTest, CommandLineResetResolvesTheOpenAlert)
{
    ASSERT_EQ("", start(""));
    agent_->append(failure_event(201));
    ASSERT_TRUE(wait_traps(oids::kAlertRaised, 1)) << trapd_.log();

    auto r = mdmtest::run_program(
        {MDM_BINARY, "reset", "-c", agent_->config_path(), kMonitorId, kComputer});
    EXPECT_EQ(0, r.status) << r.out << r.err;
    EXPECT_NE(std::string::npos, r.out.find(kComputer + ": error -> healthy")) << r.out;
    ASSERT_TRUE(wait_traps(oids::kAlertResolved, 1)) << trapd_.log();
    EXPECT_EQ("INTEGER: 1", get(col(oids::kState)));
    EXPECT_TRUE(agent_->wait_log("reset requested by `mdmhealth reset`"));

    // Again: nothing to change, said so; an unknown target is the agent's refusal (exit 2).
    r = mdmtest::run_program({MDM_BINARY, "reset", "-c", agent_->config_path(), kMonitorId});
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.out.find("no change")) << r.out;
    r = mdmtest::run_program(
        {MDM_BINARY, "reset", "-c", agent_->config_path(), kMonitorId, "NO-SUCH-HOST"});
    EXPECT_EQ(2, r.status) << r.out << r.err;
    EXPECT_NE(std::string::npos, r.err.find("NO-SUCH-HOST")) << r.err;
    EXPECT_EQ(1u, count(trapd_.notifications(), oids::kAlertResolved));
}

TEST_F(ResetTest, SnmpV3SetOfMonitorResetOnlyForAWriteUser)
{
    ASSERT_EQ("", start(kUsers));
    agent_->append(failure_event(201));
    ASSERT_TRUE(wait_traps(oids::kAlertRaised, 1)) << trapd_.log();
    const std::string reset = col(oids::kReset);
    EXPECT_EQ("INTEGER: 1", get(reset)); // idle(1)

    // No write access: the v2c community, a read-only v3 user.
    auto s = snmp_tool(dir_, "snmpset", {"-v2c", "-c", "secret"}, port_, {reset, "i", "2"});
    EXPECT_NE(0, s.status) << s.out << s.err;
    s = snmp_tool(dir_, "snmpset", kReader, port_, {reset, "i", "2"});
    EXPECT_NE(0, s.status) << s.out << s.err;
    // The write user, with wrong values, and on a read-only column.
    s = snmp_tool(dir_, "snmpset", kWriter, port_, {reset, "i", "3"});
    EXPECT_NE(std::string::npos, s.err.find("wrongValue")) << s.out << s.err;
    s = snmp_tool(dir_, "snmpset", kWriter, port_, {reset, "s", "reset"});
    EXPECT_NE(std::string::npos, s.err.find("wrongType")) << s.out << s.err;
    s = snmp_tool(dir_, "snmpset", kWriter, port_, {col(oids::kState), "i", "1"});
    EXPECT_NE(0, s.status) << s.out << s.err;
    EXPECT_EQ("INTEGER: 3", get(col(oids::kState)));
    EXPECT_EQ(0u, count(trapd_.notifications(), oids::kAlertResolved));

    s = snmp_tool(dir_, "snmpset", kWriter, port_, {reset, "i", "2"});
    EXPECT_EQ(0, s.status) << s.out << s.err;
    ASSERT_TRUE(wait_traps(oids::kAlertResolved, 1)) << trapd_.log();
    EXPECT_EQ("INTEGER: 1", get(col(oids::kState)));
    EXPECT_EQ("INTEGER: 1", get(reset));
}

/* A pack with one timer-reset monitor: event 200 of App in Application -> error for seconds. */
std::string timer_pack(unsigned seconds)
{
    const std::string expr =
        "<And><Expression><SimpleExpression><ValueExpression><XPathQuery>PublisherName"
        "</XPathQuery></ValueExpression><Operator>Equal</Operator><ValueExpression><Value>App"
        "</Value></ValueExpression></SimpleExpression></Expression><Expression>"
        "<SimpleExpression><ValueExpression><XPathQuery Type=\"UnsignedInteger\">"
        "EventDisplayNumber</XPathQuery></ValueExpression><Operator>Equal</Operator>"
        "<ValueExpression><Value Type=\"UnsignedInteger\">200</Value></ValueExpression>"
        "</SimpleExpression></Expression></And>";
    return "<ManagementPack ContentReadable=\"true\" SchemaVersion=\"2.0\">\n<Manifest><Identity>"
           "<ID>Test.Timer</ID><Version>1.0.0.0</Version></Identity><References><Reference "
           "Alias=\"Windows\"><ID>Microsoft.Windows.Library</ID><Version>6.0.0.0</Version>"
           "</Reference></References></Manifest>\n<Monitoring><Monitors>\n"
           "<UnitMonitor ID=\"Test.Timer\" Accessibility=\"Public\" Enabled=\"true\" "
           "Target=\"Windows!Microsoft.Windows.Computer\" Remotable=\"true\" Priority=\"Normal\" "
           "TypeID=\"Windows!Microsoft.Windows.SingleEventLogTimer2StateMonitorType\" "
           "ConfirmDelivery=\"false\">\n<Category>AvailabilityHealth</Category>\n"
           "<AlertSettings AlertMessage=\"Test.Timer.Alert\"><AlertOnState>Error</AlertOnState>"
           "<AutoResolve>true</AutoResolve><AlertPriority>Normal</AlertPriority><AlertSeverity>"
           "MatchMonitorHealth</AlertSeverity></AlertSettings>\n<OperationalStates>"
           "<OperationalState ID=\"Bad\" MonitorTypeStateID=\"EventRaised\" "
           "HealthState=\"Error\"/><OperationalState ID=\"Timer\" "
           "MonitorTypeStateID=\"TimerEventRaised\" HealthState=\"Success\"/>"
           "</OperationalStates>\n<Configuration><ComputerName>.</ComputerName><LogName>"
           "Application</LogName><Expression>" +
           expr + "</Expression><TimerWaitInSeconds>" + std::to_string(seconds) +
           "</TimerWaitInSeconds></Configuration>\n</UnitMonitor>\n</Monitors></Monitoring>\n"
           "</ManagementPack>\n";
}

TEST_F(ResetTest, TimerMonitorTurnsHealthyWithNoEventAlsoAcrossARestart)
{
    const std::string pack = dir_ + "/timer-pack.xml";
    mdmtest::write_file(pack, timer_pack(2));
    ASSERT_EQ("", start("pack " + pack + "\n"));

    // 1. Live: error, then healthy by the timer alone.
    agent_->append(mdmtest::event_xml("App", 200, 1, "DM01", iso_now(), "Application"));
    ASSERT_TRUE(wait_traps(oids::kAlertRaised, 1)) << trapd_.log() << agent_->log();
    ASSERT_TRUE(wait_traps(oids::kAlertResolved, 1)) << trapd_.log() << agent_->log();
    EXPECT_EQ("INTEGER: 1", get(col(oids::kState)));

    // 2. The timer comes due while the agent is stopped: it fires when the agent starts.
    agent_->append(mdmtest::event_xml("App", 200, 2, "DM01", iso_now(), "Application"));
    ASSERT_TRUE(wait_traps(oids::kAlertRaised, 2)) << trapd_.log();
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());
    EXPECT_EQ(1u, count(trapd_.notifications(), oids::kAlertResolved));
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    ASSERT_EQ("", agent_->start());
    ASSERT_TRUE(wait_traps(oids::kAlertResolved, 2)) << trapd_.log() << agent_->log();
    EXPECT_EQ("INTEGER: 1", get(col(oids::kState)));
}

} // namespace

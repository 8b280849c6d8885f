// test_snmp_agent.cc - `mdmhealth run` over SNMP, end to end.
//
// What is real here: everything. Each test starts the real mdmhealth binary
// (`mdmhealth run -f`) following an Event XML file it appends to, and real
// Net-SNMP programs from the Debian packages snmptrapd, snmpd and snmp:
// snmptrapd receives the traps and informs (v2c and SNMPv3 USM with SHA-256 /
// AES, access-controlled by authCommunity / authUser), snmpd is the AgentX
// master, and snmpget / snmpwalk query the agent (v2c and v3 authPriv). All
// of it on 127.0.0.1, on ports chosen free at run time (suites run in
// parallel), with every Net-SNMP program isolated in the test's scratch
// directory (SNMPCONFPATH, SNMP_PERSISTENT_DIR). Waits are polls with a
// deadline, never fixed sleeps, and every process a test starts is stopped
// when it ends, also on failure (fixture TearDown and RAII, process groups).
// A test is skipped only when a Net-SNMP program is not installed.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/snmp/mdm_snmp.h"
#include "agent/common/mdm_version.h"
#include "config_snmp_cases.h"
#include "snmp_fixtures.h"
#include "test_util.h"

using snmptest::get_value;
using snmptest::MasterAgent;
using snmptest::MdmAgent;
using snmptest::Notification;
using snmptest::snmp_tool;
using snmptest::TrapReceiver;
using snmptest::wait_until;
namespace oids = snmptest::oids;

namespace
{

using namespace snmptest::enrollment;

// DateAndTime of the event times, as snmptrapd prints an OCTET STRING without the MIB.
const std::string kFailureHex = "07 EA 0B 14 09 0F 02 03 2B 00 00";
const std::string kSuccessHex = "07 EA 0B 14 09 14 00 00 2B 00 00";

const std::string kSysUpTime = ".1.3.6.1.2.1.1.3.0";
const std::string kSnmpTrapOid = ".1.3.6.1.6.3.1.1.4.1.0";

std::string col(int column)
{
    return oids::monitor_column(column, 1);
}

/* True when the notification's security fields include who ("community X" / "user X"). */
bool from(const Notification &n, const std::string &who)
{
    std::string fields = n.security + ",";
    size_t start = 0, comma;
    while ((comma = fields.find(',', start)) != std::string::npos) {
        std::string f = fields.substr(start, comma - start);
        while (!f.empty() && f.front() == ' ')
            f.erase(0, 1);
        if (f == who)
            return true;
        start = comma + 1;
    }
    return false;
}

size_t count(const std::vector<Notification> &ns, const std::string &who,
             const std::string &trap_oid, const std::string &pdu = "")
{
    size_t n = 0;
    for (const auto &x : ns)
        if (from(x, who) && x.trap_oid == trap_oid && (pdu.empty() || x.pdu == pdu))
            n++;
    return n;
}

const Notification *find(const std::vector<Notification> &ns, const std::string &who,
                         const std::string &trap_oid)
{
    for (const auto &x : ns)
        if (from(x, who) && x.trap_oid == trap_oid)
            return &x;
    return nullptr;
}

std::string dump(const std::vector<Notification> &ns)
{
    std::string out;
    for (const auto &n : ns)
        out += n.raw + "\n";
    return out.empty() ? "(no notifications)\n" : out;
}

/* The varbinds of mdmAlertRaised / mdmAlertResolved, in MDM-HEALTH-MIB's order. */
void expect_alert_varbinds(const Notification &n, const std::string &trap_oid, int state,
                           unsigned event_id, const std::string &record,
                           const std::string &description, const std::string &time_hex)
{
    SCOPED_TRACE(n.raw);
    ASSERT_GE(n.vars.size(), 2u);
    EXPECT_EQ(kSysUpTime, n.vars[0].first);
    EXPECT_EQ(kSnmpTrapOid, n.vars[1].first);
    EXPECT_EQ(trap_oid, n.trap_oid);
    EXPECT_EQ(kMonitorId, n.value(col(oids::kName)));
    EXPECT_EQ(kComputer, n.value(col(oids::kTarget)));
    EXPECT_EQ("INTEGER: " + std::to_string(state), n.typed(col(oids::kState)));
    EXPECT_EQ("Gauge32: " + std::to_string(event_id), n.typed(col(oids::kLastEventId)));
    EXPECT_EQ(record, n.value(col(oids::kLastRecordId)));
    EXPECT_EQ(description, n.value(col(oids::kLastDescription)));
    EXPECT_EQ(time_hex, n.value(col(oids::kLastChange)));
    EXPECT_EQ("INTEGER: 3", n.typed(col(oids::kSeverity))); // critical(3)
    EXPECT_EQ("INTEGER: 1", n.typed(col(oids::kPriority))); // normal(1)
}

class SnmpAgentTest : public snmptest::AgentTest
{
  protected:
    void SetUp() override
    {
        prepare("snmp", {"snmptrapd", "snmpd", "snmpget", "snmpwalk"});
    }

    /* snmptrapd accepting v2c notifications with the communities traps, informs and traps2. */
    std::string start_v2c_trapd(const std::string &mib_dirs = "")
    {
        return trapd_.start(dir_ + "/trapd",
                            "authCommunity log,execute,net traps\n"
                            "authCommunity log,execute,net informs\n"
                            "authCommunity log,execute,net traps2\n",
                            mib_dirs);
    }

    /*
     * Starts mdmhealth with the lines lines(port) where port is a free UDP
     * port for its agentaddress, retrying with another when it was taken.
     */
    std::string start_agent(const std::function<std::string(int)> &lines)
    {
        std::string err;
        for (int attempt = 0; attempt < 5; attempt++) {
            agent_port_ = snmptest::free_udp_port();
            agent_->configure(lines(agent_port_));
            err = agent_->start();
            if (err.empty() || err.find("cannot listen") == std::string::npos)
                return err;
        }
        return err;
    }

    /* snmpget -v2c -c secret against our agent: the "TYPE: value" of oid, or "". */
    std::string get_v2c(const std::string &oid)
    {
        return get_value(snmp_tool(dir_, "snmpget", {"-v2c", "-c", "secret"}, agent_port_, {oid}),
                         oid);
    }

    /* Polls until get_v2c(oid) == want; returns the last value. */
    std::string wait_get(const std::string &oid, const std::string &want, int timeout_ms = 10000)
    {
        std::string last;
        wait_until(
            [&] {
                last = get_v2c(oid);
                return last == want;
            },
            timeout_ms, 100);
        return last;
    }

    int agent_port_ = 0;
};

// --- 1. v2c trap and v2c inform ------------------------------------------------

TEST_F(SnmpAgentTest, V2cTrapAndInformCarryEachAlertOncePerDestination)
{
    ASSERT_EQ("", start_v2c_trapd());
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    ASSERT_EQ("", start_agent([&](int port) {
                  return "agentaddress udp:127.0.0.1:" + std::to_string(port) +
                         "\nrocommunity secret 127.0.0.1\n"
                         "trap2sink " +
                         sink +
                         " traps\n"
                         "informsink " +
                         sink + " informs\n";
              }));

    agent_->append(failure_event(201));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertRaised) >= 1 &&
               count(ns, "community informs", oids::kAlertRaised) >= 1;
    })) << dump(trapd_.notifications());

    // The repeated 1003 is evaluated (events read 2) and sends nothing.
    agent_->append(failure_event(202));
    EXPECT_EQ("Counter32: 2", wait_get(oids::agent_scalar(oids::kEventsRead), "Counter32: 2"));
    EXPECT_EQ("Counter32: 2", get_v2c(oids::agent_scalar(oids::kNotificationsSent)));
    EXPECT_EQ("Gauge32: 0", get_v2c(oids::agent_scalar(oids::kNotificationsPending)));
    EXPECT_EQ("Counter32: 1", get_v2c(col(oids::kRepeatCount)));

    agent_->append(success_event(203));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertResolved) >= 1 &&
               count(ns, "community informs", oids::kAlertResolved) >= 1;
    })) << dump(trapd_.notifications());
    // The inform is acknowledged before it counts as sent.
    EXPECT_EQ("Counter32: 4",
              wait_get(oids::agent_scalar(oids::kNotificationsSent), "Counter32: 4"));
    EXPECT_EQ("Gauge32: 0", get_v2c(oids::agent_scalar(oids::kNotificationsPending)));
    EXPECT_EQ("Counter32: 0", get_v2c(oids::agent_scalar(oids::kNotificationsFailed)));
    EXPECT_EQ("Counter32: 3", get_v2c(oids::agent_scalar(oids::kEventsMatched)));
    EXPECT_EQ(0, agent_->stop()) << "SIGTERM must stop the agent cleanly";

    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    EXPECT_EQ(4u, ns.size());
    EXPECT_EQ(1u, count(ns, "community traps", oids::kAlertRaised, "TRAP2"));
    EXPECT_EQ(1u, count(ns, "community traps", oids::kAlertResolved, "TRAP2"));
    EXPECT_EQ(1u, count(ns, "community informs", oids::kAlertRaised, "INFORM"));
    EXPECT_EQ(1u, count(ns, "community informs", oids::kAlertResolved, "INFORM"));
    for (const char *who : {"community traps", "community informs"}) {
        const Notification *raised = find(ns, who, oids::kAlertRaised);
        const Notification *resolved = find(ns, who, oids::kAlertResolved);
        ASSERT_NE(nullptr, raised) << who;
        ASSERT_NE(nullptr, resolved) << who;
        expect_alert_varbinds(*raised, oids::kAlertRaised, 3, 1003, "201", kFailure, kFailureHex);
        expect_alert_varbinds(*resolved, oids::kAlertResolved, 1, 1004, "203", kSuccess,
                              kSuccessHex);
    }
    // Raised comes before resolved for each destination.
    size_t first_resolved = ns.size(), last_raised = 0;
    for (size_t i = 0; i < ns.size(); i++) {
        if (ns[i].trap_oid == oids::kAlertRaised)
            last_raised = i;
        else if (first_resolved == ns.size())
            first_resolved = i;
    }
    EXPECT_LT(last_raised, first_resolved);
}

// --- 1b. names: snmptrapd decodes our notifications with MDM-HEALTH-MIB ---------

TEST_F(SnmpAgentTest, NotificationsDecodeByNameWithTheMib)
{
    std::string why;
    std::string base = snmptest::mib_base_dir(&why);
    ASSERT_FALSE(base.empty()) << why;
    const std::string mibs = base + ":" + MDM_SOURCE_DIR + "/mib";
    ASSERT_EQ("", start_v2c_trapd(mibs));
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    ASSERT_EQ("", start_agent([&](int port) {
                  return "agentaddress udp:127.0.0.1:" + std::to_string(port) +
                         "\nrocommunity secret 127.0.0.1\ntrap2sink " + sink + " traps\n";
              }));

    agent_->append(failure_event(201));
    agent_->append(success_event(202));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", "MDM-HEALTH-MIB::mdmAlertResolved") >= 1;
    })) << dump(trapd_.notifications());
    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    ASSERT_EQ(2u, ns.size());
    const Notification &raised = ns[0];
    EXPECT_EQ("MDM-HEALTH-MIB::mdmAlertRaised", raised.trap_oid);
    EXPECT_EQ("SNMPv2-MIB::sysUpTime.0", raised.vars[0].first);
    EXPECT_EQ(kMonitorId, raised.value("MDM-HEALTH-MIB::mdmMonitorName.1"));
    EXPECT_EQ(kComputer, raised.value("MDM-HEALTH-MIB::mdmMonitorTarget.1"));
    EXPECT_EQ("INTEGER: error(3)", raised.typed("MDM-HEALTH-MIB::mdmMonitorState.1"));
    EXPECT_EQ("Gauge32: 1003", raised.typed("MDM-HEALTH-MIB::mdmMonitorLastEventId.1"));
    EXPECT_EQ("201", raised.value("MDM-HEALTH-MIB::mdmMonitorLastRecordId.1"));
    EXPECT_EQ(kFailure, raised.value("MDM-HEALTH-MIB::mdmMonitorLastDescription.1"));
    // DateAndTime's DISPLAY-HINT applies: the event's time, UTC.
    EXPECT_EQ("STRING: 2026-11-20,9:15:2.3,+0:0",
              raised.typed("MDM-HEALTH-MIB::mdmMonitorLastChange.1"));
    EXPECT_EQ("INTEGER: critical(3)", raised.typed("MDM-HEALTH-MIB::mdmMonitorAlertSeverity.1"));
    EXPECT_EQ("INTEGER: normal(1)", raised.typed("MDM-HEALTH-MIB::mdmMonitorAlertPriority.1"));
    const Notification &resolved = ns[1];
    EXPECT_EQ("MDM-HEALTH-MIB::mdmAlertResolved", resolved.trap_oid);
    EXPECT_EQ("INTEGER: healthy(1)", resolved.typed("MDM-HEALTH-MIB::mdmMonitorState.1"));
    EXPECT_EQ("Gauge32: 1004", resolved.typed("MDM-HEALTH-MIB::mdmMonitorLastEventId.1"));

    // The MIB's names resolve to the OIDs the agent answers.
    auto r = snmp_tool(dir_, "snmpget", {"-v2c", "-c", "secret"}, agent_port_,
                       {"MDM-HEALTH-MIB::mdmMonitorState.1", "MDM-HEALTH-MIB::mdmEventsRead.0",
                        "MDM-HEALTH-MIB::mdmMonitorTarget.1"},
                       {"-M", "+" + mibs, "-m", "MDM-HEALTH-MIB"});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    EXPECT_EQ("INTEGER: healthy(1)", get_value(r, col(oids::kState))) << r.out;
    EXPECT_EQ("Counter32: 2 events", get_value(r, oids::agent_scalar(oids::kEventsRead)))
        << r.out; // with the MIB's UNITS
    EXPECT_EQ("STRING: " + kComputer, get_value(r, col(oids::kTarget))) << r.out;
}

// --- 2. SNMPv3 authPriv inform (and trap) ----------------------------------------

TEST_F(SnmpAgentTest, V3AuthPrivInformAndTrapAreDelivered)
{
    // Informs: snmptrapd is the authoritative engine, so its user is localized to its own
    // engine ID (createUser without -e) and mdmhealth discovers that ID. Traps: mdmhealth is
    // authoritative; the trapsess line's -e names the engine ID the receiver's user has.
    // "priv" makes snmptrapd refuse anything below authPriv.
    ASSERT_EQ("", trapd_.start(dir_ + "/trapd",
                               "createUser trapuser SHA-256 authpass123 AES privpass123\n"
                               "authUser log,execute trapuser priv\n"
                               "createUser -e 0x8000000001020304 trapuser2 SHA-256 authpass789 "
                               "AES privpass789\n"
                               "authUser log,execute trapuser2 priv\n"));
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    agent_->configure("trapsess -Ci -v 3 -u trapuser -l authPriv -a SHA-256 -A authpass123 "
                      "-x AES -X privpass123 " +
                      sink +
                      "\n"
                      "trapsess -v 3 -e 0x8000000001020304 -u trapuser2 -l authPriv -a SHA-256 "
                      "-A authpass789 -x AES -X privpass789 " +
                      sink + "\n");
    ASSERT_EQ("", agent_->start());

    agent_->append(failure_event(201));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "user trapuser", oids::kAlertRaised) >= 1 &&
               count(ns, "user trapuser2", oids::kAlertRaised) >= 1;
    })) << dump(trapd_.notifications());
    agent_->append(success_event(202));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "user trapuser", oids::kAlertResolved) >= 1 &&
               count(ns, "user trapuser2", oids::kAlertResolved) >= 1;
    })) << dump(trapd_.notifications());
    // Saved (acknowledged inform) before it is stopped.
    ASSERT_TRUE(wait_until(
        [&] {
            std::string st = snmptest::read_text(agent_->state_file());
            return snmptest::state_file_notices(st) == 0 && snmptest::state_file_health(st) == "1";
        },
        10000));
    EXPECT_EQ(0, agent_->stop());

    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    EXPECT_EQ(4u, ns.size());
    EXPECT_EQ(1u, count(ns, "user trapuser", oids::kAlertRaised, "INFORM"));
    EXPECT_EQ(1u, count(ns, "user trapuser", oids::kAlertResolved, "INFORM"));
    EXPECT_EQ(1u, count(ns, "user trapuser2", oids::kAlertRaised, "TRAP2"));
    EXPECT_EQ(1u, count(ns, "user trapuser2", oids::kAlertResolved, "TRAP2"));
    const Notification *inform = find(ns, "user trapuser", oids::kAlertRaised);
    ASSERT_NE(nullptr, inform);
    EXPECT_NE(std::string::npos, inform->security.find("SNMP v3")) << inform->security;
    expect_alert_varbinds(*inform, oids::kAlertRaised, 3, 1003, "201", kFailure, kFailureHex);

    // Secrets never reach the log or the state directory.
    std::string log = agent_->log() + snmptest::read_text(agent_->state_file());
    for (const char *secret : {"authpass123", "privpass123", "authpass789", "privpass789"})
        EXPECT_EQ(std::string::npos, log.find(secret)) << secret;
}

// --- 3. snmpget / snmpwalk, v2c and v3, and access control -------------------------

class SnmpAgentAccessTest : public SnmpAgentTest
{
  protected:
    std::vector<std::string> v3(const std::string &level = "authPriv",
                                const std::string &user = "getuser",
                                const std::string &auth = "authpass456")
    {
        std::vector<std::string> a = {"-v3", "-u", user, "-l", level, "-a", "SHA-256", "-A", auth};
        if (level == "authPriv")
            a.insert(a.end(), {"-x", "AES", "-X", "privpass456"});
        return a;
    }

    std::string start_answering_agent()
    {
        return start_agent([](int port) {
            return "agentaddress udp:127.0.0.1:" + std::to_string(port) +
                   "\nrocommunity secret 127.0.0.1\n"
                   "createUser getuser SHA-256 authpass456 AES privpass456\n"
                   "rouser getuser authPriv\n";
        });
    }
};

TEST_F(SnmpAgentAccessTest, GetAndWalkAnswerOverV2cAndV3)
{
    ASSERT_EQ("", start_answering_agent());
    agent_->append(failure_event(201));
    agent_->append(failure_event(202));
    EXPECT_EQ("INTEGER: 3", wait_get(col(oids::kState), "INTEGER: 3"));

    const std::vector<std::string> objects = {col(oids::kState),
                                              oids::agent_scalar(oids::kEventsRead),
                                              col(oids::kTarget), col(oids::kLastRecordId)};
    EXPECT_EQ("Counter32: 2", wait_get(oids::agent_scalar(oids::kEventsRead), "Counter32: 2"));
    for (const auto &auth : {std::vector<std::string>{"-v2c", "-c", "secret"}, v3()}) {
        SCOPED_TRACE(auth[0]);
        auto r = snmp_tool(dir_, "snmpget", auth, agent_port_, objects);
        ASSERT_EQ(0, r.status) << r.out << r.err;
        EXPECT_EQ("INTEGER: 3", get_value(r, col(oids::kState))) << r.out;
        EXPECT_EQ("Counter32: 2", get_value(r, oids::agent_scalar(oids::kEventsRead))) << r.out;
        EXPECT_EQ("STRING: \"" + kComputer + "\"", get_value(r, col(oids::kTarget))) << r.out;
        EXPECT_EQ("STRING: \"202\"", get_value(r, col(oids::kLastRecordId))) << r.out;

        // GETNEXT through the whole subtree: 15 agent scalars, 14 columns of row 1, in order
        // (snmpwalk fails on an OID that does not increase). Past the last one the embedded
        // agent has nothing more: endOfMibView, which snmpwalk prints as "No more variables".
        auto w = snmp_tool(dir_, "snmpwalk", auth, agent_port_, {oids::kRoot});
        ASSERT_EQ(0, w.status) << w.out << w.err;
        std::vector<std::string> lines;
        size_t p = 0, nl;
        while ((nl = w.out.find('\n', p)) != std::string::npos) {
            std::string line = w.out.substr(p, nl - p);
            if (line.find(" = No more variables left in this MIB View") == std::string::npos)
                lines.push_back(line);
            p = nl + 1;
        }
        ASSERT_EQ(29u, lines.size()) << w.out;
        // mdmAgentVersion: the name and the version, as the MIB describes it.
        EXPECT_EQ(0u, lines[0].find(oids::agent_scalar(1) + " = STRING: \"mdmhealth " +
                                    std::string(MDM_VERSION) + "\""))
            << lines[0];
        EXPECT_EQ(0u, lines[12].find(oids::agent_scalar(13) + " = Counter32: ")) << lines[12];
        // The pack: the built-in one, one monitor evaluated, none skipped.
        EXPECT_EQ(0u,
                  lines[13].find(oids::agent_scalar(oids::kPackMonitorsLoaded) + " = Gauge32: 1"))
            << lines[13];
        EXPECT_EQ(0u,
                  lines[14].find(oids::agent_scalar(oids::kPackMonitorsSkipped) + " = Gauge32: 0"))
            << lines[14];
        EXPECT_EQ(0u, lines[15].find(col(oids::kName) + " = STRING: \"" + kMonitorId + "\""))
            << lines[15];
        EXPECT_EQ(0u, lines[26].find(col(oids::kPriority) + " = INTEGER: 1")) << lines[26];
        EXPECT_EQ(0u, lines[27].find(col(oids::kReset) + " = INTEGER: 1")) << lines[27];
        EXPECT_EQ(lines[28],
                  col(oids::kType) +
                      " = STRING: \"Windows!Microsoft.Windows.2SingleEventLog2StateMonitorType\"")
            << lines[28];
    }
}

TEST_F(SnmpAgentAccessTest, WrongCommunityAndUnknownOrWeakUsersGetNoValue)
{
    ASSERT_EQ("", start_answering_agent());
    agent_->append(failure_event(201));
    EXPECT_EQ("INTEGER: 3", wait_get(col(oids::kState), "INTEGER: 3"));

    struct Case {
        const char *what;
        std::vector<std::string> auth;
    } cases[] = {
        {"wrong community", {"-v2c", "-c", "public"}},
        {"unknown v3 user", v3("authPriv", "nosuchuser")},
        {"wrong v3 passphrase", v3("authPriv", "getuser", "wrongpass000")},
        {"v3 below authPriv", v3("authNoPriv")},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.what);
        auto r =
            snmp_tool(dir_, "snmpget", c.auth, agent_port_, {col(oids::kState)}, {"-t", "0.5"});
        EXPECT_NE(0, r.status) << r.out << r.err;
        EXPECT_EQ("", get_value(r, col(oids::kState))) << r.out;
        EXPECT_EQ(std::string::npos, r.out.find("INTEGER")) << r.out;
    }
    // The agent itself still answers the right credentials afterwards.
    EXPECT_EQ("INTEGER: 3", get_v2c(col(oids::kState)));
}

// What docs/configuration.md says about access: Net-SNMP's rocommunity grants SNMPv1 and
// SNMPv2c; `rocommunity -v 2c` or com2sec/group/view/access lines restrict it to v2c.
TEST_F(SnmpAgentTest, RocommunityAnswersV1TooUnlessRestrictedToV2c)
{
    const std::string object = oids::agent_scalar(1);
    struct Case {
        const char *access;
        bool v1;
    } cases[] = {
        {"rocommunity secret 127.0.0.1\n", true},
        {"rocommunity -v 2c secret 127.0.0.1\n", false},
        {"com2sec ro127 127.0.0.1 secret\n"
         "group g2c v2c ro127\n"
         "view all included .1\n"
         "access g2c \"\" v2c noauth exact all none none\n",
         false},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.access);
        ASSERT_EQ("", start_agent([&](int port) {
                      return "agentaddress udp:127.0.0.1:" + std::to_string(port) + "\n" + c.access;
                  }));
        auto v2c = snmp_tool(dir_, "snmpget", {"-v2c", "-c", "secret"}, agent_port_, {object});
        EXPECT_EQ(0u, get_value(v2c, object).find("STRING: ")) << v2c.out << v2c.err;
        auto v1 = snmp_tool(dir_, "snmpget", {"-v1", "-c", "secret"}, agent_port_, {object},
                            {"-t", "0.5"});
        if (c.v1)
            EXPECT_EQ(0u, get_value(v1, object).find("STRING: ")) << v1.out << v1.err;
        else
            EXPECT_EQ("", get_value(v1, object)) << v1.out << v1.err;
        EXPECT_EQ(0, agent_->stop());
    }
}

// Unknown SNMPv3 users and wrong keys are answered with RFC 3414 Report PDUs
// (usmStatsUnknownUserNames, usmStatsWrongDigests): normal USM behaviour, which the
// manager shows as its error; no MIB value is disclosed (docs/configuration.md).
TEST_F(SnmpAgentAccessTest, UnknownV3UsersAndWrongKeysGetReports)
{
    ASSERT_EQ("", start_answering_agent());
    const std::string object = oids::agent_scalar(1);
    auto unknown = snmp_tool(dir_, "snmpget", v3("authPriv", "nosuchuser"), agent_port_, {object},
                             {"-t", "0.5"});
    EXPECT_NE(0, unknown.status);
    EXPECT_NE(std::string::npos, unknown.err.find("Unknown user name")) << unknown.err;
    auto wrong = snmp_tool(dir_, "snmpget", v3("authPriv", "getuser", "wrongpass000"), agent_port_,
                           {object}, {"-t", "0.5"});
    EXPECT_NE(0, wrong.status);
    EXPECT_NE(std::string::npos, wrong.err.find("Authentication failure")) << wrong.err;
    EXPECT_EQ("", get_value(wrong, object)) << wrong.out;
}

// --- 4. AgentX subagent of a real snmpd ---------------------------------------------

TEST_F(SnmpAgentTest, AgentXSubagentAnswersThroughSnmpdAndSurvivesItsRestart)
{
    ASSERT_EQ("", master_.start(dir_ + "/snmpd", "rocommunity public 127.0.0.1\n"));
    agent_->configure("agentXSocket tcp:127.0.0.1:" + std::to_string(master_.agentx_port()) +
                      "\nagentxPingInterval 1\n");
    ASSERT_EQ("", agent_->start());
    agent_->append(failure_event(201));

    auto get_via_snmpd = [&] {
        auto r =
            snmp_tool(dir_, "snmpget", {"-v2c", "-c", "public"}, master_.udp_port(),
                      {col(oids::kState), oids::agent_scalar(oids::kEventsRead)}, {"-t", "0.5"});
        return get_value(r, col(oids::kState)) + " / " +
               get_value(r, oids::agent_scalar(oids::kEventsRead));
    };
    std::string last;
    EXPECT_TRUE(wait_until(
        [&] {
            last = get_via_snmpd();
            return last == "INTEGER: 3 / Counter32: 1";
        },
        10000, 100))
        << last;

    // snmpd goes away and comes back on the same ports: the subagent registers again.
    int udp = master_.udp_port(), agentx = master_.agentx_port();
    EXPECT_EQ(0, master_.stop());
    ASSERT_TRUE(agent_->process().running()) << "the subagent must outlive its master";
    ASSERT_EQ("", master_.start(dir_ + "/snmpd", "rocommunity public 127.0.0.1\n", udp, agentx));
    EXPECT_TRUE(wait_until(
        [&] {
            last = get_via_snmpd();
            return last == "INTEGER: 3 / Counter32: 1";
        },
        15000, 200))
        << last;
    // Events keep flowing to the MIB while registered again.
    agent_->append(success_event(202));
    EXPECT_TRUE(wait_until(
        [&] {
            last = get_via_snmpd();
            return last == "INTEGER: 1 / Counter32: 2";
        },
        10000, 100))
        << last;
    EXPECT_EQ(0, agent_->stop());
}

// --- 5. kill -9 between events ------------------------------------------------------

TEST_F(SnmpAgentTest, KillNineBetweenEventsRaisesNoDuplicateOnRestart)
{
    ASSERT_EQ("", start_v2c_trapd());
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    agent_->configure("trap2sink " + sink + " traps\ninformsink " + sink + " informs\n");
    ASSERT_EQ("", agent_->start());

    agent_->append(failure_event(301));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertRaised) >= 1 &&
               count(ns, "community informs", oids::kAlertRaised) >= 1;
    })) << dump(trapd_.notifications());
    // Once both destinations are done the saved outbox is empty: the window in which a kill
    // would legitimately resend a notice (sent, not yet saved as sent) is over.
    ASSERT_TRUE(wait_until(
        [&] {
            std::string st = snmptest::read_text(agent_->state_file());
            return snmptest::state_file_health(st) == "3" && snmptest::state_file_notices(st) == 0;
        },
        10000))
        << snmptest::read_text(agent_->state_file());

    agent_->process().kill_hard();
    EXPECT_EQ(-SIGKILL, agent_->process().exit_status());
    agent_->append(success_event(302)); // written while the agent is down
    ASSERT_EQ("", agent_->start());
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertResolved) >= 1 &&
               count(ns, "community informs", oids::kAlertResolved) >= 1;
    })) << dump(trapd_.notifications());
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());

    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    EXPECT_EQ(4u, ns.size());
    for (const char *who : {"community traps", "community informs"}) {
        EXPECT_EQ(1u, count(ns, who, oids::kAlertRaised)) << who;
        EXPECT_EQ(1u, count(ns, who, oids::kAlertResolved)) << who;
        const Notification *resolved = find(ns, who, oids::kAlertResolved);
        ASSERT_NE(nullptr, resolved);
        expect_alert_varbinds(*resolved, oids::kAlertResolved, 1, 1004, "302", kSuccess,
                              kSuccessHex);
    }
    std::string state = snmptest::read_text(agent_->state_file());
    EXPECT_EQ("1", snmptest::state_file_health(state)) << state; // healthy
    EXPECT_NE(std::string::npos, agent_->log().find("resuming at")) << agent_->log();
}

TEST_F(SnmpAgentTest, KillNineWithAnUnacknowledgedInformDeliversItOnceAfterRestart)
{
    // The manager's port, with no manager yet: the inform cannot be acknowledged.
    const int port = snmptest::free_udp_port();
    agent_->configure("informsink 127.0.0.1:" + std::to_string(port) + " informs\n");
    ASSERT_EQ("", agent_->start());

    agent_->append(failure_event(401));
    // Durably queued: the state file holds the error state and the notice.
    ASSERT_TRUE(wait_until(
        [&] {
            std::string st = snmptest::read_text(agent_->state_file());
            return snmptest::state_file_health(st) == "3" && snmptest::state_file_notices(st) == 1;
        },
        10000))
        << snmptest::read_text(agent_->state_file());
    agent_->process().kill_hard();

    // The manager comes back on its port, then the agent: the queued inform goes out.
    ASSERT_EQ("",
              trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net informs\n", "", port));
    ASSERT_EQ("", agent_->start());
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community informs", oids::kAlertRaised) >= 1;
    })) << dump(trapd_.notifications());
    ASSERT_TRUE(queue_drained()) << snmptest::read_text(agent_->state_file());
    EXPECT_EQ(0, agent_->stop());
    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    ASSERT_EQ(1u, ns.size());
    EXPECT_EQ("INFORM", ns[0].pdu);
    expect_alert_varbinds(ns[0], oids::kAlertRaised, 3, 1003, "401", kFailure, kFailureHex);
}

TEST_F(SnmpAgentTest, InformsToADownManagerAreRetriedAndDeliveredInOrderWhenItReturns)
{
    // -t 1 -r 0: the unanswered inform fails after 1 s; the destination then backs off 5 s.
    const int port = snmptest::free_udp_port();
    ASSERT_EQ("", start_agent([&](int agent_port) {
                  return "agentaddress udp:127.0.0.1:" + std::to_string(agent_port) +
                         "\nrocommunity secret 127.0.0.1\n"
                         "trapsess -Ci -t 1 -r 0 -v 2c -c informs 127.0.0.1:" +
                         std::to_string(port) + "\n";
              }));
    agent_->append(failure_event(601));
    agent_->append(success_event(602));
    // Both notices wait in the outbox; the first attempt failed.
    EXPECT_EQ("Counter32: 1",
              wait_get(oids::agent_scalar(oids::kNotificationsFailed), "Counter32: 1"));
    EXPECT_EQ("Gauge32: 2", get_v2c(oids::agent_scalar(oids::kNotificationsPending)));
    EXPECT_EQ("Counter32: 0", get_v2c(oids::agent_scalar(oids::kNotificationsSent)));
    EXPECT_EQ(2u, snmptest::state_file_notices(snmptest::read_text(agent_->state_file())));

    ASSERT_EQ("",
              trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net informs\n", "", port));
    ASSERT_TRUE(trapd_.wait_for(
        [](const std::vector<Notification> &ns) {
            return count(ns, "community informs", oids::kAlertResolved) >= 1;
        },
        15000))
        << dump(trapd_.notifications());
    EXPECT_EQ("Gauge32: 0",
              wait_get(oids::agent_scalar(oids::kNotificationsPending), "Gauge32: 0"));
    EXPECT_EQ("Counter32: 2", get_v2c(oids::agent_scalar(oids::kNotificationsSent)));
    EXPECT_EQ(0, agent_->stop());
    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    ASSERT_EQ(2u, ns.size());
    expect_alert_varbinds(ns[0], oids::kAlertRaised, 3, 1003, "601", kFailure, kFailureHex);
    expect_alert_varbinds(ns[1], oids::kAlertResolved, 1, 1004, "602", kSuccess, kSuccessHex);
    EXPECT_EQ(0u, snmptest::state_file_notices(snmptest::read_text(agent_->state_file())));
}

// --- 5b. the followed file: rotated while stopped, hostile content ------------------

TEST_F(SnmpAgentTest, RotationWhileStoppedLosesNoEventAndReplaysNone)
{
    ASSERT_EQ("", start_v2c_trapd());
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    agent_->configure("trap2sink " + sink + " traps\n");
    ASSERT_EQ("", agent_->start());
    agent_->append(failure_event(401));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertRaised) >= 1;
    })) << dump(trapd_.notifications());
    ASSERT_TRUE(wait_until(
        [&] {
            std::string st = snmptest::read_text(agent_->state_file());
            return snmptest::state_file_health(st) == "3" && snmptest::state_file_notices(st) == 0;
        },
        10000));
    EXPECT_EQ(0, agent_->stop());

    // While the agent is down the log gets its last event, is rotated, and a
    // new log starts as long as the old one was at the saved offset.
    const std::string events = agent_->events_path();
    agent_->append(success_event(402));
    ASSERT_EQ(0, rename(events.c_str(), (events + ".1").c_str()));
    mdmtest::write_file(events, failure_event(403));
    ASSERT_EQ("", agent_->start());
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertRaised) >= 2 &&
               count(ns, "community traps", oids::kAlertResolved) >= 1;
    })) << dump(trapd_.notifications());
    EXPECT_EQ(0, agent_->stop());

    // And a restart after that reads nothing twice.
    ASSERT_EQ("", agent_->start());
    agent_->append(success_event(404));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertResolved) >= 2;
    })) << dump(trapd_.notifications());
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());

    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    ASSERT_EQ(4u, ns.size());
    expect_alert_varbinds(ns[0], oids::kAlertRaised, 3, 1003, "401", kFailure, kFailureHex);
    expect_alert_varbinds(ns[1], oids::kAlertResolved, 1, 1004, "402", kSuccess, kSuccessHex);
    expect_alert_varbinds(ns[2], oids::kAlertRaised, 3, 1003, "403", kFailure, kFailureHex);
    expect_alert_varbinds(ns[3], oids::kAlertResolved, 1, 1004, "404", kSuccess, kSuccessHex);
}

TEST_F(SnmpAgentTest, MegabytesOfUnterminatedMarkupAreSkippedOnceAndTheNextAlertArrives)
{
    // Once: 1.1 MB of "<!--" kept the agent busy ~100 s (rescanned on every
    // read). The time is measured in bench/ (bench/garbage.py); here: one
    // damaged record counted, the agent answering, the 1003 after it notified.
    ASSERT_EQ("", start_v2c_trapd());
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    ASSERT_EQ("", start_agent([&](int port) {
                  return "agentaddress udp:127.0.0.1:" + std::to_string(port) +
                         "\nrocommunity secret 127.0.0.1\ntrap2sink " + sink + " traps\n";
              }));
    std::string garbage;
    garbage.reserve(16u << 20);
    while (garbage.size() < (16u << 20))
        garbage += "<!--";
    for (size_t at = 0; at < garbage.size(); at += 1u << 20)
        agent_->append(garbage.substr(at, 1u << 20));
    agent_->append(failure_event(501));
    ASSERT_TRUE(trapd_.wait_for(
        [](const std::vector<Notification> &ns) {
            return count(ns, "community traps", oids::kAlertRaised) >= 1;
        },
        60000))
        << dump(trapd_.notifications());
    EXPECT_EQ("Counter32: 1", get_v2c(oids::agent_scalar(7))); // mdmEventsDamaged
    EXPECT_EQ("Counter32: 1", get_v2c(oids::agent_scalar(oids::kEventsRead)));
    EXPECT_TRUE(agent_->wait_log("event at byte 0: unterminated comment")) << agent_->log();
    EXPECT_EQ(0, agent_->stop());
    auto ns = trapd_.notifications();
    ASSERT_EQ(1u, ns.size()) << dump(ns);
    expect_alert_varbinds(ns[0], oids::kAlertRaised, 3, 1003, "501", kFailure, kFailureHex);
}

// --- 6. SIGHUP ---------------------------------------------------------------------

TEST_F(SnmpAgentTest, SighupReloadKeepsStateAndRebuildsDestinations)
{
    ASSERT_EQ("", start_v2c_trapd());
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    std::string base_lines;
    ASSERT_EQ("", start_agent([&](int port) {
                  base_lines = "agentaddress udp:127.0.0.1:" + std::to_string(port) +
                               "\nrocommunity secret 127.0.0.1\n"
                               "trap2sink " +
                               sink +
                               " traps\n"
                               "informsink " +
                               sink + " informs\n";
                  return base_lines;
              }));
    agent_->append(failure_event(501));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertRaised) >= 1 &&
               count(ns, "community informs", oids::kAlertRaised) >= 1;
    })) << dump(trapd_.notifications());
    EXPECT_EQ("INTEGER: 3", wait_get(col(oids::kState), "INTEGER: 3"));

    // A destination is added; the reload keeps the monitor's state (no new alert).
    agent_->configure(base_lines + "trap2sink " + sink + " traps2\n");
    agent_->process().signal(SIGHUP);
    ASSERT_TRUE(agent_->wait_log("reloaded:")) << agent_->log();
    EXPECT_TRUE(agent_->process().running());
    EXPECT_EQ("INTEGER: 3", get_v2c(col(oids::kState)));
    EXPECT_EQ("INTEGER: 1", get_v2c(col(oids::kAlertActive))); // TruthValue true
    EXPECT_EQ("STRING: \"501\"", get_v2c(col(oids::kLastRecordId)));

    agent_->append(success_event(502));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertResolved) >= 1 &&
               count(ns, "community informs", oids::kAlertResolved) >= 1 &&
               count(ns, "community traps2", oids::kAlertResolved) >= 1;
    })) << dump(trapd_.notifications());
    EXPECT_EQ("INTEGER: 1", wait_get(col(oids::kState), "INTEGER: 1"));
    EXPECT_EQ("Gauge32: 0",
              wait_get(oids::agent_scalar(oids::kNotificationsPending), "Gauge32: 0"));
    EXPECT_EQ(0, agent_->stop());

    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    EXPECT_EQ(5u, ns.size());
    for (const char *who : {"community traps", "community informs"}) {
        EXPECT_EQ(1u, count(ns, who, oids::kAlertRaised)) << who;
        EXPECT_EQ(1u, count(ns, who, oids::kAlertResolved)) << who;
    }
    // The new destination gets what happens after it was added, and nothing older.
    EXPECT_EQ(0u, count(ns, "community traps2", oids::kAlertRaised));
    const Notification *resolved = find(ns, "community traps2", oids::kAlertResolved);
    ASSERT_NE(nullptr, resolved);
    expect_alert_varbinds(*resolved, oids::kAlertResolved, 1, 1004, "502", kSuccess, kSuccessHex);
}

// A state file written by a Windows agent with `target` lines holds the
// position of each remote channel as a `source-position COMPUTER POSITION`
// line next to the outbox. Such a file still loads (the queued notice is
// delivered, nothing is called damaged); with a portable source there is no
// remote source, so the next save leaves those lines out. A malformed one is
// refused like any damaged state line.
TEST_F(SnmpAgentTest, RemoteSourcePositionLinesLoadNextToTheOutbox)
{
    const int port = snmptest::free_udp_port();
    agent_->configure("informsink 127.0.0.1:" + std::to_string(port) + " informs\n");
    ASSERT_EQ("", agent_->start());
    agent_->append(failure_event(451));
    ASSERT_TRUE(wait_until(
        [&] {
            return snmptest::state_file_notices(snmptest::read_text(agent_->state_file())) == 1;
        },
        10000))
        << snmptest::read_text(agent_->state_file());
    agent_->process().kill_hard();

    const std::string saved = snmptest::read_text(agent_->state_file());
    mdmtest::write_file(agent_->state_file(),
                        saved + "\nsource-position DM02.contoso.com record-id:9001\n");
    ASSERT_EQ("",
              trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net informs\n", "", port));
    ASSERT_EQ("", agent_->start());
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community informs", oids::kAlertRaised) >= 1;
    })) << dump(trapd_.notifications());
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());
    EXPECT_EQ(1u, trapd_.notifications().size()) << dump(trapd_.notifications());
    const std::string state = snmptest::read_text(agent_->state_file());
    EXPECT_EQ(std::string::npos, state.find("source-position")) << state;
    EXPECT_NE(std::string::npos, state.find("\nposition ")) << state;

    // A source-position line without its position is a damaged state line: the file is
    // moved aside and reported, and the agent starts without it.
    mdmtest::write_file(agent_->state_file(), state + "\nsource-position DM02.contoso.com\n");
    ASSERT_EQ("", agent_->start());
    EXPECT_TRUE(agent_->wait_log("damaged state line")) << agent_->log();
    EXPECT_NE(std::string::npos,
              agent_->log().find("moved aside to " + agent_->state_file() + ".corrupt-"))
        << agent_->log();
    EXPECT_EQ(0, agent_->stop());
}

// A damaged state file never blocks the start: it is moved aside to
// state.corrupt-TIMESTAMP (intact, for support), a warning names the file and the cause,
// and the agent starts from the source's start policy, evaluating and answering as usual.
TEST_F(SnmpAgentTest, DamagedStateFileIsMovedAsideAndTheAgentStarts)
{
    ASSERT_EQ("", start_agent([](int port) {
                  return "agentaddress udp:127.0.0.1:" + std::to_string(port) +
                         "\nrocommunity secret 127.0.0.1\n";
              }));
    agent_->append(failure_event(701));
    EXPECT_EQ("INTEGER: 3", wait_get(col(oids::kState), "INTEGER: 3"));
    EXPECT_EQ(0, agent_->stop());

    const std::string garbage = "mdmhealth-state 1\nrow 0 \x01\x02 half a line";
    mdmtest::write_file(agent_->state_file(), garbage);
    ASSERT_EQ("", agent_->start());
    ASSERT_TRUE(agent_->wait_log("moved aside to ")) << agent_->log();
    const std::string log = agent_->log();
    EXPECT_NE(std::string::npos,
              log.find("warning: the state file " + agent_->state_file() + " is damaged (" +
                       agent_->state_file() + ":2: damaged state line)"))
        << log;
    const size_t at = log.find("moved aside to ") + 15;
    const std::string aside = log.substr(at, log.find(';', at) - at);
    EXPECT_EQ(0u, aside.find(agent_->state_file() + ".corrupt-")) << aside;
    EXPECT_EQ(garbage, snmptest::read_text(aside));

    // Running: the source starts from its start policy (the start of the file for
    // xml-follow), so the earlier failure is evaluated again, and new events too.
    agent_->append(success_event(702));
    EXPECT_EQ("INTEGER: 1", wait_get(col(oids::kState), "INTEGER: 1"));
    EXPECT_EQ("STRING: \"702\"", get_v2c(col(oids::kLastRecordId)));
    ASSERT_TRUE(wait_until(
        [&] { return snmptest::read_text(agent_->state_file()).find("mdmhealth-state 1") == 0; },
        10000));
    EXPECT_EQ(0, agent_->stop());
}

// --- 7. mdmhealth check on SNMP lines ---------------------------------------------------

TEST_F(SnmpAgentTest, CheckRejectsABadSnmpLineNamingFileAndLine)
{
    struct Case {
        const char *line, *message;
    } cases[] = {
        {"trapsess -v 9 127.0.0.1", "-v needs 2c or 3"},
        {"trapsink 127.0.0.1 public", "SNMPv1"},
        {"createUser someone SHA-999 authpass000", "authentication protocol"},
        // Net-SNMP 5.9's USM parser dereferenced NULL on this one (the check crashed).
        {"createUser u1 SHA-256", "an authentication pass phrase is needed after SHA-256"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.line);
        agent_->configure(std::string("rocommunity secret 127.0.0.1\n") + c.line + "\n");
        auto r = mdmtest::run_program({MDM_BINARY, "check", "-c", agent_->config_path()});
        EXPECT_EQ(2, r.status) << r.out << r.err;
        // Lines 1-3 are the comment, source and state-dir; line 5 is the bad one.
        EXPECT_NE(std::string::npos, r.err.find(agent_->config_path() + ":5: ")) << r.err;
        EXPECT_NE(std::string::npos, r.err.find(c.message)) << r.err;
        EXPECT_EQ("", r.out);
    }
    EXPECT_FALSE(mdmtest::file_exists(agent_->dir() + "/state")) << "check must not write";
}

// The whole table of malformed lines through `mdmhealth check`: each is refused with
// FILE:LINE and the reason (exit 2), none crashes (Net-SNMP never reads them).
TEST_F(SnmpAgentTest, CheckRefusesEveryMalformedSnmpLineAndNeverCrashes)
{
    for (const auto &c : mdmtest::kMalformedSnmpLines) {
        SCOPED_TRACE(c.line);
        agent_->configure(std::string("rocommunity secret 127.0.0.1\n") + c.line + "\n");
        auto r = mdmtest::run_program({MDM_BINARY, "check", "-c", agent_->config_path()});
        EXPECT_EQ(2, r.status) << r.out << r.err;
        EXPECT_NE(std::string::npos, r.err.find(agent_->config_path() + ":5: ")) << r.err;
        EXPECT_NE(std::string::npos, r.err.find(c.why)) << r.err;
    }
}

// ... and the valid forms the validator accepts are accepted by Net-SNMP too.
TEST_F(SnmpAgentTest, CheckAcceptsEveryValidSnmpLineForm)
{
    for (const char *line : mdmtest::kValidSnmpLines) {
        SCOPED_TRACE(line);
        agent_->configure(std::string(line) + "\n");
        auto r = mdmtest::run_program({MDM_BINARY, "check", "-c", agent_->config_path()});
        EXPECT_EQ(0, r.status) << r.out << r.err;
        // (Net-SNMP may warn "Unknown token" for a directive of a module this role does
        // not load, e.g. agentxPingInterval outside a subagent: a warning, not an error.)
        EXPECT_EQ(std::string::npos, r.err.find("error: ")) << r.err;
    }
}

TEST_F(SnmpAgentTest, RunRefusesToStartWithAMalformedSnmpLine)
{
    agent_->configure("rocommunity secret 127.0.0.1\ncreateUser u1 SHA-256\n");
    const std::string refused = agent_->start();
    EXPECT_NE(std::string::npos,
              refused.find(agent_->config_path() +
                           ":5: createUser u1: an authentication pass phrase is needed"))
        << refused;
    EXPECT_FALSE(agent_->process().running());
    EXPECT_EQ(2, agent_->stop());
}

// A reload (SIGHUP; PARAMCHANGE on Windows takes the same path) with a malformed SNMP
// line keeps the running configuration: the agent keeps answering and sending with it,
// and the log says why, with FILE:LINE. Before the validator this killed the agent.
TEST_F(SnmpAgentTest, SighupWithAMalformedSnmpLineKeepsTheRunningConfiguration)
{
    ASSERT_EQ("", start_v2c_trapd());
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    std::string base_lines;
    ASSERT_EQ("", start_agent([&](int port) {
                  base_lines = "agentaddress udp:127.0.0.1:" + std::to_string(port) +
                               "\nrocommunity secret 127.0.0.1\n"
                               "trap2sink " +
                               sink + " traps\n";
                  return base_lines;
              }));
    agent_->append(failure_event(601));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertRaised) >= 1;
    })) << dump(trapd_.notifications());

    // Line 7 is the bad one (the comment, source and state-dir come first).
    agent_->configure(base_lines + "createUser u1 SHA-256\n");
    agent_->process().signal(SIGHUP);
    ASSERT_TRUE(agent_->wait_log("the running configuration stays in force")) << agent_->log();
    EXPECT_NE(std::string::npos,
              agent_->log().find("reload failed (" + agent_->config_path() +
                                 ":7: createUser u1: an authentication pass phrase is needed"))
        << agent_->log();
    EXPECT_TRUE(agent_->process().running());
    EXPECT_EQ("INTEGER: 3", get_v2c(col(oids::kState)));

    // Still sending with the running configuration.
    agent_->append(success_event(602));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertResolved) >= 1;
    })) << dump(trapd_.notifications());
    EXPECT_EQ("INTEGER: 1", wait_get(col(oids::kState), "INTEGER: 1"));
    EXPECT_EQ(std::string::npos, agent_->log().find("reloaded:")) << agent_->log();
    EXPECT_EQ(0, agent_->stop());
}

TEST_F(SnmpAgentTest, CheckAcceptsTheSnmpLinesOfTheOtherTests)
{
    agent_->configure("agentaddress udp:127.0.0.1:1161\n"
                      "rocommunity secret 127.0.0.1\n"
                      "createUser getuser SHA-256 authpass456 AES privpass456\n"
                      "rouser getuser authPriv\n"
                      "trap2sink 127.0.0.1:1162 traps\n"
                      "informsink 127.0.0.1:1162 informs\n"
                      "trapsess -Ci -v 3 -u trapuser -l authPriv -a SHA-256 -A authpass123 -x AES "
                      "-X privpass123 127.0.0.1:1162\n"
                      "agentXSocket tcp:127.0.0.1:1705\n"
                      "agentxPingInterval 1\n");
    auto r = mdmtest::run_program({MDM_BINARY, "check", "-c", agent_->config_path()});
    EXPECT_EQ(0, r.status) << r.out << r.err;
    EXPECT_NE(std::string::npos, r.out.find("9 SNMP directive(s)")) << r.out;
    EXPECT_FALSE(mdmtest::file_exists(agent_->dir() + "/state")) << "check must not write";
    EXPECT_FALSE(mdmtest::file_exists(agent_->config_path() + "/.mdmhealth-check"));
}

} // namespace

// --- 8. the diagnoser runs after an alert: mdmDiagnosis and mdmDiagTable --------

namespace
{

TEST_F(SnmpAgentTest, AlertIsDiagnosedWithMdmDiagnosisAndTheDiagTable)
{
    ASSERT_EQ("", start_v2c_trapd());
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    // The Enrollment Server is 127.0.0.1 with a closed admin port: it answers
    // ICMP but not HTTPS. Only loopback is touched: the checks that would ping
    // this machine's gateway and DNS servers are skipped.
    const int closed = snmptest::free_tcp_port();
    ASSERT_EQ("", start_agent([&](int port) {
                  return "agentaddress udp:127.0.0.1:" + std::to_string(port) +
                         "\nrocommunity secret 127.0.0.1\n"
                         "trap2sink " +
                         sink +
                         " traps\n"
                         "enrollment-server 127.0.0.1\n"
                         "enrollment-ports " +
                         std::to_string(closed) + " " + std::to_string(closed) +
                         "\n"
                         "diag-skip ping-gateway ping-dns-servers ping-loopback "
                         "ping-enrollment-ip ping-enrollment-fqdn\n";
              }));
    agent_->append(failure_event(301));
    const std::string diagnosis_oid = oids::kRoot + ".0.3";
    ASSERT_TRUE(trapd_.wait_for([&](const std::vector<Notification> &ns) {
        return count(ns, "community traps", diagnosis_oid) >= 1;
    })) << dump(trapd_.notifications());

    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    const Notification *raised = find(ns, "community traps", oids::kAlertRaised);
    const Notification *diag = find(ns, "community traps", diagnosis_oid);
    ASSERT_NE(nullptr, raised);
    ASSERT_NE(nullptr, diag);
    // The alert's identity, then the evidence row of mdmDiagTable (.1.3.1.COL.ROW).
    EXPECT_EQ(kComputer, diag->value(col(oids::kTarget)));
    EXPECT_EQ("INTEGER: 3", diag->typed(col(oids::kState)));
    EXPECT_EQ("301", diag->value(col(oids::kLastRecordId)));
    std::string row;
    for (const auto &v : diag->vars)
        if (v.first.rfind(oids::kRoot + ".1.3.1.2.", 0) == 0)
            row = v.first.substr((oids::kRoot + ".1.3.1.2.").size());
    ASSERT_FALSE(row.empty());
    const std::string d = oids::kRoot + ".1.3.1.";
    EXPECT_EQ("https-enrollment", diag->value(d + "2." + row));
    EXPECT_EQ("INTEGER: 2", diag->typed(d + "3." + row)); // fail(2)
    EXPECT_NE(std::string::npos, diag->value(d + "4." + row).find("TCP stage"));
    EXPECT_EQ("The Device Management Machine cannot connect to network",
              diag->value(d + "5." + row));
    EXPECT_EQ("Fix network connectivity issues", diag->value(d + "6." + row));

    // The same run is in mdmDiagTable.
    EXPECT_EQ("STRING: \"https-enrollment\"", get_v2c(d + "2." + row));
    EXPECT_EQ("STRING: \"Fix network connectivity issues\"", get_v2c(d + "6." + row));
    EXPECT_EQ("STRING: \"" + kComputer + "\"", get_v2c(d + "9." + row));
    // A skipped check says so.
    EXPECT_EQ("INTEGER: 4", get_v2c(d + "3.3")); // ping-gateway: skip(4)
}

} // namespace

// --- 9. a silent SNMPv3 inform manager delays nobody -------------------------------

namespace
{

TEST_F(SnmpAgentTest, SilentV3InformManagerDelaysNeitherOtherDestinationsNorQueries)
{
    ASSERT_EQ("", start_v2c_trapd());
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    // Nothing listens on `silent`: the SNMPv3 engine ID discovery gets no
    // answer for -t 5 -r 1 (10 s). Net-SNMP's own discovery would block the
    // agent for that long; ours must not.
    const int silent = snmptest::free_udp_port();
    ASSERT_EQ("", start_agent([&](int port) {
                  return "agentaddress udp:127.0.0.1:" + std::to_string(port) +
                         "\nrocommunity secret 127.0.0.1\n"
                         "trapsess -Ci -v 3 -u nobody -l authPriv -a SHA-256 -A authpass123 "
                         "-x AES -X privpass123 -t 5 -r 1 127.0.0.1:" +
                         std::to_string(silent) + "\ntrap2sink " + sink + " traps\n";
              }));
    agent_->append(failure_event(401));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        return count(ns, "community traps", oids::kAlertRaised) >= 1;
    })) << dump(trapd_.notifications());
    // Queries are answered meanwhile.
    EXPECT_EQ("INTEGER: 3", get_v2c(col(oids::kState)));
    // ... and all of this happened while the discovery was still waiting:
    // no timeout of it, and no failed (blocking) session opening, so far.
    const std::string log = agent_->log();
    EXPECT_EQ(std::string::npos, log.find("engine ID discovery")) << log;
    EXPECT_EQ(std::string::npos, log.find("cannot open the session")) << log;
    EXPECT_EQ("Gauge32: 1", get_v2c(oids::agent_scalar(oids::kNotificationsPending)));
}

} // namespace

// --- 10. diag-interval: re-diagnosis while a monitor is in error ----------------------

namespace
{

size_t occurrences(const std::string &text, const std::string &what)
{
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        n++;
    return n;
}

// Real: mdmhealth, snmptrapd, snmpget, and an `openssl s_server -www` (a real
// TLS server) on the loopback port that the https checks target, started and
// stopped between runs so that the diagnosis changes. The interval is 1 s
// through the documented test hook MDM_TEST_DIAG_INTERVAL_MIN, which only
// lowers the directive's lower bound. The agent runs with --debug so that
// every periodic run is visible in its log.
TEST_F(SnmpAgentTest, DiagIntervalRediagnosesAndNotifiesOnlyWhenTheDiagnosisChanges)
{
    const std::string openssl = "/usr/bin/openssl";
    if (access(openssl.c_str(), X_OK) != 0)
        GTEST_SKIP() << openssl << " is not installed";
    auto gen = mdmtest::run_program({openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                     "-days", "1", "-subj", "/CN=enroll.test", "-keyout",
                                     dir_ + "/key.pem", "-out", dir_ + "/cert.pem"});
    ASSERT_EQ(0, gen.status) << gen.err;
    ASSERT_EQ("", start_v2c_trapd());
    const std::string sink = "127.0.0.1:" + std::to_string(trapd_.port());
    const int https = snmptest::free_tcp_port(); // closed until s_server listens on it
    std::string lines;
    agent_->set_run_extra({"--debug"}, {"MDM_TEST_DIAG_INTERVAL_MIN=1"});
    // First without diag-interval: the reload below turns it on.
    ASSERT_EQ("", start_agent([&](int port) {
                  lines = "agentaddress udp:127.0.0.1:" + std::to_string(port) +
                          "\nrocommunity secret 127.0.0.1\n"
                          "trap2sink " +
                          sink +
                          " traps\n"
                          "enrollment-server 127.0.0.1\n"
                          "enrollment-ports " +
                          std::to_string(https) + " " + std::to_string(https) +
                          "\n"
                          "diag-skip ping-gateway ping-dns-servers ping-loopback "
                          "ping-enrollment-ip ping-enrollment-fqdn\n";
                  return lines;
              }));
    const std::string diagnosis_oid = oids::kRoot + ".0.3";
    auto diagnoses = [&] {
        return count(trapd_.notifications(), "community traps", diagnosis_oid);
    };
    agent_->append(failure_event(701));
    ASSERT_TRUE(trapd_.wait_for([&](const std::vector<Notification> &ns) {
        return count(ns, "community traps", diagnosis_oid) >= 1;
    })) << dump(trapd_.notifications());
    const auto first = trapd_.notifications();
    std::string row;
    for (const auto &v : find(first, "community traps", diagnosis_oid)->vars)
        if (v.first.rfind(oids::kRoot + ".1.3.1.2.", 0) == 0)
            row = v.first.substr((oids::kRoot + ".1.3.1.2.").size());
    ASSERT_FALSE(row.empty());
    const std::string last_run_oid = oids::kRoot + ".1.3.1.7." + row;
    const std::string first_run = get_v2c(last_run_oid);
    ASSERT_NE("", first_run);

    // SIGHUP picks up the interval; the row in error is re-diagnosed every second.
    agent_->configure(lines + "diag-interval 1\n");
    agent_->process().signal(SIGHUP);
    ASSERT_TRUE(agent_->wait_log("re-diagnosing every 1 s")) << agent_->log();
    ASSERT_TRUE(wait_until(
        [&] {
            return occurrences(agent_->log(), "diagnosis for " + kComputer + ": unchanged") >= 3;
        },
        20000))
        << agent_->log();
    EXPECT_GE(occurrences(agent_->log(), "diagnoser: periodic run"), 3u);
    // The same diagnosis three times: mdmDiagTable is refreshed, nobody is notified again.
    EXPECT_NE(first_run, get_v2c(last_run_oid));
    EXPECT_EQ(1u, diagnoses()) << dump(trapd_.notifications());

    // The Enrollment Server starts answering HTTPS: the network diagnosis goes away.
    snmptest::Process tls;
    ASSERT_TRUE(
        tls.start({openssl, "s_server", "-www", "-accept", "127.0.0.1:" + std::to_string(https),
                   "-cert", dir_ + "/cert.pem", "-key", dir_ + "/key.pem"},
                  {}, dir_ + "/s_server.log"));
    ASSERT_TRUE(trapd_.wait_for(
        [&](const std::vector<Notification> &ns) {
            return count(ns, "community traps", diagnosis_oid) >= 2;
        },
        20000))
        << dump(trapd_.notifications()) << agent_->log() << tls.log();
    {
        auto ns = trapd_.notifications();
        const Notification *changed = nullptr;
        for (const auto &n : ns)
            if (from(n, "community traps") && n.trap_oid == diagnosis_oid)
                changed = &n; // the last one
        ASSERT_NE(nullptr, changed);
        std::string diagnosis = "<absent>";
        for (const auto &v : changed->vars)
            if (v.first.rfind(oids::kRoot + ".1.3.1.5.", 0) == 0)
                diagnosis = changed->value(v.first);
        EXPECT_EQ("", diagnosis) << changed->raw; // none of the article's causes
        EXPECT_EQ("701", changed->value(col(oids::kLastRecordId)));
        EXPECT_EQ(kComputer, changed->value(col(oids::kTarget)));
    }
    EXPECT_TRUE(agent_->wait_log("diagnosis for " + kComputer +
                                 ": changed, now none of the knowledge article's causes found"));

    // And back: the port closes, the network diagnosis returns, one more notification.
    tls.stop();
    ASSERT_TRUE(trapd_.wait_for(
        [&](const std::vector<Notification> &ns) {
            return count(ns, "community traps", diagnosis_oid) >= 3;
        },
        20000))
        << dump(trapd_.notifications()) << agent_->log();
    EXPECT_TRUE(agent_->wait_log("diagnosis for " + kComputer +
                                 ": changed, now The Device Management Machine cannot connect"));

    // The alert resolves: the periodic runs stop.
    agent_->append(success_event(702));
    ASSERT_TRUE(agent_->wait_log("no monitor row in error; periodic runs stop")) << agent_->log();
    const size_t runs = occurrences(agent_->log(), "diagnoser: periodic run");
    // A bounded wait of three intervals in which no run may start (a negative
    // check cannot be a poll for success).
    EXPECT_FALSE(wait_until(
        [&] { return occurrences(agent_->log(), "diagnoser: periodic run") > runs; }, 3000))
        << agent_->log();
    EXPECT_EQ(0, agent_->stop());
    // Net-SNMP reads the same file: it must know the directive as one of ours.
    EXPECT_EQ(std::string::npos, agent_->log().find("Unknown token")) << agent_->log();
    auto ns = trapd_.notifications();
    EXPECT_EQ(3u, count(ns, "community traps", diagnosis_oid)) << dump(ns);
    EXPECT_EQ(1u, count(ns, "community traps", oids::kAlertRaised)) << dump(ns);
    EXPECT_EQ(1u, count(ns, "community traps", oids::kAlertResolved)) << dump(ns);
}

TEST_F(SnmpAgentTest, CheckShowsDiagIntervalAndRefusesOneOutOfRange)
{
    agent_->configure("rocommunity secret 127.0.0.1\ndiag-interval 300\n");
    auto r = mdmtest::run_program({MDM_BINARY, "check", "-c", agent_->config_path()});
    EXPECT_EQ(0, r.status) << r.out << r.err;
    EXPECT_NE(std::string::npos, r.out.find("diag-interval: 300 s")) << r.out;
    EXPECT_EQ(std::string::npos, r.err.find("Unknown token")) << r.err;

    agent_->configure("rocommunity secret 127.0.0.1\n");
    r = mdmtest::run_program({MDM_BINARY, "check", "-c", agent_->config_path()});
    EXPECT_EQ(0, r.status) << r.out << r.err;
    EXPECT_NE(std::string::npos, r.out.find("diag-interval: off")) << r.out;

    // Lines 1-3 are the comment, source and state-dir.
    agent_->configure("diag-interval 30\n");
    r = mdmtest::run_program({MDM_BINARY, "check", "-c", agent_->config_path()});
    EXPECT_EQ(2, r.status) << r.out << r.err;
    EXPECT_NE(std::string::npos,
              r.err.find(agent_->config_path() +
                         ":4: diag-interval needs 0 (off) or a number of seconds from 60 to 86400"))
        << r.err;
}

// Net-SNMP reads the lines config.c checked, not the file again: a configuration
// loaded (and checked) while valid, then replaced on disk by a line that crashed
// Net-SNMP 5.9's USM parser, is still validated as loaded. Before the checked copy,
// Net-SNMP re-read the file and crashed on it. In a forked child (a death test), so
// that a crash is a failure of this test alone.
TEST_F(SnmpAgentTest, SnmpCheckReadsTheLoadedLinesNotTheFileChangedSince)
{
    agent_->configure("rocommunity secret 127.0.0.1\n"
                      "createUser getuser SHA-256 authpass456 AES privpass456\n");
    const std::string path = agent_->config_path();
    auto check_after_the_file_changed = [&path]() {
        struct mdm_config *cfg = NULL;
        struct mdm_err err;
        mdm_err_clear(&err);
        if (mdm_config_load(path.c_str(), &cfg, &err) != 0)
            _exit(3);
        // The window between the check and Net-SNMP's read, forced: the file changes.
        mdmtest::write_file(path, "rocommunity secret 127.0.0.1\ncreateUser u1 SHA-256\n");
        int rc = mdm_snmp_check(cfg, &err);
        if (rc != 0)
            fprintf(stderr, "check failed: %s\n", err.msg);
        mdm_config_free(cfg);
        _exit(rc == 0 ? 0 : 4);
    };
    EXPECT_EXIT(check_after_the_file_changed(), ::testing::ExitedWithCode(0), "");
    // The checked copy lives in a private temporary directory, removed afterwards.
    EXPECT_FALSE(mdmtest::file_exists(path + "/.mdmhealth-check"));
}

} // namespace

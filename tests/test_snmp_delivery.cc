// test_snmp_delivery.cc - delivery under faults, end to end: the state file
// cannot be written (a real full file system), a manager outage with a
// configured back-off cap, the notification identity varbind, a diagnoser
// run that ends without a report, and a few units of the SNMP layer.
//
// What is real: the mdmhealth binary (`mdmhealth run -f`), snmptrapd from
// Net-SNMP, and for the state-save test a real tmpfs mounted in a private
// mount namespace (unshare -m) of the agent, filled up with a real file.
// What is not: the diagnoser test drops the run's report through a test hook
// (MDM_TEST_DIAG_DROP_REPORTS, run.c), because the diagnoser produces no
// report only when it runs out of memory.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "snmp_fixtures.h"
#include "test_util.h"

// From snmp_internal.h, which needs the Net-SNMP agent headers and has no C++ guard.
extern "C" size_t mdm_date_and_time(int64_t ms, unsigned char out[11]);
extern "C" const char *mdm_mib_agent_scalar_name(unsigned n);

using snmptest::MdmAgent;
using snmptest::Notification;
using snmptest::TrapReceiver;
using snmptest::wait_until;
namespace oids = snmptest::oids;

namespace
{

const std::string kComputer = "DM01.contoso.com";
const std::string kNotificationId = ".1.3.6.1.4.1.8072.9999.9999.1.4.1.0";
const std::string kDiagnosis = ".1.3.6.1.4.1.8072.9999.9999.0.3";

std::string failure_event(unsigned long long record)
{
    return mdmtest::event_xml("Device Manager", 1003, record, kComputer, "2026-11-20T09:15:02.300Z",
                              "Mobile Device Manager", "cannot connect to the Enrollment Server");
}

std::string success_event(unsigned long long record)
{
    return mdmtest::event_xml("Device Manager", 1004, record, kComputer, "2026-11-20T09:20:00.000Z",
                              "Mobile Device Manager", "connected to the Enrollment Server");
}

std::string dump(const std::vector<Notification> &ns)
{
    std::string out;
    for (const auto &n : ns)
        out += n.raw + "\n";
    return out.empty() ? "(no notifications)\n" : out;
}

size_t count_of(const std::string &text, const std::string &what)
{
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        n++;
    return n;
}

/* The record IDs (mdmMonitorLastRecordId) of the alert notifications, in arrival order. */
std::vector<std::string> records(const std::vector<Notification> &ns)
{
    std::vector<std::string> out;
    for (const auto &n : ns)
        if (n.trap_oid == oids::kAlertRaised || n.trap_oid == oids::kAlertResolved)
            out.push_back(n.value(oids::monitor_column(oids::kLastRecordId)));
    return out;
}

class DeliveryTest : public snmptest::AgentTest
{
  protected:
    void SetUp() override
    {
        prepare("delivery", {"snmptrapd", "snmpget"});
    }

    TrapReceiver trapd_;
};

} // namespace

// --- units -----------------------------------------------------------------------

// The mdmAgent handler's table is the MIB's: row N is the object the MIB defines as mdmAgent N.
TEST(MibTable, AgentScalarsAreTheMibObjects)
{
    std::string mib = mdmtest::read_file(MDM_SOURCE_DIR "/mib/MDM-HEALTH-MIB.txt");
    std::map<unsigned, std::string> in_mib;
    const std::string assign = "::= { mdmAgent ";
    for (size_t at = mib.find(assign); at != std::string::npos; at = mib.find(assign, at + 1)) {
        unsigned n = static_cast<unsigned>(std::stoul(mib.substr(at + assign.size())));
        size_t type = mib.rfind(" OBJECT-TYPE", at);
        ASSERT_NE(std::string::npos, type);
        size_t start = mib.find_last_of("\n", type) + 1;
        in_mib[n] = mib.substr(start, type - start);
    }
    ASSERT_FALSE(in_mib.empty());
    EXPECT_EQ(nullptr, mdm_mib_agent_scalar_name(0));
    for (const auto &[n, name] : in_mib) {
        const char *ours = mdm_mib_agent_scalar_name(n);
        ASSERT_NE(nullptr, ours) << "mdmAgent " << n << " (" << name << ") has no handler row";
        EXPECT_EQ(name, ours) << "mdmAgent " << n;
    }
    EXPECT_EQ(nullptr, mdm_mib_agent_scalar_name(static_cast<unsigned>(in_mib.size()) + 1))
        << "a handler row the MIB does not define";
}

TEST(DateAndTime, YearsAfter3000AreEncodedAndImpossibleYearsAreUnknown)
{
    unsigned char dt[11];
    // 3001-01-01T00:00:01.500Z: Windows' gmtime returns NULL for it (the old code crashed).
    const int64_t y3001 = 32535216001500LL;
    ASSERT_EQ(11u, mdm_date_and_time(y3001, dt));
    EXPECT_EQ(3001, dt[0] * 256 + dt[1]);
    EXPECT_EQ(1, dt[2]);
    EXPECT_EQ(1, dt[3]);
    EXPECT_EQ(0, dt[4]);
    EXPECT_EQ(0, dt[5]);
    EXPECT_EQ(1, dt[6]);
    EXPECT_EQ(5, dt[7]);
    EXPECT_EQ('+', dt[8]);
    // 2024-02-29T23:59:59.900Z: a leap day at the end of the day.
    ASSERT_EQ(11u, mdm_date_and_time(1709251199900LL, dt));
    EXPECT_EQ(2024, dt[0] * 256 + dt[1]);
    EXPECT_EQ(2, dt[2]);
    EXPECT_EQ(29, dt[3]);
    EXPECT_EQ(23, dt[4]);
    EXPECT_EQ(59, dt[5]);
    EXPECT_EQ(59, dt[6]);
    EXPECT_EQ(9, dt[7]);
    // Year 70000 does not fit DateAndTime's two octets: unknown (zero), never a wrapped year.
    const int64_t y70000 = (70000LL - 1970) * 36525LL * 86400LL * 10LL;
    ASSERT_EQ(8u, mdm_date_and_time(y70000, dt));
    for (int i = 0; i < 8; i++)
        EXPECT_EQ(0, dt[i]) << i;
    // The largest time an event can carry: no crash, unknown.
    EXPECT_EQ(8u, mdm_date_and_time(INT64_MAX, dt));
}

TEST(NotifyConfig, CheckRefusesTransportOptionsAndUnknownCFlagsWithoutLeaking)
{
    std::string dir = mdmtest::make_temp_dir("notifycfg");
    const std::string conf = dir + "/mdmhealth.conf";
    struct {
        std::string line, says;
    } cases[] = {
        // -T NAME=VALUE: Net-SNMP allocates a container that it never frees (it leaked per
        // line); UDP destinations take no such options, so the line is refused.
        {"trapsess -T foo=bar -v 2c -c x 127.0.0.1", "-T transport options"},
        {"trapsess -T foo=bar -v 2c -c x", "no manager address"},
        // -Cx was reported, yet the destination was added all the same.
        {"trapsess -Cx -v 2c -c x 127.0.0.1", "unknown argument to -C"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.line);
        mdmtest::write_file(conf, "state-dir " + dir + "/state\n" + c.line + "\n" + c.line + "\n");
        auto r = mdmtest::run_program({MDM_BINARY, "check", "-c", conf});
        // In the ASan build a leak makes the exit status LeakSanitizer's, not 2.
        EXPECT_EQ(2, r.status) << r.err;
        EXPECT_NE(std::string::npos, r.err.find(conf + ":2: ")) << r.err;
        EXPECT_NE(std::string::npos, r.err.find(c.says)) << r.err;
        EXPECT_EQ(std::string::npos, r.err.find("LeakSanitizer")) << r.err;
    }
    snmptest::remove_tree(dir);
}

TEST(NotifyConfig, NotificationBackoffMaxIsRangeChecked)
{
    std::string dir = mdmtest::make_temp_dir("backoffcfg");
    const std::string conf = dir + "/mdmhealth.conf";
    for (const char *bad : {"0", "3601", "abc", "-5", "10s", ""}) {
        SCOPED_TRACE(bad);
        mdmtest::write_file(conf, "state-dir " + dir + "/state\nnotification-backoff-max " +
                                      std::string(bad) + "\n");
        auto r = mdmtest::run_program({MDM_BINARY, "check", "-c", conf});
        EXPECT_EQ(2, r.status) << r.out << r.err;
        EXPECT_NE(std::string::npos, r.err.find(conf + ":2")) << r.err;
        EXPECT_NE(std::string::npos, r.err.find("notification-backoff-max")) << r.err;
    }
    for (const char *good : {"1", "60", "3600"}) {
        SCOPED_TRACE(good);
        mdmtest::write_file(conf, "state-dir " + dir + "/state\nnotification-backoff-max " +
                                      std::string(good) + "\n");
        auto r = mdmtest::run_program({MDM_BINARY, "check", "-c", conf});
        EXPECT_EQ(0, r.status) << r.out << r.err;
        EXPECT_NE(std::string::npos,
                  r.out.find("notification-backoff-max: " + std::string(good) + " s"))
            << r.out;
    }
    mdmtest::write_file(conf, "state-dir " + dir + "/state\n");
    auto r = mdmtest::run_program({MDM_BINARY, "check", "-c", conf});
    EXPECT_NE(std::string::npos, r.out.find("notification-backoff-max: 60 s")) << r.out;
    snmptest::remove_tree(dir);
}

// --- receiver outage ------------------------------------------------------------------

TEST_F(DeliveryTest, AfterAManagerOutageEveryInformArrivesInOrderWithinTheBackoffCap)
{
    // Time-compressed: a 2 s cap; the manager's inform timeout is 1 s without retries.
    ASSERT_EQ("", trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net informs\n"));
    const int port = trapd_.port();
    agent_->configure("notification-backoff-max 2\n"
                      "trapsess -Ci -t 1 -r 0 -v 2c -c informs 127.0.0.1:" +
                      std::to_string(port) + "\n");
    ASSERT_EQ("", agent_->start());
    agent_->append(failure_event(10));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) { return ns.size() >= 1; }))
        << dump(trapd_.notifications());

    // The manager goes away; state changes keep coming.
    trapd_.stop();
    agent_->append(success_event(11));
    agent_->append(failure_event(12));
    agent_->append(success_event(13));
    // Long enough for the back-off to reach its cap several times over (with the old
    // 5 s doubling to 5 min it would now wait 20 s and more).
    ASSERT_TRUE(agent_->wait_log("notices stay queued", 10000)) << agent_->log();
    ASSERT_TRUE(wait_until(
        [&] {
            return snmptest::state_file_notices(snmptest::read_text(agent_->state_file())) == 3;
        },
        10000));
    sleep(12);
    EXPECT_EQ(3u, snmptest::state_file_notices(snmptest::read_text(agent_->state_file())));

    // The manager returns on the same port: the three queued informs arrive, in order,
    // within one cap (2 s) plus the inform timeout (1 s) and a margin for a loaded machine.
    TrapReceiver back;
    ASSERT_EQ("",
              back.start(dir_ + "/trapd2", "authCommunity log,execute,net informs\n", "", port));
    EXPECT_TRUE(
        back.wait_for([](const std::vector<Notification> &ns) { return ns.size() >= 3; }, 8000))
        << dump(back.notifications()) << agent_->log();
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());
    auto ns = back.notifications();
    back.stop();
    SCOPED_TRACE(dump(ns));
    EXPECT_EQ((std::vector<std::string>{"11", "12", "13"}), records(ns));
    // Identities: 1 went before the outage; then 2, 3, 4, each once.
    std::vector<std::string> ids;
    for (const auto &n : ns)
        ids.push_back(n.typed(kNotificationId));
    EXPECT_EQ((std::vector<std::string>{"Gauge32: 2", "Gauge32: 3", "Gauge32: 4"}), ids);
}

// More informs than the outbox's smallest ring (4 slots, agent/snmp/outbox.c) wait
// for a manager that is not there: the ring grows while one of them is in flight,
// and Net-SNMP's snmptrapd, once it answers, receives every one in order, each
// with its own identity.
TEST_F(DeliveryTest, ADozenInformsQueuedForAnAbsentManagerArriveInOrder)
{
    const int port = snmptest::free_udp_port();
    agent_->configure("notification-backoff-max 2\n"
                      "trapsess -Ci -t 1 -r 0 -v 2c -c informs 127.0.0.1:" +
                      std::to_string(port) + "\n");
    ASSERT_EQ("", agent_->start());
    std::vector<std::string> expected;
    for (unsigned long long r = 30; r < 42; r++) {
        agent_->append(r % 2 == 0 ? failure_event(r) : success_event(r));
        expected.push_back(std::to_string(r));
    }
    ASSERT_TRUE(wait_until(
        [&] {
            return snmptest::state_file_notices(snmptest::read_text(agent_->state_file())) == 12;
        },
        10000))
        << snmptest::read_text(agent_->state_file()) << agent_->log();

    ASSERT_EQ("",
              trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net informs\n", "", port));
    ASSERT_TRUE(
        trapd_.wait_for([](const std::vector<Notification> &ns) { return ns.size() >= 12; }, 20000))
        << dump(trapd_.notifications()) << agent_->log();
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());
    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    EXPECT_EQ(expected, records(ns));
    for (size_t i = 0; i < ns.size(); i++)
        EXPECT_EQ("Gauge32: " + std::to_string(i + 1), ns[i].typed(kNotificationId));
}

// --- notification identity -------------------------------------------------------------

TEST_F(DeliveryTest, AQueuedInformKeepsItsNotificationIdAcrossAKillNine)
{
    // No manager yet: the inform stays queued (durably) with its identity.
    const int port = snmptest::free_udp_port();
    agent_->configure("trapsess -Ci -t 1 -r 0 -v 2c -c informs 127.0.0.1:" + std::to_string(port) +
                      "\n");
    ASSERT_EQ("", agent_->start());
    agent_->append(failure_event(21));
    agent_->append(success_event(22));
    ASSERT_TRUE(wait_until(
        [&] {
            return snmptest::state_file_notices(snmptest::read_text(agent_->state_file())) == 2;
        },
        10000))
        << snmptest::read_text(agent_->state_file());
    agent_->process().kill_hard();

    ASSERT_EQ("",
              trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net informs\n", "", port));
    ASSERT_EQ("", agent_->start());
    ASSERT_TRUE(
        trapd_.wait_for([](const std::vector<Notification> &ns) { return ns.size() >= 2; }, 15000))
        << dump(trapd_.notifications());
    agent_->append(failure_event(23));
    ASSERT_TRUE(
        trapd_.wait_for([](const std::vector<Notification> &ns) { return ns.size() >= 3; }, 15000))
        << dump(trapd_.notifications());
    EXPECT_EQ(0, agent_->stop());
    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    ASSERT_EQ(3u, ns.size());
    EXPECT_EQ((std::vector<std::string>{"21", "22", "23"}), records(ns));
    // The identity is the last varbind, an Unsigned32 (Gauge32 on the wire).
    for (size_t i = 0; i < ns.size(); i++) {
        ASSERT_FALSE(ns[i].vars.empty());
        EXPECT_EQ(kNotificationId, ns[i].vars.back().first);
        EXPECT_EQ("Gauge32: " + std::to_string(i + 1), ns[i].typed(kNotificationId));
    }
}

// --- the state file cannot be written ----------------------------------------------

TEST_F(DeliveryTest, NothingIsSentWhileTheStateCannotBeSavedAndAllOfItAfter)
{
    // The agent runs in a mount namespace of its own, with a 256 KiB tmpfs as its state
    // directory, which is also the followed file's directory (each save attempt then
    // creates and removes a file in the watched directory). The test reaches that tmpfs
    // through /proc/PID/root.
    for (const char *p : {"unshare", "mount", "fallocate"})
        if (snmptest::find_program(p).empty())
            GTEST_SKIP() << p << " is not installed (util-linux)";
    const std::string unshare = snmptest::find_program("unshare");
    auto probe = mdmtest::run_program({unshare, "-m", "--propagation", "private", "sh", "-c",
                                       "mount -t tmpfs -o size=256k tmpfs /mnt && umount /mnt"});
    if (probe.status != 0)
        GTEST_SKIP() << "cannot mount a tmpfs in a private mount namespace (needs root): "
                     << probe.err;

    ASSERT_EQ("", trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net informs\n"));
    const std::string mnt = dir_ + "/vol";
    ASSERT_EQ(0, mkdir(mnt.c_str(), 0700));
    const std::string conf = dir_ + "/full.conf";
    mdmtest::write_file(conf, "source xml-follow " + mnt + "/events.xml\nstate-dir " + mnt +
                                  "\ninformsink 127.0.0.1:" + std::to_string(trapd_.port()) +
                                  " informs\n");
    // events.xml gets 64 KiB allocated beyond its end (fallocate -n), so that the test can
    // still append to it once the file system is full.
    const std::string script = "mount -t tmpfs -o size=256k,mode=0700 tmpfs '" + mnt +
                               "' && : > '" + mnt + "/events.xml' && fallocate -n -l 65536 '" +
                               mnt + "/events.xml' && exec '" MDM_BINARY "' run -f -c '" + conf +
                               "'";
    snmptest::Process agent;
    ASSERT_TRUE(agent.start({unshare, "-m", "--propagation", "private", "/bin/sh", "-c", script},
                            {}, dir_ + "/full.log"));
    ASSERT_TRUE(wait_until(
        [&] {
            return !agent.running() ||
                   agent.log().find("event source: xml-follow") != std::string::npos;
        },
        10000))
        << agent.log();
    ASSERT_TRUE(agent.running()) << agent.log();
    const std::string vol = "/proc/" + std::to_string(agent.pid()) + "/root" + mnt;
    auto append = [&](const std::string &line) {
        int fd = open((vol + "/events.xml").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        ASSERT_GE(fd, 0) << strerror(errno);
        ASSERT_EQ((ssize_t)line.size(), write(fd, line.data(), line.size())) << strerror(errno);
        close(fd);
    };

    // Fill the file system.
    {
        int fd = open((vol + "/filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0) << strerror(errno);
        std::string block(4096, 'x');
        while (write(fd, block.data(), block.size()) > 0) {
        }
        close(fd);
    }
    append(failure_event(31));
    ASSERT_TRUE(wait_until(
        [&] { return agent.log().find("cannot save the state") != std::string::npos; }, 10000))
        << agent.log();
    // While it fails (several retries, each creating a file in the watched directory):
    // nothing is sent, and the error is logged once.
    sleep(4);
    EXPECT_EQ(0u, trapd_.notifications().size()) << dump(trapd_.notifications());
    append(success_event(32));
    sleep(2);
    EXPECT_EQ(0u, trapd_.notifications().size()) << dump(trapd_.notifications());
    std::string during = agent.log();
    EXPECT_EQ(1u, count_of(during, "cannot save the state")) << during;
    EXPECT_LT(during.size(), 4000u) << "the log is flooded:\n" << during.substr(0, 4000);

    // Space again: the save succeeds at its next retry, the recovery is logged with the
    // count, and both notifications arrive, in order.
    ASSERT_EQ(0, unlink((vol + "/filler").c_str())) << strerror(errno);
    ASSERT_TRUE(
        trapd_.wait_for([](const std::vector<Notification> &ns) { return ns.size() >= 2; }, 20000))
        << dump(trapd_.notifications()) << agent.log();
    std::string after = agent.log();
    EXPECT_EQ(1u, count_of(after, "cannot save the state")) << after;
    EXPECT_EQ(1u, count_of(after, "the state is saved again (saving failed ")) << after;
    EXPECT_NE(std::string::npos, after.find(" times since ")) << after;
    EXPECT_EQ(0, agent.stop());
    auto ns = trapd_.notifications();
    SCOPED_TRACE(dump(ns));
    EXPECT_EQ((std::vector<std::string>{"31", "32"}), records(ns));
    ASSERT_EQ(2u, ns.size());
    EXPECT_EQ(oids::kAlertRaised, ns[0].trap_oid);
    EXPECT_EQ(oids::kAlertResolved, ns[1].trap_oid);
}

// --- a diagnoser run without a report ----------------------------------------------

TEST_F(DeliveryTest, ADiagnoserRunWithoutAReportDoesNotTurnDiagnosisOff)
{
    ASSERT_EQ("", trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net informs\n"));
    // Every check skipped: the runs are immediate and need no network.
    agent_->configure("enrollment-server enroll.contoso.com 127.0.0.1\n"
                      "diag-skip dns ping-loopback ping-gateway ping-dns-servers "
                      "ping-enrollment-ip ping-enrollment-fqdn https-enrollment https-dm-admin "
                      "enrollment-services ad-group loopback-check\n"
                      "informsink 127.0.0.1:" +
                      std::to_string(trapd_.port()) + " informs\n");
    agent_->set_run_extra({}, {"MDM_TEST_DIAG_DROP_REPORTS=1"});
    ASSERT_EQ("", agent_->start());

    agent_->append(failure_event(41));
    ASSERT_TRUE(agent_->wait_log("ended without a report")) << agent_->log();
    agent_->append(success_event(42));
    agent_->append(failure_event(43));
    // The second alert is diagnosed: its run reports, and mdmDiagnosis is sent.
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<Notification> &ns) {
        for (const auto &n : ns)
            if (n.trap_oid == kDiagnosis)
                return true;
        return false;
    })) << dump(trapd_.notifications())
        << agent_->log();
    EXPECT_EQ(2u, count_of(agent_->log(), "diagnoser: checking why")) << agent_->log();
    EXPECT_EQ(0, agent_->stop());
    EXPECT_EQ(std::string::npos, agent_->log().find("waiting for the diagnoser")) << agent_->log();
}

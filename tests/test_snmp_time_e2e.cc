/*
 * test_snmp_time_e2e.cc - the time-based monitor types end to end: the live
 * agent (`mdmhealth run`, its timers on the wall clock through its event
 * loop) and `mdmhealth replay --until T` over the same Event XML file (its
 * timers on the events' TimeCreated) give the same transitions, also across
 * a restart of the agent in the middle of a timer and a window.
 *
 * Real: mdmhealth run following a file the test appends to over real time
 * (each event's TimeCreated is the wall clock when it is appended), its state
 * directory, SIGTERM, snmptrapd receiving the agent's notifications, and
 * mdmhealth replay. Nothing is a double.
 *
 * What the live agent did is read from two places it reports to: its log
 * (every state change, one line each, stamped with the wall clock when the
 * agent made it) and the notifications snmptrapd received (every change that
 * raises or resolves an alert, carrying the change's own time in
 * mdmMonitorLastChange). The pack, tests/data/time-monitors.xml, has one
 * monitor of each time-based type: timer reset, repeated event, missing
 * event, timed correlation.
 *
 * Timing. The tests wait by polling for what they expect, with deadlines far
 * beyond need, and never for a fixed time except where real time must pass
 * (a window must slide, a timer must expire while the agent is stopped).
 * One thing a test must not do is stamp an event just before a timer of the
 * agent is due: replay orders the two by time, while the live agent can only
 * order them by arrival, so an event stamped before a due time but written
 * after the agent fired the timer is a race of the test, not of the agent.
 * append() keeps every event at least kMarginMs from every due time it knows
 * of (the timers its own events start and the missing-event schedule).
 */
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "snmp_fixtures.h"
#include "test_util.h"

using snmptest::Notification;
using snmptest::wait_until;
namespace oids = snmptest::oids;

namespace
{

const std::string kPack = MDM_TEST_DATA_DIR "/time-monitors.xml";
const std::string kTarget = "DM01";

/* The pack's times (tests/data/time-monitors.xml). */
const long long kTimerMs = 3000;      /* Test.Timer: TimerWaitInSeconds */
const long long kRepeatedMs = 3000;   /* Test.Repeated: the consolidator's Interval */
const long long kPeriodMs = 4000;     /* Test.Missing: the schedule's Interval */
const long long kCorrelatorMs = 3000; /* Test.Timed: TimeIntervalSeconds */

/* How far from a known due time an event is stamped (see the file comment). */
const long long kMarginMs = 700;
/*
 * How the agent's log stamp of a change may differ from the change's time.
 * Never earlier by more than kEarlyMs: the agent's engine clock is the wall
 * clock read at start advanced by the monotonic clock, and the log stamp is
 * the wall clock read when the line is written; an NTP slew (at most 500 ppm,
 * 15 ms in a test) and the stamps' millisecond truncation are all that
 * separates them. Never later than kLateMs after the change's time, or after
 * the start of the run that made it (a timer that came due while the agent
 * was stopped fires at start): an event wakes the agent through inotify and a
 * due time through the loop's own timer, armed to the millisecond, so
 * lateness is only the scheduling delay of a loaded machine (load average 10
 * on 2 cores here), far below the seconds by which a timer driven by anything
 * else (the next event, a poll) would be late.
 */
const long long kEarlyMs = 100;
const long long kLateMs = 3000;
/* Deadline of every wait for something the agent does. */
const int kWaitMs = 30000;

long long wall_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

std::string iso_ms(long long ms)
{
    std::time_t s = (std::time_t)(ms / 1000);
    struct tm tm;
    char buf[40], out[48];
    gmtime_r(&s, &tm);
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, sizeof(out), "%s.%03lldZ", buf, ms % 1000);
    return out;
}

/* "2026-12-06T14:14:55.466Z" -> ms since 1970; -1 when it is not such a time. */
long long parse_iso_ms(const std::string &text)
{
    struct tm tm = {};
    int ms = 0;
    if (sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) * 1000 + ms;
}

/* One state change: from the agent's log (time = the log stamp) or from replay (its time). */
struct Change {
    std::string monitor, target, from, to, alert;
    unsigned long long record = 0;
    long long time_ms = 0;
    long long run_start_ms = 0; /* live: the start of the run that logged it */

    std::string text() const
    {
        return iso_ms(time_ms) + " " + target + " " + monitor + " " + from + " -> " + to +
               " alert " + alert + " record " + std::to_string(record);
    }
};

std::string listing(const std::vector<Change> &changes)
{
    std::string out;
    for (const auto &c : changes)
        out += "  " + c.text() + "\n";
    return out;
}

/*
 * The state changes an agent's log holds, from lines such as
 * "2026-12-06T14:14:56.072Z mdmhealth: info: DM01: Test.Timer: unknown -> error,
 * alert raised (event 200, record 2)" (agent/cli/run_sources.c).
 */
std::vector<Change> log_changes(const std::string &log)
{
    static const std::string kInfo = " mdmhealth: info: ";
    std::vector<Change> out;
    long long run_start = -1;
    for (const auto &line : mdmtest::lines_of(log)) {
        size_t p = line.find(kInfo);
        if (p == std::string::npos)
            continue;
        long long stamp = parse_iso_ms(line.substr(0, p));
        std::string msg = line.substr(p + kInfo.size());
        if (msg.compare(0, 10, "mdmhealth ") == 0 && msg.find(" started: ") != std::string::npos)
            run_start = stamp;
        size_t arrow = msg.find(" -> ");
        size_t open = msg.rfind(" (event ");
        if (arrow == std::string::npos || open == std::string::npos || open < arrow)
            continue;
        size_t c1 = msg.find(": ");
        size_t c2 = c1 == std::string::npos ? c1 : msg.find(": ", c1 + 2);
        if (c2 == std::string::npos || c2 > arrow)
            continue;
        Change c;
        c.target = msg.substr(0, c1);
        c.monitor = msg.substr(c1 + 2, c2 - c1 - 2);
        c.from = msg.substr(c2 + 2, arrow - c2 - 2);
        std::string to = msg.substr(arrow + 4, open - arrow - 4);
        size_t comma = to.find(", alert ");
        c.alert = comma == std::string::npos ? "none" : to.substr(comma + 8);
        c.to = to.substr(0, comma);
        size_t rec = msg.find(", record ", open);
        c.record = rec == std::string::npos ? 0 : std::stoull(msg.substr(rec + 9));
        c.time_ms = stamp;
        c.run_start_ms = run_start;
        out.push_back(c);
    }
    return out;
}

/* The state changes `replay --json` printed. */
std::vector<Change> replay_changes(const std::string &out)
{
    std::vector<Change> changes;
    for (const auto &line : mdmtest::lines_of(out)) {
        Change c;
        c.monitor = mdmtest::json_field(line, "monitor");
        c.target = mdmtest::json_field(line, "computer");
        c.from = mdmtest::json_field(line, "from");
        c.to = mdmtest::json_field(line, "to");
        c.alert = mdmtest::json_field(line, "alert");
        c.record = std::stoull(mdmtest::json_field(line, "record_id"));
        c.time_ms = parse_iso_ms(mdmtest::json_field(line, "time"));
        changes.push_back(c);
    }
    return changes;
}

std::vector<Change> of_monitor(const std::vector<Change> &changes, const std::string &monitor)
{
    std::vector<Change> out;
    for (const auto &c : changes)
        if (c.monitor == monitor)
            out.push_back(c);
    return out;
}

/* One mdmAlertRaised / mdmAlertResolved as snmptrapd logged it. */
struct Trap {
    std::string alert; /* raised, resolved */
    std::string monitor;
    std::string state; /* INTEGER: 1 (healthy) / 3 (error) */
    long long time_ms; /* mdmMonitorLastChange (DateAndTime: to the tenth of a second) */
    std::string raw;
};

/* The value of the varbind of mdmMonitorTable column col (any row). */
std::string column_value(const Notification &n, int col, bool typed)
{
    const std::string prefix = oids::kRoot + ".1.2.1." + std::to_string(col) + ".";
    for (const auto &v : n.vars)
        if (v.first.compare(0, prefix.size(), prefix) == 0)
            return typed ? n.typed(v.first) : n.value(v.first);
    return "<absent>";
}

/* "07 EA 0C 06 0E 0E 37 04 2B 00 00" (DateAndTime, UTC) -> ms; -1 when not one. */
long long date_and_time_ms(const std::string &hex)
{
    std::istringstream in(hex);
    std::vector<int> b;
    std::string octet;
    while (in >> octet)
        b.push_back(std::stoi(octet, nullptr, 16));
    if (b.size() != 11 || b[8] != '+' || b[9] != 0 || b[10] != 0)
        return -1;
    struct tm tm = {};
    tm.tm_year = b[0] * 256 + b[1] - 1900;
    tm.tm_mon = b[2] - 1;
    tm.tm_mday = b[3];
    tm.tm_hour = b[4];
    tm.tm_min = b[5];
    tm.tm_sec = b[6];
    return (long long)timegm(&tm) * 1000 + b[7] * 100;
}

std::vector<Trap> traps_of(const std::vector<Notification> &ns)
{
    std::vector<Trap> out;
    for (const auto &n : ns) {
        if (n.trap_oid != oids::kAlertRaised && n.trap_oid != oids::kAlertResolved)
            continue;
        out.push_back({n.trap_oid == oids::kAlertRaised ? "raised" : "resolved",
                       column_value(n, oids::kName, false), column_value(n, oids::kState, true),
                       date_and_time_ms(column_value(n, oids::kLastChange, false)), n.raw});
    }
    return out;
}

/*
 * True when process pid is asleep in poll(): the agent waiting in its loop
 * with nothing to do (/proc/PID/wchan; a kernel that hides it gives "0", and
 * then the sleeping state alone is taken).
 */
bool asleep_in_poll(pid_t pid)
{
    std::string stat = snmptest::read_text("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'S')
        return false;
    std::string wchan = snmptest::read_text("/proc/" + std::to_string(pid) + "/wchan");
    return wchan.find("poll") != std::string::npos || wchan == "0" || wchan.empty();
}

class TimeE2ETest : public snmptest::AgentTest
{
  protected:
    void SetUp() override
    {
        prepare("time-e2e", {"snmptrapd"});
    }

    /* snmptrapd, then the agent following events.xml with the pack, notifying snmptrapd. */
    std::string start_all()
    {
        std::string err = trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net traps\n");
        if (!err.empty())
            return err;
        agent_->configure("pack " + kPack +
                          "\ntrap2sink 127.0.0.1:" + std::to_string(trapd_.port()) + " traps\n");
        return start_agent();
    }

    std::string start_agent()
    {
        runs_++;
        return agent_->start(kWaitMs);
    }

    /* True when an event stamped at t would not be just before a due time (file comment). */
    bool clear_of_dues(long long t) const
    {
        for (long long d : dues_)
            if (t > d - kMarginMs && t < d + kMarginMs)
                return false;
        if (t0_ != 0) { /* the missing-event schedule: periods end at t0_ + k * kPeriodMs */
            long long k = (t - t0_ + kPeriodMs / 2) / kPeriodMs;
            long long d = t0_ + std::max(1LL, k) * kPeriodMs;
            if (t > d - kMarginMs && t < d + kMarginMs)
                return false;
        }
        return true;
    }

    /*
     * Appends events of ids (publisher App, log Application, computer DM01),
     * in one write, all stamped with the wall clock at the moment they are
     * written, once that moment is clear of every due time. Returns the stamp.
     */
    long long append(const std::vector<unsigned> &ids)
    {
        while (!clear_of_dues(wall_ms()))
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        long long now = wall_ms();
        std::string xml;
        for (unsigned id : ids) {
            ++record_;
            xml += mdmtest::event_xml("App", id, record_, kTarget, iso_ms(now), "Application");
        }
        agent_->append(xml);
        if (t0_ == 0)
            t0_ = now; /* the target's first event starts its missing-event schedule */
        return now;
    }

    /* Every state change in the logs of every run so far, in order. */
    std::vector<Change> live() const
    {
        std::vector<Change> out;
        for (int run = 1; run <= runs_; run++) {
            auto part = log_changes(
                snmptest::read_text(agent_->dir() + "/mdm-" + std::to_string(run) + ".log"));
            out.insert(out.end(), part.begin(), part.end());
        }
        return out;
    }

    size_t count_live(const std::string &monitor, const std::string &to) const
    {
        size_t n = 0;
        for (const auto &c : live())
            n += c.monitor == monitor && c.to == to;
        return n;
    }

    /* Waits until the agent has logged the n-th change of monitor into `to`. */
    ::testing::AssertionResult wait_change(const std::string &monitor, const std::string &to,
                                           size_t n = 1)
    {
        if (wait_until([&] { return count_live(monitor, to) >= n; }, kWaitMs))
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure()
               << "the agent did not log change " << n << " of " << monitor << " into " << to
               << " within " << kWaitMs / 1000 << " s; it logged:\n"
               << listing(live()) << agent_->log();
    }

    /* The pending line of monitor in the agent's state file (timer or window), or "". */
    std::string pending_line(const std::string &monitor) const
    {
        for (const auto &line : mdmtest::lines_of(snmptest::read_text(agent_->state_file())))
            if (line.compare(0, 8, "pending ") == 0 &&
                line.find(" " + monitor + " ") != std::string::npos)
                return line;
        return "";
    }

    /*
     * True when the saved position is the end of the events file: the offset
     * after the last event evaluated, followed by nothing but its line end.
     */
    bool read_to_end() const
    {
        const std::string events = snmptest::read_text(agent_->events_path());
        for (const auto &line : mdmtest::lines_of(snmptest::read_text(agent_->state_file())))
            if (line.compare(0, 9, "position ") == 0) {
                size_t offset = (size_t)std::strtoull(line.c_str() + 9, nullptr, 10);
                return offset <= events.size() &&
                       events.find_first_not_of(" \t\r\n", offset) == std::string::npos;
            }
        return false;
    }

    std::vector<Change> replay(long long until_ms, std::string *err_out)
    {
        auto r =
            snmptest::run_with_env({MDM_BINARY, "replay", "-c", agent_->config_path(), "--json",
                                    "--until", iso_ms(until_ms), agent_->events_path()},
                                   {}, 120000);
        EXPECT_EQ(0, r.status) << r.err;
        *err_out = r.err;
        return replay_changes(r.out);
    }

    /*
     * The live agent's changes are replay's: same monitors, targets, states,
     * alerts and causing records, in the same order; each logged no earlier
     * than its time and not later than kLateMs after it (or after the start
     * of the run that made it).
     */
    void expect_same_changes(const std::vector<Change> &got, const std::vector<Change> &want)
    {
        ASSERT_EQ(want.size(), got.size()) << "replay:\n"
                                           << listing(want) << "live agent:\n"
                                           << listing(got);
        for (size_t i = 0; i < want.size(); i++) {
            SCOPED_TRACE("change " + std::to_string(i) + ": replay " + want[i].text() + " / live " +
                         got[i].text());
            EXPECT_EQ(want[i].monitor, got[i].monitor);
            EXPECT_EQ(want[i].target, got[i].target);
            EXPECT_EQ(want[i].from, got[i].from);
            EXPECT_EQ(want[i].to, got[i].to);
            EXPECT_EQ(want[i].alert, got[i].alert);
            EXPECT_EQ(want[i].record, got[i].record);
            EXPECT_GE(got[i].time_ms, want[i].time_ms - kEarlyMs);
            EXPECT_LE(got[i].time_ms, std::max(want[i].time_ms, got[i].run_start_ms) + kLateMs);
        }
    }

    /*
     * The notifications snmptrapd received are replay's alerts, in order, each
     * carrying the change's time (DateAndTime keeps tenths of a second).
     */
    void expect_traps_match(const std::vector<Change> &want_all)
    {
        std::vector<Change> want;
        for (const auto &c : want_all)
            if (c.alert == "raised" || c.alert == "resolved")
                want.push_back(c);
        ASSERT_TRUE(trapd_.wait_for(
            [&](const std::vector<Notification> &ns) { return traps_of(ns).size() >= want.size(); },
            kWaitMs))
            << "expected " << want.size() << " notifications:\n"
            << listing(want) << trapd_.log();
        auto got = traps_of(trapd_.notifications());
        ASSERT_EQ(want.size(), got.size()) << trapd_.log();
        for (size_t i = 0; i < want.size(); i++) {
            SCOPED_TRACE("notification " + std::to_string(i) + " for " + want[i].text() + ": " +
                         got[i].raw);
            EXPECT_EQ(want[i].alert, got[i].alert);
            EXPECT_EQ(want[i].monitor, got[i].monitor);
            EXPECT_EQ(want[i].to == "error" ? "INTEGER: 3" : "INTEGER: 1", got[i].state);
            EXPECT_EQ(want[i].time_ms / 100 * 100, got[i].time_ms) << iso_ms(got[i].time_ms);
        }
    }

    /* A change expected of a monitor (the test's own model of the scenario). */
    static Change expect(const std::string &monitor, const std::string &from, const std::string &to,
                         const std::string &alert, unsigned long long record, long long time_ms)
    {
        Change c;
        c.monitor = monitor;
        c.target = kTarget;
        c.from = from;
        c.to = to;
        c.alert = alert;
        c.record = record;
        c.time_ms = time_ms;
        return c;
    }

    void expect_monitor(const std::vector<Change> &changes, const std::string &monitor,
                        const std::vector<Change> &want)
    {
        auto got = of_monitor(changes, monitor);
        ASSERT_EQ(want.size(), got.size()) << monitor << ": expected\n"
                                           << listing(want) << "replay gave\n"
                                           << listing(got);
        for (size_t i = 0; i < want.size(); i++)
            EXPECT_EQ(want[i].text(), got[i].text()) << monitor << " change " << i;
    }

    /* The end of the n-th period of the missing-event schedule (1-based). */
    long long period_end(long long n) const
    {
        return t0_ + n * kPeriodMs;
    }
    /* The index of the period that holds time t. */
    long long period_of(long long t) const
    {
        return (t - t0_) / kPeriodMs;
    }

    std::vector<long long> dues_;
    unsigned long long record_ = 0;
    long long t0_ = 0;
    int runs_ = 0;
};

/*
 * One run of the agent through every time-based type: timers fired by the
 * agent's loop with no event after them, a sliding window, a missing-event
 * schedule, a correlation window; then replay of the same file to the moment
 * the run ended gives the same changes.
 */
TEST_F(TimeE2ETest, ReplayGivesTheTransitionsOfTheLiveAgent)
{
    ASSERT_EQ("", start_all());

    // The target's first event: Test.Missing healthy, its schedule starts (periods of 4 s).
    const long long t_first = append({900});
    ASSERT_TRUE(wait_change("Test.Missing", "healthy"));

    // Test.Timer: error, and healthy 3 s later by the wall clock alone.
    const long long t_timer = append({200});
    const unsigned long long r_timer = record_;
    dues_.push_back(t_timer + kTimerMs);
    ASSERT_TRUE(wait_change("Test.Timer", "error"));
    ASSERT_TRUE(wait_change("Test.Timer", "healthy"));

    // Test.Repeated: two 400s, then (more than the 3 s window later) three more:
    // the first two slid out, so the count reaches 3 with the last of the three.
    append({400, 400});
    std::this_thread::sleep_for(std::chrono::milliseconds(kRepeatedMs + 300));
    const long long t_repeated = append({400, 400, 400});
    const unsigned long long r_repeated = record_;
    ASSERT_TRUE(wait_change("Test.Repeated", "error"));
    const long long t_recovered = append({401});
    const unsigned long long r_recovered = record_;
    ASSERT_TRUE(wait_change("Test.Repeated", "healthy"));

    // Test.Missing: a period without a 900 ends -> error; a 900 -> healthy.
    ASSERT_TRUE(wait_change("Test.Missing", "error"));
    const long long t_back = append({900});
    const unsigned long long r_back = record_;
    ASSERT_TRUE(wait_change("Test.Missing", "healthy", 2));

    // Test.Timed: a 710 not followed by a 711 within 3 s -> error at the window's end;
    // a 711 -> healthy; a 710 followed by its 711 -> no change.
    const long long t_first_event = append({710});
    dues_.push_back(t_first_event + kCorrelatorMs);
    ASSERT_TRUE(wait_change("Test.Timed", "error"));
    const long long t_second = append({711});
    const unsigned long long r_second = record_;
    ASSERT_TRUE(wait_change("Test.Timed", "healthy"));
    append({710, 711});

    // The period after the one of the last 900 holds none: Test.Missing error
    // again. From then on its empty periods only repeat the state and nothing
    // else is pending: the run can end at any moment.
    ASSERT_TRUE(wait_change("Test.Missing", "error", 2));
    ASSERT_TRUE(
        wait_until([&] { return read_to_end() && pending_line("Test.Timed").empty(); }, kWaitMs))
        << snmptest::read_text(agent_->state_file());
    const long long end = wall_ms();
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());

    std::string err;
    auto replayed = replay(end, &err);
    SCOPED_TRACE("replay --until " + iso_ms(end) + ":\n" + listing(replayed) + err);

    // Replay is what the pack says of these events (the test's own model)...
    expect_monitor(replayed, "Test.Timer",
                   {expect("Test.Timer", "unknown", "error", "raised", r_timer, t_timer),
                    expect("Test.Timer", "error", "healthy", "resolved", 0, t_timer + kTimerMs)});
    expect_monitor(
        replayed, "Test.Repeated",
        {expect("Test.Repeated", "unknown", "error", "raised", r_repeated, t_repeated),
         expect("Test.Repeated", "error", "healthy", "resolved", r_recovered, t_recovered)});
    expect_monitor(replayed, "Test.Missing",
                   {expect("Test.Missing", "unknown", "healthy", "none", 1, t_first),
                    expect("Test.Missing", "healthy", "error", "raised", 0, period_end(2)),
                    expect("Test.Missing", "error", "healthy", "resolved", r_back, t_back),
                    expect("Test.Missing", "healthy", "error", "raised", 0,
                           period_end(period_of(t_back) + 2))});
    expect_monitor(
        replayed, "Test.Timed",
        {expect("Test.Timed", "unknown", "error", "raised", 0, t_first_event + kCorrelatorMs),
         expect("Test.Timed", "error", "healthy", "resolved", r_second, t_second)});
    // ...and the live agent made the same changes, in the same order, in real time,
    // and notified each alert with the change's own time.
    expect_same_changes(live(), replayed);
    expect_traps_match(replayed);
}

/*
 * The agent stops (SIGTERM) while Test.Timer's timer and Test.Timed's window
 * are pending, stays down until both and a period of Test.Missing's schedule
 * have ended, and starts again with the same state directory: each fires at
 * start, once, at its own due time, and replay of the same events to the same
 * end agrees; a timer started after the restart fires live as before.
 */
TEST_F(TimeE2ETest, RestartFiresWhatCameDueWhileStoppedOnceAndReplayAgrees)
{
    ASSERT_EQ("", start_all());
    const long long t_first = append({900});
    ASSERT_TRUE(wait_change("Test.Missing", "healthy"));
    const long long t_timer = append({200});
    dues_.push_back(t_timer + kTimerMs);
    ASSERT_TRUE(wait_change("Test.Timer", "error"));
    const long long t_window = append({710});
    dues_.push_back(t_window + kCorrelatorMs);
    ASSERT_TRUE(wait_until([&] { return !pending_line("Test.Timed").empty(); }, kWaitMs))
        << snmptest::read_text(agent_->state_file());
    ASSERT_TRUE(queue_drained());

    EXPECT_EQ(0, agent_->stop());
    // The premise: the agent stopped before the timer and the window came due.
    ASSERT_EQ(0u, count_live("Test.Timer", "healthy"))
        << "the agent stopped only after its timer was due (an overloaded machine?)\n"
        << agent_->log();
    ASSERT_EQ(0u, count_live("Test.Timed", "error")) << agent_->log();
    const std::string state = snmptest::read_text(agent_->state_file());
    EXPECT_NE("", pending_line("Test.Timer")) << state;
    EXPECT_NE("", pending_line("Test.Timed")) << state;

    // Down until the timer, the window and the second period of the schedule have ended.
    const long long down_until =
        std::max({t_timer + kTimerMs, t_window + kCorrelatorMs, t_first + 2 * kPeriodMs}) +
        kMarginMs;
    while (wall_ms() < down_until)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const long long restart = wall_ms();
    ASSERT_EQ("", start_agent());
    ASSERT_TRUE(wait_change("Test.Timer", "healthy"));
    ASSERT_TRUE(wait_change("Test.Timed", "error"));
    ASSERT_TRUE(wait_change("Test.Missing", "error"));
    // Each once, by the second run, at start (its due time was before the restart).
    for (const char *m : {"Test.Timer", "Test.Timed", "Test.Missing"}) {
        auto changes = of_monitor(live(), m);
        ASSERT_FALSE(changes.empty());
        const Change &c = changes.back();
        EXPECT_EQ(0u, c.record) << c.text();
        EXPECT_GE(c.time_ms, restart) << c.text();
        EXPECT_GE(c.run_start_ms, restart) << c.text();
    }

    // A timer started after the restart fires live, as before.
    const long long t_again = append({200});
    dues_.push_back(t_again + kTimerMs);
    ASSERT_TRUE(wait_change("Test.Timer", "error", 2));
    ASSERT_TRUE(wait_change("Test.Timer", "healthy", 2));
    ASSERT_TRUE(wait_until([&] { return read_to_end(); }, kWaitMs));
    const long long end = wall_ms();
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());

    std::string err;
    auto replayed = replay(end, &err);
    SCOPED_TRACE("replay --until " + iso_ms(end) + ":\n" + listing(replayed) + err);
    expect_monitor(replayed, "Test.Timer",
                   {expect("Test.Timer", "unknown", "error", "raised", 2, t_timer),
                    expect("Test.Timer", "error", "healthy", "resolved", 0, t_timer + kTimerMs),
                    expect("Test.Timer", "healthy", "error", "raised", 4, t_again),
                    expect("Test.Timer", "error", "healthy", "resolved", 0, t_again + kTimerMs)});
    expect_monitor(
        replayed, "Test.Timed",
        {expect("Test.Timed", "unknown", "error", "raised", 0, t_window + kCorrelatorMs)});
    expect_monitor(replayed, "Test.Missing",
                   {expect("Test.Missing", "unknown", "healthy", "none", 1, t_first),
                    expect("Test.Missing", "healthy", "error", "raised", 0, period_end(2))});
    expect_same_changes(live(), replayed);
    // One notification each (none repeated by the restart), with the due time.
    expect_traps_match(replayed);
}

/*
 * An event written before a timer is due but read after it (the agent was
 * busy, descheduled, or here stopped with SIGSTOP) is evaluated before the
 * timer fires, as replay evaluates it: a repeat of the timer-reset monitor's
 * state, which does not restart its timer. The agent used to fire the timer
 * first, on its loop timer, and then take the event as a new failure with a
 * timer of its own: two changes replay never gives.
 */
TEST_F(TimeE2ETest, EventWrittenBeforeATimerIsDueCountsBeforeItWhenReadAfter)
{
    ASSERT_EQ("", start_all());
    const long long t_timer = append({200});
    dues_.push_back(t_timer + kTimerMs);
    ASSERT_TRUE(wait_change("Test.Timer", "error"));
    ASSERT_TRUE(queue_drained());
    const pid_t pid = agent_->process().pid();
    ASSERT_TRUE(wait_until([&] { return asleep_in_poll(pid); }, kWaitMs));

    // The agent cannot read while stopped: the repeat, written 3 s before the
    // due time, and the due time itself are both there when it wakes.
    agent_->process().signal(SIGSTOP);
    const long long t_repeat = append({200});
    ASSERT_LT(t_repeat, t_timer + kTimerMs - kMarginMs);
    while (wall_ms() < t_timer + kTimerMs + kMarginMs)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    agent_->process().signal(SIGCONT);

    ASSERT_TRUE(wait_change("Test.Timer", "healthy"));
    // The target's first period of the schedule held no 900: Test.Missing's error ends the story.
    ASSERT_TRUE(wait_change("Test.Missing", "error"));
    ASSERT_TRUE(
        wait_until([&] { return read_to_end() && pending_line("Test.Timer").empty(); }, kWaitMs))
        << snmptest::read_text(agent_->state_file());
    const long long end = wall_ms();
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());

    std::string err;
    auto replayed = replay(end, &err);
    SCOPED_TRACE("replay --until " + iso_ms(end) + ":\n" + listing(replayed) + err);
    expect_monitor(replayed, "Test.Timer",
                   {expect("Test.Timer", "unknown", "error", "raised", 1, t_timer),
                    expect("Test.Timer", "error", "healthy", "resolved", 0, t_timer + kTimerMs)});
    expect_same_changes(live(), replayed);
    expect_traps_match(replayed);
}

/*
 * The same at start: events written while the agent was stopped, more than
 * one turn of the loop reads (512), the last a repeat written before the
 * timer's due time. The agent reads them all before it fires what came due
 * while it was down; it used to fire the timer after the first batch.
 */
TEST_F(TimeE2ETest, BacklogReadAtStartIsEvaluatedBeforeTheTimersItPrecedes)
{
    ASSERT_EQ("", start_all());
    const long long t_timer = append({200});
    dues_.push_back(t_timer + kTimerMs);
    ASSERT_TRUE(wait_change("Test.Timer", "error"));
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());
    ASSERT_EQ(0u, count_live("Test.Timer", "healthy"))
        << "the agent stopped only after its timer was due (an overloaded machine?)\n"
        << agent_->log();

    // While it is down: 600 events no monitor matches, then the repeat.
    const long long t_backlog = append(std::vector<unsigned>(600, 1));
    const long long t_repeat = append({200});
    ASSERT_LT(t_repeat, t_timer + kTimerMs - kMarginMs) << "the backlog took too long to write";
    // Down past the timer and the first period of Test.Missing's schedule.
    while (wall_ms() < t_timer + kPeriodMs + kMarginMs)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ("", start_agent());
    ASSERT_TRUE(wait_change("Test.Timer", "healthy"));
    ASSERT_TRUE(wait_change("Test.Missing", "error"));
    ASSERT_TRUE(
        wait_until([&] { return read_to_end() && pending_line("Test.Timer").empty(); }, kWaitMs))
        << snmptest::read_text(agent_->state_file());
    const long long end = wall_ms();
    ASSERT_TRUE(queue_drained());
    EXPECT_EQ(0, agent_->stop());

    std::string err;
    auto replayed = replay(end, &err);
    SCOPED_TRACE("replay --until " + iso_ms(end) + ":\n" + listing(replayed) + err);
    EXPECT_LE(t_backlog, t_repeat);
    expect_monitor(replayed, "Test.Timer",
                   {expect("Test.Timer", "unknown", "error", "raised", 1, t_timer),
                    expect("Test.Timer", "error", "healthy", "resolved", 0, t_timer + kTimerMs)});
    expect_same_changes(live(), replayed);
    expect_traps_match(replayed);
}

} // namespace

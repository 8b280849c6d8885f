// test_engine_types.cc - the event-log monitor family beyond the 2-state type:
// manual reset, timer reset, repeated events (consolidator), with time passed
// in, restart mid-window and mid-timer through the state file.
#include <gtest/gtest.h>

#include <climits>
#include <sstream>
#include <string>
#include <vector>

#include "engine_fixtures.h"
#include "agent/engine/monitor.h"
#include "agent/engine/pack.h"
#include "agent/engine/store.h"
#include "test_util.h"

using mdmtest::TestEvent;

namespace
{

const long long kT0 = 1795582800000LL; // 2026-11-25T05:00:00Z, TestEvent's record-0 time

std::string app_expression(unsigned id)
{
    return "<And><Expression><SimpleExpression><ValueExpression><XPathQuery>PublisherName"
           "</XPathQuery></ValueExpression><Operator>Equal</Operator><ValueExpression><Value>App"
           "</Value></ValueExpression></SimpleExpression></Expression><Expression>"
           "<SimpleExpression><ValueExpression><XPathQuery Type=\"UnsignedInteger\">"
           "EventDisplayNumber</XPathQuery></ValueExpression><Operator>Equal</Operator>"
           "<ValueExpression><Value Type=\"UnsignedInteger\">" +
           std::to_string(id) + "</Value></ValueExpression></SimpleExpression></Expression></And>";
}

// <PREFIXComputerName>, <PREFIXLogName>, <PREFIXExpression> for App's event id in Application.
std::string detector(const std::string &prefix, unsigned id, const std::string &computer = ".")
{
    return "<" + prefix + "ComputerName>" + computer + "</" + prefix + "ComputerName><" + prefix +
           "LogName>Application</" + prefix + "LogName><" + prefix + "Expression>" +
           app_expression(id) + "</" + prefix + "Expression>";
}

std::string consolidator(unsigned count, unsigned interval_s, const std::string &mode)
{
    return "<Consolidator><ConsolidationProperties /><TimeControl><WithinTimeSchedule><Interval>" +
           std::to_string(interval_s) +
           "</Interval></WithinTimeSchedule></TimeControl><CountingCondition><Count>" +
           std::to_string(count) + "</Count><CountMode>" + mode +
           "</CountMode></CountingCondition></Consolidator>";
}

const std::string kSliding = "OnNewItemTestOutputRestart_OnTimerSlideByOne";
const std::string kRestart = "OnNewItemTestOutputRestart_OnTimerRestart";

std::string op_state(const std::string &id, const std::string &type_state,
                     const std::string &health)
{
    return "<OperationalState ID=\"" + id + "\" MonitorTypeStateID=\"" + type_state +
           "\" HealthState=\"" + health + "\"/>";
}

std::string unit_monitor(const std::string &id, const std::string &type, const std::string &states,
                         const std::string &config,
                         const std::string &param = "$Data/Context/EventDescription$")
{
    return "<UnitMonitor ID=\"" + id +
           "\" Accessibility=\"Public\" Enabled=\"true\" Target=\"Windows!Microsoft.Windows."
           "Computer\" Remotable=\"true\" Priority=\"Normal\" TypeID=\"Windows!" +
           type + "\" ConfirmDelivery=\"false\">\n<Category>AvailabilityHealth</Category>\n" +
           "<AlertSettings AlertMessage=\"" + id +
           ".Alert\"><AlertOnState>Error</AlertOnState><AutoResolve>true</AutoResolve>"
           "<AlertPriority>Normal</AlertPriority><AlertSeverity>MatchMonitorHealth</AlertSeverity>"
           "<AlertParameters><AlertParameter1>" +
           param + "</AlertParameter1></AlertParameters></AlertSettings>\n<OperationalStates>" +
           states + "</OperationalStates>\n<Configuration>" + config +
           "</Configuration>\n</UnitMonitor>\n";
}

std::string pack(const std::string &monitors, const std::string &strings = "")
{
    return "<ManagementPack ContentReadable=\"true\" SchemaVersion=\"2.0\">\n<Manifest><Identity>"
           "<ID>Test.Family</ID><Version>1.0.0.0</Version></Identity><References><Reference "
           "Alias=\"Windows\"><ID>Microsoft.Windows.Library</ID><Version>6.0.0.0</Version>"
           "</Reference></References></Manifest>\n<Monitoring><Monitors>\n" +
           monitors + "</Monitors></Monitoring>\n" + strings + "</ManagementPack>\n";
}

// The library types as an author writes them.
std::string manual_reset_monitor(const std::string &id = "Test.Manual")
{
    return unit_monitor(id, "Microsoft.Windows.SingleEventLogManualReset2StateMonitorType",
                        op_state("Bad", "EventRaised", "Error") +
                            op_state("Reset", "ManualResetEventRaised", "Success"),
                        detector("", 100));
}

std::string timer_monitor(unsigned seconds, const std::string &id = "Test.Timer")
{
    return unit_monitor(id, "Microsoft.Windows.SingleEventLogTimer2StateMonitorType",
                        op_state("Bad", "EventRaised", "Warning") +
                            op_state("Timer", "TimerEventRaised", "Success"),
                        detector("", 200) + "<TimerWaitInSeconds>" + std::to_string(seconds) +
                            "</TimerWaitInSeconds>");
}

std::string repeated_timer_monitor(unsigned count, unsigned interval, const std::string &mode,
                                   unsigned timer, const std::string &id = "Test.Repeated")
{
    return unit_monitor(id, "Microsoft.Windows.RepeatedEventLogTimer2StateMonitorType",
                        op_state("Bad", "RepeatedEventRaised", "Error") +
                            op_state("Timer", "TimerEventRaised", "Success"),
                        detector("", 300) + consolidator(count, interval, mode) +
                            "<TimerWaitInSeconds>" + std::to_string(timer) +
                            "</TimerWaitInSeconds>");
}

// Kevin Holman's Monitor.EventLog.RepeatedEvent.Alert.EventReset fragment's shape.
std::string repeated_event_reset_monitor(const std::string &id = "Test.RepeatedReset")
{
    return unit_monitor(id, "Microsoft.Windows.RepeatedEventLogSingleEventLog2StateMonitorType",
                        op_state("Good", "EventRaised", "Success") +
                            op_state("Bad", "RepeatedEventRaised", "Error"),
                        detector("", 401) + detector("Repeated", 400) +
                            consolidator(3, 60, kSliding),
                        "$Data/Context/Context/DataItem/EventDisplayNumber$");
}

struct Change {
    std::string monitor, target;
    mdm_health from, to;
    mdm_alert_action alert;
    mdm_cause cause;
    long long time_ms;
    unsigned long long record;
    std::string alert_text;
};

class TypesTest : public ::testing::Test
{
  protected:
    mdm_pack *pack_ = nullptr;
    mdm_engine *engine = nullptr;
    std::vector<Change> changes;
    mdm_err err;

    void load(const std::string &monitors, const std::string &strings = "")
    {
        std::string xml = pack(monitors, strings);
        mdm_err_clear(&err);
        ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "family.xml", &pack_, &err))
            << err.msg;
        ASSERT_EQ(0u, pack_->skip_count) << pack_->skips[0].reason;
        ASSERT_EQ(0, mdm_engine_new(pack_, true, &engine, &err)) << err.msg;
    }

    // A second engine over the same pack, as after a restart.
    mdm_engine *restart(const std::string &dir)
    {
        char position[MDM_STORE_POSITION_MAX];
        mdm_engine *e = nullptr;
        EXPECT_EQ(0, mdm_store_save(dir.c_str(), engine, "pos", &err)) << err.msg;
        EXPECT_EQ(0, mdm_engine_new(pack_, true, &e, &err)) << err.msg;
        EXPECT_EQ(0, mdm_store_load(dir.c_str(), e, position, sizeof(position), nullptr, &err))
            << err.msg;
        mdm_engine_free(engine);
        engine = e;
        return e;
    }

    static int record(const mdm_transition *t, void *ctx)
    {
        auto *self = static_cast<TypesTest *>(ctx);
        self->changes.push_back({t->def->id, t->target, t->from, t->to, t->alert, t->cause,
                                 (long long)t->time_ms, (unsigned long long)t->event->record_id,
                                 t->alert_text});
        return 0;
    }

    // An App event `id` in Application from DM01 at kT0 + seconds.
    void feed(unsigned id, long long seconds, unsigned long long rec = 1,
              const std::string &computer = "DM01")
    {
        TestEvent e("App", id, computer, rec, "Application", 0, "event " + std::to_string(rec));
        e.ev.time_unix_ms = kT0 + seconds * 1000;
        mdm_err_clear(&err);
        ASSERT_EQ(0, mdm_engine_process(engine, &e.ev, record, this, &err)) << err.msg;
    }

    void advance(long long seconds)
    {
        ASSERT_EQ(0, mdm_engine_advance(engine, kT0 + seconds * 1000, record, this, &err));
    }

    mdm_instance *instance(const char *id, const char *target = "DM01")
    {
        for (size_t t = 0; t < mdm_engine_target_count(engine); t++)
            if (mdm_computer_matches(mdm_engine_target(engine, t), target))
                return mdm_engine_find_instance(engine, t, id);
        return nullptr;
    }

    void TearDown() override
    {
        mdm_engine_free(engine);
        mdm_pack_free(pack_);
    }
};

// ---- SingleEventLogManualReset2StateMonitorType ------------------------------

TEST_F(TypesTest, ManualResetStaysUntilResetThenResolves)
{
    load(manual_reset_monitor());
    const mdm_monitor_def &def = pack_->monitors[0];
    EXPECT_EQ(1u, def.detector_count);
    EXPECT_EQ(MDM_RESET_MANUAL, def.reset);
    EXPECT_EQ(MDM_HEALTH_HEALTHY, def.reset_health);
    EXPECT_STREQ("Reset", def.reset_state_id);

    feed(100, 0, 1);
    feed(100, 10, 2);     // a repeat: counted, no change
    advance(86400 * 365); // no timer: time alone changes nothing
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_UNKNOWN, changes[0].from);
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[0].to);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[0].alert);
    EXPECT_EQ(MDM_CAUSE_EVENT, changes[0].cause);
    EXPECT_EQ(1u, instance("Test.Manual")->state.repeat_count);
    EXPECT_EQ(INT64_MAX, mdm_engine_next_deadline(engine));

    long long at = kT0 + 86400LL * 366 * 1000;
    ASSERT_EQ(0,
              mdm_engine_reset(engine, "Test.Manual", "dm01.contoso.com", at, record, this, &err))
        << err.msg;
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[1].from);
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[1].to);
    EXPECT_EQ(MDM_ALERT_RESOLVED, changes[1].alert);
    EXPECT_EQ(MDM_CAUSE_RESET, changes[1].cause);
    EXPECT_EQ(at, changes[1].time_ms);
    EXPECT_EQ(0u, changes[1].record);

    // Already healthy: a second reset changes nothing.
    ASSERT_EQ(0, mdm_engine_reset(engine, "Test.Manual", nullptr, at, record, this, &err));
    EXPECT_EQ(2u, changes.size());
    EXPECT_EQ(2u, mdm_engine_stats(engine)->resets);
}

TEST_F(TypesTest, ResetNamesAnUnknownMonitorOrTarget)
{
    load(manual_reset_monitor());
    EXPECT_EQ(MDM_ENOTFOUND,
              mdm_engine_reset(engine, "Test.Manual", "DM01", kT0, record, this, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("no target DM01")) << err.msg;
    feed(100, 0);
    EXPECT_EQ(MDM_ENOTFOUND,
              mdm_engine_reset(engine, "No.Such.Monitor", nullptr, kT0, record, this, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("No.Such.Monitor")) << err.msg;
    EXPECT_EQ(MDM_ENOTFOUND,
              mdm_engine_reset(engine, "Test.Manual", "DM02", kT0, record, this, &err));
    EXPECT_EQ(1u, changes.size());
}

TEST_F(TypesTest, ResetOfAnEventResetMonitorIsResetHealth)
{
    // The 2-state type has no ManualResetEventRaised: SCOM's "Reset Health" -> healthy.
    mdmtest::PackOptions o;
    std::string xml = mdmtest::pack_xml(o);
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "t.xml", &pack_, &err)) << err.msg;
    ASSERT_EQ(0, mdm_engine_new(pack_, true, &engine, &err));
    TestEvent bad("Device Manager", 1003, "DM01", 1);
    ASSERT_EQ(0, mdm_engine_process(engine, &bad.ev, record, this, &err));
    ASSERT_EQ(0, mdm_engine_reset(engine, o.id.c_str(), "DM01", bad.ev.time_unix_ms + 1000, record,
                                  this, &err));
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[1].to);
    EXPECT_EQ(MDM_CAUSE_RESET, changes[1].cause);
}

// ---- SingleEventLogTimer2StateMonitorType ------------------------------------

TEST_F(TypesTest, TimerResetFiresAfterTheWaitFromTheFirstDetection)
{
    load(timer_monitor(60));
    EXPECT_EQ(60000, pack_->monitors[0].timer_ms);
    feed(200, 0, 1);
    EXPECT_EQ(kT0 + 60000, mdm_engine_next_deadline(engine));
    feed(200, 30, 2); // a repeat does not restart the timer
    EXPECT_EQ(kT0 + 60000, mdm_engine_next_deadline(engine));
    advance(59);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_WARNING, changes[0].to);
    EXPECT_EQ(MDM_ALERT_NONE, changes[0].alert); // AlertOnState Error
    advance(60);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_WARNING, changes[1].from);
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[1].to);
    EXPECT_EQ(MDM_CAUSE_TIMER, changes[1].cause);
    EXPECT_EQ(kT0 + 60000, changes[1].time_ms);
    EXPECT_EQ(INT64_MAX, mdm_engine_next_deadline(engine));
    EXPECT_EQ(1u, mdm_engine_stats(engine)->timers_fired);
    // Time never goes back.
    advance(10);
    EXPECT_EQ(kT0 + 60000, mdm_engine_now(engine));
}

TEST_F(TypesTest, EventTimeDrivesTheTimerInAReplay)
{
    load(timer_monitor(60));
    feed(200, 0, 1);
    // The next event, 2 minutes later from another computer: the timer is due
    // before it, so it fires first, at its own time.
    feed(999, 120, 2, "DM02");
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_CAUSE_TIMER, changes[1].cause);
    EXPECT_EQ(kT0 + 60000, changes[1].time_ms);
    EXPECT_EQ(kT0 + 120000, mdm_engine_now(engine));
}

TEST_F(TypesTest, TimerSurvivesARestartAndFiresWhenItExpiredWhileDown)
{
    load(timer_monitor(300));
    feed(200, 0, 1);
    std::string dir = mdmtest::make_temp_dir("types");
    restart(dir);
    ASSERT_NE(nullptr, instance("Test.Timer"));
    EXPECT_EQ(MDM_HEALTH_WARNING, instance("Test.Timer")->state.health);
    EXPECT_EQ(kT0 + 300000, mdm_engine_next_deadline(engine));
    // Down for an hour: the first advance at start fires it, at its due time.
    advance(3600);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[1].to);
    EXPECT_EQ(kT0 + 300000, changes[1].time_ms);
}

TEST_F(TypesTest, ManualResetClearsAPendingTimer)
{
    load(timer_monitor(60));
    feed(200, 0, 1);
    ASSERT_EQ(0, mdm_engine_reset(engine, "Test.Timer", nullptr, kT0 + 1000, record, this, &err));
    EXPECT_EQ(INT64_MAX, mdm_engine_next_deadline(engine));
    advance(120);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_CAUSE_RESET, changes[1].cause);
}

TEST_F(TypesTest, TimersOfSeveralTargetsFireInDueOrder)
{
    load(timer_monitor(60));
    feed(200, 10, 1, "DM02");
    feed(200, 0, 2, "DM01"); // older event, later in the input: counted at the engine's time
    feed(200, 20, 3, "DM03");
    advance(1000);
    ASSERT_EQ(6u, changes.size());
    EXPECT_EQ("DM02", changes[3].target);
    EXPECT_EQ("DM01", changes[4].target);
    EXPECT_EQ("DM03", changes[5].target);
    EXPECT_EQ(kT0 + 70000, changes[3].time_ms);
    EXPECT_EQ(kT0 + 70000, changes[4].time_ms);
    EXPECT_EQ(kT0 + 80000, changes[5].time_ms);
}

// ---- RepeatedEventLog...2StateMonitorType (System.ConsolidatorCondition) ----

TEST_F(TypesTest, RepeatedCountWithinTheIntervalDetects)
{
    load(repeated_timer_monitor(3, 60, kSliding, 600));
    const mdm_detector &d = pack_->monitors[0].detectors[0];
    EXPECT_EQ(MDM_CONDITION_CONSOLIDATOR, d.condition);
    EXPECT_EQ(3u, d.repeat_count);
    EXPECT_EQ(60000, d.repeat_interval_ms);
    EXPECT_EQ(MDM_COUNT_SLIDING, d.count_mode);
    feed(300, 0, 1);
    feed(300, 10, 2);
    EXPECT_TRUE(changes.empty());
    EXPECT_EQ(2u, instance("Test.Repeated")->state.window_count);
    feed(300, 20, 3);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[0].to);
    EXPECT_EQ(3u, changes[0].record);
    // Counting restarted at the detection; the timer reset comes 600 s later.
    EXPECT_EQ(0u, instance("Test.Repeated")->state.window_count);
    EXPECT_EQ(kT0 + 620000, mdm_engine_next_deadline(engine));
    advance(620);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[1].to);
}

TEST_F(TypesTest, SlidingAndRestartingWindowsDiffer)
{
    // Matches at 0, 30, 70 and 80 s; Count 3 within 60 s.
    // Sliding: at 80 s the last 60 s hold 30, 70, 80 -> detected.
    // Restarting: the window of 0 s holds 0, 30; 70 s opens a new one: 70, 80 -> not yet.
    load(repeated_timer_monitor(3, 60, kSliding, 600, "Test.Sliding") +
         repeated_timer_monitor(3, 60, kRestart, 600, "Test.Restarting"));
    for (long long s : {0, 30, 70, 80})
        feed(300, s, (unsigned long long)s);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ("Test.Sliding", changes[0].monitor);
    EXPECT_EQ(80u, changes[0].record);
    EXPECT_EQ(2u, instance("Test.Restarting")->state.window_count);
    EXPECT_EQ(kT0 + 70000, instance("Test.Restarting")->state.window_start_ms);
    feed(300, 90, 90);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ("Test.Restarting", changes[1].monitor);
}

TEST_F(TypesTest, RepeatedWindowResumesAfterARestart)
{
    load(repeated_timer_monitor(3, 60, kSliding, 600, "Test.Sliding") +
         repeated_timer_monitor(3, 60, kRestart, 600, "Test.Restarting"));
    feed(300, 0, 1);
    feed(300, 30, 2);
    std::string dir = mdmtest::make_temp_dir("types");
    restart(dir);
    EXPECT_EQ(2u, instance("Test.Sliding")->state.window_count);
    EXPECT_EQ(2u, instance("Test.Restarting")->state.window_count);
    feed(300, 50, 3);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(3u, changes[0].record);
    EXPECT_EQ(3u, changes[1].record);
}

TEST_F(TypesTest, StateFileWithoutPendingLinesLoads)
{
    // A state file as mdmhealth wrote it before timers existed.
    load(timer_monitor(60));
    std::string dir = mdmtest::make_temp_dir("types");
    mdmtest::write_file(dir + "/state", "mdmhealth-state 1\nposition p\ntarget DM01\n"
                                        "row 0 Test.Timer 2 0 0 0 1 1795582800000 200 1 "
                                        "1795582800000 event%201\n");
    char position[MDM_STORE_POSITION_MAX];
    ASSERT_EQ(0, mdm_store_load(dir.c_str(), engine, position, sizeof(position), nullptr, &err))
        << err.msg;
    EXPECT_EQ(MDM_HEALTH_WARNING, instance("Test.Timer")->state.health);
    EXPECT_EQ(INT64_MAX, mdm_engine_next_deadline(engine));
}

TEST_F(TypesTest, RepeatedWithEventResetAsKevinHolmansFragment)
{
    load(repeated_event_reset_monitor(),
         "<LanguagePacks><LanguagePack ID=\"ENU\" IsDefault=\"true\"><DisplayStrings>"
         "<DisplayString ElementID=\"Test.RepeatedReset.Alert\"><Name>Repeated</Name>"
         "<Description>{0}</Description></DisplayString></DisplayStrings></LanguagePack>"
         "</LanguagePacks>\n");
    const mdm_monitor_def &def = pack_->monitors[0];
    EXPECT_EQ(2u, def.detector_count);
    EXPECT_EQ(MDM_CONDITION_CONSOLIDATOR, def.detectors[0].condition);
    EXPECT_EQ(MDM_PARAM_TARGET_NAME, def.detectors[0].computer.kind); // "." = this computer
    feed(401, 0, 1);                                                  // the healthy event
    feed(400, 1, 2);
    feed(400, 2, 3);
    feed(400, 3, 4);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[0].to);
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[1].to);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[1].alert);
    // $Data/Context/Context/DataItem/EventDisplayNumber$: the consolidated event's.
    EXPECT_EQ("400", changes[1].alert_text);
    feed(401, 4, 5);
    ASSERT_EQ(3u, changes.size());
    EXPECT_EQ(MDM_ALERT_RESOLVED, changes[2].alert);
}

TEST_F(TypesTest, UnsupportedConsolidatorSettingsAreSkipReasons)
{
    std::string grouped = unit_monitor(
        "Test.Grouped", "Microsoft.Windows.RepeatedEventLogManualReset2StateMonitorType",
        op_state("Bad", "RepeatedEventRaised", "Error") +
            op_state("Reset", "ManualResetEventRaised", "Success"),
        detector("", 300) +
            "<Consolidator><ConsolidationProperties><PropertyXPathQuery>Params/Param[1]"
            "</PropertyXPathQuery></ConsolidationProperties><TimeControl><WithinTimeSchedule>"
            "<Interval>60</Interval></WithinTimeSchedule></TimeControl><CountingCondition>"
            "<Count>2</Count><CountMode>OnNewItemTestOutputRestart_OnTimerRestart</CountMode>"
            "</CountingCondition></Consolidator>");
    std::string mode =
        repeated_timer_monitor(2, 60, "OnNewItemNOP_OnTimerOutputRestart", 60, "Test.Mode");
    std::string xml = pack(manual_reset_monitor() + grouped + mode);
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "family.xml", &pack_, &err))
        << err.msg;
    EXPECT_EQ(1u, pack_->monitor_count);
    ASSERT_EQ(2u, pack_->skip_count);
    EXPECT_NE(std::string::npos,
              std::string(pack_->skips[0].reason).find("consolidation by event properties"))
        << pack_->skips[0].reason;
    EXPECT_NE(std::string::npos,
              std::string(pack_->skips[1].reason)
                  .find("unsupported consolidator <CountMode> OnNewItemNOP_OnTimerOutputRestart"))
        << pack_->skips[1].reason;
}

TEST_F(TypesTest, TimerTypeWithoutItsWaitIsAnError)
{
    std::string xml = pack(unit_monitor(
        "Test.NoWait", "Microsoft.Windows.SingleEventLogTimer2StateMonitorType",
        op_state("Bad", "EventRaised", "Error") + op_state("Timer", "TimerEventRaised", "Success"),
        detector("", 200)));
    mdm_err_clear(&err);
    EXPECT_EQ(MDM_EPARSE, mdm_pack_load_memory(xml.data(), xml.size(), "family.xml", &pack_, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("lacks <TimerWaitInSeconds>"))
        << err.msg;
}

} // namespace

// ---- replay --json against the engine fed event by event with a simulated clock

namespace
{

const char *alert_word(mdm_alert_action a)
{
    switch (a) {
    case MDM_ALERT_RAISED:
        return "raised";
    case MDM_ALERT_RESOLVED:
        return "resolved";
    case MDM_ALERT_UPDATED:
        return "updated";
    default:
        return "none";
    }
}

struct Seen {
    std::vector<std::string> rows; // one line per transition, every compared field
    size_t timers = 0;
    static int on(const mdm_transition *t, void *ctx)
    {
        auto *self = static_cast<Seen *>(ctx);
        char time[40];
        mdm_format_iso8601(t->event->time_unix_ms, time, sizeof(time));
        self->rows.push_back(std::string(t->def->id) + "|" + t->target + "|" +
                             mdm_health_name(t->from) + "|" + mdm_health_name(t->to) + "|" +
                             alert_word(t->alert) + "|" + time + "|" +
                             std::to_string(t->event->record_id) + "|" + t->description);
        if (t->cause == MDM_CAUSE_TIMER)
            self->timers++;
        return 0;
    }
};

} // namespace

TEST(TypesReplay, ReplayJsonEqualsTheEngineDrivenByASimulatedClock)
{
    std::string dir = mdmtest::make_temp_dir("types-replay");
    std::string pack_path = dir + "/family.xml", events_path = dir + "/events.xml";
    std::string twostate =
        unit_monitor("Test.TwoState", "Microsoft.Windows.2SingleEventLog2StateMonitorType",
                     op_state("Good", "FirstEventRaised", "Success") +
                         op_state("Bad", "SecondEventRaised", "Error"),
                     detector("First", 101) + detector("Second", 100));
    mdmtest::write_file(pack_path,
                        pack(manual_reset_monitor() + timer_monitor(90) +
                             repeated_timer_monitor(3, 120, kSliding, 600, "Test.Sliding") +
                             repeated_timer_monitor(2, 60, kRestart, 300, "Test.Restarting") +
                             twostate));

    // About six hours of events from three computers, in time order, with
    // gaps from 1 s to 4 min (a fixed pseudo-random sequence).
    const unsigned ids[] = {100, 101, 200, 300, 300, 300, 999};
    unsigned long long lcg = 12345;
    auto next = [&lcg](unsigned mod) {
        lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
        return (unsigned)((lcg >> 33) % mod);
    };
    std::vector<long long> times;
    std::string xml;
    long long t = kT0;
    for (unsigned rec = 1; rec <= 600; rec++) {
        t += 1000LL * (1 + next(240));
        unsigned id = ids[next(7)];
        std::string computer = "DM0" + std::to_string(1 + next(3));
        char when[40];
        mdm_format_iso8601(t, when, sizeof(when));
        xml += "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
               "<Provider Name='App'/><EventID>" +
               std::to_string(id) + "</EventID><Level>2</Level><TimeCreated SystemTime='" + when +
               "'/><EventRecordID>" + std::to_string(rec) +
               "</EventRecordID><Channel>Application</Channel><Computer>" + computer +
               "</Computer></System><EventData><Data>event " + std::to_string(rec) +
               "</Data></EventData></Event>\n";
        times.push_back(t);
    }
    mdmtest::write_file(events_path, xml);

    auto r = mdmtest::run_program(
        {MDM_BINARY, "replay", "--json", "--quiet", "--pack", pack_path, events_path});
    ASSERT_EQ(0, r.status) << r.err;
    std::vector<std::string> replayed;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            replayed.push_back(
                mdmtest::json_field(line, "monitor") + "|" + mdmtest::json_field(line, "computer") +
                "|" + mdmtest::json_field(line, "from") + "|" + mdmtest::json_field(line, "to") +
                "|" + mdmtest::json_field(line, "alert") + "|" + mdmtest::json_field(line, "time") +
                "|" + mdmtest::json_field(line, "record_id") + "|" +
                mdmtest::json_field(line, "description"));

    // The same events, one at a time, with a clock that ticks every second
    // between them (as `run`'s event loop would call mdm_engine_advance).
    mdm_pack *p = nullptr;
    mdm_engine *e = nullptr;
    mdm_err err;
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_pack_load_file(pack_path.c_str(), &p, &err)) << err.msg;
    ASSERT_EQ(0, mdm_engine_new(p, true, &e, &err));
    Seen seen;
    long long clock = kT0;
    for (size_t i = 0; i < times.size(); i++) {
        while (clock + 1000 < times[i]) {
            clock += 1000;
            ASSERT_EQ(0, mdm_engine_advance(e, clock, Seen::on, &seen, &err));
        }
        // Re-read event i from the XML written above.
        size_t start = 0;
        for (size_t k = 0; k < i; k++)
            start = xml.find('\n', start) + 1;
        std::string one = xml.substr(start, xml.find('\n', start) - start);
        mdm_event ev;
        mdm_event_init(&ev);
        ASSERT_EQ(0, mdm_event_parse_xml(&ev, one.data(), one.size(), &err)) << err.msg;
        ASSERT_EQ(0, mdm_engine_process(e, &ev, Seen::on, &seen, &err)) << err.msg;
        mdm_event_free(&ev);
    }
    mdm_engine_free(e);
    mdm_pack_free(p);

    // Meaningful: timers fired, every type changed state.
    EXPECT_GT(seen.timers, 20u);
    for (const char *id :
         {"Test.Manual|", "Test.Timer|", "Test.Sliding|", "Test.Restarting|", "Test.TwoState|"}) {
        size_t n = 0;
        for (const auto &row : seen.rows)
            n += row.rfind(id, 0) == 0;
        EXPECT_GT(n, 0u) << id;
    }
    ASSERT_EQ(seen.rows.size(), replayed.size());
    for (size_t i = 0; i < replayed.size(); i++)
        EXPECT_EQ(seen.rows[i], replayed[i]) << "transition " << i;
}

// ---- UnitMonitorTypes composed in the pack (pack_compose.c) ------------------

namespace
{

// A type as authors write them: an event data source per state, the
// expression from the monitor's configuration ($Config/...$), one
// ExpressionFilter, an optional consolidator and on-demand reset.
std::string composed_type(const std::string &id, const std::string &states,
                          const std::string &members, const std::string &regular,
                          const std::string &ondemand = "")
{
    return "<TypeDefinitions><MonitorTypes><UnitMonitorType ID=\"" + id +
           "\" Accessibility=\"Internal\"><MonitorTypeStates>" + states +
           "</MonitorTypeStates><Configuration /><MonitorImplementation><MemberModules>" + members +
           "</MemberModules><RegularDetections>" + regular + "</RegularDetections>" +
           (ondemand.empty() ? "" : "<OnDemandDetections>" + ondemand + "</OnDemandDetections>") +
           "</MonitorImplementation></UnitMonitorType></MonitorTypes></TypeDefinitions>\n";
}

std::string event_source(const std::string &id, const std::string &expression_config)
{
    return "<DataSource ID=\"" + id +
           "\" TypeID=\"Windows!Microsoft.Windows.EventProvider\"><ComputerName>$Config/"
           "ComputerName$</ComputerName><LogName>$Config/LogName$</LogName><Expression>$Config/" +
           expression_config + "$</Expression></DataSource>";
}

std::string composed_pack(const std::string &types, const std::string &monitor)
{
    return "<ManagementPack ContentReadable=\"true\" SchemaVersion=\"2.0\">\n<Manifest><Identity>"
           "<ID>Test.Composed</ID><Version>1.0.0.0</Version></Identity><References><Reference "
           "Alias=\"Windows\"><ID>Microsoft.Windows.Library</ID><Version>6.0.0.0</Version>"
           "</Reference><Reference Alias=\"System\"><ID>System.Library</ID><Version>6.0.0.0"
           "</Version></Reference></References></Manifest>\n" +
           types + "<Monitoring><Monitors>\n" + monitor + "</Monitors></Monitoring>\n" +
           "</ManagementPack>\n";
}

// Healthy on 500, Warning on 501, Error on 502 when its description says "fatal".
const std::string kThreeStateType = composed_type(
    "Test.ThreeState.MT",
    "<MonitorTypeState ID=\"Good\"/><MonitorTypeState ID=\"Degraded\"/>"
    "<MonitorTypeState ID=\"Down\"/>",
    event_source("GoodDS", "GoodExpression") + event_source("DegradedDS", "DegradedExpression") +
        event_source("DownDS", "DownExpression") +
        "<ConditionDetection ID=\"Fatal\" TypeID=\"System!System.ExpressionFilter\"><Expression>"
        "<RegExExpression><ValueExpression><XPathQuery>EventDescription</XPathQuery>"
        "</ValueExpression><Operator>ContainsSubstring</Operator><Pattern>fatal</Pattern>"
        "</RegExExpression></Expression></ConditionDetection>",
    "<RegularDetection MonitorTypeStateID=\"Good\"><Node ID=\"GoodDS\"/></RegularDetection>"
    "<RegularDetection MonitorTypeStateID=\"Degraded\"><Node ID=\"DegradedDS\"/>"
    "</RegularDetection><RegularDetection MonitorTypeStateID=\"Down\"><Node ID=\"Fatal\"><Node "
    "ID=\"DownDS\"/></Node></RegularDetection>");

std::string three_state_monitor()
{
    return "<UnitMonitor ID=\"Test.ThreeState\" Accessibility=\"Public\" Enabled=\"true\" "
           "Target=\"Windows!Microsoft.Windows.Computer\" TypeID=\"Test.ThreeState.MT\">"
           "<AlertSettings AlertMessage=\"Test.ThreeState.Alert\"><AlertOnState>Warning"
           "</AlertOnState><AutoResolve>true</AutoResolve><AlertPriority>Normal</AlertPriority>"
           "<AlertSeverity>MatchMonitorHealth</AlertSeverity></AlertSettings>"
           "<OperationalStates>" +
           op_state("Healthy", "Good", "Success") + op_state("Warn", "Degraded", "Warning") +
           op_state("Critical", "Down", "Error") +
           "</OperationalStates><Configuration><ComputerName>$Target/Host/Property[Type=\""
           "Windows!Microsoft.Windows.Computer\"]/NetworkName$</ComputerName><LogName>Application"
           "</LogName><GoodExpression>" +
           app_expression(500) + "</GoodExpression><DegradedExpression>" + app_expression(501) +
           "</DegradedExpression><DownExpression>" + app_expression(502) +
           "</DownExpression></Configuration></UnitMonitor>\n";
}

} // namespace

TEST_F(TypesTest, ComposedThreeStateTypeCarriesTheSeverity)
{
    std::string xml = composed_pack(kThreeStateType, three_state_monitor());
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "composed.xml", &pack_, &err))
        << err.msg;
    ASSERT_EQ(1u, pack_->monitor_count) << (pack_->skip_count ? pack_->skips[0].reason : "");
    const mdm_monitor_def &def = pack_->monitors[0];
    ASSERT_EQ(3u, def.detector_count);
    EXPECT_STREQ("Application", def.detectors[1].log_name);
    EXPECT_EQ(MDM_PARAM_TARGET_NAME, def.detectors[2].computer.kind);
    EXPECT_NE(nullptr, def.detectors[2].filter);
    ASSERT_EQ(0, mdm_engine_new(pack_, true, &engine, &err));

    feed(500, 0, 1);
    feed(501, 1, 2);
    feed(502, 2, 3); // not "fatal": the filter drops it
    {
        TestEvent e("App", 502, "DM01", 4, "Application", 0, "a fatal error");
        e.ev.time_unix_ms = kT0 + 3000;
        ASSERT_EQ(0, mdm_engine_process(engine, &e.ev, record, this, &err));
    }
    feed(500, 4, 5);
    ASSERT_EQ(4u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[0].to);
    EXPECT_EQ(MDM_HEALTH_WARNING, changes[1].to);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[1].alert);
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[2].to);
    EXPECT_EQ(4u, changes[2].record);
    EXPECT_EQ(MDM_ALERT_UPDATED, changes[2].alert); // warning -> critical
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[3].to);
    EXPECT_EQ(MDM_ALERT_RESOLVED, changes[3].alert);
}

TEST_F(TypesTest, ComposedRepeatedTypeWithOnDemandReset)
{
    std::string type = composed_type(
        "Test.Repeat.MT",
        "<MonitorTypeState ID=\"Repeated\"/><MonitorTypeState ID=\"Reset\" "
        "NoDetection=\"true\"/>",
        event_source("DS", "Expression") +
            "<ConditionDetection ID=\"Count\" TypeID=\"System!System.ConsolidatorCondition\">"
            "<Consolidator><ConsolidationProperties/><TimeControl><WithinTimeSchedule><Interval>"
            "$Config/IntervalSeconds$</Interval></WithinTimeSchedule></TimeControl>"
            "<CountingCondition><Count>$Config/Count$</Count><CountMode>" +
            kSliding +
            "</CountMode></CountingCondition></Consolidator></ConditionDetection>"
            "<ProbeAction ID=\"PassThrough\" TypeID=\"System!System.PassThroughProbe\"/>",
        "<RegularDetection MonitorTypeStateID=\"Repeated\"><Node ID=\"Count\"><Node ID=\"DS\"/>"
        "</Node></RegularDetection>",
        "<OnDemandDetection MonitorTypeStateID=\"Reset\"><Node ID=\"PassThrough\"/>"
        "</OnDemandDetection>");
    std::string monitor =
        "<UnitMonitor ID=\"Test.Repeat\" Accessibility=\"Public\" Enabled=\"true\" "
        "Target=\"Windows!Microsoft.Windows.Computer\" TypeID=\"Test.Repeat.MT\">"
        "<OperationalStates>" +
        op_state("Bad", "Repeated", "Error") + op_state("Ok", "Reset", "Success") +
        "</OperationalStates><Configuration><ComputerName>.</ComputerName><LogName>Application"
        "</LogName><Expression>" +
        app_expression(600) +
        "</Expression><IntervalSeconds>30</IntervalSeconds><Count>2</Count></Configuration>"
        "</UnitMonitor>\n";
    std::string xml = composed_pack(type, monitor);
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "composed.xml", &pack_, &err))
        << err.msg;
    ASSERT_EQ(1u, pack_->monitor_count) << (pack_->skip_count ? pack_->skips[0].reason : "");
    EXPECT_EQ(MDM_RESET_MANUAL, pack_->monitors[0].reset);
    EXPECT_EQ(30000, pack_->monitors[0].detectors[0].repeat_interval_ms);
    EXPECT_EQ(2u, pack_->monitors[0].detectors[0].repeat_count);
    ASSERT_EQ(0, mdm_engine_new(pack_, true, &engine, &err));
    feed(600, 0, 1);
    feed(600, 40, 2); // 40 s later: outside the 30 s window
    EXPECT_TRUE(changes.empty());
    feed(600, 50, 3);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[0].to);
    ASSERT_EQ(0, mdm_engine_reset(engine, "Test.Repeat", "DM01", kT0 + 60000, record, this, &err));
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[1].to);
}

TEST_F(TypesTest, ComposedTypeWithAnUnsupportedModuleIsSkippedNamingIt)
{
    // A module the interpreter does not evaluate (a System.Scheduler between
    // the event source and the detection) skips the monitor, naming it.
    std::string type = composed_type(
        "Test.Timed.MT",
        "<MonitorTypeState ID=\"SecondEventRaised\"/>"
        "<MonitorTypeState ID=\"FirstEventRaisedAndNoSecondEventRaisedInTimeInterval\"/>",
        event_source("CorrelatorFirstDataSource", "Expression") +
            event_source("SecondDataSource", "Expression") +
            "<ConditionDetection ID=\"MissingEventCorrelator\" "
            "TypeID=\"System!System.SchedulerFilter\"><SchedulerFilter/>"
            "</ConditionDetection>",
        "<RegularDetection MonitorTypeStateID=\"SecondEventRaised\"><Node ID=\"SecondDataSource\"/>"
        "</RegularDetection><RegularDetection "
        "MonitorTypeStateID=\"FirstEventRaisedAndNoSecondEventRaisedInTimeInterval\"><Node "
        "ID=\"MissingEventCorrelator\"><Node ID=\"CorrelatorFirstDataSource\"/></Node>"
        "</RegularDetection>");
    std::string monitor =
        "<UnitMonitor ID=\"Test.Timed\" Accessibility=\"Public\" Enabled=\"true\" "
        "Target=\"Windows!Microsoft.Windows.Computer\" TypeID=\"Test.Timed.MT\">"
        "<OperationalStates>" +
        op_state("Ok", "SecondEventRaised", "Success") +
        op_state("Late", "FirstEventRaisedAndNoSecondEventRaisedInTimeInterval", "Error") +
        "</OperationalStates><Configuration><ComputerName>.</ComputerName><LogName>Application"
        "</LogName><Expression>" +
        app_expression(700) + "</Expression></Configuration></UnitMonitor>\n";
    std::string xml = composed_pack(type, monitor + manual_reset_monitor());
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "composed.xml", &pack_, &err))
        << err.msg;
    EXPECT_EQ(1u, pack_->monitor_count);
    ASSERT_EQ(1u, pack_->skip_count);
    EXPECT_NE(std::string::npos,
              std::string(pack_->skips[0].reason)
                  .find("System.SchedulerFilter (member MissingEventCorrelator, "
                        "detection of FirstEventRaisedAndNoSecondEventRaisedInTimeInterval)"))
        << pack_->skips[0].reason;
}

// ---- MissingEventLogSingleEventLog2StateMonitorType ----------------------------

namespace
{

// The <Consolidator> of the public QuaeNocentDocent/OMS-ManagementPack monitors
// (tests/data/packs/qnd-oms-*.mpx), with their element names and spelling.
std::string missing_consolidator(unsigned interval, const std::string &unit = "Minutes",
                                 const std::string &mode = "OnNewItemNOP_OnTimerOutputRestart",
                                 const std::string &schedule_extra = "")
{
    return "<Consolidator><ConsolidationProperties/><TimeControl><GenericSchedule>"
           "<SimpleReccuringSchedule><Interval Unit=\"" +
           unit + "\">" + std::to_string(interval) + "</Interval>" + schedule_extra +
           "</SimpleReccuringSchedule><ExcludeDates/></GenericSchedule></TimeControl>"
           "<CountingCondition><CountMode>" +
           mode + "</CountMode></CountingCondition></Consolidator>";
}

// Healthy on every 900 (EventRaised); unhealthy when a window of the schedule
// passes without one (the QND monitors use the same expression for both).
std::string missing_monitor(const std::string &consolidator = missing_consolidator(1),
                            const std::string &id = "Test.Missing")
{
    return unit_monitor(id, "Microsoft.Windows.MissingEventLogSingleEventLog2StateMonitorType",
                        op_state("Healthy", "EventRaised", "Success") +
                            op_state("UnHealthy", "MissingEventRaised", "Error"),
                        detector("", 900) + detector("Missing", 900) + consolidator);
}

} // namespace

TEST_F(TypesTest, MissingEventRaisedWhenAScheduleWindowPassesWithoutTheEvent)
{
    load(missing_monitor());
    const mdm_monitor_def &def = pack_->monitors[0];
    ASSERT_EQ(2u, def.detector_count);
    EXPECT_EQ(MDM_CONDITION_MISSING, def.detectors[0].condition);
    EXPECT_EQ(60000, def.detectors[0].repeat_interval_ms);
    EXPECT_STREQ("UnHealthy", def.detectors[0].state_id);
    EXPECT_EQ(MDM_HEALTH_HEALTHY, def.detectors[1].health);

    // The target's schedule starts with its first event: window [0, 60 s).
    feed(900, 0, 1);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[0].to);
    EXPECT_EQ(kT0 + 60000, mdm_engine_next_deadline(engine));
    advance(60); // the first window saw the event: nothing; next window [60, 120)
    EXPECT_EQ(1u, changes.size());
    EXPECT_EQ(kT0 + 120000, mdm_engine_next_deadline(engine));
    advance(119);
    EXPECT_EQ(1u, changes.size());
    advance(120); // a whole window without it
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[1].to);
    EXPECT_EQ(MDM_CAUSE_TIMER, changes[1].cause);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[1].alert);
    EXPECT_EQ(kT0 + 120000, changes[1].time_ms);
    // Three more empty windows only repeat the state; the schedule goes on.
    advance(300);
    EXPECT_EQ(2u, changes.size());
    EXPECT_EQ(kT0 + 360000, mdm_engine_next_deadline(engine));
    EXPECT_EQ(3u, instance("Test.Missing")->state.repeat_count);
    // The event again: healthy at once, the alert resolved.
    feed(900, 310, 2);
    ASSERT_EQ(3u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[2].to);
    EXPECT_EQ(MDM_ALERT_RESOLVED, changes[2].alert);
    advance(360);
    EXPECT_EQ(3u, changes.size());
}

TEST_F(TypesTest, MissingEventWindowResumesAfterARestart)
{
    load(missing_monitor(missing_consolidator(2)));
    feed(900, 0, 1);   // window [0, 120 s)
    advance(120);      // seen: next window [120, 240)
    feed(900, 150, 2); // counted in it
    std::string dir = mdmtest::make_temp_dir("types");
    restart(dir);
    EXPECT_EQ(1u, instance("Test.Missing")->state.window_count);
    EXPECT_EQ(kT0 + 120000, instance("Test.Missing")->state.window_start_ms);
    EXPECT_EQ(kT0 + 240000, mdm_engine_next_deadline(engine));
    advance(240); // the restored count: the window was not empty
    EXPECT_EQ(1u, changes.size());
    // Down from 240 s to 1 h: the next window ended while down and fires at
    // start, at its own end time; the later ones only repeat the state.
    restart(dir);
    advance(3600);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[1].to);
    EXPECT_EQ(kT0 + 360000, changes[1].time_ms);
    EXPECT_EQ(kT0 + 3720000, mdm_engine_next_deadline(engine));
}

TEST_F(TypesTest, MissingEventScheduleSettingsNotImplementedAreSkipReasons)
{
    struct Case {
        std::string consolidator, reason;
    } cases[] = {
        {missing_consolidator(5, "Minutes", "OnNewItemTestOutputRestart_OnTimerRestart"),
         "unsupported missing-event <CountMode> OnNewItemTestOutputRestart_OnTimerRestart"},
        {missing_consolidator(5, "Minutes", "OnNewItemNOP_OnTimerOutputRestart",
                              "<SyncTime>00:00</SyncTime>"),
         "other than a <GenericSchedule><SimpleReccuringSchedule><Interval> without SyncTime"},
        {missing_consolidator(5, "Weeks"), "unsupported <Interval Unit=\"Weeks\">"},
    };
    for (const auto &c : cases) {
        mdm_pack *p = nullptr;
        std::string xml = pack(missing_monitor(c.consolidator) + manual_reset_monitor());
        ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "m.xml", &p, &err)) << err.msg;
        ASSERT_EQ(1u, p->skip_count);
        EXPECT_NE(std::string::npos, std::string(p->skips[0].reason).find(c.reason))
            << p->skips[0].reason;
        mdm_pack_free(p);
    }
    // The missing-event types whose configuration is not published stay skipped.
    mdm_pack *p = nullptr;
    std::string xml =
        pack(unit_monitor("Test.MissingManual",
                          "Microsoft.Windows.MissingEventLogManualReset2StateMonitorType",
                          op_state("Bad", "MissingEventRaised", "Error"), detector("", 1)) +
             manual_reset_monitor());
    ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "m.xml", &p, &err)) << err.msg;
    ASSERT_EQ(1u, p->skip_count);
    EXPECT_STREQ("type Microsoft.Windows.MissingEventLogManualReset2StateMonitorType: not "
                 "supported yet",
                 p->skips[0].reason);
    mdm_pack_free(p);
}

// ---- timed correlation: System.CorrelatorAutoMissingCondition ------------------

namespace
{

std::string event_filter(const std::string &id, const std::string &config_id)
{
    return "<ConditionDetection ID=\"" + id +
           "\" TypeID=\"System!System.ExpressionFilter\"><Expression><SimpleExpression>"
           "<ValueExpression><XPathQuery Type=\"UnsignedInteger\">EventDisplayNumber</XPathQuery>"
           "</ValueExpression><Operator>Equal</Operator><ValueExpression><Value "
           "Type=\"UnsignedInteger\">$Config/" +
           config_id +
           "$</Value></ValueExpression></SimpleExpression></Expression>"
           "</ConditionDetection>";
}

std::string base_source(const std::string &id)
{
    return "<DataSource ID=\"" + id +
           "\" TypeID=\"Windows!Microsoft.Windows.BaseEventProvider\"><ComputerName>.</"
           "ComputerName><LogName>Application</LogName><Expression><SimpleExpression>"
           "<ValueExpression><XPathQuery>PublisherName</XPathQuery></ValueExpression>"
           "<Operator>Equal</Operator><ValueExpression><Value>App</Value></ValueExpression>"
           "</SimpleExpression></Expression></DataSource>";
}

// The composition of Microsoft.SystemCenter.ManagementConfigurationService.
// 2SingleEventLogTimed2StateUnitMonitorType (systemcenter.wiki, docs/monitor.md):
// member module IDs and types, states and configuration as published; the
// module configurations and the detections' Node trees are written here as
// that composition implies (the page's excerpt does not show them).
std::string timed_type(const std::string &policy = "OldestItem")
{
    return composed_type(
        "Test.Timed.MT",
        "<MonitorTypeState ID=\"SecondEventRaised\" NoDetection=\"false\"/>"
        "<MonitorTypeState ID=\"FirstEventRaisedAndNoSecondEventRaisedInTimeInterval\" "
        "NoDetection=\"false\"/>",
        base_source("CorrelatorFirstDataSource") + base_source("CorrelatorSecondDataSource") +
            base_source("SecondDataSource") +
            event_filter("CorrelatorFirstFilterCondition", "FirstEventId") +
            event_filter("CorrelatorSecondFilterCondition", "SecondEventId") +
            "<ConditionDetection ID=\"MissingEventCorrelator\" "
            "TypeID=\"System!System.CorrelatorAutoMissingCondition\"><Correlator>"
            "<CorrelationExpression/><Count>1</Count><Interval>$Config/TimeIntervalSeconds$"
            "</Interval><CorrelationOrder>InSequence</CorrelationOrder><CorrelationItemPolicy>" +
            policy + "</CorrelationItemPolicy></Correlator></ConditionDetection>" +
            event_filter("SecondFilterCondition", "SecondEventId"),
        "<RegularDetection MonitorTypeStateID=\"SecondEventRaised\"><Node "
        "ID=\"SecondFilterCondition\"><Node ID=\"SecondDataSource\"/></Node></RegularDetection>"
        "<RegularDetection MonitorTypeStateID=\"FirstEventRaisedAndNoSecondEventRaisedInTimeInte"
        "rval\"><Node ID=\"MissingEventCorrelator\"><Node ID=\"CorrelatorFirstFilterCondition\">"
        "<Node ID=\"CorrelatorFirstDataSource\"/></Node><Node "
        "ID=\"CorrelatorSecondFilterCondition\"><Node ID=\"CorrelatorSecondDataSource\"/></Node>"
        "</Node></RegularDetection>");
}

std::string timed_monitor(unsigned seconds)
{
    return "<UnitMonitor ID=\"Test.Timed\" Accessibility=\"Public\" Enabled=\"true\" "
           "Target=\"Windows!Microsoft.Windows.Computer\" TypeID=\"Test.Timed.MT\">"
           "<AlertSettings AlertMessage=\"Test.Timed.Alert\"><AlertOnState>Error</AlertOnState>"
           "<AutoResolve>true</AutoResolve><AlertPriority>Normal</AlertPriority><AlertSeverity>"
           "Error</AlertSeverity></AlertSettings><OperationalStates>" +
           op_state("Ok", "SecondEventRaised", "Success") +
           op_state("Late", "FirstEventRaisedAndNoSecondEventRaisedInTimeInterval", "Error") +
           "</OperationalStates><Configuration><FirstEventId>710</FirstEventId><SecondEventId>711"
           "</SecondEventId><TimeIntervalSeconds>" +
           std::to_string(seconds) + "</TimeIntervalSeconds></Configuration></UnitMonitor>\n";
}

} // namespace

TEST_F(TypesTest, TimedCorrelationFirstEventNotFollowedInTimeIsUnhealthy)
{
    std::string xml = composed_pack(timed_type(), timed_monitor(60));
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "timed.xml", &pack_, &err))
        << err.msg;
    ASSERT_EQ(1u, pack_->monitor_count) << (pack_->skip_count ? pack_->skips[0].reason : "");
    const mdm_monitor_def &def = pack_->monitors[0];
    ASSERT_EQ(3u, def.detector_count);
    EXPECT_EQ(MDM_CONDITION_CORRELATOR_MISSING, def.detectors[1].condition);
    EXPECT_EQ(60000, def.detectors[1].repeat_interval_ms);
    EXPECT_TRUE(def.detectors[2].correlated_input);
    EXPECT_EQ(1u, def.detectors[2].partner);
    ASSERT_EQ(0, mdm_engine_new(pack_, true, &engine, &err));

    feed(710, 0, 1); // the first event opens the 60 s window
    EXPECT_TRUE(changes.empty());
    EXPECT_EQ(kT0 + 60000, mdm_engine_next_deadline(engine));
    feed(710, 30, 2); // OldestItem: the open window keeps its start
    EXPECT_EQ(kT0 + 60000, mdm_engine_next_deadline(engine));
    advance(59);
    EXPECT_TRUE(changes.empty());
    advance(60);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[0].to);
    EXPECT_EQ(MDM_CAUSE_TIMER, changes[0].cause);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[0].alert);
    EXPECT_EQ(kT0 + 60000, changes[0].time_ms);
    feed(711, 70, 3); // SecondEventRaised
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[1].to);
    // First followed by second within the interval: no detection.
    feed(710, 100, 4);
    feed(711, 130, 5);
    EXPECT_EQ(INT64_MAX, mdm_engine_next_deadline(engine));
    advance(400);
    EXPECT_EQ(2u, changes.size());
    // In sequence only: a second event before the first does not count.
    feed(711, 500, 6);
    feed(710, 501, 7);
    advance(561);
    ASSERT_EQ(3u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[2].to);
    EXPECT_EQ(kT0 + 561000, changes[2].time_ms);
}

TEST_F(TypesTest, TimedCorrelationWindowSurvivesARestart)
{
    std::string xml = composed_pack(timed_type("MostRecentItem"), timed_monitor(60));
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "timed.xml", &pack_, &err))
        << err.msg;
    ASSERT_EQ(1u, pack_->monitor_count) << (pack_->skip_count ? pack_->skips[0].reason : "");
    EXPECT_TRUE(pack_->monitors[0].detectors[1].restart_on_new);
    ASSERT_EQ(0, mdm_engine_new(pack_, true, &engine, &err));
    feed(710, 0, 1);
    feed(710, 20, 2); // MostRecentItem: the window starts again
    EXPECT_EQ(kT0 + 80000, mdm_engine_next_deadline(engine));
    std::string dir = mdmtest::make_temp_dir("types");
    restart(dir);
    EXPECT_EQ(kT0 + 80000, mdm_engine_next_deadline(engine));
    EXPECT_EQ(kT0 + 20000, instance("Test.Timed")->state.window_start_ms);
    feed(711, 50, 3); // the second event, after the restart, still closes it
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[0].to);
    advance(100);
    EXPECT_EQ(1u, changes.size());
    // A window open at a restart that ends while the agent is down fires at start.
    feed(710, 200, 4);
    restart(dir);
    advance(3600);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[1].to);
    EXPECT_EQ(kT0 + 260000, changes[1].time_ms);
}

TEST_F(TypesTest, CorrelatorSettingsNotImplementedAreSkipReasons)
{
    std::string type = timed_type("LeastRecentItem");
    std::string xml = composed_pack(type, timed_monitor(60));
    mdm_err_clear(&err);
    // Nothing evaluable: the load fails, naming the setting.
    EXPECT_EQ(MDM_EUNSUPPORTED,
              mdm_pack_load_memory(xml.data(), xml.size(), "timed.xml", &pack_, &err));
    EXPECT_EQ(nullptr, pack_);
    EXPECT_NE(std::string::npos,
              std::string(err.msg).find("correlator <CorrelationItemPolicy> LeastRecentItem"))
        << err.msg;
}

// ---- CheckNTServiceStateMonitorType: the service probe (a unit test of the
// ---- engine with a fake probe; run wires the Service Control Manager) --------

namespace
{

struct FakeProbe {
    mdm_service_status answer{};
    int rc = 0;
    std::vector<std::string> calls;

    static int probe(const char *computer, const char *service, mdm_service_status *out, void *ctx)
    {
        auto *self = static_cast<FakeProbe *>(ctx);
        self->calls.push_back(std::string(computer) + "/" + service);
        *out = self->answer;
        return self->rc;
    }
    void set(mdm_service_state state, bool automatic = true)
    {
        answer.state = state;
        answer.automatic_start = automatic;
        snprintf(answer.detail, sizeof(answer.detail), "%s",
                 state == MDM_SERVICE_STATE_RUNNING ? "running" : "stopped");
    }
};

// As Microsoft's Remote Access pack writes it (tests/data/packs).
std::string service_monitor(const std::string &check_startup = "")
{
    return unit_monitor(
        "Test.Service", "Microsoft.Windows.CheckNTServiceStateMonitorType",
        op_state("Running", "Running", "Success") + op_state("NotRunning", "NotRunning", "Error"),
        "<ComputerName>$Target/Host/Host/Property[Type=\"Windows!Microsoft."
        "Windows.Computer\"]/NetworkName$</ComputerName><ServiceName>RemoteAccess"
        "</ServiceName>" +
            (check_startup.empty() ? std::string("<CheckStartupType />")
                                   : "<CheckStartupType>" + check_startup + "</CheckStartupType>"),
        "$MPElement$");
}

} // namespace

TEST_F(TypesTest, ServiceStateFollowsTheProbeOnItsInterval)
{
    load(service_monitor());
    const mdm_monitor_def &def = pack_->monitors[0];
    EXPECT_EQ(0u, def.detector_count);
    EXPECT_STREQ("RemoteAccess", def.service_name);
    EXPECT_EQ(30000, def.probe_interval_ms);
    ASSERT_EQ(0, mdm_engine_add_target(engine, "DM01", nullptr));

    // No probe (replay): not evaluated, and nothing is scheduled.
    advance(0);
    EXPECT_EQ(1u, mdm_engine_service_monitors_waiting(engine));
    EXPECT_EQ(INT64_MAX, mdm_engine_next_deadline(engine));

    FakeProbe probe;
    probe.set(MDM_SERVICE_STATE_RUNNING);
    mdm_engine_set_service_probe(engine, FakeProbe::probe, &probe);
    EXPECT_EQ(0u, mdm_engine_service_monitors_waiting(engine));
    advance(1); // probed at once
    ASSERT_EQ(1u, probe.calls.size());
    EXPECT_EQ("DM01/RemoteAccess", probe.calls[0]);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[0].to);
    EXPECT_EQ(MDM_CAUSE_TIMER, changes[0].cause);
    EXPECT_EQ(kT0 + 31000, mdm_engine_next_deadline(engine));

    probe.set(MDM_SERVICE_STATE_NOT_RUNNING);
    advance(30);
    EXPECT_EQ(1u, changes.size());
    advance(31);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[1].to);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[1].alert);
    // No alert message text in this pack: the alert text is the description.
    EXPECT_EQ("NotRunning: service RemoteAccess is not running: stopped", changes[1].alert_text);

    // A failed probe or an unknown answer changes nothing.
    probe.rc = MDM_EIO;
    advance(61);
    probe.rc = 0;
    probe.set(MDM_SERVICE_STATE_UNKNOWN);
    advance(91);
    EXPECT_EQ(2u, changes.size());
    EXPECT_EQ(2u, mdm_engine_stats(engine)->probe_failures);

    // Restart: the next probe's due time is in the state.
    std::string dir = mdmtest::make_temp_dir("types");
    restart(dir);
    EXPECT_EQ(kT0 + 121000, mdm_engine_next_deadline(engine));
    probe.set(MDM_SERVICE_STATE_RUNNING);
    mdm_engine_set_service_probe(engine, FakeProbe::probe, &probe);
    advance(120);
    EXPECT_EQ(2u, changes.size());
    advance(121);
    ASSERT_EQ(3u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[2].to);
    EXPECT_EQ(MDM_ALERT_RESOLVED, changes[2].alert);
}

TEST_F(TypesTest, ServiceStateCheckStartupTypeIgnoresAServiceNotStartedAutomatically)
{
    load(service_monitor("true"));
    EXPECT_TRUE(pack_->monitors[0].check_startup_type);
    ASSERT_EQ(0, mdm_engine_add_target(engine, "DM01", nullptr));
    FakeProbe probe;
    probe.set(MDM_SERVICE_STATE_NOT_RUNNING, false);
    mdm_engine_set_service_probe(engine, FakeProbe::probe, &probe);
    advance(0);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[0].to);
    probe.set(MDM_SERVICE_STATE_NOT_RUNNING, true);
    advance(30);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[1].to);
}

TEST_F(TypesTest, ServiceMonitorOfMicrosoftsRemoteAccessPackFollowsTheProbe)
{
    // The real pack (tests/data/packs/SOURCES.md): its one
    // CheckNTServiceStateMonitorType monitor loads and runs on the probe.
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_pack_load_file(MDM_TEST_DATA_DIR "/packs/kevinholman-Microsoft.Windows."
                                                      "RemoteAccess.xml",
                                    &pack_, &err))
        << err.msg;
    const mdm_monitor_def *svc = nullptr;
    for (size_t i = 0; i < pack_->monitor_count; i++)
        if (std::string(pack_->monitors[i].id) == "Microsoft.Windows.RemoteAccess.VPNServer."
                                                  "ServiceMonitor")
            svc = &pack_->monitors[i];
    ASSERT_NE(nullptr, svc);
    EXPECT_STREQ("RemoteAccess", svc->service_name);
    EXPECT_FALSE(svc->check_startup_type); // <CheckStartupType /> is empty
    EXPECT_EQ(MDM_PARAM_TARGET_NAME, svc->detectors[0].computer.kind);
    ASSERT_EQ(0, mdm_engine_new(pack_, false, &engine, &err));
    ASSERT_EQ(0, mdm_engine_add_target(engine, "RAS01", nullptr));
    FakeProbe probe;
    probe.set(MDM_SERVICE_STATE_NOT_RUNNING);
    mdm_engine_set_service_probe(engine, FakeProbe::probe, &probe);
    advance(0);
    ASSERT_EQ(1u, probe.calls.size());
    EXPECT_EQ("RAS01/RemoteAccess", probe.calls[0]);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ("Microsoft.Windows.RemoteAccess.VPNServer.ServiceMonitor", changes[0].monitor);
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[0].to);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[0].alert);
}

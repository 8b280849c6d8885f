// test_engine_monitor.cc - every transition of the two-state event monitor.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine_fixtures.h"
#include "agent/engine/monitor.h"
#include "agent/engine/pack.h"

using mdmtest::PackOptions;
using mdmtest::TestEvent;

namespace
{

struct Change {
    std::string target;
    mdm_health from, to;
    mdm_alert_action alert;
    mdm_severity severity;
    unsigned row;
    unsigned long long record;
    std::string alert_text;
};

class MonitorTest : public ::testing::Test
{
  protected:
    mdm_pack *pack = nullptr;
    mdm_engine *engine = nullptr;
    std::vector<Change> changes;

    void load(const PackOptions &opts = PackOptions(), bool dynamic = true,
              const std::string &extra = "")
    {
        std::string xml = mdmtest::pack_xml(opts, extra);
        mdm_err err;
        mdm_err_clear(&err);
        ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "test.xml", &pack, &err))
            << err.msg;
        ASSERT_EQ(0, mdm_engine_new(pack, dynamic, &engine, &err)) << err.msg;
    }

    static int record(const mdm_transition *t, void *ctx)
    {
        auto *self = static_cast<MonitorTest *>(ctx);
        self->changes.push_back({t->target, t->from, t->to, t->alert, t->severity,
                                 t->instance->index, (unsigned long long)t->event->record_id,
                                 t->alert_text});
        return 0;
    }

    void feed(const std::string &provider, unsigned id, const std::string &computer,
              unsigned long long rec, const std::string &channel = "Mobile Device Manager",
              unsigned qualifiers = 0)
    {
        TestEvent e(provider, id, computer, rec, channel, qualifiers,
                    "event " + std::to_string(rec));
        mdm_err err;
        mdm_err_clear(&err);
        ASSERT_EQ(0, mdm_engine_process(engine, &e.ev, record, this, &err)) << err.msg;
    }

    void TearDown() override
    {
        mdm_engine_free(engine);
        mdm_pack_free(pack);
    }
};

TEST_F(MonitorTest, HealthyThenErrorRaisesThenHealthyResolves)
{
    load();
    feed("Device Manager", 1004, "DM01", 1);
    feed("Device Manager", 1003, "DM01", 2);
    feed("Device Manager", 1004, "DM01", 3);
    ASSERT_EQ(3u, changes.size());
    EXPECT_EQ(MDM_HEALTH_UNKNOWN, changes[0].from);
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[0].to);
    EXPECT_EQ(MDM_ALERT_NONE, changes[0].alert);
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[1].to);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[1].alert);
    EXPECT_EQ(MDM_SEVERITY_CRITICAL, changes[1].severity);
    EXPECT_EQ("Problem: event 2", changes[1].alert_text);
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[2].to);
    EXPECT_EQ(MDM_ALERT_RESOLVED, changes[2].alert);
    EXPECT_EQ(MDM_SEVERITY_CRITICAL, changes[2].severity);
    const struct mdm_engine_stats *s = mdm_engine_stats(engine);
    EXPECT_EQ(1u, s->alerts_raised);
    EXPECT_EQ(1u, s->alerts_resolved);
}

TEST_F(MonitorTest, FirstEventErrorFromUnknownRaises)
{
    load();
    feed("Device Manager", 1003, "DM01", 1);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_UNKNOWN, changes[0].from);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[0].alert);
}

TEST_F(MonitorTest, RepeatedErrorIsCountedNotRealerted)
{
    load();
    feed("Device Manager", 1003, "DM01", 1);
    feed("Device Manager", 1003, "DM01", 2);
    feed("Device Manager", 1003, "DM01", 3);
    ASSERT_EQ(1u, changes.size());
    mdm_instance *inst = mdm_engine_instance(engine, 0);
    ASSERT_NE(nullptr, inst);
    EXPECT_EQ(2u, inst->state.repeat_count);
    EXPECT_TRUE(inst->state.alert_active);
    EXPECT_EQ(3u, inst->state.last_record_id);
    EXPECT_STREQ("event 3", inst->state.last_description);
    EXPECT_EQ(2u, mdm_engine_stats(engine)->repeats);
    EXPECT_EQ(1u, mdm_engine_stats(engine)->alerts_raised);
}

TEST_F(MonitorTest, ReversedOperationalStatesAreHonoured)
{
    PackOptions o;
    o.first_health = "Error";    // 1004 now means error
    o.second_health = "Success"; // 1003 now means healthy
    load(o);
    feed("Device Manager", 1003, "DM01", 1);
    feed("Device Manager", 1004, "DM01", 2);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_HEALTH_HEALTHY, changes[0].to);
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[1].to);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[1].alert);
}

TEST_F(MonitorTest, AutoResolveOffKeepsAlertOpenAndDoesNotRaiseAgain)
{
    PackOptions o;
    o.auto_resolve = "false";
    load(o);
    feed("Device Manager", 1003, "DM01", 1);
    feed("Device Manager", 1004, "DM01", 2);
    feed("Device Manager", 1003, "DM01", 3);
    ASSERT_EQ(3u, changes.size());
    EXPECT_EQ(MDM_ALERT_RAISED, changes[0].alert);
    EXPECT_EQ(MDM_ALERT_NONE, changes[1].alert);
    EXPECT_EQ(MDM_ALERT_NONE, changes[2].alert);
    EXPECT_TRUE(mdm_engine_instance(engine, 0)->state.alert_active);
}

TEST_F(MonitorTest, NoAlertSettingsChangesStateWithoutAlerts)
{
    PackOptions o;
    o.alerts = false;
    load(o);
    feed("Device Manager", 1003, "DM01", 1);
    feed("Device Manager", 1004, "DM01", 2);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(MDM_ALERT_NONE, changes[0].alert);
    EXPECT_EQ(MDM_ALERT_NONE, changes[1].alert);
}

TEST_F(MonitorTest, WarningStateAlertsOnlyWhenAlertOnStateIsWarning)
{
    PackOptions o;
    o.second_health = "Warning";
    load(o);
    feed("Device Manager", 1003, "DM01", 1);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_WARNING, changes[0].to);
    EXPECT_EQ(MDM_ALERT_NONE, changes[0].alert);

    TearDown();
    pack = nullptr;
    engine = nullptr;
    changes.clear();
    o.alert_on = "Warning";
    load(o);
    feed("Device Manager", 1003, "DM01", 1);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_ALERT_RAISED, changes[0].alert);
    EXPECT_EQ(MDM_SEVERITY_WARNING, changes[0].severity);
}

TEST_F(MonitorTest, FixedSeverityOverridesHealth)
{
    PackOptions o;
    o.severity = "Warning";
    load(o);
    feed("Device Manager", 1003, "DM01", 1);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_SEVERITY_WARNING, changes[0].severity);
}

TEST_F(MonitorTest, OtherPublisherLogAndNumberAreIgnored)
{
    load();
    feed("Enrollment Server", 1003, "DM01", 1);
    feed("Device Manager", 1003, "DM01", 2, "Application");
    feed("Device Manager", 1005, "DM01", 3);
    EXPECT_TRUE(changes.empty());
    EXPECT_EQ(0u, mdm_engine_stats(engine)->matched);
    EXPECT_EQ(3u, mdm_engine_stats(engine)->events);
}

TEST_F(MonitorTest, QualifiersAreIgnoredInTheDisplayNumber)
{
    load();
    feed("Device Manager", 1003, "DM01", 1, "Mobile Device Manager", 0xC000);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(MDM_HEALTH_ERROR, changes[0].to);
}

TEST_F(MonitorTest, LogNameComparisonIgnoresCase)
{
    load();
    feed("Device Manager", 1003, "DM01", 1, "mobile device manager");
    EXPECT_EQ(1u, changes.size());
}

TEST_F(MonitorTest, EveryComputerIsItsOwnTargetInOrderOfAppearance)
{
    load();
    feed("Device Manager", 1003, "DM02", 1);
    feed("Device Manager", 1003, "DM01", 2);
    feed("Device Manager", 1004, "DM02", 3);
    ASSERT_EQ(3u, changes.size());
    EXPECT_EQ("DM02", changes[0].target);
    EXPECT_EQ(1u, changes[0].row);
    EXPECT_EQ("DM01", changes[1].target);
    EXPECT_EQ(2u, changes[1].row);
    EXPECT_EQ(MDM_ALERT_RAISED, changes[1].alert);
    EXPECT_EQ(MDM_ALERT_RESOLVED, changes[2].alert);
    EXPECT_EQ(2u, mdm_engine_target_count(engine));
}

TEST_F(MonitorTest, FixedTargetsRestrictEvaluation)
{
    load();
    ASSERT_EQ(0, mdm_engine_add_target(engine, "DM01", nullptr));
    feed("Device Manager", 1003, "DM02.contoso.com", 1);
    feed("Device Manager", 1003, "dm01.contoso.com", 2); // NetBIOS name matches the FQDN
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ("DM01", changes[0].target);
    EXPECT_EQ(1u, mdm_engine_target_count(engine));
}

TEST_F(MonitorTest, LiteralComputerNameWatchesThatComputerOnly)
{
    PackOptions o;
    o.computer = "DM09";
    load(o);
    feed("Device Manager", 1003, "DM01", 1);
    feed("Device Manager", 1003, "DM09", 2);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ(2u, changes[0].record);
}

TEST_F(MonitorTest, DisabledMonitorIsNotEvaluated)
{
    // The disabled monitor is skipped by the loader; the other one has rows.
    PackOptions o;
    o.enabled = "false";
    PackOptions other;
    other.id = "Other.Monitor";
    other.first_id = "2001";
    other.second_id = "2002";
    load(o, true, mdmtest::unit_monitor_xml(other));
    ASSERT_EQ(1u, pack->skip_count);
    EXPECT_STREQ("Test.Monitor", pack->skips[0].id);
    feed("Device Manager", 1003, "DM01", 1);
    EXPECT_TRUE(changes.empty());
    EXPECT_EQ(1u, mdm_engine_instance_count(engine));
    size_t loaded = 0, skipped = 0;
    mdm_engine_pack_counts(engine, &loaded, &skipped);
    EXPECT_EQ(1u, loaded);
    EXPECT_EQ(1u, skipped);
}

TEST_F(MonitorTest, TwoMonitorsGiveTwoRowsPerTarget)
{
    PackOptions second;
    second.id = "Other.Monitor";
    second.first_id = "2001";
    second.second_id = "2002";
    load(PackOptions(), true, mdmtest::unit_monitor_xml(second));
    feed("Device Manager", 2002, "DM01", 1);
    feed("Device Manager", 1003, "DM01", 2);
    ASSERT_EQ(2u, changes.size());
    EXPECT_EQ(2u, changes[0].row);
    EXPECT_EQ(1u, changes[1].row);
    EXPECT_EQ(2u, mdm_engine_instance_count(engine));
}

TEST_F(MonitorTest, AlertParameterFromEventField)
{
    PackOptions o;
    o.alert_param = "$Data/Context/EventDisplayNumber$";
    load(o);
    feed("Device Manager", 1003, "DM01", 1);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ("Problem: 1003", changes[0].alert_text);
}

TEST_F(MonitorTest, AlertParameterTargetName)
{
    PackOptions o;
    o.alert_param =
        "$Target/Host/Property[Type=\"Windows!Microsoft.Windows.Computer\"]/NetworkName$";
    load(o);
    feed("Device Manager", 1003, "DM07.contoso.com", 1);
    ASSERT_EQ(1u, changes.size());
    EXPECT_EQ("Problem: DM07.contoso.com", changes[0].alert_text);
}

TEST(ComputerMatch, Rules)
{
    EXPECT_TRUE(mdm_computer_matches("DM01", "dm01"));
    EXPECT_TRUE(mdm_computer_matches("DM01", "dm01.contoso.com"));
    EXPECT_TRUE(mdm_computer_matches("dm01.contoso.com", "DM01"));
    EXPECT_FALSE(mdm_computer_matches("DM01", "DM011.contoso.com"));
    EXPECT_FALSE(mdm_computer_matches("dm01.a.com", "dm01.b.com"));
    EXPECT_FALSE(mdm_computer_matches(nullptr, "x"));
}

} // namespace

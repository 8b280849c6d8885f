/* engine_fixtures.h - management packs and events for the engine tests. */
#ifndef MDM_ENGINE_FIXTURES_H
#define MDM_ENGINE_FIXTURES_H

#include <string>

#include "wevt/event.h"

namespace mdmtest
{

struct PackOptions {
    std::string first_health = "Success"; /* HealthState of FirstEventRaised */
    std::string second_health = "Error";  /* HealthState of SecondEventRaised */
    std::string first_id = "1004";
    std::string second_id = "1003";
    std::string log = "Mobile Device Manager";
    std::string computer = "$Target/Host/Host/Host/Host/"
                           "Property[Type=\"Windows!Microsoft.Windows.Computer\"]/NetworkName$";
    std::string alert_on = "Error";
    std::string auto_resolve = "true";
    std::string severity = "MatchMonitorHealth";
    bool alerts = true;
    std::string enabled = "onEssentialMonitoring";
    std::string type = "Windows!Microsoft.Windows.2SingleEventLog2StateMonitorType";
    std::string id = "Test.Monitor";
    std::string alert_param = "$Data/Context/EventDescription$";
};

/* A whole <ManagementPack> with one UnitMonitor built from opts and its DisplayStrings. */
std::string pack_xml(const PackOptions &opts = PackOptions(),
                     const std::string &extra_monitors = "");
/* Just the <UnitMonitor> element. */
std::string unit_monitor_xml(const PackOptions &opts);

/*
 * A stack-allocated event whose strings point at literals / members, as the
 * event.h contract allows for tests.
 */
struct TestEvent {
    mdm_event ev;
    std::string provider, channel, computer, description, time;
    TestEvent(const std::string &provider_, unsigned id, const std::string &computer_,
              unsigned long long record, const std::string &channel_ = "Mobile Device Manager",
              unsigned qualifiers = 0, const std::string &description_ = "desc");
    TestEvent(const TestEvent &) = delete;
    TestEvent &operator=(const TestEvent &) = delete;
};

} // namespace mdmtest

#endif

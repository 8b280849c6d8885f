// engine_fixtures.cc - packs and events for the engine tests.
#include "engine_fixtures.h"

#include <cstring>

namespace mdmtest
{

static std::string detector(const char *which, const PackOptions &o, const std::string &id)
{
    return std::string("<") + which + "ComputerName>" + o.computer + "</" + which +
           "ComputerName><" + which + "LogName>" + o.log + "</" + which + "LogName><" + which +
           "Expression><And><Expression><SimpleExpression><ValueExpression><XPathQuery>"
           "PublisherName</XPathQuery></ValueExpression><Operator>Equal</Operator>"
           "<ValueExpression><Value>Device Manager</Value></ValueExpression></SimpleExpression>"
           "</Expression><Expression><SimpleExpression><ValueExpression><XPathQuery>"
           "EventDisplayNumber</XPathQuery></ValueExpression><Operator>Equal</Operator>"
           "<ValueExpression><Value>" +
           id + "</Value></ValueExpression></SimpleExpression></Expression></And></" + which +
           "Expression>";
}

std::string unit_monitor_xml(const PackOptions &o)
{
    std::string x = "<UnitMonitor ID=\"" + o.id + "\" Accessibility=\"Public\" Enabled=\"" +
                    o.enabled + "\" Target=\"Test.Class\" Remotable=\"true\" TypeID=\"" + o.type +
                    "\" ConfirmDelivery=\"true\">\n<Category>StateCollection</Category>\n";
    if (o.alerts)
        x += "<AlertSettings AlertMessage=\"" + o.id + ".AlertMessage\"><AlertOnState>" +
             o.alert_on + "</AlertOnState><AutoResolve>" + o.auto_resolve +
             "</AutoResolve><AlertPriority>Normal</AlertPriority><AlertSeverity>" + o.severity +
             "</AlertSeverity><AlertParameters><AlertParameter1>" + o.alert_param +
             "</AlertParameter1></AlertParameters></AlertSettings>\n";
    x +=
        "<OperationalStates><OperationalState ID=\"First\" MonitorTypeStateID=\"FirstEventRaised\" "
        "HealthState=\"" +
        o.first_health +
        "\"/><OperationalState ID=\"Second\" MonitorTypeStateID=\"SecondEventRaised\" "
        "HealthState=\"" +
        o.second_health + "\"/></OperationalStates>\n<Configuration>" +
        detector("First", o, o.first_id) + detector("Second", o, o.second_id) +
        "</Configuration>\n</UnitMonitor>\n";
    return x;
}

std::string pack_xml(const PackOptions &o, const std::string &extra)
{
    return "<?xml version=\"1.0\"?>\n<ManagementPack>\n<Manifest><Identity><ID>Test.Pack</ID>"
           "<Version>1.0.0.0</Version></Identity></Manifest>\n<Monitoring><Monitors>\n" +
           unit_monitor_xml(o) + extra +
           "</Monitors></Monitoring>\n<LanguagePacks><LanguagePack ID=\"ENU\" "
           "IsDefault=\"true\"><DisplayStrings>"
           "<DisplayString ElementID=\"" +
           o.id + "\"><Name>Test Monitor</Name></DisplayString><DisplayString ElementID=\"" + o.id +
           ".AlertMessage\"><Name>Test Alert</Name><Description>Problem: {0}</Description>"
           "</DisplayString></DisplayStrings></LanguagePack></LanguagePacks>\n</ManagementPack>\n";
}

TestEvent::TestEvent(const std::string &provider_, unsigned id, const std::string &computer_,
                     unsigned long long record, const std::string &channel_, unsigned qualifiers,
                     const std::string &description_)
    : provider(provider_), channel(channel_), computer(computer_), description(description_),
      time("2026-11-25T05:00:00.000Z")
{
    mdm_event_init(&ev);
    ev.provider = provider.c_str();
    ev.event_id = id;
    ev.qualifiers = (uint16_t)qualifiers;
    ev.has_qualifiers = qualifiers != 0;
    ev.level = 2;
    ev.record_id = record;
    ev.channel = channel.c_str();
    ev.computer = computer.c_str();
    ev.description = description.c_str();
    ev.time_created = time.c_str();
    ev.time_unix_ms = 1795582800000LL + (long long)record * 1000;
}

} // namespace mdmtest

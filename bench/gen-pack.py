#!/usr/bin/env python3
"""gen-pack.py - a management pack with N unit monitors, for the pack-loading bench.

    bench/gen-pack.py [N] > pack.xml        (N defaults to 10000)

Deterministic. Every monitor is a Microsoft.Windows.2SingleEventLog2StateMonitorType
monitor shaped like the SCMDM Enrollment Connection monitor (packs/enrollment-connection.xml):
a Manifest with its References, AlertSettings with a parameter, two OperationalStates,
an <And> of PublisherName and EventDisplayNumber per detector, and in the English
LanguagePack a DisplayString for the monitor and one for its alert message. The
monitors differ in ID, event numbers, publisher and log name (16 logs), so that
nothing can be shared between them. Every monitor is evaluable: `mdmhealth check`
must report N loaded, 0 skipped.
"""
import sys


def monitor(i):
    mid = "Bench.Monitor.%05d" % i
    pub = "Bench Publisher %d" % (i % 97)
    log = "Bench Log %d" % (i % 16)
    first, second = 1000 + 2 * (i % 30000), 1001 + 2 * (i % 30000)

    def detector(prefix, number):
        return (
            "<%sComputerName>$Target/Host/Property[Type=\"Windows!Microsoft.Windows.Computer\"]/NetworkName$</%sComputerName>\n"
            "<%sLogName>%s</%sLogName>\n"
            "<%sExpression><And>\n"
            "<Expression><SimpleExpression><ValueExpression><XPathQuery Type=\"String\">PublisherName</XPathQuery></ValueExpression>"
            "<Operator>Equal</Operator><ValueExpression><Value Type=\"String\">%s</Value></ValueExpression></SimpleExpression></Expression>\n"
            "<Expression><SimpleExpression><ValueExpression><XPathQuery Type=\"UnsignedInteger\">EventDisplayNumber</XPathQuery></ValueExpression>"
            "<Operator>Equal</Operator><ValueExpression><Value Type=\"UnsignedInteger\">%d</Value></ValueExpression></SimpleExpression></Expression>\n"
            "</And></%sExpression>\n"
        ) % (prefix, prefix, prefix, log, prefix, prefix, pub, number, prefix)

    return (
        "<UnitMonitor ID=\"%s\" Accessibility=\"Public\" Enabled=\"true\" Target=\"Bench.Class\" "
        "ParentMonitorID=\"Health!System.Health.AvailabilityState\" Remotable=\"true\" Priority=\"Normal\" "
        "TypeID=\"Windows!Microsoft.Windows.2SingleEventLog2StateMonitorType\" ConfirmDelivery=\"true\">\n"
        "<Category>AvailabilityHealth</Category>\n"
        "<AlertSettings AlertMessage=\"%s.AlertMessage\">\n"
        "<AlertOnState>Error</AlertOnState><AutoResolve>true</AutoResolve><AlertPriority>Normal</AlertPriority>"
        "<AlertSeverity>MatchMonitorHealth</AlertSeverity>\n"
        "<AlertParameters><AlertParameter1>$Data/Context/EventDescription$</AlertParameter1></AlertParameters>\n"
        "</AlertSettings>\n"
        "<OperationalStates>\n"
        "<OperationalState ID=\"Success\" MonitorTypeStateID=\"FirstEventRaised\" HealthState=\"Success\"/>\n"
        "<OperationalState ID=\"Failure\" MonitorTypeStateID=\"SecondEventRaised\" HealthState=\"Error\"/>\n"
        "</OperationalStates>\n"
        "<Configuration>\n%s%s</Configuration>\n"
        "</UnitMonitor>\n"
    ) % (mid, mid, detector("First", first), detector("Second", second))


def strings(i):
    mid = "Bench.Monitor.%05d" % i
    return (
        "<DisplayString ElementID=\"%s\"><Name>Bench monitor %d</Name></DisplayString>\n"
        "<DisplayString ElementID=\"%s.AlertMessage\"><Name>Bench alert %d</Name>"
        "<Description>{0}</Description></DisplayString>\n"
    ) % (mid, i, mid, i)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    if n < 1:
        sys.exit("gen-pack.py: N must be at least 1")
    out = sys.stdout
    out.write("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
              "<ManagementPack ContentReadable=\"true\" SchemaVersion=\"2.0\">\n"
              "<Manifest><Identity><ID>Bench.Pack</ID><Version>1.0.0.0</Version></Identity>"
              "<Name>Bench pack, %d monitors</Name>\n<References>\n"
              "<Reference Alias=\"Windows\"><ID>Microsoft.Windows.Library</ID><Version>6.0.4837.0</Version>"
              "<PublicKeyToken>31bf3856ad364e35</PublicKeyToken></Reference>\n"
              "<Reference Alias=\"Health\"><ID>System.Health.Library</ID><Version>6.0.4837.0</Version>"
              "<PublicKeyToken>31bf3856ad364e35</PublicKeyToken></Reference>\n"
              "</References></Manifest>\n<Monitoring><Monitors>\n" % n)
    for i in range(n):
        out.write(monitor(i))
    out.write("</Monitors></Monitoring>\n<Presentation><StringResources>\n")
    for i in range(n):
        out.write("<StringResource ID=\"Bench.Monitor.%05d.AlertMessage\"/>\n" % i)
    out.write("</StringResources></Presentation>\n"
              "<LanguagePacks><LanguagePack ID=\"ENU\" IsDefault=\"true\"><DisplayStrings>\n")
    for i in range(n):
        out.write(strings(i))
    out.write("</DisplayStrings></LanguagePack></LanguagePacks>\n</ManagementPack>\n")


if __name__ == "__main__":
    main()

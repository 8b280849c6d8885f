// test_engine_pack.cc - management pack loading and its error messages.
#include <gtest/gtest.h>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#endif

#include <cstring>
#include <string>

#include "engine_fixtures.h"
#include "agent/common/mdm_alloc.h"
#include "agent/engine/pack.h"
#include "test_util.h"

using mdmtest::PackOptions;

namespace
{

struct Loaded {
    mdm_pack *pack = nullptr;
    int rc = 0;
    mdm_err err;
    explicit Loaded(const std::string &xml)
    {
        mdm_err_clear(&err);
        rc = mdm_pack_load_memory(xml.data(), xml.size(), "pack.xml", &pack, &err);
    }
    ~Loaded()
    {
        mdm_pack_free(pack);
    }
};

TEST(Pack, DefaultPackIsTheSeedMonitor)
{
    mdm_pack *pack = nullptr;
    mdm_err err;
    ASSERT_EQ(0, mdm_pack_load_default(&pack, &err)) << err.msg;
    ASSERT_EQ(1u, pack->monitor_count);
    const mdm_monitor_def &m = pack->monitors[0];
    EXPECT_STREQ("Microsoft.SystemCenter.MobileDeviceManager.2008.1_0.WipeServiceDriver."
                 "EnrollmentConnection.MobileDeviceManager.EnrollmentConnection.EventBased."
                 "UnitMonitor",
                 m.id);
    EXPECT_TRUE(m.enabled);
    EXPECT_TRUE(m.remotable);
    EXPECT_TRUE(m.confirm_delivery);
    EXPECT_STREQ("Mobile Device Manager", m.detectors[0].log_name);
    EXPECT_EQ(MDM_PARAM_TARGET_NAME, m.detectors[0].computer.kind);
    EXPECT_EQ(MDM_HEALTH_HEALTHY, m.detectors[0].health);
    EXPECT_STREQ("Success", m.detectors[0].state_id);
    EXPECT_EQ(MDM_HEALTH_ERROR, m.detectors[1].health);
    EXPECT_STREQ("Negative", m.detectors[1].state_id);
    EXPECT_TRUE(m.alert_generate);
    EXPECT_EQ(MDM_HEALTH_ERROR, m.alert_on_state);
    EXPECT_TRUE(m.auto_resolve);
    EXPECT_TRUE(m.severity_matches_health);
    EXPECT_EQ(MDM_PRIORITY_NORMAL, m.priority);
    EXPECT_STREQ("Enrollment Connection Alert", m.alert_name);
    EXPECT_STREQ("{0}", m.alert_description);
    ASSERT_EQ(1u, m.alert_param_count);
    EXPECT_EQ(MDM_PARAM_EVENT_FIELD, m.alert_params[0].kind);
    ASSERT_NE(nullptr, m.alert_params[0].field);
    EXPECT_EQ(MDM_FIELD_EVENT_DESCRIPTION, m.alert_params[0].field->id);
    EXPECT_STREQ("Enrollment Connection Health Monitor (Mobile Device Manager Log)",
                 m.display_name);
    mdm_pack_free(pack);
}

TEST(Pack, ShippedPackFileEqualsTheBuiltIn)
{
    mdm_pack *pack = nullptr;
    mdm_err err;
    ASSERT_EQ(0, mdm_pack_load_file(MDM_PACKS_DIR "/enrollment-connection.xml", &pack, &err))
        << err.msg;
    EXPECT_EQ(1u, pack->monitor_count);
    mdm_pack_free(pack);
}

TEST(Pack, BareUnitMonitorFragmentLoads)
{
    PackOptions o;
    Loaded l(mdmtest::unit_monitor_xml(o));
    ASSERT_EQ(0, l.rc) << l.err.msg;
    ASSERT_EQ(1u, l.pack->monitor_count);
    // Without DisplayStrings the alert name falls back to the message ID.
    EXPECT_STREQ("Test.Monitor.AlertMessage", l.pack->monitors[0].alert_name);
    EXPECT_EQ(nullptr, l.pack->monitors[0].alert_description);
}

// The line of a monitor is where "<UnitMonitor" begins, also when its start tag spans
// several lines (libxml2's own line is that of the tag's '>'), in UTF-8 and UTF-16.
TEST(Pack, MonitorLineIsWhereAMultiLineStartTagBegins)
{
    PackOptions o;
    std::string xml = mdmtest::pack_xml(o);
    size_t at = xml.find("<UnitMonitor");
    ASSERT_NE(std::string::npos, at);
    xml.insert(at + strlen("<UnitMonitor"), "\n\n   \n");
    long want = 1;
    for (size_t i = 0; i < at; i++)
        want += xml[i] == '\n';
    {
        Loaded l(xml);
        ASSERT_EQ(0, l.rc) << l.err.msg;
        EXPECT_EQ(want, l.pack->monitors[0].line);
    }
    // The same document as UTF-16 LE with a byte order mark (ASCII text: one zero byte each).
    std::string utf16 = "\xff\xfe";
    std::string declared = xml;
    declared.replace(0, declared.find("?>"), "<?xml version=\"1.0\" encoding=\"utf-16\"");
    for (char c : declared) {
        utf16 += c;
        utf16 += '\0';
    }
    Loaded l16(utf16);
    ASSERT_EQ(0, l16.rc) << l16.err.msg;
    EXPECT_EQ(want, l16.pack->monitors[0].line);
}

// libxml2 keeps at most 65535 as an element's line; the loader's FILE:LINE goes on.
TEST(Pack, LinesBeyond65535AreReported)
{
    PackOptions o;
    std::string xml = mdmtest::pack_xml(o);
    size_t at = xml.find("<UnitMonitor");
    ASSERT_NE(std::string::npos, at);
    xml.insert(at, std::string(70000, '\n'));
    long want = 1;
    for (size_t i = 0; i < at + 70000; i++)
        want += xml[i] == '\n';
    {
        Loaded l(xml);
        ASSERT_EQ(0, l.rc) << l.err.msg;
        EXPECT_EQ(want, l.pack->monitors[0].line);
    }
    // And in an error inside the monitor: the <Frobnicate/> is on the monitor's last line.
    std::string bad = xml;
    bad.replace(bad.find("<Category>"), 0, "<Frobnicate/>");
    long frob = 1;
    for (size_t i = 0; i < bad.find("<Frobnicate/>"); i++)
        frob += bad[i] == '\n';
    ASSERT_GT(frob, 65535);
    Loaded l(bad);
    ASSERT_EQ(MDM_EUNSUPPORTED, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find(std::to_string(want))) << l.err.msg;
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find(std::to_string(frob))) << l.err.msg;
    // And in an error of the expression compiler: libxml2's own line, which past 65535 it
    // takes from the text next to an element (so within a line of it), not 65535.
    std::string expr = xml;
    size_t a = expr.find("<FirstExpression>") + strlen("<FirstExpression>");
    expr.replace(a, expr.find("</FirstExpression>") - a, "\n<DayTimeExpression/>\n");
    long day = 1;
    for (size_t i = 0; i < expr.find("<DayTimeExpression/>"); i++)
        day += expr[i] == '\n';
    Loaded le(expr);
    ASSERT_EQ(MDM_EUNSUPPORTED, le.rc);
    std::string msg = le.err.msg;
    size_t at_line = msg.find("(line ");
    ASSERT_NE(std::string::npos, at_line) << msg;
    long reported = std::stol(msg.substr(at_line + 6));
    EXPECT_GE(reported, day - 1) << msg;
    EXPECT_LE(reported, day + 1) << msg;
}

// A monitor's name comes from the preferred LanguagePack (IsDefault="true", or ENU), wherever
// it is among the LanguagePacks, and from the first such DisplayString.
TEST(Pack, DisplayNameFromThePreferredLanguagePack)
{
    PackOptions o;
    std::string xml = mdmtest::pack_xml(o);
    size_t at = xml.find("<LanguagePack ID=\"ENU\" IsDefault=\"true\">");
    ASSERT_NE(std::string::npos, at);
    xml.replace(at, strlen("<LanguagePack ID=\"ENU\" IsDefault=\"true\">"),
                "<LanguagePack ID=\"DEU\"><DisplayStrings><DisplayString ElementID=\"" + o.id +
                    "\"><Name>Testmonitor</Name></DisplayString></DisplayStrings></LanguagePack>"
                    "<LanguagePack ID=\"ENU\">");
    size_t end = xml.find("</DisplayStrings></LanguagePack></LanguagePacks>");
    ASSERT_NE(std::string::npos, end);
    xml.insert(end,
               "<DisplayString ElementID=\"" + o.id + "\"><Name>Second</Name></DisplayString>");
    Loaded l(xml);
    ASSERT_EQ(0, l.rc) << l.err.msg;
    EXPECT_STREQ("Test Monitor", l.pack->monitors[0].display_name);
    EXPECT_STREQ("Test Alert", l.pack->monitors[0].alert_name);
    EXPECT_STREQ("Problem: {0}", l.pack->monitors[0].alert_description);
}

TEST(Pack, UnsupportedMonitorTypeNamesElementAndLine)
{
    PackOptions o;
    o.type = "Windows!Microsoft.Windows.3SingleEventLog3StateMonitorType";
    Loaded l(mdmtest::pack_xml(o));
    EXPECT_EQ(MDM_EUNSUPPORTED, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("pack.xml:5:")) << l.err.msg;
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("3SingleEventLog3StateMonitorType"))
        << l.err.msg;
}

TEST(Pack, UnknownElementInUnitMonitorIsRejected)
{
    std::string xml = mdmtest::pack_xml();
    xml.replace(xml.find("<Category>"), 0, "<Frobnicate/>");
    Loaded l(xml);
    EXPECT_EQ(MDM_EUNSUPPORTED, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("<Frobnicate>")) << l.err.msg;
}

TEST(Pack, UnknownConfigurationElementIsRejected)
{
    std::string xml = mdmtest::pack_xml();
    xml.replace(xml.find("<Configuration>") + 15, 0, "<FirstTimer>5</FirstTimer>");
    Loaded l(xml);
    EXPECT_EQ(MDM_EUNSUPPORTED, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("<FirstTimer>")) << l.err.msg;
}

TEST(Pack, MalformedXmlGivesLineAndColumn)
{
    Loaded l("<ManagementPack>\n<Monitoring>\n<Monitors>\n</Monitoring>\n");
    EXPECT_EQ(MDM_EPARSE, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("pack.xml:4:")) << l.err.msg;
}

TEST(Pack, DoctypeIsRejectedWithoutExpansion)
{
    std::string xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE ManagementPack [<!ENTITY a "
                      "\"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n" +
                      mdmtest::unit_monitor_xml(PackOptions());
    Loaded l(xml);
    EXPECT_EQ(MDM_EPARSE, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("DTD")) << l.err.msg;
}

TEST(Pack, NoUnitMonitorIsAnError)
{
    Loaded l("<ManagementPack><Monitoring/></ManagementPack>");
    EXPECT_EQ(MDM_EPARSE, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("no <UnitMonitor>")) << l.err.msg;
}

TEST(Pack, BadHealthStateIsRejected)
{
    PackOptions o;
    o.second_health = "Broken";
    Loaded l(mdmtest::pack_xml(o));
    EXPECT_EQ(MDM_EPARSE, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("Broken")) << l.err.msg;
}

TEST(Pack, MissingOperationalStatesIsRejected)
{
    std::string xml = mdmtest::pack_xml();
    size_t a = xml.find("<OperationalStates>");
    size_t b = xml.find("</OperationalStates>") + strlen("</OperationalStates>");
    xml.erase(a, b - a);
    Loaded l(xml);
    EXPECT_EQ(MDM_EPARSE, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("OperationalStates")) << l.err.msg;
}

TEST(Pack, UnsupportedAlertParameterReferenceIsRejected)
{
    PackOptions o;
    o.alert_param = "$Data/Context/NoSuchThing$";
    Loaded l(mdmtest::pack_xml(o));
    EXPECT_NE(0, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("NoSuchThing")) << l.err.msg;
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("pack.xml:")) << l.err.msg;
}

TEST(Pack, UnsupportedExpressionElementIsRejectedWithLine)
{
    std::string xml = mdmtest::pack_xml();
    size_t a = xml.find("<FirstExpression>") + strlen("<FirstExpression>");
    size_t b = xml.find("</FirstExpression>");
    xml.replace(a, b - a, "\n<DayTimeExpression/>\n");
    Loaded l(xml);
    EXPECT_EQ(MDM_EUNSUPPORTED, l.rc);
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("DayTimeExpression")) << l.err.msg;
    EXPECT_NE(std::string::npos, std::string(l.err.msg).find("pack.xml:")) << l.err.msg;
}

TEST(Pack, MissingFileIsAnIoError)
{
    mdm_pack *pack = nullptr;
    mdm_err err;
    EXPECT_EQ(MDM_EIO, mdm_pack_load_file("/nonexistent/pack.xml", &pack, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("/nonexistent/pack.xml"));
}

// Rows, the state file and the MIB are keyed by the monitor ID: a second <UnitMonitor>
// with the same ID is refused, naming both lines.
TEST(Pack, DuplicateMonitorIdIsRefusedNamingBothLines)
{
    PackOptions o;
    std::string xml = mdmtest::pack_xml(o, mdmtest::unit_monitor_xml(o));
    Loaded l(xml);
    EXPECT_NE(0, l.rc);
    EXPECT_EQ(nullptr, l.pack);
    const std::string msg = l.err.msg;
    // The first <UnitMonitor> is on line 5; the second follows the first's lines.
    size_t first_lines = 0;
    for (char ch : mdmtest::unit_monitor_xml(o))
        first_lines += ch == '\n';
    const std::string second = std::to_string(5 + first_lines);
    EXPECT_EQ(
        0u, msg.find("pack.xml:" + second + ": monitor ID " + o.id + " is defined twice (also at "))
        << msg;
    EXPECT_NE(std::string::npos, msg.find("pack.xml:5)")) << msg;
}

// A sealed pack (.mp: a .NET assembly, "MZ" first) is refused with what to do, not
// as malformed XML.
TEST(Pack, SealedPackIsRefusedWithHowToExportIt)
{
    const std::string dir = mdmtest::make_temp_dir("packsealed");
    const std::string mp = dir + "/Microsoft.Windows.Server.2016.Monitoring.mp";
    mdmtest::write_file(mp, std::string("MZ\x90\x00\x03\x00\x00\x00\x04\x00", 10) +
                                std::string(500, '\0'));
    mdm_pack *pack = nullptr;
    mdm_err err;
    mdm_err_clear(&err);
    EXPECT_EQ(MDM_EPARSE, mdm_pack_load_file(mp.c_str(), &pack, &err));
    EXPECT_EQ(nullptr, pack);
    EXPECT_EQ(0u, std::string(err.msg).find(mp + ": a sealed management pack (.mp")) << err.msg;
    EXPECT_NE(std::string::npos, std::string(err.msg).find("Export-SCOMManagementPack")) << err.msg;
    mdmtest::remove_tree(dir);
}

#ifndef _WIN32
// A FIFO named as the pack is refused at once: opening it for reading used to wait for
// a writer forever. (Before the fix the load is unblocked by the test after 5 s and the
// test fails instead of hanging.)
TEST(Pack, FifoOrDeviceIsRefusedWithoutBlocking)
{
    const std::string dir = mdmtest::make_temp_dir("packfifo");
    const std::string fifo = dir + "/pack.xml";
    ASSERT_EQ(0, mkfifo(fifo.c_str(), 0600));
    auto load = std::async(std::launch::async, [&] {
        mdm_pack *pack = nullptr;
        mdm_err err;
        mdm_err_clear(&err);
        int rc = mdm_pack_load_file(fifo.c_str(), &pack, &err);
        mdm_pack_free(pack);
        return std::make_pair(rc, std::string(err.msg));
    });
    bool finished = load.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    if (!finished) { // unblock the reader: a writer that closes at once gives it EOF
        int fd = open(fifo.c_str(), O_WRONLY);
        if (fd >= 0)
            close(fd);
    }
    auto got = load.get();
    EXPECT_TRUE(finished) << "loading a FIFO as the pack blocked";
    EXPECT_EQ(MDM_EINVAL, got.first);
    EXPECT_NE(std::string::npos, got.second.find(fifo + ": not a regular file (a FIFO)"))
        << got.second;

    mdm_pack *pack = nullptr;
    mdm_err err;
    EXPECT_EQ(MDM_EINVAL, mdm_pack_load_file("/dev/null", &pack, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("not a regular file (a device)"))
        << err.msg;
    EXPECT_EQ(MDM_EINVAL, mdm_pack_load_file(dir.c_str(), &pack, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("not a regular file (a directory)"))
        << err.msg;
    mdmtest::remove_tree(dir);
}
#endif

TEST(Pack, AllocationFailuresAreReportedAndCleanedUp)
{
    std::string xml = mdmtest::pack_xml();
    // Fail the first, second, ... allocation until loading succeeds; each
    // failure must return an error (LeakSanitizer checks the cleanup).
    for (long n = 0; n < 10000; n++) {
        mdm_pack *pack = nullptr;
        mdm_err err;
        mdm_err_clear(&err);
        mdm_alloc_fail_after(n);
        int rc = mdm_pack_load_memory(xml.data(), xml.size(), "pack.xml", &pack, &err);
        mdm_alloc_fail_after(-1);
        if (rc == 0) {
            EXPECT_GT(n, 10);
            mdm_pack_free(pack);
            return;
        }
        EXPECT_EQ(nullptr, pack);
        EXPECT_LT(rc, 0);
    }
    FAIL() << "loading never succeeded";
}

} // namespace

// test_engine_pack_set.cc - the tolerant loader on real public packs, several
// packs as one set, overrides, references and encodings.
//
// The real packs are in tests/data/packs (see SOURCES.md there). Every count
// of <UnitMonitor> elements is taken from xmllint at test time, so the loader
// (loaded + skipped) is checked against a second reader, not against numbers
// written into the test.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine_fixtures.h"
#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/engine/monitor.h"
#include "agent/engine/pack.h"
#include "test_util.h"

namespace
{

const std::string kPacks = MDM_TEST_DATA_DIR "/packs/";
const std::string kXmllint = "/usr/bin/xmllint"; // libxml2-utils (scripts/setup)
const std::string kIconv = "/usr/bin/iconv";     // libc-bin

// The independent reader and the converter are Linux programs: the Windows
// build of these tests (run under Wine) skips the tests that need them.
#define NEED_LINUX_TOOLS()                                                                         \
    do {                                                                                           \
        if (mdmtest::running_under_wine() || !mdmtest::file_exists(kXmllint) ||                    \
            !mdmtest::file_exists(kIconv))                                                         \
            GTEST_SKIP() << kXmllint << " and " << kIconv << " are needed (Linux)";                \
    } while (0)

// Every public pack committed for these tests.
const std::vector<std::string> kRealPacks = {
    "f1point2-DiagnosticsAndRecoveries.xml",
    "f1point2-2State_NTEventLog_Monitor_380.mpx",
    "f1point2-UNCPathCheck-UnitMonitors.mptg.mpx",
    "juanito99-LogdirectoryWatcher-Monitors.mptg.mpx",
    "kevinholman-Monitor.EventLog.RepeatedEvent.mpx",
    "qnd-Hyperv2012R2.xml",
    "qnd-DPM2012-Monitors.mptg.mpx",
    "spa5603-GenericServiceMonitoring.xml",
    // Start tags that span several lines (the skip lines name where each begins).
    "kevinholman-Microsoft.Windows.RemoteAccess.xml",
    "qnd-oms-AADConnectHealth.mpx",
    "qnd-oms-QND.OMS.Workspace.mpx",
};

// Kevin Holman's fragment is a VSAE snippet template: its ##Placeholders##
// are filled in before use (an unfilled ##EventID## is not an integer, and
// SCOM refuses it as mdmhealth does). The copy the tests load is filled in
// the way an author fills it.
const std::string kTemplate = "kevinholman-Monitor.EventLog.RepeatedEvent.mpx";

std::string real_pack_path(const std::string &name)
{
    static std::string filled;
    if (name != kTemplate)
        return kPacks + name;
    if (filled.empty()) {
        std::string text = mdmtest::read_file(kPacks + name);
        const std::vector<std::pair<std::string, std::string>> values = {
            {"##CompanyID##", "Contoso"},
            {"##AppName##", "App"},
            {"##ClassID##", "Windows!Microsoft.Windows.Server.OperatingSystem"},
            {"##EventID##", "100"},
            {"##EventSource##", "App"},
            {"##LogName##", "Application"},
            {"##ResetEventID##", "101"},
            {"##ResetEventSource##", "App"},
            {"##ResetLogName##", "Application"},
            {"##Interval##", "60"},
            {"##Count##", "3"}};
        for (const auto &v : values)
            for (size_t at; (at = text.find(v.first)) != std::string::npos;)
                text.replace(at, v.first.size(), v.second);
        filled = mdmtest::make_temp_dir("packset") + "/" + name;
        mdmtest::write_file(filled, text);
    }
    return filled;
}

struct Loaded {
    mdm_pack *pack = nullptr;
    int rc = 0;
    mdm_err err;
    mdm_buf details;
    Loaded(const std::vector<std::string> &paths, bool strict = false)
    {
        std::vector<const char *> p;
        for (const auto &s : paths)
            p.push_back(s.c_str());
        mdm_err_clear(&err);
        mdm_buf_init(&details, 1u << 24);
        mdm_pack_options opt = {strict, &details};
        rc = mdm_pack_load_files(p.data(), p.size(), &opt, &pack, &err);
    }
    std::string detail_text() const
    {
        return details.data ? std::string(details.data, details.len) : std::string();
    }
    ~Loaded()
    {
        mdm_pack_free(pack);
        mdm_buf_free(&details);
    }
};

// The IDs of every UnitMonitor in the file, read by xmllint.
std::multiset<std::string> xmllint_monitor_ids(const std::string &path)
{
    auto r =
        mdmtest::run_program({kXmllint, "--xpath", "//*[local-name()='UnitMonitor']/@ID", path});
    std::multiset<std::string> ids;
    // xmllint prints each attribute as ` ID="value"`. (No std::regex: GCC 12
    // warns inside it under the sanitizer build.)
    for (size_t p = r.out.find("ID=\""); p != std::string::npos; p = r.out.find("ID=\"", p)) {
        size_t end = r.out.find('"', p + 4);
        if (end == std::string::npos)
            break;
        ids.insert(r.out.substr(p + 4, end - p - 4));
        p = end + 1;
    }
    return ids;
}

size_t xmllint_monitor_count(const std::string &path)
{
    auto r =
        mdmtest::run_program({kXmllint, "--xpath", "count(//*[local-name()='UnitMonitor'])", path});
    EXPECT_EQ(0, r.status) << r.err;
    return std::stoul(r.out);
}

// The file's text as UTF-8 (iconv converts the UTF-16 ones, by their byte order mark).
std::string utf8_text(const std::string &path)
{
    std::string raw = mdmtest::read_file(path);
    if (raw.size() >= 2 && ((unsigned char)raw[0] == 0xFF || (unsigned char)raw[0] == 0xFE)) {
        auto r = mdmtest::run_program({kIconv, "-f", "UTF-16", "-t", "UTF-8", path});
        EXPECT_EQ(0, r.status) << r.err;
        return r.out;
    }
    return raw;
}

// Splits "FILE:LINE: skipped monitor ID (type TYPE): REASON" into its five parts.
bool parse_skip_line(const std::string &line, std::vector<std::string> *parts)
{
    const std::string mark = ": skipped monitor ";
    size_t at = line.find(mark);
    if (at == std::string::npos)
        return false;
    size_t colon = line.rfind(':', at - 1);
    if (colon == std::string::npos || colon + 1 >= at)
        return false;
    std::string number = line.substr(colon + 1, at - colon - 1);
    if (number.find_first_not_of("0123456789") != std::string::npos)
        return false;
    size_t id_start = at + mark.size();
    size_t type_at = line.find(" (type ", id_start);
    if (type_at == std::string::npos)
        return false;
    size_t type_end = line.find("): ", type_at);
    if (type_end == std::string::npos)
        return false;
    *parts = {line.substr(0, colon), number, line.substr(id_start, type_at - id_start),
              line.substr(type_at + 7, type_end - type_at - 7), line.substr(type_end + 3)};
    for (const auto &p : *parts)
        if (p.empty())
            return false;
    return true;
}

// Checks one skip line against the file: FILE:LINE names the line of the <UnitMonitor>.
void check_skip_line(const std::string &line, const std::string &path,
                     const std::vector<std::string> &file_lines, std::string *id_out)
{
    std::vector<std::string> m;
    ASSERT_TRUE(parse_skip_line(line, &m)) << line;
    EXPECT_EQ(path, m[0]);
    size_t n = std::stoul(m[1]);
    ASSERT_GE(n, 1u);
    ASSERT_LE(n, file_lines.size());
    size_t at = file_lines[n - 1].find("<UnitMonitor");
    ASSERT_NE(std::string::npos, at) << line;
    // The start tag from its '<' (the reported line) to its '>', over several lines if need be.
    std::string tag = file_lines[n - 1].substr(at);
    for (size_t k = n; tag.find('>') == std::string::npos && k < file_lines.size(); k++)
        tag += " " + file_lines[k];
    tag = tag.substr(0, tag.find('>'));
    EXPECT_EQ(std::string::npos, m[2].find(' ')) << line;
    EXPECT_NE(std::string::npos, tag.find(" ID=\"" + m[2] + "\"")) << line;
    EXPECT_NE(std::string::npos, tag.find("TypeID=\"" + m[3] + "\"")) << line;
    EXPECT_FALSE(m[4].empty());
    *id_out = m[2];
}

std::vector<std::string> lines_of_file(const std::string &path)
{
    std::vector<std::string> out;
    std::istringstream in(utf8_text(path));
    std::string line;
    while (std::getline(in, line))
        out.push_back(line);
    return out;
}

TEST(PackSet, EveryRealPackReportsEverySkippedMonitor)
{
    NEED_LINUX_TOOLS();
    for (const auto &name : kRealPacks) {
        SCOPED_TRACE(name);
        std::string path = real_pack_path(name);
        size_t count = xmllint_monitor_count(path);
        std::multiset<std::string> expected_ids = xmllint_monitor_ids(path);
        ASSERT_EQ(count, expected_ids.size());
        ASSERT_GT(count, 0u);
        auto file_lines = lines_of_file(path);

        Loaded l({path});
        std::multiset<std::string> ids;
        std::vector<std::string> skip_lines;
        if (l.rc == 0) {
            for (size_t i = 0; i < l.pack->monitor_count; i++)
                ids.insert(l.pack->monitors[i].id);
            mdm_buf b;
            mdm_buf_init(&b, 1u << 24);
            for (size_t i = 0; i < l.pack->skip_count; i++)
                ASSERT_EQ(0, mdm_pack_format_skip(&l.pack->skips[i], &b));
            skip_lines = mdmtest::lines_of(b.data ? b.data : "");
            mdm_buf_free(&b);
            EXPECT_EQ(count, l.pack->monitor_count + l.pack->skip_count);
        } else {
            // Nothing in it can be evaluated: an error, with every skip listed.
            EXPECT_EQ(MDM_EUNSUPPORTED, l.rc) << l.err.msg;
            EXPECT_NE(std::string::npos,
                      std::string(l.err.msg).find("no monitor that mdmhealth can evaluate"));
            skip_lines = mdmtest::lines_of(l.detail_text());
        }
        for (const auto &line : skip_lines) {
            std::string id;
            check_skip_line(line, path, file_lines, &id);
            ids.insert(id);
        }
        EXPECT_EQ(expected_ids, ids);
    }
}

TEST(PackSet, AllRealPacksAsOneSet)
{
    NEED_LINUX_TOOLS();
    std::vector<std::string> paths;
    size_t count = 0;
    for (const auto &name : kRealPacks) {
        // The exported pack holds the monitor of this fragment (a duplicate, see below).
        if (name == "f1point2-2State_NTEventLog_Monitor_380.mpx")
            continue;
        paths.push_back(real_pack_path(name));
        count += xmllint_monitor_count(real_pack_path(name));
    }
    paths.push_back(kPacks + "qnd-DPM2012-Overrides.mpx");
    Loaded l(paths);
    ASSERT_EQ(0, l.rc) << l.err.msg;
    EXPECT_EQ(paths.size(), l.pack->file_count);
    EXPECT_EQ(count, l.pack->monitor_count + l.pack->skip_count);
    // The three 2-state monitors and the repeated-event one, and what the Remote Access
    // pack loads on its own (its event-log monitors: tests/test_packs_scmdm.cc).
    Loaded remote_access({kPacks + "kevinholman-Microsoft.Windows.RemoteAccess.xml"});
    ASSERT_EQ(0, remote_access.rc) << remote_access.err.msg;
    EXPECT_GE(remote_access.pack->monitor_count, 2u);
    EXPECT_EQ(4u + remote_access.pack->monitor_count, l.pack->monitor_count);
    // The overrides of the DPM and Hyper-V packs target skipped monitors or a
    // pack that is not loaded: reported, not applied, and not counted as
    // "cannot be applied" (their monitors are not evaluated anyway).
    ASSERT_EQ(3u, l.pack->override_count);
    for (size_t i = 0; i < l.pack->override_count; i++)
        EXPECT_EQ(MDM_OVERRIDE_UNUSED, l.pack->overrides[i].outcome) << l.pack->overrides[i].id;
    EXPECT_EQ(0u, mdm_pack_unapplied_override_count(l.pack));
}

TEST(PackSet, DisplayNameIsTheMonitorsOwnNotOneOfItsStates)
{
    // The pack names the monitor's operational states with DisplayStrings of
    // the same ElementID and a SubElementID, before the monitor's own.
    Loaded l({kPacks + "f1point2-DiagnosticsAndRecoveries.xml"});
    ASSERT_EQ(0, l.rc) << l.err.msg;
    ASSERT_EQ(3u, l.pack->monitor_count);
    EXPECT_STREQ("Monitor for Event 380", l.pack->monitors[0].display_name);
    EXPECT_STREQ("Monitor for Event 980", l.pack->monitors[2].display_name);
}

TEST(PackSet, ExportAndItsOwnFragmentTogetherAreADuplicateNamingBoth)
{
    // DiagnosticsAndRecoveries.xml is built from the .mpx fragment: monitor
    // F12.HR.Monitor.NTEvent.2State.380 is in both.
    std::string a = kPacks + "f1point2-DiagnosticsAndRecoveries.xml";
    std::string b = kPacks + "f1point2-2State_NTEventLog_Monitor_380.mpx";
    Loaded l({a, b});
    EXPECT_EQ(MDM_EINVAL, l.rc);
    std::string msg = l.err.msg;
    EXPECT_NE(std::string::npos, msg.find(b + ":4: monitor ID F12.HR.Monitor.NTEvent.2State.380"))
        << msg;
    EXPECT_NE(std::string::npos, msg.find("also at " + a + ":106")) << msg;
}

TEST(PackSet, SkipSummaryGroupsByReason)
{
    Loaded l({kPacks + "f1point2-DiagnosticsAndRecoveries.xml", kPacks + "qnd-Hyperv2012R2.xml"});
    ASSERT_EQ(0, l.rc) << l.err.msg;
    EXPECT_EQ(3u, l.pack->monitor_count);
    mdm_buf b;
    mdm_buf_init(&b, 1u << 20);
    ASSERT_EQ(0, mdm_pack_format_summary(l.pack, true, &b));
    std::string s(b.data, b.len);
    mdm_buf_free(&b);
    auto lines = mdmtest::lines_of(s);
    ASSERT_GE(lines.size(), 2u) << s;
    EXPECT_EQ("3 monitor(s) loaded, 8 skipped", lines[0]);
    // Most frequent first; the counts add up to the skips.
    size_t total = 0, previous = SIZE_MAX;
    for (size_t i = 1; i < lines.size(); i++) {
        size_t n = std::stoul(lines[i]);
        EXPECT_LE(n, previous) << s;
        previous = n;
        total += n;
    }
    EXPECT_EQ(8u, total);
    EXPECT_NE(std::string::npos,
              s.find("5  data source Microsoft.Windows.PowerShellPropertyBagProbe: not an "
                     "event-log workflow"))
        << s;
    EXPECT_NE(std::string::npos, s.find("2  disabled (Enabled=\"false\" in its definition)")) << s;
}

TEST(PackSet, StrictRefusesAPackWithSkippedMonitors)
{
    std::vector<std::string> paths = {kPacks + "f1point2-DiagnosticsAndRecoveries.xml",
                                      kPacks + "spa5603-GenericServiceMonitoring.xml"};
    Loaded tolerant(paths);
    ASSERT_EQ(0, tolerant.rc) << tolerant.err.msg;
    EXPECT_EQ(3u, tolerant.pack->monitor_count);
    ASSERT_EQ(1u, tolerant.pack->skip_count);
    // The service-state type is evaluated; this monitor is skipped for what it uses inside.
    EXPECT_STREQ("in $Data/Context/Property[@Name='Name']$: unsupported XPathQuery "
                 "\"Property[@Name='Name']\" (line 425)",
                 tolerant.pack->skips[0].reason);

    Loaded strict(paths, true);
    EXPECT_EQ(MDM_EUNSUPPORTED, strict.rc);
    EXPECT_EQ(nullptr, strict.pack);
    EXPECT_NE(std::string::npos, std::string(strict.err.msg).find("strict: 1 monitor(s) skipped"))
        << strict.err.msg;
    auto lines = mdmtest::lines_of(strict.detail_text());
    ASSERT_EQ(1u, lines.size());
    EXPECT_NE(std::string::npos,
              lines[0].find("spa5603-GenericServiceMonitoring.xml:417: skipped monitor"))
        << lines[0];
}

// An override pack next to the exported DiagnosticsAndRecoveries pack, as an
// operator keeps one: its own Manifest, the monitors' pack as a reference.
std::string override_pack(const std::string &overrides)
{
    return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
           "<ManagementPack ContentReadable=\"true\" SchemaVersion=\"2.0\">\n"
           "<Manifest><Identity><ID>Contoso.DiagnosticsAndRecoveries.Overrides</ID>"
           "<Version>1.0.0.0</Version></Identity>\n<References>\n"
           "<Reference Alias=\"DAR\"><ID>DiagnosticsAndRecoveries</ID><Version>1.0.0.22</Version>"
           "</Reference>\n</References></Manifest>\n<Monitoring><Overrides>\n" +
           overrides + "</Overrides></Monitoring>\n</ManagementPack>\n";
}

TEST(PackSet, OverridePackLoadedAlongsideIsAppliedAndReported)
{
    std::string dir = mdmtest::make_temp_dir("packset");
    std::string ovr = dir + "/overrides.xml";
    mdmtest::write_file(
        ovr,
        override_pack(
            "<MonitorPropertyOverride ID=\"O.Disable380\" Context=\"DAR!F12.HR.AppServer\" "
            "Enforced=\"false\" Monitor=\"DAR!F12.HR.Monitor.NTEvent.2State.380\" "
            "Property=\"Enabled\"><Value>false</Value></MonitorPropertyOverride>\n"
            "<MonitorConfigurationOverride ID=\"O.Log880\" Context=\"DAR!F12.HR.AppServer\" "
            "Enforced=\"false\" "
            "Monitor=\"$MPElement[Name='DAR!F12.HR.Monitor.NTEvent.2State.880']$\" "
            "Parameter=\"SecondLogName\"><Value>System</Value></MonitorConfigurationOverride>\n"
            "<MonitorPropertyOverride ID=\"O.NoAlert980\" Context=\"DAR!F12.HR.AppServer\" "
            "Enforced=\"false\" Monitor=\"DAR!F12.HR.Monitor.NTEvent.2State.980\" "
            "Property=\"GenerateAlert\"><Value>false</Value></MonitorPropertyOverride>\n"
            "<MonitorPropertyOverride ID=\"O.Group\" Context=\"DAR!Some.Group\" "
            "Enforced=\"false\" Monitor=\"DAR!F12.HR.Monitor.NTEvent.2State.980\" "
            "Property=\"AlertPriority\"><Value>High</Value></MonitorPropertyOverride>\n"
            "<MonitorPropertyOverride ID=\"O.Elsewhere\" Context=\"DAR!F12.HR.AppServer\" "
            "Monitor=\"DAR!No.Such.Monitor\" Property=\"Enabled\"><Value>false</Value>"
            "</MonitorPropertyOverride>\n"
            "<RulePropertyOverride ID=\"O.Rule\" Context=\"DAR!F12.HR.AppServer\" "
            "Rule=\"DAR!Some.Rule\" Property=\"Enabled\"><Value>false</Value>"
            "</RulePropertyOverride>\n"));
    std::string dar = kPacks + "f1point2-DiagnosticsAndRecoveries.xml";
    // The override pack may come before the pack it changes.
    Loaded l({ovr, dar});
    ASSERT_EQ(0, l.rc) << l.err.msg;
    ASSERT_EQ(2u, l.pack->monitor_count);
    ASSERT_EQ(1u, l.pack->skip_count);
    EXPECT_STREQ("F12.HR.Monitor.NTEvent.2State.380", l.pack->skips[0].id);
    EXPECT_EQ("disabled by override O.Disable380 (" + ovr + ":8)",
              std::string(l.pack->skips[0].reason));
    const mdm_monitor_def &m880 = l.pack->monitors[0];
    const mdm_monitor_def &m980 = l.pack->monitors[1];
    EXPECT_STREQ("F12.HR.Monitor.NTEvent.2State.880", m880.id);
    EXPECT_STREQ("Application", m880.detectors[0].log_name);
    EXPECT_STREQ("System", m880.detectors[1].log_name);
    EXPECT_TRUE(m880.alert_generate);
    EXPECT_FALSE(m980.alert_generate);
    EXPECT_EQ(MDM_PRIORITY_NORMAL, m980.priority); // the group override is not applied

    ASSERT_EQ(5u, l.pack->override_count);
    EXPECT_EQ(1u, l.pack->other_override_count);
    mdm_buf b;
    mdm_buf_init(&b, 1u << 20);
    for (size_t i = 0; i < l.pack->override_count; i++)
        ASSERT_EQ(0, mdm_pack_format_override(&l.pack->overrides[i], &b));
    auto lines = mdmtest::lines_of(std::string(b.data, b.len));
    mdm_buf_free(&b);
    ASSERT_EQ(5u, lines.size());
    EXPECT_EQ(ovr + ":8: override O.Disable380 (Monitor=DAR!F12.HR.Monitor.NTEvent.2State.380: "
                    "Enabled = false): applied",
              lines[0]);
    EXPECT_EQ(ovr + ":9: override O.Log880 (Monitor=$MPElement[Name='DAR!F12.HR.Monitor.NTEvent."
                    "2State.880']$: SecondLogName = System): applied",
              lines[1]);
    EXPECT_NE(std::string::npos, lines[2].find("O.NoAlert980")) << lines[2];
    EXPECT_NE(std::string::npos, lines[2].find("GenerateAlert = false): applied")) << lines[2];
    EXPECT_NE(std::string::npos, lines[3].find("O.Group")) << lines[3];
    EXPECT_NE(std::string::npos, lines[3].find("not applied: its Context is not the monitor's "
                                               "Target class"))
        << lines[3];
    EXPECT_NE(std::string::npos,
              lines[4].find("not applied: no monitor No.Such.Monitor in the loaded packs"))
        << lines[4];
    EXPECT_EQ(1u, mdm_pack_unapplied_override_count(l.pack));

    // Strict: the group override that cannot be applied is an error too.
    Loaded strict({ovr, dar}, true);
    EXPECT_EQ(MDM_EUNSUPPORTED, strict.rc);
    EXPECT_NE(std::string::npos, strict.detail_text().find("O.Group")) << strict.detail_text();
    mdmtest::remove_tree(dir);
}

struct Mem {
    mdm_pack *pack = nullptr;
    int rc;
    mdm_err err;
    explicit Mem(const std::string &xml)
    {
        mdm_err_clear(&err);
        rc = mdm_pack_load_memory(xml.data(), xml.size(), "pack.xml", &pack, &err);
    }
    ~Mem()
    {
        mdm_pack_free(pack);
    }
};

// A second, evaluable monitor so that the pack loads when the first is skipped.
std::string with_other(mdmtest::PackOptions o)
{
    mdmtest::PackOptions other;
    other.id = "Other.Monitor";
    return mdmtest::pack_xml(o, mdmtest::unit_monitor_xml(other));
}

std::string with_references(std::string xml, const std::string &refs)
{
    xml.replace(xml.find("</Identity>") + 11, 0, "<References>" + refs + "</References>");
    return xml;
}

TEST(PackSet, MonitorTypeIsRecognisedByReferencedPackNotByAlias)
{
    mdmtest::PackOptions o;
    o.type = "Win!Microsoft.Windows.2SingleEventLog2StateMonitorType";
    Mem ok(with_references(mdmtest::pack_xml(o),
                           "<Reference Alias=\"Win\"><ID>Microsoft.Windows.Library</ID>"
                           "<Version>6.0.4837.0</Version></Reference>"));
    ASSERT_EQ(0, ok.rc) << ok.err.msg;
    EXPECT_EQ(1u, ok.pack->monitor_count);

    // "Windows" is declared, but as another pack: not the library type.
    o.type = "Windows!Microsoft.Windows.2SingleEventLog2StateMonitorType";
    mdmtest::PackOptions lib;
    lib.id = "Other.Monitor";
    lib.type = "W2!Microsoft.Windows.2SingleEventLog2StateMonitorType";
    Mem other(with_references(mdmtest::pack_xml(o, mdmtest::unit_monitor_xml(lib)),
                              "<Reference Alias=\"Windows\"><ID>Contoso.Library</ID>"
                              "<Version>1.0.0.0</Version></Reference><Reference Alias=\"W2\">"
                              "<ID>Microsoft.Windows.Library</ID></Reference>"));
    ASSERT_EQ(0, other.rc) << other.err.msg;
    ASSERT_EQ(1u, other.pack->skip_count);
    EXPECT_STREQ("Test.Monitor", other.pack->skips[0].id);
    EXPECT_STREQ("type Microsoft.Windows.2SingleEventLog2StateMonitorType from Contoso.Library: "
                 "not an event-log type mdmhealth implements",
                 other.pack->skips[0].reason);

    // An alias that is neither declared nor conventional.
    o.type = "Nope!Microsoft.Windows.2SingleEventLog2StateMonitorType";
    Mem unknown(with_references(mdmtest::pack_xml(o, mdmtest::unit_monitor_xml(lib)),
                                "<Reference Alias=\"W2\"><ID>Microsoft.Windows.Library</ID>"
                                "</Reference>"));
    ASSERT_EQ(0, unknown.rc) << unknown.err.msg;
    ASSERT_EQ(1u, unknown.pack->skip_count);
    EXPECT_STREQ("type alias \"Nope!\" is not declared in the Manifest's <References>",
                 unknown.pack->skips[0].reason);
}

TEST(PackSet, DisabledMonitorIsSkippedUnlessAnOverrideEnablesIt)
{
    mdmtest::PackOptions o;
    o.enabled = "false";
    Mem disabled(with_other(o));
    ASSERT_EQ(0, disabled.rc) << disabled.err.msg;
    ASSERT_EQ(1u, disabled.pack->skip_count);
    EXPECT_STREQ("disabled (Enabled=\"false\" in its definition)", disabled.pack->skips[0].reason);

    // The same pack enabling it for every object of its target class.
    std::string xml = mdmtest::pack_xml(o);
    xml.replace(xml.find("</Monitoring>"), 0,
                "<Overrides><MonitorPropertyOverride ID=\"Enable\" Context=\"Test.Class\" "
                "Enforced=\"false\" Monitor=\"Test.Monitor\" Property=\"Enabled\">"
                "<Value>true</Value></MonitorPropertyOverride></Overrides>");
    Mem enabled(xml);
    ASSERT_EQ(0, enabled.rc) << enabled.err.msg;
    EXPECT_EQ(1u, enabled.pack->monitor_count);
    EXPECT_EQ(0u, enabled.pack->skip_count);
    ASSERT_EQ(1u, enabled.pack->override_count);
    EXPECT_EQ(MDM_OVERRIDE_APPLIED, enabled.pack->overrides[0].outcome);

    // For one object only (ContextInstance): not applied, the monitor stays disabled.
    std::string one = xml;
    one.replace(one.find("Enforced="), 0,
                "ContextInstance=\"5f6e0c3a-0000-0000-0000-000000000001\" ");
    Mem instance(one);
    EXPECT_EQ(MDM_EUNSUPPORTED, instance.rc) << instance.err.msg;
    EXPECT_NE(std::string::npos, std::string(instance.err.msg).find("disabled"))
        << instance.err.msg;
    // With another monitor to evaluate: the override's line says why it was not applied.
    std::string two = one;
    mdmtest::PackOptions other;
    other.id = "Other.Monitor";
    two.replace(two.find("</Monitors>"), 0, mdmtest::unit_monitor_xml(other));
    Mem kept(two);
    ASSERT_EQ(0, kept.rc) << kept.err.msg;
    ASSERT_EQ(1u, kept.pack->skip_count);
    ASSERT_EQ(1u, kept.pack->override_count);
    EXPECT_EQ(MDM_OVERRIDE_NOT_APPLIED, kept.pack->overrides[0].outcome);
    EXPECT_NE(std::string::npos, std::string(kept.pack->overrides[0].why).find("ContextInstance"));
}

TEST(PackSet, UnsupportedConstructInsideASupportedMonitorIsNamed)
{
    std::string xml = with_other(mdmtest::PackOptions());
    xml.replace(xml.find("<Category>"), 0, "<Frobnicate/>");
    Mem m(xml);
    ASSERT_EQ(0, m.rc) << m.err.msg;
    ASSERT_EQ(1u, m.pack->skip_count);
    EXPECT_STREQ("unsupported element <Frobnicate> in <UnitMonitor> (line 6)",
                 m.pack->skips[0].reason);
    EXPECT_EQ(5, m.pack->skips[0].line);
    EXPECT_STREQ("Other.Monitor", m.pack->monitors[0].id);
}

TEST(PackSet, TargetAndConfigReferencesThatCannotBeSubstitutedAreNamed)
{
    mdmtest::PackOptions target;
    target.first_id = "$Target/Property[Type=\"Contoso.Server\"]/EventId$";
    Mem t(with_other(target));
    ASSERT_EQ(0, t.rc) << t.err.msg;
    ASSERT_EQ(1u, t.pack->skip_count);
    EXPECT_NE(std::string::npos,
              std::string(t.pack->skips[0].reason)
                  .find("reference $Target/Property[Type=\"Contoso.Server\"]/EventId$ in "
                        "<Value>: mdmhealth substitutes only the target computer's name"))
        << t.pack->skips[0].reason;

    mdmtest::PackOptions config;
    config.log = "$Config/LogName$";
    Mem c(with_other(config));
    ASSERT_EQ(0, c.rc) << c.err.msg;
    ASSERT_EQ(1u, c.pack->skip_count);
    EXPECT_NE(std::string::npos,
              std::string(c.pack->skips[0].reason)
                  .find("reference $Config/LogName$ in <FirstLogName>: $Config/...$ has nothing "
                        "to refer to"))
        << c.pack->skips[0].reason;

    // The target computer's name in ComputerName is what mdmhealth substitutes.
    Mem ok(mdmtest::pack_xml());
    ASSERT_EQ(0, ok.rc) << ok.err.msg;
    EXPECT_EQ(MDM_PARAM_TARGET_NAME, ok.pack->monitors[0].detectors[0].computer.kind);
}

// The shipped pack, made non-ASCII (a French display name), as UTF-8, UTF-16
// LE and BE with a byte order mark (converted by iconv at test time) and with
// CRLF line ends: every variant loads to the same monitor.
TEST(PackSet, Utf16AndCrlfVariantsOfOurPackLoadIdentically)
{
    NEED_LINUX_TOOLS();
    std::string dir = mdmtest::make_temp_dir("packset");
    std::string xml = mdmtest::read_file(MDM_PACKS_DIR "/enrollment-connection.xml");
    const std::string name = "Enrollment Connection Health Monitor (Mobile Device Manager Log)";
    size_t at = xml.find("<Name>" + name + "</Name>");
    ASSERT_NE(std::string::npos, at);
    const std::string french = "Moniteur d'int\xC3\xA9grit\xC3\xA9 \xE2\x80\x93 inscription";
    xml.replace(at + 6, name.size(), french);
    mdmtest::write_file(dir + "/utf8.xml", xml);
    std::string crlf;
    for (char ch : xml) {
        if (ch == '\n')
            crlf += '\r';
        crlf += ch;
    }
    mdmtest::write_file(dir + "/crlf.xml", crlf);
    auto le = mdmtest::run_program({kIconv, "-f", "UTF-8", "-t", "UTF-16LE", dir + "/utf8.xml"});
    auto be = mdmtest::run_program({kIconv, "-f", "UTF-8", "-t", "UTF-16BE", dir + "/utf8.xml"});
    ASSERT_EQ(0, le.status) << le.err;
    ASSERT_EQ(0, be.status) << be.err;
    ASSERT_FALSE(le.out.empty());
    mdmtest::write_file(dir + "/le.xml", std::string("\xFF\xFE", 2) + le.out);
    mdmtest::write_file(dir + "/be.xml", std::string("\xFE\xFF", 2) + be.out);

    Loaded ref({dir + "/utf8.xml"});
    ASSERT_EQ(0, ref.rc) << ref.err.msg;
    const mdm_monitor_def &r = ref.pack->monitors[0];
    EXPECT_EQ(french, r.display_name);
    for (const char *variant : {"/crlf.xml", "/le.xml", "/be.xml"}) {
        SCOPED_TRACE(variant);
        Loaded l({dir + variant});
        ASSERT_EQ(0, l.rc) << l.err.msg;
        ASSERT_EQ(1u, l.pack->monitor_count);
        const mdm_monitor_def &m = l.pack->monitors[0];
        EXPECT_STREQ(r.id, m.id);
        EXPECT_STREQ(r.display_name, m.display_name);
        EXPECT_EQ(r.line, m.line);
        EXPECT_STREQ(r.alert_name, m.alert_name);
        EXPECT_STREQ(r.alert_description, m.alert_description);
        for (int d = 0; d < 2; d++) {
            EXPECT_STREQ(r.detectors[d].log_name, m.detectors[d].log_name);
            EXPECT_STREQ(r.detectors[d].computer.text, m.detectors[d].computer.text);
            EXPECT_EQ(r.detectors[d].health, m.detectors[d].health);
        }
        // The expressions behave the same: 1004 (healthy) and 1003 (error).
        mdmtest::TestEvent ok("Device Manager", 1004, "DM01", 1);
        mdmtest::TestEvent bad("Device Manager", 1003, "DM01", 2);
        EXPECT_TRUE(mdm_expr_eval(m.detectors[0].expr, &ok.ev));
        EXPECT_FALSE(mdm_expr_eval(m.detectors[0].expr, &bad.ev));
        EXPECT_TRUE(mdm_expr_eval(m.detectors[1].expr, &bad.ev));
    }
    mdmtest::remove_tree(dir);
}

TEST(PackSet, NothingEvaluableIsAnErrorListingEverySkip)
{
    mdmtest::PackOptions a, b;
    a.type = "Windows!Microsoft.Windows.RepeatedEventLog2StateMonitorType";
    b.id = "Second.Monitor";
    b.enabled = "false";
    std::string xml = mdmtest::pack_xml(a, mdmtest::unit_monitor_xml(b));
    mdm_pack *pack = nullptr;
    mdm_err err;
    mdm_buf details;
    mdm_buf_init(&details, 1u << 20);
    mdm_pack_source src = {"pack.xml", xml.data(), xml.size()};
    mdm_pack_options opt = {false, &details};
    EXPECT_EQ(MDM_EUNSUPPORTED, mdm_pack_load_sources(&src, 1, &opt, &pack, &err));
    EXPECT_EQ(nullptr, pack);
    EXPECT_NE(std::string::npos,
              std::string(err.msg).find("no monitor that mdmhealth can evaluate: 2 skipped"))
        << err.msg;
    auto lines = mdmtest::lines_of(std::string(details.data, details.len));
    mdm_buf_free(&details);
    ASSERT_EQ(2u, lines.size());
    EXPECT_EQ("pack.xml:5: skipped monitor Test.Monitor (type "
              "Windows!Microsoft.Windows.RepeatedEventLog2StateMonitorType): type "
              "Microsoft.Windows.RepeatedEventLog2StateMonitorType: not supported yet",
              lines[0]);
    EXPECT_NE(std::string::npos, lines[1].find("Second.Monitor")) << lines[1];
    EXPECT_NE(std::string::npos, lines[1].find("disabled")) << lines[1];
}

TEST(PackSet, MonitorIdsAreUniqueAcrossPacks)
{
    std::string dir = mdmtest::make_temp_dir("packset");
    mdmtest::write_file(dir + "/a.xml", mdmtest::pack_xml());
    mdmtest::PackOptions other;
    other.id = "Other.Monitor";
    mdmtest::write_file(dir + "/b.xml", mdmtest::pack_xml(other, mdmtest::unit_monitor_xml(
                                                                     mdmtest::PackOptions())));
    Loaded l({dir + "/a.xml", dir + "/b.xml"});
    EXPECT_EQ(MDM_EINVAL, l.rc);
    EXPECT_EQ(nullptr, l.pack);
    std::string msg = l.err.msg;
    EXPECT_NE(std::string::npos, msg.find(dir + "/b.xml:")) << msg;
    EXPECT_NE(std::string::npos,
              msg.find("monitor ID Test.Monitor is defined twice (also at " + dir + "/a.xml:5)"))
        << msg;

    // Distinct IDs across the two files: one set, both evaluated, rows in file order.
    mdmtest::write_file(dir + "/b.xml", mdmtest::pack_xml(other));
    Loaded ok({dir + "/a.xml", dir + "/b.xml"});
    ASSERT_EQ(0, ok.rc) << ok.err.msg;
    ASSERT_EQ(2u, ok.pack->monitor_count);
    EXPECT_EQ(dir + "/a.xml", ok.pack->monitors[0].origin);
    EXPECT_EQ(dir + "/b.xml", ok.pack->monitors[1].origin);
    mdmtest::remove_tree(dir);
}

TEST(PackSet, AllocationFailuresWithSkipsAndOverridesAreCleanedUp)
{
    mdmtest::PackOptions o;
    o.type = "Windows!Microsoft.Windows.RepeatedEventLog2StateMonitorType";
    std::string xml = with_other(o);
    xml.replace(xml.find("</Monitoring>"), 0,
                "<Overrides><MonitorPropertyOverride ID=\"P\" Context=\"Test.Class\" "
                "Monitor=\"Other.Monitor\" Property=\"AlertPriority\"><Value>High</Value>"
                "</MonitorPropertyOverride></Overrides>");
    for (long n = 0; n < 20000; n++) {
        mdm_pack *pack = nullptr;
        mdm_err err;
        mdm_err_clear(&err);
        mdm_alloc_fail_after(n);
        int rc = mdm_pack_load_memory(xml.data(), xml.size(), "pack.xml", &pack, &err);
        mdm_alloc_fail_after(-1);
        if (rc == 0) {
            EXPECT_EQ(1u, pack->skip_count);
            EXPECT_EQ(MDM_PRIORITY_HIGH, pack->monitors[0].priority);
            mdm_pack_free(pack);
            return;
        }
        EXPECT_EQ(nullptr, pack);
        EXPECT_LT(rc, 0);
    }
    FAIL() << "loading never succeeded";
}

} // namespace

// test_cli_replay.cc - `mdmhealth replay` and `mdmhealth check` end to end:
// the real binary on authored MDM event sequences and on real .evtx files.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "engine_fixtures.h"
#include "test_util.h"

using mdmtest::run_program;

namespace
{

const std::string kBinary = MDM_BINARY;
const std::string kSequence = std::string(MDM_TEST_DATA_DIR) + "/mdm-enrollment-sequence.xml";
const std::string kEvtxDir = mdmtest::shared_evtx_dir();

TEST(CliReplay, JsonReproducesTheMonitorOnTheAuthoredSequence)
{
    auto r = run_program({kBinary, "replay", "--json", kSequence});
    ASSERT_EQ(0, r.status) << r.err;
    auto l = mdmtest::lines_of(r.out);
    struct Want {
        const char *computer, *from, *to, *alert, *severity, *record, *event, *row;
    } want[] = {
        {"DM01.contoso.com", "unknown", "healthy", "none", "none", "100", "1004", "1"},
        {"DM01.contoso.com", "healthy", "error", "raised", "critical", "101", "1003", "1"},
        // 102, 103: repeats; 104: another publisher; 105: another log.
        {"DM02.contoso.com", "unknown", "error", "raised", "critical", "106", "1003", "2"},
        {"DM01.contoso.com", "error", "healthy", "resolved", "critical", "107", "1004", "1"},
        // 108: repeat of healthy.
        {"DM01.contoso.com", "healthy", "error", "raised", "critical", "109", "1003", "1"},
    };
    ASSERT_EQ(sizeof(want) / sizeof(want[0]), l.size()) << r.out;
    for (size_t i = 0; i < l.size(); i++) {
        SCOPED_TRACE(l[i]);
        EXPECT_EQ(want[i].computer, mdmtest::json_field(l[i], "computer"));
        EXPECT_EQ(want[i].from, mdmtest::json_field(l[i], "from"));
        EXPECT_EQ(want[i].to, mdmtest::json_field(l[i], "to"));
        EXPECT_EQ(want[i].alert, mdmtest::json_field(l[i], "alert"));
        EXPECT_EQ(want[i].severity, mdmtest::json_field(l[i], "severity"));
        EXPECT_EQ(want[i].record, mdmtest::json_field(l[i], "record_id"));
        EXPECT_EQ(want[i].event, mdmtest::json_field(l[i], "event_id"));
        EXPECT_EQ(want[i].row, mdmtest::json_field(l[i], "row"));
        EXPECT_EQ("Microsoft.SystemCenter.MobileDeviceManager.2008.1_0.WipeServiceDriver."
                  "EnrollmentConnection.MobileDeviceManager.EnrollmentConnection.EventBased."
                  "UnitMonitor",
                  mdmtest::json_field(l[i], "monitor"));
        EXPECT_EQ("normal", mdmtest::json_field(l[i], "priority"));
    }
    EXPECT_EQ("2026-11-20T09:15:02.123Z", mdmtest::json_field(l[1], "time"));
    EXPECT_EQ("Enrollment Connection Alert", mdmtest::json_field(l[1], "alert_name"));
    const std::string failure =
        "The Device Management Server cannot connect to the Enrollment Server at "
        "https://enroll.contoso.com:8445/EnrollmentServer/. The remote server returned an "
        "error: (401) Unauthorized.";
    EXPECT_EQ(failure, mdmtest::json_field(l[1], "description"));
    EXPECT_EQ(failure, mdmtest::json_field(l[1], "alert_text")); // the pack's "{0}"
    EXPECT_EQ("2", mdmtest::json_field(l[3], "repeats"));        // 102 and 103 ended by the 1004
    EXPECT_EQ("<absent>", mdmtest::json_field(l[0], "alert_name"));
    EXPECT_NE(std::string::npos, r.err.find("10 events read, 8 matched, 5 state changes, "
                                            "3 repeats, 3 alerts raised, 1 resolved, 2 targets"))
        << r.err;
}

TEST(CliReplay, TableIsAlignedAndReadable)
{
    auto r = run_program({kBinary, "replay", kSequence});
    ASSERT_EQ(0, r.status) << r.err;
    auto l = mdmtest::lines_of(r.out);
    ASSERT_EQ(6u, l.size()) << r.out;
    EXPECT_EQ(0u, l[0].find("TIME"));
    size_t col = l[0].find("DESCRIPTION");
    ASSERT_NE(std::string::npos, col);
    for (size_t i = 1; i < l.size(); i++)
        EXPECT_EQ(col, l[i].find("The Device Management Server")) << l[i];
    EXPECT_NE(std::string::npos, l[2].find("raised"));
    EXPECT_NE(std::string::npos, l[2].find("critical"));
}

TEST(CliReplay, StdinAndFilesAreOneStream)
{
    std::string data = mdmtest::read_file(kSequence);
    auto r = run_program({kBinary, "replay", "--json", "--quiet", "-"}, data);
    ASSERT_EQ(0, r.status) << r.err;
    EXPECT_EQ(5u, mdmtest::lines_of(r.out).size());
    EXPECT_EQ("", r.err);

    // Replaying the sequence twice: the second copy starts from the first's end state.
    r = run_program({kBinary, "replay", "--json", "--quiet", kSequence, kSequence});
    ASSERT_EQ(0, r.status) << r.err;
    auto l = mdmtest::lines_of(r.out);
    // Second copy: 100 resolves, 101 raises, 106 repeats DM02's error, 107 resolves, 109 raises.
    ASSERT_EQ(9u, l.size()) << r.out;
    EXPECT_EQ("error", mdmtest::json_field(l[5], "from"));
    EXPECT_EQ("resolved", mdmtest::json_field(l[5], "alert"));
}

TEST(CliReplay, TargetLinesRestrictComputers)
{
    std::string dir = mdmtest::make_temp_dir("cli");
    mdmtest::write_file(dir + "/mdmhealth.conf", "target DM02\n");
    auto r = run_program({kBinary, "replay", "--json", "-c", dir + "/mdmhealth.conf", kSequence});
    ASSERT_EQ(0, r.status) << r.err;
    auto l = mdmtest::lines_of(r.out);
    ASSERT_EQ(1u, l.size()) << r.out;
    EXPECT_EQ("DM02", mdmtest::json_field(l[0], "computer"));
    EXPECT_EQ("106", mdmtest::json_field(l[0], "record_id"));
}

TEST(CliReplay, ReversedPackFromFileIsHonoured)
{
    std::string dir = mdmtest::make_temp_dir("cli");
    mdmtest::PackOptions o;
    o.first_health = "Error";
    o.second_health = "Success";
    mdmtest::write_file(dir + "/pack.xml", mdmtest::pack_xml(o));
    auto r = run_program({kBinary, "replay", "--json", "--pack", dir + "/pack.xml", kSequence});
    ASSERT_EQ(0, r.status) << r.err;
    auto l = mdmtest::lines_of(r.out);
    ASSERT_FALSE(l.empty());
    EXPECT_EQ("error", mdmtest::json_field(l[0], "to")); // 1004 is the error event in this pack
    EXPECT_EQ("raised", mdmtest::json_field(l[0], "alert"));
    EXPECT_EQ("Problem: The Device Management Server connected to the Enrollment Server at "
              "https://enroll.contoso.com:8445/EnrollmentServer/.",
              mdmtest::json_field(l[0], "alert_text"));
}

TEST(CliReplay, BrokenPackExitsTwoWithFileAndLine)
{
    std::string dir = mdmtest::make_temp_dir("cli");
    mdmtest::PackOptions o;
    o.type = "Windows!Microsoft.Windows.CorrelatedEventLogTimer2StateMonitorType";
    mdmtest::write_file(dir + "/pack.xml", mdmtest::pack_xml(o));
    auto r = run_program({kBinary, "replay", "--pack", dir + "/pack.xml", kSequence});
    // Its only monitor is of a type mdmhealth does not evaluate: nothing to run.
    EXPECT_EQ(2, r.status);
    EXPECT_NE(std::string::npos, r.err.find("no monitor that mdmhealth can evaluate")) << r.err;
    EXPECT_NE(std::string::npos,
              r.err.find(dir +
                         "/pack.xml:5: skipped monitor Test.Monitor (type "
                         "Windows!Microsoft.Windows.CorrelatedEventLogTimer2StateMonitorType): "
                         "type Microsoft.Windows.CorrelatedEventLogTimer2StateMonitorType: not "
                         "supported yet"))
        << r.err;
    EXPECT_EQ("", r.out);
}

TEST(CliReplay, DamagedEventIsReportedAndTheOthersEvaluated)
{
    std::string dir = mdmtest::make_temp_dir("cli");
    std::string good1 = mdmtest::event_xml("Device Manager", 1003, 1, "DM01");
    std::string bad = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
                      "<System><Provider Name='Device Manager'/><EventID>10x3</EventID>"
                      "</System></Event>\n";
    std::string good2 = mdmtest::event_xml("Device Manager", 1004, 3, "DM01");
    mdmtest::write_file(dir + "/events.xml", good1 + bad + good2);
    auto r = run_program({kBinary, "replay", "--json", dir + "/events.xml"});
    EXPECT_EQ(1, r.status) << r.err;
    auto l = mdmtest::lines_of(r.out);
    ASSERT_EQ(2u, l.size()) << r.out;
    EXPECT_EQ("raised", mdmtest::json_field(l[0], "alert"));
    EXPECT_EQ("resolved", mdmtest::json_field(l[1], "alert"));
    EXPECT_NE(std::string::npos, r.err.find(dir + "/events.xml:2")) << r.err;
    EXPECT_NE(std::string::npos, r.err.find("1 damaged records")) << r.err;
}

TEST(CliReplay, MissingInputExitsOneAndNamesIt)
{
    auto r = run_program({kBinary, "replay", "/nonexistent/events.xml"});
    EXPECT_EQ(1, r.status);
    EXPECT_NE(std::string::npos, r.err.find("/nonexistent/events.xml")) << r.err;
}

TEST(CliReplay, UsageErrorsExitTwo)
{
    auto r = run_program({kBinary, "replay", "--frobnicate"});
    EXPECT_EQ(2, r.status);
    EXPECT_NE(std::string::npos, r.err.find("--frobnicate"));
    r = run_program({kBinary, "replay"});
    EXPECT_EQ(2, r.status);
    EXPECT_NE(std::string::npos, r.err.find("no EVENTS"));
    r = run_program({kBinary, "frobnicate"});
    EXPECT_EQ(2, r.status);
    r = run_program({kBinary});
    EXPECT_EQ(2, r.status);
}

TEST(CliReplay, HelpAndVersion)
{
    auto r = run_program({kBinary, "--help"});
    EXPECT_EQ(0, r.status);
    EXPECT_NE(std::string::npos, r.out.find("mdmhealth replay"));
    r = run_program({kBinary, "replay", "--help"});
    EXPECT_EQ(0, r.status);
    EXPECT_NE(std::string::npos, r.out.find("Exit status"));
    r = run_program({kBinary, "--version"});
    EXPECT_EQ(0, r.status);
    EXPECT_EQ(0u, r.out.find("mdmhealth "));
}

TEST(CliCheck, ValidConfigurationAndPack)
{
    std::string dir = mdmtest::make_temp_dir("cli");
    mdmtest::write_file(dir + "/mdmhealth.conf", "enrollment-server enroll.contoso.com\n"
                                                 "target DM01\n");
    auto r = run_program({kBinary, "check", "-c", dir + "/mdmhealth.conf"});
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.out.find(dir + "/mdmhealth.conf: OK"));
    EXPECT_NE(std::string::npos, r.out.find("1 unit monitor(s)"));
    EXPECT_NE(std::string::npos, r.out.find("Enrollment Connection Alert"));
}

TEST(CliCheck, BadConfigurationExitsTwoWithFileLine)
{
    std::string dir = mdmtest::make_temp_dir("cli");
    mdmtest::write_file(dir + "/mdmhealth.conf", "# ok\nenrollment-ports 1 2 3\n");
    auto r = run_program({kBinary, "check", "-c", dir + "/mdmhealth.conf"});
    EXPECT_EQ(2, r.status);
    EXPECT_NE(std::string::npos, r.err.find(dir + "/mdmhealth.conf:2: enrollment-ports")) << r.err;
}

TEST(CliCheck, PackPathIsRelativeToTheConfig)
{
    std::string dir = mdmtest::make_temp_dir("cli");
    mdmtest::write_file(dir + "/custom.xml", mdmtest::pack_xml());
    mdmtest::write_file(dir + "/mdmhealth.conf", "pack custom.xml\n");
    auto r = run_program({kBinary, "check", "-c", dir + "/mdmhealth.conf"});
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.out.find(dir + "/custom.xml: OK")) << r.out;
}

/* ---- real .evtx files ---------------------------------------------------------------- */

/*
 * The binary reads .evtx with its own reader, with libevtx's XML as the
 * fallback when the build found libevtx; the Windows build never has it and
 * reports the records its reader refuses (docs/replay.md).
 */
#ifdef MDM_HAVE_LIBEVTX
constexpr bool kHaveLibevtx = true;
#else
constexpr bool kHaveLibevtx = false;
#endif

bool have_evtx_dir()
{
    struct stat st;
    return stat(kEvtxDir.c_str(), &st) == 0;
}

/* A pack watching the System log: EventLog 6006 (log service stopped) = error, 6005 = healthy. */
std::string eventlog_pack()
{
    mdmtest::PackOptions o;
    o.log = "System";
    o.first_id = "6005";
    o.second_id = "6006";
    std::string xml = mdmtest::pack_xml(o);
    // The fixture's expressions test PublisherName "Device Manager"; here it is "EventLog".
    size_t p;
    while ((p = xml.find("<Value>Device Manager</Value>")) != std::string::npos)
        xml.replace(p, strlen("<Value>Device Manager</Value>"), "<Value>EventLog</Value>");
    return xml;
}

TEST(CliReplayEvtx, SystemLogMatchesAnIndependentReader)
{
    std::string file = kEvtxDir + "/system.evtx";
    if (!have_evtx_dir())
        GTEST_SKIP() << kEvtxDir << " is absent; real .evtx tests skipped";
    std::string dir = mdmtest::make_temp_dir("evtx");
    mdmtest::write_file(dir + "/pack.xml", eventlog_pack());
    auto r = run_program({kBinary, "replay", "--json", "--pack", dir + "/pack.xml", file});
    if (kHaveLibevtx) {
        ASSERT_EQ(0, r.status) << r.err;
        EXPECT_NE(std::string::npos, r.err.find("1881 events read")) << r.err;
    } else {
        // Without libevtx: the records our reader refuses (a few: value
        // forms it leaves to libevtx) are reported and counted as damaged,
        // each named with the file; with the events read they make 1881.
        std::smatch m;
        ASSERT_TRUE(std::regex_search(r.err, m,
                                      std::regex("(\\d+) events read, .* (\\d+) damaged records")))
            << r.err;
        unsigned long events = std::stoul(m[1]), damaged = std::stoul(m[2]);
        EXPECT_EQ(1881u, events + damaged) << r.err;
        EXPECT_GE(events, 1850u);
        EXPECT_EQ(damaged == 0 ? 0 : 1, r.status) << r.err;
        if (damaged > 0) {
            EXPECT_NE(std::string::npos, r.err.find(file + ": offset ")) << r.err;
        }
    }

    // The independent reader: libevtx's own evtxexport, scanned for 6005/6006 by EventLog
    // (not there under Wine, which cannot start a Linux program).
    auto x = run_program({"/usr/bin/evtxexport", "-f", "xml", file});
    if (x.status != 0)
        GTEST_SKIP() << "evtxexport is not available: the state changes are not compared";
    // Each computer in the file is a target of its own, with its own state.
    struct Change {
        std::string record, to, computer;
    };
    std::vector<Change> expected;
    std::map<std::string, std::string> last; // computer -> state
    std::istringstream in(x.out);
    std::string line, provider, id, rec;
    auto inner = [](const std::string &l) {
        return l.substr(l.find('>') + 1, l.rfind('<') - l.find('>') - 1);
    };
    while (std::getline(in, line)) {
        if (line.find("<Provider Name=") != std::string::npos) {
            provider = line.substr(line.find('"') + 1,
                                   line.find('"', line.find('"') + 1) - line.find('"') - 1);
        } else if (line.find("<EventID") != std::string::npos) {
            id = inner(line);
        } else if (line.find("<EventRecordID>") != std::string::npos) {
            rec = inner(line);
        } else if (line.find("<Computer>") != std::string::npos && provider == "EventLog" &&
                   (id == "6005" || id == "6006")) {
            std::string computer = inner(line);
            std::string to = id == "6005" ? "healthy" : "error";
            std::string &was = last[computer];
            if (to != was)
                expected.push_back({rec, to, computer});
            was = to;
        }
    }
    auto l = mdmtest::lines_of(r.out);
    ASSERT_GE(expected.size(), 2u);
    ASSERT_EQ(expected.size(), l.size()) << r.out;
    for (size_t i = 0; i < l.size(); i++) {
        EXPECT_EQ(expected[i].record, mdmtest::json_field(l[i], "record_id"));
        EXPECT_EQ(expected[i].to, mdmtest::json_field(l[i], "to"));
        EXPECT_EQ(expected[i].computer, mdmtest::json_field(l[i], "computer"));
    }
    // Both computers of this log appear, so per-target state is really exercised.
    EXPECT_EQ(2u, last.size());
}

TEST(CliReplayEvtx, CorruptFilesNeverCrash)
{
    if (!have_evtx_dir())
        GTEST_SKIP() << kEvtxDir << " is absent; real .evtx tests skipped";
    std::string dir = mdmtest::make_temp_dir("evtx");
    mdmtest::write_file(dir + "/pack.xml", eventlog_pack());
    const char *files[] = {
        "sample_with_a_bad_chunk_magic.evtx", "sample-with-zero-data-size-event.evtx",
        "security_bad_string_cache.evtx", "Application_no_crc32.evtx", "2-vss_7-System.evtx"};
    for (const char *f : files) {
        std::string path = kEvtxDir + "/" + f;
        auto r = run_program({kBinary, "replay", "--json", "--pack", dir + "/pack.xml", path});
        SCOPED_TRACE(f);
        // 0: all read; 1: damaged records reported. Never a signal (status -1).
        EXPECT_TRUE(r.status == 0 || r.status == 1) << r.status << "\n" << r.err;
        EXPECT_NE(std::string::npos, r.err.find(" events read")) << r.err;
        if (r.status == 1) {
            EXPECT_NE(std::string::npos, r.err.find(path)) << r.err;
        }
    }
}

TEST(CliReplayEvtx, NotAnEvtxFileIsAClearError)
{
    std::string dir = mdmtest::make_temp_dir("notevtx");
    std::string path = dir + "/notes.evtx";
    mdmtest::write_file(path, "this is plain text, not an event log\n");
    auto r = run_program({kBinary, "replay", path});
    EXPECT_EQ(1, r.status);
    auto missing = run_program({kBinary, "replay", dir + "/absent.evtx"});
    EXPECT_EQ(1, missing.status);
    // The same words with or without libevtx.
    EXPECT_NE(std::string::npos, r.err.find(path + ": not a readable .evtx file")) << r.err;
    EXPECT_NE(std::string::npos, r.err.find("1 unreadable inputs")) << r.err;
    EXPECT_NE(std::string::npos, missing.err.find("absent.evtx: cannot open")) << missing.err;
    mdmtest::remove_tree(dir);
}

} // namespace

// test_cli_packs.cc - the tolerant loader through the commands: `check` lists
// every skipped monitor with a summary and exits 0, `--strict` and
// `pack-strict yes` make skips errors (exit 2), `pack` and `--pack` repeat,
// `run` logs the summary at start.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "engine_fixtures.h"
#include "test_util.h"

using mdmtest::run_program;

namespace
{

const std::string kBinary = MDM_BINARY;
const std::string kPacks = MDM_TEST_DATA_DIR "/packs/";
const std::string kSequence = std::string(MDM_TEST_DATA_DIR) + "/mdm-enrollment-sequence.xml";
const std::string kLoadable = kPacks + "f1point2-DiagnosticsAndRecoveries.xml";
const std::string kHyperV = kPacks + "qnd-Hyperv2012R2.xml"; // 8 monitors, none evaluable

// An empty configuration: built-in defaults, packs from the command line.
std::string empty_conf()
{
    static std::string path;
    if (path.empty()) {
        path = mdmtest::make_temp_dir("clipacks") + "/empty.conf";
        mdmtest::write_file(path, "# empty\n");
    }
    return path;
}

size_t count_of(const std::string &text, const std::string &what)
{
    size_t n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
        n++;
    return n;
}

TEST(CliPacks, CheckListsEverySkippedMonitorAndExitsZero)
{
    auto r =
        run_program({kBinary, "check", "-c", empty_conf(), "--pack", kLoadable, "--pack", kHyperV});
    ASSERT_EQ(0, r.status) << r.err;
    EXPECT_EQ(8u, count_of(r.out, ": skipped monitor ")) << r.out; // one line per skip
    EXPECT_NE(std::string::npos,
              r.out.find(kLoadable + ": OK, 3 unit monitor(s) loaded, 0 skipped"));
    EXPECT_NE(std::string::npos, r.out.find(kHyperV + ": OK, 0 unit monitor(s) loaded, 8 skipped"));
    EXPECT_NE(std::string::npos, r.out.find("packs: 3 monitor(s) loaded, 8 skipped\n")) << r.out;
    EXPECT_NE(
        std::string::npos,
        r.out.find("      5  data source Microsoft.Windows.PowerShellPropertyBagProbe: not an "
                   "event-log workflow\n"))
        << r.out;
    EXPECT_NE(std::string::npos,
              r.out.find(kHyperV + ":6189: override QND.Hyperv.2012R2.DisableISCheckForUnix."
                                   "override (Monitor=QND.Hyperv2012R2.VMISStatus: Enabled = "
                                   "false): not applied: its monitor is skipped"))
        << r.out;
    EXPECT_NE(std::string::npos,
              r.out.find("  F12.HR.Monitor.NTEvent.2State.980  (" + kLoadable + ":298)"));
    EXPECT_EQ("", r.err);
}

TEST(CliPacks, StrictMakesSkipsErrors)
{
    auto r = run_program(
        {kBinary, "check", "-c", empty_conf(), "--strict", "--pack", kLoadable, "--pack", kHyperV});
    EXPECT_EQ(2, r.status);
    EXPECT_NE(std::string::npos,
              r.err.find("strict: 8 monitor(s) skipped; the first: " + kHyperV + ":5917:"))
        << r.err;
    EXPECT_EQ(8u, count_of(r.err, ": skipped monitor ")) << r.err;

    // replay --strict refuses too; without it the skips are a note and the events are evaluated.
    r = run_program({kBinary, "replay", "-c", empty_conf(), "--strict", "--pack",
                     MDM_PACKS_DIR "/enrollment-connection.xml", "--pack", kHyperV, kSequence});
    EXPECT_EQ(2, r.status);
    EXPECT_EQ("", r.out);
    r = run_program({kBinary, "replay", "-c", empty_conf(), "--json", "--pack",
                     MDM_PACKS_DIR "/enrollment-connection.xml", "--pack", kHyperV, kSequence});
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_EQ(5u, count_of(r.out, "\"monitor\":")) << r.out;
    EXPECT_NE(std::string::npos,
              r.err.find("note: packs: 1 monitor(s) loaded, 8 skipped (not evaluated; `mdmhealth "
                         "check` lists why)"))
        << r.err;
}

TEST(CliPacks, NothingEvaluableIsAnErrorWithTheSkipList)
{
    auto r = run_program({kBinary, "check", "-c", empty_conf(), "--pack",
                          kPacks + "spa5603-GenericServiceMonitoring.xml"});
    EXPECT_EQ(2, r.status);
    EXPECT_NE(std::string::npos, r.err.find("no monitor that mdmhealth can evaluate: 1 skipped"))
        << r.err;
    EXPECT_NE(std::string::npos,
              r.err.find("spa5603-GenericServiceMonitoring.xml:417: skipped monitor "
                         "OpsMgr.GenericServiceMonitoring.OpsMgr.GenericServiceMonitoring.Monitors."
                         "ServiceWatcher.UnitMonitor (type "
                         "Windows!Microsoft.Windows.CheckNTServiceStateMonitorType): in "
                         "$Data/Context/Property[@Name='Name']$: unsupported XPathQuery"))
        << r.err;
}

TEST(CliPacks, RepeatedPackLinesAndPackStrictInTheConfiguration)
{
    std::string dir = mdmtest::make_temp_dir("clipacks");
    std::string conf = dir + "/mdmhealth.conf";
    mdmtest::write_file(conf, "pack " + kLoadable + "\npack " + kHyperV + "\n");
    auto r = run_program({kBinary, "check", "-c", conf});
    ASSERT_EQ(0, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.out.find("packs: 3 monitor(s) loaded, 8 skipped")) << r.out;

    mdmtest::write_file(conf, "pack " + kLoadable + "\npack " + kHyperV + "\npack-strict yes\n");
    r = run_program({kBinary, "check", "-c", conf});
    EXPECT_EQ(2, r.status);
    EXPECT_NE(std::string::npos, r.err.find("strict: 8 monitor(s) skipped")) << r.err;

    // --pack on the command line replaces the configuration's packs.
    r = run_program({kBinary, "check", "-c", conf, "--pack", kLoadable});
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.out.find("packs: 3 monitor(s) loaded, 0 skipped")) << r.out;
    mdmtest::remove_tree(dir);
}

TEST(CliPacks, RunLogsTheSummaryAtStartAndRefusesWithStrict)
{
    std::string dir = mdmtest::make_temp_dir("clipacks");
    std::string conf = dir + "/mdmhealth.conf";
    // A state-dir that cannot be created stops the agent right after it has
    // loaded the packs and logged their summary: nothing else is started.
    mdmtest::write_file(dir + "/file", "");
    mdmtest::write_file(conf, "pack " + kLoadable + "\npack " + kHyperV + "\nstate-dir " + dir +
                                  "/file/state\n");
    auto r = run_program({kBinary, "run", "-f", "-c", conf});
    EXPECT_EQ(1, r.status) << r.err;
    EXPECT_NE(std::string::npos,
              r.err.find("packs: 3 monitor(s) loaded, 8 skipped (mdmhealth check lists them)"))
        << r.err;
    EXPECT_NE(std::string::npos,
              r.err.find("5  data source Microsoft.Windows.PowerShellPropertyBagProbe: not an "
                         "event-log workflow"))
        << r.err;

    r = run_program({kBinary, "run", "-f", "--strict", "-c", conf});
    EXPECT_EQ(2, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.err.find("strict: 8 monitor(s) skipped")) << r.err;
    EXPECT_EQ(std::string::npos, r.err.find("packs: 3 monitor(s) loaded")) << r.err;
    mdmtest::remove_tree(dir);
}

} // namespace

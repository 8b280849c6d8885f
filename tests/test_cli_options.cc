// test_cli_options.cc - what every command shares: the one `-c FILE` parser
// (cli/common.c), `check --directives`, which prints config.c's table, and
// where messages go (agent/os/mdm_log.h: a command's format, the agent's log).
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "test_util.h"

using mdmtest::run_program;

namespace
{

const std::string kBinary = MDM_BINARY;

// -c and --config name the file for every command that reads one; a missing file is named.
TEST(ConfigOption, EveryCommandReadsTheNamedFile)
{
    const std::string missing = mdmtest::make_temp_dir("clioptions") + "/absent.conf";
    const std::vector<std::vector<std::string>> commands = {
        {"check"}, {"replay", "-"}, {"diagnose"}, {"resolve", "loopback"}, {"run", "-f"}};
    for (const auto &cmd : commands) {
        for (const std::string opt : {"-c", "--config"}) {
            std::vector<std::string> argv = {kBinary, cmd[0], opt, missing};
            argv.insert(argv.end(), cmd.begin() + 1, cmd.end());
            SCOPED_TRACE(cmd[0] + " " + opt);
            auto r = run_program(argv);
            EXPECT_EQ(2, r.status) << r.out << r.err;
            EXPECT_NE(std::string::npos, r.err.find(missing + ": no such configuration file"))
                << r.err;
        }
    }
}

// -c without its value is a usage error, never a crash or a silent default.
TEST(ConfigOption, MissingValueIsAUsageError)
{
    for (const std::string cmd :
         {"check", "replay", "diagnose", "resolve", "run", "service", "init"}) {
        SCOPED_TRACE(cmd);
        auto r = run_program({kBinary, cmd, "-c"});
        EXPECT_EQ(2, r.status) << r.out << r.err;
        EXPECT_NE(std::string::npos, r.err.find("mdmhealth: ")) << r.err;
    }
}

// `check --directives` prints one line per row of config.c's table, in its order.
TEST(CheckCommand, DirectivesListsTheTable)
{
    auto r = run_program({kBinary, "check", "--directives"});
    ASSERT_EQ(0, r.status) << r.err;
    std::istringstream in(r.out);
    std::string line;
    for (size_t i = 0; i < mdm_config_directive_count; i++) {
        const mdm_config_directive_info &d = mdm_config_directives[i];
        ASSERT_TRUE(std::getline(in, line)) << "no line for " << d.name;
        EXPECT_EQ(0u, line.find(std::string(d.name) + " ")) << line;
        EXPECT_NE(std::string::npos, line.find(d.args)) << line;
        EXPECT_NE(std::string::npos, line.find(d.help)) << line;
        EXPECT_EQ(d.repeatable, line.find("(repeatable)") != std::string::npos) << line;
    }
    EXPECT_TRUE(std::getline(in, line));
    EXPECT_EQ("", line) << "a line the table does not have";
}

// The lines of stderr that mdmhealth wrote (under Wine, not Wine's own).
std::vector<std::string> mdmhealth_lines(const std::string &err)
{
    std::vector<std::string> ours;
    for (const auto &line : mdmtest::lines_of(err))
        if (line.find("mdmhealth") != std::string::npos)
            ours.push_back(line);
    return ours;
}

// A configuration whose two SNMP lines only Net-SNMP refuses (its parser
// checks the mask length), so that Net-SNMP's log reaches the operator.
std::string net_snmp_refused_conf()
{
    const std::string dir = mdmtest::make_temp_dir("climessages");
    const std::string conf = dir + "/mdmhealth.conf";
    mdmtest::write_file(conf, "state-dir " + dir +
                                  "/state\n"
                                  "com2sec local 10.0.0.0/99 public\n"
                                  "com2sec other 10.0.0.0/98 public\n");
    return conf;
}

// A command's messages look like a command's, whichever layer writes them:
// what Net-SNMP logs while `check` reads the SNMP lines is "mdmhealth: ..."
// on stderr (not the agent's timestamped log line), and the first error,
// which check reports itself, is said once.
TEST(OperatorMessages, CheckSaysNetSnmpErrorsInTheCommandFormat)
{
    const std::string conf = net_snmp_refused_conf();
    auto r = run_program({kBinary, "check", "-c", conf});
    EXPECT_EQ(2, r.status) << r.out << r.err;
    const auto lines = mdmhealth_lines(r.err);
    ASSERT_EQ(2u, lines.size()) << r.err;
    for (const auto &line : lines)
        EXPECT_EQ(0u, line.find("mdmhealth: ")) << line;
    EXPECT_NE(std::string::npos, lines[0].find("line 3: Error: bad mask length")) << r.err;
    EXPECT_NE(std::string::npos, lines[1].find(conf + ":2: bad mask length")) << r.err;
}

// The agent logs: under -f every line is the log's, with a UTC timestamp,
// including the error that stops the start.
TEST(OperatorMessages, AgentInTheForegroundLogsWithTimestamps)
{
    const std::string conf = net_snmp_refused_conf();
    auto r = run_program({kBinary, "run", "-f", "-c", conf});
    EXPECT_EQ(2, r.status) << r.out << r.err;
    const auto lines = mdmhealth_lines(r.err);
    ASSERT_FALSE(lines.empty());
    for (const auto &line : lines) {
        // 2026-01-02T03:04:05.678Z mdmhealth: LEVEL: ...
        ASSERT_GT(line.size(), 25u) << line;
        EXPECT_EQ('T', line[10]) << line;
        EXPECT_EQ(23u, line.find("Z mdmhealth: ")) << line;
    }
    EXPECT_NE(std::string::npos, r.err.find("Z mdmhealth: error: cannot start: ")) << r.err;
}

// Without -f the log is syslog (the Event Log on Windows); an error that
// stops the start reaches the terminal too, in the command format.
TEST(OperatorMessages, AgentStartErrorAlsoOnTheTerminalWhenTheLogIsNot)
{
    const std::string conf = net_snmp_refused_conf();
    auto r = run_program({kBinary, "run", "-c", conf});
    EXPECT_EQ(2, r.status) << r.out << r.err;
    const auto lines = mdmhealth_lines(r.err);
    ASSERT_FALSE(lines.empty()) << r.err;
    for (const auto &line : lines)
        EXPECT_EQ(0u, line.find("mdmhealth: ")) << line;
    EXPECT_NE(std::string::npos, r.err.find("mdmhealth: cannot start: ")) << r.err;
    EXPECT_EQ(std::string::npos, r.err.find("info:")) << r.err;
}

} // namespace

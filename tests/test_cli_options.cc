// test_cli_options.cc - what every command shares: the one `-c FILE` parser
// (cli/common.c), and `check --directives`, which prints config.c's table.
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

} // namespace

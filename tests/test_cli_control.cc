/*
 * test_cli_control.cc - the request protocol between `mdmhealth reset` and
 * the running agent (agent/cli/control.h): one request at a time, the
 * agent's claim, its answer, a request no agent took is withdrawn, damaged
 * request files are answered instead of hanging the command. The command
 * itself runs as a real process; the agent's side is played by the test
 * through the same functions `run` uses (the end-to-end reset with a real
 * agent is in test_snmp_reset.cc).
 */
#include <gtest/gtest.h>

#include "agent/cli/control.h"
#include "test_util.h"

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

using mdmtest::file_exists;
using mdmtest::make_temp_dir;
using mdmtest::read_file;
using mdmtest::remove_tree;
using mdmtest::run_program;
using mdmtest::write_file;

namespace
{

const std::string kBinary = MDM_BINARY;
const std::string kMonitor =
    "Microsoft.SystemCenter.MobileDeviceManager.2008.1_0.WipeServiceDriver."
    "EnrollmentConnection.MobileDeviceManager.EnrollmentConnection."
    "EventBased.UnitMonitor";

class ControlTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        dir_ = make_temp_dir("control");
        conf_ = dir_ + "/mdmhealth.conf";
        write_file(conf_, "state-dir " + dir_ + "\n");
    }
    void TearDown() override
    {
        remove_tree(dir_);
    }

    mdm_control_request request(const char *id, const char *target = "")
    {
        mdm_control_request r;
        memset(&r, 0, sizeof(r));
        r.action = MDM_CONTROL_RESET;
        snprintf(r.id, sizeof(r.id), "%s", id);
        snprintf(r.monitor, sizeof(r.monitor), "%s", kMonitor.c_str());
        snprintf(r.target, sizeof(r.target), "%s", target);
        return r;
    }

    std::string dir_, conf_;
};

TEST_F(ControlTest, RequestIsClaimedAnsweredAndReadBackOnce)
{
    mdm_control_request r = request("a1", "DM01"), got;
    mdm_err err;
    int status = 99;
    char text[256];

    ASSERT_EQ(mdm_control_submit(dir_.c_str(), &r, &err), 0) << err.msg;
    ASSERT_EQ(mdm_control_claim(dir_.c_str(), &got, &err), 0) << err.msg;
    EXPECT_STREQ(got.id, "a1");
    EXPECT_EQ(got.action, MDM_CONTROL_RESET);
    EXPECT_EQ(std::string(got.monitor), kMonitor);
    EXPECT_STREQ(got.target, "DM01");
    // Claimed: nothing waits any more, and the command can no longer withdraw it.
    EXPECT_EQ(mdm_control_claim(dir_.c_str(), &got, &err), MDM_ENOTFOUND);
    EXPECT_EQ(mdm_control_withdraw(dir_.c_str(), "a1"), MDM_ENOTFOUND);
    // Not answered yet.
    EXPECT_EQ(mdm_control_read_answer(dir_.c_str(), "a1", &status, text, sizeof(text)),
              MDM_ENOTFOUND);
    ASSERT_EQ(
        mdm_control_answer(dir_.c_str(), "a1", 0, "reset: error -> healthy\nsecond line", &err), 0)
        << err.msg;
    // Another command's id does not take this answer.
    EXPECT_EQ(mdm_control_read_answer(dir_.c_str(), "b2", &status, text, sizeof(text)),
              MDM_ENOTFOUND);
    ASSERT_EQ(mdm_control_read_answer(dir_.c_str(), "a1", &status, text, sizeof(text)), 0);
    EXPECT_EQ(status, 0);
    EXPECT_STREQ(text, "reset: error -> healthy second line");
    EXPECT_EQ(mdm_control_read_answer(dir_.c_str(), "a1", &status, text, sizeof(text)),
              MDM_ENOTFOUND);
    EXPECT_FALSE(file_exists(dir_ + "/control.work"));
}

TEST_F(ControlTest, OneRequestWaitsAtATime)
{
    mdm_control_request a = request("a"), b = request("b"), got;
    mdm_err err;

    ASSERT_EQ(mdm_control_submit(dir_.c_str(), &a, &err), 0) << err.msg;
    EXPECT_EQ(mdm_control_submit(dir_.c_str(), &b, &err), MDM_EAGAIN);
    ASSERT_EQ(mdm_control_claim(dir_.c_str(), &got, &err), 0);
    EXPECT_STREQ(got.id, "a");
    EXPECT_EQ(mdm_control_submit(dir_.c_str(), &b, &err), 0) << err.msg;
}

TEST_F(ControlTest, WithdrawTakesOnlyItsOwnRequest)
{
    mdm_control_request a = request("a"), got;
    mdm_err err;

    ASSERT_EQ(mdm_control_submit(dir_.c_str(), &a, &err), 0);
    EXPECT_EQ(mdm_control_withdraw(dir_.c_str(), "someone-else"), MDM_ENOTFOUND);
    // Put back untouched for the agent.
    ASSERT_EQ(mdm_control_claim(dir_.c_str(), &got, &err), 0);
    EXPECT_STREQ(got.id, "a");

    ASSERT_EQ(mdm_control_submit(dir_.c_str(), &a, &err), 0);
    EXPECT_EQ(mdm_control_withdraw(dir_.c_str(), "a"), 0);
    EXPECT_EQ(mdm_control_claim(dir_.c_str(), &got, &err), MDM_ENOTFOUND);
}

TEST_F(ControlTest, FieldsWithLineBreaksAreRefused)
{
    mdm_control_request r = request("a", "DM01\nmonitor=other");
    mdm_err err;

    EXPECT_EQ(mdm_control_submit(dir_.c_str(), &r, &err), MDM_EINVAL);
    EXPECT_FALSE(file_exists(dir_ + "/control.req"));
}

TEST_F(ControlTest, DamagedRequestIsAnsweredNotLeftWaiting)
{
    mdm_control_request got;
    mdm_err err;
    int status = 0;
    char text[256];

    write_file(dir_ + "/control.req", "id=x1\naction=reboot\nmonitor=m\n");
    EXPECT_EQ(mdm_control_claim(dir_.c_str(), &got, &err), MDM_EPARSE);
    EXPECT_NE(std::string(err.msg).find("not a reset request"), std::string::npos) << err.msg;
    ASSERT_EQ(mdm_control_read_answer(dir_.c_str(), "x1", &status, text, sizeof(text)), 0);
    EXPECT_EQ(status, MDM_EPARSE);
    EXPECT_FALSE(file_exists(dir_ + "/control.req"));
    EXPECT_FALSE(file_exists(dir_ + "/control.work"));

    write_file(dir_ + "/control.req", "garbage without equals\n");
    EXPECT_EQ(mdm_control_claim(dir_.c_str(), &got, &err), MDM_EPARSE);
    EXPECT_NE(std::string(err.msg).find("line 1: no '='"), std::string::npos) << err.msg;
}

TEST_F(ControlTest, CommandPrintsTheAgentsAnswer)
{
    // The agent's side in a thread, through the functions `run` calls.
    std::thread agent([this] {
        mdm_control_request got;
        mdm_err err;
        for (int i = 0; i < 200; i++) {
            if (mdm_control_claim(dir_.c_str(), &got, &err) == 0) {
                std::string text = std::string("reset ") + got.monitor + " on " + got.target;
                mdm_control_answer(dir_.c_str(), got.id, 0, text.c_str(), &err);
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
    });
    auto r = run_program({kBinary, "reset", "-c", conf_, kMonitor, "DM01"});
    agent.join();
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "reset " + kMonitor + " on DM01\n");
}

TEST_F(ControlTest, CommandSaysWhenNoAgentTookTheRequestAndLeavesNothing)
{
    auto r = run_program({kBinary, "reset", "-c", conf_, "--timeout", "1", kMonitor});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no agent took the request within 1 s"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was reset"), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(dir_ + "/control.req"));
}

TEST_F(ControlTest, CommandRefusesAnUnknownMonitorAndBadUsage)
{
    auto r = run_program({kBinary, "reset", "-c", conf_, "No.Such.Monitor"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("no monitor \"No.Such.Monitor\""), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(dir_ + "/control.req"));

    r = run_program({kBinary, "reset", "-c", conf_});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("which monitor?"), std::string::npos) << r.err;
    r = run_program({kBinary, "reset", "-c", conf_, "--timeout", "0", kMonitor});
    EXPECT_EQ(r.status, 2);
    r = run_program({kBinary, "reset", "--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("usage: mdmhealth reset"), std::string::npos);
}

} // namespace

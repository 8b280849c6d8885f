// test_os_process.cc - the process-level services of agent/os/mdm_os.h
// (os_posix.c / os_win.c): clocks, environment, host name and system
// description, checked against what the OS itself reports.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#ifndef _WIN32
#include <sys/utsname.h>
#include <unistd.h>
#endif

extern "C" {
#include "agent/common/mdm_err.h"
#include "agent/os/mdm_os.h"
}

TEST(OsProcess, MonotonicClockNeverGoesBackAndFollowsASleep)
{
    int64_t last = mdm_os_monotonic_ms();
    for (int i = 0; i < 100000; i++) {
        int64_t now = mdm_os_monotonic_ms();
        ASSERT_GE(now, last);
        last = now;
    }
    int64_t before = mdm_os_monotonic_ms();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    int64_t after = mdm_os_monotonic_ms();
    /* A lower bound only: a slow machine makes the difference larger, never smaller.
       The slack covers a tick-based clock (Windows' GetTickCount64, ~16 ms). */
    EXPECT_GE(after - before, 200 - 20);
}

TEST(OsProcess, WallClockIsMillisecondsSince1970)
{
    using namespace std::chrono;
    int64_t before = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    int64_t now = mdm_os_now_ms();
    int64_t after = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    /* Bracketed by the C++ clock read before and after, give or take rounding and ticks. */
    EXPECT_GE(now, before - 20);
    EXPECT_LE(now, after + 20);
    /* Not seconds or 100-ns units: 2020-01-01 < now < 2200-01-01. */
    EXPECT_GT(now, INT64_C(1577836800000));
    EXPECT_LT(now, INT64_C(7258118400000));
}

TEST(OsProcess, SetenvIsSeenByTheProcess)
{
    ASSERT_EQ(mdm_os_setenv("MDM_TEST_OS_SETENV", "one"), 0);
    const char *v = std::getenv("MDM_TEST_OS_SETENV");
    ASSERT_NE(v, nullptr);
    EXPECT_STREQ(v, "one");
    ASSERT_EQ(mdm_os_setenv("MDM_TEST_OS_SETENV", "two=2;x"), 0);
    v = std::getenv("MDM_TEST_OS_SETENV");
    ASSERT_NE(v, nullptr);
    EXPECT_STREQ(v, "two=2;x");
}

TEST(OsProcess, PathListSeparatorIsTheOnesOwn)
{
#ifdef _WIN32
    EXPECT_STREQ(mdm_os_path_list_separator(), ";");
#else
    EXPECT_STREQ(mdm_os_path_list_separator(), ":");
#endif
}

TEST(OsProcess, HostNameIsTheSystemsAndIsNeverCut)
{
    char name[256];
    ASSERT_EQ(mdm_os_host_name(name, sizeof(name)), 0);
    EXPECT_GT(std::strlen(name), 0u);
#ifndef _WIN32
    char expect[256] = {0};
    ASSERT_EQ(gethostname(expect, sizeof(expect) - 1), 0);
    EXPECT_STREQ(name, expect);
#endif
    size_t len = std::strlen(name);
    char small[256];
    std::memset(small, 'X', sizeof(small));
    /* One byte short of the name and its NUL: refused, out untouched. */
    EXPECT_EQ(mdm_os_host_name(small, len), MDM_ETOOBIG);
    EXPECT_EQ(small[0], 'X');
    ASSERT_EQ(mdm_os_host_name(small, len + 1), 0);
    EXPECT_STREQ(small, name);
}

TEST(OsProcess, SystemDescriptionNamesSystemReleaseAndArchitecture)
{
    char text[512];
    ASSERT_EQ(mdm_os_system_description(text, sizeof(text)), 0);
#ifdef _WIN32
    EXPECT_EQ(std::string(text).rfind("Windows ", 0), 0u) << text;
#else
    struct utsname u;
    ASSERT_EQ(uname(&u), 0);
    EXPECT_EQ(std::string(text), std::string(u.sysname) + " " + u.release + " " + u.machine);
#endif
    size_t len = std::strlen(text);
    char small[512];
    std::memset(small, 'X', sizeof(small));
    EXPECT_EQ(mdm_os_system_description(small, len), MDM_ETOOBIG);
    EXPECT_EQ(small[0], 'X');
    ASSERT_EQ(mdm_os_system_description(small, len + 1), 0);
    EXPECT_STREQ(small, text);
}

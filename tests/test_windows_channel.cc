// test_windows_channel.cc - the Windows "channel" event source
// (wevt/source_channel_win.c) run under Wine.
//
// What is real: our code, cross-built with mingw-w64 (the channel source, the
// Event XML parser, the loopback wake-up socket of agent/os/wakeup_win.c),
// driven by tests/windows/channel_driver.exe; and Wine's kernel32 (the
// signal event, threads, WaitForMultipleObjects), Winsock (select() on the
// wake-up socket) and C runtime.
// What is a double: wevtapi.dll (tests/windows/wevtapi_double.c), because
// Wine's EvtSubscribe is a stub. It serves the events of an Event XML file
// that the test writes (and appends to), sets the subscription's signal
// event from a polling thread, fails EvtSubscribeStrict on a bookmark whose
// record is not in the file with ERROR_NOT_FOUND, and "formats" a message
// only for events carrying <Data Name='MdmDoubleMessage'>, and, when told
// (MDM_WEVTAPI_DOUBLE_INVALID_BOUND), fails EvtNext with RPC_S_INVALID_BOUND
// for batches over a size. It is loaded with WINEDLLOVERRIDES=wevtapi=n from
// the directory of the driver.
//
// The tests skip when wine or the Windows build (MDM_WINDOWS_BUILD_DIR, or
// the environment variable of that name) with tests/windows/channel_driver.exe
// is missing. Creating a Wine prefix takes a while and several hundred MB,
// and ctest runs every test in a process of its own, so all the test
// processes share one prefix, $TMPDIR/mdmtest-wine-channel-UID (or
// $MDM_TEST_WINEPREFIX), created once under a file lock.
#include <gtest/gtest.h>

#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "test_util.h"

namespace
{

constexpr int kWineTimeoutSeconds = 120;

std::string windows_build_dir()
{
    const char *env = getenv("MDM_WINDOWS_BUILD_DIR");
    return env != nullptr && *env != '\0' ? env : MDM_WINDOWS_BUILD_DIR;
}

std::string driver_path()
{
    return windows_build_dir() + "/tests/windows/channel_driver.exe";
}

std::string find_in_path(const std::string &name)
{
    const char *path = getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return "";
}

// A Unix path as Wine's programs see it (drive Z: is the Unix root).
std::string winpath(const std::string &unix_path)
{
    std::string w = "Z:" + unix_path;
    for (auto &c : w)
        if (c == '/')
            c = '\\';
    return w;
}

std::string wine_prefix()
{
    const char *env = getenv("MDM_TEST_WINEPREFIX");
    if (env != nullptr && *env != '\0')
        return env;
    const char *tmp = getenv("TMPDIR");
    return std::string(tmp != nullptr ? tmp : "/tmp") + "/mdmtest-wine-channel-" +
           std::to_string(getuid());
}

// Creates the shared prefix once (the first `wineboot` takes ~10-20 s); later calls are cheap.
bool ensure_prefix(std::string &why)
{
    static bool ready = false;
    if (ready)
        return true;
    std::string prefix = wine_prefix();
    std::string lock_path = prefix + ".lock";
    int fd = open(lock_path.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        why = "cannot lock " + lock_path;
        if (fd >= 0)
            close(fd);
        return false;
    }
    // The marker is written last: a prefix whose creation was interrupted is completed again.
    const std::string marker = prefix + "/mdmtest-ready";
    if (!mdmtest::file_exists(marker)) {
        // No Mono / Gecko installers and no menu entries in a test prefix.
        mdmtest::RunResult r =
            mdmtest::run_program({"/usr/bin/env", "WINEPREFIX=" + prefix, "WINEDEBUG=-all",
                                  "WINEDLLOVERRIDES=mscoree,mshtml=;winemenubuilder.exe=d",
                                  "timeout", "-k", "10", "300", "wineboot", "-i"});
        // The registry files appear when the wine server ends: wait for it.
        mdmtest::RunResult w =
            mdmtest::run_program({"/usr/bin/env", "WINEPREFIX=" + prefix, "timeout", "-k", "10",
                                  "120", "wineserver", "-w"});
        if (r.status != 0 || w.status != 0 || !mdmtest::file_exists(prefix + "/system.reg"))
            why = "wineboot -i failed in " + prefix + ": " + r.err + w.err;
        else
            mdmtest::write_file(marker, "created by mdm_tests_windows (test_windows_channel.cc)\n");
    }
    flock(fd, LOCK_UN);
    close(fd);
    ready = why.empty();
    return ready;
}

// One <Event> as EvtRender would give it. message: the text the double's
// EvtFormatMessage returns (XML-escaped here); empty for "no message".
std::string event(unsigned long long record, unsigned id, const std::string &computer,
                  const std::vector<std::string> &data, const std::string &message = "",
                  unsigned qualifiers = 0)
{
    std::ostringstream x;
    x << "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
      << "<Provider Name='Device Manager'/>"
      << "<EventID Qualifiers='" << qualifiers << "'>" << id << "</EventID>"
      << "<Level>" << (id == 1003 ? 2 : 4) << "</Level><Task>0</Task>"
      << "<Keywords>0x80000000000000</Keywords>"
      << "<TimeCreated SystemTime='2026-11-25T05:00:0" << record % 10 << ".000Z'/>"
      << "<EventRecordID>" << record << "</EventRecordID>"
      << "<Channel>Mobile Device Manager</Channel><Computer>" << computer << "</Computer>"
      << "<Security/></System><EventData>";
    for (const auto &d : data)
        x << "<Data>" << d << "</Data>";
    if (!message.empty())
        x << "<Data Name='MdmDoubleMessage'>" << message << "</Data>";
    x << "</EventData></Event>\n";
    return x.str();
}

struct Line {
    unsigned long long record = 0;
    unsigned event_id = 0;
    std::string computer, description;
};

struct DriverRun {
    int status = -1;
    std::vector<Line> events;
    std::vector<std::string> bad, errors;
    std::string position, counters, origin, out, err;
    bool timed_out = false;
};

DriverRun parse(const mdmtest::RunResult &r)
{
    DriverRun run;
    run.status = r.status;
    run.out = r.out;
    run.err = r.err;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.rfind("BAD ", 0) == 0) {
            run.bad.push_back(line.substr(4));
        } else if (line.rfind("ERROR ", 0) == 0) {
            run.errors.push_back(line.substr(6));
        } else if (line.rfind("POSITION ", 0) == 0) {
            run.position = line.substr(9);
        } else if (line.rfind("COUNTERS ", 0) == 0) {
            run.counters = line.substr(9);
        } else if (line.rfind("ORIGIN ", 0) == 0) {
            run.origin = line.substr(7);
        } else if (line == "TIMEOUT") {
            run.timed_out = true;
        } else if (!line.empty() && isdigit(static_cast<unsigned char>(line[0]))) {
            Line l;
            std::istringstream f(line);
            f >> l.record >> l.event_id >> l.computer;
            std::getline(f, l.description);
            if (!l.description.empty() && l.description[0] == ' ')
                l.description.erase(0, 1);
            run.events.push_back(l);
        }
    }
    return run;
}

class WindowsChannel : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        if (find_in_path("wine").empty())
            GTEST_SKIP() << "wine is not installed (apt-get install wine)";
        if (!mdmtest::file_exists(driver_path()))
            GTEST_SKIP() << driver_path()
                         << " is missing: build the Windows side (cmake with "
                            "cmake/mingw-w64-x86_64.cmake, target channel_driver) and point "
                            "MDM_WINDOWS_BUILD_DIR at it";
        if (!mdmtest::file_exists(windows_build_dir() + "/tests/windows/wevtapi.dll"))
            GTEST_SKIP() << "the wevtapi.dll test double is missing next to " << driver_path();
        std::string why;
        if (!ensure_prefix(why))
            GTEST_SKIP() << "no usable Wine prefix: " << why;
        dir = mdmtest::make_temp_dir("winch");
        events_path = dir + "/events.xml";
        trace_path = dir + "/trace.txt";
        mdmtest::write_file(events_path, "");
    }
    void TearDown() override
    {
        if (!dir.empty())
            std::filesystem::remove_all(dir);
    }

    // Runs the driver with args under Wine, with the double serving events_path.
    DriverRun run_driver(const std::vector<std::string> &args, const std::string &channel_env = "",
                         const std::vector<std::string> &more_env = {})
    {
        std::vector<std::string> argv = {
            "/usr/bin/env",
            "WINEPREFIX=" + wine_prefix(),
            "WINEDEBUG=-all",
            "WINEDLLOVERRIDES=wevtapi=n;winemenubuilder.exe=d",
            "MDM_WEVTAPI_DOUBLE_FILE=" + winpath(events_path),
            "MDM_WEVTAPI_DOUBLE_TRACE=" + winpath(trace_path),
        };
        if (!channel_env.empty())
            argv.push_back("MDM_WEVTAPI_DOUBLE_CHANNEL=" + channel_env);
        argv.insert(argv.end(), more_env.begin(), more_env.end());
        for (const char *a : {"timeout", "-k", "10"})
            argv.push_back(a);
        argv.push_back(std::to_string(kWineTimeoutSeconds));
        argv.push_back("wine");
        argv.push_back(driver_path());
        argv.insert(argv.end(), args.begin(), args.end());
        // Wine itself fails now and then before the program starts, when the
        // prefix's wine server goes away under a starting client ("wine
        // client error:0: recvmsg: Connection reset by peer"): run it again.
        mdmtest::RunResult result;
        for (int attempt = 0; attempt < 3; attempt++) {
            result = mdmtest::run_program(argv);
            if (!(result.status != 0 && result.out.empty() &&
                  result.err.find("wine client error") != std::string::npos))
                break;
            fprintf(stderr, "wine failed to start the driver (%s); again\n", result.err.c_str());
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        return parse(result);
    }

    std::vector<std::string> trace_lines()
    {
        std::vector<std::string> lines;
        if (!mdmtest::file_exists(trace_path))
            return lines;
        std::istringstream in(mdmtest::read_file(trace_path));
        std::string line;
        while (std::getline(in, line)) {
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            lines.push_back(line);
        }
        return lines;
    }

    size_t trace_count(const std::string &prefix)
    {
        size_t n = 0;
        for (const auto &l : trace_lines())
            n += l.rfind(prefix, 0) == 0;
        return n;
    }

    // Appends text to the events file in one write, as the Event Log would add a record.
    void append(const std::string &text)
    {
        std::ofstream out(events_path, std::ios::binary | std::ios::app);
        out << text;
    }

    std::string dir, events_path, trace_path;
};

std::string describe(const DriverRun &r)
{
    return "status " + std::to_string(r.status) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

TEST_F(WindowsChannel, ReadsEventsInOrderWithTheirFields)
{
    mdmtest::write_file(events_path,
                        event(1, 1004, "DM01.contoso.com", {"a"}, "Enrollment works", 16384) +
                            event(2, 1003, "DM01.contoso.com", {"b"}, "Enrollment fails", 49152) +
                            event(3, 1004, "DM02.contoso.com", {"c"}, "Enrollment works again"));
    DriverRun r = run_driver({"--count", "3", "Mobile Device Manager"});
    ASSERT_EQ(0, r.status) << describe(r);
    ASSERT_EQ(3u, r.events.size()) << describe(r);
    EXPECT_TRUE(r.bad.empty()) << describe(r);
    EXPECT_EQ(1u, r.events[0].record);
    EXPECT_EQ(1004u, r.events[0].event_id);
    EXPECT_EQ("DM01.contoso.com", r.events[0].computer);
    EXPECT_EQ(2u, r.events[1].record);
    EXPECT_EQ(1003u, r.events[1].event_id);
    EXPECT_EQ(3u, r.events[2].record);
    EXPECT_EQ("DM02.contoso.com", r.events[2].computer);
    EXPECT_EQ("Mobile Device Manager", r.origin);
    EXPECT_EQ("record-id:3", r.position);
    EXPECT_EQ("resubscriptions=0 render_failures=0", r.counters);
    // A fresh source evaluates the whole log: it starts at the oldest record (flags 0x2).
    auto trace = trace_lines();
    ASSERT_FALSE(trace.empty());
    EXPECT_NE(std::string::npos, trace[0].find("channel=Mobile Device Manager query=* flags=0x2 "))
        << trace[0];
}

TEST_F(WindowsChannel, FormattedMessageBecomesTheDescription)
{
    // The message holds XML specials: the source escapes it into <RenderingInfo><Message>.
    mdmtest::write_file(
        events_path,
        event(1, 1003, "DM01", {"insert one", "insert two"},
              "The DM server cannot connect to &lt;https://es.contoso.com:8445&gt; &amp; retries") +
            event(2, 1004, "DM01", {"x"}, "Connected to the Enrollment Server"));
    DriverRun r = run_driver({"--count", "2", "Mobile Device Manager"});
    ASSERT_EQ(0, r.status) << describe(r);
    ASSERT_EQ(2u, r.events.size()) << describe(r);
    EXPECT_EQ("The DM server cannot connect to <https://es.contoso.com:8445> & retries",
              r.events[0].description);
    EXPECT_EQ("Connected to the Enrollment Server", r.events[1].description);
    EXPECT_EQ("resubscriptions=0 render_failures=0", r.counters);
    // The publisher metadata is opened once and cached for the second event.
    EXPECT_EQ(1u, trace_count("EvtOpenPublisherMetadata provider=Device Manager"));
}

TEST_F(WindowsChannel, FailedFormatFallsBackToTheInsertionStrings)
{
    mdmtest::write_file(events_path, event(1, 1003, "DM01", {"param one", "param two"}) +
                                         event(2, 1004, "DM01", {"p"}, "Formatted"));
    DriverRun r = run_driver({"--count", "2", "Mobile Device Manager"});
    ASSERT_EQ(0, r.status) << describe(r);
    ASSERT_EQ(2u, r.events.size()) << describe(r);
    EXPECT_TRUE(r.bad.empty()) << describe(r);
    // The event is kept; its description is the insertion strings.
    EXPECT_EQ(1u, r.events[0].record);
    EXPECT_EQ(1003u, r.events[0].event_id);
    EXPECT_EQ("param one; param two", r.events[0].description);
    EXPECT_EQ("Formatted", r.events[1].description);
    EXPECT_EQ("resubscriptions=0 render_failures=1", r.counters);
}

TEST_F(WindowsChannel, WithoutTheSystemValuesTheProviderComesFromTheXml)
{
    // EvtCreateRenderContext fails: the provider for EvtOpenPublisherMetadata
    // is read from the rendered XML, and the events are complete.
    mdmtest::write_file(events_path, event(4, 1003, "DM01", {"p"}, "formatted anyway") +
                                         event(5, 1004, "DM01", {"q", "r"}));
    DriverRun r = run_driver({"--count", "2", "Mobile Device Manager"}, "",
                             {"MDM_WEVTAPI_DOUBLE_NO_CONTEXT=1"});
    ASSERT_EQ(0, r.status) << describe(r);
    ASSERT_EQ(2u, r.events.size()) << describe(r);
    EXPECT_EQ(4u, r.events[0].record);
    EXPECT_EQ("formatted anyway", r.events[0].description);
    EXPECT_EQ("q; r", r.events[1].description);
    EXPECT_EQ("record-id:5", r.position);
    EXPECT_EQ("resubscriptions=0 render_failures=1", r.counters);
    EXPECT_EQ(1u, trace_count("EvtOpenPublisherMetadata provider=Device Manager"));
}

TEST_F(WindowsChannel, OversizeEventIsReportedAndTheOthersAreKept)
{
    // Over MDM_EVENT_XML_MAX (1 MiB): record 2 already as UTF-16 (ASCII),
    // record 3 only once converted to UTF-8 (two bytes per character).
    std::string e_acute;
    for (int i = 0; i < 600 * 1024; i++)
        e_acute += "\xc3\xa9";
    mdmtest::write_file(events_path, event(1, 1004, "DM01", {"p"}, "small") +
                                         event(2, 1003, "DM01", {std::string(1100 * 1024, 'x')}) +
                                         event(3, 1003, "DM01", {e_acute}) +
                                         event(4, 1004, "DM01", {"p"}, "small again"));
    DriverRun r = run_driver({"--count", "2", "Mobile Device Manager"});
    ASSERT_EQ(0, r.status) << describe(r);
    ASSERT_EQ(2u, r.events.size()) << describe(r);
    EXPECT_EQ(1u, r.events[0].record);
    EXPECT_EQ(4u, r.events[1].record);
    ASSERT_EQ(2u, r.bad.size()) << describe(r);
    EXPECT_EQ(0u, r.bad[0].find("Mobile Device Manager: EventRecordID 2: the event renders to "))
        << r.bad[0];
    EXPECT_NE(std::string::npos, r.bad[0].find("over the 1048576-byte limit")) << r.bad[0];
    EXPECT_EQ(0u, r.bad[1].find("Mobile Device Manager: EventRecordID 3: the event renders to "))
        << r.bad[1];
    EXPECT_NE(std::string::npos, r.bad[1].find("over the 1048576-byte limit")) << r.bad[1];
    EXPECT_EQ("record-id:4", r.position);
}

TEST_F(WindowsChannel, ResumeFromARecordIdYieldsOnlyLaterRecords)
{
    std::string text;
    for (unsigned long long id = 10; id <= 14; id++)
        text += event(id, 1004, "DM01", {"p"}, "event " + std::to_string(id));
    mdmtest::write_file(events_path, text);
    DriverRun r = run_driver({"--seek", "record-id:12", "--count", "2", "Mobile Device Manager"});
    ASSERT_EQ(0, r.status) << describe(r);
    ASSERT_EQ(2u, r.events.size()) << describe(r);
    EXPECT_TRUE(r.bad.empty()) << describe(r);
    EXPECT_EQ(13u, r.events[0].record);
    EXPECT_EQ(14u, r.events[1].record);
    EXPECT_EQ("record-id:14", r.position);
    // After a bookmark on record 12, strictly: StartAfterBookmark | Strict = 0x10003.
    EXPECT_EQ(1u, trace_count("EvtCreateBookmark <BookmarkList><Bookmark Channel='Mobile Device "
                              "Manager' RecordId='12' IsCurrent='true'/></BookmarkList>"));
    EXPECT_EQ(1u, trace_count("EvtSubscribe channel=Mobile Device Manager query=* flags=0x10003 "
                              "bookmark=12 "));
}

TEST_F(WindowsChannel, StaleBookmarkResubscribesFromTheOldestAndSaysSo)
{
    // The log was cleared: record 5 is gone, the oldest is now 20.
    mdmtest::write_file(events_path, event(20, 1003, "DM01", {"p"}, "one") +
                                         event(21, 1004, "DM01", {"p"}, "two") +
                                         event(22, 1003, "DM01", {"p"}, "three"));
    DriverRun r = run_driver({"--seek", "record-id:5", "--count", "3", "Mobile Device Manager"});
    ASSERT_EQ(0, r.status) << describe(r);
    ASSERT_EQ(1u, r.bad.size()) << describe(r);
    EXPECT_NE(std::string::npos, r.bad[0].find("stale")) << r.bad[0];
    EXPECT_NE(std::string::npos, r.bad[0].find("EventRecordID 5")) << r.bad[0];
    EXPECT_NE(std::string::npos, r.bad[0].find("oldest record")) << r.bad[0];
    EXPECT_NE(std::string::npos, r.bad[0].find("evaluated again")) << r.bad[0];
    // The notice comes first, then every event from the oldest; none is skipped.
    EXPECT_EQ(0u, r.out.find("BAD ")) << describe(r);
    ASSERT_EQ(3u, r.events.size()) << describe(r);
    EXPECT_EQ(20u, r.events[0].record);
    EXPECT_EQ(21u, r.events[1].record);
    EXPECT_EQ(22u, r.events[2].record);
    EXPECT_EQ("record-id:22", r.position);
    EXPECT_EQ("resubscriptions=1 render_failures=0", r.counters);
    // Strict first (refused by the double with ERROR_NOT_FOUND), then from the oldest.
    auto trace = trace_lines();
    std::vector<std::string> subscribes;
    for (const auto &l : trace)
        if (l.rfind("EvtSubscribe ", 0) == 0)
            subscribes.push_back(l);
    ASSERT_EQ(3u, subscribes.size()) << mdmtest::read_file(trace_path);
    EXPECT_NE(std::string::npos, subscribes[1].find("flags=0x10003 bookmark=5 "));
    EXPECT_NE(std::string::npos, subscribes[2].find("flags=0x2 "));
}

TEST_F(WindowsChannel, LogClearedWhileReadingResubscribesFromTheOldest)
{
    const std::string ready = dir + "/ready";
    mdmtest::write_file(events_path, event(1, 1003, "DM01", {"p"}, "one") +
                                         event(2, 1004, "DM01", {"p"}, "two") +
                                         event(3, 1003, "DM01", {"p"}, "three"));
    // Once the driver has read the three events and waits, the log is cleared
    // and a new event written: the double's EvtNext says the result is stale.
    bool cleared = false;
    std::thread writer([&] {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(100);
        while (!mdmtest::file_exists(ready) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!mdmtest::file_exists(ready))
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        mdmtest::write_file(events_path, event(1, 1004, "DM01", {"p"}, "after the clear"));
        cleared = true;
    });
    DriverRun r = run_driver({"--count", "4", "--timeout-ms", "30000", "--ready", winpath(ready),
                              "Mobile Device Manager"});
    writer.join();
    ASSERT_TRUE(cleared) << describe(r);
    ASSERT_EQ(0, r.status) << describe(r);
    EXPECT_FALSE(r.timed_out) << describe(r);
    // The last record read (3) is gone too: from the oldest, said once.
    ASSERT_EQ(1u, r.bad.size()) << describe(r);
    EXPECT_NE(std::string::npos, r.bad[0].find("bookmark on EventRecordID 3 is stale")) << r.bad[0];
    ASSERT_EQ(4u, r.events.size()) << describe(r);
    EXPECT_EQ(3u, r.events[2].record);
    EXPECT_EQ(1u, r.events[3].record);
    EXPECT_EQ("after the clear", r.events[3].description);
    EXPECT_EQ("record-id:1", r.position);
    EXPECT_EQ("resubscriptions=1 render_failures=0", r.counters);
}

TEST_F(WindowsChannel, MissingChannelFailsAtOpenWithAClearMessage)
{
    mdmtest::write_file(events_path, event(1, 1004, "DM01", {"p"}));
    // This computer has only an "Application" channel.
    DriverRun r = run_driver({"Mobile Device Manager"}, "Application");
    EXPECT_EQ(1, r.status) << describe(r);
    ASSERT_EQ(1u, r.errors.size()) << describe(r);
    EXPECT_EQ(0u, r.errors[0].rfind("open: ", 0)) << r.errors[0];
    EXPECT_NE(std::string::npos,
              r.errors[0].find("channel \"Mobile Device Manager\" does not exist on this computer"))
        << r.errors[0];
    EXPECT_TRUE(r.events.empty());
}

TEST_F(WindowsChannel, InvalidResumePositionIsRefused)
{
    DriverRun r = run_driver({"--seek", "offset:12", "Mobile Device Manager"});
    EXPECT_EQ(1, r.status) << describe(r);
    ASSERT_EQ(1u, r.errors.size()) << describe(r);
    EXPECT_NE(std::string::npos, r.errors[0].find("invalid resume position \"offset:12\""))
        << r.errors[0];
}

TEST_F(WindowsChannel, RemoteComputerIsReachedThroughASession)
{
    mdmtest::write_file(events_path, event(7, 1003, "DM02.contoso.com", {"p"}, "remote"));
    DriverRun r = run_driver({"--count", "1", "\\\\DM02\\Mobile Device Manager"});
    ASSERT_EQ(0, r.status) << describe(r);
    ASSERT_EQ(1u, r.events.size()) << describe(r);
    EXPECT_EQ("DM02.contoso.com", r.events[0].computer);
    EXPECT_EQ("remote", r.events[0].description);
    EXPECT_EQ("\\\\DM02\\Mobile Device Manager", r.origin);
    EXPECT_EQ(1u, trace_count("EvtOpenSession server=DM02 "));
    EXPECT_EQ(1u, trace_count("EvtSubscribe channel=Mobile Device Manager query=* flags=0x2 "
                              "bookmark=none:0 session=DM02"));
}

// EvtNext fails with RPC_S_INVALID_BOUND (1734) for a batch that does not fit
// in one RPC reply. Real: the channel source's recovery (close the
// subscription, subscribe again after the last event handed out, half the
// batch; grow back after 32 full batches), its log line and counter, Wine's
// loader and kernel32. Double: wevtapi.dll, scripted by
// MDM_WEVTAPI_DOUBLE_INVALID_BOUND=3 to fail every EvtNext that would return
// more than 3 events, and to drop that batch from the subscription (a reader
// that only asked again with a smaller batch would skip events). Whether the
// real Event Log service fails at a given size is for a real server to show.
TEST_F(WindowsChannel, InvalidBoundHalvesTheBatchAndLosesNothing)
{
    std::string text;
    for (unsigned long long id = 1; id <= 100; id++)
        text += event(id, id % 2 ? 1003 : 1004, "DM01", {"p"}, "event " + std::to_string(id));
    mdmtest::write_file(events_path, text);
    DriverRun r = run_driver({"--count", "100", "Mobile Device Manager"}, "",
                             {"MDM_WEVTAPI_DOUBLE_INVALID_BOUND=3"});
    ASSERT_EQ(0, r.status) << describe(r);
    EXPECT_FALSE(r.timed_out) << describe(r);
    EXPECT_TRUE(r.bad.empty()) << describe(r);
    // Every event, in order, exactly once, across all the resubscriptions.
    ASSERT_EQ(100u, r.events.size()) << describe(r);
    for (size_t i = 0; i < r.events.size(); i++) {
        EXPECT_EQ(i + 1, r.events[i].record) << "at " << i;
        EXPECT_EQ("event " + std::to_string(i + 1), r.events[i].description) << "at " << i;
    }
    EXPECT_EQ("record-id:100", r.position);

    // 16 -> 8 -> 4 -> 2 before the first event; after 32 full batches of 2
    // (records 1-64) it tries 4 again, which fails: 2 for the rest.
    std::vector<std::string> failed, subscribes;
    size_t returned_two = 0, returned_other = 0;
    for (const auto &l : trace_lines()) {
        if (l.rfind("EvtNext count=", 0) == 0 && l.find(" fails RPC_S_INVALID_BOUND") != l.npos)
            failed.push_back(l.substr(14, l.find(' ', 14) - 14));
        else if (l.rfind("EvtNext count=2 returned=2", 0) == 0)
            returned_two++;
        else if (l.rfind("EvtNext ", 0) == 0)
            returned_other++;
        else if (l.rfind("EvtSubscribe ", 0) == 0)
            subscribes.push_back(l);
    }
    EXPECT_EQ((std::vector<std::string>{"16", "8", "4", "4"}), failed)
        << mdmtest::read_file(trace_path);
    EXPECT_EQ(50u, returned_two) << mdmtest::read_file(trace_path);
    EXPECT_EQ(0u, returned_other) << mdmtest::read_file(trace_path);
    // Nothing was handed out before the first three failures: from the oldest
    // record again; the fourth resubscribes strictly after record 64.
    ASSERT_EQ(5u, subscribes.size()) << mdmtest::read_file(trace_path);
    for (size_t i = 0; i < 4; i++)
        EXPECT_NE(std::string::npos, subscribes[i].find(" flags=0x2 ")) << subscribes[i];
    EXPECT_NE(std::string::npos, subscribes[4].find(" flags=0x10003 bookmark=64 "))
        << subscribes[4];

    // Reported: the counter behind mdmAgentResubscriptions, and one warning per halving.
    EXPECT_EQ("resubscriptions=4 render_failures=0", r.counters);
    std::vector<std::string> warnings;
    std::istringstream err(r.err);
    for (std::string line; std::getline(err, line);)
        if (line.find("RPC_S_INVALID_BOUND") != std::string::npos)
            warnings.push_back(line);
    ASSERT_EQ(4u, warnings.size()) << r.err;
    EXPECT_NE(std::string::npos, warnings[0].find("warning: Mobile Device Manager: EvtNext failed "
                                                  "with RPC_S_INVALID_BOUND for a batch of 16 "
                                                  "events"))
        << warnings[0];
    EXPECT_NE(std::string::npos,
              warnings[0].find("resubscribed from the oldest record, now reading 8 events"))
        << warnings[0];
    EXPECT_NE(std::string::npos, warnings[2].find("now reading 2 events at a time")) << warnings[2];
    EXPECT_NE(std::string::npos, warnings[3].find("for a batch of 4 events")) << warnings[3];
    EXPECT_NE(std::string::npos, warnings[3].find("resubscribed after EventRecordID 64, now "
                                                  "reading 2 events at a time"))
        << warnings[3];
    EXPECT_NE(std::string::npos, r.err.find("trying batches of 4 events again")) << r.err;
}

// An event too large for one RPC reply even alone: the source halves down to
// one event, then fails with a clear error (the agent reopens it later at the
// saved position) instead of resubscribing forever. Double as above, told to
// fail any batch (MDM_WEVTAPI_DOUBLE_INVALID_BOUND=0) after a resume at record 1.
TEST_F(WindowsChannel, InvalidBoundForASingleEventIsAnError)
{
    mdmtest::write_file(events_path, event(1, 1004, "DM01", {"p"}, "one") +
                                         event(2, 1003, "DM01", {"p"}, "two"));
    DriverRun r = run_driver({"--seek", "record-id:1", "--count", "1", "Mobile Device Manager"}, "",
                             {"MDM_WEVTAPI_DOUBLE_INVALID_BOUND=0"});
    EXPECT_EQ(1, r.status) << describe(r);
    EXPECT_TRUE(r.events.empty()) << describe(r);
    ASSERT_EQ(1u, r.errors.size()) << describe(r);
    EXPECT_NE(std::string::npos,
              r.errors[0].find("next: Mobile Device Manager: EvtNext fails with "
                               "RPC_S_INVALID_BOUND even for a single event (the next one after "
                               "EventRecordID 1)"))
        << r.errors[0];
    // 16, 8, 4, 2 failed and were halved (four resubscriptions after record 1); 1 failed too.
    EXPECT_EQ(5u, trace_count("EvtNext count="));
    EXPECT_EQ(1u, trace_count("EvtNext count=1 fails RPC_S_INVALID_BOUND"));
    EXPECT_EQ(5u, trace_count("EvtSubscribe channel=Mobile Device Manager query=* flags=0x10003 "
                              "bookmark=1 "));
    EXPECT_EQ("resubscriptions=4 render_failures=0", r.counters);
    EXPECT_EQ("record-id:1", r.position);
}

// Events written while the source waits are delivered: the double sets the
// subscription's signal event, and the source wakes up from it.
class WindowsChannelWaiting : public WindowsChannel, public ::testing::WithParamInterface<bool>
{
};

TEST_P(WindowsChannelWaiting, AppendedEventsWakeTheWaitingSource)
{
    const bool use_pollfd = GetParam();
    const std::string ready = dir + "/ready";
    mdmtest::write_file(events_path, event(1, 1004, "DM01", {"p"}, "before"));

    // Appends two events once the driver has read the first one and waits.
    bool appended = false;
    std::thread writer([&] {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(100);
        while (!mdmtest::file_exists(ready) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!mdmtest::file_exists(ready))
            return;
        // Let it go to sleep in select() / WaitForSingleObject.
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        append(event(2, 1003, "DM01", {"p"}, "while waiting"));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        append(event(3, 1004, "DM01", {"p"}, "later"));
        appended = true;
    });
    std::vector<std::string> args = {"--count", "3",       "--timeout-ms",
                                     "30000",   "--ready", winpath(ready)};
    if (!use_pollfd)
        args.push_back("--no-pollfd");
    args.push_back("Mobile Device Manager");
    auto start = std::chrono::steady_clock::now();
    DriverRun r = run_driver(args);
    auto elapsed = std::chrono::steady_clock::now() - start;
    writer.join();

    ASSERT_TRUE(appended) << "the driver never got to wait\n" << describe(r);
    ASSERT_EQ(0, r.status) << describe(r);
    // Without a wake-up the driver would sleep to its 30 s timeout.
    EXPECT_FALSE(r.timed_out) << describe(r);
    EXPECT_LT(elapsed, std::chrono::seconds(25)) << describe(r);
    ASSERT_EQ(3u, r.events.size()) << describe(r);
    EXPECT_EQ(1u, r.events[0].record);
    EXPECT_EQ(2u, r.events[1].record);
    EXPECT_EQ("while waiting", r.events[1].description);
    EXPECT_EQ(3u, r.events[2].record);
    EXPECT_EQ("record-id:3", r.position);
}

INSTANTIATE_TEST_SUITE_P(WaitModes, WindowsChannelWaiting, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool> &info) {
                             return std::string(info.param ? "SelectOnPollfd"
                                                           : "WaitOnTheSignalEvent");
                         });

} // namespace

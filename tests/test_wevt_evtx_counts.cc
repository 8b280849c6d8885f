// The evtx source (wevt/source_evtx.c) against two other readers of real
// .evtx files, run at test time: libevtx's evtxexport and python-evtx, through
// tests/tools/evtx_reference.py (which says how it counts). For every file of
// tests/data/evtx-public (public attack-sample logs, SOURCES.md) and of
// ../shared/data/evtx (when present):
//   - the events mdmhealth returns are the events evtxexport exports, one for
//     one, with the same EventRecordID, EventID and TimeCreated, and the records
//     mdmhealth reports as damaged are the ones evtxexport cannot export or
//     exports as broken fragments;
//   - every record python-evtx (an independent implementation of the format)
//     reads is among them, with the same EventRecordID, EventID and time;
//   - within each channel the events come in EventRecordID order, the order
//     Windows wrote them in (a wrapped log, recovered records, an export).
// Nothing is hard-coded: the expected values come from the other readers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "wevt/source.h"
#include "test_util.h"

namespace
{

#ifdef MDM_HAVE_LIBEVTX
constexpr bool kHaveLibevtx = true;
#else
constexpr bool kHaveLibevtx = false;
#endif

const std::string kPublicDir = std::string(MDM_TEST_DATA_DIR) + "/evtx-public";
const std::string kReference = std::string(MDM_TEST_DATA_DIR) + "/../tools/evtx_reference.py";
// python-evtx is pure Python (~10 ms a record): its first records are compared.
const char kPythonEvtxLimit[] = "300";

using Fields = std::tuple<unsigned long long, unsigned long, std::string>; // ID, EventID, time

struct Reference {
    bool ok = false;
    std::string error;
    size_t events = 0, damaged = 0, copies = 0;
    std::vector<Fields> event_fields;
    bool python_evtx = false;
    std::string python_evtx_missing;
    size_t python_records = 0, python_failed = 0;
    bool python_complete = false;
    std::vector<Fields> python_fields;
};

struct Ours {
    std::vector<Fields> events;
    std::vector<std::string> channels;
    std::vector<std::string> damaged;
    int last = 0;
    std::string last_error;
};

std::vector<std::string> split(const std::string &line, char sep)
{
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(line);
    while (std::getline(in, part, sep))
        parts.push_back(part);
    return parts;
}

std::string python()
{
    // Debian's interpreter, where python3-evtx installs its module.
    return mdmtest::file_exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

Reference run_reference(const std::string &path)
{
    Reference r;
    mdmtest::RunResult run =
        mdmtest::run_program({python(), kReference, "--python-evtx-limit", kPythonEvtxLimit, path});
    if (run.status != 0) {
        r.error = "evtx_reference.py failed (" + std::to_string(run.status) + "): " + run.err;
        return r;
    }
    std::istringstream out(run.out);
    std::string line;
    while (std::getline(out, line)) {
        std::vector<std::string> f = split(line, '\t');
        if (f.empty())
            continue;
        if (f[0] == "evtxexport" && f.size() == 4) {
            r.events = std::stoul(f[1]);
            r.damaged = std::stoul(f[2]);
            r.copies = std::stoul(f[3]);
            r.ok = true;
        } else if (f[0] == "event" && f.size() == 4) {
            r.event_fields.emplace_back(std::stoull(f[1]), std::stoul(f[2]), f[3]);
        } else if (f[0] == "python-evtx" && f.size() >= 2 && f[1] == "unavailable") {
            r.python_evtx_missing = f.size() > 2 ? f[2] : "";
        } else if (f[0] == "python-evtx" && f.size() == 4) {
            r.python_evtx = true;
            r.python_records = std::stoul(f[1]);
            r.python_failed = std::stoul(f[2]);
            r.python_complete = f[3] == "1";
        } else if (f[0] == "pyevent" && f.size() == 4) {
            r.python_fields.emplace_back(std::stoull(f[1]), std::stoul(f[2]), f[3]);
        }
    }
    if (!r.ok)
        r.error = "no summary line from evtx_reference.py: " + run.out.substr(0, 400);
    return r;
}

Ours read_ours(const std::string &path)
{
    Ours o;
    struct mdm_source *src = nullptr;
    struct mdm_event ev;
    struct mdm_err err;
    if (mdm_source_open(&src, MDM_SOURCE_EVTX, path.c_str(), &err) != 0) {
        o.last = err.code;
        o.last_error = err.msg;
        return o;
    }
    mdm_event_init(&ev);
    for (;;) {
        int rc = mdm_source_next(src, &ev, &err);
        if (rc == 0) {
            o.events.emplace_back(ev.record_id, ev.event_id,
                                  ev.time_created ? ev.time_created : "");
            o.channels.push_back(ev.channel ? ev.channel : "");
        } else if (rc == MDM_EBADRECORD) {
            o.damaged.push_back(err.msg);
        } else {
            o.last = rc;
            if (rc != MDM_EOF)
                o.last_error = err.msg;
            break;
        }
    }
    mdm_event_free(&ev);
    mdm_source_close(src);
    return o;
}

// Microseconds since 1970 of "2019-04-30T20:26:52.371714000Z" (libevtx) or
// "2019-04-30T20:26:52.371714" (the reference's python-evtx times); -1 when
// the text is no such time.
long long micros_since_epoch(const std::string &time)
{
    int y, mo, d, h, mi, sec;
    char sep;
    if (sscanf(time.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &sep, &h, &mi, &sec) != 7)
        return -1;
    std::string fraction = time.size() > 20 && time[19] == '.' ? time.substr(20) : "";
    while (!fraction.empty() && !isdigit((unsigned char)fraction.back()))
        fraction.pop_back();
    long long micros = std::stoll((fraction + "000000").substr(0, 6));
    // Days from civil (H. Hinnant's algorithm).
    y -= mo <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    return ((days * 24 + h) * 60 + mi) * 60000000LL + sec * 1000000LL + micros;
}

std::vector<std::string> evtx_files()
{
    std::vector<std::string> files;
    for (const std::string &dir : {kPublicDir, mdmtest::shared_evtx_dir()}) {
        std::error_code ec;
        std::vector<std::string> here;
        for (const auto &entry : std::filesystem::directory_iterator(dir, ec))
            if (entry.path().extension() == ".evtx")
                here.push_back(entry.path().string());
        std::sort(here.begin(), here.end());
        files.insert(files.end(), here.begin(), here.end());
    }
    return files;
}

class EvtxCounts : public ::testing::TestWithParam<std::string>
{
};

TEST_P(EvtxCounts, SameEventsAsEvtxexportAndPythonEvtx)
{
    if (!kHaveLibevtx)
        GTEST_SKIP() << "this build has no libevtx (always so on Windows): no evtx source";
    const std::string &path = GetParam();
    Reference ref = run_reference(path);
    ASSERT_TRUE(ref.ok) << ref.error
                        << "\n(evtxexport comes with libevtx-utils, python-evtx with "
                           "python3-evtx: scripts/setup installs both)";
    Ours ours = read_ours(path);
    ASSERT_EQ(MDM_EOF, ours.last) << ours.last_error;

    // The counts first: every event, every damaged record.
    EXPECT_EQ(ref.events, ours.events.size()) << path;
    EXPECT_EQ(ref.damaged, ours.damaged.size())
        << path << (ours.damaged.empty() ? "" : "\nfirst damaged: " + ours.damaged[0]);
    RecordProperty("events", (int)ours.events.size());
    RecordProperty("damaged", (int)ours.damaged.size());

    // Then the fields of every event, as evtxexport renders them.
    std::vector<Fields> want = ref.event_fields, got = ours.events;
    EXPECT_EQ(ref.events, want.size());
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    std::vector<Fields> missing, extra;
    std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                        std::back_inserter(missing));
    std::set_difference(got.begin(), got.end(), want.begin(), want.end(),
                        std::back_inserter(extra));
    for (size_t i = 0; i < missing.size() && i < 5; i++)
        ADD_FAILURE() << path << ": evtxexport has EventRecordID " << std::get<0>(missing[i])
                      << " EventID " << std::get<1>(missing[i]) << " at " << std::get<2>(missing[i])
                      << ", mdmhealth does not";
    for (size_t i = 0; i < extra.size() && i < 5; i++)
        ADD_FAILURE() << path << ": mdmhealth has EventRecordID " << std::get<0>(extra[i])
                      << " EventID " << std::get<1>(extra[i]) << " at " << std::get<2>(extra[i])
                      << ", evtxexport does not";

    // Every damaged record is named with the file.
    for (const std::string &e : ours.damaged)
        EXPECT_EQ(0u, e.find(path + ": ")) << e;

    // In the order Windows wrote them: EventRecordIDs rise within each channel.
    std::map<std::string, unsigned long long> last;
    for (size_t i = 0; i < ours.events.size(); i++) {
        unsigned long long id = std::get<0>(ours.events[i]);
        auto it = last.find(ours.channels[i]);
        if (it != last.end()) {
            EXPECT_LT(it->second, id) << path << ": event " << i << " of " << ours.channels[i]
                                      << " comes after a later one";
        }
        last[ours.channels[i]] = id;
    }

    // python-evtx: every record it reads is an event of ours, field for field.
    // Its times come through a float and may be a few microseconds off
    // (.902962 for libevtx's .9029640): they match within 10 us.
    ASSERT_TRUE(ref.python_evtx) << "python-evtx is not usable: " << ref.python_evtx_missing
                                 << " (Debian: python3-evtx, in scripts/setup)";
    // A record python-evtx reads that libevtx does not list at all (neither
    // intact nor recovered) is a gap of libevtx, which mdmhealth reads
    // through: it is printed, not failed (sample_with_a_bad_chunk_magic.evtx
    // has two, the last record python-evtx reads in two damaged chunks).
    std::multimap<std::pair<unsigned long long, unsigned long>, long long> ours_by_id;
    std::set<unsigned long long> libevtx_ids;
    for (const Fields &f : ours.events)
        ours_by_id.emplace(std::make_pair(std::get<0>(f), std::get<1>(f)),
                           micros_since_epoch(std::get<2>(f)));
    for (const Fields &f : ref.event_fields)
        libevtx_ids.insert(std::get<0>(f));
    size_t py_missing = 0;
    for (const Fields &f : ref.python_fields) {
        auto range = ours_by_id.equal_range({std::get<0>(f), std::get<1>(f)});
        long long want_us = micros_since_epoch(std::get<2>(f));
        bool found = false;
        for (auto it = range.first; it != range.second; ++it)
            found = found || std::llabs(it->second - want_us) <= 10;
        if (!found && libevtx_ids.count(std::get<0>(f)) == 0) {
            std::cout << "[ NOTE     ] " << path << ": python-evtx reads EventRecordID "
                      << std::get<0>(f) << ", which libevtx does not list (a libevtx gap)\n";
            continue;
        }
        if (!found && ++py_missing <= 5)
            ADD_FAILURE() << path << ": python-evtx reads EventRecordID " << std::get<0>(f)
                          << " EventID " << std::get<1>(f) << " at " << std::get<2>(f)
                          << ", mdmhealth does not";
    }
    EXPECT_EQ(0u, py_missing);
    if (ref.python_complete) {
        EXPECT_LE(ref.python_records, ours.events.size()) << path;
    }
    RecordProperty("python_evtx_records", (int)ref.python_records);
}

std::string file_test_name(const ::testing::TestParamInfo<std::string> &info)
{
    std::string dir = info.param.rfind(kPublicDir, 0) == 0 ? "public_" : "shared_";
    std::string name = dir + std::filesystem::path(info.param).stem().string();
    for (char &c : name)
        if (!isalnum((unsigned char)c))
            c = '_';
    return name;
}

INSTANTIATE_TEST_SUITE_P(RealLogs, EvtxCounts, ::testing::ValuesIn(evtx_files()), file_test_name);

TEST(EvtxCountsData, PublicSamplesArePresentAndSharedOnesSaySo)
{
    // The public samples are part of the repository: a missing one is an error.
    EXPECT_GE(evtx_files().size(), 10u) << kPublicDir;
    EXPECT_TRUE(mdmtest::file_exists(kPublicDir + "/SOURCES.md"));
    if (!mdmtest::file_exists(mdmtest::shared_evtx_dir()))
        GTEST_SKIP() << mdmtest::shared_evtx_dir()
                     << " is absent: only tests/data/evtx-public was compared";
}

} // namespace

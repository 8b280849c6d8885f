// The reader-only evtx source (wevt/source_evtx_records.c): what builds without
// libevtx, the Windows build among them, read .evtx files with. On every .evtx
// file we have (tests/data/evtx-public, and ../shared/data/evtx when present):
//   - nothing is dropped without a word: each record the reader lists is either
//     an event or a damage report naming the file, the offset and the cause;
//   - where libevtx is in the build, the reader lists exactly libevtx's intact
//     records, and every event of the reader-only source equals, field for
//     field, the event the libevtx evtx source (the product's source with its
//     XML fallback) returns for the same record; the expected values come from
//     libevtx at test time. The records libevtx reads beyond (refused records,
//     recovered ones) are printed as what the reader-only build misses.
// The same file runs in the cross-built suite under Wine (no libevtx there):
// the accounting half against the Windows build's own evtx source.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "wevt/evtx_reader.h"
#include "wevt/source.h"
#include "wevt/source_evtx_records.h"
#include "test_util.h"

#ifdef MDM_HAVE_LIBEVTX
#include <libevtx.h>
#endif

namespace
{

const std::string kPublicDir = std::string(MDM_TEST_DATA_DIR) + "/evtx-public";

std::vector<std::string> evtx_files()
{
    std::vector<std::string> files;
    for (const std::string &dir : {kPublicDir, mdmtest::shared_evtx_dir()}) {
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec))
            continue;
        for (const auto &entry : std::filesystem::directory_iterator(dir, ec))
            if (entry.path().extension() == ".evtx")
                files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::string str(const char *s)
{
    return s ? std::string("\"") + s + "\"" : std::string("(null)");
}

// Every field of the event model and where it came from, as one text.
std::string fields(const mdm_event &ev)
{
    std::string f = "provider=" + str(ev.provider) + "\nprovider_guid=" + str(ev.provider_guid) +
                    "\nevent_id=" + std::to_string(ev.event_id) +
                    "\nqualifiers=" + std::to_string(ev.qualifiers) +
                    (ev.has_qualifiers ? "" : " (none)") + "\nlevel=" + std::to_string(ev.level) +
                    "\ntask=" + std::to_string(ev.task) + "\nopcode=" + std::to_string(ev.opcode) +
                    "\nkeywords=" + std::to_string(ev.keywords) +
                    "\ntime_created=" + str(ev.time_created) +
                    "\ntime_unix_ms=" + std::to_string(ev.time_unix_ms) +
                    "\nrecord_id=" + std::to_string(ev.record_id) + "\nchannel=" + str(ev.channel) +
                    "\ncomputer=" + str(ev.computer) + "\nuser_sid=" + str(ev.user_sid) +
                    "\ndata_count=" + std::to_string(ev.data_count) +
                    "\ndata_truncated=" + std::to_string(ev.data_truncated) +
                    "\nuser_data=" + str(ev.user_data) + "\nmessage=" + str(ev.message) +
                    "\ndescription=" + str(ev.description) + "\norigin=" + str(ev.origin) +
                    "\noffset=" + std::to_string(ev.offset) + "\nline=" + std::to_string(ev.line);
    for (size_t i = 0; i < ev.data_count; i++)
        f += "\ndata[" + std::to_string(i) + "]=" + str(ev.data[i].name) + "=" +
             str(ev.data[i].value);
    return f;
}

struct Read {
    int open_rc = 0;
    std::string open_err;
    std::vector<std::string> events; // fields(), in the order returned
    std::vector<unsigned long long> record_ids;
    std::vector<std::string> record_reports, chunk_reports, other_reports;
    int last = 0;
};

// Drains an opened source.
void drain(mdm_source *src, const std::string &path, Read *r)
{
    mdm_event ev;
    mdm_err err{};
    mdm_event_init(&ev);
    for (;;) {
        int rc = mdm_source_next(src, &ev, &err);
        if (rc == 0) {
            r->events.push_back(fields(ev));
            r->record_ids.push_back(ev.record_id);
        } else if (rc == MDM_EBADRECORD) {
            std::string m = err.msg;
            if (m.find(": chunk ") != std::string::npos && m.find(": record ") == std::string::npos)
                r->chunk_reports.push_back(m);
            else if (m.rfind(path + ": offset ", 0) == 0 &&
                     m.find(": record ") != std::string::npos)
                r->record_reports.push_back(m);
            else
                r->other_reports.push_back(m);
        } else {
            r->last = rc;
            if (rc != MDM_EOF)
                r->other_reports.push_back(err.msg);
            break;
        }
    }
    mdm_event_free(&ev);
}

// The reader-only source, whatever the build's evtx source is.
Read read_reader_only(const std::string &path)
{
    Read r;
    mdm_source src{};
    mdm_err err{};
    src.ops = &mdm_source_evtx_reader_ops;
    src.kind = MDM_SOURCE_EVTX;
    src.path = const_cast<char *>(path.c_str());
    r.open_rc = src.ops->open(&src, path.c_str(), &err);
    if (r.open_rc != 0) {
        r.open_err = err.msg;
        return r;
    }
    drain(&src, path, &r);
    src.ops->close(&src);
    return r;
}

// The build's evtx source (source_evtx.c with libevtx, else the reader-only one).
Read read_build_source(const std::string &path)
{
    Read r;
    mdm_source *src = nullptr;
    mdm_err err{};
    r.open_rc = mdm_source_open(&src, MDM_SOURCE_EVTX, path.c_str(), &err);
    if (r.open_rc != 0) {
        r.open_err = err.msg;
        return r;
    }
    drain(src, path, &r);
    mdm_source_close(src);
    return r;
}

class EvtxReaderOnly : public ::testing::TestWithParam<std::string>
{
};

TEST_P(EvtxReaderOnly, EveryRecordIsAnEventOrReportedAndEventsEqualTheBuildSource)
{
    const std::string &path = GetParam();
    Read ours = read_reader_only(path);
    mdm_evtx_reader *reader = nullptr;
    mdm_err err{};
    int reader_rc = mdm_evtx_reader_open(&reader, path.c_str(), MDM_EVTX_RECORDS_MAX, &err);

    // The source refuses a file exactly when the reader does, with its reason.
    ASSERT_EQ(reader_rc, ours.open_rc) << ours.open_err;
    if (reader_rc != 0) {
        EXPECT_EQ(0u, ours.open_err.find(path + ": not a readable .evtx file: offset "))
            << ours.open_err;
        std::cout << "[ REFUSED  ] " << path << ": " << ours.open_err << "\n";
        return;
    }
    size_t listed = mdm_evtx_reader_count(reader);
    size_t damaged_chunks = 0;
    for (uint32_t c = 0; c < mdm_evtx_reader_chunks(reader); c++) {
        uint64_t at = 0;
        if (mdm_evtx_reader_chunk_damage(reader, c, &at) != nullptr)
            damaged_chunks++;
    }
    mdm_evtx_reader_close(reader);

    EXPECT_EQ(MDM_EOF, ours.last);
    EXPECT_TRUE(ours.other_reports.empty()) << ours.other_reports[0];
    // Every record listed is an event or a report; every damaged chunk a report.
    EXPECT_EQ(listed, ours.events.size() + ours.record_reports.size());
    EXPECT_EQ(damaged_chunks, ours.chunk_reports.size());
    for (const std::string &m : ours.record_reports)
        EXPECT_NE(std::string::npos, m.find("without libevtx")) << m;
    for (const std::string &m : ours.chunk_reports) {
        EXPECT_EQ(0u, m.find(path + ": offset ")) << m;
        EXPECT_NE(std::string::npos, m.find("without libevtx")) << m;
    }
    std::cout << "[ ONLY     ] " << path << ": " << listed << " records listed, "
              << ours.events.size() << " read, " << ours.record_reports.size() << " reported, "
              << ours.chunk_reports.size() << " damaged chunks reported\n";
    if (!ours.record_reports.empty())
        std::cout << "[ ONLY     ]   e.g. " << ours.record_reports[0] << "\n";
    if (!ours.chunk_reports.empty())
        std::cout << "[ ONLY     ]   e.g. " << ours.chunk_reports[0] << "\n";

    // The build's evtx source: with libevtx, the reference.
    Read theirs = read_build_source(path);
#ifndef MDM_HAVE_LIBEVTX
    // Without libevtx the build's evtx source is the reader-only one.
    EXPECT_EQ(ours.events, theirs.events);
    EXPECT_EQ(ours.record_reports, theirs.record_reports);
    EXPECT_EQ(ours.chunk_reports, theirs.chunk_reports);
#else
    ASSERT_EQ(0, theirs.open_rc) << theirs.open_err;
    // libevtx's own count of intact records: the reader lists exactly those.
    libevtx_file_t *file = nullptr;
    int intact = -1, recovered = -1;
    ASSERT_EQ(1, libevtx_file_initialize(&file, nullptr));
    ASSERT_EQ(1, libevtx_file_open(file, path.c_str(), LIBEVTX_OPEN_READ, nullptr));
    libevtx_file_get_number_of_records(file, &intact, nullptr);
    libevtx_file_get_number_of_recovered_records(file, &recovered, nullptr);
    libevtx_file_close(file, nullptr);
    libevtx_file_free(&file, nullptr);
    EXPECT_EQ((size_t)intact, listed);

    // Every event of the reader-only source is one the libevtx source returns
    // (the same record: same index, all fields equal), each once.
    std::map<std::string, size_t> reference;
    for (const std::string &e : theirs.events)
        reference[e]++;
    size_t missing = 0;
    for (const std::string &e : ours.events) {
        auto it = reference.find(e);
        if (it == reference.end() || it->second == 0) {
            if (++missing <= 3)
                ADD_FAILURE() << path << ": the reader-only source returns an event the libevtx "
                              << "source does not:\n"
                              << e;
            continue;
        }
        it->second--;
    }
    EXPECT_EQ(0u, missing);
    // Same order, where the libevtx source adds nothing (no refused or recovered record).
    if (theirs.events.size() == ours.events.size()) {
        EXPECT_EQ(ours.record_ids, theirs.record_ids);
    }
    std::cout << "[ LIBEVTX  ] " << path << ": the libevtx source returns " << theirs.events.size()
              << " events (" << intact << " intact, " << recovered
              << " recovered candidates); the reader-only source misses "
              << theirs.events.size() - (ours.events.size() - missing) << "\n";
#endif
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

INSTANTIATE_TEST_SUITE_P(RealLogs, EvtxReaderOnly, ::testing::ValuesIn(evtx_files()),
                         file_test_name);

// The reader-only source must carry the load: most listed records of all the
// files read, so that a reader refusing everything fails here even though
// each file's accounting holds.
TEST(EvtxReaderOnlyTotals, MostListedRecordsAreRead)
{
    size_t listed = 0, read = 0;
    for (const std::string &path : evtx_files()) {
        Read r = read_reader_only(path);
        listed += r.events.size() + r.record_reports.size();
        read += r.events.size();
    }
    ASSERT_GT(listed, 0u) << "no .evtx file was read (tests/data/evtx-public missing?)";
    std::cout << "[ ONLY     ] all files: " << read << " of " << listed
              << " listed records read without libevtx\n";
    EXPECT_GE(read * 10, listed * 9);
    if (!mdmtest::file_exists(mdmtest::shared_evtx_dir()))
        std::cout << "[ NOTE     ] " << mdmtest::shared_evtx_dir()
                  << " is absent: only tests/data/evtx-public was read\n";
}

} // namespace

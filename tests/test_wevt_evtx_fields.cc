// The .evtx reader of our own (wevt/evtx_binxml.c, no XML) against libevtx's
// XML path: for every record of every .evtx file we have (tests/data/evtx-public
// and ../shared/data/evtx when present), the fields the reader gives equal the
// fields mdm_event_parse_xml() gives from the XML libevtx renders for the same
// record, field for field (strings, numbers, every EventData/UserData value,
// the serialized UserData, the description). The expected values come from
// the other implementation at test time; nothing is hard-coded. A record the
// reader refuses (MDM_EUNSUPPORTED) is read through libevtx by the evtx
// source; the test counts them and requires that the reader reads most
// records of the real logs, so that a reader refusing everything fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "wevt/event.h"
#include "wevt/evtx_reader.h"
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

// Every field of the event model, as text, for a readable comparison (unused
// in builds without libevtx, where there is nothing to compare with).
[[maybe_unused]] std::vector<std::pair<std::string, std::string>> fields(const mdm_event &ev)
{
    std::vector<std::pair<std::string, std::string>> f = {
        {"provider", str(ev.provider)},
        {"provider_guid", str(ev.provider_guid)},
        {"event_id", std::to_string(ev.event_id)},
        {"qualifiers", std::to_string(ev.qualifiers) + (ev.has_qualifiers ? "" : " (none)")},
        {"level", std::to_string(ev.level)},
        {"task", std::to_string(ev.task)},
        {"opcode", std::to_string(ev.opcode)},
        {"keywords", std::to_string(ev.keywords)},
        {"time_created", str(ev.time_created)},
        {"time_unix_ms", std::to_string(ev.time_unix_ms)},
        {"record_id", std::to_string(ev.record_id)},
        {"channel", str(ev.channel)},
        {"computer", str(ev.computer)},
        {"user_sid", str(ev.user_sid)},
        {"data_count", std::to_string(ev.data_count)},
        {"data_truncated", std::to_string(ev.data_truncated)},
        {"user_data", str(ev.user_data)},
        {"message", str(ev.message)},
        {"description", str(ev.description)},
    };
    for (size_t i = 0; i < ev.data_count; i++)
        f.push_back({"data[" + std::to_string(i) + "]",
                     str(ev.data[i].name) + "=" + str(ev.data[i].value)});
    return f;
}

struct Tally {
    size_t records = 0, read = 0, refused = 0, xml_failed = 0, mismatched = 0;
    size_t with_replacement = 0;
    std::map<std::string, size_t> refusals;
};

#ifdef MDM_HAVE_LIBEVTX
// The cause of a refusal without the file, offset and record (for the tally).
std::string cause_of(const char *msg)
{
    std::string m(msg);
    size_t colon = m.rfind(": ");
    return colon == std::string::npos ? m : m.substr(colon + 2);
}

// Renders record i through libevtx and parses the XML as the evtx source's fallback does.
int xml_path(libevtx_file_t *file, int i, mdm_event *ev, std::string *why)
{
    libevtx_record_t *record = nullptr;
    size_t size = 0;
    int rc = MDM_EBADRECORD;
    mdm_err err{};

    if (libevtx_file_get_record_by_index(file, i, &record, nullptr) != 1) {
        *why = "libevtx cannot read the record";
    } else if (libevtx_record_get_utf8_xml_string_size(record, &size, nullptr) != 1 || size == 0 ||
               size > MDM_EVENT_XML_MAX) {
        *why = "libevtx cannot render the record";
    } else {
        std::string xml(size, '\0');
        if (libevtx_record_get_utf8_xml_string(record, (uint8_t *)&xml[0], size, nullptr) != 1) {
            *why = "libevtx cannot render the record";
        } else {
            xml.resize(strlen(xml.c_str()));
            rc = mdm_event_parse_xml(ev, xml.data(), xml.size(), &err);
            if (rc != 0)
                *why = err.msg;
        }
    }
    libevtx_record_free(&record, nullptr);
    return rc;
}

Tally compare_file(const std::string &path)
{
    Tally t;
    libevtx_file_t *file = nullptr;
    mdm_evtx_reader *reader = nullptr;
    mdm_err err{};
    int records = 0;
    mdm_event ours, theirs;

    if (libevtx_file_initialize(&file, nullptr) != 1 ||
        libevtx_file_open(file, path.c_str(), LIBEVTX_OPEN_READ, nullptr) != 1) {
        libevtx_file_free(&file, nullptr);
        std::cout << "[ NOTE     ] " << path << ": libevtx cannot open it\n";
        return t;
    }
    libevtx_file_get_number_of_records(file, &records, nullptr);
    int rc = mdm_evtx_reader_open(&reader, path.c_str(), 1u << 20, &err);
    if (rc != 0) {
        std::cout << "[ NOTE     ] " << path << ": the reader refuses the file (" << err.msg
                  << "); the evtx source reads it through libevtx\n";
        t.records = (size_t)records;
        t.refused = (size_t)records;
        t.refusals["whole file"] += (size_t)records;
    } else if (mdm_evtx_reader_count(reader) != (size_t)records) {
        std::cout << "[ NOTE     ] " << path << ": the reader lists "
                  << mdm_evtx_reader_count(reader) << " records, libevtx " << records
                  << "; the evtx source reads it through libevtx\n";
        t.records = (size_t)records;
        t.refused = (size_t)records;
        t.refusals["record list differs"] += (size_t)records;
    } else {
        mdm_event_init(&ours);
        mdm_event_init(&theirs);
        for (int i = 0; i < records; i++) {
            std::string why;
            mdm_event_reset(&ours);
            mdm_event_reset(&theirs);
            t.records++;
            int ours_rc = mdm_evtx_reader_event(reader, (size_t)i, &ours, &err);
            if (ours_rc == MDM_EUNSUPPORTED) {
                t.refused++;
                t.refusals[cause_of(err.msg)]++;
                continue;
            }
            if (ours_rc != 0) {
                ADD_FAILURE() << path << ": record " << i << ": " << err.msg;
                break;
            }
            t.read++;
            int theirs_rc = xml_path(file, i, &theirs, &why);
            if (theirs_rc != 0) {
                // The reader must not make an event of what the XML path calls damaged.
                t.xml_failed++;
                ADD_FAILURE() << path << ": record " << i << " (EventRecordID " << ours.record_id
                              << "): the reader reads it, libevtx's XML path does not: " << why;
                continue;
            }
            auto a = fields(ours), b = fields(theirs);
            if (a != b) {
                t.mismatched++;
                if (t.mismatched <= 5) {
                    std::string diff;
                    for (size_t k = 0; k < std::max(a.size(), b.size()); k++) {
                        std::string x = k < a.size() ? a[k].first + " " + a[k].second : "-";
                        std::string y = k < b.size() ? b[k].first + " " + b[k].second : "-";
                        if (x != y)
                            diff += "\n  reader: " + x + "\n  xml:    " + y;
                    }
                    ADD_FAILURE() << path << ": record " << i << " differs:" << diff;
                }
            }
            for (size_t k = 0; k < ours.data_count; k++)
                if (strstr(ours.data[k].value, "\xEF\xBF\xBD") != nullptr) {
                    t.with_replacement++;
                    break;
                }
        }
        mdm_event_free(&ours);
        mdm_event_free(&theirs);
    }
    mdm_evtx_reader_close(reader);
    libevtx_file_close(file, nullptr);
    libevtx_file_free(&file, nullptr);
    return t;
}
#endif

class EvtxFields : public ::testing::TestWithParam<std::string>
{
};

TEST_P(EvtxFields, ReaderFieldsEqualLibevtxXmlFields)
{
#ifndef MDM_HAVE_LIBEVTX
    GTEST_SKIP() << "built without libevtx: nothing to compare the reader with";
#else
    const std::string &path = GetParam();
    Tally t = compare_file(path);
    std::cout << "[ FIELDS   ] " << path << ": " << t.records << " records, " << t.read
              << " read and equal, " << t.refused << " left to libevtx, " << t.with_replacement
              << " with U+FFFD\n";
    for (const auto &r : t.refusals)
        std::cout << "[ REFUSED  ]   " << r.second << " x " << r.first << "\n";
    EXPECT_EQ(0u, t.mismatched);
    EXPECT_EQ(0u, t.xml_failed);
    RecordProperty("read", (int)t.read);
    RecordProperty("refused", (int)t.refused);
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

INSTANTIATE_TEST_SUITE_P(RealLogs, EvtxFields, ::testing::ValuesIn(evtx_files()), file_test_name);

// The reader must carry the load: most records of the real logs read by it,
// including the strings with characters XML forbids (U+0002 in a Security
// 4661's PrivilegeList), which come out as U+FFFD as in the XML path.
TEST(EvtxFieldsTotals, TheReaderReadsMostRecordsAndReplacesForbiddenCharacters)
{
#ifndef MDM_HAVE_LIBEVTX
    GTEST_SKIP() << "built without libevtx: nothing to compare the reader with";
#else
    Tally all;
    for (const std::string &path : evtx_files()) {
        Tally t = compare_file(path);
        all.records += t.records;
        all.read += t.read;
        all.with_replacement += t.with_replacement;
    }
    ASSERT_GT(all.records, 0u);
    std::cout << "[ FIELDS   ] all files: " << all.read << " of " << all.records
              << " records read by the reader\n";
    EXPECT_GE(all.read * 10, all.records * 9) << "the reader leaves more than 10 % to libevtx";
    EXPECT_GT(all.with_replacement, 0u) << "no value with U+FFFD: the 4661 samples are missing?";
    if (!mdmtest::file_exists(mdmtest::shared_evtx_dir()))
        std::cout << "[ NOTE     ] " << mdmtest::shared_evtx_dir()
                  << " is absent: only tests/data/evtx-public was compared\n";
#endif
}

} // namespace

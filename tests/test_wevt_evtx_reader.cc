// The .evtx reader (wevt/evtx_binxml.c) on bad input: every size it takes from
// the file is checked, and damaged files give an error naming the file, the
// offset and the cause (or a refusal, whose records the evtx source reads
// through libevtx), never a crash. The inputs are a committed public sample
// (tests/data/evtx-public) with bytes changed by the test.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "wevt/event.h"
#include "wevt/evtx_reader.h"
#include "test_util.h"

namespace
{

const std::string kSample =
    std::string(MDM_TEST_DATA_DIR) + "/evtx-public/DE_RDP_Tunneling_4624.evtx";

uint32_t crc32(const std::string &s, size_t from, size_t len, uint32_t crc = 0)
{
    crc = ~crc;
    for (size_t i = from; i < from + len; i++) {
        crc ^= (uint8_t)s[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    return ~crc;
}

void put32(std::string &s, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        s[at + i] = (char)(v >> (8 * i));
}

uint32_t get32(const std::string &s, size_t at)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | (uint8_t)s[at + i];
    return v;
}

// Recomputes chunk 0's CRC-32s, so that a change inside it reaches the parser.
void fix_chunk_crc(std::string &s)
{
    const size_t c = 4096;
    uint32_t free_space = get32(s, c + 48);
    put32(s, c + 52, crc32(s, c + 512, free_space - 512));
    put32(s, c + 124, crc32(s, c + 128, 384, crc32(s, c, 120)));
}

class EvtxReader : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        dir_ = mdmtest::make_temp_dir("evtx-reader");
        sample_ = mdmtest::read_file(kSample);
        ASSERT_GE(sample_.size(), 4096u + 65536u);
        mdm_event_init(&ev_);
    }
    void TearDown() override
    {
        mdm_event_free(&ev_);
        mdmtest::remove_tree(dir_);
    }
    std::string write(const std::string &data)
    {
        std::string path = dir_ + "/in.evtx";
        mdmtest::write_file(path, data);
        return path;
    }
    // Reads every record; returns how many were read, fills refusals' messages.
    size_t read_all(const std::string &path, std::string *messages, bool ignore_crc = false)
    {
        mdm_evtx_reader *r = nullptr;
        mdm_err err{};
        size_t read = 0;
        EXPECT_EQ(0, mdm_evtx_reader_open(&r, path.c_str(), 1u << 20, &err)) << err.msg;
        if (r == nullptr)
            return 0;
        if (ignore_crc)
            mdm_evtx_reader_ignore_crc(r);
        for (size_t i = 0; i < mdm_evtx_reader_count(r); i++) {
            mdm_event_reset(&ev_);
            int rc = mdm_evtx_reader_event(r, i, &ev_, &err);
            if (rc == 0)
                read++;
            else {
                EXPECT_EQ(MDM_EUNSUPPORTED, rc);
                *messages += std::string(err.msg) + "\n";
            }
        }
        mdm_evtx_reader_close(r);
        return read;
    }
    std::string dir_, sample_;
    mdm_event ev_;
};

TEST_F(EvtxReader, TheSampleIsReadWhole)
{
    std::string messages;
    EXPECT_EQ(18u, read_all(write(sample_), &messages)) << messages;
    EXPECT_EQ("", messages);
}

TEST_F(EvtxReader, MissingFilesAndOtherFilesAreClearErrors)
{
    mdm_evtx_reader *r = nullptr;
    mdm_err err{};
    EXPECT_EQ(MDM_ENOTFOUND, mdm_evtx_reader_open(&r, (dir_ + "/none.evtx").c_str(), 100, &err));
    std::string path = write(std::string(5000, 'x'));
    EXPECT_EQ(MDM_EPARSE, mdm_evtx_reader_open(&r, path.c_str(), 100, &err));
    EXPECT_NE(nullptr, strstr(err.msg, path.c_str())) << err.msg;
    EXPECT_NE(nullptr, strstr(err.msg, "offset 0: no .evtx file signature")) << err.msg;
    path = write(sample_.substr(0, 100));
    EXPECT_EQ(MDM_EPARSE, mdm_evtx_reader_open(&r, path.c_str(), 100, &err));
    EXPECT_NE(nullptr, strstr(err.msg, "offset 0: shorter than")) << err.msg;
    EXPECT_EQ(nullptr, r);
}

TEST_F(EvtxReader, MoreRecordsThanTheCapAreRefused)
{
    mdm_evtx_reader *r = nullptr;
    mdm_err err{};
    EXPECT_EQ(MDM_ETOOBIG, mdm_evtx_reader_open(&r, write(sample_).c_str(), 5, &err));
    EXPECT_NE(nullptr, strstr(err.msg, "more than 5 records")) << err.msg;
}

TEST_F(EvtxReader, AChangedRecordFailsTheChunkCrcAndIsLeftToLibevtx)
{
    std::string s = sample_;
    s[4096 + 512 + 200] ^= 0x55;
    std::string messages;
    EXPECT_EQ(0u, read_all(write(s), &messages));
    EXPECT_NE(std::string::npos, messages.find("chunk 0: CRC-32 mismatch")) << messages;
}

TEST_F(EvtxReader, DamagedBinaryXmlIsRefusedWithItsOffsetNeverACrash)
{
    // Every byte of the first record's binary XML in turn set to 0xFF (CRCs
    // fixed so that the parser sees it): a refusal names the file, offset
    // and cause; no change crashes or reads out of the chunk (ASan builds).
    const size_t rec = 4096 + 512;
    const uint32_t size = get32(sample_, rec + 4);
    size_t refused = 0;
    for (size_t at = rec + 24; at < rec + size - 4; at++) {
        std::string s = sample_;
        s[at] = (char)0xFF;
        fix_chunk_crc(s);
        std::string messages;
        read_all(write(s), &messages);
        if (!messages.empty()) {
            refused++;
            EXPECT_NE(std::string::npos, messages.find(dir_ + "/in.evtx: offset ")) << messages;
        }
    }
    EXPECT_GT(refused, 0u);
}

TEST_F(EvtxReader, GarbageInEveryChunkWithoutCrcChecksIsNoCrash)
{
    std::string s = sample_;
    for (size_t at = 4096 + 512; at < s.size(); at += 7)
        s[at] = (char)(at * 31);
    std::string messages;
    read_all(write(s), &messages, true);
    SUCCEED() << messages.size();
}

} // namespace

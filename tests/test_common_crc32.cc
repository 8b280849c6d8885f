// test_common_crc32.cc - mdm_crc32 against the rule that defines its table, the
// standard check value, and values of zlib's crc32() (Python's zlib.crc32, the
// implementation the .evtx format and the state journal are written against).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "agent/common/mdm_crc32.h"

namespace
{

// The definition, one bit at a time: what the written-out table must give.
uint32_t crc32_bitwise(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    while (n-- > 0) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    return ~crc;
}

TEST(Crc32, CheckValueEmptyInputAndContinuation)
{
    const std::string check = "123456789";
    EXPECT_EQ(0xCBF43926u, mdm_crc32(0, check.data(), check.size())); // the CRC-32 check value
    EXPECT_EQ(0u, mdm_crc32(0, "", 0));
    uint32_t part = mdm_crc32(0, check.data(), 4);
    EXPECT_EQ(0xCBF43926u, mdm_crc32(part, check.data() + 4, check.size() - 4));
}

// python3 -c "import zlib; print(hex(zlib.crc32(b'The quick brown fox jumps over the lazy
// dog')), hex(zlib.crc32(bytes(range(256)) * 16)))"
TEST(Crc32, ValuesOfZlib)
{
    const std::string fox = "The quick brown fox jumps over the lazy dog";
    EXPECT_EQ(0x414FA339u, mdm_crc32(0, fox.data(), fox.size()));
    std::vector<unsigned char> bytes;
    for (int r = 0; r < 16; r++)
        for (int i = 0; i < 256; i++)
            bytes.push_back((unsigned char)i);
    EXPECT_EQ(0xA2912082u, mdm_crc32(0, bytes.data(), bytes.size()));
}

TEST(Crc32, EveryByteValueAndRandomDataAgreeWithTheRule)
{
    std::vector<unsigned char> data(256);
    for (size_t i = 0; i < data.size(); i++) {
        data[i] = (unsigned char)i;
        SCOPED_TRACE(i);
        EXPECT_EQ(crc32_bitwise(&data[i], 1), mdm_crc32(0, &data[i], 1));
    }
    std::mt19937 rng(20261206);
    for (size_t len : {1u, 7u, 120u, 384u, 4096u, 65536u}) {
        SCOPED_TRACE(len);
        std::vector<unsigned char> buf(len);
        for (auto &b : buf)
            b = (unsigned char)rng();
        const uint32_t ours = mdm_crc32(0, buf.data(), buf.size());
        EXPECT_EQ(crc32_bitwise(buf.data(), buf.size()), ours);
    }
}

} // namespace

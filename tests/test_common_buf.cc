// test_common_buf.cc - the bounded growable buffer (agent/common/mdm_buf.c):
// the cap is never passed, a refused append changes nothing, the storage
// stays within cap + 1 bytes, consume/reset/free.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

extern "C" {
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_err.h"
}

TEST(CommonBuf, EmptyBufferReadsAsEmptyString)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, 10);
    EXPECT_EQ(buf.len, 0u);
    EXPECT_EQ(buf.data, nullptr);
    EXPECT_STREQ(mdm_buf_str(&buf), "");
    mdm_buf_free(&buf);
}

TEST(CommonBuf, FillsExactlyToTheCapAndRefusesOneByteMore)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, 8);
    ASSERT_EQ(mdm_buf_adds(&buf, "12345"), 0);
    ASSERT_EQ(mdm_buf_add(&buf, "678", 3), 0);
    EXPECT_EQ(buf.len, 8u);
    EXPECT_EQ(mdm_buf_add(&buf, "9", 1), MDM_ETOOBIG);
    EXPECT_EQ(mdm_buf_add(&buf, "", 0), 0);
    EXPECT_EQ(buf.len, 8u);
    EXPECT_STREQ(mdm_buf_str(&buf), "12345678");
    /* The storage is bounded by the cap too, not only the length. */
    EXPECT_LE(buf.size, 9u);
    mdm_buf_free(&buf);
}

TEST(CommonBuf, RefusedAppendLeavesTheContentUnchanged)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, 10);
    ASSERT_EQ(mdm_buf_adds(&buf, "abc"), 0);
    EXPECT_EQ(mdm_buf_adds(&buf, "defghijk"), MDM_ETOOBIG);
    EXPECT_EQ(buf.len, 3u);
    EXPECT_STREQ(mdm_buf_str(&buf), "abc");
    mdm_buf_free(&buf);
}

TEST(CommonBuf, HugeLengthIsRefusedWithoutOverflow)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, 100);
    ASSERT_EQ(mdm_buf_adds(&buf, "x"), 0);
    EXPECT_EQ(mdm_buf_add(&buf, "y", SIZE_MAX), MDM_ETOOBIG);
    EXPECT_EQ(mdm_buf_add(&buf, "y", SIZE_MAX - buf.len), MDM_ETOOBIG);
    EXPECT_STREQ(mdm_buf_str(&buf), "x");
    mdm_buf_free(&buf);
}

TEST(CommonBuf, ZeroCapHoldsOnlyTheEmptyString)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, 0);
    EXPECT_EQ(mdm_buf_add(&buf, "", 0), 0);
    EXPECT_STREQ(mdm_buf_str(&buf), "");
    EXPECT_EQ(mdm_buf_adds(&buf, "a"), MDM_ETOOBIG);
    EXPECT_EQ(mdm_buf_printf(&buf, "%d", 1), MDM_ETOOBIG);
    EXPECT_EQ(buf.len, 0u);
    mdm_buf_free(&buf);
}

TEST(CommonBuf, PrintfFitsExactlyOrChangesNothing)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, 12);
    ASSERT_EQ(mdm_buf_printf(&buf, "id=%d;", 1004), 0);
    EXPECT_STREQ(mdm_buf_str(&buf), "id=1004;");
    EXPECT_EQ(mdm_buf_printf(&buf, "%s", "12345"), MDM_ETOOBIG);
    EXPECT_STREQ(mdm_buf_str(&buf), "id=1004;");
    ASSERT_EQ(mdm_buf_printf(&buf, "%s", "1234"), 0);
    EXPECT_STREQ(mdm_buf_str(&buf), "id=1004;1234");
    EXPECT_EQ(buf.len, 12u);
    mdm_buf_free(&buf);
}

TEST(CommonBuf, GrowsThroughManyAppendsAndKeepsBinaryData)
{
    struct mdm_buf buf;
    std::string expect;
    mdm_buf_init(&buf, 1u << 20);
    for (int i = 0; i < 5000; i++) {
        char chunk[3] = {static_cast<char>('a' + i % 26), '\0', static_cast<char>(i & 0x7f)};
        ASSERT_EQ(mdm_buf_add(&buf, chunk, sizeof(chunk)), 0);
        expect.append(chunk, sizeof(chunk));
    }
    ASSERT_EQ(buf.len, expect.size());
    EXPECT_EQ(std::string(buf.data, buf.len), expect);
    EXPECT_EQ(buf.data[buf.len], '\0');
    mdm_buf_free(&buf);
}

TEST(CommonBuf, ConsumeDropsTheFrontAndNeverMoreThanThereIs)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, 64);
    ASSERT_EQ(mdm_buf_adds(&buf, "line one\nline two\n"), 0);
    mdm_buf_consume(&buf, 9);
    EXPECT_STREQ(mdm_buf_str(&buf), "line two\n");
    EXPECT_EQ(buf.len, 9u);
    mdm_buf_consume(&buf, 0);
    EXPECT_STREQ(mdm_buf_str(&buf), "line two\n");
    mdm_buf_consume(&buf, 1000);
    EXPECT_EQ(buf.len, 0u);
    EXPECT_STREQ(mdm_buf_str(&buf), "");
    ASSERT_EQ(mdm_buf_adds(&buf, "again"), 0);
    EXPECT_STREQ(mdm_buf_str(&buf), "again");
    mdm_buf_free(&buf);
}

TEST(CommonBuf, ResetKeepsTheStorageAndFreeMakesItReusable)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, 1000);
    ASSERT_EQ(mdm_buf_adds(&buf, std::string(500, 'z').c_str()), 0);
    char *data = buf.data;
    size_t size = buf.size;
    mdm_buf_reset(&buf);
    EXPECT_EQ(buf.len, 0u);
    EXPECT_STREQ(mdm_buf_str(&buf), "");
    EXPECT_EQ(buf.data, data);
    EXPECT_EQ(buf.size, size);
    mdm_buf_free(&buf);
    EXPECT_EQ(buf.data, nullptr);
    EXPECT_EQ(buf.len, 0u);
    /* The cap survives a free: the buffer is reusable with the same limit. */
    EXPECT_EQ(mdm_buf_adds(&buf, std::string(1001, 'z').c_str()), MDM_ETOOBIG);
    ASSERT_EQ(mdm_buf_adds(&buf, "ok"), 0);
    EXPECT_STREQ(mdm_buf_str(&buf), "ok");
    mdm_buf_free(&buf);
}

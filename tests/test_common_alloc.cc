// test_common_alloc.cc - the allocation wrappers (agent/common/mdm_alloc.c)
// and their failure hook, and that a failed allocation reaches the callers
// of mdm_buf and mdm_json as MDM_ENOMEM with nothing lost or leaked.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

extern "C" {
#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_err.h"
#include "agent/common/mdm_json.h"
}

namespace
{
class CommonAlloc : public ::testing::Test
{
  protected:
    void TearDown() override
    {
        mdm_alloc_fail_after(-1);
    }
};
// mdm_wipe zeroes exactly the bytes it is given.
TEST(Wipe, ZeroesTheGivenBytesOnly)
{
    char buf[16];
    memset(buf, 'x', sizeof(buf));
    mdm_wipe(buf + 2, 10);
    EXPECT_EQ('x', buf[1]);
    for (size_t i = 2; i < 12; i++)
        EXPECT_EQ(0, buf[i]) << i;
    EXPECT_EQ('x', buf[12]);
    mdm_wipe(buf, 0); // nothing to do, no crash
}

} // namespace

TEST_F(CommonAlloc, ZeroSizeGivesAUsableDistinctBlock)
{
    void *a = mdm_malloc(0), *b = mdm_malloc(0), *c = mdm_calloc(0, 0);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(c, nullptr);
    EXPECT_NE(a, b);
    void *d = mdm_realloc(a, 0);
    ASSERT_NE(d, nullptr);
    mdm_free(d);
    mdm_free(b);
    mdm_free(c);
    mdm_free(nullptr);
}

TEST_F(CommonAlloc, CallocZeroesAndReallocKeepsTheContent)
{
    unsigned char *p = static_cast<unsigned char *>(mdm_calloc(100, 3));
    ASSERT_NE(p, nullptr);
    for (size_t i = 0; i < 300; i++)
        ASSERT_EQ(p[i], 0u) << i;
    std::memset(p, 0xA5, 300);
    unsigned char *q = static_cast<unsigned char *>(mdm_realloc(p, 100000));
    ASSERT_NE(q, nullptr);
    for (size_t i = 0; i < 300; i++)
        ASSERT_EQ(q[i], 0xA5u) << i;
    mdm_free(q);
}

TEST_F(CommonAlloc, StrdupAndStrndupCopy)
{
    char *a = mdm_strdup("Mobile Device Manager");
    ASSERT_NE(a, nullptr);
    EXPECT_STREQ(a, "Mobile Device Manager");
    char *b = mdm_strndup("abcdef", 3);
    ASSERT_NE(b, nullptr);
    EXPECT_STREQ(b, "abc");
    char *c = mdm_strndup("abc", 0);
    ASSERT_NE(c, nullptr);
    EXPECT_STREQ(c, "");
    /* strndup copies exactly len bytes, also past an embedded NUL. */
    char *d = mdm_strndup("a\0b", 3);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(std::memcmp(d, "a\0b\0", 4), 0);
    mdm_free(a);
    mdm_free(b);
    mdm_free(c);
    mdm_free(d);
}

TEST_F(CommonAlloc, FailAfterZeroFailsEveryEntryPoint)
{
    void *keep = mdm_malloc(16);
    ASSERT_NE(keep, nullptr);
    std::memcpy(keep, "still here", 11);
    mdm_alloc_fail_after(0);
    EXPECT_EQ(mdm_malloc(8), nullptr);
    EXPECT_EQ(mdm_calloc(2, 8), nullptr);
    /* A failed realloc leaves the old block as it was. */
    EXPECT_EQ(mdm_realloc(keep, 4096), nullptr);
    EXPECT_EQ(mdm_strdup("x"), nullptr);
    EXPECT_EQ(mdm_strndup("xyz", 2), nullptr);
    EXPECT_EQ(mdm_alloc_count(), 5);
    mdm_alloc_fail_after(-1);
    EXPECT_STREQ(static_cast<char *>(keep), "still here");
    mdm_free(keep);
}

TEST_F(CommonAlloc, FailAfterNLetsExactlyNSucceedAndCountsEveryAttempt)
{
    mdm_alloc_fail_after(2);
    void *a = mdm_malloc(1);
    void *b = mdm_malloc(1);
    void *c = mdm_malloc(1);
    void *d = mdm_malloc(1);
    EXPECT_NE(a, nullptr);
    EXPECT_NE(b, nullptr);
    EXPECT_EQ(c, nullptr);
    EXPECT_EQ(d, nullptr);
    EXPECT_EQ(mdm_alloc_count(), 4);
    mdm_alloc_fail_after(-1);
    EXPECT_EQ(mdm_alloc_count(), 0);
    void *e = mdm_malloc(1);
    EXPECT_NE(e, nullptr);
    EXPECT_EQ(mdm_alloc_count(), 1);
    mdm_free(a);
    mdm_free(b);
    mdm_free(e);
}

TEST_F(CommonAlloc, BufferReportsFailedGrowthAndKeepsItsContent)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, 1u << 20);
    ASSERT_EQ(mdm_buf_adds(&buf, "kept"), 0);
    std::string big(4096, 'b');
    mdm_alloc_fail_after(0);
    EXPECT_EQ(mdm_buf_adds(&buf, big.c_str()), MDM_ENOMEM);
    EXPECT_EQ(mdm_buf_printf(&buf, "%s", big.c_str()), MDM_ENOMEM);
    mdm_alloc_fail_after(-1);
    EXPECT_EQ(buf.len, 4u);
    EXPECT_STREQ(mdm_buf_str(&buf), "kept");
    EXPECT_EQ(mdm_buf_adds(&buf, big.c_str()), 0);
    EXPECT_EQ(buf.len, 4u + big.size());
    mdm_buf_free(&buf);
}

/*
 * The c-ares style loop: fail the first, second, ... allocation of a JSON
 * encoding until it succeeds. Every failure is MDM_ENOMEM (never a crash or
 * a short result), and the final text is the same as without failures.
 */
TEST_F(CommonAlloc, EveryFailedAllocationOfAJsonStringIsReported)
{
    std::string input;
    for (int i = 0; i < 200; i++)
        input += "line \"" + std::to_string(i) + "\"\t\xC3\xA9\n";
    struct mdm_buf expect;
    mdm_buf_init(&expect, 1u << 20);
    ASSERT_EQ(mdm_json_add_string(&expect, input.c_str()), 0);

    int failures = 0;
    for (long n = 0; n < 1000; n++) {
        struct mdm_buf buf;
        mdm_buf_init(&buf, 1u << 20);
        mdm_alloc_fail_after(n);
        int rc = mdm_json_add_string(&buf, input.c_str());
        mdm_alloc_fail_after(-1);
        if (rc == 0) {
            EXPECT_STREQ(mdm_buf_str(&buf), mdm_buf_str(&expect));
            mdm_buf_free(&buf);
            break;
        }
        EXPECT_EQ(rc, MDM_ENOMEM) << "allocation " << n;
        failures++;
        mdm_buf_free(&buf);
    }
    /* The buffer grows from 64 bytes by doubling: several allocations were failed. */
    EXPECT_GE(failures, 3);
    EXPECT_LT(failures, 1000);
    mdm_buf_free(&expect);
}

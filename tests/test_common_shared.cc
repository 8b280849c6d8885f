// test_engine_common.cc - agent/common: the error table, the secret wipe, ASCII case folding.
#include <gtest/gtest.h>

#include <string.h>

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"
#include "agent/common/mdm_text.h"

namespace
{

// The error table: the values operators and logs have seen stay the same.
TEST(ErrorTable, CodesNamesAndMessages)
{
    EXPECT_EQ(-1, MDM_ENOMEM);
    EXPECT_EQ(-8, MDM_ENOTFOUND);
    EXPECT_EQ(-10, MDM_EOF);
    EXPECT_STREQ("out of memory", mdm_strerror(MDM_ENOMEM));
    EXPECT_STREQ("malformed input", mdm_strerror(MDM_EPARSE));
    EXPECT_STREQ("end of input", mdm_strerror(MDM_EOF));
    EXPECT_STREQ("unknown error", mdm_strerror(-99));
    EXPECT_STREQ("MDM_EINVAL", mdm_err_name(MDM_EINVAL));
    EXPECT_STREQ("MDM_OK", mdm_err_name(0));
    EXPECT_STREQ("MDM_E?", mdm_err_name(-99));
}

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

// ASCII only: no locale, bytes of UTF-8 characters unchanged.
TEST(AsciiCase, FoldsOnlyAToZ)
{
    EXPECT_EQ('a', mdm_ascii_tolower('A'));
    EXPECT_EQ('z', mdm_ascii_tolower('Z'));
    EXPECT_EQ('a', mdm_ascii_tolower('a'));
    EXPECT_EQ('@', mdm_ascii_tolower('@'));
    EXPECT_EQ('[', mdm_ascii_tolower('['));
    EXPECT_EQ(0xC9, mdm_ascii_tolower(0xC9)); // a byte of a UTF-8 sequence
    EXPECT_TRUE(mdm_ascii_iequal("DM01.Contoso.COM", "dm01.contoso.com"));
    EXPECT_FALSE(mdm_ascii_iequal("dm01", "dm02"));
}

} // namespace

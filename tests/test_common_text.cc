// test_common_text.cc - UTF-8 aware cutting and ASCII case folding
// (agent/common/mdm_text.c).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

extern "C" {
#include "agent/common/mdm_text.h"
}

TEST(CommonText, CutKeepsWholeCharacters)
{
    const std::string s = "a\xC3\xA9" /* é */ "\xE2\x82\xAC" /* € */ "\xF0\x9F\x98\x80" /* 😀 */;
    ASSERT_EQ(s.size(), 10u);
    EXPECT_EQ(mdm_utf8_cut(s.c_str(), s.size(), 100), 10u);
    EXPECT_EQ(mdm_utf8_cut(s.c_str(), s.size(), 10), 10u);
    EXPECT_EQ(mdm_utf8_cut(s.c_str(), s.size(), 0), 0u);
    EXPECT_EQ(mdm_utf8_cut(s.c_str(), s.size(), 1), 1u);
    EXPECT_EQ(mdm_utf8_cut(s.c_str(), s.size(), 2), 1u); /* inside é */
    EXPECT_EQ(mdm_utf8_cut(s.c_str(), s.size(), 3), 3u);
    EXPECT_EQ(mdm_utf8_cut(s.c_str(), s.size(), 4), 3u); /* inside € */
    EXPECT_EQ(mdm_utf8_cut(s.c_str(), s.size(), 5), 3u);
    EXPECT_EQ(mdm_utf8_cut(s.c_str(), s.size(), 6), 6u);
    EXPECT_EQ(mdm_utf8_cut(s.c_str(), s.size(), 9), 6u); /* inside 😀 */
}

TEST(CommonText, CopyTerminatesAndCutsOnACharacterBoundary)
{
    char dst[8];
    std::memset(dst, 'X', sizeof(dst));
    mdm_utf8_copy(dst, 0, "abc");
    EXPECT_EQ(dst[0], 'X'); /* size 0: nothing written */
    mdm_utf8_copy(dst, 1, "abc");
    EXPECT_STREQ(dst, "");
    mdm_utf8_copy(dst, 3, "a\xC3\xA9");
    EXPECT_STREQ(dst, "a"); /* é does not fit with the NUL */
    mdm_utf8_copy(dst, 4, "a\xC3\xA9");
    EXPECT_STREQ(dst, "a\xC3\xA9");
    mdm_utf8_copy(dst, sizeof(dst), "0123456789");
    EXPECT_STREQ(dst, "0123456");
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
    EXPECT_EQ('A', mdm_ascii_toupper('a'));
    EXPECT_EQ('Z', mdm_ascii_toupper('z'));
    EXPECT_EQ('A', mdm_ascii_toupper('A'));
    EXPECT_EQ('`', mdm_ascii_toupper('`'));
    EXPECT_EQ('{', mdm_ascii_toupper('{'));
    EXPECT_EQ(0xE9, mdm_ascii_toupper(0xE9));
    EXPECT_TRUE(mdm_ascii_iequal("DM01.Contoso.COM", "dm01.contoso.com"));
    EXPECT_FALSE(mdm_ascii_iequal("dm01", "dm02"));
}

TEST(CommonText, IequalFoldsAsciiLettersOnly)
{
    EXPECT_TRUE(mdm_ascii_iequal("MDM-SERVER01", "mdm-server01"));
    EXPECT_TRUE(mdm_ascii_iequal("", ""));
    EXPECT_FALSE(mdm_ascii_iequal("abc", "abd"));
    EXPECT_FALSE(mdm_ascii_iequal("ab", "abc"));
    EXPECT_FALSE(mdm_ascii_iequal("abc", "ab"));
    /* '@' and '`', '[' and '{' differ by 0x20 but are not letters. */
    EXPECT_FALSE(mdm_ascii_iequal("@", "`"));
    EXPECT_FALSE(mdm_ascii_iequal("[", "{"));
    /* No folding beyond ASCII: É (C3 89) is not é (C3 A9). */
    EXPECT_FALSE(mdm_ascii_iequal("\xC3\x89", "\xC3\xA9"));
}

TEST(CommonText, IequalNComparesAtMostNBytesAndStopsAtTheEnd)
{
    EXPECT_TRUE(mdm_ascii_iequal_n("GROUP", "groupOfNames", 5));
    EXPECT_FALSE(mdm_ascii_iequal_n("GROUP", "groupOfNames", 6));
    EXPECT_TRUE(mdm_ascii_iequal_n("abc", "ABD", 2));
    EXPECT_FALSE(mdm_ascii_iequal_n("abc", "ABD", 3));
    EXPECT_TRUE(mdm_ascii_iequal_n("ab", "AB", 10));
    EXPECT_FALSE(mdm_ascii_iequal_n("ab", "abc", 3));
    EXPECT_TRUE(mdm_ascii_iequal_n("x", "y", 0));
}

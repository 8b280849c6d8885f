// test_common_json.cc - JSON string escaping (agent/common/mdm_json.c): the
// output is valid JSON for any input bytes, and the buffer's cap holds.
#include <gtest/gtest.h>

#include <string>

extern "C" {
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_err.h"
#include "agent/common/mdm_json.h"
}

namespace
{
/* The JSON text of s, or "<rc N>" when the encoding failed. */
std::string json(const char *s, size_t cap = 1u << 16)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, cap);
    int rc = mdm_json_add_string(&buf, s);
    std::string out = rc == 0 ? std::string(buf.data, buf.len) : "<rc " + std::to_string(rc) + ">";
    mdm_buf_free(&buf);
    return out;
}
} // namespace

TEST(CommonJson, PlainTextIsQuoted)
{
    EXPECT_EQ(json("Mobile Device Manager"), "\"Mobile Device Manager\"");
    EXPECT_EQ(json(""), "\"\"");
    EXPECT_EQ(json(nullptr), "\"\"");
}

TEST(CommonJson, QuoteBackslashAndLineEndsAreEscaped)
{
    EXPECT_EQ(json("say \"hi\""), "\"say \\\"hi\\\"\"");
    EXPECT_EQ(json("C:\\Windows"), "\"C:\\\\Windows\"");
    EXPECT_EQ(json("a\nb\rc\td"), "\"a\\nb\\rc\\td\"");
    /* '/' needs no escape in JSON and is left alone. */
    EXPECT_EQ(json("a/b"), "\"a/b\"");
}

TEST(CommonJson, OtherControlCharactersAndDelBecomeUnicodeEscapes)
{
    EXPECT_EQ(json("\x01"), "\"\\u0001\"");
    EXPECT_EQ(json("\x08\x0c"), "\"\\u0008\\u000c\"");
    EXPECT_EQ(json("\x1f"), "\"\\u001f\"");
    EXPECT_EQ(json("\x7f"), "\"\\u007f\"");
}

TEST(CommonJson, ValidUtf8PassesThrough)
{
    EXPECT_EQ(json("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
    EXPECT_EQ(json("\xE2\x82\xAC"), "\"\xE2\x82\xAC\"");
    EXPECT_EQ(json("\xF0\x9F\x98\x80"), "\"\xF0\x9F\x98\x80\"");
    EXPECT_EQ(json("\xF4\x8F\xBF\xBF"), "\"\xF4\x8F\xBF\xBF\""); /* U+10FFFF */
}

TEST(CommonJson, InvalidUtf8BecomesReplacementCharacters)
{
    /* A lone continuation byte, and a Latin-1 byte. */
    EXPECT_EQ(json("a\x80z"), "\"a\\ufffdz\"");
    EXPECT_EQ(json("caf\xE9"), "\"caf\\ufffd\"");
    /* An overlong '/' (C0 AF): both bytes are replaced, no '/' appears. */
    EXPECT_EQ(json("\xC0\xAF"), "\"\\ufffd\\ufffd\"");
    /* A UTF-16 surrogate (ED A0 80) is not a character. */
    EXPECT_EQ(json("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
    /* Past U+10FFFF, and a byte that starts no sequence. */
    EXPECT_EQ(json("\xF4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    EXPECT_EQ(json("\xF8"), "\"\\ufffd\"");
    /* A sequence cut by the end of the string: nothing is read past the NUL. */
    EXPECT_EQ(json("x\xE2\x82"), "\"x\\ufffd\\ufffd\"");
}

TEST(CommonJson, CapIsHeldAndReported)
{
    /* "abc" needs 5 bytes with its quotes. */
    EXPECT_EQ(json("abc", 5), "\"abc\"");
    EXPECT_EQ(json("abc", 4), "<rc " + std::to_string(MDM_ETOOBIG) + ">");
    /* An escape that does not fit fails too; it is never cut in half. */
    EXPECT_EQ(json("\x01", 6), "<rc " + std::to_string(MDM_ETOOBIG) + ">");
    EXPECT_EQ(json("\x01", 8), "\"\\u0001\"");
}

TEST(CommonJson, AppendsAfterWhatTheBufferHolds)
{
    struct mdm_buf buf;
    mdm_buf_init(&buf, 100);
    ASSERT_EQ(mdm_buf_adds(&buf, "{\"k\":"), 0);
    ASSERT_EQ(mdm_json_add_string(&buf, "v\n"), 0);
    ASSERT_EQ(mdm_buf_adds(&buf, "}"), 0);
    EXPECT_STREQ(mdm_buf_str(&buf), "{\"k\":\"v\\n\"}");
    mdm_buf_free(&buf);
}

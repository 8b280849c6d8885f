// test_common_err.cc - error records (agent/common/mdm_err.c): codes, messages
// cut to the record, prefixes, and the names of the codes.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

extern "C" {
#include "agent/common/mdm_err.h"
}

TEST(CommonErr, SetRecordsCodeAndMessageAndReturnsTheCode)
{
    struct mdm_err err;
    mdm_err_clear(&err);
    EXPECT_EQ(mdm_err_set(&err, MDM_EPARSE, "%s:%d: bad %s", "pack.xml", 42, "element"),
              MDM_EPARSE);
    EXPECT_EQ(err.code, MDM_EPARSE);
    EXPECT_STREQ(err.msg, "pack.xml:42: bad element");
}

TEST(CommonErr, NullRecordIsAllowedEverywhere)
{
    EXPECT_EQ(mdm_err_set(nullptr, MDM_EIO, "ignored %d", 1), MDM_EIO);
    mdm_err_prefix(nullptr, "ignored: ");
    mdm_err_clear(nullptr);
}

TEST(CommonErr, ClearEmptiesCodeAndMessage)
{
    struct mdm_err err;
    mdm_err_set(&err, MDM_EIO, "something");
    mdm_err_clear(&err);
    EXPECT_EQ(err.code, 0);
    EXPECT_STREQ(err.msg, "");
}

TEST(CommonErr, LongMessageIsCutToTheRecordAndTerminated)
{
    struct mdm_err err;
    std::string longer(3 * MDM_ERR_MSG_MAX, 'x');
    mdm_err_set(&err, MDM_ETOOBIG, "%s", longer.c_str());
    EXPECT_EQ(std::strlen(err.msg), size_t(MDM_ERR_MSG_MAX - 1));
    EXPECT_EQ(std::string(err.msg), longer.substr(0, MDM_ERR_MSG_MAX - 1));
}

TEST(CommonErr, PrefixGoesInFrontAndKeepsTheCode)
{
    struct mdm_err err;
    mdm_err_set(&err, MDM_ENOTFOUND, "no such field");
    mdm_err_prefix(&err, "%s:%d: ", "mdm.conf", 7);
    EXPECT_EQ(err.code, MDM_ENOTFOUND);
    EXPECT_STREQ(err.msg, "mdm.conf:7: no such field");
}

TEST(CommonErr, PrefixOfAFullRecordKeepsThePrefixWholeAndCutsTheMessage)
{
    struct mdm_err err;
    std::string message(MDM_ERR_MSG_MAX - 1, 'm');
    mdm_err_set(&err, MDM_EIO, "%s", message.c_str());
    mdm_err_prefix(&err, "where: ");
    std::string got = err.msg;
    EXPECT_EQ(got.size(), size_t(MDM_ERR_MSG_MAX - 1));
    EXPECT_EQ(got.substr(0, 7), "where: ");
    EXPECT_EQ(got.substr(7), message.substr(0, MDM_ERR_MSG_MAX - 1 - 7));
}

TEST(CommonErr, PrefixLongerThanTheRecordIsCutAndTerminated)
{
    struct mdm_err err;
    std::string prefix(2 * MDM_ERR_MSG_MAX, 'p');
    mdm_err_set(&err, MDM_EIO, "lost");
    mdm_err_prefix(&err, "%s", prefix.c_str());
    EXPECT_EQ(std::string(err.msg), prefix.substr(0, MDM_ERR_MSG_MAX - 1));
}

TEST(CommonErr, EveryCodeHasItsOwnName)
{
    const int codes[] = {MDM_OK,        MDM_ENOMEM,       MDM_EINVAL,  MDM_EIO,
                         MDM_EPARSE,    MDM_EUNSUPPORTED, MDM_ETOOBIG, MDM_EAGAIN,
                         MDM_ENOTFOUND, MDM_EBADRECORD,   MDM_EOF};
    std::set<std::string> names;
    for (int code : codes) {
        std::string name = mdm_strerror(code);
        EXPECT_FALSE(name.empty()) << code;
        EXPECT_NE(name, "unknown error") << code;
        names.insert(name);
    }
    EXPECT_EQ(names.size(), sizeof(codes) / sizeof(codes[0]));
    EXPECT_STREQ(mdm_strerror(MDM_ENOMEM), "out of memory");
    EXPECT_STREQ(mdm_strerror(-1000), "unknown error");
    EXPECT_STREQ(mdm_strerror(1), "unknown error");
}

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

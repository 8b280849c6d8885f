// test_wevt_field.cc - XPathQuery names (wevt/field.c): parsing, reading a
// field of an event, and formatting a value.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "wevt/event.h"

namespace
{

struct mdm_event_data field_data[] = {
    {"Server", "enroll.contoso.com"},
    {"Port", "8445"},
    {nullptr, "unnamed"},
    {"Server", "second server with the same name"},
    {"Empty", ""},
};

class FieldTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        mdm_event_init(&ev);
        ev.provider = "Device Manager";
        ev.provider_guid = "{11111111-2222-3333-4444-555555555555}";
        ev.event_id = 1003;
        ev.qualifiers = 0xC000;
        ev.has_qualifiers = true;
        ev.level = 2;
        ev.task = 7;
        ev.keywords = 0x0080000000000000ull;
        ev.time_created = "2026-11-25T05:36:30.1234567Z";
        ev.time_unix_ms = 1795584990123ll;
        ev.record_id = 42;
        ev.channel = "Mobile Device Manager";
        ev.computer = "DM01.contoso.com";
        ev.user_sid = "S-1-5-20";
        ev.description = "Enrollment failed";
        ev.data = field_data;
        ev.data_count = sizeof(field_data) / sizeof(field_data[0]);
    }
    void TearDown() override
    {
        mdm_event_free(&ev);
    }

    // Parses name and reads it; fails the test when either step fails.
    mdm_value get(const char *name)
    {
        mdm_field_ref ref;
        mdm_err err;
        mdm_value v;
        mdm_err_clear(&err);
        std::memset(&v, 0, sizeof(v));
        int rc = mdm_field_parse(name, &ref, &err);
        EXPECT_EQ(rc, 0) << name << ": " << err.msg;
        if (rc != 0)
            return v;
        rc = mdm_event_get(&ev, &ref, &v);
        EXPECT_EQ(rc, 0) << name;
        return v;
    }

    // Parses name and returns the mdm_event_get code.
    int get_rc(const char *name)
    {
        mdm_field_ref ref;
        mdm_value v;
        mdm_err err;
        int rc = mdm_field_parse(name, &ref, &err);
        EXPECT_EQ(rc, 0) << name << ": " << err.msg;
        if (rc != 0)
            return rc;
        return mdm_event_get(&ev, &ref, &v);
    }

    std::string get_text(const char *name)
    {
        mdm_value v = get(name);
        char buf[128];
        return mdm_value_format(&v, buf, sizeof(buf));
    }

    mdm_event ev;
};

TEST_F(FieldTest, ParseMapsEveryName)
{
    struct {
        const char *name;
        mdm_field_id id;
    } cases[] = {
        {"PublisherName", MDM_FIELD_PUBLISHER_NAME},
        {"EventSourceName", MDM_FIELD_PUBLISHER_NAME},
        {"PublisherId", MDM_FIELD_PUBLISHER_ID},
        {"EventDisplayNumber", MDM_FIELD_EVENT_DISPLAY_NUMBER},
        {"EventNumber", MDM_FIELD_EVENT_NUMBER},
        {"EventLevel", MDM_FIELD_EVENT_LEVEL},
        {"EventCategory", MDM_FIELD_EVENT_CATEGORY},
        {"Channel", MDM_FIELD_CHANNEL},
        {"LogName", MDM_FIELD_CHANNEL},
        {"LoggingComputer", MDM_FIELD_LOGGING_COMPUTER},
        {"EventDescription", MDM_FIELD_EVENT_DESCRIPTION},
        {"UserName", MDM_FIELD_USER_NAME},
        {"Params/Param[1]", MDM_FIELD_PARAM},
        {"EventData/Data[@Name='Server']", MDM_FIELD_EVENT_DATA},
        {"EventData/Data[@Name=\"Server\"]", MDM_FIELD_EVENT_DATA},
        {"EventData/Server", MDM_FIELD_EVENT_DATA},
        {"TimeGenerated", MDM_FIELD_TIME_GENERATED},
        {"TimeCreated", MDM_FIELD_TIME_GENERATED},
        {"EventRecordId", MDM_FIELD_RECORD_ID},
        {"Keywords", MDM_FIELD_KEYWORDS},
    };
    for (const auto &c : cases) {
        mdm_field_ref ref;
        mdm_err err;
        mdm_err_clear(&err);
        ASSERT_EQ(mdm_field_parse(c.name, &ref, &err), 0) << c.name << ": " << err.msg;
        EXPECT_EQ(ref.id, c.id) << c.name;
    }
}

TEST_F(FieldTest, ReadsEveryField)
{
    EXPECT_EQ(get_text("PublisherName"), "Device Manager");
    EXPECT_EQ(get_text("EventSourceName"), "Device Manager");
    EXPECT_EQ(get_text("PublisherId"), "{11111111-2222-3333-4444-555555555555}");
    EXPECT_EQ(get_text("Channel"), "Mobile Device Manager");
    EXPECT_EQ(get_text("LogName"), "Mobile Device Manager");
    EXPECT_EQ(get_text("LoggingComputer"), "DM01.contoso.com");
    EXPECT_EQ(get_text("EventDescription"), "Enrollment failed");
    EXPECT_EQ(get_text("UserName"), "S-1-5-20");
    EXPECT_EQ(get_text("EventCategory"), "7");
    EXPECT_EQ(get_text("EventRecordId"), "42");
    EXPECT_EQ(get_text("Keywords"), "36028797018963968");
    EXPECT_EQ(get_text("Params/Param[1]"), "enroll.contoso.com");
    EXPECT_EQ(get_text("Params/Param[2]"), "8445");
    EXPECT_EQ(get_text("Params/Param[3]"), "unnamed");
    EXPECT_EQ(get_text("Params/Param[5]"), "");
    // The first Data element of that name wins.
    EXPECT_EQ(get_text("EventData/Data[@Name='Server']"), "enroll.contoso.com");
    EXPECT_EQ(get_text("EventData/Data[@Name=\"Port\"]"), "8445");
    EXPECT_EQ(get_text("EventData/Port"), "8445");
    EXPECT_EQ(get_text("EventData/Empty"), "");

    mdm_value v = get("EventRecordId");
    EXPECT_EQ(v.kind, MDM_VALUE_UINT);
    EXPECT_EQ(v.u, 42u);
    v = get("PublisherName");
    EXPECT_EQ(v.kind, MDM_VALUE_STRING);
    EXPECT_STREQ(v.str, "Device Manager");
}

TEST_F(FieldTest, DisplayNumberIgnoresQualifiers)
{
    mdm_value v = get("EventDisplayNumber");
    EXPECT_EQ(v.kind, MDM_VALUE_UINT);
    EXPECT_EQ(v.u, 1003u);
    v = get("EventNumber");
    EXPECT_EQ(v.u, 0xC00003EBu);
    EXPECT_EQ(get_text("EventNumber"), "3221226475");

    ev.has_qualifiers = false;
    ev.qualifiers = 0;
    EXPECT_EQ(get("EventNumber").u, 1003u);
    EXPECT_EQ(get("EventDisplayNumber").u, 1003u);
}

TEST_F(FieldTest, EventLevelIsTheScomLevel)
{
    struct {
        uint8_t level;
        uint64_t keywords;
        uint64_t expected;
    } cases[] = {
        {1, 0, 1},
        {2, 0, 1},
        {3, 0, 2},
        {4, 0, 4},
        {0, 0, 4},
        {5, 0, 4},
        {0, 0x0020000000000000ull, 8},
        {0, 0x0010000000000000ull, 16},
    };
    for (const auto &c : cases) {
        ev.level = c.level;
        ev.keywords = c.keywords;
        mdm_value v = get("EventLevel");
        EXPECT_EQ(v.kind, MDM_VALUE_UINT);
        EXPECT_EQ(v.u, c.expected) << "Level " << int(c.level);
    }
}

TEST_F(FieldTest, TimeIsATimeValue)
{
    mdm_value v = get("TimeCreated");
    EXPECT_EQ(v.kind, MDM_VALUE_TIME);
    EXPECT_EQ((int64_t)v.u, 1795584990123ll);
    EXPECT_EQ(get_text("TimeGenerated"), "2026-11-25T05:36:30.123Z");

    // Without time_unix_ms the text is parsed.
    ev.time_unix_ms = 0;
    ev.time_created = "2026-11-25T06:36:30.5+01:00";
    EXPECT_EQ(get_text("TimeCreated"), "2026-11-25T05:36:30.500Z");

    // A time before 1970 survives the unsigned storage.
    ev.time_unix_ms = -1500;
    EXPECT_EQ(get_text("TimeCreated"), "1969-12-31T23:59:58.500Z");

    ev.time_unix_ms = 0;
    ev.time_created = "not a time";
    EXPECT_EQ(get_rc("TimeCreated"), MDM_ENOTFOUND);
    ev.time_created = nullptr;
    EXPECT_EQ(get_rc("TimeCreated"), MDM_ENOTFOUND);
}

TEST_F(FieldTest, MissingFieldsAreNotFound)
{
    EXPECT_EQ(get_rc("Params/Param[5]"), 0);
    EXPECT_EQ(get_rc("Params/Param[6]"), MDM_ENOTFOUND);
    EXPECT_EQ(get_rc("Params/Param[4294967295]"), MDM_ENOTFOUND);
    EXPECT_EQ(get_rc("EventData/Data[@Name='Nope']"), MDM_ENOTFOUND);
    EXPECT_EQ(get_rc("EventData/server"), MDM_ENOTFOUND); // names are case-sensitive

    ev.provider = nullptr;
    ev.provider_guid = nullptr;
    ev.channel = nullptr;
    ev.computer = nullptr;
    ev.description = nullptr;
    ev.user_sid = nullptr;
    for (const char *name : {"PublisherName", "EventSourceName", "PublisherId", "Channel",
                             "LogName", "LoggingComputer", "EventDescription", "UserName"})
        EXPECT_EQ(get_rc(name), MDM_ENOTFOUND) << name;

    ev.data = nullptr; // a count without an array is treated as no data
    EXPECT_EQ(get_rc("Params/Param[1]"), MDM_ENOTFOUND);
    EXPECT_EQ(get_rc("EventData/Server"), MDM_ENOTFOUND);
    ev.data_count = 0;
    EXPECT_EQ(get_rc("Params/Param[1]"), MDM_ENOTFOUND);
    EXPECT_EQ(get_rc("EventData/Server"), MDM_ENOTFOUND);
    // Numbers are always present.
    EXPECT_EQ(get_rc("EventDisplayNumber"), 0);
    EXPECT_EQ(get_rc("EventRecordId"), 0);
}

TEST_F(FieldTest, GetLeavesOutputAloneOnError)
{
    mdm_field_ref ref;
    mdm_err err;
    ASSERT_EQ(mdm_field_parse("Params/Param[9]", &ref, &err), 0);
    mdm_value v;
    v.kind = MDM_VALUE_UINT;
    v.str = nullptr;
    v.u = 777;
    EXPECT_EQ(mdm_event_get(&ev, &ref, &v), MDM_ENOTFOUND);
    EXPECT_EQ(v.kind, MDM_VALUE_UINT);
    EXPECT_EQ(v.u, 777u);
}

TEST_F(FieldTest, RejectsUnknownNames)
{
    const char *bad[] = {
        "",
        "Foo",
        "publishername",
        " PublisherName",
        "PublisherName ",
        "Params/Param[0]",
        "Params/Param[]",
        "Params/Param[x]",
        "Params/Param[1",
        "Params/Param[1]x",
        "Params/Param[-1]",
        "Params/Param[4294967296]",
        "Params/Param[99999999999999999999999]",
        "Params/Param",
        "EventData/Data[@Name='X\"]",
        "EventData/Data[@Name='X'",
        "EventData/Data[@Name=X]",
        "EventData/Data[@Name='']",
        "EventData/Data[@Name='X']/y",
        "EventData/",
        "EventData/a/b",
        "EventData/a[1]",
        "EventData/@Name",
        "Data/Server",
        "Event/System/EventID",
    };
    for (const char *name : bad) {
        mdm_field_ref ref;
        mdm_err err;
        mdm_err_clear(&err);
        EXPECT_EQ(mdm_field_parse(name, &ref, &err), MDM_EUNSUPPORTED) << name;
        EXPECT_EQ(err.code, MDM_EUNSUPPORTED);
        EXPECT_EQ(std::string(err.msg), std::string("unsupported XPathQuery \"") + name + "\"");
    }
}

TEST_F(FieldTest, ParamIndexAndDataName)
{
    mdm_field_ref ref;
    mdm_err err;
    ASSERT_EQ(mdm_field_parse("Params/Param[12]", &ref, &err), 0);
    EXPECT_EQ(ref.param, 12u);
    ASSERT_EQ(mdm_field_parse("Params/Param[4294967295]", &ref, &err), 0);
    EXPECT_EQ(ref.param, 4294967295u);
    ASSERT_EQ(mdm_field_parse("EventData/Data[@Name='a b\"c']", &ref, &err), 0);
    EXPECT_STREQ(ref.name, "a b\"c");
    ASSERT_EQ(mdm_field_parse("EventData/Data[@Name=\"it's\"]", &ref, &err), 0);
    EXPECT_STREQ(ref.name, "it's");

    std::string longest(MDM_FIELD_NAME_MAX - 1, 'n');
    ASSERT_EQ(mdm_field_parse(("EventData/" + longest).c_str(), &ref, &err), 0);
    EXPECT_EQ(std::string(ref.name), longest);
    std::string too_long(MDM_FIELD_NAME_MAX, 'n');
    EXPECT_EQ(mdm_field_parse(("EventData/" + too_long).c_str(), &ref, &err), MDM_ETOOBIG);
    EXPECT_EQ(mdm_field_parse(("EventData/Data[@Name='" + too_long + "']").c_str(), &ref, &err),
              MDM_ETOOBIG);
    EXPECT_EQ(mdm_field_parse(nullptr, &ref, &err), MDM_EINVAL);
}

TEST(FieldFormat, FormatsEveryKind)
{
    char buf[64];
    mdm_value v;
    v.kind = MDM_VALUE_STRING;
    v.str = "hello";
    v.u = 0;
    EXPECT_STREQ(mdm_value_format(&v, buf, sizeof(buf)), "hello");
    v.str = nullptr;
    EXPECT_STREQ(mdm_value_format(&v, buf, sizeof(buf)), "");
    v.kind = MDM_VALUE_UINT;
    v.u = 18446744073709551615ull;
    EXPECT_STREQ(mdm_value_format(&v, buf, sizeof(buf)), "18446744073709551615");
    v.u = 0;
    EXPECT_STREQ(mdm_value_format(&v, buf, sizeof(buf)), "0");
    v.kind = MDM_VALUE_TIME;
    v.u = 0;
    EXPECT_STREQ(mdm_value_format(&v, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
    v.u = 1795584990123ull;
    EXPECT_STREQ(mdm_value_format(&v, buf, sizeof(buf)), "2026-11-25T05:36:30.123Z");
}

TEST(FieldFormat, TruncatesToTheBuffer)
{
    char buf[8];
    mdm_value v;
    v.kind = MDM_VALUE_STRING;
    v.str = "a long string";
    v.u = 0;
    EXPECT_STREQ(mdm_value_format(&v, buf, sizeof(buf)), "a long ");
    v.kind = MDM_VALUE_TIME;
    v.u = 1795584990123ull;
    EXPECT_STREQ(mdm_value_format(&v, buf, sizeof(buf)), "2026-11");
    v.kind = MDM_VALUE_UINT;
    v.u = 123456789;
    EXPECT_STREQ(mdm_value_format(&v, buf, 4), "123");
    EXPECT_STREQ(mdm_value_format(&v, buf, 1), "");
    buf[0] = 'x';
    EXPECT_EQ(mdm_value_format(&v, buf, 0), buf); // nothing written
    EXPECT_EQ(buf[0], 'x');
}

} // namespace

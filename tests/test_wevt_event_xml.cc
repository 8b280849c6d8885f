// Event XML parser (wevt/event_xml.c): every field of the event model, the
// description fallback, and hostile input (DTDs, entities, oversize fields,
// invalid UTF-8) that must give a clear error and never a crash. Every test
// runs with both readers: the tree reader of mdm_event_parse_xml() and the
// streaming reader of a struct mdm_event_parser (what the XML sources use),
// and EventXmlReaders checks that they give the same event or error.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "wevt/event.h"
#include "agent/common/mdm_alloc.h"

namespace
{

const char kFull[] =
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>\n"
    "  <System>\n"
    "    <Provider Name='Device Manager' Guid='{12345678-1234-1234-1234-123456789abc}'"
    " EventSourceName='Device Manager'/>\n"
    "    <EventID Qualifiers='49152'>1003</EventID>\n"
    "    <Version>0</Version><Level>2</Level><Task>3</Task><Opcode>1</Opcode>\n"
    "    <Keywords>0x80000000000000</Keywords>\n"
    "    <TimeCreated SystemTime='2026-11-25T05:36:30.1234567Z'/>\n"
    "    <EventRecordID>4242</EventRecordID>\n"
    "    <Channel>Mobile Device Manager</Channel>\n"
    "    <Computer>DM01.contoso.com</Computer>\n"
    "    <Security UserID='S-1-5-20'/>\n"
    "  </System>\n"
    "  <EventData><Data Name='Url'>https://enroll.contoso.com:8445/</Data>"
    "<Data>(401) Unauthorized</Data></EventData>\n"
    "  <RenderingInfo Culture='en-US'><Message>Cannot connect &amp; retry.</Message>"
    "</RenderingInfo>\n"
    "</Event>\n";

// The parameter: true for the streaming reader (struct mdm_event_parser).
class EventXml : public ::testing::TestWithParam<bool>
{
  protected:
    void SetUp() override
    {
        mdm_event_init(&ev);
        mdm_err_clear(&err);
        if (GetParam()) {
            ASSERT_EQ(0, mdm_event_parser_new(&parser));
        }
    }
    void TearDown() override
    {
        mdm_event_free(&ev);
        mdm_event_parser_free(parser);
    }
    int parse(const std::string &xml)
    {
        mdm_event_reset(&ev);
        if (parser != nullptr)
            return mdm_event_parser_parse(parser, &ev, xml.data(), xml.size(), &err);
        return mdm_event_parse_xml(&ev, xml.data(), xml.size(), &err);
    }
    struct mdm_event ev;
    struct mdm_err err;
    struct mdm_event_parser *parser = nullptr;
};

INSTANTIATE_TEST_SUITE_P(Readers, EventXml, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool> &info) {
                             return info.param ? "Streaming" : "Tree";
                         });

TEST_P(EventXml, ReadsEverySystemField)
{
    ASSERT_EQ(0, parse(kFull)) << err.msg;
    EXPECT_STREQ("Device Manager", ev.provider);
    EXPECT_STREQ("{12345678-1234-1234-1234-123456789abc}", ev.provider_guid);
    EXPECT_EQ(1003u, ev.event_id);
    EXPECT_TRUE(ev.has_qualifiers);
    EXPECT_EQ(49152u, ev.qualifiers);
    EXPECT_EQ(1003u, mdm_event_display_number(&ev));
    EXPECT_EQ((49152u << 16) | 1003u, mdm_event_number(&ev));
    EXPECT_EQ(2, ev.level);
    EXPECT_EQ(1, mdm_event_scom_level(&ev)); // Error
    EXPECT_EQ(3, ev.task);
    EXPECT_EQ(1, ev.opcode);
    EXPECT_EQ(0x80000000000000ull, ev.keywords);
    EXPECT_STREQ("2026-11-25T05:36:30.1234567Z", ev.time_created);
    EXPECT_EQ(1795584990123ll, ev.time_unix_ms);
    EXPECT_EQ(4242u, ev.record_id);
    EXPECT_STREQ("Mobile Device Manager", ev.channel);
    EXPECT_STREQ("DM01.contoso.com", ev.computer);
    EXPECT_STREQ("S-1-5-20", ev.user_sid);
    ASSERT_EQ(2u, ev.data_count);
    EXPECT_STREQ("Url", ev.data[0].name);
    EXPECT_STREQ("https://enroll.contoso.com:8445/", ev.data[0].value);
    EXPECT_EQ(nullptr, ev.data[1].name);
    EXPECT_STREQ("(401) Unauthorized", ev.data[1].value);
    EXPECT_STREQ("Cannot connect & retry.", ev.message);
    EXPECT_STREQ("Cannot connect & retry.", ev.description);
}

TEST_P(EventXml, DescriptionFallsBackToInsertionStrings)
{
    std::string xml = kFull;
    xml.erase(xml.find("  <RenderingInfo"),
              xml.find("</RenderingInfo>\n") + 17 - xml.find("  <RenderingInfo"));
    ASSERT_EQ(0, parse(xml)) << err.msg;
    EXPECT_EQ(nullptr, ev.message);
    EXPECT_STREQ("https://enroll.contoso.com:8445/; (401) Unauthorized", ev.description);
}

TEST_P(EventXml, UserDataLeavesBecomeDataValues)
{
    ASSERT_EQ(0, parse("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
                       "<System><Provider Name='P'/><EventID>7</EventID></System>"
                       "<UserData><Custom xmlns='urn:x'><Server>es1</Server><Port>8445</Port>"
                       "</Custom></UserData></Event>"))
        << err.msg;
    ASSERT_NE(nullptr, ev.user_data);
    EXPECT_NE(std::string::npos, std::string(ev.user_data).find("<Server>es1</Server>"));
    ASSERT_EQ(2u, ev.data_count);
    EXPECT_STREQ("Server", ev.data[0].name);
    EXPECT_STREQ("es1", ev.data[0].value);
    EXPECT_STREQ("8445", ev.data[1].value);
    EXPECT_STREQ("es1; 8445", ev.description);
}

TEST_P(EventXml, MinimalEventHasEmptyOptionalFields)
{
    ASSERT_EQ(0, parse("<Event><System><Provider Name='P'/><EventID>5</EventID></System></Event>"))
        << err.msg;
    EXPECT_FALSE(ev.has_qualifiers);
    EXPECT_EQ(nullptr, ev.provider_guid);
    EXPECT_EQ(nullptr, ev.user_sid);
    EXPECT_EQ(0u, ev.data_count);
    EXPECT_STREQ("", ev.description);
}

TEST_P(EventXml, DtdAndEntitiesAreRefused)
{
    // "Billion laughs": must be refused, not expanded.
    std::string laughs = "<?xml version='1.0'?><!DOCTYPE Event [<!ENTITY a 'lol'>"
                         "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
                         "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>]>"
                         "<Event><System><Provider Name='&c;'/><EventID>1</EventID></System>"
                         "</Event>";
    EXPECT_EQ(MDM_EPARSE, parse(laughs));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("DTD")) << err.msg;

    // An external entity must never be fetched or read.
    std::string xxe = "<!DOCTYPE Event [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
                      "<Event><System><Provider Name='P'/><EventID>1</EventID></System>"
                      "<EventData><Data>&x;</Data></EventData></Event>";
    EXPECT_EQ(MDM_EPARSE, parse(xxe));
    EXPECT_EQ(nullptr, ev.provider); // outputs only on success

    // An undeclared entity is malformed XML, reported with its position.
    EXPECT_EQ(MDM_EPARSE, parse("<Event><System><Provider Name='&nope;'/></System></Event>"));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("event line 1")) << err.msg;
}

TEST_P(EventXml, MalformedInputNamesTheCause)
{
    EXPECT_EQ(MDM_EPARSE, parse("<Event><System><Provider Name='P'/>"));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("malformed XML")) << err.msg;

    EXPECT_EQ(MDM_EPARSE, parse("<Other/>"));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("<Other>")) << err.msg;

    EXPECT_EQ(MDM_EPARSE, parse("<Event><EventData/></Event>"));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("no <System>")) << err.msg;

    EXPECT_EQ(MDM_EPARSE,
              parse("<Event><System><Provider Name='P'/><EventID>99999999999</EventID></System>"
                    "</Event>"));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("EventID")) << err.msg;

    EXPECT_EQ(MDM_EPARSE, parse("<Event><System><Provider Name='P'/><EventID>1</EventID>"
                                "<TimeCreated SystemTime='yesterday'/></System></Event>"));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("ISO 8601")) << err.msg;

    // Invalid UTF-8 is malformed XML for libxml2: an error, not garbage in the output.
    EXPECT_EQ(MDM_EPARSE, parse("<Event><System><Provider Name='\xff\xfe'/><EventID>1</EventID>"
                                "</System></Event>"));
}

// Times that do not exist are refused wherever times are parsed (TimeCreated, DateTime
// comparisons of expressions), not normalised into another day.
TEST(Iso8601, ImpossibleTimesAreRefused)
{
    int64_t ms = 0;
    for (const char *t :
         {"2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
          "2026-11-25T05:36:60Z", "2026-11-25T05:60:00Z", "2026-11-25T24:00:00Z",
          "2026-11-25T05:36:30+99:99", "2026-11-25T05:36:30+14:01", "2026-11-25T05:36:30-15:00",
          "2026-11-25T05:36:30+01:60", "0000-01-01T00:00:00Z", "2026-13-01T00:00:00Z",
          "2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z"}) {
        ms = 42;
        EXPECT_EQ(MDM_EPARSE, mdm_parse_iso8601(t, &ms)) << t;
        EXPECT_EQ(42, ms) << t; // untouched on error
    }
    const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"2024-02-29T00:00:00Z", 1709164800000ll}, // leap year
        {"2000-02-29T12:00:00Z", 951825600000ll},  // divisible by 400
        {"2026-11-25T05:36:59.999Z", 1795585019999ll},
        {"2026-11-25T19:36:30+14:00", 1795584990000ll},
        {"2026-11-24T15:36:30-14:00", 1795584990000ll},
        {"0001-01-01T00:00:00Z", -62135596800000ll},
    };
    for (const auto &g : good) {
        EXPECT_EQ(0, mdm_parse_iso8601(g.text, &ms)) << g.text;
        EXPECT_EQ(g.ms, ms) << g.text;
    }
}

// An event whose TimeCreated is such a time is damaged, as any other unreadable time.
TEST_P(EventXml, ImpossibleTimeCreatedMakesTheEventDamaged)
{
    for (const char *t : {"2026-02-30T05:36:30.1234567Z", "2026-11-25T05:36:60Z",
                          "2026-11-25T05:36:30+99:99", "0000-11-25T05:36:30Z"}) {
        std::string xml = kFull;
        xml.replace(xml.find("2026-11-25T05:36:30.1234567Z"), 28, t);
        EXPECT_EQ(MDM_EPARSE, parse(xml)) << t;
        EXPECT_NE(std::string::npos, std::string(err.msg).find("not an ISO 8601 time")) << err.msg;
    }
}

// Characters XML 1.0 forbids but Windows writes into event strings (the
// PrivilegeList of a Security 4661 holds U+0002): raw or as character
// references, in values they become U+FFFD and the event is parsed (issue 11,
// item 5: such records were dropped as malformed).
const std::string kHead = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
                          "<System><Provider Name='Microsoft-Windows-Security-Auditing'/>"
                          "<EventID>4661</EventID><EventRecordID>7</EventRecordID></System>";
const char kFffd[] = "\xEF\xBF\xBD";

TEST_P(EventXml, ForbiddenControlCharactersInValuesBecomeReplacementCharacters)
{
    // Raw, as libevtx and EvtRender write them.
    ASSERT_EQ(0, parse(kHead + "<EventData><Data Name='PrivilegeList'>\x02</Data>"
                               "<Data Name='Properties'>a\x0f"
                               "b\x01\x1f"
                               "c\td</Data></EventData></Event>"))
        << err.msg;
    EXPECT_EQ(4661u, ev.event_id);
    EXPECT_EQ(7u, ev.record_id);
    ASSERT_EQ(2u, ev.data_count);
    EXPECT_EQ(std::string(kFffd), ev.data[0].value);
    EXPECT_EQ(std::string("a") + kFffd + "b" + kFffd + kFffd + "c\td", ev.data[1].value);

    // As character references, as .NET's ToXml writes them, in text and attributes.
    ASSERT_EQ(0, parse(kHead + "<EventData><Data Name='x&#x2;y'>&#2;&#x0B;&#xfffe;&#xFFFF;"
                               "&#xD800;&#x110000;&#0;ok&#x41;&#9;</Data></EventData></Event>"))
        << err.msg;
    ASSERT_EQ(1u, ev.data_count);
    EXPECT_EQ(std::string("x") + kFffd + "y", ev.data[0].name);
    std::string seven;
    for (int i = 0; i < 7; i++)
        seven += kFffd;
    EXPECT_EQ(seven + "okA\t", ev.data[0].value);

    // Raw U+FFFE / U+FFFF (UTF-8 EF BF BE / EF BF BF) in a value.
    ASSERT_EQ(0, parse(kHead + "<EventData><Data>a\xEF\xBF\xBF"
                               "b\xEF\xBF\xBE</Data></EventData>"
                               "</Event>"))
        << err.msg;
    EXPECT_EQ(std::string("a") + kFffd + "b" + kFffd, ev.data[0].value);

    // The message and the description carry the replacement too.
    ASSERT_EQ(0, parse(kHead + "<RenderingInfo><Message>Privileges:\x02.</Message>"
                               "</RenderingInfo></Event>"))
        << err.msg;
    EXPECT_EQ(std::string("Privileges:") + kFffd + ".", ev.description);
}

TEST_P(EventXml, CommentsAndCdataKeepReferenceTextButLoseRawControls)
{
    // "&#x2;" in CDATA is text, not a reference: it stays as written.
    ASSERT_EQ(0, parse(kHead + "<EventData><Data><![CDATA[&#x2;\x02]]></Data>"
                               "<!-- &#x2; \x03 --><Data>z</Data></EventData></Event>"))
        << err.msg;
    ASSERT_EQ(2u, ev.data_count);
    EXPECT_EQ(std::string("&#x2;") + kFffd, ev.data[0].value);
    EXPECT_STREQ("z", ev.data[1].value);
}

TEST_P(EventXml, ForbiddenCharactersInMarkupAreDamageNotRepaired)
{
    // In a name a forbidden character is a damaged record (a recovered
    // fragment whose template was overwritten), not a string: refused.
    EXPECT_EQ(MDM_EPARSE, parse(kHead + "<EventData><D\xEF\xBF\xBF"
                                        "a>1</D\xEF\xBF\xBF"
                                        "a>"
                                        "</EventData></Event>"));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("malformed XML")) << err.msg;
    EXPECT_EQ(MDM_EPARSE, parse(kHead + "<EventData><Data\x02 Name='a'>1</Data></EventData>"
                                        "</Event>"));

    // Element names the event schema does not have (libevtx renders a lost
    // template as <ta> or CJK names): the record is damaged, not evaluated.
    EXPECT_EQ(MDM_EPARSE, parse(kHead + "<ta><Data>1</Data></ta></Event>"));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("<ta> is no element of an event"))
        << err.msg;
    EXPECT_EQ(MDM_EPARSE, parse(kHead + "<\xE8\x89\x84><Data>1</Data></\xE8\x89\x84></Event>"));
    // Elements of other namespaces are extensions the schema allows.
    EXPECT_EQ(0, parse(kHead + "<x:Extra xmlns:x='urn:other'/></Event>")) << err.msg;

    // A character reference outside any Unicode value is left to the parser.
    EXPECT_EQ(MDM_EPARSE, parse(kHead + "<EventData><Data>&#x1000000000;</Data></EventData>"
                                        "</Event>"));
    // A document in another declared encoding is not rewritten (its bytes
    // are not UTF-8): the control character stays an error.
    EXPECT_EQ(MDM_EPARSE, parse("<?xml version='1.0' encoding='ISO-8859-1'?>" + kHead +
                                "<EventData><Data>\x02\xE9</Data></EventData></Event>"));
    ASSERT_EQ(0, parse("<?xml version='1.0' encoding='utf-8'?>" + kHead +
                       "<EventData><Data>\x02</Data></EventData></Event>"))
        << err.msg;
    EXPECT_EQ(std::string(kFffd), ev.data[0].value);
}

TEST_P(EventXml, SizesAreCapped)
{
    std::string big(MDM_EVENT_XML_MAX + 1, ' ');
    EXPECT_EQ(MDM_ETOOBIG, parse(big));

    // A field longer than MDM_EVENT_FIELD_MAX is cut, not refused.
    std::string long_value(MDM_EVENT_FIELD_MAX + 5000, 'x');
    ASSERT_EQ(0, parse("<Event><System><Provider Name='P'/><EventID>1</EventID></System>"
                       "<EventData><Data>" +
                       long_value + "</Data></EventData></Event>"))
        << err.msg;
    ASSERT_EQ(1u, ev.data_count);
    EXPECT_EQ(MDM_EVENT_FIELD_MAX, std::string(ev.data[0].value).size());

    // More values than MDM_EVENT_DATA_MAX: the first ones are kept and the loss is flagged.
    std::string many;
    for (unsigned i = 0; i < MDM_EVENT_DATA_MAX + 10; i++)
        many += "<Data>v" + std::to_string(i) + "</Data>";
    ASSERT_EQ(0, parse("<Event><System><Provider Name='P'/><EventID>1</EventID></System>"
                       "<EventData>" +
                       many + "</EventData></Event>"))
        << err.msg;
    EXPECT_EQ(MDM_EVENT_DATA_MAX, ev.data_count);
    EXPECT_TRUE(ev.data_truncated);
    EXPECT_LE(std::string(ev.description).size(), MDM_EVENT_DESCRIPTION_MAX);
}

TEST_P(EventXml, AllocationFailuresAreReportedNotCrashed)
{
    // c-ares style: fail the Nth allocation for every N until the parse
    // succeeds; also for an event whose control character is replaced (the
    // copy made for the replacement is one more allocation).
    std::string with_control = kFull;
    with_control.replace(with_control.find("Unauthorized"), 1, "\x02");
    for (const std::string &input : {std::string(kFull), with_control}) {
        int n = 0;
        for (;; n++) {
            struct mdm_event fresh;
            mdm_event_init(&fresh);
            struct mdm_event_parser *p = nullptr;
            mdm_alloc_fail_after(n);
            int rc = GetParam() ? mdm_event_parser_new(&p) : 0;
            if (rc == 0 && GetParam())
                rc = mdm_event_parser_parse(p, &fresh, input.data(), input.size(), &err);
            else if (rc == 0)
                rc = mdm_event_parse_xml(&fresh, input.data(), input.size(), &err);
            mdm_alloc_fail_after(-1);
            mdm_event_parser_free(p);
            mdm_event_free(&fresh);
            if (rc == 0)
                break;
            ASSERT_EQ(MDM_ENOMEM, rc) << "allocation " << n << ": " << err.msg;
            ASSERT_LT(n, 1000);
        }
        EXPECT_GT(n, 0);
    }
}

// Everything a reader yields for one input: every field, or the error.
std::string outcome(int rc, const struct mdm_event &e, const struct mdm_err &error)
{
    std::ostringstream o;
    auto str = [&o](const char *key, const char *v) {
        o << ' ' << key << '=' << (v ? "[" + std::string(v) + "]" : std::string("NULL"));
    };
    o << "rc=" << rc;
    if (rc != 0) {
        o << ' ' << error.msg;
        return o.str();
    }
    str("provider", e.provider);
    str("guid", e.provider_guid);
    o << " id=" << e.event_id << " q=" << e.qualifiers << " hq=" << e.has_qualifiers
      << " level=" << int(e.level) << " task=" << e.task << " opcode=" << int(e.opcode)
      << " keywords=" << e.keywords << " record=" << e.record_id << " ms=" << e.time_unix_ms;
    str("time", e.time_created);
    str("channel", e.channel);
    str("computer", e.computer);
    str("sid", e.user_sid);
    o << " n=" << e.data_count << " truncated=" << e.data_truncated;
    for (size_t i = 0; i < e.data_count; i++) {
        str("name", e.data[i].name);
        str("value", e.data[i].value);
    }
    str("user_data", e.user_data);
    str("message", e.message);
    str("description", e.description);
    return o.str();
}

// The <Event> elements of an Event XML file, one string each.
std::vector<std::string> events_of(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream all;
    std::vector<std::string> events;
    all << in.rdbuf();
    const std::string text = all.str();
    for (size_t at = text.find("<Event "); at != std::string::npos;
         at = text.find("<Event ", at + 1)) {
        size_t end = text.find("</Event>", at);
        if (end == std::string::npos)
            break;
        events.push_back(text.substr(at, end + 8 - at));
    }
    return events;
}

// The streaming reader must give exactly what the tree reader gives: the same
// fields, the same error message, for odd but valid input and for damage.
// One parser reads every input in turn, so that nothing carries over from one
// event to the next.
TEST(EventXmlReaders, StreamingReaderGivesWhatTheTreeReaderGives)
{
    const std::string ns = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>";
    const std::string sys = "<System><Provider Name='P'/><EventID>7</EventID></System>";
    std::vector<std::string> inputs = {
        kFull,
        ns + sys + "</Event>",
        ns + "<System><Provider EventSourceName='' Name='N' Guid='{g}'/><EventID Qualifiers=''>"
             "1</EventID><Level> 4 </Level><Task>0x10</Task><Opcode>+1</Opcode>"
             "<Keywords>0x8000000000000000</Keywords><EventRecordID>18446744073709551615"
             "</EventRecordID><TimeCreated/><Channel/><Computer>a<!-- c -->b<?pi x?>c</Computer>"
             "<Security/></System></Event>",
        // First of each element only; nested text; other namespaces; prefixes.
        ns + "<System><Provider Name='P1'/><Provider Name='P2'/><EventID>1</EventID>"
             "<EventID>x</EventID><Level>2</Level><Level>zz</Level><Channel>a<b>c</b>d</Channel>"
             "</System><System><Provider Name='P3'/></System></Event>",
        "<e:Event xmlns:e='http://schemas.microsoft.com/win/2004/08/events/event'><e:System>"
        "<e:Provider Name='P'/><e:EventID>3</e:EventID></e:System><o:Extra xmlns:o='urn:o'/>"
        "<e:EventData><e:Data Name='a'>1</e:Data><x:Data xmlns:x='urn:x' x:Name='b'>2</x:Data>"
        "</e:EventData></e:Event>",
        ns + sys +
            "<EventData><Data Name='a&amp;b&#38;c&lt;&#x41;'>x&amp;y&#38;z&lt;"
            "<![CDATA[<&>]]></Data><Data/><Data Name=''></Data><Other>o</Other>"
            "<Data>a<i>b</i>c</Data></EventData><EventData><Data>late</Data></EventData>"
            "</Event>",
        ns + sys +
            "<RenderingInfo><Level>x</Level></RenderingInfo><RenderingInfo><Message>m2"
            "</Message></RenderingInfo></Event>",
        ns + sys +
            "<RenderingInfo><Message>m1 &amp;</Message><Message>m2</Message>"
            "</RenderingInfo></Event>",
        ns + sys + "<UserData><X xmlns='urn:x'><A>1</A><B>2</B></X></UserData></Event>",
        ns + sys + "<o:UserData xmlns:o='urn:o'><A>1</A></o:UserData></Event>",
        "<Event xmlns:u='urn:u'>" + sys + "<u:Thing/></Event>",
        ns + sys + "<p:Thing/></Event>",
        "<p:Event>" + sys + "</p:Event>",
        ns + "<System><Provider p:Name='P' Name='Q'/><EventID>1</EventID></System></Event>",
        ns + sys + "<ta/></Event>",
        ns + sys +
            "<EventData xmlns='urn:other'><Data>in another namespace</Data></EventData>"
            "<Unknown xmlns='urn:other'/></Event>",
        "<Event>" + sys + "<Extra/></Event>",
        ns + "<System><EventID>1</EventID></System></Event>",
        ns + "<System><Provider Name='P'/></System></Event>",
        ns + "<EventData/></Event>",
        ns + "<System><Provider Name='P'/><EventID Qualifiers='70000'>1</EventID></System>"
             "</Event>",
        ns + "<System><Provider Name='P'/><EventID Qualifiers=' 7'>1</EventID></System></Event>",
        ns + "<System><Provider Name='P'/><EventID>1</EventID><TimeCreated SystemTime='2026-02-29"
             "T00:00:00Z'/></System></Event>",
        ns + "<System><Provider Name='P'/><EventID>-1</EventID></System></Event>",
        "<!DOCTYPE Event><Event>" + sys + "</Event>",
        "<!DOCTYPE Event [<!ENTITY e 'v'>]><Event>" + sys +
            "<EventData><Data>&e;</Data>"
            "</EventData></Event>",
        "<Event>" + sys + "<EventData><Data>&undeclared;</Data></EventData></Event>",
        "<Other/>",
        "",
        "<Event>",
        "<?xml version='1.0'?>\n<!-- before -->\n" + ns + sys + "</Event>\n<!-- after -->",
        "<Event>" + sys + "</Event><Event>" + sys + "</Event>",
        ns + sys + "<EventData><Data>\x02&#x2;\xEF\xBF\xBF</Data></EventData></Event>",
        ns + sys + "<EventData><Data xml:space='preserve'>  spaced  </Data></EventData></Event>",
    };
    std::string many_data = ns + sys + "<EventData>";
    for (int i = 0; i < 300; i++)
        many_data += "<Data Name='n" + std::to_string(i) + "'>v" + std::to_string(i) + "</Data>";
    inputs.push_back(many_data + "</EventData></Event>");
    inputs.push_back(ns + sys + "<EventData><Data>" + std::string(70 * 1024, 'x') +
                     "</Data></EventData></Event>");
    for (const std::string &e :
         events_of(std::string(MDM_TEST_DATA_DIR) + "/mdm-enrollment-sequence.xml"))
        inputs.push_back(e);

    struct mdm_event_parser *parser = nullptr;
    ASSERT_EQ(0, mdm_event_parser_new(&parser));
    // Ordinary events, short and long, are the streaming reader's (the
    // comparison below would also hold if every event went to the tree
    // reader). libxml2 reads the end of a long event differently.
    std::string long_event = ns + sys + "<EventData>";
    for (int i = 0; i < 100; i++)
        long_event +=
            "<Data Name='Url'>https://enroll.contoso.com:8445/" + std::to_string(i) + "</Data>";
    long_event += "</EventData></Event>";
    for (const std::string &ordinary : {std::string(kFull), long_event}) {
        struct mdm_event e;
        struct mdm_err error;
        uint64_t before = 0, streamed = 0, tree = 0;
        mdm_event_parser_counts(parser, &before, &tree);
        mdm_event_init(&e);
        ASSERT_EQ(0, mdm_event_parser_parse(parser, &e, ordinary.data(), ordinary.size(), &error));
        EXPECT_EQ(ordinary == long_event ? 100u : 2u, e.data_count);
        mdm_event_free(&e);
        mdm_event_parser_counts(parser, &streamed, &tree);
        EXPECT_EQ(before + 1, streamed) << ordinary.size() << " bytes";
        EXPECT_EQ(0u, tree);
    }
    for (int round = 0; round < 2; round++) {
        for (const std::string &input : inputs) {
            struct mdm_event tree, streamed;
            struct mdm_err tree_err, streamed_err;
            mdm_event_init(&tree);
            mdm_event_init(&streamed);
            mdm_err_clear(&tree_err);
            mdm_err_clear(&streamed_err);
            int tree_rc = mdm_event_parse_xml(&tree, input.data(), input.size(), &tree_err);
            int streamed_rc = mdm_event_parser_parse(parser, &streamed, input.data(), input.size(),
                                                     &streamed_err);
            EXPECT_EQ(outcome(tree_rc, tree, tree_err),
                      outcome(streamed_rc, streamed, streamed_err))
                << input.substr(0, 300);
            mdm_event_free(&tree);
            mdm_event_free(&streamed);
        }
    }
    mdm_event_parser_free(parser);
}

// Element names stay in the parser context's dictionary, and libxml2 refuses
// to parse once a dictionary holds 10 MB. A source reads one stream for
// months: events with ever new names (extensions in other namespaces are
// allowed) must keep parsing, so the reader makes its context anew in time.
TEST(EventXmlReaders, EverNewElementNamesDoNotExhaustTheNameDictionary)
{
    struct mdm_event_parser *parser = nullptr;
    ASSERT_EQ(0, mdm_event_parser_new(&parser));
    const std::string name_tail(2000, 'n');
    for (int i = 0; i < 6000; i++) {
        std::string xml = "<Event><System><Provider Name='P'/><EventID>" + std::to_string(i) +
                          "</EventID></System><x:E" + std::to_string(i) + name_tail +
                          " xmlns:x='urn:x'/></Event>";
        struct mdm_event ev;
        struct mdm_err err;
        mdm_event_init(&ev);
        int rc = mdm_event_parser_parse(parser, &ev, xml.data(), xml.size(), &err);
        ASSERT_EQ(0, rc) << "event " << i << ": " << err.msg;
        ASSERT_EQ(uint32_t(i), ev.event_id);
        mdm_event_free(&ev);
    }
    // All of them by the streaming reader: none left to the tree reader
    // because the dictionary was full.
    uint64_t streamed = 0, tree = 0;
    mdm_event_parser_counts(parser, &streamed, &tree);
    EXPECT_EQ(6000u, streamed);
    EXPECT_EQ(0u, tree);
    mdm_event_parser_free(parser);
}

} // namespace

// test_engine_expr.cc - SCOM expression filters (agent/engine/expr_*.c):
// every operator with every type, And/Or/Not, Exists, RegExExpression, the
// seed's own expressions, every compile error and allocation failures.
#include <gtest/gtest.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cstring>
#include <string>
#include <vector>

#include "wevt/event.h"
#include "agent/engine/expr.h"
#include "agent/common/mdm_alloc.h"

namespace
{

// Escapes text for an XML element or attribute.
std::string esc(const std::string &s)
{
    std::string out;
    for (char c : s) {
        switch (c) {
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '&':
            out += "&amp;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string type_attr(const std::string &type)
{
    return type.empty() ? "" : " Type=\"" + type + "\"";
}

std::string xpath_ve(const std::string &xpath, const std::string &type = "")
{
    return "<ValueExpression><XPathQuery" + type_attr(type) + ">" + esc(xpath) +
           "</XPathQuery></ValueExpression>";
}

std::string value_ve(const std::string &value, const std::string &type = "")
{
    return "<ValueExpression><Value" + type_attr(type) + ">" + esc(value) +
           "</Value></ValueExpression>";
}

std::string simple(const std::string &left_ve, const std::string &op, const std::string &right_ve)
{
    return "<SimpleExpression>" + left_ve + "<Operator>" + op + "</Operator>" + right_ve +
           "</SimpleExpression>";
}

std::string regex_expr(const std::string &left_ve, const std::string &op,
                       const std::string &pattern)
{
    return "<RegExExpression>" + left_ve + "<Operator>" + op + "</Operator><Pattern>" +
           esc(pattern) + "</Pattern></RegExExpression>";
}

std::string wrap(const std::string &inner)
{
    return "<Expression>" + inner + "</Expression>";
}

std::string and_of(const std::vector<std::string> &kids, const char *name = "And")
{
    std::string s = std::string("<") + name + ">";
    for (const auto &k : kids)
        s += wrap(k);
    return s + "</" + name + ">";
}

std::string not_of(const std::string &kid)
{
    return "<Not>" + wrap(kid) + "</Not>";
}

// The result of compiling one XML document. The document is freed right after
// compiling, which proves that the compiled expression keeps no pointer into it.
struct Compiled {
    int rc = 0;
    mdm_err err{};
    mdm_expr *expr = nullptr;

    Compiled() = default;
    Compiled(const Compiled &) = delete;
    Compiled &operator=(const Compiled &) = delete;
    ~Compiled()
    {
        mdm_expr_free(expr);
    }
    std::string msg() const
    {
        return err.msg;
    }
};

// Parses xml and compiles its root element into c.
void compile_into(Compiled &c, const std::string &xml, const char *file = "test.xml")
{
    xmlDocPtr doc = xmlReadMemory(xml.data(), (int)xml.size(), file, nullptr, XML_PARSE_NONET);
    ASSERT_NE(doc, nullptr) << "test XML does not parse: " << xml;
    mdm_err_clear(&c.err);
    c.expr = nullptr;
    c.rc = mdm_expr_compile(xmlDocGetRootElement(doc), file, &c.expr, &c.err);
    xmlFreeDoc(doc);
    if (c.rc != 0)
        EXPECT_EQ(c.expr, nullptr);
    else
        EXPECT_NE(c.expr, nullptr);
}

struct mdm_event_data expr_data[] = {
    {"Server", "enroll.contoso.com"}, // Param[1]
    {"Port", "8445"},                 // Param[2]
    {"Count", "-17"},                 // Param[3]
    {"Ratio", "2.5"},                 // Param[4]
    {"Flag", "True"},                 // Param[5]
    {"When", "2026-11-25T05:00:00Z"}, // Param[6]
    {"Big", "18446744073709551615"},  // Param[7]
    {"Name", "Gr\xC3\xB6\xC3\x9F"
             "e"},             // Param[8] "Größe"
    {nullptr, "not a number"}, // Param[9]
    {"Empty", ""},             // Param[10]
    {"Pct", "100%_x"},         // Param[11]
    {"Spaced", " 12 "},        // Param[12]
    {"Bad", "caf\xE9"},        // Param[13] invalid UTF-8
};

class ExprTest : public ::testing::Test
{
  public:
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
        ev.description = "Enrollment failed: error 0x80072EE7";
        ev.data = expr_data;
        ev.data_count = sizeof(expr_data) / sizeof(expr_data[0]);
    }
    void TearDown() override
    {
        mdm_alloc_fail_after(-1);
        mdm_event_free(&ev);
    }

    // Compiles xml (which must compile) and evaluates it against ev.
    bool eval(const std::string &xml)
    {
        Compiled c;
        compile_into(c, xml);
        EXPECT_EQ(c.rc, 0) << c.msg() << "\n" << xml;
        if (c.rc != 0)
            return false;
        return mdm_expr_eval(c.expr, &ev);
    }

    mdm_event ev;
};

// One comparison: field OP value under a type, and the expected result.
struct Case {
    const char *xpath;
    const char *op;
    const char *value;
    const char *type; // "" = no Type attribute
    bool expected;
};

// Runs each case in three forms: Type on the XPathQuery, Type on the Value,
// and as a RegExExpression whose Pattern is the value.
void run_cases(ExprTest *t, const std::vector<Case> &cases)
{
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.xpath) + " " + c.op + " \"" + c.value + "\" Type=" + c.type);
        EXPECT_EQ(t->eval(simple(xpath_ve(c.xpath, c.type), c.op, value_ve(c.value))), c.expected)
            << "type on XPathQuery";
        EXPECT_EQ(t->eval(simple(xpath_ve(c.xpath), c.op, value_ve(c.value, c.type))), c.expected)
            << "type on Value";
        EXPECT_EQ(t->eval(simple(xpath_ve(c.xpath, c.type), c.op, value_ve(c.value, c.type))),
                  c.expected)
            << "type on both";
        EXPECT_EQ(t->eval(regex_expr(xpath_ve(c.xpath, c.type), c.op, c.value)), c.expected)
            << "as RegExExpression";
    }
}

TEST_F(ExprTest, StringComparisons)
{
    run_cases(this, {
                        {"PublisherName", "Equal", "Device Manager", "", true},
                        {"PublisherName", "Equal", "Device Manager", "String", true},
                        {"PublisherName", "Equal", "device manager", "", false},
                        {"PublisherName", "Equal", "Device Manager ", "", false},
                        {"PublisherName", "NotEqual", "Device Manager", "", false},
                        {"PublisherName", "NotEqual", "device manager", "String", true},
                        {"PublisherName", "Greater", "Device Manage", "", true},
                        {"PublisherName", "Greater", "E", "", false},
                        {"PublisherName", "Greater", "Device Manager", "", false},
                        {"PublisherName", "Less", "E", "", true},
                        {"PublisherName", "Less", "Device Manager", "", false},
                        {"PublisherName", "Less", "device", "", true}, // 'D' < 'd' ordinal
                        {"PublisherName", "GreaterEqual", "Device Manager", "", true},
                        {"PublisherName", "GreaterEqual", "Device Managers", "", false},
                        {"PublisherName", "LessEqual", "Device Manager", "", true},
                        {"PublisherName", "LessEqual", "Device", "", false},
                        // Numbers compared as String use their text: "1003" < "999".
                        {"EventDisplayNumber", "Equal", "1003", "", true},
                        {"EventDisplayNumber", "Equal", "01003", "", false},
                        {"EventDisplayNumber", "Greater", "999", "", false},
                        {"EventDisplayNumber", "Less", "999", "String", true},
                        // Times compared as String use their ISO 8601 text.
                        {"TimeCreated", "Equal", "2026-11-25T05:36:30.123Z", "", true},
                        // Non-ASCII is compared by code point.
                        {"Params/Param[8]", "Equal",
                         "Gr\xC3\xB6\xC3\x9F"
                         "e",
                         "", true},
                        {"Params/Param[8]", "Greater", "Grz", "", true},
                        {"Params/Param[10]", "Equal", "", "", true},
                        {"Params/Param[10]", "Less", "a", "", true},
                    });
}

TEST_F(ExprTest, IntegerComparisons)
{
    run_cases(this, {
                        {"EventDisplayNumber", "Equal", "1003", "Integer", true},
                        {"EventDisplayNumber", "Equal", " +1003 ", "Integer", true},
                        {"EventDisplayNumber", "Equal", "01003", "Integer", true},
                        {"EventDisplayNumber", "Equal", "1004", "Integer", false},
                        {"EventDisplayNumber", "NotEqual", "1004", "Integer", true},
                        {"EventDisplayNumber", "NotEqual", "1003", "Integer", false},
                        {"EventDisplayNumber", "Greater", "999", "Integer", true},
                        {"EventDisplayNumber", "Greater", "-5", "Integer", true},
                        {"EventDisplayNumber", "Greater", "1003", "Integer", false},
                        {"EventDisplayNumber", "Less", "1004", "Integer", true},
                        {"EventDisplayNumber", "Less", "1003", "Integer", false},
                        {"EventDisplayNumber", "GreaterEqual", "1003", "Integer", true},
                        {"EventDisplayNumber", "GreaterEqual", "1004", "Integer", false},
                        {"EventDisplayNumber", "LessEqual", "1003", "Integer", true},
                        {"EventDisplayNumber", "LessEqual", "1002", "Integer", false},
                        {"EventRecordId", "Equal", "42", "Integer", true},
                        {"EventLevel", "Equal", "1", "Integer", true},
                        {"EventCategory", "Equal", "7", "Integer", true},
                        // Negative event values.
                        {"Params/Param[3]", "Equal", "-17", "Integer", true},
                        {"Params/Param[3]", "Less", "-16", "Integer", true},
                        {"Params/Param[3]", "Less", "-100", "Integer", false},
                        {"Params/Param[3]", "Greater", "-18", "Integer", true},
                        {"Params/Param[3]", "GreaterEqual", "-17", "Integer", true},
                        {"Params/Param[3]", "LessEqual", "-9223372036854775808", "Integer", false},
                        {"Params/Param[3]", "Greater", "-9223372036854775808", "Integer", true},
                        {"Params/Param[3]", "Less", "9223372036854775807", "Integer", true},
                        {"Params/Param[12]", "Equal", "12", "Integer", true},
                        // Event values that do not convert: every comparison is false.
                        {"Params/Param[9]", "Equal", "0", "Integer", false},
                        {"Params/Param[9]", "NotEqual", "0", "Integer", false},
                        {"Params/Param[4]", "NotEqual", "2", "Integer", false},
                        {"Params/Param[7]", "Greater", "0", "Integer", false}, // overflows
                        {"Params/Param[10]", "NotEqual", "1", "Integer", false},
                        {"TimeCreated", "NotEqual", "1", "Integer", false},
                        // EventNumber 0xC00003EB fits in int64.
                        {"EventNumber", "Equal", "3221226475", "Integer", true},
                    });
}

TEST_F(ExprTest, UnsignedComparisons)
{
    run_cases(this,
              {
                  {"Params/Param[7]", "Equal", "18446744073709551615", "UnsignedInteger", true},
                  {"Params/Param[7]", "Greater", "18446744073709551614", "UnsignedInteger", true},
                  {"Params/Param[7]", "Less", "18446744073709551615", "UnsignedInteger", false},
                  {"Params/Param[7]", "NotEqual", "0", "UnsignedInteger", true},
                  {"EventNumber", "Equal", "3221226475", "UnsignedInteger", true},
                  {"EventNumber", "GreaterEqual", "3221226475", "UnsignedInteger", true},
                  {"EventNumber", "LessEqual", "3221226474", "UnsignedInteger", false},
                  {"Keywords", "Equal", "36028797018963968", "UnsignedInteger", true},
                  {"EventDisplayNumber", "Less", "1004", "UnsignedInteger", true},
                  {"Params/Param[2]", "Equal", "8445", "UnsignedInteger", true},
                  // A negative event value does not convert.
                  {"Params/Param[3]", "Less", "5", "UnsignedInteger", false},
                  {"Params/Param[3]", "NotEqual", "5", "UnsignedInteger", false},
              });
}

TEST_F(ExprTest, DoubleComparisons)
{
    run_cases(this, {
                        {"Params/Param[4]", "Equal", "2.5", "Double", true},
                        {"Params/Param[4]", "Equal", "2.50", "Double", true},
                        {"Params/Param[4]", "Equal", "25e-1", "Double", true},
                        {"Params/Param[4]", "NotEqual", "2.5", "Double", false},
                        {"Params/Param[4]", "Greater", "2.4", "Double", true},
                        {"Params/Param[4]", "Greater", "-3", "Double", true},
                        {"Params/Param[4]", "Less", "2.6", "Double", true},
                        {"Params/Param[4]", "Less", ".5", "Double", false},
                        {"Params/Param[4]", "GreaterEqual", "2.5", "Double", true},
                        {"Params/Param[4]", "LessEqual", "2.49", "Double", false},
                        {"Params/Param[3]", "Less", "-16.5", "Double", true},
                        {"EventDisplayNumber", "Equal", "1003.0", "Double", true},
                        {"Params/Param[9]", "NotEqual", "1", "Double", false},
                        {"Params/Param[5]", "NotEqual", "1", "Double", false},
                    });
}

TEST_F(ExprTest, BooleanComparisons)
{
    run_cases(this, {
                        {"Params/Param[5]", "Equal", "true", "Boolean", true},
                        {"Params/Param[5]", "Equal", "TRUE", "Boolean", true},
                        {"Params/Param[5]", "Equal", "1", "Boolean", true},
                        {"Params/Param[5]", "Equal", "false", "Boolean", false},
                        {"Params/Param[5]", "NotEqual", "False", "Boolean", true},
                        {"Params/Param[5]", "NotEqual", "0", "Boolean", true},
                        {"Params/Param[5]", "Greater", "false", "Boolean", true},
                        {"Params/Param[5]", "Less", "true", "Boolean", false},
                        {"Params/Param[5]", "GreaterEqual", "true", "Boolean", true},
                        {"Params/Param[5]", "LessEqual", "false", "Boolean", false},
                        // A number 0 or 1 is a Boolean; others are not.
                        {"EventLevel", "Equal", "true", "Boolean", true},
                        {"EventDisplayNumber", "NotEqual", "true", "Boolean", false},
                        {"Params/Param[2]", "NotEqual", "true", "Boolean", false},
                        {"Params/Param[9]", "NotEqual", "true", "Boolean", false},
                    });
}

TEST_F(ExprTest, DateTimeComparisons)
{
    run_cases(this,
              {
                  {"TimeCreated", "Equal", "2026-11-25T05:36:30.123Z", "DateTime", true},
                  {"TimeGenerated", "Equal", "2026-11-25T06:36:30.123+01:00", "DateTime", true},
                  {"TimeCreated", "Equal", "2026-11-25T05:36:30Z", "DateTime", false},
                  {"TimeCreated", "NotEqual", "2026-11-25T05:36:30Z", "DateTime", true},
                  {"TimeCreated", "Greater", "2026-11-25T05:36:30Z", "DateTime", true},
                  {"TimeCreated", "Less", "2026-11-25T05:36:31Z", "DateTime", true},
                  {"TimeCreated", "Less", "2025-01-01T00:00:00Z", "DateTime", false},
                  {"TimeCreated", "GreaterEqual", "2026-11-25T05:36:30.123Z", "DateTime", true},
                  {"TimeCreated", "LessEqual", "2026-11-25", "DateTime", false},
                  {"Params/Param[6]", "Equal", "2026-11-25T05:00:00.000Z", "DateTime", true},
                  {"Params/Param[6]", "Less", "2026-11-25T05:36:30Z", "DateTime", true},
                  {"Params/Param[9]", "NotEqual", "2026-11-25T05:00:00Z", "DateTime", false},
                  {"EventRecordId", "NotEqual", "2026-11-25T05:00:00Z", "DateTime", false},
              });
}

TEST_F(ExprTest, SubstringOperators)
{
    run_cases(this, {
                        {"EventDescription", "ContainsSubstring", "error 0x8007", "", true},
                        {"EventDescription", "ContainsSubstring", "ERROR", "", false},
                        {"EventDescription", "ContainsSubstring", "", "", true},
                        {"EventDescription", "DoesNotContainSubstring", "ERROR", "", true},
                        {"EventDescription", "DoesNotContainSubstring", "failed", "", false},
                        {"EventDisplayNumber", "ContainsSubstring", "00", "", true},
                        {"EventDisplayNumber", "ContainsSubstring", "00", "Integer", true},
                        {"Params/Param[8]", "ContainsSubstring", "\xC3\xB6\xC3\x9F", "", true},
                        {"Params/Param[10]", "ContainsSubstring", "", "", true},
                        {"Params/Param[10]", "DoesNotContainSubstring", "x", "", true},
                    });
}

TEST_F(ExprTest, WildcardOperators)
{
    run_cases(this, {
                        {"PublisherName", "MatchesWildcard", "Dev*Man?ger", "", true},
                        {"PublisherName", "MatchesWildcard", "Device Manager", "", true},
                        {"PublisherName", "MatchesWildcard", "dev*", "", false},   // case-sensitive
                        {"PublisherName", "MatchesWildcard", "Device", "", false}, // whole string
                        {"PublisherName", "MatchesWildcard", "*Manager", "", true},
                        {"PublisherName", "MatchesWildcard", "*a*a*", "", true},
                        {"PublisherName", "MatchesWildcard", "*a*a*a*", "", false},
                        {"PublisherName", "MatchesWildcard", "*", "", true},
                        {"PublisherName", "MatchesWildcard", "**", "", true},
                        {"PublisherName", "MatchesWildcard", "", "", false},
                        {"PublisherName", "MatchesWildcard", "Device Manager?", "", false},
                        {"PublisherName", "MatchesWildcard", "D[e]vice*", "", false}, // literal [
                        {"EventDisplayNumber", "MatchesWildcard", "10##", "", true},
                        {"EventDisplayNumber", "MatchesWildcard", "10##", "Integer", true},
                        {"EventDisplayNumber", "MatchesWildcard", "10#", "", false},
                        {"EventDisplayNumber", "MatchesWildcard", "1?03", "", true},
                        {"EventDisplayNumber", "MatchesWildcard", "#", "", false},
                        {"Params/Param[3]", "MatchesWildcard", "-##", "", true},
                        {"Params/Param[3]", "MatchesWildcard", "###", "", false},
                        // ? is one character, even when it takes several bytes.
                        {"Params/Param[8]", "MatchesWildcard", "Gr??e", "", true},
                        {"Params/Param[8]", "MatchesWildcard", "Gr???e", "", false},
                        {"Params/Param[8]", "MatchesWildcard", "G*\xC3\x9F?", "", true},
                        {"Params/Param[10]", "MatchesWildcard", "", "", true},
                        {"Params/Param[10]", "MatchesWildcard", "*", "", true},
                        {"Params/Param[10]", "MatchesWildcard", "?", "", false},
                        {"Params/Param[11]", "MatchesWildcard", "100%_x", "", true},
                        // Invalid UTF-8 in the event: one byte is one character.
                        {"Params/Param[13]", "MatchesWildcard", "caf?", "", true},
                        {"PublisherName", "DoesNotMatchWildcard", "dev*", "", true},
                        {"PublisherName", "DoesNotMatchWildcard", "Dev*", "", false},
                        {"EventDisplayNumber", "DoesNotMatchWildcard", "2###", "", true},
                    });
}

TEST_F(ExprTest, LikeOperators)
{
    run_cases(this, {
                        {"PublisherName", "Like", "Device Manager", "", true},
                        {"PublisherName", "Like", "device%", "", true}, // case-insensitive
                        {"PublisherName", "Like", "DEVICE MANAGER", "", true},
                        {"PublisherName", "Like", "D_vice Manager", "", true},
                        {"PublisherName", "Like", "%manag_r", "", true},
                        {"PublisherName", "Like", "Device", "", false}, // whole string
                        {"PublisherName", "Like", "%", "", true},
                        {"PublisherName", "Like", "%%%", "", true},
                        {"PublisherName", "Like", "_", "", false},
                        {"PublisherName", "Like", "[cd]evice%", "", true},
                        {"PublisherName", "Like", "[CD]evice%", "", true},
                        {"PublisherName", "Like", "[a-e]evice%", "", true},
                        {"PublisherName", "Like", "[A-C]evice%", "", false},
                        {"PublisherName", "Like", "[^d]evice%", "", false},
                        {"PublisherName", "Like", "[^x-z]evice%", "", true},
                        {"PublisherName", "Like", "Device[ ]Manager", "", true},
                        {"PublisherName", "Like", "Device*", "", false}, // * is literal in Like
                        {"EventDisplayNumber", "Like", "100[0-9]", "", true},
                        {"EventDisplayNumber", "Like", "100[4-9]", "Integer", false},
                        {"Params/Param[3]", "Like", "[-]17", "", true},
                        {"Params/Param[3]", "Like", "[x-]17", "", true},
                        {"Params/Param[11]", "Like", "100[%][_]x", "", true},
                        {"Params/Param[11]", "Like", "100[%]_x", "", true},
                        {"Params/Param[11]", "Like", "100%x", "", true},
                        {"Params/Param[11]", "Like", "1000%", "", false},
                        {"Params/Param[11]", "Like", "100[%][%]x", "", false},
                        {"Params/Param[8]", "Like",
                         "gr_\xC3\x9F"
                         "e",
                         "", true},
                        {"Params/Param[8]", "Like", "GR%", "", true},
                        {"Params/Param[8]", "Like", "Gr[\xC3\xB6\xC3\xBC]%", "", true},
                        {"Params/Param[8]", "Like", "Gr[^\xC3\xB6]%", "", false},
                        {"Params/Param[10]", "Like", "", "", true},
                        {"Params/Param[10]", "Like", "%", "", true},
                        {"PublisherName", "NotLike", "device%", "", false},
                        {"PublisherName", "NotLike", "%server%", "", true},
                        {"PublisherName", "NotLike", "[^d]%", "", true},
                    });
}

TEST_F(ExprTest, LikeSetEdgeCases)
{
    ev.provider = "a]b";
    EXPECT_TRUE(eval(simple(xpath_ve("PublisherName"), "Like", value_ve("a[]]b"))));
    EXPECT_TRUE(eval(simple(xpath_ve("PublisherName"), "Like", value_ve("a[^]]%"))) == false);
    EXPECT_TRUE(eval(simple(xpath_ve("PublisherName"), "Like", value_ve("a]b"))));
    ev.provider = "a-b";
    EXPECT_TRUE(eval(simple(xpath_ve("PublisherName"), "Like", value_ve("a[z-]b"))));
    EXPECT_FALSE(eval(simple(xpath_ve("PublisherName"), "Like", value_ve("a[z-a]b"))));
}

TEST_F(ExprTest, RegexOperators)
{
    run_cases(this,
              {
                  {"PublisherName", "MatchesRegularExpression", "^Device", "", true},
                  {"PublisherName", "MatchesRegularExpression", "Man", "", true}, // search
                  {"PublisherName", "MatchesRegularExpression", "manager", "", false},
                  {"PublisherName", "MatchesRegularExpression", "^Manager", "", false},
                  {"PublisherName", "MatchesRegularExpression", "^Device Manager$", "", true},
                  {"PublisherName", "MatchesRegularExpression", "(?i)manager", "", true},
                  {"PublisherName", "MatchesRegularExpression", "", "", true},
                  {"EventDisplayNumber", "MatchesRegularExpression", "^100[34]$", "", true},
                  {"EventDisplayNumber", "MatchesRegularExpression", "^100[34]$", "Integer", true},
                  {"EventDisplayNumber", "MatchesRegularExpression", "^1004$", "", false},
                  {"Params/Param[3]", "MatchesRegularExpression", "^-\\d+$", "", true},
                  {"Params/Param[8]", "MatchesRegularExpression", "^Gr\\w\\we$", "", true},
                  {"Params/Param[8]", "MatchesRegularExpression", "^Gr..e$", "", true},
                  {"Params/Param[8]", "MatchesRegularExpression", "^Gr....e$", "", false},
                  {"Params/Param[13]", "MatchesRegularExpression", "^caf", "", true},
                  {"Params/Param[10]", "MatchesRegularExpression", "^$", "", true},
                  {"EventDescription", "MatchesRegularExpression", "0x[0-9A-F]{8}", "", true},
                  {"TimeCreated", "MatchesRegularExpression", "^2026-11-25T", "", true},
                  {"PublisherName", "DoesNotMatchRegularExpression", "manager", "", true},
                  {"PublisherName", "DoesNotMatchRegularExpression", "^Dev", "", false},
                  {"EventDisplayNumber", "DoesNotMatchRegularExpression", "^1004$", "", true},
              });
}

TEST_F(ExprTest, RegexMatchLimitGivesNoAnswer)
{
    // Catastrophic backtracking hits the match limit: neither operator is true.
    std::string subject(40, 'a');
    subject += "!";
    struct mdm_event_data d[] = {{"S", subject.c_str()}};
    ev.data = d;
    ev.data_count = 1;
    EXPECT_FALSE(
        eval(simple(xpath_ve("Params/Param[1]"), "MatchesRegularExpression", value_ve("^(a+)+$"))));
    EXPECT_FALSE(eval(
        simple(xpath_ve("Params/Param[1]"), "DoesNotMatchRegularExpression", value_ve("^(a+)+$"))));
    EXPECT_TRUE(eval(
        simple(xpath_ve("Params/Param[1]"), "DoesNotMatchRegularExpression", value_ve("^a+$"))));
}

TEST_F(ExprTest, ContainsWithAFieldOnTheRight)
{
    EXPECT_TRUE(eval(simple(xpath_ve("Channel"), "ContainsSubstring", xpath_ve("PublisherName"))));
    EXPECT_FALSE(eval(simple(xpath_ve("PublisherName"), "ContainsSubstring", xpath_ve("Channel"))));
    EXPECT_TRUE(
        eval(simple(xpath_ve("PublisherName"), "DoesNotContainSubstring", xpath_ve("Channel"))));
    EXPECT_FALSE(
        eval(simple(xpath_ve("Channel"), "ContainsSubstring", xpath_ve("Params/Param[99]"))));
}

TEST_F(ExprTest, FieldAgainstFieldAndConstantAgainstConstant)
{
    EXPECT_TRUE(eval(simple(xpath_ve("EventSourceName"), "Equal", xpath_ve("PublisherName"))));
    EXPECT_TRUE(
        eval(simple(xpath_ve("EventRecordId", "Integer"), "Less", xpath_ve("EventDisplayNumber"))));
    EXPECT_TRUE(eval(simple(value_ve("5", "Integer"), "Less", value_ve("10"))));
    EXPECT_FALSE(eval(simple(value_ve("5"), "Less", value_ve("10")))); // as strings
    EXPECT_TRUE(eval(simple(value_ve("1003"), "Equal", xpath_ve("EventDisplayNumber"))));
}

TEST_F(ExprTest, MissingFieldMakesEveryOperatorFalse)
{
    const char *ops[] = {
        "Equal",
        "NotEqual",
        "Greater",
        "Less",
        "GreaterEqual",
        "LessEqual",
        "Like",
        "NotLike",
        "ContainsSubstring",
        "DoesNotContainSubstring",
        "MatchesWildcard",
        "DoesNotMatchWildcard",
        "MatchesRegularExpression",
        "DoesNotMatchRegularExpression",
    };
    ev.user_sid = nullptr;
    for (const char *xpath : {"Params/Param[14]", "EventData/Data[@Name='Nope']", "UserName"}) {
        for (const char *op : ops) {
            for (const char *type : {"", "Integer", "Double", "Boolean", "DateTime"}) {
                SCOPED_TRACE(std::string(xpath) + " " + op + " " + type);
                const char *value = std::strcmp(type, "DateTime") == 0  ? "2026-01-01T00:00:00Z"
                                    : std::strcmp(type, "Boolean") == 0 ? "true"
                                                                        : "1";
                std::string e = simple(xpath_ve(xpath, type), op, value_ve(value));
                EXPECT_FALSE(eval(e));
                EXPECT_TRUE(eval(not_of(e)));
                EXPECT_FALSE(eval(regex_expr(xpath_ve(xpath, type), op, value)));
            }
        }
    }
}

TEST_F(ExprTest, EveryXPathQueryName)
{
    ev.keywords = 0x0020000000000000ull; // audit success: EventLevel 8
    struct {
        const char *xpath;
        const char *value;
    } cases[] = {
        {"PublisherName", "Device Manager"},
        {"EventSourceName", "Device Manager"},
        {"PublisherId", "{11111111-2222-3333-4444-555555555555}"},
        {"EventDisplayNumber", "1003"},
        {"EventNumber", "3221226475"},
        {"EventLevel", "8"},
        {"EventCategory", "7"},
        {"Channel", "Mobile Device Manager"},
        {"LogName", "Mobile Device Manager"},
        {"LoggingComputer", "DM01.contoso.com"},
        {"EventDescription", "Enrollment failed: error 0x80072EE7"},
        {"UserName", "S-1-5-20"},
        {"Params/Param[1]", "enroll.contoso.com"},
        {"Params/Param[9]", "not a number"},
        {"EventData/Data[@Name='Port']", "8445"},
        {"EventData/Data[@Name=\"Port\"]", "8445"},
        {"EventData/Port", "8445"},
        {"TimeGenerated", "2026-11-25T05:36:30.123Z"},
        {"TimeCreated", "2026-11-25T05:36:30.123Z"},
        {"EventRecordId", "42"},
        {"Keywords", "9007199254740992"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.xpath);
        EXPECT_TRUE(eval(simple(xpath_ve(c.xpath), "Equal", value_ve(c.value))));
        EXPECT_FALSE(
            eval(simple(xpath_ve(c.xpath), "Equal", value_ve(std::string(c.value) + "x"))));
        EXPECT_TRUE(eval("<Exists>" + xpath_ve(c.xpath) + "</Exists>"));
    }
}

TEST_F(ExprTest, XPathQueryTextIsTrimmed)
{
    EXPECT_TRUE(eval("<SimpleExpression>\n  <ValueExpression>\n    <XPathQuery>\n      "
                     "PublisherName\n    </XPathQuery>\n  </ValueExpression>\n  <Operator> Equal "
                     "</Operator>\n  <ValueExpression><Value>Device Manager</Value>"
                     "</ValueExpression>\n</SimpleExpression>"));
    // Value text is exact.
    EXPECT_FALSE(eval(simple(xpath_ve("PublisherName"), "Equal", value_ve(" Device Manager"))));
    // CDATA and comments inside a Value.
    EXPECT_TRUE(eval("<SimpleExpression>" + xpath_ve("PublisherName") +
                     "<Operator>Equal</Operator><ValueExpression><Value>Device<!-- c --><![CDATA[ "
                     "Manager]]></Value></ValueExpression></SimpleExpression>"));
    EXPECT_TRUE(eval("<SimpleExpression>" + xpath_ve("Params/Param[10]") +
                     "<Operator>Equal</Operator><ValueExpression><Value/></ValueExpression>"
                     "</SimpleExpression>"));
}

TEST_F(ExprTest, QualifiersAreIgnoredByEventDisplayNumber)
{
    // EventID 1003 with Qualifiers 0xC000: EventDisplayNumber is 1003, EventNumber 0xC00003EB.
    EXPECT_TRUE(eval(simple(xpath_ve("EventDisplayNumber"), "Equal", value_ve("1003"))));
    EXPECT_FALSE(eval(simple(xpath_ve("EventDisplayNumber"), "Equal", value_ve("1004"))));
    EXPECT_FALSE(eval(simple(xpath_ve("EventNumber"), "Equal", value_ve("1003"))));
    EXPECT_TRUE(eval(simple(xpath_ve("EventNumber"), "Equal", value_ve("3221226475"))));
    EXPECT_TRUE(
        eval(simple(xpath_ve("EventNumber", "UnsignedInteger"), "Equal", value_ve("3221226475"))));
}

TEST_F(ExprTest, AndOrNot)
{
    std::string t = simple(xpath_ve("EventDisplayNumber"), "Equal", value_ve("1003"));
    std::string f = simple(xpath_ve("EventDisplayNumber"), "Equal", value_ve("1004"));

    EXPECT_TRUE(eval(and_of({t})));
    EXPECT_TRUE(eval(and_of({t, t, t})));
    EXPECT_FALSE(eval(and_of({t, f})));
    EXPECT_FALSE(eval(and_of({f, t})));
    EXPECT_FALSE(eval(and_of({f, f})));
    EXPECT_TRUE(eval(and_of({f, t}, "Or")));
    EXPECT_TRUE(eval(and_of({t, f}, "Or")));
    EXPECT_FALSE(eval(and_of({f, f, f}, "Or")));
    EXPECT_TRUE(eval(and_of({t}, "Or")));
    EXPECT_FALSE(eval(not_of(t)));
    EXPECT_TRUE(eval(not_of(f)));
    EXPECT_TRUE(eval(not_of(not_of(t))));
    // (t or f) and not(f) and not(t and f)
    EXPECT_TRUE(eval(and_of({and_of({t, f}, "Or"), not_of(f), not_of(and_of({t, f}))})));
    EXPECT_FALSE(eval(and_of({and_of({f, f}, "Or"), not_of(f)})));
    EXPECT_TRUE(eval(and_of({and_of({f, and_of({t, not_of(f)})}, "Or"), t})));
    // The element may also be passed wrapped.
    EXPECT_TRUE(eval("<FirstExpression>" + and_of({t, not_of(f)}) + "</FirstExpression>"));
    EXPECT_TRUE(eval("<Condition><!-- comment -->\n  " + t + "\n</Condition>"));
}

TEST_F(ExprTest, Exists)
{
    EXPECT_TRUE(eval("<Exists>" + xpath_ve("Params/Param[13]") + "</Exists>"));
    EXPECT_FALSE(eval("<Exists>" + xpath_ve("Params/Param[14]") + "</Exists>"));
    EXPECT_TRUE(eval("<Exists>" + xpath_ve("EventData/Empty") + "</Exists>"));
    EXPECT_FALSE(eval("<Exists>" + xpath_ve("EventData/Nope") + "</Exists>"));
    EXPECT_TRUE(eval("<Exists>" + xpath_ve("PublisherId", "String") + "</Exists>"));
    ev.provider_guid = nullptr;
    EXPECT_FALSE(eval("<Exists>" + xpath_ve("PublisherId") + "</Exists>"));
    EXPECT_TRUE(eval(not_of("<Exists>" + xpath_ve("PublisherId") + "</Exists>")));
}

TEST_F(ExprTest, DepthLimit)
{
    std::string t = simple(xpath_ve("EventDisplayNumber"), "Equal", value_ve("1003"));
    std::string e64 = t, e65;
    for (int k = 0; k < 64; k++)
        e64 = not_of(e64);
    EXPECT_TRUE(eval(e64)); // 64 Nots: even
    e65 = not_of(e64);
    Compiled c;
    compile_into(c, e65);
    EXPECT_EQ(c.rc, MDM_ETOOBIG);
    EXPECT_NE(c.msg().find("test.xml:1: expressions are nested more than 64 levels deep"),
              std::string::npos)
        << c.msg();
}

const char seed_first[] = R"(<FirstExpression>
<And>
<Expression>
<SimpleExpression>
<ValueExpression>
<XPathQuery>PublisherName</XPathQuery>
</ValueExpression>
<Operator>Equal</Operator>
<ValueExpression>
<Value>Device Manager</Value>
</ValueExpression>
</SimpleExpression>
</Expression>
<Expression>
<SimpleExpression>
<ValueExpression>
<XPathQuery>EventDisplayNumber</XPathQuery>
</ValueExpression>
<Operator>Equal</Operator>
<ValueExpression>
<Value>1004</Value>
</ValueExpression>
</SimpleExpression>
</Expression>
</And>
</FirstExpression>)";

const char seed_second[] = R"(<SecondExpression>
<And>
<Expression>
<SimpleExpression>
<ValueExpression>
<XPathQuery>PublisherName</XPathQuery>
</ValueExpression>
<Operator>Equal</Operator>
<ValueExpression>
<Value>Device Manager</Value>
</ValueExpression>
</SimpleExpression>
</Expression>
<Expression>
<SimpleExpression>
<ValueExpression>
<XPathQuery>EventDisplayNumber</XPathQuery>
</ValueExpression>
<Operator>Equal</Operator>
<ValueExpression>
<Value>1003</Value>
</ValueExpression>
</SimpleExpression>
</Expression>
</And>
</SecondExpression>)";

// Checks the seed's semantics on a pair of compiled expressions.
void check_seed(mdm_expr *first, mdm_expr *second)
{
    mdm_event e;
    mdm_event_init(&e);
    e.provider = "Device Manager";
    e.channel = "Mobile Device Manager";

    e.event_id = 1004;
    EXPECT_TRUE(mdm_expr_eval(first, &e));
    EXPECT_FALSE(mdm_expr_eval(second, &e));

    e.event_id = 1003;
    EXPECT_FALSE(mdm_expr_eval(first, &e));
    EXPECT_TRUE(mdm_expr_eval(second, &e));

    // Classic source severity bits in Qualifiers do not change the display number.
    e.qualifiers = 0xC000;
    e.has_qualifiers = true;
    EXPECT_TRUE(mdm_expr_eval(second, &e));
    e.qualifiers = 0x4000;
    e.event_id = 1004;
    EXPECT_TRUE(mdm_expr_eval(first, &e));
    // An EventID written with the high bits in it still displays as 1003.
    e.has_qualifiers = false;
    e.qualifiers = 0;
    e.event_id = 0xC00003EBu;
    EXPECT_TRUE(mdm_expr_eval(second, &e));
    EXPECT_FALSE(mdm_expr_eval(first, &e));

    e.event_id = 1003;
    e.provider = "Device Manager Service"; // exact publisher only
    EXPECT_FALSE(mdm_expr_eval(second, &e));
    e.provider = "device manager";
    EXPECT_FALSE(mdm_expr_eval(second, &e));
    e.provider = nullptr;
    EXPECT_FALSE(mdm_expr_eval(second, &e));
    e.provider = "Device Manager";
    e.event_id = 1005;
    EXPECT_FALSE(mdm_expr_eval(first, &e));
    EXPECT_FALSE(mdm_expr_eval(second, &e));
    mdm_event_free(&e);
}

TEST(ExprSeed, FirstAndSecondExpression)
{
    Compiled first, second;
    compile_into(first, seed_first, "seed.xml");
    compile_into(second, seed_second, "seed.xml");
    ASSERT_EQ(first.rc, 0) << first.msg();
    ASSERT_EQ(second.rc, 0) << second.msg();
    check_seed(first.expr, second.expr);
}

// Finds the first element named name under node (depth-first).
xmlNodePtr find_element(xmlNodePtr node, const char *name)
{
    for (xmlNodePtr c = node; c != nullptr; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (std::strcmp((const char *)c->name, name) == 0)
            return c;
        xmlNodePtr found = find_element(c->children, name);
        if (found != nullptr)
            return found;
    }
    return nullptr;
}

TEST(ExprSeed, ShippedPackExpressions)
{
    std::string path = std::string(MDM_PACKS_DIR) + "/enrollment-connection.xml";
    xmlDocPtr doc = xmlReadFile(path.c_str(), nullptr, XML_PARSE_NONET);
    ASSERT_NE(doc, nullptr) << path;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr f = find_element(root, "FirstExpression");
    xmlNodePtr s = find_element(root, "SecondExpression");
    mdm_expr *first = nullptr, *second = nullptr;
    mdm_err err;
    mdm_err_clear(&err);
    ASSERT_NE(f, nullptr);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(mdm_expr_compile(f, path.c_str(), &first, &err), 0) << err.msg;
    EXPECT_EQ(mdm_expr_compile(s, path.c_str(), &second, &err), 0) << err.msg;
    xmlFreeDoc(doc);
    if (first != nullptr && second != nullptr)
        check_seed(first, second);
    mdm_expr_free(first);
    mdm_expr_free(second);
}

// ---------------------------------------------------------------------------
// Compile errors: code, and a message naming the file and line.

struct ErrorCase {
    const char *name;
    std::string xml;
    int code;
    const char *message; // expected substring, including "test.xml:LINE: "
};

TEST(ExprErrors, EveryCompileError)
{
    const std::string ok = simple(xpath_ve("EventDisplayNumber"), "Equal", value_ve("1003"));
    const std::string x = xpath_ve("EventDisplayNumber");
    std::vector<ErrorCase> cases = {
        {"unknown element", "<And>\n<Expression>\n<DayTimeExpression/>\n</Expression>\n</And>",
         MDM_EUNSUPPORTED, "test.xml:3: unsupported expression element <DayTimeExpression>"},
        {"unknown element in a wrapper", "<FirstExpression>\n\n<Foo><Bar/></Foo></FirstExpression>",
         MDM_EUNSUPPORTED, "test.xml:3: unsupported expression element <Foo>"},
        {"unknown operator",
         "<SimpleExpression>\n" + x + "\n<Operator>Foo</Operator>" + value_ve("1") +
             "</SimpleExpression>",
         MDM_EUNSUPPORTED, "test.xml:3: unsupported operator \"Foo\""},
        {"operator case",
         "<SimpleExpression>" + x + "<Operator>equal</Operator>" + value_ve("1") +
             "</SimpleExpression>",
         MDM_EUNSUPPORTED, "test.xml:1: unsupported operator \"equal\""},
        {"empty operator",
         "<SimpleExpression>" + x + "<Operator/>" + value_ve("1") + "</SimpleExpression>",
         MDM_EUNSUPPORTED, "test.xml:1: unsupported operator \"\""},
        {"unknown operator in RegExExpression",
         "<RegExExpression>" + x +
             "\n\n<Operator>Matches</Operator><Pattern>a</Pattern>"
             "</RegExExpression>",
         MDM_EUNSUPPORTED, "test.xml:3: unsupported operator \"Matches\""},
        {"bad regex",
         "<SimpleExpression>" + x + "<Operator>MatchesRegularExpression</Operator>\n" +
             value_ve("a(b") + "</SimpleExpression>",
         MDM_EPARSE,
         "test.xml:2: invalid regular expression \"a(b\": missing closing parenthesis "
         "at offset 3"},
        {"bad regex in Pattern",
         "<RegExExpression>" + x +
             "<Operator>DoesNotMatchRegularExpression</Operator>\n\n"
             "<Pattern>[z-a]</Pattern></RegExExpression>",
         MDM_EPARSE, "test.xml:3: invalid regular expression \"[z-a]\""},
        {"unterminated Like set",
         "<SimpleExpression>" + x + "<Operator>Like</Operator>\n" + value_ve("10[03") +
             "</SimpleExpression>",
         MDM_EPARSE, "test.xml:2: unterminated [ in Like pattern \"10[03\""},
        {"bad Integer",
         "<SimpleExpression>" + x + "<Operator>Equal</Operator>\n" + value_ve("abc", "Integer") +
             "</SimpleExpression>",
         MDM_EPARSE, "test.xml:2: cannot convert Value \"abc\" to Integer"},
        {"Integer overflow",
         "<SimpleExpression>" + xpath_ve("EventDisplayNumber", "Integer") +
             "<Operator>Less</Operator>" + value_ve("9223372036854775808") + "</SimpleExpression>",
         MDM_EPARSE, "test.xml:1: cannot convert Value \"9223372036854775808\" to Integer"},
        {"Integer underflow",
         "<SimpleExpression>" + x + "<Operator>Less</Operator>" +
             value_ve("-9223372036854775809", "Integer") + "</SimpleExpression>",
         MDM_EPARSE, "test.xml:1: cannot convert Value \"-9223372036854775809\" to Integer"},
        {"bad UnsignedInteger",
         "<SimpleExpression>" + x + "<Operator>Greater</Operator>" +
             value_ve("-1", "UnsignedInteger") + "</SimpleExpression>",
         MDM_EPARSE, "test.xml:1: cannot convert Value \"-1\" to UnsignedInteger"},
        {"bad Double",
         "<SimpleExpression>" + x + "<Operator>Equal</Operator>" + value_ve("inf", "Double") +
             "</SimpleExpression>",
         MDM_EPARSE, "test.xml:1: cannot convert Value \"inf\" to Double"},
        {"hex Double",
         "<SimpleExpression>" + x + "<Operator>Equal</Operator>" + value_ve("0x10", "Double") +
             "</SimpleExpression>",
         MDM_EPARSE, "test.xml:1: cannot convert Value \"0x10\" to Double"},
        {"bad Boolean",
         "<SimpleExpression>" + x + "<Operator>Equal</Operator>" + value_ve("yes", "Boolean") +
             "</SimpleExpression>",
         MDM_EPARSE, "test.xml:1: cannot convert Value \"yes\" to Boolean"},
        {"bad DateTime",
         "<SimpleExpression>" + x + "<Operator>Equal</Operator>" +
             value_ve("yesterday", "DateTime") + "</SimpleExpression>",
         MDM_EPARSE, "test.xml:1: cannot convert Value \"yesterday\" to DateTime"},
        {"DateTime that does not exist (Feb 30)",
         "<SimpleExpression>" + x + "<Operator>Equal</Operator>" +
             value_ve("2026-02-30T00:00:00Z", "DateTime") + "</SimpleExpression>",
         MDM_EPARSE, "test.xml:1: cannot convert Value \"2026-02-30T00:00:00Z\" to DateTime"},
        {"DateTime with second 60",
         "<SimpleExpression>" + x + "<Operator>Equal</Operator>" +
             value_ve("2026-11-25T05:36:60Z", "DateTime") + "</SimpleExpression>",
         MDM_EPARSE, "test.xml:1: cannot convert Value \"2026-11-25T05:36:60Z\" to DateTime"},
        {"bad constant on the left",
         "<SimpleExpression>\n" + value_ve("x", "Double") + "<Operator>Equal</Operator>" + x +
             "</SimpleExpression>",
         MDM_EPARSE, "test.xml:2: cannot convert Value \"x\" to Double"},
        {"bad Pattern constant",
         "<RegExExpression>\n" + xpath_ve("EventDisplayNumber", "Integer") +
             "<Operator>Equal</Operator><Pattern>ten</Pattern>"
             "</RegExExpression>",
         MDM_EPARSE, "test.xml:2: cannot convert Value \"ten\" to Integer"},
        {"type mismatch",
         "<And><Expression>\n<SimpleExpression>" + xpath_ve("EventDisplayNumber", "Integer") +
             "<Operator>Equal</Operator>" + value_ve("1003", "String") +
             "</SimpleExpression></Expression></And>",
         MDM_EPARSE,
         "test.xml:2: <XPathQuery> Type \"Integer\" and <Value> Type \"String\" differ in "
         "<SimpleExpression>"},
        {"unknown Type",
         "<SimpleExpression>\n" + xpath_ve("EventDisplayNumber", "Float") +
             "<Operator>Equal</Operator>" + value_ve("1") + "</SimpleExpression>",
         MDM_EUNSUPPORTED, "test.xml:2: unsupported Type \"Float\" on <XPathQuery>"},
        {"unknown XPathQuery",
         "<SimpleExpression>\n\n" + xpath_ve("EventIdentifier") + "<Operator>Equal</Operator>" +
             value_ve("1") + "</SimpleExpression>",
         MDM_EUNSUPPORTED, "test.xml:3: unsupported XPathQuery \"EventIdentifier\""},
        {"Param[0]", "<Exists>\n" + xpath_ve("Params/Param[0]") + "</Exists>", MDM_EUNSUPPORTED,
         "test.xml:2: unsupported XPathQuery \"Params/Param[0]\""},
        {"unknown value element",
         "<SimpleExpression>\n<ValueExpression><Property>x</Property></ValueExpression>"
         "<Operator>Equal</Operator>" +
             value_ve("1") + "</SimpleExpression>",
         MDM_EUNSUPPORTED, "test.xml:2: unsupported value element <Property>"},
        {"pattern from a field",
         "<SimpleExpression>" + x + "\n<Operator>Like</Operator>" + xpath_ve("PublisherName") +
             "</SimpleExpression>",
         MDM_EUNSUPPORTED, "test.xml:2: the pattern of operator \"Like\" must be a <Value>"},
        {"missing Operator", "<SimpleExpression>" + x + value_ve("1") + "</SimpleExpression>",
         MDM_EPARSE, "test.xml:1: <SimpleExpression> needs one <Operator>, found 0"},
        {"two Operators",
         "\n<SimpleExpression>" + x + "<Operator>Equal</Operator><Operator>Equal</Operator>" +
             value_ve("1") + "</SimpleExpression>",
         MDM_EPARSE, "test.xml:2: <SimpleExpression> needs one <Operator>, found 2"},
        {"one ValueExpression",
         "<SimpleExpression>" + x +
             "<Operator>Equal</Operator>"
             "</SimpleExpression>",
         MDM_EPARSE,
         "test.xml:1: <SimpleExpression> needs two <ValueExpression> elements, found 1"},
        {"three ValueExpressions",
         "<SimpleExpression>" + x + "<Operator>Equal</Operator>" + x + x + "</SimpleExpression>",
         MDM_EPARSE,
         "test.xml:1: <SimpleExpression> needs two <ValueExpression> elements, found 3"},
        {"stray element in SimpleExpression",
         "<SimpleExpression>" + x + "<Operator>Equal</Operator>\n<Pattern>1</Pattern>" + x +
             "</SimpleExpression>",
         MDM_EPARSE, "test.xml:2: unexpected element <Pattern> in <SimpleExpression>"},
        {"empty ValueExpression",
         "<SimpleExpression>\n<ValueExpression/><Operator>Equal"
         "</Operator>" +
             x + "</SimpleExpression>",
         MDM_EPARSE,
         "test.xml:2: <ValueExpression> must hold one <XPathQuery> or <Value>, found 0"},
        {"element inside Value",
         "<SimpleExpression>" + x +
             "<Operator>Equal</Operator><ValueExpression><Value>\n<b/>"
             "</Value></ValueExpression></SimpleExpression>",
         MDM_EPARSE, "test.xml:2: unexpected element <b> in <Value>"},
        {"RegExExpression without Pattern",
         "<RegExExpression>" + x + "<Operator>MatchesWildcard</Operator></RegExExpression>",
         MDM_EPARSE, "test.xml:1: <RegExExpression> needs one <Pattern>, found 0"},
        {"RegExExpression without Operator",
         "<RegExExpression>" + x + "<Pattern>1</Pattern></RegExExpression>", MDM_EPARSE,
         "test.xml:1: <RegExExpression> needs one <Operator>, found 0"},
        {"RegExExpression with two ValueExpressions",
         "<RegExExpression>" + x + x +
             "<Operator>Equal</Operator><Pattern>1</Pattern>"
             "</RegExExpression>",
         MDM_EPARSE, "test.xml:1: <RegExExpression> needs one <ValueExpression>, found 2"},
        {"empty Exists", "<Exists/>", MDM_EPARSE,
         "test.xml:1: <Exists> must hold exactly one <ValueExpression>"},
        {"Exists of a Value", "<Exists>\n" + value_ve("1") + "</Exists>", MDM_EPARSE,
         "test.xml:2: <Exists> needs an <XPathQuery>, not a <Value>"},
        {"empty And", "<FirstExpression>\n<And>\n</And></FirstExpression>", MDM_EPARSE,
         "test.xml:2: <And> holds no <Expression>"},
        {"empty Or", "<Or/>", MDM_EPARSE, "test.xml:1: <Or> holds no <Expression>"},
        {"Not with two", "<Not>" + wrap(ok) + "\n" + wrap(ok) + "</Not>", MDM_EPARSE,
         "test.xml:1: <Not> must hold exactly one <Expression>, found 2"},
        {"And without Expression wrapper", "<And>\n" + ok + "</And>", MDM_EPARSE,
         "test.xml:2: unexpected element <SimpleExpression> in <And>; expected <Expression>"},
        {"Expression with two elements", "<And><Expression>\n" + ok + ok + "</Expression></And>",
         MDM_EPARSE, "test.xml:1: <Expression> must hold exactly one expression element, found 2"},
        {"empty wrapper", "<FirstExpression>\n</FirstExpression>", MDM_EPARSE,
         "test.xml:1: <FirstExpression> must hold exactly one expression element, found 0"},
        {"stray text", "<And>\n<Expression>" + ok + "</Expression>\nhello</And>", MDM_EPARSE,
         "unexpected text in <And>"},
        {"error deep inside",
         "<Or>\n<Expression>" + ok +
             "</Expression>\n<Expression>\n<Not>\n<Expression>\n"
             "<SimpleExpression>" +
             x + "\n\n<Operator>Between</Operator>" + value_ve("1") +
             "</SimpleExpression></Expression></Not></Expression></Or>",
         MDM_EUNSUPPORTED, "test.xml:8: unsupported operator \"Between\""},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.name);
        Compiled r;
        compile_into(r, c.xml);
        EXPECT_EQ(r.rc, c.code) << r.msg();
        EXPECT_EQ(r.err.code, c.code);
        EXPECT_NE(r.msg().find(c.message), std::string::npos)
            << "message: " << r.msg() << "\nexpected: " << c.message;
    }
}

TEST(ExprErrors, InvalidArguments)
{
    mdm_expr *e = nullptr;
    mdm_err err;
    mdm_err_clear(&err);
    EXPECT_EQ(mdm_expr_compile(nullptr, "x.xml", &e, &err), MDM_EINVAL);
    EXPECT_EQ(e, nullptr);
    EXPECT_FALSE(mdm_expr_eval(nullptr, nullptr));
    mdm_expr_free(nullptr);
}

TEST(ExprErrors, OutputUntouchedOnError)
{
    std::string xml = "<Or/>";
    xmlDocPtr doc = xmlReadMemory(xml.data(), (int)xml.size(), "t.xml", nullptr, 0);
    ASSERT_NE(doc, nullptr);
    mdm_expr *sentinel = reinterpret_cast<mdm_expr *>(0x1);
    mdm_expr *e = sentinel;
    mdm_err err;
    EXPECT_EQ(mdm_expr_compile(xmlDocGetRootElement(doc), "t.xml", &e, &err), MDM_EPARSE);
    EXPECT_EQ(e, sentinel);
    xmlFreeDoc(doc);
}

// ---------------------------------------------------------------------------
// Allocation failures: every failing compile returns a negative code and
// leaks nothing (LeakSanitizer checks the leaks in the sanitizer build).

TEST(ExprAlloc, EveryAllocationFailureIsReported)
{
    const std::string x = xpath_ve("PublisherName");
    std::vector<std::string> docs = {
        seed_first,
        "<Or>" + wrap(simple(x, "MatchesRegularExpression", value_ve("^Dev(ice)? [A-Z]\\w+$"))) +
            wrap(regex_expr(x, "DoesNotMatchRegularExpression", "(a|b)*c")) +
            wrap(simple(x, "Like", value_ve("[a-c]%_[^x]"))) +
            wrap(simple(x, "MatchesWildcard", value_ve("D*#?"))) +
            wrap(not_of("<Exists>" + xpath_ve("Params/Param[2]") + "</Exists>")) +
            wrap(simple(xpath_ve("TimeCreated", "DateTime"), "Less",
                        value_ve("2030-01-01T00:00:00Z"))) +
            "</Or>",
    };
    for (const auto &xml : docs) {
        xmlDocPtr doc = xmlReadMemory(xml.data(), (int)xml.size(), "alloc.xml", nullptr, 0);
        ASSERT_NE(doc, nullptr);
        xmlNodePtr root = xmlDocGetRootElement(doc);
        long n;
        int rc = -1;
        for (n = 0; n < 100000; n++) {
            mdm_expr *e = nullptr;
            mdm_err err;
            mdm_err_clear(&err);
            mdm_alloc_fail_after(n);
            rc = mdm_expr_compile(root, "alloc.xml", &e, &err);
            mdm_alloc_fail_after(-1);
            if (rc == 0) {
                EXPECT_NE(e, nullptr);
                mdm_event ev;
                mdm_event_init(&ev);
                ev.provider = "Device Manager";
                ev.event_id = 1004;
                EXPECT_TRUE(mdm_expr_eval(e, &ev));
                mdm_expr_free(e);
                break;
            }
            EXPECT_LT(rc, 0) << "n=" << n;
            EXPECT_EQ(rc, MDM_ENOMEM) << "n=" << n << ": " << err.msg;
            EXPECT_EQ(e, nullptr);
        }
        EXPECT_EQ(rc, 0);
        EXPECT_GT(n, 0); // compiling does allocate, so the loop did test failures
        xmlFreeDoc(doc);
    }
}

TEST_F(ExprTest, EvaluationDoesNotAllocate)
{
    const std::string x = xpath_ve("PublisherName");
    std::string xml =
        "<And>" + wrap(simple(x, "MatchesRegularExpression", value_ve("^Dev(ice)? [A-Z]\\w+$"))) +
        wrap(simple(x, "Like", value_ve("[a-e]%_[^x]"))) +
        wrap(simple(xpath_ve("EventDisplayNumber"), "MatchesWildcard", value_ve("10#3"))) +
        wrap(simple(xpath_ve("EventDisplayNumber"), "Equal", value_ve("1003"))) +
        wrap(simple(xpath_ve("TimeCreated"), "ContainsSubstring", value_ve("T05:"))) +
        wrap(simple(xpath_ve("Params/Param[4]", "Double"), "Greater", value_ve("1"))) +
        wrap("<Exists>" + xpath_ve("EventData/Port") + "</Exists>") + "</And>";
    Compiled c;
    compile_into(c, xml);
    ASSERT_EQ(c.rc, 0) << c.msg();
    // The first match may set up PCRE2's frames; after that nothing allocates.
    EXPECT_TRUE(mdm_expr_eval(c.expr, &ev));
    mdm_alloc_fail_after(0);
    for (int k = 0; k < 100; k++)
        EXPECT_TRUE(mdm_expr_eval(c.expr, &ev));
    EXPECT_EQ(mdm_alloc_count(), 0);
    mdm_alloc_fail_after(-1);
}

} // namespace

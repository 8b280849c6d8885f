// test_config_file.cc - mdmhealth.conf directives and their error messages.
#include <gtest/gtest.h>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#endif

#include <stdlib.h>
#include <string.h>

#include <set>
#include <sstream>
#include <string>

#include "agent/config/config.h"
#include "agent/config/config_snmp.h"
#include "config_snmp_cases.h"
#include "test_util.h"

namespace
{

struct Conf {
    std::string dir, path;
    mdm_config *cfg = nullptr;
    mdm_err err;
    int rc;
    explicit Conf(const std::string &text)
    {
        dir = mdmtest::make_temp_dir("conf");
        path = dir + "/mdmhealth.conf";
        mdmtest::write_file(path, text);
        mdm_err_clear(&err);
        rc = mdm_config_load(path.c_str(), &cfg, &err);
    }
    ~Conf()
    {
        mdm_config_free(cfg);
        mdmtest::remove_tree(dir);
    }
};

TEST(Config, DefaultsWithoutDirectives)
{
    Conf c("# only a comment\n\n");
    ASSERT_EQ(0, c.rc) << c.err.msg;
    EXPECT_STREQ("Mobile Device Manager", c.cfg->channel);
    EXPECT_STREQ("SCMDM2008DeviceManagementServers", c.cfg->ad_group);
    EXPECT_EQ(8445u, c.cfg->enrollment_ports[0]);
    EXPECT_EQ(8446u, c.cfg->enrollment_ports[1]);
    EXPECT_EQ(0u, c.cfg->pack_count);
    EXPECT_FALSE(c.cfg->pack_strict);
    EXPECT_FALSE(c.cfg->has_source);
    EXPECT_EQ(0u, c.cfg->snmp_line_count);
    EXPECT_EQ(0u, c.cfg->diag_interval); // off
}

/* Sets an environment variable for the life of the object (the diag-interval test hook). */
struct ScopedEnv {
    const char *name;
    ScopedEnv(const char *n, const char *value) : name(n)
    {
#ifdef _WIN32
        _putenv_s(name, value);
#else
        setenv(name, value, 1);
#endif
    }
    ~ScopedEnv()
    {
#ifdef _WIN32
        _putenv_s(name, "");
#else
        unsetenv(name);
#endif
    }
};

TEST(Config, DiagIntervalAcceptsOffOrTheBoundsInSeconds)
{
    for (const char *v : {"0", "60", "3600", "86400"}) {
        Conf c(std::string("diag-interval ") + v + "\n");
        ASSERT_EQ(0, c.rc) << v << ": " << c.err.msg;
        EXPECT_EQ(std::stoul(v), c.cfg->diag_interval) << v;
    }
    const char *bad[] = {"",    "59",  "1",      "86401", "-60",
                         "+60", "60s", "60 120", "sixty", "99999999999999999999"};
    for (const char *v : bad) {
        Conf c(std::string("channel x\ndiag-interval ") + v + "\n");
        EXPECT_EQ(MDM_EINVAL, c.rc) << v;
        EXPECT_NE(std::string::npos,
                  std::string(c.err.msg).find(
                      c.path + ":2: diag-interval needs 0 (off) or a number of seconds from "
                               "60 to 86400"))
            << v << ": " << c.err.msg;
    }
}

// The test hook lowers the bound (so end-to-end tests can use 1 s) and
// nothing else; a value outside 1..60 is ignored.
TEST(Config, DiagIntervalTestHookLowersOnlyTheLowerBound)
{
    {
        ScopedEnv hook(MDM_DIAG_INTERVAL_MIN_ENV, "1");
        Conf one("diag-interval 1\n");
        ASSERT_EQ(0, one.rc) << one.err.msg;
        EXPECT_EQ(1u, one.cfg->diag_interval);
        Conf high("diag-interval 86401\n");
        EXPECT_EQ(MDM_EINVAL, high.rc);
        EXPECT_NE(std::string::npos, std::string(high.err.msg).find("from 1 to 86400"))
            << high.err.msg;
    }
    for (const char *v : {"0", "61", "x", "1x"}) {
        ScopedEnv hook(MDM_DIAG_INTERVAL_MIN_ENV, v);
        Conf c("diag-interval 1\n");
        EXPECT_EQ(MDM_EINVAL, c.rc) << "hook " << v;
    }
    Conf unset("diag-interval 1\n");
    EXPECT_EQ(MDM_EINVAL, unset.rc);
}

TEST(Config, EveryDirective)
{
    Conf c("pack packs/custom.xml\n"
           "channel   Custom Channel  \n"
           "source xml-follow /var/log/mdm.xml\n"
           "target DM01.contoso.com\n"
           "target DM02.contoso.com\n"
           "state-dir /var/lib/x\n"
           "enrollment-server enroll.contoso.com\n"
           "enrollment-ports 9445 9446\n"
           "ad-group MyGroup\n"
           "ldap-uri ldap://127.0.0.1:3389\n"
           "trap2sink 127.0.0.1:1162 secret\n"
           "  rouser   admin authPriv\n");
    ASSERT_EQ(0, c.rc) << c.err.msg;
    ASSERT_EQ(1u, c.cfg->pack_count);
    EXPECT_EQ(c.dir + "/packs/custom.xml", c.cfg->pack_paths[0]);
    EXPECT_STREQ("Custom Channel", c.cfg->channel);
    EXPECT_TRUE(c.cfg->has_source);
    EXPECT_EQ(MDM_SOURCE_XML_FOLLOW, c.cfg->source_kind);
    EXPECT_STREQ("/var/log/mdm.xml", c.cfg->source_path);
    ASSERT_EQ(2u, c.cfg->target_count);
    EXPECT_STREQ("DM02.contoso.com", c.cfg->targets[1]);
    EXPECT_STREQ("/var/lib/x", c.cfg->state_dir);
    EXPECT_STREQ("enroll.contoso.com", c.cfg->enrollment_server);
    EXPECT_EQ(9445u, c.cfg->enrollment_ports[0]);
    EXPECT_EQ(9446u, c.cfg->enrollment_ports[1]);
    EXPECT_STREQ("MyGroup", c.cfg->ad_group);
    EXPECT_STREQ("ldap://127.0.0.1:3389", c.cfg->ldap_uri);
    ASSERT_EQ(2u, c.cfg->snmp_line_count);
    EXPECT_STREQ("trap2sink", c.cfg->snmp_lines[0].directive);
    EXPECT_STREQ("127.0.0.1:1162 secret", c.cfg->snmp_lines[0].value);
    EXPECT_EQ(11u, c.cfg->snmp_lines[0].line);
    EXPECT_STREQ("rouser", c.cfg->snmp_lines[1].directive);
}

TEST(Config, PackIsRepeatableAndPackStrictIsYesOrNo)
{
    Conf c("pack base.xml\npack /abs/overrides.xml\npack-strict yes\n");
    ASSERT_EQ(0, c.rc) << c.err.msg;
    ASSERT_EQ(2u, c.cfg->pack_count);
    EXPECT_EQ(c.dir + "/base.xml", c.cfg->pack_paths[0]);
    EXPECT_STREQ("/abs/overrides.xml", c.cfg->pack_paths[1]);
    EXPECT_TRUE(c.cfg->pack_strict);
    Conf no("pack-strict no\n");
    ASSERT_EQ(0, no.rc) << no.err.msg;
    EXPECT_FALSE(no.cfg->pack_strict);
}

struct BadCase {
    const char *text;
    const char *expect;
};

TEST(Config, ErrorsNameFileLineAndDirective)
{
    const BadCase cases[] = {
        {"channel x\nfrobnicate 1\n", ":2: unknown directive \"frobnicate\""},
        {"source tcp /x\n", ":1: source kind \"tcp\" is not one of evtx, xml, xml-follow"},
        {"source evtx\n", ":1: source evtx needs a file name"},
        {"enrollment-ports 8445\n", ":1: enrollment-ports needs two TCP ports"},
        {"enrollment-ports 8445 70000\n", ":1: enrollment-ports needs two TCP ports"},
        {"\n\ntarget a b\n", ":3: target needs one computer name"},
        {"target a\ntarget A\n", ":2: target A is listed twice"},
        {"ldap-uri http://x\n", ":1: ldap-uri must start with"},
        // A second source line used to replace the first silently.
        {"source xml a.xml\nchannel x\nsource evtx b.evtx\n",
         ":3: a second source line (the first is on line 1)"},
        {"source xml a.xml\nsource xml a.xml\n",
         ":2: a second source line (the first is on line 1)"},
        {"pack\n", ":1: pack needs a path"},
        {"pack a.xml\npack b.xml\npack a.xml\n", ":3: pack "},
        {"pack-strict maybe\n", ":1: pack-strict must be yes or no"},
    };
    for (const auto &bc : cases) {
        Conf c(bc.text);
        EXPECT_EQ(MDM_EINVAL, c.rc) << bc.text;
        EXPECT_NE(std::string::npos, std::string(c.err.msg).find(c.path + bc.expect))
            << "got: " << c.err.msg << "\nwanted: " << bc.expect;
    }
}

// With the Windows channel every target is a remote subscription of its own:
// at most MDM_CONFIG_CHANNEL_TARGETS_MAX. A portable source only filters by
// them, so it keeps the general limit.
TEST(Config, ChannelTargetsAreCapped)
{
    std::string lines;
    for (unsigned i = 0; i < MDM_CONFIG_CHANNEL_TARGETS_MAX; i++)
        lines += "target DM" + std::to_string(i) + ".contoso.com\n";
    {
        Conf c(lines);
        ASSERT_EQ(0, c.rc) << c.err.msg;
        EXPECT_EQ(MDM_CONFIG_CHANNEL_TARGETS_MAX, c.cfg->target_count);
    }
    lines += "target one-too-many.contoso.com\n";
    {
        Conf c(lines);
        EXPECT_EQ(MDM_EINVAL, c.rc);
        EXPECT_NE(std::string::npos,
                  std::string(c.err.msg).find("at most 32 with the Windows channel"))
            << c.err.msg;
    }
    {
        Conf c("source xml events.xml\n" + lines);
        ASSERT_EQ(0, c.rc) << c.err.msg;
        EXPECT_EQ(MDM_CONFIG_CHANNEL_TARGETS_MAX + 1, c.cfg->target_count);
    }
}

TEST(Config, LdapDirectives)
{
    Conf c("ldap-uri ldap://dc01.contoso.com\n"
           "ldap-base DC=contoso,DC=com\n"
           "computer-dn CN=DM01,CN=Computers,DC=contoso,DC=com\n"
           "ldap-bind-dn CN=svc-mdm,OU=Service Accounts,DC=contoso,DC=com\n"
           "ldap-password-file secrets/ldap.pw\n");
    ASSERT_EQ(0, c.rc) << c.err.msg;
    EXPECT_STREQ("DC=contoso,DC=com", c.cfg->ldap_base);
    EXPECT_STREQ("CN=DM01,CN=Computers,DC=contoso,DC=com", c.cfg->computer_dn);
    EXPECT_STREQ("CN=svc-mdm,OU=Service Accounts,DC=contoso,DC=com", c.cfg->ldap_bind_dn);
    /* Relative to the configuration file's directory, like pack. */
    EXPECT_EQ(c.dir + "/secrets/ldap.pw", c.cfg->ldap_password_file);
    EXPECT_EQ(0u, c.cfg->snmp_line_count);
}

TEST(Config, LdapDirectivesDefaultToUnset)
{
    Conf c("ldap-password-file /etc/mdmhealth/ldap.pw\n");
    ASSERT_EQ(0, c.rc) << c.err.msg;
    EXPECT_EQ(nullptr, c.cfg->ldap_base);
    EXPECT_EQ(nullptr, c.cfg->computer_dn);
    EXPECT_EQ(nullptr, c.cfg->ldap_bind_dn);
    /* An absolute path is kept as it is. */
    EXPECT_STREQ("/etc/mdmhealth/ldap.pw", c.cfg->ldap_password_file);
}

TEST(Config, LdapDirectiveErrors)
{
    const std::string long_dn = "computer-dn CN=" + std::string(1100, 'x') + "\n";
    const BadCase cases[] = {
        {"ldap-base\n", ":1: ldap-base needs a distinguished name"},
        {"ldap-base contoso.com\n", ":1: ldap-base needs a distinguished name"},
        {"\ncomputer-dn DM01\n", ":2: computer-dn needs a distinguished name"},
        {"ldap-bind-dn admin\n", ":1: ldap-bind-dn needs a distinguished name"},
        {"ldap-password-file\n", ":1: ldap-password-file needs a path"},
        {long_dn.c_str(), ":1: computer-dn is longer than 1024 bytes"},
    };
    for (const auto &bc : cases) {
        Conf c(bc.text);
        EXPECT_EQ(MDM_EINVAL, c.rc) << bc.text;
        EXPECT_NE(std::string::npos, std::string(c.err.msg).find(c.path + bc.expect))
            << "got: " << c.err.msg << "\nwanted: " << bc.expect;
    }
}

TEST(Config, MissingFileIsNotFound)
{
    mdm_config *cfg = nullptr;
    mdm_err err;
    EXPECT_EQ(MDM_ENOTFOUND, mdm_config_load("/nonexistent/mdmhealth.conf", &cfg, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("/nonexistent/mdmhealth.conf"));
}

TEST(Config, BinaryFileIsRejected)
{
    Conf c(std::string("channel x\n\0garbage", 19));
    EXPECT_EQ(MDM_EINVAL, c.rc);
    EXPECT_NE(std::string::npos, std::string(c.err.msg).find("NUL byte")) << c.err.msg;
}

#ifndef _WIN32
// A configuration path that is a FIFO, a device or a directory is refused at once,
// never a hang (a FIFO opened for reading waits for a writer).
TEST(Config, FifoDeviceOrDirectoryIsRefusedWithoutBlocking)
{
    const std::string dir = mdmtest::make_temp_dir("conffifo");
    const std::string fifo = dir + "/mdmhealth.conf";
    ASSERT_EQ(0, mkfifo(fifo.c_str(), 0600));
    auto load = std::async(std::launch::async, [&] {
        mdm_config *cfg = nullptr;
        mdm_err err;
        mdm_err_clear(&err);
        int rc = mdm_config_load(fifo.c_str(), &cfg, &err);
        mdm_config_free(cfg);
        return std::make_pair(rc, std::string(err.msg));
    });
    bool finished = load.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    if (!finished) { // unblock the reader so that the test fails instead of hanging
        int fd = open(fifo.c_str(), O_WRONLY);
        if (fd >= 0)
            close(fd);
    }
    auto got = load.get();
    EXPECT_TRUE(finished) << "loading a FIFO as the configuration blocked";
    EXPECT_EQ(MDM_EINVAL, got.first);
    EXPECT_NE(std::string::npos, got.second.find(fifo + ": not a regular file (a FIFO)"))
        << got.second;

    for (const char *path : {"/dev/null", "/dev/zero"}) {
        mdm_config *cfg = nullptr;
        mdm_err err;
        EXPECT_EQ(MDM_EINVAL, mdm_config_load(path, &cfg, &err)) << path;
        EXPECT_NE(std::string::npos, std::string(err.msg).find("not a regular file (a device)"))
            << err.msg;
    }
    mdm_config *cfg = nullptr;
    mdm_err err;
    EXPECT_EQ(MDM_EINVAL, mdm_config_load(dir.c_str(), &cfg, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("not a regular file (a directory)"))
        << err.msg;
    mdmtest::remove_tree(dir);
}
#endif

#ifdef _WIN32
// Windows: a device (NUL) or a directory named as the configuration is refused at once.
TEST(Config, DeviceOrDirectoryIsRefusedOnWindows)
{
    mdm_config *cfg = nullptr;
    mdm_err err;
    EXPECT_EQ(MDM_EINVAL, mdm_config_load("NUL", &cfg, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("not a regular file (a device)"))
        << err.msg;
    const std::string dir = mdmtest::make_temp_dir("confdir");
    EXPECT_EQ(MDM_EINVAL, mdm_config_load(dir.c_str(), &cfg, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("not a regular file (a directory)"))
        << err.msg;
    mdmtest::remove_tree(dir);
}
#endif

// --- SNMP lines: validated before Net-SNMP reads the file ---------------------------

// Every malformed SNMP line is refused with FILE:LINE and the reason, by our own code:
// Net-SNMP 5.9 crashed on some of them (createUser without a pass phrase).
TEST(ConfigSnmp, MalformedLinesAreRefusedWithFileLineAndWhy)
{
    for (const auto &bc : mdmtest::kMalformedSnmpLines) {
        SCOPED_TRACE(bc.line);
        Conf c(std::string("channel x\n\n") + bc.line + "\n");
        EXPECT_EQ(MDM_EINVAL, c.rc);
        EXPECT_EQ(0u, std::string(c.err.msg).find(c.path + ":3: ")) << c.err.msg;
        EXPECT_NE(std::string::npos, std::string(c.err.msg).find(bc.why))
            << "got: " << c.err.msg << "\nwanted: " << bc.why;
        EXPECT_EQ(nullptr, c.cfg);
    }
}

TEST(ConfigSnmp, ValidLinesAreKeptVerbatim)
{
    for (const char *line : mdmtest::kValidSnmpLines) {
        SCOPED_TRACE(line);
        Conf c(std::string(line) + "\n");
        ASSERT_EQ(0, c.rc) << c.err.msg;
        ASSERT_EQ(1u, c.cfg->snmp_line_count);
        EXPECT_EQ(std::string(line),
                  std::string(c.cfg->snmp_lines[0].directive) + " " + c.cfg->snmp_lines[0].value);
    }
}

// Net-SNMP reads names case-insensitively, and so does the validator.
TEST(ConfigSnmp, DirectiveNamesAreCaseInsensitive)
{
    Conf c("CREATEUSER u1 SHA-256\n");
    EXPECT_EQ(MDM_EINVAL, c.rc);
    EXPECT_NE(std::string::npos, std::string(c.err.msg).find("pass phrase is needed")) << c.err.msg;
}

// Words as Net-SNMP's copy_nword() splits them: quotes group, a backslash escapes.
TEST(ConfigSnmp, QuotedAndEscapedPassPhrasesCountAsOneWord)
{
    for (const char *line : {"createUser u1 SHA \"a b c d e\"", "createUser u1 SHA 'a b c d e'",
                             "createUser u1 SHA a\\ b\\ c\\ d\\ e"}) {
        Conf c(std::string(line) + "\n");
        EXPECT_EQ(0, c.rc) << line << ": " << c.err.msg;
    }
    Conf short_quoted("createUser u1 SHA \"a b c\"\n"); // 5 characters
    EXPECT_EQ(MDM_EINVAL, short_quoted.rc);
}

TEST(ConfigSnmp, OverlongWordsAndTooManyWordsAreRefused)
{
    Conf longword("sysLocation " + std::string(MDM_SNMP_WORD_MAX + 1, 'x') + "\n");
    EXPECT_EQ(MDM_EINVAL, longword.rc);
    EXPECT_NE(std::string::npos, std::string(longword.err.msg).find("Net-SNMP would cut it"))
        << longword.err.msg;
    std::string many = "sysLocation";
    for (unsigned i = 0; i <= MDM_SNMP_WORDS_MAX; i++)
        many += " w";
    Conf toomany(many + "\n");
    EXPECT_EQ(MDM_EINVAL, toomany.rc);
    EXPECT_NE(std::string::npos, std::string(toomany.err.msg).find("more than 64 words"))
        << toomany.err.msg;
}

// A generated corpus of lines of every SNMP directive mdmhealth accepts, with values of
// many shapes: each is either accepted or refused with FILE:LINE, never anything else (and
// under ASan/UBSan, no memory error). The Net-SNMP side of the accepted ones is covered by
// test_snmp_agent.cc (CheckNeverCrashesOnGeneratedSnmpLines).
TEST(ConfigSnmp, GeneratedLinesGiveAVerdictAndNeverCrash)
{
    const char *const names[] = {
        "createUser",         "rouser",     "rocommunity",  "rocommunity6",  "trapsess",
        "trap2sink",          "informsink", "agentaddress", "master",        "agentXSocket",
        "agentxPingInterval", "com2sec",    "group",        "view",          "access",
        "trapcommunity",      "engineID",   "sysLocation",  "authtrapenable"};
    const char *const values[] = {"",
                                  "x",
                                  "-",
                                  "-e",
                                  "x y",
                                  "x y z",
                                  "-v",
                                  "-v 3",
                                  "-Ci",
                                  "0",
                                  "-1",
                                  "99999999999999999999",
                                  "'",
                                  "\"",
                                  "\\",
                                  "x -e",
                                  "udp:",
                                  "tcp:[::1",
                                  "127.0.0.1:99999",
                                  "-c",
                                  ".1.3",
                                  "x x x x x x x x x x x",
                                  "x -V",
                                  "-V x",
                                  "default",
                                  "x noauth",
                                  "x authpriv",
                                  "-s",
                                  "-s x",
                                  "unix:",
                                  "1.2.3.4/99",
                                  "u SHA -l",
                                  "u SHA -m",
                                  "u SHA x -l",
                                  "-e 0x8000000001 u SHA-256",
                                  "u SHA-256 authpass1 AES -m",
                                  "--",
                                  "-- x",
                                  "- x",
                                  "\"\" \"\" \"\""};
    size_t refused = 0, accepted = 0;
    for (const char *n : names) {
        for (const char *v : values) {
            std::string line = std::string(n) + " " + v;
            SCOPED_TRACE(line);
            Conf c("# generated\n" + line + "\n");
            if (c.rc == 0) {
                accepted++;
                continue;
            }
            refused++;
            EXPECT_EQ(MDM_EINVAL, c.rc);
            EXPECT_EQ(0u, std::string(c.err.msg).find(c.path + ":2: ")) << c.err.msg;
        }
    }
    EXPECT_GT(refused, accepted); // most of these shapes are wrong for most directives
}

/*
 * The names in the first column of the Markdown table rows ("| `name` | ...")
 * of one section of a document (from the heading to the next "## ").
 */
std::set<std::string> doc_table_names(const std::string &doc, const std::string &heading)
{
    std::set<std::string> names;
    size_t at = doc.find("\n" + heading + "\n");
    EXPECT_NE(std::string::npos, at) << "no section \"" << heading << "\"";
    if (at == std::string::npos)
        return names;
    size_t end = doc.find("\n## ", at + 1);
    std::istringstream in(doc.substr(at, end == std::string::npos ? std::string::npos : end - at));
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, 3, "| `") != 0)
            continue;
        size_t close = line.find('`', 3);
        if (close != std::string::npos)
            names.insert(line.substr(3, close - 3));
    }
    return names;
}

// docs/configuration.md lists exactly the directives of config.c's table.
TEST(ConfigTable, DocsListEveryDirectiveAndNoOther)
{
    std::string doc = mdmtest::read_file(MDM_DOCS_DIR "/configuration.md");
    std::set<std::string> documented = doc_table_names(doc, "## mdmhealth's own directives");
    std::set<std::string> table;
    for (size_t i = 0; i < mdm_config_directive_count; i++) {
        const mdm_config_directive_info &d = mdm_config_directives[i];
        table.insert(d.name);
        EXPECT_TRUE(documented.count(d.name)) << d.name << " is missing from docs/configuration.md";
        EXPECT_NE(nullptr, mdm_config_directive_find(d.name));
        EXPECT_STRNE("", d.args);
        EXPECT_STRNE("", d.help);
        EXPECT_FALSE(mdm_config_is_snmp_directive(d.name)) << d.name;
    }
    for (const std::string &name : documented)
        EXPECT_TRUE(table.count(name))
            << "docs/configuration.md documents \"" << name << "\", which config.c's table lacks";
    EXPECT_EQ(table.size(), mdm_config_directive_count) << "a directive is in the table twice";
    EXPECT_EQ(nullptr, mdm_config_directive_find("trap2sink"));
}

// Every directive of the table is accepted by the parser with a plausible value.
TEST(ConfigTable, ParserHandlesEveryDirective)
{
    for (size_t i = 0; i < mdm_config_directive_count; i++) {
        const char *name = mdm_config_directives[i].name;
        mdm_config *cfg = mdm_config_new();
        mdm_err err;
        mdm_err_clear(&err);
        ASSERT_NE(nullptr, cfg);
        // A wrong value: the handler, not "unknown directive", answers.
        // (diag-skip "" is the empty list: an unknown check name is its wrong value.)
        const char *value = strcmp(name, "diag-skip") == 0 ? "no-such-check" : "";
        int rc = mdm_config_directive(cfg, name, value, "/base", &err);
        EXPECT_EQ(MDM_EINVAL, rc) << name;
        EXPECT_STRNE("", err.msg) << name;
        mdm_config_free(cfg);
    }
}

// docs/diagnose.md lists exactly the checks of MDM_DIAG_CHECKS (config.h), which diag-skip takes.
TEST(ConfigTable, DocsListEveryDiagCheck)
{
    std::string doc = mdmtest::read_file(MDM_DOCS_DIR "/diagnose.md");
    std::set<std::string> documented = doc_table_names(doc, "## The checks");
#define CHECK_NAME(check, suffix, help) check,
    const std::set<std::string> table = {MDM_DIAG_CHECKS(CHECK_NAME)};
#undef CHECK_NAME
    EXPECT_EQ(table, documented);
    for (const std::string &name : table) {
        EXPECT_TRUE(mdm_diag_check_name_known(name.c_str())) << name;
        Conf c("diag-skip " + name + "\n");
        EXPECT_EQ(0, c.rc) << c.err.msg;
    }
    EXPECT_FALSE(mdm_diag_check_name_known("ping"));
}

} // namespace

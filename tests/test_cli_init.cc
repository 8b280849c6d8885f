/*
 * test_cli_init.cc - `mdmhealth init`, which the MSI runs with its public
 * properties: the configuration it writes, that it never replaces one, that
 * bad values are refused before anything is written, and that secrets are
 * not printed. The file is checked by running `mdmhealth check` on it.
 */
#include <gtest/gtest.h>

#include "test_util.h"

#include <algorithm>
#include <string>
#include <vector>

using mdmtest::file_exists;
using mdmtest::make_temp_dir;
using mdmtest::read_file;
using mdmtest::remove_tree;
using mdmtest::run_program;
using mdmtest::write_file;

namespace
{

const std::string kBinary = MDM_BINARY;
const std::string kAuth = "auth passphrase 1";
const std::string kPriv = "privacy-passphrase-2";

class CliInit : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        dir_ = make_temp_dir("init");
        conf_ = dir_ + "/etc/mdmhealth.conf";
        state_ = dir_ + "/state";
    }
    void TearDown() override
    {
        remove_tree(dir_);
    }

    mdmtest::RunResult init(std::vector<std::string> args)
    {
        std::vector<std::string> argv = {kBinary, "init", "-c", conf_, "--state-dir", state_};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_program(argv);
    }

    std::string dir_, conf_, state_;
};

TEST_F(CliInit, WritesACheckedOwnerOnlyConfigurationFromTheValues)
{
    auto r = init({"--enrollment-server", "enroll.contoso.com", "--destination",
                   "nms.contoso.com:10162", "--v3-user", "nms", "--v3-auth-passphrase", kAuth,
                   "--v3-priv-passphrase", kPriv, "--agent-address", "udp:127.0.0.1:11161"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string conf = read_file(conf_);
    EXPECT_NE(conf.find("\nenrollment-server  enroll.contoso.com\n"), std::string::npos) << conf;
    EXPECT_NE(conf.find("\ntrapsess -Ci -v 3 -u nms -l authPriv -a SHA-256 -A \"" + kAuth +
                        "\" -x AES -X \"" + kPriv + "\" nms.contoso.com:10162\n"),
              std::string::npos)
        << conf;
    EXPECT_NE(conf.find("\nagentaddress udp:127.0.0.1:11161\n"), std::string::npos) << conf;
    EXPECT_NE(conf.find("\ncreateUser nms SHA-256 \"" + kAuth + "\" AES \"" + kPriv + "\"\n"),
              std::string::npos)
        << conf;
    EXPECT_NE(conf.find("\nrouser nms authPriv\n"), std::string::npos) << conf;
    /* Who may read it: ConfigurationAndStateAreForTheServiceOnly. */
    EXPECT_FALSE(file_exists(conf_ + ".init"));
    /* The summary names what was configured and never a secret. */
    EXPECT_NE(r.out.find("SNMPv3 informs to nms.contoso.com:10162 (nms)"), std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find(kAuth), std::string::npos);
    EXPECT_EQ(r.out.find(kPriv), std::string::npos);
    EXPECT_EQ(r.err.find(kAuth), std::string::npos);

    auto check = run_program({kBinary, "check", "-c", conf_});
    EXPECT_EQ(check.status, 0) << check.err;
}

TEST_F(CliInit, ConfigurationAndStateAreForTheServiceOnly)
{
    auto r = init({"--enrollment-server", "enroll.contoso.com"});
    ASSERT_EQ(r.status, 0) << r.err;
#ifdef _WIN32
    /*
     * mdm_fs_restrict_to_service: a protected DACL ("D:P", or "D:PAI" as
     * Windows may add auto-inheritance), read back through Windows.
     */
    if (mdmtest::running_under_wine())
        GTEST_SKIP() << "Wine accepts SetNamedSecurityInfoW but keeps no DACL on the file "
                        "(it reads back its default one), so this is verified on Windows only";
    std::string conf = mdmtest::access_of(conf_), state = mdmtest::access_of(state_);
    EXPECT_EQ(conf.rfind("D:P", 0), 0u) << conf;
    EXPECT_EQ(conf.substr(std::min(conf.find('('), conf.size())),
              "(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;NS)")
        << conf;
    EXPECT_EQ(state.rfind("D:P", 0), 0u) << state;
    EXPECT_EQ(state.substr(std::min(state.find('('), state.size())),
              "(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;NS)")
        << state;
#else
    EXPECT_EQ(mdmtest::access_of(conf_), "0600");
    EXPECT_EQ(mdmtest::access_of(state_), "0700");
#endif
}

TEST_F(CliInit, NeverReplacesAnExistingConfiguration)
{
    mdmtest::RunResult r = init({});
    ASSERT_EQ(r.status, 0) << r.err;
    write_file(conf_, "# edited by the administrator\nenrollment-server mine.contoso.com\n");
    r = init({"--enrollment-server", "other.contoso.com", "--destination", "nms:162", "--community",
              "public2"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("left unchanged"), std::string::npos) << r.out;
    EXPECT_EQ(read_file(conf_),
              "# edited by the administrator\nenrollment-server mine.contoso.com\n");
    EXPECT_FALSE(file_exists(conf_ + ".init"));
}

TEST_F(CliInit, EmptyValuesCountAsNotGivenAsTheMsiPassesThem)
{
    auto r = init({"--enrollment-server", "", "--destination", "", "--notify", "", "--v3-user", "",
                   "--v3-auth-passphrase", "", "--v3-priv-passphrase", "", "--community", "",
                   "--agent-address", ""});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string conf = read_file(conf_);
    /* Only comments besides state-dir: nothing is sent and nothing answers yet. */
    EXPECT_NE(conf.find("\n#enrollment-server  enroll.contoso.com\n"), std::string::npos) << conf;
    EXPECT_NE(conf.find("\n#trapsess "), std::string::npos) << conf;
    EXPECT_EQ(conf.find("\ntrapsess"), std::string::npos) << conf;
    EXPECT_EQ(conf.find("\nagentaddress"), std::string::npos) << conf;
    EXPECT_NE(r.out.find("notifications: none"), std::string::npos) << r.out;
    auto check = run_program({kBinary, "check", "-c", conf_});
    EXPECT_EQ(check.status, 0) << check.err;
}

TEST_F(CliInit, CommunityGivesSnmpV2cInformsOrTraps)
{
    auto r = init({"--destination", "127.0.0.1:10162", "--community", "notify-c0mmunity",
                   "--notify", "trap", "--agent-address", "udp:127.0.0.1:11161"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string conf = read_file(conf_);
    EXPECT_NE(conf.find("\ntrap2sink 127.0.0.1:10162 notify-c0mmunity\n"), std::string::npos)
        << conf;
    EXPECT_NE(conf.find("\nrocommunity notify-c0mmunity\n"), std::string::npos) << conf;
    EXPECT_EQ(r.out.find("notify-c0mmunity"), std::string::npos) << r.out;

    remove_tree(dir_);
    dir_ = make_temp_dir("init");
    conf_ = dir_ + "/mdmhealth.conf";
    state_ = dir_ + "/state";
    r = init({"--destination", "127.0.0.1", "--community", "c2"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(read_file(conf_).find("\ninformsink 127.0.0.1 c2\n"), std::string::npos);
}

struct BadValues {
    std::vector<std::string> args;
    const char *says;
};

TEST_F(CliInit, RefusesBadValuesBeforeWritingAnything)
{
    const std::vector<BadValues> cases = {
        {{"--v3-user", "u", "--v3-auth-passphrase", "short", "--v3-priv-passphrase", kPriv},
         "--v3-auth-passphrase: at least 8 characters"},
        {{"--v3-user", "u", "--v3-auth-passphrase", "has \"quote\" in it", "--v3-priv-passphrase",
          kPriv},
         "--v3-auth-passphrase: may not contain double quotes"},
        {{"--v3-user", "u", "--v3-auth-passphrase", kAuth}, "--v3-user needs"},
        {{"--v3-auth-passphrase", kAuth}, "passphrases given without --v3-user"},
        {{"--destination", "nms:162"}, "--destination needs credentials"},
        {{"--destination", "two words", "--community", "c"}, "--destination: may not contain"},
        {{"--community", "c", "--v3-user", "u"}, "either --v3-user"},
        {{"--notify", "carrier-pigeon"}, "neither inform nor trap"},
        {{"--enrollment-server", "enroll\nagentaddress udp:161"}, "may not contain"},
        {{"--bogus", "x"}, "unknown argument"},
        {{"--destination"}, "missing value"},
        /* Accepted by init's own checks, refused by Net-SNMP's parser of the written file. */
        {{"--destination", "nms:162", "--v3-user", "u", "--v3-auth-passphrase", kAuth,
          "--v3-priv-passphrase", kPriv, "--v3-auth-protocol", "MD9"},
         "the configuration these values make is invalid"},
    };
    for (const auto &c : cases) {
        auto r = init(c.args);
        EXPECT_EQ(r.status, 2) << c.says << "\n" << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find(kPriv), std::string::npos) << r.err;
        EXPECT_FALSE(file_exists(conf_)) << c.says;
        EXPECT_FALSE(file_exists(conf_ + ".init")) << c.says;
    }
}

TEST(CliInitHelp, HelpNamesEveryOption)
{
    auto r = run_program({kBinary, "init", "--help"});
    ASSERT_EQ(r.status, 0);
    for (const char *opt :
         {"--enrollment-server", "--destination", "--notify", "--v3-user", "--v3-auth-passphrase",
          "--v3-priv-passphrase", "--community", "--agent-address", "--state-dir"})
        EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
}

} // namespace

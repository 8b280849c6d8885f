// The MSI (scripts/build-msi, installer/mdmhealth.wxs) installed, upgraded and
// removed with Wine's msiexec, in a Wine prefix of its own.
//
// Real: Wine's msiexec and Windows Installer engine (msi.dll: the File,
// Registry, ServiceInstall, ServiceControl and CustomAction tables are
// executed, not just read), its Service Control Manager (the service is
// started by the MSI's ServiceControl and runs mdmhealth.exe as a service),
// its registry, Winsock; a Linux snmptrapd receiving the service's SNMPv3
// inform. A double: wevtapi.dll (tests/windows/wevtapi_double.c), because
// Wine's EvtSubscribe is a stub (Wine 8 lacks EvtCreateRenderContext
// altogether, and the service would abort). The test copies the double into
// THIS TEST PREFIX's system32 and selects it with WINEDLLOVERRIDES=wevtapi=n;
// the MSI never contains it (scripts/check-msi asserts that).
//
// Not provable here: Wine's `sc` has no `qc` or `qfailure`, so the service's
// account and start type are read from the registry key where the SCM keeps
// them (as Windows does), and the recovery actions are not checked; Wine's
// msi.dll ignores MsiHiddenProperties (it logs every property), so hidden
// secrets are asserted on the MSI's tables (scripts/check-msi) instead.
//
// Skipped when wine, the Windows build or its MSI, wixl or snmptrapd is absent.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "agent/common/mdm_version.h"
#include "snmp_fixtures.h"
#include "test_util.h"

namespace
{

const std::string kBuild = MDM_WINDOWS_BUILD_DIR;
const std::string kSource = MDM_SOURCE_DIR;
const std::string kMsi = kBuild + "/mdmhealth-" MDM_VERSION "-x64.msi";
const std::string kPrefix = std::string(MDM_WINE_PREFIX) + "-msi";
const std::string kAuth = "msi-auth-passphrase";
const std::string kPriv = "msi-priv-passphrase";
const std::string kServiceKey = "HKLM\\System\\CurrentControlSet\\Services\\mdmhealth";
const std::string kEventSourceKey =
    "HKLM\\System\\CurrentControlSet\\Services\\EventLog\\Application\\mdmhealth";

std::string wine_path()
{
    for (const char *p : {"/usr/bin/wine", "/usr/bin/wine64"})
        if (access(p, X_OK) == 0)
            return p;
    return "";
}

bool exists(const std::string &path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

// The next patch version: a "newer build" for the upgrade.
std::string newer_version()
{
    std::string v = MDM_VERSION;
    size_t dot = v.rfind('.');
    return v.substr(0, dot + 1) + std::to_string(std::stoi(v.substr(dot + 1)) + 1);
}

class WineMsi : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        if (wine_path().empty())
            GTEST_SKIP() << "wine is not installed (apt-get install wine)";
        if (!exists(kMsi))
            GTEST_SKIP() << kMsi << " is absent: build it with scripts/build-windows";
        if (snmptest::find_program("wixl").empty() || snmptest::find_program("msiinfo").empty())
            GTEST_SKIP() << "wixl / msitools are not installed";
        if (snmptest::find_program("snmptrapd").empty())
            GTEST_SKIP() << "snmptrapd is not installed";
        dir_ = mdmtest::make_temp_dir("msi");
        events_ = dir_ + "/events.xml";
        mdmtest::write_file(events_, "");
        drive_c_ = kPrefix + "/drive_c";
        /* A fresh prefix: nothing left from an earlier run can make a step pass. */
        wine_tool({"wineserver", "-k"}, 30000, true);
        mdmtest::remove_tree(kPrefix);
        auto r = wine_tool({"wineboot", "-i"}, 300000, true);
        ASSERT_EQ(0, r.status) << r.err;
        wine_tool({"wineserver", "-w"}, 120000, true);
        /*
         * A service gets the system environment from the registry, not the
         * installer's (Windows and Wine alike): the double's settings go
         * there, in this test prefix only.
         */
        const std::string env_key =
            "HKLM\\System\\CurrentControlSet\\Control\\Session Manager\\Environment";
        ASSERT_EQ(0, wine_tool({"reg", "add", env_key, "/v", "MDM_WEVTAPI_DOUBLE_FILE", "/t",
                                "REG_SZ", "/d", "Z:" + events_, "/f"})
                         .status);
        /* As tests/wine-prefix-setup.sh: a service start may take long on a busy machine. */
        ASSERT_EQ(0, wine_tool({"reg", "add", "HKLM\\System\\CurrentControlSet\\Control", "/v",
                                "ServicesPipeTimeout", "/t", "REG_DWORD", "/d", "60000", "/f"})
                         .status);
        ASSERT_EQ(0, wine_tool({"reg", "add", "HKCU\\Software\\Wine\\DllOverrides", "/v", "wevtapi",
                                "/t", "REG_SZ", "/d", "native", "/f"})
                         .status);
        wine_tool({"wineserver", "-w"}, 120000, true);
        std::ifstream in(kBuild + "/tests/windows/wevtapi.dll", std::ios::binary);
        ASSERT_TRUE(in) << "the wevtapi double is not built (MDM_BUILD_WINDOWS_TEST_DOUBLES)";
        std::ofstream out(drive_c_ + "/windows/system32/wevtapi.dll",
                          std::ios::binary | std::ios::trunc);
        out << in.rdbuf();
        ASSERT_TRUE(out.good());
        /*
         * Wine stops services when the last ordinary program of the prefix
         * exits; a long ping keeps the prefix up while the service runs.
         */
        ASSERT_TRUE(keep_alive_.start({wine_path(), "ping", "-n", "900", "127.0.0.1"}, env(),
                                      dir_ + "/keepalive.log"));
    }
    void TearDown() override
    {
        if (dir_.empty())
            return;
        wine_tool({"wineserver", "-k"}, 30000, true);
        keep_alive_.kill_hard();
        if (!HasFailure())
            mdmtest::remove_tree(dir_);
    }
    std::vector<std::string> env() const
    {
        return {"WINEPREFIX=" + kPrefix, "WINEDEBUG=-all",
                "WINEDLLOVERRIDES=mscoree,mshtml=;wevtapi=n",
                "MDM_WEVTAPI_DOUBLE_FILE=Z:" + events_};
    }
    // Runs a Wine program (wine TOOL ARGS), or a wine* command itself when bare.
    mdmtest::RunResult wine_tool(const std::vector<std::string> &args, int timeout_ms = 120000,
                                 bool bare = false)
    {
        std::vector<std::string> argv;
        if (bare)
            argv.push_back("/usr/bin/" + args[0]);
        else
            argv = {wine_path(), args[0]};
        argv.insert(argv.end(), args.begin() + 1, args.end());
        return snmptest::run_with_env(argv, env(), timeout_ms);
    }
    mdmtest::RunResult msiexec(const std::vector<std::string> &args)
    {
        std::vector<std::string> a = {"msiexec"};
        a.insert(a.end(), args.begin(), args.end());
        return wine_tool(a, 300000);
    }
    std::string reg_query(const std::string &key)
    {
        return wine_tool({"reg", "query", key}).out;
    }
    std::string program_files() const
    {
        return drive_c_ + "/Program Files/mdmhealth";
    }
    std::string config_path() const
    {
        return drive_c_ + "/ProgramData/mdmhealth/mdmhealth.conf";
    }

    std::string dir_, events_, drive_c_;
    snmptest::Process keep_alive_;
};

TEST_F(WineMsi, InstallsStartsTheServiceUpgradesAndUninstallsKeepingTheConfiguration)
{
    snmptest::TrapReceiver trapd;
    ASSERT_EQ("", trapd.start(dir_ + "/trapd", "createUser nms SHA-256 " + kAuth + " AES " + kPriv +
                                                   "\nauthUser log,execute,net nms\n"));
    /* The event the service will read at its first start (through the double). */
    mdmtest::write_file(events_, mdmtest::event_xml("Device Manager", 1003, 7001,
                                                    "DM01.contoso.com", "2026-11-25T10:00:00.000Z",
                                                    "Mobile Device Manager", "cannot connect"));

    // 1. A silent first install with the public properties.
    auto r =
        msiexec({"/i", "Z:" + kMsi, "/qn", "/l*v", "Z:" + dir_ + "/install.log",
                 "ENROLLMENT_SERVER=enroll.contoso.com",
                 "TRAP_DESTINATION=127.0.0.1:" + std::to_string(trapd.port()), "SNMPV3_USER=nms",
                 "SNMPV3_AUTH_PASSPHRASE=" + kAuth, "SNMPV3_PRIV_PASSPHRASE=" + kPriv});
    ASSERT_EQ(0, r.status) << r.out << r.err << snmptest::read_text(dir_ + "/install.log");
    for (const char *f : {"mdmhealth.exe", "mdmhealth.conf.example", "mib/MDM-HEALTH-MIB.txt",
                          "packs/enrollment-connection.xml", "docs/README.md", "docs/installer.md"})
        EXPECT_TRUE(exists(program_files() + "/" + f)) << f;
    EXPECT_FALSE(exists(program_files() + "/wevtapi.dll"));

    // The configuration, written by `mdmhealth init` from the properties.
    std::string conf = snmptest::read_text(config_path());
    EXPECT_NE(std::string::npos, conf.find("\nenrollment-server  enroll.contoso.com\n")) << conf;
    EXPECT_NE(std::string::npos,
              conf.find("\ntrapsess -Ci -v 3 -u nms -l authPriv -a SHA-256 -A \"" + kAuth +
                        "\" -x AES -X \"" + kPriv + "\" 127.0.0.1:" + std::to_string(trapd.port()) +
                        "\n"))
        << conf;
    // The custom action ran from the verbose log's point of view too. (Wine's
    // msi.dll ignores MsiHiddenProperties and prints every property at the
    // end of the log, so that the secrets stay out of a log is asserted on
    // the tables by scripts/check-msi, and holds on Windows only.)
    EXPECT_NE(std::string::npos,
              snmptest::read_text(dir_ + "/install.log").find("WriteConfiguration"));

    // The service as the SCM keeps it: NetworkService, automatic start.
    std::string svc = reg_query(kServiceKey);
    EXPECT_NE(std::string::npos, svc.find("NT AUTHORITY\\NetworkService")) << svc;
    EXPECT_NE(std::string::npos, svc.find("Start    REG_DWORD    0x2")) << svc;
    EXPECT_NE(std::string::npos, svc.find("mdmhealth\\mdmhealth.exe")) << svc;
    EXPECT_NE(std::string::npos, svc.find("run --service -c")) << svc;
    std::string source = reg_query(kEventSourceKey);
    EXPECT_NE(std::string::npos, source.find("EventMessageFile")) << source;
    EXPECT_NE(std::string::npos, source.find("mdmhealth\\mdmhealth.exe")) << source;
    EXPECT_NE(std::string::npos, source.find("TypesSupported    REG_DWORD    0x7")) << source;

    // Started by the MSI's ServiceControl: the service read the 1003 event
    // and its SNMPv3 inform reached snmptrapd.
    EXPECT_TRUE(trapd.wait_for(
        [](const std::vector<snmptest::Notification> &ns) {
            for (const auto &n : ns)
                if (n.trap_oid == snmptest::oids::kAlertRaised && n.pdu == "INFORM")
                    return true;
            return false;
        },
        120000))
        << trapd.log();
    EXPECT_NE(std::string::npos, wine_tool({"sc", "query", "mdmhealth"}).out.find("RUNNING"));
    const std::string state = drive_c_ + "/ProgramData/mdmhealth/state/state";
    EXPECT_TRUE(snmptest::wait_until([&] { return exists(state); }, 30000));

    // 2. The administrator edits the configuration; a newer MSI replaces the
    //    product and keeps the edit (new properties do not overwrite it).
    {
        std::ofstream f(config_path(), std::ios::app);
        f << "# edited by the administrator\n";
    }
    const std::string newer = dir_ + "/mdmhealth-new.msi";
    r = mdmtest::run_program(
        {kSource + "/scripts/build-msi", kBuild, "--version", newer_version(), "--output", newer});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    r = msiexec({"/i", "Z:" + newer, "/qn", "/l*v", "Z:" + dir_ + "/upgrade.log",
                 "ENROLLMENT_SERVER=other.contoso.com"});
    ASSERT_EQ(0, r.status) << r.out << r.err << snmptest::read_text(dir_ + "/upgrade.log");
    conf = snmptest::read_text(config_path());
    EXPECT_NE(std::string::npos, conf.find("# edited by the administrator\n")) << conf;
    EXPECT_EQ(std::string::npos, conf.find("other.contoso.com")) << conf;
    EXPECT_TRUE(exists(state));
    std::string products =
        wine_tool(
            {"reg", "query", "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall", "/s"})
            .out;
    EXPECT_NE(std::string::npos, products.find(newer_version())) << products;
    EXPECT_EQ(std::string::npos, products.find("mdmhealth " MDM_VERSION)) << products;
    svc = reg_query(kServiceKey);
    EXPECT_NE(std::string::npos, svc.find("NT AUTHORITY\\NetworkService")) << svc;

    // 3. Uninstall: the service, the event source and the program files go;
    //    the configuration and the state stay.
    // Windows Installer waits for the service to stop (ServiceControl
    // Wait="yes") before RemoveFiles. Wine's msi.dll does not, and Wine's
    // service dispatcher keeps the process (and its image file) about 1.5 s
    // after SERVICE_STOPPED, so RemoveFiles would meet mdmhealth.exe in use.
    // The test therefore stops the service first and waits for the process
    // to end; the MSI's StopServices then finds it stopped.
    wine_tool({"sc", "stop", "mdmhealth"});
    EXPECT_TRUE(snmptest::wait_until(
        [&] {
            auto p = mdmtest::run_program(
                {"/usr/bin/pgrep", "-f", "Program Files.mdmhealth.mdmhealth.exe run --service"});
            return p.status == 1;
        },
        30000))
        << "the service's process did not end";
    r = msiexec({"/x", "Z:" + newer, "/qn", "/l*v", "Z:" + dir_ + "/uninstall.log"});
    ASSERT_EQ(0, r.status) << r.out << r.err << snmptest::read_text(dir_ + "/uninstall.log");
    EXPECT_FALSE(exists(program_files() + "/mdmhealth.exe"));
    EXPECT_FALSE(exists(program_files() + "/mib/MDM-HEALTH-MIB.txt"));
    EXPECT_EQ(std::string::npos, reg_query(kServiceKey).find("run --service"));
    EXPECT_EQ(std::string::npos, reg_query(kEventSourceKey).find("EventMessageFile"));
    auto query = wine_tool({"sc", "query", "mdmhealth"});
    EXPECT_NE(0, query.status) << "the service still exists: " << query.out;
    EXPECT_EQ(std::string::npos, query.out.find("SERVICE_NAME")) << query.out;
    EXPECT_NE(std::string::npos,
              snmptest::read_text(config_path()).find("# edited by the administrator\n"));
    EXPECT_TRUE(exists(state));
    trapd.stop();
}

} // namespace

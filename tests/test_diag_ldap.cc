// test_diag_ldap.cc - the "ad-group" check and the "Add Computer Account to
// SCMDM 2008 AD Groups" resolver (agent/diag/ldap_check.c).
//
// Real: OpenLDAP's slapd (/usr/sbin/slapd, a fresh one per test on
// 127.0.0.1 with a free port, an mdb database in a temporary directory loaded
// with slapadd) and libldap (the product's own calls, and the tests'
// read-back searches). Doubles: nothing. The "server down" case is a real
// port with nothing listening, and the "hung server" case a real listening
// socket that never answers. The "password from a prompt" tests run the real
// mdmhealth binary (resolve ad-group --apply) on a real pseudo-terminal
// (posix_openpt) that the test types into, or with stdin a real pipe.
//
// The directory (dc=contoso,dc=test):
//   ou=SCMDM2008 Infrastructure Groups
//     cn=SCMDM2008DeviceManagementServers  members: DM01, NestedDMs, LoopA
//   ou=Groups
//     cn=NestedDMs      members: DM02
//     cn=LoopA          members: LoopB          (a loop reachable from the
//     cn=LoopB          members: LoopA, LoopB    main group, with no computer)
//     cn=Unrelated      members: DM04
//     cn=LegacyDMs      members: DM01           (a group outside the OU)
//     cn=Servers (old)* members: DM01           (a CN that needs RFC 4515 escaping)
//     cn=Deep0 .. Deep16, each holding the next; Deep16 holds DM05
//   ou=Old
//     cn=SCMDM2008DeviceManagementServers  members: DM03 (a decoy outside the OU)
//   ou=Computers: DM01 .. DM05 (objectClass device)
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ldap.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/diag/ldap_ops.h"
#include "test_util.h"

namespace
{

const char *const kSlapd = "/usr/sbin/slapd";
const char *const kSlapadd = "/usr/sbin/slapadd";
const char *const kSuffix = "dc=contoso,dc=test";
const char *const kAdmin = "cn=admin,dc=contoso,dc=test";
const char *const kPassword = "Tr0ub4dor&3-not-in-details";
const char *const kGroupDn =
    "cn=SCMDM2008DeviceManagementServers,ou=SCMDM2008 Infrastructure Groups,dc=contoso,dc=test";

std::string computer(const std::string &cn)
{
    return "cn=" + cn + ",ou=Computers,dc=contoso,dc=test";
}

std::string group(const std::string &cn)
{
    return "cn=" + cn + ",ou=Groups,dc=contoso,dc=test";
}

/* A loopback TCP port that was free a moment ago (the kernel's choice for port 0). */
int free_port()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    socklen_t len = sizeof(sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

bool can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

std::string entry(const std::string &dn, const std::vector<std::string> &lines)
{
    std::string s = "dn: " + dn + "\n";
    for (const auto &l : lines)
        s += l + "\n";
    return s + "\n";
}

std::string group_entry(const std::string &dn, const std::string &cn,
                        const std::vector<std::string> &members)
{
    std::vector<std::string> lines = {"objectClass: groupOfNames", "cn: " + cn};
    for (const auto &m : members)
        lines.push_back("member: " + m);
    return entry(dn, lines);
}

std::string directory_ldif()
{
    const std::string ou = "ou=SCMDM2008 Infrastructure Groups,dc=contoso,dc=test";
    std::string s;
    s += entry(kSuffix,
               {"objectClass: dcObject", "objectClass: organization", "dc: contoso", "o: Contoso"});
    for (const char *name : {"Computers", "Groups", "Old"})
        s += entry(std::string("ou=") + name + "," + kSuffix,
                   {"objectClass: organizationalUnit", std::string("ou: ") + name});
    s += entry(ou, {"objectClass: organizationalUnit", "ou: SCMDM2008 Infrastructure Groups"});
    for (const char *name : {"DM01", "DM02", "DM03", "DM04", "DM05"})
        s += entry(computer(name), {"objectClass: device", std::string("cn: ") + name});
    s += group_entry(kGroupDn, "SCMDM2008DeviceManagementServers",
                     {computer("DM01"), group("NestedDMs"), group("LoopA")});
    s += group_entry(group("NestedDMs"), "NestedDMs", {computer("DM02")});
    s += group_entry(group("LoopA"), "LoopA", {group("LoopB")});
    s += group_entry(group("LoopB"), "LoopB", {group("LoopA"), group("LoopB")});
    s += group_entry(group("Unrelated"), "Unrelated", {computer("DM04")});
    s += group_entry(group("LegacyDMs"), "LegacyDMs", {computer("DM01")});
    s += group_entry("cn=Servers \\28old\\29*,ou=Groups,dc=contoso,dc=test", "Servers (old)*",
                     {computer("DM01")});
    for (int i = 0; i <= 16; i++) {
        std::string name = "Deep" + std::to_string(i);
        std::string inner = i < 16 ? group("Deep" + std::to_string(i + 1)) : computer("DM05");
        s += group_entry(group(name), name, {inner});
    }
    s += group_entry("cn=SCMDM2008DeviceManagementServers,ou=Old,dc=contoso,dc=test",
                     "SCMDM2008DeviceManagementServers", {computer("DM03")});
    return s;
}

/* The member values of a group, read with libldap directly (anonymous bind). */
std::vector<std::string> members_of(const std::string &uri, const std::string &dn)
{
    std::vector<std::string> out;
    LDAP *ld = nullptr;
    int version = LDAP_VERSION3;
    if (ldap_initialize(&ld, uri.c_str()) != LDAP_SUCCESS) {
        ADD_FAILURE() << "ldap_initialize " << uri;
        return out;
    }
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    char attr[] = "member";
    char *attrs[] = {attr, nullptr};
    LDAPMessage *res = nullptr;
    int rc = ldap_search_ext_s(ld, dn.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0,
                               nullptr, nullptr, nullptr, 0, &res);
    EXPECT_EQ(LDAP_SUCCESS, rc) << ldap_err2string(rc);
    LDAPMessage *e = res != nullptr ? ldap_first_entry(ld, res) : nullptr;
    berval **vals = e != nullptr ? ldap_get_values_len(ld, e, "member") : nullptr;
    for (size_t i = 0; vals != nullptr && vals[i] != nullptr; i++)
        out.emplace_back(vals[i]->bv_val, vals[i]->bv_len);
    if (vals != nullptr)
        ldap_value_free_len(vals);
    if (res != nullptr)
        ldap_msgfree(res);
    ldap_unbind_ext_s(ld, nullptr, nullptr);
    return out;
}

bool contains(const std::vector<std::string> &v, const std::string &s)
{
    for (const auto &x : v)
        if (x == s)
            return true;
    return false;
}

bool has(const std::string &haystack, const std::string &needle)
{
    return haystack.find(needle) != std::string::npos;
}

class Slapd : public ::testing::Test
{
  protected:
    std::string dir, uri, password_file;
    pid_t pid = -1;
    int port = -1;

    void SetUp() override
    {
        if (!mdmtest::file_exists(kSlapd) || !mdmtest::file_exists(kSlapadd))
            GTEST_SKIP() << kSlapd << " is not installed (Debian: apt-get install slapd); "
                         << "the LDAP tests need a real slapd";
        dir = mdmtest::make_temp_dir("slapd");
        ASSERT_FALSE(dir.empty());
        ASSERT_EQ(0, mkdir((dir + "/db").c_str(), 0700));
        mdmtest::write_file(dir + "/slapd.conf", "include /etc/ldap/schema/core.schema\n"
                                                 "include /etc/ldap/schema/cosine.schema\n"
                                                 "modulepath /usr/lib/ldap\n"
                                                 "moduleload back_mdb\n"
                                                 "pidfile \"" +
                                                     dir + "/slapd.pid\"\n" + "argsfile \"" + dir +
                                                     "/slapd.args\"\n"
                                                     "database mdb\n"
                                                     "suffix \"" +
                                                     kSuffix + "\"\n" + "rootdn \"" + kAdmin +
                                                     "\"\n" + "rootpw " + kPassword + "\n" +
                                                     "directory \"" + dir + "/db\"\n" +
                                                     "maxsize 10485760\n");
        mdmtest::write_file(dir + "/tree.ldif", directory_ldif());
        auto added =
            mdmtest::run_program({kSlapadd, "-f", dir + "/slapd.conf", "-l", dir + "/tree.ldif"});
        ASSERT_EQ(0, added.status) << "slapadd: " << added.err;
        password_file = dir + "/ldap.pw";
        mdmtest::write_file(password_file, std::string(kPassword) + "\n");
        ASSERT_EQ(0, chmod(password_file.c_str(), 0600));
        /* A port taken between free_port() and slapd's bind: try another one. */
        for (int attempt = 0; attempt < 5 && pid < 0; attempt++)
            start_slapd();
        ASSERT_GT(pid, 0) << "slapd did not start: " << mdmtest::read_file(dir + "/slapd.log");
    }

    void start_slapd()
    {
        port = free_port();
        if (port <= 0)
            return;
        std::string url = "ldap://127.0.0.1:" + std::to_string(port) + "/";
        std::string conf = dir + "/slapd.conf", log = dir + "/slapd.log";
        pid_t child = fork();
        if (child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
            int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            /* -d 0: stay in the foreground, so that the test owns the process. */
            execl(kSlapd, kSlapd, "-h", url.c_str(), "-f", conf.c_str(), "-d", "0",
                  static_cast<char *>(nullptr));
            _exit(127);
        }
        if (child < 0)
            return;
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < until) {
            int status;
            if (waitpid(child, &status, WNOHANG) == child)
                return; /* exited: port taken or bad configuration */
            if (can_connect(port)) {
                pid = child;
                uri = url;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
    }

    void TearDown() override
    {
        if (pid > 0) {
            kill(pid, SIGTERM);
            auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
            int status;
            while (waitpid(pid, &status, WNOHANG) == 0) {
                if (std::chrono::steady_clock::now() > until) {
                    kill(pid, SIGKILL);
                    waitpid(pid, &status, 0);
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }
        if (!dir.empty()) {
            std::string cmd = "rm -rf '" + dir + "'";
            if (system(cmd.c_str()) != 0)
                ADD_FAILURE() << "cleanup of " << dir << " failed";
        }
    }

    /* Options as mdmhealth.conf would give them, bound as the directory's admin. */
    mdm_diag_options options(const std::string &computer_dn)
    {
        computer_dn_ = computer_dn;
        mdm_diag_options o{};
        o.ad_group = "SCMDM2008DeviceManagementServers";
        o.ldap_uri = uri.c_str();
        o.ldap_base = kSuffix;
        o.computer_dn = computer_dn_.c_str();
        o.ldap_bind_dn = kAdmin;
        o.ldap_password_file = password_file.c_str();
        o.timeout_ms = 5000;
        return o;
    }

    mdm_check_result check(const mdm_diag_options &o)
    {
        mdm_check_result r{};
        r.status = static_cast<mdm_check_status>(0);
        mdm_check_ad_group(&o, &r);
        EXPECT_LT(strlen(r.detail), sizeof(r.detail));
        return r;
    }

  private:
    std::string computer_dn_;
};

TEST_F(Slapd, DirectMemberPasses)
{
    auto r = check(options(computer("DM01")));
    EXPECT_EQ(MDM_CHECK_PASS, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "direct member")) << r.detail;
    EXPECT_TRUE(has(r.detail, kGroupDn)) << r.detail;
    EXPECT_FALSE(has(r.detail, "outside the OU")) << r.detail;
}

TEST_F(Slapd, NestedMemberPassesAndNamesTheIntermediateGroup)
{
    auto r = check(options(computer("DM02")));
    EXPECT_EQ(MDM_CHECK_PASS, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "nested member")) << r.detail;
    EXPECT_TRUE(has(r.detail, "through " + group("NestedDMs"))) << r.detail;
}

TEST_F(Slapd, NonMemberFailsAndSaysWhatToDo)
{
    /* DM03 is in the decoy group of the same name in ou=Old: the OU's group wins. */
    auto r = check(options(computer("DM03")));
    EXPECT_EQ(MDM_CHECK_FAIL, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, computer("DM03") + " is not a member of " + kGroupDn)) << r.detail;
    EXPECT_TRUE(has(r.detail, "add it (mdmhealth resolve ad-group)")) << r.detail;
}

TEST_F(Slapd, GroupLoopTerminatesAndFails)
{
    /* The main group reaches LoopA -> LoopB -> LoopA (and LoopB -> LoopB). */
    auto t0 = std::chrono::steady_clock::now();
    auto r = check(options(computer("DM04")));
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    EXPECT_EQ(MDM_CHECK_FAIL, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "is not a member")) << r.detail;
    EXPECT_LT(ms, 2000) << "the expansion should end at once, not at the timeout";
}

TEST_F(Slapd, SixteenLevelsOfNestingAreFollowed)
{
    auto o = options(computer("DM05"));
    o.ad_group = "Deep1"; /* Deep1 -> ... -> Deep16 -> DM05: 16 levels */
    auto r = check(o);
    EXPECT_EQ(MDM_CHECK_PASS, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "through " + group("Deep2"))) << r.detail;
    EXPECT_TRUE(has(r.detail, group("Deep16"))) << r.detail;
}

TEST_F(Slapd, DeeperNestingIsAnErrorNotAFail)
{
    auto o = options(computer("DM05"));
    o.ad_group = "Deep0"; /* 17 levels: past the cap, so membership is undecided */
    auto r = check(o);
    EXPECT_EQ(MDM_CHECK_ERROR, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "more than 16 levels")) << r.detail;
}

TEST_F(Slapd, GroupOutsideTheOuIsUsedAndSaidSo)
{
    auto o = options(computer("DM01"));
    o.ad_group = "LegacyDMs";
    auto r = check(o);
    EXPECT_EQ(MDM_CHECK_PASS, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "found outside the OU SCMDM2008 Infrastructure Groups")) << r.detail;
}

TEST_F(Slapd, GroupNameIsEscapedInTheFilter)
{
    auto o = options(computer("DM01"));
    o.ad_group = "Servers (old)*";
    auto r = check(o);
    EXPECT_EQ(MDM_CHECK_PASS, r.status) << r.detail;
    /* "*" alone must be a name, not a wildcard that matches every group. */
    o.ad_group = "*";
    r = check(o);
    EXPECT_EQ(MDM_CHECK_FAIL, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "not found")) << r.detail;
}

TEST_F(Slapd, MissingGroupFails)
{
    auto o = options(computer("DM01"));
    o.ad_group = "NoSuchGroup";
    auto r = check(o);
    EXPECT_EQ(MDM_CHECK_FAIL, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "NoSuchGroup was not found under dc=contoso,dc=test")) << r.detail;
}

TEST_F(Slapd, MissingComputerAccountFails)
{
    auto r = check(options(computer("DM99")));
    EXPECT_EQ(MDM_CHECK_FAIL, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, computer("DM99"))) << r.detail;
    EXPECT_TRUE(has(r.detail, "computer-dn")) << r.detail;
}

TEST_F(Slapd, AnonymousBindCanCheck)
{
    auto o = options(computer("DM02"));
    o.ldap_bind_dn = nullptr;
    o.ldap_password_file = nullptr;
    auto r = check(o);
    EXPECT_EQ(MDM_CHECK_PASS, r.status) << r.detail;
}

TEST_F(Slapd, WrongPasswordIsAnErrorWithoutThePassword)
{
    const std::string wrong = "wrong-Secret-42";
    mdmtest::write_file(password_file, wrong + "\r\n");
    auto r = check(options(computer("DM01")));
    EXPECT_EQ(MDM_CHECK_ERROR, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "Invalid credentials")) << r.detail;
    EXPECT_TRUE(has(r.detail, uri)) << r.detail;
    EXPECT_TRUE(has(r.detail, kAdmin)) << r.detail;
    EXPECT_FALSE(has(r.detail, wrong)) << r.detail;
    EXPECT_FALSE(has(r.detail, kPassword)) << r.detail;
}

TEST_F(Slapd, GroupOrWorldReadablePasswordFileIsAnError)
{
    for (mode_t mode : {0644, 0640, 0604, 0660}) {
        ASSERT_EQ(0, chmod(password_file.c_str(), mode));
        auto r = check(options(computer("DM01")));
        EXPECT_EQ(MDM_CHECK_ERROR, r.status) << r.detail;
        EXPECT_TRUE(has(r.detail, password_file)) << r.detail;
        EXPECT_TRUE(has(r.detail, "chmod 600")) << r.detail;
        EXPECT_FALSE(has(r.detail, kPassword)) << r.detail;
    }
    ASSERT_EQ(0, chmod(password_file.c_str(), 0400));
    EXPECT_EQ(MDM_CHECK_PASS, check(options(computer("DM01"))).status);
}

TEST_F(Slapd, ServerDownIsAnErrorWithinTheTimeout)
{
    int closed = free_port(); /* nothing listens there */
    ASSERT_GT(closed, 0);
    std::string down = "ldap://127.0.0.1:" + std::to_string(closed) + "/";
    auto o = options(computer("DM01"));
    o.ldap_uri = down.c_str();
    o.timeout_ms = 2000;
    auto t0 = std::chrono::steady_clock::now();
    auto r = check(o);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    EXPECT_EQ(MDM_CHECK_ERROR, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, down)) << r.detail;
    EXPECT_TRUE(has(r.detail, "Can't contact LDAP server")) << r.detail;
    EXPECT_LT(ms, 2000 + 500);
}

TEST_F(Slapd, HungServerIsAnErrorAtTheTimeout)
{
    /* A real listening socket that never accepts nor answers. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    socklen_t len = sizeof(sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(0, bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)));
    ASSERT_EQ(0, listen(fd, 8));
    ASSERT_EQ(0, getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len));
    std::string hung = "ldap://127.0.0.1:" + std::to_string(ntohs(sa.sin_port)) + "/";
    auto o = options(computer("DM01"));
    o.ldap_uri = hung.c_str();
    o.timeout_ms = 1000;
    auto t0 = std::chrono::steady_clock::now();
    auto r = check(o);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    close(fd);
    EXPECT_EQ(MDM_CHECK_ERROR, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, hung)) << r.detail;
    EXPECT_TRUE(has(r.detail, "1000 ms")) << r.detail;
    EXPECT_GE(ms, 900);
    EXPECT_LT(ms, 1000 + 1000);
}

TEST_F(Slapd, NotConfiguredSkipsAndNamesTheDirectives)
{
    auto o = options(computer("DM01"));
    o.ldap_uri = nullptr;
    o.ldap_base = nullptr;
    auto r = check(o);
    EXPECT_EQ(MDM_CHECK_SKIP, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "set ldap-uri, ldap-base and computer-dn (Windows discovers them)"))
        << r.detail;
    EXPECT_TRUE(has(r.detail, "missing: ldap-uri, ldap-base")) << r.detail;
}

TEST_F(Slapd, BindDnWithoutPasswordFileIsAnError)
{
    auto o = options(computer("DM01"));
    o.ldap_password_file = nullptr;
    auto r = check(o);
    EXPECT_EQ(MDM_CHECK_ERROR, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "ldap-password-file is not")) << r.detail;
}

// --- the resolver -------------------------------------------------------------

TEST_F(Slapd, ResolveDryRunSaysWhatAndChangesNothing)
{
    auto o = options(computer("DM03"));
    char report[4096];
    mdm_err err;
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_ldap_add_member(&o, false, report, sizeof(report), &err)) << err.msg;
    std::string text = report;
    EXPECT_TRUE(has(text, "Dry run: nothing was changed")) << text;
    EXPECT_TRUE(has(text, std::string("dn: ") + kGroupDn +
                              "\nchangetype: modify\nadd: member\n"
                              "member: " +
                              computer("DM03") + "\n-\n"))
        << text;
    EXPECT_TRUE(has(text, std::string("Add-ADGroupMember -Identity '") + kGroupDn + "' -Members '" +
                              computer("DM03") + "'"))
        << text;
    EXPECT_FALSE(contains(members_of(uri, kGroupDn), computer("DM03")));
    EXPECT_EQ(MDM_CHECK_FAIL, check(o).status);
}

TEST_F(Slapd, ResolveApplyAddsTheComputerAndTheCheckThenPasses)
{
    auto o = options(computer("DM03"));
    char report[4096];
    mdm_err err;
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_ldap_add_member(&o, true, report, sizeof(report), &err)) << err.msg;
    EXPECT_TRUE(has(report, "Added " + computer("DM03") + " to " + kGroupDn)) << report;
    EXPECT_TRUE(has(report, "direct member")) << report;
    EXPECT_TRUE(contains(members_of(uri, kGroupDn), computer("DM03")));
    auto r = check(o);
    EXPECT_EQ(MDM_CHECK_PASS, r.status) << r.detail;
    EXPECT_TRUE(has(r.detail, "direct member")) << r.detail;
    /* Running it again changes nothing. */
    ASSERT_EQ(0, mdm_ldap_add_member(&o, true, report, sizeof(report), &err)) << err.msg;
    EXPECT_TRUE(has(report, "already a direct member")) << report;
}

TEST_F(Slapd, ResolveLeavesANestedMemberAlone)
{
    auto o = options(computer("DM02"));
    char report[4096];
    mdm_err err;
    mdm_err_clear(&err);
    ASSERT_EQ(0, mdm_ldap_add_member(&o, true, report, sizeof(report), &err)) << err.msg;
    EXPECT_TRUE(has(report, "already a nested member")) << report;
    EXPECT_TRUE(has(report, group("NestedDMs"))) << report;
    EXPECT_FALSE(contains(members_of(uri, kGroupDn), computer("DM02")));
}

TEST_F(Slapd, ResolveAnonymouslyIsRefusedWithAReason)
{
    auto o = options(computer("DM03"));
    o.ldap_bind_dn = nullptr;
    o.ldap_password_file = nullptr;
    char report[4096] = "untouched";
    mdm_err err;
    mdm_err_clear(&err);
    EXPECT_EQ(MDM_EIO, mdm_ldap_add_member(&o, true, report, sizeof(report), &err));
    EXPECT_TRUE(has(err.msg, "may not change the group")) << err.msg;
    EXPECT_TRUE(has(err.msg, uri)) << err.msg;
    EXPECT_STREQ("untouched", report);
    EXPECT_FALSE(contains(members_of(uri, kGroupDn), computer("DM03")));
}

TEST_F(Slapd, ResolveNeedsTheDirectivesAndAReportThatFits)
{
    auto o = options(computer("DM03"));
    char report[4096] = "untouched";
    mdm_err err;
    mdm_err_clear(&err);
    o.computer_dn = nullptr;
    EXPECT_EQ(MDM_EINVAL, mdm_ldap_add_member(&o, false, report, sizeof(report), &err));
    EXPECT_TRUE(has(err.msg, "missing: computer-dn")) << err.msg;
    o = options(computer("DM03"));
    EXPECT_EQ(MDM_ETOOBIG, mdm_ldap_add_member(&o, false, report, 40, &err));
    EXPECT_STREQ("untouched", report);
    o.ad_group = "NoSuchGroup";
    EXPECT_EQ(MDM_ENOTFOUND, mdm_ldap_add_member(&o, false, report, sizeof(report), &err));
    EXPECT_STREQ("untouched", report);
}

// --- the resolver asking the password on a terminal (mdmhealth resolve ad-group) ----------

/* What a run of mdmhealth printed and how it ended. */
struct Spawned {
    int status = -1;    /* the raw waitpid status */
    std::string output; /* stdout and stderr together, as the terminal showed them */
    bool prompted = false;
    bool echo_during_prompt = true; /* ECHO of the terminal while the prompt waited */
    bool echo_after = false;        /* ECHO of the terminal after mdmhealth ended */
};

/* Reads what is available on fd into out, waiting at most wait_ms; false at end of file. */
bool read_some(int fd, std::string &out, int wait_ms)
{
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, wait_ms) <= 0)
        return true;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0)
        return false; /* EIO from a pty master when no slave is open, or EOF */
    out.append(buf, static_cast<size_t>(n));
    return true;
}

/*
 * Runs argv with a new pseudo-terminal as its controlling terminal and
 * stdin/stdout/stderr. When the output shows prompt, records the terminal's
 * ECHO flag and types input (which may be "\x03", Ctrl-C). Afterwards records
 * the ECHO flag again (the test keeps the slave side open for that).
 */
Spawned run_on_pty(const std::vector<std::string> &argv, const std::string &prompt,
                   const std::string &input)
{
    Spawned r;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        ADD_FAILURE() << "posix_openpt: " << strerror(errno);
        return r;
    }
    std::string slave_name = ptsname(master);
    int slave = open(slave_name.c_str(), O_RDWR | O_NOCTTY);
    termios t{};
    if (slave < 0 || tcgetattr(slave, &t) != 0 || (t.c_lflag & ECHO) == 0) {
        ADD_FAILURE() << "a new terminal should echo: " << slave_name;
        close(master);
        return r;
    }
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* As an interactive shell starts a command: Ctrl-C not ignored. */
        for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP})
            signal(sig, SIG_DFL);
        setsid();
        int fd = open(slave_name.c_str(), O_RDWR); /* the controlling terminal of the new session */
        if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) != 0)
            _exit(126);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(master);
        close(slave);
        if (fd > 2)
            close(fd);
        std::vector<char *> args;
        for (const auto &a : argv)
            args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    /* Deadlines only so that a broken build fails instead of hanging. */
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!r.prompted && std::chrono::steady_clock::now() < until) {
        read_some(master, r.output, 100);
        if (has(r.output, prompt)) {
            r.prompted = true;
            r.echo_during_prompt = tcgetattr(slave, &t) == 0 && (t.c_lflag & ECHO) != 0;
            if (write(master, input.data(), input.size()) != static_cast<ssize_t>(input.size()))
                ADD_FAILURE() << "cannot type into the terminal";
        }
        if (waitpid(child, &r.status, WNOHANG) == child) {
            child = -1;
            break;
        }
    }
    while (child > 0 && std::chrono::steady_clock::now() < until) {
        read_some(master, r.output, 100);
        if (waitpid(child, &r.status, WNOHANG) == child)
            child = -1;
    }
    if (child > 0) {
        ADD_FAILURE() << "mdmhealth did not end; output so far: " << r.output;
        kill(child, SIGKILL);
        waitpid(child, &r.status, 0);
    }
    r.echo_after = tcgetattr(slave, &t) == 0 && (t.c_lflag & ECHO) != 0;
    /* With the last slave closed, the master gives what is left, then EIO. */
    close(slave);
    while (read_some(master, r.output, 1000)) {
    }
    close(master);
    return r;
}

/* Runs argv with stdin a pipe holding input, stdout and stderr a pipe. */
Spawned run_on_pipes(const std::vector<std::string> &argv, const std::string &input)
{
    Spawned r;
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) {
        ADD_FAILURE() << "pipe: " << strerror(errno);
        return r;
    }
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setsid(); /* no controlling terminal either */
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        std::vector<char *> args;
        for (const auto &a : argv)
            args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (write(in[1], input.data(), input.size()) != static_cast<ssize_t>(input.size()))
        ADD_FAILURE() << "cannot write to the pipe";
    close(in[1]);
    while (read_some(out[0], r.output, 30000)) {
    }
    close(out[0]);
    waitpid(child, &r.status, 0);
    return r;
}

class SlapdPrompt : public Slapd
{
  protected:
    std::string conf;

    void SetUp() override
    {
        Slapd::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        /* ldap-bind-dn without ldap-password-file: the password must be asked. */
        conf = dir + "/mdmhealth.conf";
        mdmtest::write_file(conf, "pack " MDM_PACKS_DIR "/enrollment-connection.xml\n"
                                  "state-dir " +
                                      dir + "/state\n" + "ldap-uri " + uri + "\n" + "ldap-base " +
                                      kSuffix + "\n" + "computer-dn " + computer("DM03") + "\n" +
                                      "ldap-bind-dn " + kAdmin + "\n");
    }

    std::vector<std::string> resolve(bool apply)
    {
        std::vector<std::string> argv = {MDM_BINARY, "resolve", "ad-group", "-c", conf};
        if (apply)
            argv.push_back("--apply");
        return argv;
    }

    static std::string prompt()
    {
        return std::string("LDAP password for ") + kAdmin + ": ";
    }
};

TEST_F(SlapdPrompt, PasswordTypedOnTheTerminalIsNotEchoedAndAddsTheComputer)
{
    ASSERT_FALSE(contains(members_of(uri, kGroupDn), computer("DM03")));
    auto r = run_on_pty(resolve(true), prompt(), std::string(kPassword) + "\n");
    ASSERT_TRUE(r.prompted) << r.output;
    ASSERT_TRUE(WIFEXITED(r.status)) << r.output;
    EXPECT_EQ(0, WEXITSTATUS(r.status)) << r.output;
    EXPECT_FALSE(r.echo_during_prompt) << "echo must be off while the password is typed";
    EXPECT_TRUE(r.echo_after) << "the terminal's echo must be restored";
    EXPECT_FALSE(has(r.output, kPassword)) << r.output;
    EXPECT_TRUE(has(r.output, "Added " + computer("DM03") + " to " + kGroupDn)) << r.output;
    EXPECT_TRUE(contains(members_of(uri, kGroupDn), computer("DM03")));
}

TEST_F(SlapdPrompt, WrongPasswordIsABindErrorAndChangesNothing)
{
    const std::string wrong = "wrong-Secret-42";
    auto r = run_on_pty(resolve(true), prompt(), wrong + "\n");
    ASSERT_TRUE(r.prompted) << r.output;
    ASSERT_TRUE(WIFEXITED(r.status)) << r.output;
    EXPECT_EQ(1, WEXITSTATUS(r.status)) << r.output;
    EXPECT_TRUE(has(r.output, std::string("bind as ") + kAdmin)) << r.output;
    EXPECT_TRUE(has(r.output, "Invalid credentials")) << r.output;
    EXPECT_FALSE(has(r.output, wrong)) << r.output;
    EXPECT_FALSE(r.echo_during_prompt);
    EXPECT_TRUE(r.echo_after);
    EXPECT_FALSE(contains(members_of(uri, kGroupDn), computer("DM03")));
}

TEST_F(SlapdPrompt, CtrlCAtThePromptRestoresTheEchoAndChangesNothing)
{
    /* ^C (the terminal's VINTR) makes the line discipline send SIGINT. */
    auto r = run_on_pty(resolve(true), prompt(), "half-typed\x03");
    ASSERT_TRUE(r.prompted) << r.output;
    ASSERT_TRUE(WIFSIGNALED(r.status)) << r.output;
    EXPECT_EQ(SIGINT, WTERMSIG(r.status));
    EXPECT_FALSE(r.echo_during_prompt);
    EXPECT_TRUE(r.echo_after) << "the SIGINT handler must restore the echo";
    EXPECT_FALSE(has(r.output, "half-typed")) << r.output;
    EXPECT_FALSE(contains(members_of(uri, kGroupDn), computer("DM03")));
}

TEST_F(SlapdPrompt, NoTerminalAndNoPasswordFileIsAConfigurationError)
{
    /* The password on a pipe is refused: only a terminal (or the file) may give it. */
    auto r = run_on_pipes(resolve(true), std::string(kPassword) + "\n");
    ASSERT_TRUE(WIFEXITED(r.status)) << r.output;
    EXPECT_EQ(2, WEXITSTATUS(r.status)) << r.output;
    EXPECT_TRUE(has(r.output, "set ldap-password-file or run interactively")) << r.output;
    EXPECT_FALSE(has(r.output, "LDAP password for")) << r.output;
    EXPECT_FALSE(contains(members_of(uri, kGroupDn), computer("DM03")));
}

TEST_F(SlapdPrompt, DryRunSaysThePasswordWillBeAskedAndAsksNothing)
{
    auto r = run_on_pipes(resolve(false), "");
    ASSERT_TRUE(WIFEXITED(r.status)) << r.output;
    EXPECT_EQ(0, WEXITSTATUS(r.status)) << r.output;
    EXPECT_TRUE(has(r.output, std::string("with --apply the password for ") + kAdmin +
                                  " is asked on the terminal"))
        << r.output;
    EXPECT_TRUE(has(r.output, "add: member\nmember: " + computer("DM03"))) << r.output;
    EXPECT_TRUE(has(r.output, "Dry run: nothing changed (add --apply).")) << r.output;
    EXPECT_FALSE(contains(members_of(uri, kGroupDn), computer("DM03")));
}

TEST_F(SlapdPrompt, PasswordFileStillWinsOverThePrompt)
{
    mdmtest::write_file(conf,
                        mdmtest::read_file(conf) + "ldap-password-file " + password_file + "\n");
    auto r = run_on_pipes(resolve(true), "");
    ASSERT_TRUE(WIFEXITED(r.status)) << r.output;
    EXPECT_EQ(0, WEXITSTATUS(r.status)) << r.output;
    EXPECT_FALSE(has(r.output, "LDAP password for")) << r.output;
    EXPECT_TRUE(contains(members_of(uri, kGroupDn), computer("DM03")));
}

} // namespace

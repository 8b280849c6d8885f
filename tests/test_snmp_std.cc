// test_snmp_std.cc - the standard objects every SNMP manager reads first
// (SNMPv2-MIB system group, sysORTable, snmp group, SNMP-FRAMEWORK-MIB
// snmpEngine, SNMP-MPD-MIB and USM statistics), the sockets the agent opens,
// and the persistence of snmpEngineBoots and the engine ID (RFC 3414).
//
// Everything is real, as in test_snmp_agent.cc: `mdmhealth run -f` and the
// Net-SNMP tools (snmpget, snmpwalk, snmpbulkwalk, snmpset) and snmpd from
// the Debian packages, on 127.0.0.1 with free ports. The sockets are read
// from /proc (the process's descriptors, mapped through
// /proc/PID/net/{tcp,tcp6,udp,udp6}), so those tests run on Linux only.
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent/common/mdm_version.h"
#include "snmp_fixtures.h"
#include "test_util.h"

using snmptest::get_value;
using snmptest::MasterAgent;
using snmptest::MdmAgent;
using snmptest::snmp_tool;
using snmptest::TrapReceiver;
using snmptest::wait_until;
namespace oids = snmptest::oids;

namespace
{

const std::string kSysDescr = ".1.3.6.1.2.1.1.1.0";
const std::string kSysObjectId = ".1.3.6.1.2.1.1.2.0";
const std::string kSysUpTime = ".1.3.6.1.2.1.1.3.0";
const std::string kSysContact = ".1.3.6.1.2.1.1.4.0";
const std::string kSysName = ".1.3.6.1.2.1.1.5.0";
const std::string kSysLocation = ".1.3.6.1.2.1.1.6.0";
const std::string kSysServices = ".1.3.6.1.2.1.1.7.0";
const std::string kSysORTable = ".1.3.6.1.2.1.1.9";
const std::string kSysORID = ".1.3.6.1.2.1.1.9.1.2";
const std::string kSnmpInPkts = ".1.3.6.1.2.1.11.1.0";
const std::string kSnmpEnableAuthenTraps = ".1.3.6.1.2.1.11.30.0";
const std::string kEngineId = ".1.3.6.1.6.3.10.2.1.1.0";
const std::string kEngineBoots = ".1.3.6.1.6.3.10.2.1.2.0";
const std::string kEngineTime = ".1.3.6.1.6.3.10.2.1.3.0";
const std::string kEngineMaxMessageSize = ".1.3.6.1.6.3.10.2.1.4.0";
const std::string kSnmpUnknownSecurityModels = ".1.3.6.1.6.3.11.2.1.1.0";
const std::string kUsmStatsUnknownUserNames = ".1.3.6.1.6.3.15.1.1.3.0";
const std::string kUsmStatsWrongDigests = ".1.3.6.1.6.3.15.1.1.5.0";
// (Literals: oids::kRoot lives in another file, whose initialisation order is not defined.)
const std::string kProductAgent = ".1.3.6.1.4.1.8072.9999.9999.3.1"; // mdmHealthAgent
const std::string kCompliance = ".1.3.6.1.4.1.8072.9999.9999.2.1.1"; // mdmHealthCompliance
const std::string kNoSuchObject = "No Such Object available on this agent at this OID";
const std::string kNoSuchInstance = "No Such Instance currently exists at this OID";

std::string host_name()
{
    char name[256] = "";
    gethostname(name, sizeof(name) - 1);
    return name;
}

/* The value part of the line snmpget printed for oid ("" when absent), including noSuch texts. */
std::string raw_value(const mdmtest::RunResult &r, const std::string &oid)
{
    std::istringstream in(r.out);
    std::string line, key = oid + " = ";
    while (std::getline(in, line))
        if (line.compare(0, key.size(), key) == 0)
            return line.substr(key.size());
    return "";
}

/* The OIDs of a walk's output lines, in order ("OID = value" lines only). */
std::vector<std::string> walk_oids(const std::string &out)
{
    std::vector<std::string> v;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        size_t eq = line.find(" = ");
        if (line.empty() || line[0] != '.' || eq == std::string::npos ||
            line.find(" = No more variables left") != std::string::npos)
            continue;
        v.push_back(line.substr(0, eq));
    }
    return v;
}

/* "INTEGER: 7" -> 7; -1 when the text is no INTEGER. */
long integer_of(const std::string &typed)
{
    const std::string p = "INTEGER: ";
    if (typed.compare(0, p.size(), p) != 0)
        return -1;
    return std::stol(typed.substr(p.size()));
}

/*
 * The engine ID snmpget printed for oid (a Hex-STRING, which it wraps after
 * 16 octets) as the argument snmpget -e takes: "0x80001F88...". "" if absent.
 */
std::string engine_id_arg(const mdmtest::RunResult &r, const std::string &oid)
{
    std::istringstream in(r.out);
    std::string line, key = oid + " = Hex-STRING: ", hex;
    bool inside = false;
    while (std::getline(in, line)) {
        if (!inside && line.compare(0, key.size(), key) == 0) {
            inside = true;
            line = line.substr(key.size());
        } else if (inside && !line.empty() && line[0] == '.') {
            break;
        } else if (!inside) {
            continue;
        }
        for (char c : line)
            if (isxdigit((unsigned char)c))
                hex += c;
    }
    return hex.empty() ? "" : "0x" + hex;
}

// --- the sockets of a process, from /proc --------------------------------------------

struct Socket {
    std::string proto; // tcp, tcp6, udp, udp6, or "other" (not an inet socket)
    std::string local; // "127.0.0.1" / "0.0.0.0" / "::" ...
    int local_port = 0;
    std::string remote;
    int remote_port = 0;
    int state = 0; // /proc/net state: TCP 0x0A = LISTEN, UDP 0x07 = unconnected
    std::string text() const
    {
        return proto + " " + local + ":" + std::to_string(local_port) + " -> " + remote + ":" +
               std::to_string(remote_port) + " st " + std::to_string(state);
    }
};

std::string decode_address(const std::string &hex)
{
    char buf[64];
    if (hex.size() == 8) {
        unsigned long v = std::stoul(hex, nullptr, 16); // little-endian 32-bit word
        snprintf(buf, sizeof(buf), "%lu.%lu.%lu.%lu", v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff,
                 (v >> 24) & 0xff);
        return buf;
    }
    if (hex == std::string(32, '0'))
        return "::";
    if (hex == "00000000000000000000000001000000")
        return "::1";
    return "ipv6:" + hex;
}

/* Every socket descriptor of pid, with the inet ones decoded. */
std::vector<Socket> process_sockets(pid_t pid)
{
    std::set<std::string> inodes;
    std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
    if (DIR *d = opendir(fd_dir.c_str())) {
        while (struct dirent *e = readdir(d)) {
            char target[256];
            ssize_t n = readlink((fd_dir + "/" + e->d_name).c_str(), target, sizeof(target) - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            std::string t = target;
            if (t.compare(0, 8, "socket:[") == 0)
                inodes.insert(t.substr(8, t.size() - 9));
        }
        closedir(d);
    }
    std::vector<Socket> out;
    std::set<std::string> found;
    for (const char *proto : {"tcp", "tcp6", "udp", "udp6"}) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + proto);
        std::string line;
        std::getline(in, line); // header
        while (std::getline(in, line)) {
            std::istringstream f(line);
            std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
            f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode;
            /*
             * A socket's line can be read twice when the kernel's table
             * changes during the read of /proc/PID/net/tcp: one inode, one socket.
             */
            if (!inodes.count(inode) || found.count(inode))
                continue;
            Socket s;
            s.proto = proto;
            size_t c = local.find(':');
            s.local = decode_address(local.substr(0, c));
            s.local_port = (int)std::stoul(local.substr(c + 1), nullptr, 16);
            c = remote.find(':');
            s.remote = decode_address(remote.substr(0, c));
            s.remote_port = (int)std::stoul(remote.substr(c + 1), nullptr, 16);
            s.state = (int)std::stoul(st, nullptr, 16);
            out.push_back(s);
            found.insert(inode);
        }
    }
    for (const auto &i : inodes)
        if (!found.count(i)) {
            Socket s;
            s.proto = "other";
            s.local = "inode " + i;
            out.push_back(s);
        }
    return out;
}

std::string dump(const std::vector<Socket> &v)
{
    std::string s;
    for (const auto &x : v)
        s += "  " + x.text() + "\n";
    return s.empty() ? "  (none)\n" : s;
}

/* The kernel's range of ephemeral (client) ports. */
std::pair<int, int> ephemeral_ports()
{
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    int lo = 32768, hi = 60999;
    in >> lo >> hi;
    return {lo, hi};
}

class SnmpStdTest : public snmptest::AgentTest
{
  protected:
    void SetUp() override
    {
        prepare("snmpstd", {"snmpd", "snmptrapd", "snmpget", "snmpwalk", "snmpbulkwalk"});
    }

    /* The access lines of every embedded-agent test here: v2c "secret" and v3 authPriv. */
    static std::string access_lines()
    {
        return "rocommunity secret 127.0.0.1\n"
               "createUser getuser SHA-256 authpass456 AES privpass456\n"
               "rouser getuser authPriv\n";
    }

    std::vector<std::string> v2c()
    {
        return {"-v2c", "-c", "secret"};
    }
    std::vector<std::string> v3()
    {
        return {"-v3", "-u",          "getuser", "-l",  "authPriv", "-a",         "SHA-256",
                "-A",  "authpass456", "-x",      "AES", "-X",       "privpass456"};
    }

    /* Starts the embedded agent on a free port with access_lines() and extra lines. */
    std::string start_agent(const std::string &extra = "")
    {
        std::string err;
        for (int attempt = 0; attempt < 5; attempt++) {
            port_ = snmptest::free_udp_port();
            agent_->configure("agentaddress udp:127.0.0.1:" + std::to_string(port_) + "\n" +
                              access_lines() + extra);
            err = agent_->start();
            if (err.empty() || err.find("cannot listen") == std::string::npos)
                return err;
        }
        return err;
    }

    /* Starts the agent again with its current configuration and port. */
    std::string restart_agent()
    {
        std::string err;
        for (int attempt = 0; attempt < 20; attempt++) {
            err = agent_->start();
            if (err.empty() || err.find("cannot listen") == std::string::npos)
                return err;
            usleep(250 * 1000);
        }
        return err;
    }

    mdmtest::RunResult get(const std::vector<std::string> &auth,
                           const std::vector<std::string> &oid_list,
                           const std::vector<std::string> &extra = {})
    {
        return snmp_tool(dir_, "snmpget", auth, port_, oid_list, extra);
    }

    int port_ = 0;
};

// --- 1. the system group and the other standard objects, v2c and v3 ----------------

TEST_F(SnmpStdTest, SystemGroupIdentifiesMdmhealthOverV2cAndV3)
{
    ASSERT_EQ("", start_agent());
    struct utsname u;
    ASSERT_EQ(0, uname(&u));
    const std::string descr = "STRING: \"mdmhealth " MDM_VERSION " on " + host_name() + ", " +
                              u.sysname + " " + u.release + " " + u.machine + "\"";
    for (const auto &auth : {v2c(), v3()}) {
        SCOPED_TRACE(auth[0]);
        auto r = get(auth, {kSysDescr, kSysObjectId, kSysUpTime, kSysContact, kSysName,
                            kSysLocation, kSysServices});
        ASSERT_EQ(0, r.status) << r.out << r.err;
        EXPECT_EQ(descr, get_value(r, kSysDescr)) << r.out;
        EXPECT_EQ("OID: " + kProductAgent, get_value(r, kSysObjectId)) << r.out;
        EXPECT_EQ(0u, get_value(r, kSysUpTime).find("Timeticks: (")) << r.out;
        // RFC 3418: the zero-length string when the contact or location is not known.
        EXPECT_EQ("\"\"", get_value(r, kSysContact)) << r.out;
        EXPECT_EQ("STRING: \"" + host_name() + "\"", get_value(r, kSysName)) << r.out;
        EXPECT_EQ("\"\"", get_value(r, kSysLocation)) << r.out;
        EXPECT_EQ("INTEGER: 72", get_value(r, kSysServices)) << r.out;
    }
}

TEST_F(SnmpStdTest, SysORTableListsMdmHealthMibBesideTheSnmpModules)
{
    ASSERT_EQ("", start_agent());
    auto w = snmp_tool(dir_, "snmpwalk", v2c(), port_, {kSysORID});
    ASSERT_EQ(0, w.status) << w.out << w.err;
    std::set<std::string> ids;
    std::istringstream in(w.out);
    std::string line;
    while (std::getline(in, line)) {
        size_t p = line.find(" = OID: ");
        if (p != std::string::npos)
            ids.insert(line.substr(p + 8));
    }
    EXPECT_TRUE(ids.count(kCompliance)) << w.out;             // MDM-HEALTH-MIB's compliance
    EXPECT_TRUE(ids.count(".1.3.6.1.6.3.1")) << w.out;        // SNMPv2-MIB
    EXPECT_TRUE(ids.count(".1.3.6.1.6.3.10.3.1.1")) << w.out; // SNMP-FRAMEWORK-MIB
    EXPECT_TRUE(ids.count(".1.3.6.1.6.3.11.3.1.1")) << w.out; // SNMP-MPD-MIB
    EXPECT_TRUE(ids.count(".1.3.6.1.6.3.15.2.1.1")) << w.out; // SNMP-USER-BASED-SM-MIB
}

TEST_F(SnmpStdTest, SnmpEngineMpdAndUsmCountersAnswerAndCount)
{
    ASSERT_EQ("", start_agent());
    auto r = get(v3(), {kEngineId, kEngineBoots, kEngineTime, kEngineMaxMessageSize,
                        kSnmpUnknownSecurityModels, kUsmStatsUnknownUserNames,
                        kUsmStatsWrongDigests, kSnmpInPkts, kSnmpEnableAuthenTraps});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    // Net-SNMP's engine ID: enterprise 8072 with the format bit (80 00 1F 88), then its format.
    EXPECT_EQ(0u, get_value(r, kEngineId).find("Hex-STRING: 80 00 1F 88 ")) << r.out;
    EXPECT_EQ(1, integer_of(get_value(r, kEngineBoots))) << r.out;
    EXPECT_GE(integer_of(get_value(r, kEngineTime)), 0) << r.out;
    EXPECT_EQ("INTEGER: 1500", get_value(r, kEngineMaxMessageSize)) << r.out;
    EXPECT_EQ("Counter32: 0", get_value(r, kSnmpUnknownSecurityModels)) << r.out;
    EXPECT_EQ(0u, get_value(r, kSnmpInPkts).find("Counter32: ")) << r.out;
    EXPECT_EQ("INTEGER: 2", get_value(r, kSnmpEnableAuthenTraps)) << r.out; // false(2)

    // A request from an unknown user and one with a wrong passphrase are counted.
    std::vector<std::string> unknown = v3(), wrong = v3();
    unknown[2] = "nosuchuser";
    wrong[8] = "wrongpass000";
    snmp_tool(dir_, "snmpget", unknown, port_, {kSysDescr}, {"-t", "0.5"});
    snmp_tool(dir_, "snmpget", wrong, port_, {kSysDescr}, {"-t", "0.5"});
    auto after = get(v2c(), {kUsmStatsUnknownUserNames, kUsmStatsWrongDigests});
    ASSERT_EQ(0, after.status) << after.out << after.err;
    EXPECT_EQ("Counter32: 1", get_value(after, kUsmStatsUnknownUserNames)) << after.out;
    EXPECT_EQ("Counter32: 1", get_value(after, kUsmStatsWrongDigests)) << after.out;
}

// --- 2. the directives of snmpd.conf, reload, and no write access -------------------

TEST_F(SnmpStdTest, SystemDirectivesSetTheValuesAReloadChangesThemAndSetIsRefused)
{
    ASSERT_EQ("", start_agent("syscontact NOC <noc@contoso.com>\n"
                              "syslocation Building 4, rack 12\n"
                              "sysname dm01-monitor\n"
                              "sysservices 76\n"
                              // Write access for an SNMPv3 user (the only kind mdmhealth allows).
                              "createUser writer SHA-256 authpass789 AES privpass789\n"
                              "rwuser writer authPriv\n"));
    auto r = get(v2c(), {kSysContact, kSysName, kSysLocation, kSysServices, kSysDescr});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    EXPECT_EQ("STRING: \"NOC <noc@contoso.com>\"", get_value(r, kSysContact)) << r.out;
    EXPECT_EQ("STRING: \"dm01-monitor\"", get_value(r, kSysName)) << r.out;
    EXPECT_EQ("STRING: \"Building 4, rack 12\"", get_value(r, kSysLocation)) << r.out;
    EXPECT_EQ("INTEGER: 76", get_value(r, kSysServices)) << r.out;

    // Even a user with write access cannot change a configured value.
    const std::vector<std::string> writer = {
        "-v3", "-u",          "writer", "-l",  "authPriv", "-a",         "SHA-256",
        "-A",  "authpass789", "-x",     "AES", "-X",       "privpass789"};
    auto set = snmp_tool(dir_, "snmpset", writer, port_, {kSysLocation, "s", "somewhere else"});
    EXPECT_NE(0, set.status) << set.out << set.err;
    EXPECT_NE(std::string::npos, set.err.find("notWritable")) << set.out << set.err;
    set = snmp_tool(dir_, "snmpset", writer, port_, {kSnmpEnableAuthenTraps, "i", "1"});
    EXPECT_NE(0, set.status) << set.out << set.err;
    EXPECT_NE(std::string::npos, set.err.find("notWritable")) << set.out << set.err;

    // SIGHUP: a changed line takes effect, a removed one gives the default back.
    agent_->configure("agentaddress udp:127.0.0.1:" + std::to_string(port_) + "\n" +
                      access_lines() + "syslocation Building 5\n");
    agent_->process().signal(SIGHUP);
    std::string last;
    EXPECT_TRUE(wait_until(
        [&] {
            auto x = get(v2c(), {kSysLocation, kSysContact});
            last = get_value(x, kSysLocation) + " / " + get_value(x, kSysContact);
            return last == "STRING: \"Building 5\" / \"\"";
        },
        10000, 100))
        << last;
}

// --- 3. whole walks end cleanly; unknown objects are noSuchObject --------------------

TEST_F(SnmpStdTest, FullWalksOfDotOneEndCleanlyAndAgreeAcrossV2cGetNextAndV3GetBulk)
{
    ASSERT_EQ("", start_agent());
    auto walk = snmp_tool(dir_, "snmpwalk", v2c(), port_, {".1"}, {"-t", "5"});
    ASSERT_EQ(0, walk.status) << walk.out << walk.err;
    auto bulk = snmp_tool(dir_, "snmpbulkwalk", v3(), port_, {".1"}, {"-t", "5"});
    ASSERT_EQ(0, bulk.status) << bulk.out << bulk.err;
    for (const auto *r : {&walk, &bulk}) {
        EXPECT_EQ(std::string::npos, r->err.find("OID not increasing")) << r->err;
        EXPECT_EQ(std::string::npos, r->err.find("rror")) << r->err;
    }
    auto a = walk_oids(walk.out), b = walk_oids(bulk.out);
    // The walk ends at the last object (endOfMibView), not in a loop.
    ASSERT_FALSE(a.empty());
    EXPECT_NE(std::string::npos,
              walk.out.find("No more variables left in this MIB View (It is past the end"))
        << walk.out;
    EXPECT_EQ(a, b) << "snmpwalk -v2c:\n" << walk.out << "snmpbulkwalk -v3:\n" << bulk.out;
    // Both see the standard groups and MDM-HEALTH-MIB.
    std::set<std::string> all(a.begin(), a.end());
    EXPECT_EQ(a.size(), all.size()) << "an OID came twice:\n" << walk.out;
    for (const auto &o : {kSysDescr, kSysServices, kSnmpInPkts, kEngineBoots, kUsmStatsWrongDigests,
                          oids::agent_scalar(1)})
        EXPECT_TRUE(all.count(o)) << o << " missing from\n" << walk.out;
}

TEST_F(SnmpStdTest, UnknownObjectsAreNoSuchObjectAndUnknownInstancesNoSuchInstance)
{
    ASSERT_EQ("", start_agent());
    const std::string if_number = ".1.3.6.1.2.1.2.1.0";        // IF-MIB: not served here
    const std::string mdm_unknown = oids::kRoot + ".1.1.99.0"; // no such mdmAgent object
    const std::string sys_descr_1 = ".1.3.6.1.2.1.1.1.1";      // sysDescr has instance 0 only
    for (const auto &auth : {v2c(), v3()}) {
        SCOPED_TRACE(auth[0]);
        auto r = get(auth, {if_number, mdm_unknown, sys_descr_1, kSysDescr});
        ASSERT_EQ(0, r.status) << r.out << r.err;
        EXPECT_EQ(kNoSuchObject, raw_value(r, if_number)) << r.out;
        EXPECT_EQ(kNoSuchObject, raw_value(r, mdm_unknown)) << r.out;
        EXPECT_EQ(kNoSuchInstance, raw_value(r, sys_descr_1)) << r.out;
        EXPECT_EQ(0u, raw_value(r, kSysDescr).find("STRING: \"mdmhealth ")) << r.out;
    }
}

// --- 4. snmpEngineBoots and the engine ID across restarts (RFC 3414) -----------------

TEST_F(SnmpStdTest, EngineBootsIncreaseAcrossRestartsAndCrashesAndCachedManagersKeepWorking)
{
    ASSERT_EQ("", start_agent());
    auto engine = [&] {
        auto r = get(v3(), {kEngineId, kEngineBoots, kEngineTime});
        return std::make_pair(engine_id_arg(r, kEngineId), integer_of(get_value(r, kEngineBoots)));
    };
    auto first = engine();
    ASSERT_NE("", first.first);
    ASSERT_EQ(1, first.second);

    // A clean stop and a kill -9 (no chance to save anything at the end): each start
    // counts one more boot with the same engine ID.
    long boots = first.second;
    for (bool crash : {false, true}) {
        SCOPED_TRACE(crash ? "after kill -9" : "after a clean stop");
        if (crash)
            agent_->process().kill_hard();
        else
            EXPECT_EQ(0, agent_->stop());
        ASSERT_EQ("", restart_agent());
        // A manager that cached the engine (ID, boots and time from before) uses them
        // without discovery: the agent's notInTimeWindow report, authenticated, tells it
        // the new boots and time, and the retry is answered.
        auto cached = get(v3(), {kSysDescr},
                          {"-e", first.first, "-Z", std::to_string(boots) + ",100", "-r", "1"});
        EXPECT_EQ(0, cached.status) << cached.out << cached.err;
        EXPECT_EQ(0u, get_value(cached, kSysDescr).find("STRING: \"mdmhealth ")) << cached.out;
        auto now = engine();
        EXPECT_EQ(first.first, now.first);
        EXPECT_EQ(boots + 1, now.second);
        boots = now.second;
    }
}

// --- 5. the sockets the agent opens --------------------------------------------------

TEST_F(SnmpStdTest, EmbeddedAgentOpensOnlyItsAgentaddressAndClientSocketsForDestinations)
{
    ASSERT_EQ("", trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net traps\n"
                                                "authCommunity log,execute,net informs\n"));
    const std::string sinks = "trap2sink 127.0.0.1:" + std::to_string(trapd_.port()) +
                              " traps\ninformsink 127.0.0.1:" + std::to_string(trapd_.port()) +
                              " informs\n";
    ASSERT_EQ("", start_agent(sinks));

    // Before any notification: the agentaddress and nothing else (no SMUX on TCP 199,
    // no default port 161, nothing on 0.0.0.0).
    auto socks = process_sockets(agent_->process().pid());
    // (When another process holds TCP 199, a SMUX listener fails to bind and only says so.)
    EXPECT_EQ(std::string::npos, agent_->log().find("smux")) << agent_->log();
    ASSERT_EQ(1u, socks.size()) << dump(socks);
    EXPECT_EQ("udp", socks[0].proto) << dump(socks);
    EXPECT_EQ("127.0.0.1", socks[0].local) << dump(socks);
    EXPECT_EQ(port_, socks[0].local_port) << dump(socks);

    // After a trap and an inform: one client socket per destination, on an ephemeral
    // port (it takes the inform's answer), and still no listener of any other kind.
    agent_->append(mdmtest::event_xml("Device Manager", 1003, 201, "DM01.contoso.com",
                                      "2026-11-20T09:15:02.300Z", "Mobile Device Manager",
                                      "The Device Management Server cannot connect."));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<snmptest::Notification> &ns) {
        return ns.size() >= 2;
    })) << trapd_.log();
    socks = process_sockets(agent_->process().pid());
    auto range = ephemeral_ports();
    size_t clients = 0, agent = 0;
    for (const auto &s : socks) {
        SCOPED_TRACE(s.text());
        ASSERT_EQ("udp", s.proto) << dump(socks);
        if (s.local == "127.0.0.1" && s.local_port == port_) {
            agent++;
            continue;
        }
        clients++;
        EXPECT_GE(s.local_port, range.first);
        EXPECT_LE(s.local_port, range.second);
    }
    EXPECT_EQ(1u, agent) << dump(socks);
    EXPECT_LE(clients, 2u) << dump(socks);
}

TEST_F(SnmpStdTest, ClientaddrPutsTheDestinationSocketsOnThatAddress)
{
    ASSERT_EQ("", trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net traps\n"
                                                "authCommunity log,execute,net informs\n"));
    ASSERT_EQ("", start_agent("trap2sink 127.0.0.1:" + std::to_string(trapd_.port()) +
                              " traps\ninformsink 127.0.0.1:" + std::to_string(trapd_.port()) +
                              " informs\nclientaddr 127.0.0.1\n"));
    agent_->append(mdmtest::event_xml("Device Manager", 1003, 201, "DM01.contoso.com",
                                      "2026-11-20T09:15:02.300Z", "Mobile Device Manager",
                                      "The Device Management Server cannot connect."));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<snmptest::Notification> &ns) {
        return ns.size() >= 2;
    })) << trapd_.log();
    auto socks = process_sockets(agent_->process().pid());
    EXPECT_EQ(3u, socks.size()) << dump(socks); // the agentaddress and two destinations
    for (const auto &s : socks) {
        EXPECT_EQ("udp", s.proto) << dump(socks);
        EXPECT_EQ("127.0.0.1", s.local) << dump(socks);
    }
    EXPECT_EQ(std::string::npos, agent_->log().find("Unknown token")) << agent_->log();
}

TEST_F(SnmpStdTest, NotifyOnlyAgentListensNowhere)
{
    ASSERT_EQ("", trapd_.start(dir_ + "/trapd", "authCommunity log,execute,net traps\n"));
    agent_->configure("trap2sink 127.0.0.1:" + std::to_string(trapd_.port()) + " traps\n");
    ASSERT_EQ("", agent_->start());
    auto socks = process_sockets(agent_->process().pid());
    EXPECT_TRUE(socks.empty()) << dump(socks);

    agent_->append(mdmtest::event_xml("Device Manager", 1003, 201, "DM01.contoso.com",
                                      "2026-11-20T09:15:02.300Z", "Mobile Device Manager",
                                      "The Device Management Server cannot connect."));
    ASSERT_TRUE(trapd_.wait_for([](const std::vector<snmptest::Notification> &ns) {
        return !ns.empty();
    })) << trapd_.log();
    socks = process_sockets(agent_->process().pid());
    auto range = ephemeral_ports();
    EXPECT_LE(socks.size(), 1u) << dump(socks);
    for (const auto &s : socks) {
        SCOPED_TRACE(s.text());
        EXPECT_EQ("udp", s.proto);
        EXPECT_GE(s.local_port, range.first);
        EXPECT_LE(s.local_port, range.second);
    }
}

// --- 6. as an AgentX subagent the master serves the standard groups ------------------

TEST_F(SnmpStdTest, SubagentLeavesTheSystemGroupToTheMasterAndAddsItsSysOREntry)
{
    ASSERT_EQ("", master_.start(dir_ + "/snmpd", "rocommunity public 127.0.0.1\n"));
    // The system directives of an embedded configuration are accepted and ignored.
    agent_->configure("agentXSocket tcp:127.0.0.1:" + std::to_string(master_.agentx_port()) +
                      "\nagentxPingInterval 1\nsyslocation Building 4\n");
    ASSERT_EQ("", agent_->start());
    port_ = master_.udp_port();
    const std::string state = oids::monitor_column(oids::kState, 1);
    agent_->append(mdmtest::event_xml("Device Manager", 1003, 201, "DM01.contoso.com",
                                      "2026-11-20T09:15:02.300Z", "Mobile Device Manager",
                                      "The Device Management Server cannot connect."));
    std::string last;
    ASSERT_TRUE(wait_until(
        [&] {
            last = get_value(get({"-v2c", "-c", "public"}, {state}), state);
            return last == "INTEGER: 3";
        },
        10000, 100))
        << last;

    auto r = get({"-v2c", "-c", "public"}, {kSysDescr, kSysObjectId, kSysLocation});
    ASSERT_EQ(0, r.status) << r.out << r.err;
    EXPECT_EQ(std::string::npos, get_value(r, kSysDescr).find("mdmhealth")) << r.out;
    EXPECT_NE("OID: " + kProductAgent, get_value(r, kSysObjectId)) << r.out;
    EXPECT_EQ(std::string::npos, get_value(r, kSysLocation).find("Building 4")) << r.out;

    // MDM-HEALTH-MIB's compliance reaches the master's sysORTable (AgentX AddAgentCaps).
    EXPECT_TRUE(wait_until(
        [&] {
            auto w = snmp_tool(dir_, "snmpwalk", {"-v2c", "-c", "public"}, port_, {kSysORID});
            last = w.out;
            return w.out.find("OID: " + kCompliance) != std::string::npos;
        },
        10000, 200))
        << last;

    // Its only socket is the connection to the master's AgentX port: it listens nowhere.
    auto socks = process_sockets(agent_->process().pid());
    ASSERT_EQ(1u, socks.size()) << dump(socks);
    EXPECT_EQ("tcp", socks[0].proto) << dump(socks);
    EXPECT_EQ(master_.agentx_port(), socks[0].remote_port) << dump(socks);
    EXPECT_EQ(1, socks[0].state) << dump(socks); // ESTABLISHED
}

} // namespace

// test_snmp_footprint.cc - what an idle `mdmhealth run` does not carry.
//
// The libraries only some features use are loaded when that feature first
// runs, not at start (issue 15, bench/results.md): libevtx with libbfio
// (reading an .evtx file; wevt/libevtx_load.h), libldap with its TLS
// stack (the diagnoser's ad-group check; agent/os/ldap_posix.c) and ICU with
// libstdc++ (a document in an encoding iconv does not know;
// wevt/icu_load_posix.c, tests/test_cli_pack_encoding.cc). The real
// binary runs with one xml-follow source and a trap destination, as the
// memory bench measures it; its /proc/PID/maps must name none of them.
// (Each feature itself, with the library loaded, is tested where it is: the
// evtx source and `replay`, the ad-group check against a real slapd, a
// pack in an encoding only ICU knows.)
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "snmp_fixtures.h"
#include "test_util.h"

namespace
{

TEST(Footprint, IdleAgentMapsNoLibraryItLoadsOnFirstUse)
{
    std::string dir = mdmtest::make_temp_dir("footprint");
    snmptest::MdmAgent agent(dir);
    agent.configure("trap2sink 127.0.0.1:" + std::to_string(snmptest::free_udp_port()) +
                    " public\n");
    std::string why = agent.start();
    ASSERT_EQ("", why);

    std::ifstream maps("/proc/" + std::to_string(agent.process().pid()) + "/maps");
    std::stringstream text;
    text << maps.rdbuf();
    agent.stop();
    ASSERT_NE(std::string::npos, text.str().find("libnetsnmp")) << text.str();
    EXPECT_EQ(std::string::npos, text.str().find("libevtx")) << text.str();
    EXPECT_EQ(std::string::npos, text.str().find("libbfio")) << text.str();
    EXPECT_EQ(std::string::npos, text.str().find("libldap")) << text.str();
    // ICU (and the libstdc++ it needs): libxml2 is static in the program.
    EXPECT_EQ(std::string::npos, text.str().find("libicuuc")) << text.str();
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    // (The sanitizers' runtimes bring libstdc++ themselves.)
    EXPECT_EQ(std::string::npos, text.str().find("libstdc++")) << text.str();
#endif
    snmptest::remove_tree(dir);
}

} // namespace

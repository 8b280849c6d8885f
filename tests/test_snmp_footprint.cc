// test_snmp_footprint.cc - what an idle `mdmhealth run` does not carry.
//
// The libraries only some features use are loaded when that feature first
// runs, not at start (issue 15, bench/results.md): libevtx with libbfio
// (reading an .evtx file; wevt/libevtx_load.h), libldap with its TLS
// stack (the diagnoser's ad-group check; agent/os/ldap_posix.c) and ICU with
// libstdc++ (a document in an encoding iconv does not know;
// wevt/icu_load_posix.c, tests/test_cli_pack_encoding.cc) and, with the
// static Net-SNMP of MDM_NETSNMP_PREFIX, libssl (the diagnoser's TLS
// handshake; tests/test_diag_checks.cc makes one). The real
// binary runs with one xml-follow source and a trap destination, as the
// memory bench measures it; its /proc/PID/maps must name none of them.
// (Each feature itself, with the library loaded, is tested where it is: the
// evtx source and `replay`, the ad-group check against a real slapd, a
// pack in an encoding only ICU knows.)
#include <gtest/gtest.h>

#include <openssl/rand.h>

#include <cstring>
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
    ASSERT_NE(std::string::npos, text.str().find("libcrypto")) << text.str();
#if defined(MDM_NETSNMP_STATIC)
    // Net-SNMP is the static minimal library of MDM_NETSNMP_PREFIX (no
    // embedded Perl, TCP wrappers or Debian's MIB modules with their
    // libraries), and libssl is loaded on the diagnoser's first TLS handshake
    // (agent/diag/libssl_load.h). With Debian's shared Net-SNMP, libnetsnmp
    // itself needs libssl, libperl and libwrap, so this holds only here.
    EXPECT_EQ(std::string::npos, text.str().find("libnetsnmp")) << text.str();
    EXPECT_EQ(std::string::npos, text.str().find("libssl")) << text.str();
    EXPECT_EQ(std::string::npos, text.str().find("libperl")) << text.str();
    EXPECT_EQ(std::string::npos, text.str().find("libwrap")) << text.str();
    EXPECT_EQ(std::string::npos, text.str().find("libsensors")) << text.str();
#else
    ASSERT_NE(std::string::npos, text.str().find("libnetsnmp")) << text.str();
#endif
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

#if defined(MDM_NETSNMP_STATIC)
// Net-SNMP's RAND_bytes() calls are linked to agent/snmp/netsnmp_random_posix.c
// (-Wl,--wrap=RAND_bytes on every program that links mdm_snmp, this test
// program too): the bytes come from getrandom(2), not from OpenSSL's DRBG,
// which is then never set up in an idle agent.
TEST(Footprint, RandomBytesForNetSnmpComeFromTheKernel)
{
    unsigned char a[64] = {0}, b[64] = {0}, zero[64] = {0};
    ASSERT_EQ(1, RAND_bytes(a, (int)sizeof(a)));
    ASSERT_EQ(1, RAND_bytes(b, (int)sizeof(b)));
    // 512 random bits: equal draws or an untouched buffer mean no randomness.
    EXPECT_NE(0, memcmp(a, b, sizeof(a)));
    EXPECT_NE(0, memcmp(a, zero, sizeof(a)));
    // A length OpenSSL refuses stays refused (the wrapper hands it over).
    EXPECT_NE(1, RAND_bytes(a, -1));
}
#endif

} // namespace

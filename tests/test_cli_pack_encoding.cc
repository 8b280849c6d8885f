// test_cli_pack_encoding.cc - a management pack in an encoding only ICU
// knows, through the real mdmhealth binary.
//
// libxml2 converts a document's declared encoding with iconv, and with ICU
// when iconv does not know the name. The mdmhealth program links libxml2
// statically and loads ICU only then (wevt/icu_load_posix.c), so that an
// agent that never meets such a document does not carry ICU, libstdc++ and
// libgcc_s (issue 15). "ibm-5348_P100-1997" is ICU's name of Windows-1252,
// which glibc's iconv does not know: the pack must load, with its "€"
// (0x80 there) read as U+20AC, as with the shared libxml2.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace
{

TEST(CliPackEncoding, APackInAnEncodingOnlyIcuKnowsIsReadThroughIcu)
{
    if (mdmtest::running_under_wine())
        GTEST_SKIP() << "the Windows build's libxml2 (scripts/cross-deps) has no ICU: an encoding "
                        "only ICU knows is refused there, with the file named";
    std::string pack = mdmtest::read_file(MDM_PACKS_DIR "/enrollment-connection.xml");
    const std::string decl = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
    const std::string name = "<Name>Enrollment Connection Health Monitor";
    ASSERT_EQ(0u, pack.find(decl));
    ASSERT_NE(std::string::npos, pack.find(name));
    for (unsigned char c : pack)
        ASSERT_LT(c, 0x80u) << "the pack is no longer ASCII: the re-encoding below needs it";
    pack.replace(0, decl.size(), "<?xml version=\"1.0\" encoding=\"ibm-5348_P100-1997\"?>");
    pack.replace(pack.find(name), name.size(), name + " \x80");

    std::string dir = mdmtest::make_temp_dir("pack-encoding");
    mdmtest::write_file(dir + "/pack.xml", pack);
    mdmtest::write_file(dir + "/empty.conf", "");
    mdmtest::write_file(dir + "/events.xml",
                        mdmtest::event_xml("Device Manager", 1004, 100, "DM01.contoso.com"));
    mdmtest::RunResult r =
        mdmtest::run_program({MDM_BINARY, "replay", "-c", dir + "/empty.conf", "--json", "--pack",
                              dir + "/pack.xml", dir + "/events.xml"});
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_NE(std::string::npos,
              r.out.find("\"monitor_name\":\"Enrollment Connection Health Monitor \xE2\x82\xAC"))
        << r.out << r.err;
    mdmtest::remove_tree(dir);
}

} // namespace

// test_os_dl.cc - mdm_dl_load(): a library opened at run time and the table
// of its functions filled all or none (agent/os/mdm_dl.h). Real: glibc's
// libc.so.6 and the dynamic loader of this machine. POSIX only: on Windows
// the libraries it serves are static in the program (no mdm_dl_load there).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

extern "C" {
#include "agent/common/mdm_err.h"
#include "agent/os/mdm_dl.h"
}

#ifndef _WIN32
namespace
{

struct libc_api {
    size_t (*strlen)(const char *);
    int (*abs)(int);
};

TEST(OsDl, FillsEveryFunctionOfTheTable)
{
    libc_api api = {};
    const mdm_dl_symbol symbols[] = {{"strlen", &api.strlen}, {"abs", &api.abs}};
    char why[200];
    ASSERT_EQ(0, mdm_dl_load("libc.so.6", symbols, 2, why, sizeof(why))) << why;
    ASSERT_NE(nullptr, api.strlen);
    ASSERT_NE(nullptr, api.abs);
    EXPECT_EQ(5u, api.strlen("hello"));
    EXPECT_EQ(7, api.abs(-7));
}

TEST(OsDl, AMissingFunctionWritesNoFieldAndNamesIt)
{
    libc_api api = {};
    const mdm_dl_symbol symbols[] = {{"strlen", &api.strlen}, {"mdm_no_such_function", &api.abs}};
    char why[200];
    EXPECT_EQ(MDM_EUNSUPPORTED, mdm_dl_load("libc.so.6", symbols, 2, why, sizeof(why)));
    EXPECT_EQ(std::string("it has no mdm_no_such_function"), why);
    EXPECT_EQ(nullptr, api.strlen); // all or none
    EXPECT_EQ(nullptr, api.abs);
}

TEST(OsDl, AMissingLibraryGivesTheLoadersReason)
{
    libc_api api = {};
    const mdm_dl_symbol symbols[] = {{"strlen", &api.strlen}};
    char why[200];
    EXPECT_EQ(MDM_EUNSUPPORTED,
              mdm_dl_load("libmdm-no-such-library.so.0", symbols, 1, why, sizeof(why)));
    EXPECT_NE(std::string::npos, std::string(why).find("libmdm-no-such-library.so.0")) << why;
    EXPECT_EQ(nullptr, api.strlen);
}

TEST(OsDl, TooManySymbolsAreRefusedBeforeOpening)
{
    static mdm_dl_symbol many[MDM_DL_SYMBOLS_MAX + 1];
    char why[200];
    EXPECT_EQ(MDM_EINVAL, mdm_dl_load("libc.so.6", many, MDM_DL_SYMBOLS_MAX + 1, why, sizeof(why)));
    EXPECT_NE(std::string::npos, std::string(why).find("at most")) << why;
}

} // namespace
#endif // _WIN32

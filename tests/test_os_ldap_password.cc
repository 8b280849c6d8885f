// test_os_ldap_password.cc - what a password file's bytes mean
// (agent/os/ldap_password.c, shared by the POSIX and Windows readers).
#include <gtest/gtest.h>

#include <string>

extern "C" {
#include "agent/os/ldap_password.h"
#include "agent/os/mdm_ldap.h"
}

namespace
{

struct Result {
    int rc;
    std::string password, message;
};

Result first_line(const std::string &text, bool full = false, size_t size = 64)
{
    char out[512] = "unchanged";
    struct mdm_err err;
    mdm_err_clear(&err);
    int rc =
        mdm_ldap_password_first_line("pw.txt", text.c_str(), text.size(), full, out, size, &err);
    return {rc, out, err.msg};
}

// The password is the first line, without its line end (LF or CRLF).
TEST(LdapPasswordFile, FirstLineWithoutItsLineEnd)
{
    EXPECT_EQ("s3cret", first_line("s3cret\n").password);
    EXPECT_EQ("s3cret", first_line("s3cret\r\nsecond line\n").password);
    EXPECT_EQ("s3cret", first_line("s3cret").password);
}

// An empty first line, a line longer than out, a file that filled the
// reader's buffer without a line end: refused, the file named, no secret.
TEST(LdapPasswordFile, RefusedWithTheFileNamedAndNoSecret)
{
    Result r = first_line("\nsecret\n");
    EXPECT_EQ(MDM_EINVAL, r.rc);
    EXPECT_EQ("ldap-password-file pw.txt: the first line is empty", r.message);
    EXPECT_EQ("unchanged", r.password);

    r = first_line("0123456789\n", false, 8);
    EXPECT_EQ(MDM_EINVAL, r.rc);
    EXPECT_EQ("ldap-password-file pw.txt: the password is too long", r.message);
    EXPECT_EQ(std::string::npos, r.message.find("0123")) << r.message;

    const std::string whole(MDM_LDAP_PASSWORD_MAX + 1, 'x');
    r = first_line(whole, true, 512);
    EXPECT_EQ(MDM_EINVAL, r.rc);
    EXPECT_EQ("ldap-password-file pw.txt: the password is longer than " +
                  std::to_string(MDM_LDAP_PASSWORD_MAX) + " bytes",
              r.message);
}

} // namespace

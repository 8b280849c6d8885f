// test_os_fs.cc - the file system layer (agent/os/mdm_fs.h: fs_common.c and
// fs_posix.c / fs_win.c) on the real file system of a scratch directory:
// atomic replacement, regular-file checks, reading with a cap, moving
// without overwriting, directories and file identity.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "test_util.h"

#ifndef _WIN32
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#endif

extern "C" {
#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_os.h"
}

namespace
{
class OsFs : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        dir_ = mdmtest::make_temp_dir("os_fs");
    }
    void TearDown() override
    {
        mdmtest::remove_tree(dir_);
    }

    std::string path(const std::string &name) const
    {
        return dir_ + "/" + name;
    }

    /* The whole file through mdm_fs_read_all, or "<rc N: message>". */
    static std::string read_all(const std::string &p, size_t max = 1u << 20)
    {
        struct mdm_err err;
        char *data = nullptr;
        size_t len = 0;
        mdm_err_clear(&err);
        int rc = mdm_fs_read_all(p.c_str(), max, &data, &len, &err);
        if (rc != 0)
            return "<rc " + std::to_string(rc) + ": " + err.msg + ">";
        std::string out(data, len);
        EXPECT_EQ(data[len], '\0');
        mdm_free(data);
        return out;
    }

    std::string dir_;
};
} // namespace

TEST_F(OsFs, WriteAtomicCreatesAndReplacesWithNoTemporaryLeft)
{
    struct mdm_err err;
    std::string p = path("state.dat");
    ASSERT_EQ(mdm_fs_write_atomic(p.c_str(), "first", 5, &err), 0) << err.msg;
    EXPECT_EQ(read_all(p), "first");
    const char second[] = "second\0with a NUL";
    ASSERT_EQ(mdm_fs_write_atomic(p.c_str(), second, sizeof(second) - 1, &err), 0) << err.msg;
    EXPECT_EQ(read_all(p), std::string(second, sizeof(second) - 1));
    ASSERT_EQ(mdm_fs_write_atomic(p.c_str(), "", 0, &err), 0) << err.msg;
    EXPECT_EQ(read_all(p), "");
    EXPECT_FALSE(mdmtest::file_exists(p + ".tmp"));
}

TEST_F(OsFs, WriteAtomicCreatesAnOwnerOnlyFile)
{
#ifdef _WIN32
    GTEST_SKIP() << "the creator's ACL on Windows is checked by CliInit through mdmhealth init";
#else
    struct mdm_err err;
    std::string p = path("secret.conf");
    ASSERT_EQ(mdm_fs_write_atomic(p.c_str(), "community x", 11, &err), 0) << err.msg;
    EXPECT_EQ(mdmtest::access_of(p), "0600");
#endif
}

TEST_F(OsFs, WriteAtomicIntoAMissingDirectoryFailsAndCreatesNothing)
{
    struct mdm_err err;
    mdm_err_clear(&err);
    std::string p = path("no-such-dir/state.dat");
    EXPECT_EQ(mdm_fs_write_atomic(p.c_str(), "x", 1, &err), MDM_EIO);
    EXPECT_NE(std::string(err.msg).find("state.dat.tmp"), std::string::npos) << err.msg;
    EXPECT_FALSE(mdmtest::file_exists(path("no-such-dir")));
}

TEST_F(OsFs, WriteAtomicOverADirectoryFailsAndKeepsIt)
{
    struct mdm_err err;
    std::string p = path("taken");
    ASSERT_EQ(mdm_fs_mkdirs(p.c_str(), &err), 0) << err.msg;
    mdm_err_clear(&err);
    EXPECT_EQ(mdm_fs_write_atomic(p.c_str(), "x", 1, &err), MDM_EIO);
    EXPECT_NE(std::string(err.msg).find("taken"), std::string::npos) << err.msg;
    EXPECT_TRUE(mdmtest::file_exists(p));
    EXPECT_EQ(read_all(p).rfind("<rc " + std::to_string(MDM_EINVAL), 0), 0u);
    /* The temporary file is removed when the rename fails. */
    EXPECT_FALSE(mdmtest::file_exists(p + ".tmp"));
}

TEST_F(OsFs, ReadAllHonoursTheCap)
{
    std::string p = path("ten");
    mdmtest::write_file(p, "0123456789");
    EXPECT_EQ(read_all(p, 10), "0123456789");
    std::string refused = read_all(p, 9);
    EXPECT_EQ(refused.rfind("<rc " + std::to_string(MDM_ETOOBIG), 0), 0u) << refused;
    EXPECT_NE(refused.find("larger than 9 bytes"), std::string::npos) << refused;
    /* Bigger than the first 4 KiB read, so that the buffer grows. */
    std::string big(10000, 'q');
    mdmtest::write_file(p, big);
    EXPECT_EQ(read_all(p, 10000), big);
    EXPECT_EQ(read_all(p, 9999).rfind("<rc " + std::to_string(MDM_ETOOBIG), 0), 0u);
    mdmtest::write_file(p, "");
    EXPECT_EQ(read_all(p, 0), "");
}

TEST_F(OsFs, ReadAllOfAMissingFileIsNotFound)
{
    EXPECT_EQ(read_all(path("missing")).rfind("<rc " + std::to_string(MDM_ENOTFOUND), 0), 0u);
}

TEST_F(OsFs, OpenRegularRefusesADirectory)
{
    struct mdm_err err;
    FILE *fp = nullptr;
    mdm_err_clear(&err);
    EXPECT_EQ(mdm_fs_open_regular(dir_.c_str(), &fp, &err), MDM_EINVAL);
    EXPECT_EQ(fp, nullptr);
    EXPECT_NE(std::string(err.msg).find("not a regular file (a directory)"), std::string::npos)
        << err.msg;
}

TEST_F(OsFs, OpenRegularOpensAFileForReading)
{
    struct mdm_err err;
    FILE *fp = nullptr;
    std::string p = path("pack.xml");
    mdmtest::write_file(p, "<ManagementPack/>");
    ASSERT_EQ(mdm_fs_open_regular(p.c_str(), &fp, &err), 0) << err.msg;
    char line[64] = {0};
    ASSERT_NE(std::fgets(line, sizeof(line), fp), nullptr);
    EXPECT_STREQ(line, "<ManagementPack/>");
    std::fclose(fp);
    fp = nullptr;
    EXPECT_EQ(mdm_fs_open_regular(path("absent").c_str(), &fp, &err), MDM_ENOTFOUND);
    EXPECT_EQ(fp, nullptr);
}

TEST_F(OsFs, OpenRegularRefusesAFifoWithoutWaitingForAWriter)
{
#ifdef _WIN32
    GTEST_SKIP() << "no FIFOs in the Windows file system";
#else
    struct mdm_err err;
    FILE *fp = nullptr;
    std::string p = path("fifo");
    ASSERT_EQ(mkfifo(p.c_str(), 0600), 0);
    mdm_err_clear(&err);
    /* Were the FIFO opened without O_NONBLOCK, this call would never return. */
    EXPECT_EQ(mdm_fs_open_regular(p.c_str(), &fp, &err), MDM_EINVAL);
    EXPECT_EQ(fp, nullptr);
    EXPECT_NE(std::string(err.msg).find("not a regular file (a FIFO)"), std::string::npos)
        << err.msg;
    EXPECT_EQ(read_all(p).rfind("<rc " + std::to_string(MDM_EINVAL), 0), 0u);
#endif
}

TEST_F(OsFs, RenameNewMovesOnlyOntoAFreeName)
{
    struct mdm_err err;
    std::string from = path("new.conf"), to = path("mdmhealth.conf");
    mdmtest::write_file(from, "new");
    ASSERT_EQ(mdm_fs_rename_new(from.c_str(), to.c_str(), &err), 0) << err.msg;
    EXPECT_FALSE(mdmtest::file_exists(from));
    EXPECT_EQ(read_all(to), "new");

    mdmtest::write_file(from, "newer");
    mdm_err_clear(&err);
    EXPECT_EQ(mdm_fs_rename_new(from.c_str(), to.c_str(), &err), MDM_EIO);
    EXPECT_NE(std::string(err.msg).find("mdmhealth.conf"), std::string::npos) << err.msg;
    /* Both files are as they were: the existing one is never overwritten. */
    EXPECT_EQ(read_all(to), "new");
    EXPECT_EQ(read_all(from), "newer");
}

TEST_F(OsFs, MkdirsCreatesParentsAndAcceptsExisting)
{
    struct mdm_err err;
    std::string deep = path("a/b/c");
    ASSERT_EQ(mdm_fs_mkdirs(deep.c_str(), &err), 0) << err.msg;
    EXPECT_TRUE(mdmtest::file_exists(path("a/b")));
    EXPECT_TRUE(mdmtest::file_exists(deep));
    EXPECT_EQ(mdm_fs_mkdirs(deep.c_str(), &err), 0) << err.msg;
    mdmtest::write_file(deep + "/f", "x");
    EXPECT_EQ(read_all(deep + "/f"), "x");
#ifndef _WIN32
    EXPECT_EQ(mdmtest::access_of(path("a")), "0700");
#endif
}

TEST_F(OsFs, MkdirsRefusesAnEmptyNameAndAPathThroughAFile)
{
    struct mdm_err err;
    mdm_err_clear(&err);
    int rc = mdm_fs_mkdirs("", &err);
    EXPECT_NE(rc, 0);
    EXPECT_NE(err.msg[0], '\0');
#ifndef _WIN32
    /* fs_win.c reports the empty name as MDM_EIO ("cannot create directory"), not MDM_EINVAL. */
    EXPECT_EQ(rc, MDM_EINVAL);
    EXPECT_NE(std::string(err.msg).find("invalid directory name"), std::string::npos) << err.msg;
#endif
    std::string file = path("plain");
    mdmtest::write_file(file, "x");
    mdm_err_clear(&err);
    EXPECT_NE(mdm_fs_mkdirs((file + "/sub").c_str(), &err), 0);
    EXPECT_NE(err.msg[0], '\0');
    EXPECT_EQ(read_all(file), "x");
}

TEST_F(OsFs, StatGivesSizeAndIdentityThatReplacementChanges)
{
    struct mdm_err err;
    struct mdm_fs_info a, b, c, other;
    std::string p = path("followed.xml"), q = path("other.xml");
    mdmtest::write_file(p, "12345");
    mdmtest::write_file(q, "1");
    ASSERT_EQ(mdm_fs_stat(p.c_str(), &a), 0);
    EXPECT_EQ(a.size, 5u);
    FILE *fp = mdm_fs_fopen(p.c_str(), "rb");
    ASSERT_NE(fp, nullptr);
    ASSERT_EQ(mdm_fs_fstat(fp, &b), 0);
    EXPECT_EQ(b.dev, a.dev);
    EXPECT_EQ(b.ino, a.ino);
    EXPECT_EQ(b.size, 5u);
    std::fclose(fp);
    ASSERT_EQ(mdm_fs_stat(q.c_str(), &other), 0);
    EXPECT_FALSE(other.dev == a.dev && other.ino == a.ino);
    /* A rotated (replaced) file is another file, whatever its name. */
    ASSERT_EQ(mdm_fs_write_atomic(p.c_str(), "replaced", 8, &err), 0) << err.msg;
    ASSERT_EQ(mdm_fs_stat(p.c_str(), &c), 0);
    EXPECT_EQ(c.size, 8u);
    EXPECT_FALSE(c.dev == a.dev && c.ino == a.ino);
    EXPECT_EQ(mdm_fs_stat(path("absent").c_str(), &c), MDM_ENOTFOUND);
    EXPECT_EQ(mdm_fs_stat(path("plain/below").c_str(), &c), MDM_ENOTFOUND);
}

TEST_F(OsFs, SeekMovesToAnOffsetAndRefusesOneBeyondInt64)
{
    std::string p = path("events.xml");
    mdmtest::write_file(p, "0123456789");
    FILE *fp = mdm_fs_fopen(p.c_str(), "rb");
    ASSERT_NE(fp, nullptr);
    ASSERT_EQ(mdm_fs_seek(fp, 7), 0);
    EXPECT_EQ(std::fgetc(fp), '7');
    ASSERT_EQ(mdm_fs_seek(fp, 0), 0);
    EXPECT_EQ(std::fgetc(fp), '0');
    EXPECT_EQ(mdm_fs_seek(fp, UINT64_MAX), MDM_EIO);
    std::fclose(fp);
}

TEST_F(OsFs, Utf8NamesWorkThroughEveryCall)
{
    struct mdm_err err;
    std::string p = path("na\xC3\xAFve-\xE2\x82\xAC.conf");
    ASSERT_EQ(mdm_fs_write_atomic(p.c_str(), "utf8", 4, &err), 0) << err.msg;
    EXPECT_EQ(read_all(p), "utf8");
    FILE *fp = mdm_fs_fopen(p.c_str(), "ab");
    ASSERT_NE(fp, nullptr);
    std::fputs("+", fp);
    std::fclose(fp);
    EXPECT_EQ(read_all(p), "utf8+");
    mdm_fs_remove(p.c_str());
    EXPECT_FALSE(mdmtest::file_exists(p));
}

TEST_F(OsFs, RemoveIgnoresMissingAndRemoveDirOnlyEmptyDirectories)
{
    struct mdm_err err;
    mdm_fs_remove(path("never-there").c_str());
    mdm_fs_remove_dir(path("never-there").c_str());
    std::string d = path("full");
    ASSERT_EQ(mdm_fs_mkdirs(d.c_str(), &err), 0) << err.msg;
    mdmtest::write_file(d + "/keep", "x");
    mdm_fs_remove_dir(d.c_str());
    EXPECT_EQ(read_all(d + "/keep"), "x");
    mdm_fs_remove((d + "/keep").c_str());
    mdm_fs_remove_dir(d.c_str());
    EXPECT_FALSE(mdmtest::file_exists(d));
}

TEST_F(OsFs, PrivateTempDirsAreNewAndOwnerOnly)
{
    struct mdm_err err;
    char a[1024], b[1024];
    ASSERT_EQ(mdm_fs_make_private_temp_dir(a, sizeof(a), &err), 0) << err.msg;
    ASSERT_EQ(mdm_fs_make_private_temp_dir(b, sizeof(b), &err), 0) << err.msg;
    EXPECT_STRNE(a, b);
    EXPECT_TRUE(mdmtest::file_exists(a));
    EXPECT_NE(std::string(a).find("mdmhealth-"), std::string::npos) << a;
#ifndef _WIN32
    EXPECT_EQ(mdmtest::access_of(a), "0700");
#endif
    std::string inside = std::string(a) + "/f";
    mdmtest::write_file(inside, "x");
    mdm_fs_remove(inside.c_str());
    mdm_fs_remove_dir(a);
    mdm_fs_remove_dir(b);
    EXPECT_FALSE(mdmtest::file_exists(a));
    EXPECT_FALSE(mdmtest::file_exists(b));
}

TEST_F(OsFs, PrivateTempDirTooLongForTheCallerIsRemovedAgain)
{
#ifdef _WIN32
    GTEST_SKIP() << "the temporary directory comes from GetTempPathW, not $TMPDIR";
#else
    struct mdm_err err;
    const char *old = std::getenv("TMPDIR");
    std::string saved = old != nullptr ? old : "";
    ASSERT_EQ(mdm_os_setenv("TMPDIR", dir_.c_str()), 0);
    char tiny[8] = "unset";
    mdm_err_clear(&err);
    int rc = mdm_fs_make_private_temp_dir(tiny, sizeof(tiny), &err);
    if (old != nullptr)
        mdm_os_setenv("TMPDIR", saved.c_str());
    else
        unsetenv("TMPDIR");
    EXPECT_EQ(rc, MDM_EINVAL);
    EXPECT_STREQ(tiny, "unset"); /* out is written only on success */
    EXPECT_NE(std::string(err.msg).find("path too long"), std::string::npos) << err.msg;
    /* Nothing is left in the temporary directory: the scratch dir is empty. */
    ASSERT_EQ(rmdir(dir_.c_str()), 0) << "the private directory was left behind";
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
#endif
}

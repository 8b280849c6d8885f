// mdm_memory_release_clean_pages (agent/os/mdm_memory.h): the pages a file
// mapping holds unchanged from its file are given back, and come back with
// the same content on use; a page the process changed (copy-on-write, as
// the relocated data of a library: written, then made read-only) is never
// dropped. Real mappings of a real file; residency read from the kernel's
// /proc/self/smaps. On Windows the working set is emptied: the call must
// succeed and memory stay intact.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "agent/os/mdm_memory.h"
#include "test_util.h"

#ifndef _WIN32
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace
{

#ifndef _WIN32
// The Rss of the mapping that starts at addr, in KiB (-1: not found).
long rss_kib(const void *addr)
{
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    char start[32];
    snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
    bool in = false;
    while (std::getline(smaps, line)) {
        if (line.find('-') != std::string::npos && line.find(' ') > line.find('-') &&
            isxdigit((unsigned char)line[0]))
            in = line.rfind(start, 0) == 0;
        else if (in && line.rfind("Rss:", 0) == 0)
            return std::stol(line.substr(4));
    }
    return -1;
}
#endif

TEST(OsMemory, CleanFilePagesAreReleasedAndChangedPagesKept)
{
#ifdef _WIN32
    size_t released = 1;
    char kept[4096];
    memset(kept, 'k', sizeof(kept));
    ASSERT_EQ(0, mdm_memory_release_clean_pages(&released));
    EXPECT_EQ('k', kept[4095]);
#else
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), size = 64 * page;
    std::string dir = mdmtest::make_temp_dir("memory");
    std::string path = dir + "/data";
    std::string content(size, '\0');
    for (size_t i = 0; i < size; i++)
        content[i] = (char)('a' + i % 26);
    mdmtest::write_file(path, content);
    int fd = open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    // Read-only and unchanged: releasable.
    char *clean = (char *)mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    // Written, then made read-only (as RELRO data): a page of its own, kept.
    char *changed = (char *)mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    ASSERT_NE(MAP_FAILED, (void *)clean);
    ASSERT_NE(MAP_FAILED, (void *)changed);
    changed[5 * page] = '!';
    ASSERT_EQ(0, mprotect(changed, size, PROT_READ));
    volatile char sum = 0;
    for (size_t i = 0; i < size; i += page)
        sum = (char)(sum + clean[i] + changed[i]);
    ASSERT_EQ((long)(size / 1024), rss_kib(clean));

    size_t released = 0;
    ASSERT_EQ(0, mdm_memory_release_clean_pages(&released));
    EXPECT_GE(released, size);
    EXPECT_EQ(0, rss_kib(clean)) << "the clean mapping's pages are still resident";
    EXPECT_GT(rss_kib(changed), 0);
    EXPECT_EQ('!', changed[5 * page]) << "a changed page was dropped";
    EXPECT_EQ(0, memcmp(clean, content.data(), size));
    for (size_t i = 0; i < size; i++) {
        if (i != 5 * page) {
            ASSERT_EQ(content[i], changed[i]) << "at " << i;
        }
    }
    munmap(clean, size);
    munmap(changed, size);
    mdmtest::remove_tree(dir);
#endif
}

} // namespace

/* test_util.h - helpers shared by the GoogleTest files. */
#ifndef MDM_TEST_UTIL_H
#define MDM_TEST_UTIL_H

#include <string>
#include <vector>

namespace mdmtest
{

/* Reads a whole file; fails the current test when it cannot. */
std::string read_file(const std::string &path);
/* Writes data to path (truncating). */
void write_file(const std::string &path, const std::string &data);
/*
 * A fresh empty directory under the test's scratch area ($TMPDIR or /tmp on
 * Linux, GetTempPathW() on Windows); removed by the caller if wanted.
 */
std::string make_temp_dir(const std::string &tag);
/* Removes path and everything under it; fails the current test when it cannot. */
void remove_tree(const std::string &path);
/*
 * The folder of real .evtx files: $MDM_SHARED_EVTX_DIR when set (a clone
 * outside the workspace can point at the data), else ../shared/data/evtx
 * next to the source tree. Tests skip when it is absent.
 */
std::string shared_evtx_dir();
/* The non-empty lines of text (a program's output, a buffer). */
std::vector<std::string> lines_of(const std::string &text);
/*
 * The value of a top-level field of one of our flat JSON lines (`replay
 * --json`): strings unescaped minimally, other values as written;
 * "<absent>" when the field is not there.
 */
std::string json_field(const std::string &json, const std::string &name);
/* True when path exists. */
bool file_exists(const std::string &path);
/*
 * Who may access path, read back from the OS: on POSIX the permission bits
 * in octal ("0600"), on Windows the DACL in SDDL ("D:P(A;;FA;;;SY)...");
 * "" when it cannot be read.
 */
std::string access_of(const std::string &path);
/* True when this is the Windows build running under Wine (never on Linux). */
bool running_under_wine();

struct RunResult {
    int status; /* exit status, or -1 when killed/failed to start */
    std::string out;
    std::string err;
};
/*
 * Runs argv (argv[0] is a path) with optional stdin data, capturing stdout/stderr.
 * On Windows the captured text has its CRLF line ends turned into LF (the
 * console's text mode), so that the tests compare the same content on both.
 */
RunResult run_program(const std::vector<std::string> &argv, const std::string &stdin_data = "");

/* An Event XML document as `wevtutil qe /f:xml` prints it. */
std::string event_xml(const std::string &provider, unsigned event_id, unsigned long long record_id,
                      const std::string &computer,
                      const std::string &time = "2026-11-25T05:00:00.000Z",
                      const std::string &channel = "Mobile Device Manager",
                      const std::string &message = "", unsigned qualifiers = 0);

} // namespace mdmtest

#endif

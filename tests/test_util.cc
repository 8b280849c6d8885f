// test_util.cc - helpers shared by the GoogleTest files (the portable part;
// process spawning and temporary directories are in test_util_posix.cc and
// test_util_win.cc).
#include "test_util.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mdmtest
{

std::string read_file(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string &path, const std::string &data)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    out << data;
}

bool file_exists(const std::string &path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

void remove_tree(const std::string &path)
{
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    EXPECT_FALSE(ec) << "cannot remove " << path << ": " << ec.message();
}

std::string shared_evtx_dir()
{
    const char *env = getenv("MDM_SHARED_EVTX_DIR");
    return env != nullptr && *env != '\0' ? env : MDM_SHARED_EVTX_DIR;
}

std::string event_xml(const std::string &provider, unsigned event_id, unsigned long long record_id,
                      const std::string &computer, const std::string &time,
                      const std::string &channel, const std::string &message, unsigned qualifiers)
{
    std::ostringstream x;
    x << "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
      << "<Provider Name='" << provider << "'/>"
      << "<EventID Qualifiers='" << qualifiers << "'>" << event_id << "</EventID>"
      << "<Level>" << (event_id == 1003 ? 2 : 4) << "</Level><Task>0</Task>"
      << "<Keywords>0x80000000000000</Keywords>"
      << "<TimeCreated SystemTime='" << time << "'/>"
      << "<EventRecordID>" << record_id << "</EventRecordID>"
      << "<Channel>" << channel << "</Channel><Computer>" << computer << "</Computer>"
      << "<Security/></System><EventData><Data>param one</Data><Data>param two</Data></EventData>";
    if (!message.empty())
        x << "<RenderingInfo Culture='en-US'><Message>" << message << "</Message></RenderingInfo>";
    x << "</Event>\n";
    return x.str();
}

std::vector<std::string> lines_of(const std::string &text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty())
            out.push_back(line);
    return out;
}

std::string json_field(const std::string &json, const std::string &name)
{
    std::string key = "\"" + name + "\":";
    size_t p = json.find(key);
    if (p == std::string::npos)
        return "<absent>";
    p += key.size();
    if (json[p] == '"') {
        std::string v;
        for (size_t i = p + 1; i < json.size() && json[i] != '"'; i++) {
            if (json[i] == '\\' && i + 1 < json.size())
                i++;
            v += json[i];
        }
        return v;
    }
    size_t e = json.find_first_of(",}", p);
    return json.substr(p, e - p);
}

} // namespace mdmtest

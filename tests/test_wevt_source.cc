// Event sources (wevt/source_xml.c, source_evtx.c): cutting a stream of
// <Event> elements, reporting damage once with file and position while
// keeping the good events around it, following a growing file (real inotify,
// real files), and reading real .evtx files (our reader, libevtx where built in).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "wevt/source.h"
#include "test_util.h"

namespace
{

using mdmtest::event_xml;

struct Outcome {
    std::vector<unsigned long long> records; // EventRecordIDs returned, in order
    std::vector<unsigned> ids;               // their EventIDs
    std::vector<std::string> errors;         // EBADRECORD messages, in order
    int last = 0;                            // the code that ended the loop
};

// All messages, for failure output.
std::string joined(const std::vector<std::string> &errors)
{
    std::string all;
    for (const std::string &e : errors)
        all += e + "\n";
    return all;
}

// Reads a source to its end (or to EAGAIN for a followed file).
Outcome drain(struct mdm_source *src, size_t limit = 100000)
{
    Outcome o;
    struct mdm_event ev;
    struct mdm_err err;
    mdm_event_init(&ev);
    for (size_t i = 0; i < limit; i++) {
        int rc = mdm_source_next(src, &ev, &err);
        if (rc == 0) {
            o.records.push_back(ev.record_id);
            o.ids.push_back(ev.event_id);
        } else if (rc == MDM_EBADRECORD) {
            o.errors.push_back(err.msg);
        } else {
            o.last = rc;
            if (rc != MDM_EOF && rc != MDM_EAGAIN)
                o.errors.push_back(err.msg);
            break;
        }
    }
    mdm_event_free(&ev);
    return o;
}

class XmlSource : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        dir = mdmtest::make_temp_dir("xmlsrc");
    }
    Outcome read_text(const std::string &text, const std::string &name = "events.xml")
    {
        path = dir + "/" + name;
        mdmtest::write_file(path, text);
        struct mdm_source *src = nullptr;
        struct mdm_err err;
        EXPECT_EQ(0, mdm_source_open(&src, MDM_SOURCE_XML, path.c_str(), &err)) << err.msg;
        if (src == nullptr)
            return Outcome();
        Outcome o = drain(src);
        mdm_source_close(src);
        return o;
    }
    std::string ev(unsigned long long record, const std::string &message = "")
    {
        return event_xml("Device Manager", 1004, record, "DM01", "2026-11-25T05:00:00.000Z",
                         "Mobile Device Manager", message);
    }
    std::string dir, path;
};

TEST_F(XmlSource, ConcatenatedAsWevtutilPrintsThem)
{
    std::string one = ev(1), two = ev(2);
    // wevtutil prints events back to back, without a root or even a newline.
    one.pop_back();
    Outcome o = read_text(one + two + ev(3));
    EXPECT_EQ((std::vector<unsigned long long>{1, 2, 3}), o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
    EXPECT_EQ(MDM_EOF, o.last);
}

TEST_F(XmlSource, WrappedInARootWithDeclarationAndComments)
{
    Outcome o = read_text("\xEF\xBB\xBF<?xml version='1.0' encoding='utf-8'?>\n"
                          "<!-- exported by Get-WinEvent <Event> in a comment -->\n<Events>\n" +
                          ev(10) + "<!-- between -->\n" + ev(11) + "</Events>\n");
    EXPECT_EQ((std::vector<unsigned long long>{10, 11}), o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
}

TEST_F(XmlSource, MarkupInsideValuesDoesNotEndTheEvent)
{
    std::string tricky =
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        "<Provider Name='a&gt;b' EventSourceName=\"x>y\"/><EventID>1004</EventID>"
        "<EventRecordID>7</EventRecordID><Computer>DM01</Computer></System>"
        "<EventData><Data><![CDATA[</Event> <Event> inside CDATA]]></Data>"
        "<!-- </Event> in a comment --><Data>z</Data></EventData></Event>\n";
    Outcome o = read_text(tricky + ev(8));
    EXPECT_EQ((std::vector<unsigned long long>{7, 8}), o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
}

TEST_F(XmlSource, EventsSpanningReadChunksAreWhole)
{
    // Events of ~100 KiB cross the 64 KiB read chunks at every possible place.
    std::string text;
    std::vector<unsigned long long> want;
    for (unsigned long long r = 1; r <= 12; r++) {
        text += ev(r, std::string(100 * 1024 + r * 777, 'm'));
        want.push_back(r);
    }
    Outcome o = read_text(text);
    EXPECT_EQ(want, o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
}

TEST_F(XmlSource, DamagedEventIsReportedOnceWithLineAndOffset)
{
    std::string first = ev(1);
    std::string bad =
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
        "<System><Provider Name='P'/><EventID>notanumber</EventID></System></Event>\n";
    Outcome o = read_text(first + bad + ev(3));
    EXPECT_EQ((std::vector<unsigned long long>{1, 3}), o.records);
    ASSERT_EQ(1u, o.errors.size());
    EXPECT_NE(std::string::npos,
              o.errors[0].find(path + ":2: event at byte " + std::to_string(first.size())))
        << o.errors[0];
    EXPECT_NE(std::string::npos, o.errors[0].find("EventID")) << o.errors[0];
}

TEST_F(XmlSource, TruncatedEventBeforeTheNextOneKeepsTheNextOne)
{
    std::string cut = ev(1);
    cut.resize(cut.size() / 2);
    Outcome o = read_text(cut + "\n" + ev(2) + ev(3));
    EXPECT_EQ((std::vector<unsigned long long>{2, 3}), o.records);
    ASSERT_EQ(1u, o.errors.size());
    EXPECT_NE(std::string::npos, o.errors[0].find(":1: event at byte 0: event is incomplete"))
        << o.errors[0];
}

TEST_F(XmlSource, TruncatedLastEventIsReportedAtTheEnd)
{
    std::string cut = ev(2);
    cut.resize(cut.size() - 20);
    Outcome o = read_text(ev(1) + cut);
    EXPECT_EQ((std::vector<unsigned long long>{1}), o.records);
    ASSERT_EQ(1u, o.errors.size());
    EXPECT_NE(std::string::npos, o.errors[0].find("the input ends before its </Event>"))
        << o.errors[0];
    EXPECT_EQ(MDM_EOF, o.last);
}

TEST_F(XmlSource, TextOutsideEventsIsReportedOnce)
{
    Outcome o = read_text(ev(1) + "this line is garbage\nand so is this one\n" + ev(2));
    EXPECT_EQ((std::vector<unsigned long long>{1, 2}), o.records);
    ASSERT_EQ(1u, o.errors.size());
    EXPECT_NE(std::string::npos, o.errors[0].find(":2: event at byte ")) << o.errors[0];
    EXPECT_NE(std::string::npos, o.errors[0].find("text outside any <Event>")) << o.errors[0];
}

TEST_F(XmlSource, OversizeEventIsSkippedAndTheRestIsRead)
{
    // Just over the cap (found whole, refused by the parser) and far over it
    // (never buffered whole: the scanner gives up at the cap and resyncs).
    std::string over = ev(2, std::string(MDM_EVENT_XML_MAX + 1000, 'h'));
    std::string far = ev(3, std::string(3 * MDM_EVENT_XML_MAX, 'f'));
    Outcome o = read_text(ev(1) + over + far + ev(4));
    EXPECT_EQ((std::vector<unsigned long long>{1, 4}), o.records);
    ASSERT_EQ(2u, o.errors.size());
    EXPECT_NE(std::string::npos,
              o.errors[0].find(":2: event at byte " + std::to_string(ev(1).size())))
        << o.errors[0];
    EXPECT_NE(std::string::npos, o.errors[0].find("limit")) << o.errors[0];
    EXPECT_NE(std::string::npos,
              o.errors[1].find(":3: event at byte " + std::to_string(ev(1).size() + over.size())))
        << joined(o.errors);
    EXPECT_NE(std::string::npos, o.errors[1].find("larger than the 1 MiB limit"))
        << joined(o.errors);
}

// Constructs that never end (or end past the 1 MiB event cap): the scanner
// must give up on each once, report it once, and find the next event, at a
// cost linear in the input (it once rescanned the buffer from the start of
// the construct on every read: 1.1 MB of "<!--" stalled the agent ~100 s).
struct Unterminated {
    const char *name;
    std::string opener; // written once
    std::string filler; // repeated to the wanted size
    const char *cause;  // in the damage message
};

const std::string kEventNs = "xmlns='http://schemas.microsoft.com/win/2004/08/events/event'";

std::vector<Unterminated> unterminated_cases()
{
    return {
        {"comment openers", "", "<!--", "unterminated comment"},
        {"CDATA section", "<![CDATA[", "cdata ", "unterminated CDATA section"},
        {"processing instruction", "<?pi ", "data ", "unterminated processing instruction"},
        {"quoted attribute", "<Events a=\"", "value ", "unterminated tag"},
        {"event with a comment inside", "<Event " + kEventNs + "><System><!--", "<!--",
         "larger than the 1 MiB limit"},
        {"event with a CDATA inside", "<Event " + kEventNs + "><System><![CDATA[", "cdata ",
         "larger than the 1 MiB limit"},
        {"event with an open attribute", "<Event " + kEventNs + "><System a='", "value ",
         "larger than the 1 MiB limit"},
    };
}

std::string garbage_of(const Unterminated &c, size_t size)
{
    std::string g = c.opener;
    while (g.size() < size)
        g += c.filler;
    return g;
}

std::string event_1003(unsigned long long record = 1003)
{
    return event_xml("Device Manager", 1003, record, "DM01");
}

TEST_F(XmlSource, UnterminatedConstructsAreSkippedOnceAndTheNextEventIsRead)
{
    for (const Unterminated &c : unterminated_cases()) {
        SCOPED_TRACE(c.name);
        std::string garbage = garbage_of(c, 4 * MDM_EVENT_XML_MAX + 5);
        std::string head = ev(1) + "\n";
        Outcome o = read_text(head + garbage + event_1003(), "unterminated.xml");
        EXPECT_EQ((std::vector<unsigned long long>{1, 1003}), o.records);
        EXPECT_EQ((std::vector<unsigned>{1004, 1003}), o.ids);
        ASSERT_EQ(1u, o.errors.size()) << joined(o.errors);
        EXPECT_NE(std::string::npos,
                  o.errors[0].find(path + ":3: event at byte " + std::to_string(head.size())))
            << o.errors[0];
        EXPECT_NE(std::string::npos, o.errors[0].find(c.cause)) << o.errors[0];
        EXPECT_EQ(MDM_EOF, o.last);
    }
}

TEST_F(XmlSource, UnterminatedConstructAtTheEndIsReportedOnce)
{
    for (const Unterminated &c : unterminated_cases()) {
        SCOPED_TRACE(c.name);
        // Under the cap (seen whole at the end) and over it.
        for (size_t size : {size_t(300), size_t(MDM_EVENT_XML_MAX + 70000)}) {
            Outcome o = read_text(ev(1) + garbage_of(c, size), "end.xml");
            EXPECT_EQ((std::vector<unsigned long long>{1}), o.records);
            ASSERT_EQ(1u, o.errors.size()) << size << ": " << joined(o.errors);
            EXPECT_NE(std::string::npos,
                      o.errors[0].find(path + ":2: event at byte " + std::to_string(ev(1).size())))
                << o.errors[0];
            EXPECT_EQ(MDM_EOF, o.last);
        }
    }
}

TEST_F(XmlSource, ManyMegabytesOfCommentOpenersCostLinearTimeAndMemory)
{
    // The reported stall: megabytes of "<!--", then a valid 1003.
    const size_t size = 16u * 1024 * 1024;
    std::string garbage = garbage_of(unterminated_cases()[0], size);
    path = dir + "/stall.xml";
    mdmtest::write_file(path, garbage + event_1003());
    struct mdm_source *src = nullptr;
    struct mdm_err err;
    ASSERT_EQ(0, mdm_source_open(&src, MDM_SOURCE_XML, path.c_str(), &err)) << err.msg;
    Outcome o = drain(src);
    EXPECT_EQ((std::vector<unsigned long long>{1003}), o.records);
    ASSERT_EQ(1u, o.errors.size());
    EXPECT_NE(std::string::npos, o.errors[0].find(path + ":1: event at byte 0: unterminated"))
        << o.errors[0];
    struct mdm_source_scan_work work;
    mdm_source_scan_work(src, &work);
    EXPECT_EQ(garbage.size() + event_1003().size(), work.bytes_read);
    EXPECT_LE(work.bytes_examined, 4 * work.bytes_read);
    EXPECT_LE(work.bytes_moved, work.bytes_read);
    // Outside an event nothing needs keeping: the construct is dropped as it streams.
    EXPECT_LE(work.buffer_peak, 2u * 64 * 1024);
    mdm_source_close(src);
}

TEST_F(XmlSource, EventStartingWhereAnOversizeEventIsCutIsRead)
{
    // The oversize event is given up when the buffer first holds more than
    // 1 MiB of it (after 17 reads of 64 KiB); the next event's start tag is
    // cut by the end of that read. It must be read, not skipped with it.
    const size_t boundary = 17u * 64 * 1024;
    std::string cut = "<Event " + kEventNs + "><System><Data>";
    cut += std::string(boundary - 20 - cut.size(), 'x');
    Outcome o = read_text(cut + ev(2) + ev(3), "cut.xml");
    EXPECT_EQ((std::vector<unsigned long long>{2, 3}), o.records);
    ASSERT_EQ(1u, o.errors.size()) << joined(o.errors);
    EXPECT_NE(std::string::npos, o.errors[0].find(":1: event at byte 0: event is larger"))
        << o.errors[0];
}

TEST_F(XmlSource, Utf16IsRefusedWithTheFix)
{
    Outcome o = read_text(std::string("\xFF\xFE<\0E\0", 6));
    EXPECT_EQ(MDM_EUNSUPPORTED, o.last);
    ASSERT_EQ(1u, o.errors.size());
    EXPECT_NE(std::string::npos, o.errors[0].find("UTF-16")) << o.errors[0];
    EXPECT_NE(std::string::npos, o.errors[0].find("iconv")) << o.errors[0];
}

TEST_F(XmlSource, EmptyInputIsJustTheEnd)
{
    Outcome o = read_text("");
    EXPECT_TRUE(o.records.empty());
    EXPECT_TRUE(o.errors.empty());
    EXPECT_EQ(MDM_EOF, o.last);
}

TEST_F(XmlSource, PositionResumesAfterTheLastEvent)
{
    path = dir + "/resume.xml";
    mdmtest::write_file(path, ev(1) + ev(2) + ev(3));
    struct mdm_source *src = nullptr;
    struct mdm_err err;
    struct mdm_event e;
    char pos[MDM_SOURCE_POSITION_MAX];
    mdm_event_init(&e);
    ASSERT_EQ(0, mdm_source_open(&src, MDM_SOURCE_XML, path.c_str(), &err)) << err.msg;
    ASSERT_EQ(0, mdm_source_next(src, &e, &err));
    ASSERT_EQ(0, mdm_source_next(src, &e, &err));
    EXPECT_EQ(2u, e.record_id);
    ASSERT_EQ(0, mdm_source_position(src, pos, sizeof(pos)));
    // Just past the second </Event> (each event is followed by a newline),
    // then the file's identity: device:inode and the head's length and hash.
    std::string p = pos;
    EXPECT_EQ(std::to_string(2 * ev(1).size() - 1) + ";id=", p.substr(0, p.find('=') + 1)) << p;
    EXPECT_NE(std::string::npos, p.find(";head=" + std::to_string(3 * ev(1).size()) + ":")) << p;
    mdm_source_close(src);

    ASSERT_EQ(0, mdm_source_open(&src, MDM_SOURCE_XML, path.c_str(), &err)) << err.msg;
    ASSERT_EQ(0, mdm_source_seek(src, pos, &err)) << err.msg;
    Outcome o = drain(src);
    EXPECT_EQ((std::vector<unsigned long long>{3}), o.records);
    EXPECT_EQ(MDM_EINVAL, mdm_source_seek(src, "12abc", &err));
    mdm_source_close(src);
    mdm_event_free(&e);
}

TEST_F(XmlSource, MissingFileIsAClearError)
{
    struct mdm_source *src = nullptr;
    struct mdm_err err;
    std::string missing = dir + "/absent.xml";
    EXPECT_EQ(MDM_ENOTFOUND, mdm_source_open(&src, MDM_SOURCE_XML, missing.c_str(), &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find(missing + ": cannot open")) << err.msg;
    EXPECT_EQ(nullptr, src);
}

void append(const std::string &path, const std::string &data)
{
    std::ofstream f(path, std::ios::binary | std::ios::app);
    f << data;
}

class FollowSource : public XmlSource
{
  protected:
    struct mdm_source *open_follow()
    {
        struct mdm_source *src = nullptr;
        struct mdm_err err;
        EXPECT_EQ(0, mdm_source_open(&src, MDM_SOURCE_XML_FOLLOW, path.c_str(), &err)) << err.msg;
        return src;
    }
};

TEST_F(FollowSource, WaitsForEventsBeingWrittenAndWakesOnInotify)
{
    path = dir + "/live.xml";
    mdmtest::write_file(path, ev(1));
    struct mdm_source *src = open_follow();
    ASSERT_NE(nullptr, src);
    ASSERT_GE(mdm_source_pollfd(src), 0);

    Outcome o = drain(src);
    EXPECT_EQ((std::vector<unsigned long long>{1}), o.records);
    EXPECT_EQ(MDM_EAGAIN, o.last);

    // Half an event: nothing yet, and no error while the writer is mid-write.
    std::string two = ev(2);
    append(path, two.substr(0, 40));
    EXPECT_EQ(0, mdm_source_wait(src, 2000));
    o = drain(src);
    EXPECT_TRUE(o.records.empty());
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
    EXPECT_EQ(MDM_EAGAIN, o.last);

    append(path, two.substr(40) + ev(3));
    EXPECT_EQ(0, mdm_source_wait(src, 2000));
    o = drain(src);
    EXPECT_EQ((std::vector<unsigned long long>{2, 3}), o.records);
    mdm_source_close(src);
}

TEST_F(FollowSource, FileCreatedLaterIsPickedUp)
{
    path = dir + "/later.xml";
    struct mdm_source *src = open_follow();
    ASSERT_NE(nullptr, src);
    Outcome o = drain(src);
    EXPECT_EQ(MDM_EAGAIN, o.last);
    mdmtest::write_file(path, ev(5));
    EXPECT_EQ(0, mdm_source_wait(src, 2000));
    o = drain(src);
    EXPECT_EQ((std::vector<unsigned long long>{5}), o.records);
    mdm_source_close(src);
}

TEST_F(FollowSource, RotationAndTruncationAreFollowed)
{
    path = dir + "/rot.xml";
    mdmtest::write_file(path, ev(1));
    struct mdm_source *src = open_follow();
    ASSERT_NE(nullptr, src);
    EXPECT_EQ((std::vector<unsigned long long>{1}), drain(src).records);

    // Rotation: the old file gets one last event, then a new file replaces it.
    append(path, ev(2));
    ASSERT_EQ(0, rename(path.c_str(), (path + ".1").c_str()));
    mdmtest::write_file(path + ".new", ev(10));
    ASSERT_EQ(0, rename((path + ".new").c_str(), path.c_str()));
    Outcome o = drain(src);
    EXPECT_EQ((std::vector<unsigned long long>{2, 10}), o.records);

    // Truncation (`> file`): the file starts over. A rewrite to the very same
    // size cannot be told from no change by size alone; see docs/replay.md.
    mdmtest::write_file(path, "");
    o = drain(src);
    EXPECT_TRUE(o.records.empty());
    append(path, ev(20));
    o = drain(src);
    EXPECT_EQ((std::vector<unsigned long long>{20}), o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
    mdm_source_close(src);
}

TEST_F(FollowSource, GarbageAppendedInPiecesCostsLinearWorkAndIsReportedOnce)
{
    // 8 MiB of each kind of unterminated construct appended 64 KiB at a time,
    // each append read at once (as the agent does on every inotify wake-up),
    // then a 1003. The work is counted, not timed: the old scanner looked at
    // the whole pending construct again after every append (quadratic).
    const size_t piece = 64u * 1024, total = 8u * 1024 * 1024;
    for (const Unterminated &c : unterminated_cases()) {
        SCOPED_TRACE(c.name);
        path = dir + "/garbage-" + std::to_string(&c - &unterminated_cases()[0]) + ".xml";
        mdmtest::write_file(path, ev(1));
        struct mdm_source *src = open_follow();
        ASSERT_NE(nullptr, src);
        Outcome o = drain(src);
        EXPECT_EQ((std::vector<unsigned long long>{1}), o.records);
        std::string garbage = garbage_of(c, total);
        std::vector<std::string> errors;
        struct mdm_source_scan_work work;
        for (size_t at = 0; at < garbage.size(); at += piece) {
            append(path, garbage.substr(at, piece));
            o = drain(src);
            EXPECT_TRUE(o.records.empty());
            EXPECT_EQ(MDM_EAGAIN, o.last);
            errors.insert(errors.end(), o.errors.begin(), o.errors.end());
            mdm_source_scan_work(src, &work);
            ASSERT_LE(work.bytes_examined, 4 * work.bytes_read)
                << "after " << work.bytes_read << " bytes";
            ASSERT_LE(work.bytes_moved, 4 * work.bytes_read)
                << "after " << work.bytes_read << " bytes";
        }
        EXPECT_LE(work.buffer_peak, MDM_EVENT_XML_MAX + 2u * piece);
        append(path, event_1003());
        o = drain(src);
        EXPECT_EQ((std::vector<unsigned long long>{1003}), o.records);
        errors.insert(errors.end(), o.errors.begin(), o.errors.end());
        ASSERT_EQ(1u, errors.size()) << joined(errors);
        EXPECT_NE(std::string::npos,
                  errors[0].find(path + ":2: event at byte " + std::to_string(ev(1).size())))
            << errors[0];
        EXPECT_NE(std::string::npos, errors[0].find(c.cause)) << errors[0];
        mdm_source_close(src);
    }
}

// --- Resuming after a stop: the position names the file it belongs to ---

class ResumeSource : public FollowSource
{
  protected:
    // Reads `count` events of a fresh follow source and returns its position.
    std::string read_and_stop(size_t count)
    {
        struct mdm_source *src = open_follow();
        struct mdm_event e;
        struct mdm_err err;
        char pos[MDM_SOURCE_POSITION_MAX] = "";
        mdm_event_init(&e);
        for (size_t i = 0; src != nullptr && i < count; i++)
            EXPECT_EQ(0, mdm_source_next(src, &e, &err)) << err.msg;
        if (src != nullptr)
            mdm_source_position(src, pos, sizeof(pos));
        mdm_source_close(src);
        mdm_event_free(&e);
        return pos;
    }
    // Opens a follow source, resumes at pos and reads what there is.
    Outcome resume(const std::string &pos, std::string *pos_after = nullptr)
    {
        struct mdm_source *src = open_follow();
        struct mdm_err err;
        if (src == nullptr)
            return Outcome();
        EXPECT_EQ(0, mdm_source_seek(src, pos.c_str(), &err)) << err.msg;
        Outcome o = drain(src);
        char buf[MDM_SOURCE_POSITION_MAX] = "";
        mdm_source_position(src, buf, sizeof(buf));
        if (pos_after != nullptr)
            *pos_after = buf;
        mdm_source_close(src);
        return o;
    }
    unsigned long long inode(const std::string &p)
    {
        struct stat st;
        return stat(p.c_str(), &st) == 0 ? (unsigned long long)st.st_ino : 0;
    }
};

TEST_F(ResumeSource, RotatedWhileStoppedFinishesTheRotatedFileThenReadsTheNewOne)
{
    path = dir + "/rot.xml";
    mdmtest::write_file(path, ev(1) + ev(2));
    std::string pos = read_and_stop(1);
    // While stopped: the old file gets more, is rotated, and a new file starts.
    append(path, ev(3));
    ASSERT_EQ(0, rename(path.c_str(), (path + ".1").c_str()));
    mdmtest::write_file(path, ev(10) + ev(11));
    std::string pos2;
    {
        // Stopped again in the middle of the rotated file: that position is its.
        struct mdm_source *src = open_follow();
        struct mdm_err err;
        struct mdm_event e;
        char buf[MDM_SOURCE_POSITION_MAX];
        mdm_event_init(&e);
        ASSERT_EQ(0, mdm_source_seek(src, pos.c_str(), &err)) << err.msg;
        ASSERT_EQ(0, mdm_source_next(src, &e, &err)) << err.msg;
        EXPECT_EQ(2u, e.record_id);
        EXPECT_EQ(path + ".1", e.origin);
        mdm_source_position(src, buf, sizeof(buf));
        pos2 = buf;
        mdm_source_close(src);
        mdm_event_free(&e);
    }
    std::string after;
    Outcome o = resume(pos2, &after);
    EXPECT_EQ((std::vector<unsigned long long>{3, 10, 11}), o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
    EXPECT_EQ(MDM_EAGAIN, o.last);
    // The position is now in the new file: nothing is read twice.
    append(path, ev(12));
    o = resume(after);
    EXPECT_EQ((std::vector<unsigned long long>{12}), o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
}

TEST_F(ResumeSource, RotatedFileGoneReadsTheNewFileAndSaysEventsMayBeLost)
{
    path = dir + "/gone.xml";
    mdmtest::write_file(path, ev(1) + ev(2));
    std::string pos = read_and_stop(1);
    ASSERT_EQ(0, rename(path.c_str(), (path + ".2").c_str())); // rotated twice: not PATH.1
    // The same size as before, so the offset alone would look valid.
    mdmtest::write_file(path, ev(10) + ev(11));
    Outcome o = resume(pos);
    EXPECT_EQ((std::vector<unsigned long long>{10, 11}), o.records);
    ASSERT_EQ(1u, o.errors.size()) << joined(o.errors);
    EXPECT_NE(std::string::npos, o.errors[0].find(path + ": while the agent was stopped the file "
                                                         "is another file (rotated or replaced)"))
        << o.errors[0];
    EXPECT_NE(std::string::npos, o.errors[0].find("may have been lost")) << o.errors[0];
    EXPECT_NE(std::string::npos, o.errors[0].find(path + ".1")) << o.errors[0];
}

TEST_F(ResumeSource, TruncatedWhileStoppedIsReadFromItsStart)
{
    path = dir + "/trunc.xml";
    mdmtest::write_file(path, ev(1) + ev(2) + ev(3));
    std::string pos = read_and_stop(2);
    unsigned long long ino = inode(path);
    mdmtest::write_file(path, ev(20)); // `> file`, then one event: shorter than the offset
    ASSERT_EQ(ino, inode(path));
    Outcome o = resume(pos);
    EXPECT_EQ((std::vector<unsigned long long>{20}), o.records);
    ASSERT_EQ(1u, o.errors.size()) << joined(o.errors);
    EXPECT_NE(std::string::npos, o.errors[0].find("was truncated")) << o.errors[0];
}

TEST_F(ResumeSource, SameInodeRewrittenWithOtherEventsIsReadFromItsStart)
{
    // The file is emptied and refilled in place (same inode) with other
    // events, longer than the saved offset: only the head tells it apart.
    path = dir + "/rewritten.xml";
    mdmtest::write_file(path, ev(1) + ev(2) + ev(3));
    std::string pos = read_and_stop(1);
    unsigned long long ino = inode(path);
    mdmtest::write_file(path, ev(31) + ev(32) + ev(33));
    ASSERT_EQ(ino, inode(path));
    Outcome o = resume(pos);
    EXPECT_EQ((std::vector<unsigned long long>{31, 32, 33}), o.records);
    ASSERT_EQ(1u, o.errors.size()) << joined(o.errors);
    EXPECT_NE(std::string::npos, o.errors[0].find("was rewritten")) << o.errors[0];
}

TEST_F(ResumeSource, CopiedThenTruncatedFinishesTheCopy)
{
    // logrotate's copytruncate: PATH.1 is a copy (another inode, same
    // content), PATH is emptied in place and written on.
    path = dir + "/copytruncate.xml";
    mdmtest::write_file(path, ev(1) + ev(2));
    std::string pos = read_and_stop(1);
    mdmtest::write_file(path + ".1", ev(1) + ev(2));
    mdmtest::write_file(path, ev(5));
    Outcome o = resume(pos);
    EXPECT_EQ((std::vector<unsigned long long>{2, 5}), o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
}

TEST_F(ResumeSource, UnchangedFileResumesEvenWithARotatedFileNextToIt)
{
    path = dir + "/same.xml";
    mdmtest::write_file(path, ev(1) + ev(2));
    std::string pos = read_and_stop(1);
    mdmtest::write_file(path + ".1", ev(1) + ev(2)); // an older copy lying around
    append(path, ev(3));
    Outcome o = resume(pos);
    EXPECT_EQ((std::vector<unsigned long long>{2, 3}), o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
}

TEST_F(ResumeSource, BareOffsetOfOlderVersionsIsStillAccepted)
{
    path = dir + "/old.xml";
    mdmtest::write_file(path, ev(1) + ev(2) + ev(3));
    Outcome o = resume(std::to_string(2 * ev(1).size() - 1));
    EXPECT_EQ((std::vector<unsigned long long>{3}), o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
    // Past the end (the file was replaced by a shorter one): from the start, as before.
    o = resume(std::to_string(10 * ev(1).size()));
    EXPECT_EQ((std::vector<unsigned long long>{1, 2, 3}), o.records);
}

TEST_F(ResumeSource, MalformedPositionsAreRefused)
{
    path = dir + "/bad.xml";
    mdmtest::write_file(path, ev(1));
    struct mdm_source *src = open_follow();
    ASSERT_NE(nullptr, src);
    struct mdm_err err;
    for (const char *bad : {"", "-1", " 12", "12;", "12;id=1:2", "12;head=3:ff",
                            "12;id=1;head=3:ff", "12;id=zz:1;head=3:ff", "12;id=1:2;head=99999:ff",
                            "12;skip=maybe", "12;id=1:2;head=3:ff;x"}) {
        SCOPED_TRACE(bad);
        EXPECT_EQ(MDM_EINVAL, mdm_source_seek(src, bad, &err));
        EXPECT_NE(std::string::npos, std::string(err.msg).find("invalid resume position"));
    }
    mdm_source_close(src);
}

TEST_F(ResumeSource, APositionInsideSkippedGarbageResumesSkipping)
{
    // Saved just after a damage report: the rest of the damaged construct is
    // not read as if it were new (no second report, no event swallowed).
    path = dir + "/skip.xml";
    std::string garbage = "<!--";
    while (garbage.size() < MDM_EVENT_XML_MAX + 100000)
        garbage += "<!-- x ";
    mdmtest::write_file(path, ev(1) + garbage);
    struct mdm_source *src = open_follow();
    ASSERT_NE(nullptr, src);
    Outcome o = drain(src);
    EXPECT_EQ((std::vector<unsigned long long>{1}), o.records);
    ASSERT_EQ(1u, o.errors.size());
    char buf[MDM_SOURCE_POSITION_MAX];
    mdm_source_position(src, buf, sizeof(buf));
    mdm_source_close(src);
    EXPECT_NE(std::string::npos, std::string(buf).find(";skip=event;")) << buf;
    append(path, "<!-- x <!-- " + ev(2));
    o = resume(buf);
    EXPECT_EQ((std::vector<unsigned long long>{2}), o.records);
    EXPECT_TRUE(o.errors.empty()) << o.errors[0];
}

TEST_F(FollowSource, StdinCannotBeFollowed)
{
    struct mdm_source *src = nullptr;
    struct mdm_err err;
    EXPECT_EQ(MDM_EINVAL, mdm_source_open(&src, MDM_SOURCE_XML_FOLLOW, "-", &err));
}

// --- evtx, on the real files in ../shared/data/evtx ---

// Builds with libevtx read .evtx through our reader with libevtx's XML as the
// fallback (wevt/source_evtx.c); builds without it, the Windows build among
// them, through our reader alone (wevt/source_evtx_reader_only.c), which
// reports the records it refuses instead of reading them another way and
// recovers nothing (tests/test_wevt_evtx_only.cc compares both).
#ifdef MDM_HAVE_LIBEVTX
constexpr bool kHaveLibevtx = true;
#else
constexpr bool kHaveLibevtx = false;
#endif

const std::string kEvtxDir = mdmtest::shared_evtx_dir();

bool have(const std::string &file)
{
    struct stat st;
    return stat((kEvtxDir + "/" + file).c_str(), &st) == 0;
}

Outcome read_evtx_path(const std::string &path, struct mdm_err *open_err = nullptr)
{
    struct mdm_source *src = nullptr;
    struct mdm_err err;
    int rc = mdm_source_open(&src, MDM_SOURCE_EVTX, path.c_str(), &err);
    if (open_err != nullptr)
        *open_err = err;
    if (rc != 0) {
        Outcome o;
        o.last = rc;
        o.errors.push_back(err.msg);
        return o;
    }
    Outcome o = drain(src);
    mdm_source_close(src);
    return o;
}

Outcome read_evtx(const std::string &file, struct mdm_err *open_err = nullptr)
{
    return read_evtx_path(kEvtxDir + "/" + file, open_err);
}

TEST(EvtxSource, SystemLogGivesEveryRecordInOrder)
{
    if (!have("system.evtx"))
        GTEST_SKIP() << kEvtxDir << "/system.evtx is absent";
    std::string path = kEvtxDir + "/system.evtx";
    Outcome o = read_evtx("system.evtx");
    EXPECT_EQ(MDM_EOF, o.last);
    // 1881 records, as libevtx's own evtxexport counts them (README of the data set).
    if (kHaveLibevtx) {
        EXPECT_TRUE(o.errors.empty()) << o.errors[0];
        ASSERT_EQ(1881u, o.records.size());
    } else {
        // Without libevtx, each record the reader refuses is reported, none dropped.
        EXPECT_EQ(1881u, o.records.size() + o.errors.size()) << joined(o.errors);
        EXPECT_GE(o.records.size(), 1850u);
        for (const std::string &e : o.errors) {
            EXPECT_EQ(0u, e.find(path + ": offset ")) << e;
            EXPECT_NE(std::string::npos, e.find("without libevtx")) << e;
        }
    }
    for (size_t i = 1; i < o.records.size(); i++)
        EXPECT_LT(o.records[i - 1], o.records[i]) << "at " << i;
}

TEST(EvtxSource, ResumesAfterARecordId)
{
    if (!have("system.evtx"))
        GTEST_SKIP() << kEvtxDir << "/system.evtx is absent";
    std::string path = kEvtxDir + "/system.evtx";
    struct mdm_source *src = nullptr;
    struct mdm_err err;
    struct mdm_event e;
    char pos[MDM_SOURCE_POSITION_MAX];
    Outcome all = read_evtx("system.evtx");
    mdm_event_init(&e);
    ASSERT_EQ(0, mdm_source_open(&src, MDM_SOURCE_EVTX, path.c_str(), &err)) << err.msg;
    for (int i = 0; i < 100;) {
        int rc = mdm_source_next(src, &e, &err);
        ASSERT_TRUE(rc == 0 || rc == MDM_EBADRECORD) << err.msg;
        if (rc == 0)
            i++;
    }
    unsigned long long hundredth = e.record_id;
    mdm_source_position(src, pos, sizeof(pos));
    EXPECT_EQ("record-id:" + std::to_string(hundredth), pos);
    mdm_source_close(src);

    ASSERT_EQ(0, mdm_source_open(&src, MDM_SOURCE_EVTX, path.c_str(), &err)) << err.msg;
    ASSERT_EQ(0, mdm_source_seek(src, pos, &err)) << err.msg;
    Outcome o = drain(src);
    // Every event after the hundredth of the whole read (1781 with libevtx).
    size_t after = 0;
    for (unsigned long long id : all.records)
        after += id > hundredth;
    if (kHaveLibevtx) {
        EXPECT_EQ(1781u, after);
    }
    ASSERT_EQ(after, o.records.size());
    EXPECT_GT(o.records.front(), hundredth);
    mdm_source_close(src);
    mdm_event_free(&e);
}

TEST(EvtxSource, CorruptFilesKeepTheGoodRecords)
{
    // Each file is damaged differently; the reader must go on and never crash.
    // The lower bounds are well below what libevtx's evtxexport recovers
    // (README of the data set), so a reader that gave up early would fail.
    // Without libevtx nothing is recovered from damaged chunks or free space:
    // lower bounds of their own, below what our reader reads of the intact
    // chunks, and the file whose header CRC-32 does not match is refused whole.
    struct Case {
        const char *file;
        size_t at_least, at_least_without_libevtx;
    } cases[] = {
        {"sample_with_a_bad_chunk_magic.evtx", 200, 100},
        {"sample-with-zero-data-size-event.evtx", 300, 300},
        {"security_bad_string_cache.evtx", 2000, 2000},
        {"Application_no_crc32.evtx", 17, 0},
        {"2-vss_7-System.evtx", 1100, 1100},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.file);
        if (!have(c.file)) {
            GTEST_SKIP() << kEvtxDir << "/" << c.file << " is absent";
        }
        struct mdm_err open_err;
        Outcome o = read_evtx(c.file, &open_err);
        if (!kHaveLibevtx && c.at_least_without_libevtx == 0) {
            EXPECT_EQ(MDM_EPARSE, o.last);
            EXPECT_NE(std::string::npos,
                      std::string(open_err.msg)
                          .find(": not a readable .evtx file: offset 124: file header CRC-32 "
                                "mismatch"))
                << open_err.msg;
        } else {
            EXPECT_EQ(MDM_EOF, o.last) << (o.errors.empty() ? "" : o.errors.back());
            EXPECT_GE(o.records.size(), kHaveLibevtx ? c.at_least : c.at_least_without_libevtx)
                << o.records.size();
        }
        for (const std::string &e : o.errors)
            EXPECT_NE(std::string::npos, e.find(c.file)) << e;
    }
}

TEST(EvtxSource, DamagedRecordsOfAFuzzedFileAreReportedAndTheRestRead)
{
    // Found by scripts/fuzz (fuzz_evtx_source): a file whose damaged records
    // make libevtx leak what it was rendering (tests/lsan.supp says why that
    // leak is libevtx's own). libevtx's evtxexport gives up at the first
    // unreadable record (92); the evtx source reports each damaged record
    // with the file and reads every other one to the end. Without libevtx
    // the reader reports each record it cannot read with its offset.
    std::string path = std::string(MDM_TEST_DATA_DIR) + "/fuzz/evtx-libevtx-leak.evtx";
    struct mdm_source *src = nullptr;
    struct mdm_err err;
    ASSERT_EQ(0, mdm_source_open(&src, MDM_SOURCE_EVTX, path.c_str(), &err)) << err.msg;
    Outcome o = drain(src);
    mdm_source_close(src);
    EXPECT_EQ(MDM_EOF, o.last);
    // Past the record where evtxexport stops. Without libevtx, every chunk of
    // this file fails its CRC-32 check: each record is reported, none read.
    if (kHaveLibevtx) {
        EXPECT_GT(o.records.size(), 92u);
    } else {
        EXPECT_GT(o.records.size() + o.errors.size(), 92u);
    }
    EXPECT_FALSE(o.errors.empty());
    for (const std::string &e : o.errors)
        EXPECT_EQ(0u, e.find(path + (kHaveLibevtx ? ": record " : ": offset "))) << e;
}

TEST(EvtxSource, NotAnEvtxFile)
{
    std::string dir = mdmtest::make_temp_dir("evtx");
    std::string path = dir + "/text.evtx";
    mdmtest::write_file(path, "plain text\n");
    struct mdm_source *src = nullptr;
    struct mdm_err err;
    EXPECT_EQ(MDM_EPARSE, mdm_source_open(&src, MDM_SOURCE_EVTX, path.c_str(), &err));
    EXPECT_EQ(nullptr, src);
    EXPECT_NE(std::string::npos, std::string(err.msg).find(path + ": not a readable .evtx file"))
        << err.msg;
    mdmtest::remove_tree(dir);
}

TEST(EvtxSource, CommittedSampleIsReadInEveryBuild)
{
    // A committed public sample (tests/data/evtx-public/SOURCES.md), so that
    // the cross-built suite reads a real .evtx under Wine even without
    // ../shared/data/evtx: 18 records, each a Security 4624 (logon), as
    // libevtx's evtxexport reads them.
    std::string path = std::string(MDM_TEST_DATA_DIR) + "/evtx-public/DE_RDP_Tunneling_4624.evtx";
    Outcome o = read_evtx_path(path);
    EXPECT_EQ(MDM_EOF, o.last);
    EXPECT_TRUE(o.errors.empty()) << joined(o.errors);
    ASSERT_EQ(18u, o.records.size());
    for (size_t i = 1; i < o.records.size(); i++)
        EXPECT_LT(o.records[i - 1], o.records[i]) << "at " << i;
    for (unsigned id : o.ids)
        EXPECT_EQ(4624u, id);
}

// replay's inputs are told apart by their content first: an .evtx under another name
// is read as one, an Event XML file as XML whatever its name, and a Windows Server
// 2003 log (.evt) is refused with how to convert it, instead of being parsed as XML.
TEST(SourceKind, GuessedFromTheSignatureThenTheName)
{
    const std::string dir = mdmtest::make_temp_dir("kind");
    const std::string evtx =
        std::string(MDM_TEST_DATA_DIR) + "/evtx-public/DE_RDP_Tunneling_4624.evtx";
    const std::string renamed = dir + "/exported.xml";
    mdmtest::write_file(renamed, mdmtest::read_file(evtx));
    const std::string xml = dir + "/events.evtx"; // Event XML under an .evtx name: XML
    mdmtest::write_file(xml, event_xml("Device Manager", 1004, 1, "DM01"));
    // The header of a Windows Server 2003 .evt file: size 0x30, then "LfLe".
    const std::string evt = dir + "/Application.evt";
    mdmtest::write_file(evt,
                        std::string("\x30\0\0\0LfLe\1\0\0\0\1\0\0\0", 16) + std::string(64, '\0'));
    struct {
        std::string path;
        int rc;
        mdm_source_kind kind;
    } cases[] = {
        {evtx, 0, MDM_SOURCE_EVTX},
        {renamed, 0, MDM_SOURCE_EVTX},
        {xml, 0, MDM_SOURCE_XML},
        {dir + "/missing.EVTX", 0, MDM_SOURCE_EVTX}, // unreadable: by its name
        {dir + "/missing.xml", 0, MDM_SOURCE_XML},
        {"-", 0, MDM_SOURCE_XML},
        {evt, MDM_EUNSUPPORTED, MDM_SOURCE_XML},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.path);
        mdm_source_kind kind = MDM_SOURCE_CHANNEL;
        mdm_err err;
        mdm_err_clear(&err);
        EXPECT_EQ(c.rc, mdm_source_kind_guess(c.path.c_str(), &kind, &err)) << err.msg;
        if (c.rc == 0)
            EXPECT_EQ(c.kind, kind);
        else
            EXPECT_NE(std::string::npos, std::string(err.msg).find("wevtutil epl")) << err.msg;
    }
    mdmtest::remove_tree(dir);
}

// A real .evt log written by Windows (tests/data/evt-public/SOURCES.md), under its own
// name and under an .xml name: refused with the conversion command, never parsed as XML.
TEST(SourceKind, RealEvtFileIsRefusedWithTheConversionCommand)
{
    const std::string evt = std::string(MDM_TEST_DATA_DIR) + "/evt-public/Application.evt";
    const std::string dir = mdmtest::make_temp_dir("realevt");
    const std::string renamed = dir + "/Application.xml";
    mdmtest::write_file(renamed, mdmtest::read_file(evt));
    for (const std::string &path : {evt, renamed}) {
        SCOPED_TRACE(path);
        mdm_source_kind kind;
        mdm_err err;
        mdm_err_clear(&err);
        EXPECT_EQ(MDM_EUNSUPPORTED, mdm_source_kind_guess(path.c_str(), &kind, &err));
        EXPECT_NE(std::string::npos,
                  std::string(err.msg).find(path + ": an event log of the Windows Server 2003 "
                                                   "format (.evt)"))
            << err.msg;
        EXPECT_NE(std::string::npos,
                  std::string(err.msg).find("wevtutil epl \"" + path + "\" NEW.evtx /lf:true"))
            << err.msg;
    }
    mdmtest::remove_tree(dir);
}

} // namespace

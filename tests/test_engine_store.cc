// test_engine_store.cc - the atomic state file: round trip, damage, missing file.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <regex>
#include <string>
#include <vector>

#include "engine_fixtures.h"
#include "agent/engine/monitor.h"
#include "agent/engine/pack.h"
#include "agent/engine/store.h"
#include "test_util.h"

using mdmtest::PackOptions;
using mdmtest::TestEvent;

namespace
{

class StoreTest : public ::testing::Test
{
  protected:
    mdm_pack *pack = nullptr;
    std::string dir;
    mdm_err err;

    void SetUp() override
    {
        std::string xml = mdmtest::pack_xml();
        mdm_err_clear(&err);
        ASSERT_EQ(0, mdm_pack_load_memory(xml.data(), xml.size(), "t.xml", &pack, &err));
        dir = mdmtest::make_temp_dir("store");
    }
    void TearDown() override
    {
        mdm_pack_free(pack);
        mdmtest::remove_tree(dir);
    }
    mdm_engine *engine()
    {
        mdm_engine *e = nullptr;
        EXPECT_EQ(0, mdm_engine_new(pack, true, &e, &err));
        return e;
    }
    void feed(mdm_engine *e, unsigned id, const char *computer, unsigned long long rec,
              const std::string &desc)
    {
        TestEvent ev("Device Manager", id, computer, rec, "Mobile Device Manager", 0, desc);
        ASSERT_EQ(0, mdm_engine_process(e, &ev.ev, nullptr, nullptr, &err)) << err.msg;
    }
};

TEST_F(StoreTest, RoundTripKeepsRowsTargetsAndPosition)
{
    mdm_engine *a = engine();
    feed(a, 1004, "DM02", 1, "fine");
    feed(a, 1003, "DM01", 2, "broken: 100% \"down\"\nsecond line");
    feed(a, 1003, "DM01", 3, "still broken");
    ASSERT_EQ(0, mdm_store_save(dir.c_str(), a, "offset 12345", &err)) << err.msg;
    EXPECT_FALSE(mdmtest::file_exists(dir + "/state.tmp"));
    struct stat st;
    ASSERT_EQ(0, stat((dir + "/state").c_str(), &st));
#ifndef _WIN32
    // Owner-only. On Windows st_mode says nothing about who may read the file
    // (the C runtime reports 0666 for any writable file): the state file takes
    // the ACL of its directory, which the installer restricts.
    EXPECT_EQ(0600u, st.st_mode & 0777u);
#endif

    mdm_engine *b = engine();
    char position[256];
    size_t dropped = 99;
    ASSERT_EQ(0, mdm_store_load(dir.c_str(), b, position, sizeof(position), &dropped, &err))
        << err.msg;
    EXPECT_STREQ("offset 12345", position);
    EXPECT_EQ(0u, dropped);
    ASSERT_EQ(2u, mdm_engine_target_count(b));
    EXPECT_STREQ("DM02", mdm_engine_target(b, 0));
    EXPECT_STREQ("DM01", mdm_engine_target(b, 1));
    const mdm_monitor_state &s = mdm_engine_instance(b, 1)->state;
    EXPECT_EQ(MDM_HEALTH_ERROR, s.health);
    EXPECT_TRUE(s.alert_active);
    EXPECT_EQ(MDM_SEVERITY_CRITICAL, s.alert_severity);
    EXPECT_EQ(1u, s.repeat_count);
    EXPECT_EQ(3u, s.last_record_id);
    EXPECT_EQ(1003u, s.last_event_id);
    EXPECT_STREQ("still broken", s.last_description);
    EXPECT_EQ(MDM_HEALTH_HEALTHY, mdm_engine_instance(b, 0)->state.health);

    // The restored engine continues: a repeat raises nothing, 1004 resolves.
    int changes = 0;
    auto count = [](const mdm_transition *t, void *ctx) {
        if (t->alert == MDM_ALERT_RESOLVED)
            ++*static_cast<int *>(ctx);
        return 0;
    };
    TestEvent again("Device Manager", 1003, "DM01", 4);
    ASSERT_EQ(0, mdm_engine_process(b, &again.ev, count, &changes, &err));
    EXPECT_EQ(0, changes);
    TestEvent ok("Device Manager", 1004, "DM01", 5);
    ASSERT_EQ(0, mdm_engine_process(b, &ok.ev, count, &changes, &err));
    EXPECT_EQ(1, changes);
    mdm_engine_free(a);
    mdm_engine_free(b);
}

TEST_F(StoreTest, DescriptionWithEveryAwkwardByteSurvives)
{
    mdm_engine *a = engine();
    std::string desc = "tab\there %41 % %% \x01\x7f end ";
    feed(a, 1003, "DM01", 1, desc);
    ASSERT_EQ(0, mdm_store_save(dir.c_str(), a, "", &err));
    mdm_engine *b = engine();
    char position[64];
    ASSERT_EQ(0, mdm_store_load(dir.c_str(), b, position, sizeof(position), nullptr, &err))
        << err.msg;
    EXPECT_EQ(desc, mdm_engine_instance(b, 0)->state.last_description);
    EXPECT_STREQ("", position);
    mdm_engine_free(a);
    mdm_engine_free(b);
}

TEST_F(StoreTest, MissingFileIsNotFound)
{
    mdm_engine *b = engine();
    char position[64];
    EXPECT_EQ(MDM_ENOTFOUND,
              mdm_store_load(dir.c_str(), b, position, sizeof(position), nullptr, &err));
    mdm_engine_free(b);
}

TEST_F(StoreTest, DamagedFileNamesTheLine)
{
    mdmtest::write_file(dir + "/state", "mdmhealth-state 1\nposition %\ntarget DM01\nrow 0 x\n");
    mdm_engine *b = engine();
    char position[64];
    EXPECT_EQ(MDM_EPARSE,
              mdm_store_load(dir.c_str(), b, position, sizeof(position), nullptr, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("state:4:")) << err.msg;
    mdm_engine_free(b);

    mdmtest::write_file(dir + "/state", "something else\n");
    b = engine();
    EXPECT_EQ(MDM_EPARSE,
              mdm_store_load(dir.c_str(), b, position, sizeof(position), nullptr, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("not an mdmhealth state file"));
    mdm_engine_free(b);
}

// Damage that is not a line: a NUL byte (the text used to be cut there silently), or a
// FIFO in place of the file (reading it waited for a writer).
TEST_F(StoreTest, NulBytesOrAFifoAreDamage)
{
    char position[64];
    mdmtest::write_file(dir + "/state", std::string("mdmhealth-state 1\nposition %\0row", 31));
    mdm_engine *b = engine();
    EXPECT_EQ(MDM_EPARSE,
              mdm_store_load(dir.c_str(), b, position, sizeof(position), nullptr, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("NUL byte")) << err.msg;
    mdm_engine_free(b);
#ifndef _WIN32
    ASSERT_EQ(0, remove((dir + "/state").c_str()));
    ASSERT_EQ(0, mkfifo((dir + "/state").c_str(), 0600));
    b = engine();
    EXPECT_EQ(MDM_EPARSE,
              mdm_store_load(dir.c_str(), b, position, sizeof(position), nullptr, &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("not a regular file (a FIFO)"))
        << err.msg;
    mdm_engine_free(b);
#endif
}

std::vector<std::string> list_dir(const std::string &path)
{
    std::vector<std::string> names;
    if (DIR *d = opendir(path.c_str())) {
        while (dirent *e = readdir(d))
            if (e->d_name[0] != '.')
                names.push_back(e->d_name);
        closedir(d);
    }
    return names;
}

// A damaged file is moved aside as state.corrupt-YYYYMMDDTHHMMSSZ, intact, never over an
// older one; afterwards there is no state file (the agent starts as on a first run).
TEST_F(StoreTest, DamagedFileIsMovedAsideWithATimestamp)
{
    const std::string damaged = "mdmhealth-state 1\nrow 0 x\n";
    char moved[4200];
    for (int round = 0; round < 2; round++) {
        mdmtest::write_file(dir + "/state", damaged + std::to_string(round));
        ASSERT_EQ(0, mdm_store_set_aside(dir.c_str(), "state:2: damaged state line", moved,
                                         sizeof(moved), &err))
            << err.msg;
        EXPECT_FALSE(mdmtest::file_exists(dir + "/state"));
        EXPECT_EQ(damaged + std::to_string(round), mdmtest::read_file(moved));
    }
    auto names = list_dir(dir);
    ASSERT_EQ(2u, names.size());
    const std::regex pattern("state\\.corrupt-[0-9]{8}T[0-9]{6}Z(-[0-9]+)?");
    for (const auto &n : names)
        EXPECT_TRUE(std::regex_match(n, pattern)) << n;
    EXPECT_NE(names[0], names[1]);

    mdm_engine *b = engine();
    char position[64];
    EXPECT_EQ(MDM_ENOTFOUND,
              mdm_store_load(dir.c_str(), b, position, sizeof(position), nullptr, &err));
    mdm_engine_free(b);
}

TEST_F(StoreTest, RowsOfMonitorsNoLongerInThePackAreDropped)
{
    mdmtest::write_file(dir + "/state", "mdmhealth-state 1\nposition 7\ntarget DM01\n"
                                        "row 0 Gone.Monitor 3 1 3 0 1 0 1003 1 0 x\n"
                                        "row 0 Test.Monitor 3 1 3 0 1 0 1003 1 0 y\n");
    mdm_engine *b = engine();
    char position[64];
    size_t dropped = 0;
    ASSERT_EQ(0, mdm_store_load(dir.c_str(), b, position, sizeof(position), &dropped, &err))
        << err.msg;
    EXPECT_EQ(1u, dropped);
    EXPECT_EQ(MDM_HEALTH_ERROR, mdm_engine_instance(b, 0)->state.health);
    EXPECT_STREQ("y", mdm_engine_instance(b, 0)->state.last_description);
    mdm_engine_free(b);
}

TEST_F(StoreTest, UnwritableDirectoryIsAClearError)
{
    mdm_engine *a = engine();
    EXPECT_EQ(MDM_EIO, mdm_store_save("/nonexistent/dir", a, "", &err));
    EXPECT_NE(std::string::npos, std::string(err.msg).find("/nonexistent/dir/state.tmp"))
        << err.msg;
    mdm_engine_free(a);
}

} // namespace

// --- the journal (store_journal.c, top): one flush per save, crash and power-loss leftovers ---

// Saves positions p1..pN in order; returns the state file's text after each save.
static std::vector<std::string> save_positions(const std::string &dir, mdm_engine *e, int n)
{
    std::vector<std::string> texts;
    mdm_err err;
    mdm_err_clear(&err);
    for (int i = 1; i <= n; i++) {
        std::string pos = "p" + std::to_string(i);
        EXPECT_EQ(0, mdm_store_save(dir.c_str(), e, pos.c_str(), &err)) << err.msg;
        texts.push_back(mdmtest::read_file(dir + "/state"));
    }
    return texts;
}

static std::string load_position(const std::string &dir, mdm_engine *e, int *rc)
{
    char position[4096] = "";
    mdm_err err;
    mdm_err_clear(&err);
    *rc = mdm_store_load(dir.c_str(), e, position, sizeof(position), nullptr, &err);
    return position;
}

TEST_F(StoreTest, EverySaveIsAJournalRecordAndTheStateFileStaysCurrent)
{
    mdm_engine *a = engine();
    feed(a, 1003, "DM01", 2, "broken");
    auto texts = save_positions(dir, a, 3);
    EXPECT_NE(std::string::npos, texts[2].find("\nposition p3\n"));
    const std::string journal = mdmtest::read_file(dir + "/state.journal");
    EXPECT_EQ(0u, journal.find("mdmhealth-journal 1 1 "));
    EXPECT_NE(std::string::npos, journal.find("mdmhealth-journal 1 3 "));
    EXPECT_EQ(texts[2].size(), journal.size() - journal.rfind(texts[2]));
    int rc;
    mdm_engine *b = engine();
    EXPECT_EQ("p3", load_position(dir, b, &rc));
    EXPECT_EQ(0, rc);
    EXPECT_EQ(MDM_HEALTH_ERROR, mdm_engine_instance(b, 0)->state.health);
    mdm_engine_free(a);
    mdm_engine_free(b);
}

// A crash after the journal append, before the state file was replaced: the state file
// is the previous save's text, and the newest record is loaded (rows too).
TEST_F(StoreTest, StaleStateFileAfterACrashBetweenAppendAndReplaceLoadsTheNewestRecord)
{
    mdm_engine *a = engine();
    auto texts = save_positions(dir, a, 2);
    feed(a, 1003, "DM01", 2, "broken after the second save");
    ASSERT_EQ(0, mdm_store_save(dir.c_str(), a, "p3", &err)) << err.msg;
    mdmtest::write_file(dir + "/state", texts[1]); // the replacement never happened
    int rc;
    mdm_engine *b = engine();
    EXPECT_EQ("p3", load_position(dir, b, &rc));
    ASSERT_EQ(0, rc);
    ASSERT_EQ(1u, mdm_engine_instance_count(b));
    EXPECT_STREQ("broken after the second save", mdm_engine_instance(b, 0)->state.last_description);
    // A power loss may bring back any older text: the newest record still wins.
    mdmtest::write_file(dir + "/state", texts[0]);
    mdm_engine *c = engine();
    EXPECT_EQ("p3", load_position(dir, c, &rc));
    EXPECT_EQ(0, rc);
    mdm_engine_free(a);
    mdm_engine_free(b);
    mdm_engine_free(c);
}

// A torn or garbled last record is ignored (checksum, length), never a crash, and the
// next save writes over it.
TEST_F(StoreTest, TornOrGarbledJournalTailIsIgnoredAndOverwritten)
{
    mdm_engine *a = engine();
    auto texts = save_positions(dir, a, 3);
    const std::string journal = mdmtest::read_file(dir + "/state.journal");
    const size_t last = journal.rfind("mdmhealth-journal 1 3 ");
    ASSERT_NE(std::string::npos, last);
    const std::string tails[] = {
        journal + "mdmhealth-journal 1 4 9999 0000",        // header cut short
        journal + "mdmhealth-journal 1 4 10 00000000\nabc", // record cut short
        journal + "mdmhealth-journal 1 4 3 00000000\nabc",  // wrong checksum
        journal + std::string("\0\0\0\0\0\0\0\0", 8),       // zeros after a power loss
        journal + "garbage\n",                              // not a record
        journal.substr(0, journal.size() - 5),              // the newest record torn
    };
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        SCOPED_TRACE(i);
        mdmtest::write_file(dir + "/state.journal", tails[i]);
        // The newest complete record: p3, or p2 when p3 itself is torn (and the state
        // file was not replaced yet: the save of p3 had not returned).
        const bool p3_torn = i == 5;
        mdmtest::write_file(dir + "/state", p3_torn ? texts[1] : texts[2]);
        int rc;
        mdm_engine *b = engine();
        EXPECT_EQ(p3_torn ? "p2" : "p3", load_position(dir, b, &rc));
        EXPECT_EQ(0, rc);
        mdm_engine_free(b);
    }
    // The next save appends after the last valid record: the torn bytes are gone.
    ASSERT_EQ(0, mdm_store_save(dir.c_str(), a, "p9", &err)) << err.msg;
    const std::string after = mdmtest::read_file(dir + "/state.journal");
    EXPECT_EQ(journal.substr(0, last), after.substr(0, last));
    EXPECT_NE(std::string::npos, after.find("mdmhealth-journal 1 3 ", last)); // re-appended
    int rc;
    mdm_engine *c = engine();
    EXPECT_EQ("p9", load_position(dir, c, &rc));
    EXPECT_EQ(0, rc);
    mdm_engine_free(a);
    mdm_engine_free(c);
}

// A record garbled in the middle ends the valid records; the state file, equal to no
// valid record, is the newer text and is loaded.
TEST_F(StoreTest, GarbledRecordInTheMiddleFallsBackToTheStateFile)
{
    mdm_engine *a = engine();
    save_positions(dir, a, 4);
    std::string journal = mdmtest::read_file(dir + "/state.journal");
    const size_t r3 = journal.find("mdmhealth-journal 1 3 ");
    ASSERT_NE(std::string::npos, r3);
    journal[journal.find("position p3", r3) + 10] = '7';
    mdmtest::write_file(dir + "/state.journal", journal);
    int rc;
    mdm_engine *b = engine();
    EXPECT_EQ("p4", load_position(dir, b, &rc));
    EXPECT_EQ(0, rc);
    mdm_engine_free(a);
    mdm_engine_free(b);
}

// A damaged state file (power loss, or by hand) is moved aside as before, and the newest
// journal record becomes the state file again.
TEST_F(StoreTest, DamagedStateFileIsMovedAsideAndRestoredFromTheJournal)
{
    mdm_engine *a = engine();
    feed(a, 1003, "DM01", 2, "broken");
    save_positions(dir, a, 2);
    for (const std::string &damage :
         {std::string(), std::string("mdmhealth-state 1\nrow 0 x\n"), std::string(64, '\0')}) {
        mdmtest::write_file(dir + "/state", damage);
        int rc;
        mdm_engine *b = engine();
        load_position(dir, b, &rc);
        mdm_engine_free(b);
        if (damage.empty()) {
            // An empty state file parses as an empty state: equal to no record, loaded.
            EXPECT_EQ(0, rc);
            continue;
        }
        EXPECT_EQ(MDM_EPARSE, rc);
        char moved[4200];
        ASSERT_EQ(0, mdm_store_set_aside(dir.c_str(), "damaged", moved, sizeof(moved), &err));
        EXPECT_EQ(damage, mdmtest::read_file(moved));
        mdm_engine *c = engine();
        EXPECT_EQ("p2", load_position(dir, c, &rc));
        EXPECT_EQ(0, rc);
        EXPECT_EQ(MDM_HEALTH_ERROR, mdm_engine_instance(c, 0)->state.health);
        mdm_engine_free(c);
    }
    mdm_engine_free(a);
}

// A state file edited while the agent was stopped (equal to no record) is loaded as it
// is; a missing state file is a fresh start whatever the journal holds.
TEST_F(StoreTest, HandEditedStateWinsAndAMissingStateFileIsAFreshStart)
{
    mdm_engine *a = engine();
    auto texts = save_positions(dir, a, 2);
    std::string edited = texts[1];
    edited.replace(edited.find("position p2"), 11, "position pX");
    mdmtest::write_file(dir + "/state", edited);
    int rc;
    mdm_engine *b = engine();
    EXPECT_EQ("pX", load_position(dir, b, &rc));
    EXPECT_EQ(0, rc);
    ASSERT_EQ(0, remove((dir + "/state").c_str()));
    mdm_engine *c = engine();
    load_position(dir, c, &rc);
    EXPECT_EQ(MDM_ENOTFOUND, rc);
    // The first save after it makes the state durable and restarts the journal.
    ASSERT_EQ(0, mdm_store_save(dir.c_str(), a, "p5", &err)) << err.msg;
    const std::string journal = mdmtest::read_file(dir + "/state.journal");
    EXPECT_EQ(std::string::npos, journal.find("mdmhealth-journal 1 2 ")) << journal;
    mdm_engine_free(a);
    mdm_engine_free(b);
    mdm_engine_free(c);
}

// A state directory of an earlier version (a state file, no journal) loads unchanged; its
// first save compacts: the journal starts with that save as record 1.
TEST_F(StoreTest, StateFileWithoutJournalLoadsAndTheFirstSaveStartsTheJournal)
{
    mdmtest::write_file(dir + "/state", "mdmhealth-state 1\nposition old\ntarget DM01\n"
                                        "row 0 Test.Monitor 3 1 3 0 1 0 1003 1 0 y\n");
    int rc;
    mdm_engine *b = engine();
    EXPECT_EQ("old", load_position(dir, b, &rc));
    ASSERT_EQ(0, rc);
    ASSERT_EQ(0, mdm_store_save(dir.c_str(), b, "new", &err)) << err.msg;
    const std::string journal = mdmtest::read_file(dir + "/state.journal");
    EXPECT_EQ(0u, journal.find("mdmhealth-journal 1 1 "));
    EXPECT_NE(std::string::npos, journal.find("\nposition new\n"));
    mdm_engine *c = engine();
    EXPECT_EQ("new", load_position(dir, c, &rc));
    EXPECT_EQ(MDM_HEALTH_ERROR, mdm_engine_instance(c, 0)->state.health);
    mdm_engine_free(b);
    mdm_engine_free(c);
}

// The journal stays bounded: past its limit a save compacts (record 1 again).
TEST_F(StoreTest, JournalIsCompactedPastItsLimit)
{
    mdm_engine *a = engine();
    std::string big(3000, 'x');
    size_t max_size = 0, compactions = 0, prev = 0;
    for (int i = 0; i < 600; i++) {
        std::string pos = big + std::to_string(i);
        ASSERT_EQ(0, mdm_store_save(dir.c_str(), a, pos.c_str(), &err)) << err.msg;
        struct stat st;
        ASSERT_EQ(0, stat((dir + "/state.journal").c_str(), &st));
        max_size = std::max(max_size, (size_t)st.st_size);
        compactions += (size_t)st.st_size < prev;
        prev = (size_t)st.st_size;
    }
    EXPECT_LE(max_size, 1024u * 1024u);
    EXPECT_GE(compactions, 1u);
    int rc;
    mdm_engine *b = engine();
    EXPECT_EQ(big + "599", load_position(dir, b, &rc));
    EXPECT_EQ(0, rc);
    mdm_engine_free(a);
    mdm_engine_free(b);
}

// --- the deferred state file (store_journal.c, top): durable before the state file ---

static void save_deferred(const std::string &dir, mdm_engine *e, const char *pos)
{
    mdm_err err;
    mdm_err_clear(&err);
    EXPECT_EQ(0, mdm_store_save_deferred(dir.c_str(), e, pos, nullptr, &err)) << err.msg;
}

// A deferred save is durable when it returns (a load, as after a crash, finds it in the
// journal) while the state file is still the previous save's; publishing writes it.
TEST_F(StoreTest, DeferredSaveIsDurableBeforeTheStateFileIsPublished)
{
    mdm_engine *a = engine();
    auto texts = save_positions(dir, a, 2);
    feed(a, 1003, "DM01", 2, "broken after the second save");
    save_deferred(dir, a, "p3");
    EXPECT_TRUE(mdm_store_deferred_pending());
    EXPECT_EQ(texts[1], mdmtest::read_file(dir + "/state")); // not yet written
    int rc;
    mdm_engine *b = engine();
    EXPECT_EQ("p3", load_position(dir, b, &rc));
    ASSERT_EQ(0, rc);
    ASSERT_EQ(1u, mdm_engine_instance_count(b));
    EXPECT_EQ(MDM_HEALTH_ERROR, mdm_engine_instance(b, 0)->state.health);

    ASSERT_EQ(0, mdm_store_publish(&err)) << err.msg;
    EXPECT_FALSE(mdm_store_deferred_pending());
    const std::string published = mdmtest::read_file(dir + "/state");
    EXPECT_NE(std::string::npos, published.find("\nposition p3\n"));
    const std::string journal = mdmtest::read_file(dir + "/state.journal");
    EXPECT_EQ(published.size(), journal.size() - journal.rfind(published)); // the newest record
    EXPECT_EQ(0, mdm_store_publish(&err)); // nothing pending: nothing to do
    mdm_engine_free(a);
    mdm_engine_free(b);
}

// Several deferred saves before a publish (or a crash: dropped): the newest wins.
TEST_F(StoreTest, OnlyTheNewestDeferredSaveIsPublishedAndACrashLosesNone)
{
    mdm_engine *a = engine();
    auto texts = save_positions(dir, a, 1);
    save_deferred(dir, a, "p2");
    save_deferred(dir, a, "p3");
    mdm_store_drop_deferred(); // the agent stops here without writing the state file
    EXPECT_EQ(texts[0], mdmtest::read_file(dir + "/state"));
    int rc;
    mdm_engine *b = engine();
    EXPECT_EQ("p3", load_position(dir, b, &rc));
    EXPECT_EQ(0, rc);
    save_deferred(dir, a, "p4");
    save_deferred(dir, a, "p5");
    ASSERT_EQ(0, mdm_store_publish(&err)) << err.msg;
    EXPECT_NE(std::string::npos, mdmtest::read_file(dir + "/state").find("\nposition p5\n"));
    // A save that publishes at once also replaces what a deferred one left.
    save_deferred(dir, a, "p6");
    ASSERT_EQ(0, mdm_store_save(dir.c_str(), a, "p7", &err)) << err.msg;
    EXPECT_FALSE(mdm_store_deferred_pending());
    EXPECT_NE(std::string::npos, mdmtest::read_file(dir + "/state").find("\nposition p7\n"));
    mdm_engine_free(a);
    mdm_engine_free(b);
}

// A compaction writes the state file durably itself; an older deferred one is not
// written over it afterwards.
TEST_F(StoreTest, CompactionSupersedesAPendingDeferredStateFile)
{
    mdm_engine *a = engine();
    save_positions(dir, a, 1);
    save_deferred(dir, a, "deferred");
    ASSERT_EQ(0,
              remove((dir + "/state.journal").c_str())); // no valid record: the next save compacts
    save_deferred(dir, a, "compacted");
    EXPECT_FALSE(mdm_store_deferred_pending());
    ASSERT_EQ(0, mdm_store_publish(&err)) << err.msg;
    EXPECT_NE(std::string::npos, mdmtest::read_file(dir + "/state").find("\nposition compacted\n"));
    mdm_engine_free(a);
}

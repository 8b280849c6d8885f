// test_snmp_outbox.cc - the notification outbox (agent/snmp/outbox.c): per-destination order and
// completion, the bound and its overflow counter, persistence through the
// state-file lines, and remapping when destinations change across restarts.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_err.h"
#include "agent/common/mdm_text.h"
#include "agent/snmp/outbox.h"

namespace
{

mdm_notice make_notice(unsigned record, const std::string &description = "text")
{
    mdm_notice n;
    memset(&n, 0, sizeof(n));
    n.kind = MDM_NOTICE_RAISED;
    n.row = 1;
    n.health = 3;
    n.severity = 3;
    n.priority = 1;
    n.event_id = 1003;
    n.record_id = record;
    n.time_ms = 1795597200000;
    snprintf(n.monitor, sizeof(n.monitor), "%s", "Monitor.Id");
    snprintf(n.target, sizeof(n.target), "%s", "DM01 contoso%com");
    snprintf(n.description, sizeof(n.description), "%s", description.c_str());
    return n;
}

std::vector<std::string> save_lines(mdm_outbox *ob)
{
    mdm_buf buf;
    mdm_buf_init(&buf, 1 << 20);
    EXPECT_EQ(0, mdm_outbox_save(ob, &buf));
    std::vector<std::string> lines;
    std::string text = mdm_buf_str(&buf), line;
    for (char c : text) {
        if (c == '\n') {
            if (!line.empty())
                lines.push_back(line);
            line.clear();
        } else {
            line += c;
        }
    }
    if (!line.empty())
        lines.push_back(line);
    mdm_buf_free(&buf);
    return lines;
}

// An outbox of at most cap notices (0: MDM_OUTBOX_MAX) with one destination, slot 0.
void init_with_one_destination(mdm_outbox *ob, size_t cap)
{
    ASSERT_EQ(0, mdm_outbox_init(ob, cap));
    uint64_t key = mdm_outbox_dest_key("only");
    ASSERT_EQ(0, mdm_outbox_set_destinations(ob, &key, 1));
}

// Queues notices for records first..last.
void push_records(mdm_outbox *ob, unsigned first, unsigned last)
{
    for (unsigned r = first; r <= last; r++) {
        mdm_notice n = make_notice(r);
        ASSERT_EQ(0, mdm_outbox_push(ob, &n)) << r;
    }
}

TEST(Outbox, NothingIsQueuedWithoutDestinations)
{
    mdm_outbox ob;
    ASSERT_EQ(0, mdm_outbox_init(&ob, 0));
    mdm_notice n = make_notice(1);
    mdm_outbox_push(&ob, &n);
    EXPECT_EQ(0u, mdm_outbox_count(&ob));
    mdm_outbox_free(&ob);
}

TEST(Outbox, EachDestinationGetsEveryNoticeInOrder)
{
    mdm_outbox ob;
    ASSERT_EQ(0, mdm_outbox_init(&ob, 0));
    uint64_t keys[] = {mdm_outbox_dest_key("a"), mdm_outbox_dest_key("b")};
    ASSERT_EQ(0, mdm_outbox_set_destinations(&ob, keys, 2));
    for (unsigned r = 1; r <= 3; r++) {
        mdm_notice n = make_notice(r);
        mdm_outbox_push(&ob, &n);
    }
    ASSERT_EQ(3u, mdm_outbox_count(&ob));
    // Destination 0 takes all three; destination 1 has not started.
    for (unsigned r = 1; r <= 3; r++) {
        const mdm_notice *n = mdm_outbox_next_for(&ob, 0);
        ASSERT_NE(nullptr, n);
        EXPECT_EQ(r, n->record_id);
        mdm_outbox_done(&ob, n->seq, 0);
    }
    EXPECT_EQ(nullptr, mdm_outbox_next_for(&ob, 0));
    EXPECT_EQ(3u, mdm_outbox_count(&ob)); // still pending for destination 1
    const mdm_notice *first = mdm_outbox_next_for(&ob, 1);
    ASSERT_NE(nullptr, first);
    EXPECT_EQ(1u, first->record_id);
    mdm_outbox_done(&ob, first->seq, 1);
    EXPECT_EQ(2u, mdm_outbox_count(&ob));
    mdm_outbox_free(&ob);
}

// What the agent must still write: every change (a notice queued, a notice
// served, destinations changed) is unsaved until mdm_outbox_save serializes it.
// snmp_agent.c lets a served notice wait for the next event's write with it.
TEST(Outbox, ChangesAreUnsavedUntilTheOutboxIsSaved)
{
    mdm_outbox ob;
    ASSERT_EQ(0, mdm_outbox_init(&ob, 0));
    EXPECT_FALSE(mdm_outbox_unsaved(&ob));
    uint64_t keys[] = {mdm_outbox_dest_key("a")};
    ASSERT_EQ(0, mdm_outbox_set_destinations(&ob, keys, 1));
    EXPECT_TRUE(mdm_outbox_unsaved(&ob));
    save_lines(&ob);
    EXPECT_FALSE(mdm_outbox_unsaved(&ob));

    mdm_notice n = make_notice(1);
    mdm_outbox_push(&ob, &n);
    EXPECT_TRUE(mdm_outbox_unsaved(&ob));
    save_lines(&ob);
    EXPECT_FALSE(mdm_outbox_unsaved(&ob));

    const mdm_notice *queued = mdm_outbox_next_for(&ob, 0);
    ASSERT_NE(nullptr, queued);
    mdm_outbox_done(&ob, queued->seq + 100, 0); // not queued: nothing changes
    EXPECT_FALSE(mdm_outbox_unsaved(&ob));
    mdm_outbox_done(&ob, queued->seq, 0);
    EXPECT_TRUE(mdm_outbox_unsaved(&ob));
    std::vector<std::string> lines = save_lines(&ob);
    EXPECT_FALSE(mdm_outbox_unsaved(&ob));
    ASSERT_EQ(1u, lines.size()); // the outbox line, no notice left
    EXPECT_EQ(0u, lines[0].rfind("outbox ", 0)) << lines[0];
    EXPECT_EQ(3u, ob.saves);
    mdm_outbox_free(&ob);
}

TEST(Outbox, FullOutboxDropsTheOldestAndCountsIt)
{
    mdm_outbox ob;
    init_with_one_destination(&ob, 3);
    push_records(&ob, 1, 5);
    EXPECT_EQ(3u, mdm_outbox_count(&ob));
    EXPECT_EQ(2u, ob.overflows);
    EXPECT_EQ(3u, mdm_outbox_next_for(&ob, 0)->record_id);
    mdm_outbox_free(&ob);
}

// The agent's idle memory: notices that leave at once must not walk the ring
// through all MDM_OUTBOX_MAX slots (1.4 MiB), which kept every page of it
// resident after 1,000 notifications (bench/compare, rss row).
TEST(Outbox, NoticesThatLeaveAtOnceUseAFewSlots)
{
    mdm_outbox ob;
    init_with_one_destination(&ob, 0);
    for (unsigned r = 1; r <= 3 * MDM_OUTBOX_MAX; r++) {
        push_records(&ob, r, r);
        const mdm_notice *q = mdm_outbox_next_for(&ob, 0);
        ASSERT_NE(nullptr, q);
        ASSERT_EQ(r, q->record_id);
        mdm_outbox_done(&ob, q->seq, 0);
        // Every notice goes through slot 0 of the smallest ring.
        ASSERT_EQ(4u, ob.slots);
        ASSERT_EQ(0u, ob.head);
    }
    EXPECT_EQ(0u, mdm_outbox_count(&ob));
    mdm_outbox_free(&ob);
}

// A manager away: the ring grows to the cap with the notices in order (also
// when it grows while its start is not at slot 0), and an emptied outbox gives
// the memory back.
TEST(Outbox, GrowsInOrderWhileAManagerIsAwayAndShrinksWhenEmpty)
{
    mdm_outbox ob;
    init_with_one_destination(&ob, 0);
    uint64_t key = mdm_outbox_dest_key("only");
    push_records(&ob, 1, 3);
    unsigned expected = 1, record = MDM_OUTBOX_MAX + 3;
    for (; expected <= 2; expected++) // served: the ring now starts at slot 2
        mdm_outbox_done(&ob, mdm_outbox_next_for(&ob, 0)->seq, 0);
    push_records(&ob, 4, record - 1);
    EXPECT_EQ(MDM_OUTBOX_MAX, mdm_outbox_count(&ob));
    EXPECT_EQ(MDM_OUTBOX_MAX, ob.slots);
    EXPECT_EQ(0u, ob.overflows);

    // It is saved and loaded whole.
    std::vector<std::string> lines = save_lines(&ob);
    mdm_outbox back;
    ASSERT_EQ(0, mdm_outbox_init(&back, 0));
    for (std::string &l : lines)
        ASSERT_EQ(0, mdm_outbox_load_line(&back, &l[0])) << l;
    ASSERT_EQ(0, mdm_outbox_set_destinations(&back, &key, 1));
    EXPECT_EQ(MDM_OUTBOX_MAX, mdm_outbox_count(&back));

    for (mdm_outbox *box : {&ob, &back}) {
        for (unsigned r = expected; r < record; r++) {
            const mdm_notice *q = mdm_outbox_next_for(box, 0);
            ASSERT_NE(nullptr, q);
            ASSERT_EQ(r, q->record_id);
            mdm_outbox_done(box, q->seq, 0);
        }
        EXPECT_EQ(0u, mdm_outbox_count(box));
        EXPECT_EQ(4u, box->slots);
        EXPECT_EQ(0u, box->head);
    }
    // At the cap the oldest is dropped and counted, as before.
    push_records(&ob, 1, MDM_OUTBOX_MAX + 1);
    EXPECT_EQ(1u, ob.overflows);
    EXPECT_EQ(2u, mdm_outbox_next_for(&ob, 0)->record_id);
    mdm_outbox_free(&ob);
    mdm_outbox_free(&back);
}

TEST(Outbox, AGrowthThatFailsChangesNothing)
{
    mdm_outbox ob;
    init_with_one_destination(&ob, 0);
    push_records(&ob, 1, (unsigned)ob.slots);
    size_t count = mdm_outbox_count(&ob);
    uint64_t next_seq = ob.next_seq;
    mdm_notice n = make_notice(99);
    mdm_alloc_fail_after(0);
    int rc = mdm_outbox_push(&ob, &n);
    mdm_alloc_fail_after(-1);
    EXPECT_EQ(MDM_ENOMEM, rc);
    EXPECT_EQ(count, mdm_outbox_count(&ob));
    EXPECT_EQ(next_seq, ob.next_seq);
    EXPECT_EQ(0u, ob.overflows);
    EXPECT_EQ(1u, mdm_outbox_next_for(&ob, 0)->record_id);
    ASSERT_EQ(0, mdm_outbox_push(&ob, &n)); // and it grows once memory is there
    EXPECT_EQ(count + 1, mdm_outbox_count(&ob));
    mdm_outbox_free(&ob);
}

TEST(Outbox, TextIsCutTo255OctetsOnACharacterBoundary)
{
    mdm_outbox ob;
    ASSERT_EQ(0, mdm_outbox_init(&ob, 0));
    uint64_t key = mdm_outbox_dest_key("only");
    ASSERT_EQ(0, mdm_outbox_set_destinations(&ob, &key, 1));
    std::string text(254, 'x');
    text += "\xc3\xa9\xc3\xa9"; // two 2-octet characters: the first would straddle octet 255
    mdm_notice n = make_notice(1);
    // As the agent fills a notice (agent/cli/run.c): cut to the field, then queued.
    mdm_utf8_copy(n.description, sizeof(n.description), text.c_str());
    mdm_outbox_push(&ob, &n);
    const mdm_notice *q = mdm_outbox_next_for(&ob, 0);
    ASSERT_NE(nullptr, q);
    EXPECT_EQ(254u, strlen(q->description));
    mdm_outbox_free(&ob);
}

TEST(Outbox, SurvivesARestartAndFollowsChangedDestinations)
{
    mdm_outbox ob;
    ASSERT_EQ(0, mdm_outbox_init(&ob, 0));
    uint64_t keys[] = {mdm_outbox_dest_key("trap2sink a"), mdm_outbox_dest_key("informsink b")};
    ASSERT_EQ(0, mdm_outbox_set_destinations(&ob, keys, 2));
    mdm_notice n1 = make_notice(10, "first, with spaces and 100% text");
    mdm_notice n2 = make_notice(11);
    mdm_outbox_push(&ob, &n1);
    mdm_outbox_push(&ob, &n2);
    mdm_outbox_done(&ob, mdm_outbox_next_for(&ob, 0)->seq, 0); // "a" sent notice 10
    std::vector<std::string> lines = save_lines(&ob);
    mdm_outbox_free(&ob);
    ASSERT_EQ(3u, lines.size());

    // After the restart: "b" is now first, "a" is gone, "c" is new.
    mdm_outbox back;
    ASSERT_EQ(0, mdm_outbox_init(&back, 0));
    for (std::string &l : lines)
        ASSERT_EQ(0, mdm_outbox_load_line(&back, &l[0])) << l;
    EXPECT_EQ(2u, mdm_outbox_count(&back));
    uint64_t now[] = {mdm_outbox_dest_key("informsink b"), mdm_outbox_dest_key("trapsess c")};
    ASSERT_EQ(0, mdm_outbox_set_destinations(&back, now, 2));
    const mdm_notice *q = mdm_outbox_next_for(&back, 0); // "b" still owes both
    ASSERT_NE(nullptr, q);
    EXPECT_EQ(10u, q->record_id);
    EXPECT_STREQ("first, with spaces and 100% text", q->description);
    EXPECT_STREQ("DM01 contoso%com", q->target);
    EXPECT_EQ(1795597200000, q->time_ms);
    // "c" did not exist when these were queued: nothing is owed to it.
    EXPECT_EQ(nullptr, mdm_outbox_next_for(&back, 1));
    // Sequence numbers keep growing after the restart.
    mdm_notice n3 = make_notice(12);
    mdm_outbox_push(&back, &n3);
    EXPECT_GT(mdm_outbox_next_for(&back, 1)->seq, q->seq);
    mdm_outbox_free(&back);
}

TEST(Outbox, DiagnosisNoticesKeepTheirEvidenceAcrossARestart)
{
    mdm_outbox ob;
    ASSERT_EQ(0, mdm_outbox_init(&ob, 0));
    uint64_t key = mdm_outbox_dest_key("trap2sink a");
    ASSERT_EQ(0, mdm_outbox_set_destinations(&ob, &key, 1));
    mdm_notice n = make_notice(20);
    n.kind = MDM_NOTICE_DIAGNOSIS;
    n.diag_row = 7;
    n.check_status = 2;
    snprintf(n.check, sizeof(n.check), "%s", "https-enrollment");
    snprintf(n.detail, sizeof(n.detail), "%s", "TCP stage: connection refused");
    snprintf(n.diagnosis, sizeof(n.diagnosis), "%s",
             "The Device Management Machine cannot connect to network");
    snprintf(n.resolver, sizeof(n.resolver), "%s", "Fix network connectivity issues");
    mdm_outbox_push(&ob, &n);
    std::vector<std::string> lines = save_lines(&ob);
    mdm_outbox_free(&ob);

    mdm_outbox back;
    ASSERT_EQ(0, mdm_outbox_init(&back, 0));
    for (std::string &l : lines)
        ASSERT_EQ(0, mdm_outbox_load_line(&back, &l[0])) << l;
    ASSERT_EQ(0, mdm_outbox_set_destinations(&back, &key, 1));
    const mdm_notice *q = mdm_outbox_next_for(&back, 0);
    ASSERT_NE(nullptr, q);
    EXPECT_EQ(MDM_NOTICE_DIAGNOSIS, q->kind);
    EXPECT_EQ(7u, q->diag_row);
    EXPECT_EQ(2, q->check_status);
    EXPECT_STREQ("https-enrollment", q->check);
    EXPECT_STREQ("TCP stage: connection refused", q->detail);
    EXPECT_STREQ("The Device Management Machine cannot connect to network", q->diagnosis);
    EXPECT_STREQ("Fix network connectivity issues", q->resolver);
    mdm_outbox_free(&back);
}

TEST(Outbox, DamagedLinesAreRefused)
{
    mdm_outbox ob;
    ASSERT_EQ(0, mdm_outbox_init(&ob, 0));
    char bad1[] = "notice 1 9 1 3 3 1 1003 10 0 1 a b c"; // kind 9
    char bad2[] = "notice 1 1 1 3 3 1 1003 10 0 1 a b";   // a field missing
    char bad3[] = "outbox 2 0 zz-not-hex";
    EXPECT_EQ(MDM_EPARSE, mdm_outbox_load_line(&ob, bad1));
    EXPECT_EQ(MDM_EPARSE, mdm_outbox_load_line(&ob, bad2));
    EXPECT_EQ(MDM_EPARSE, mdm_outbox_load_line(&ob, bad3));
    mdm_outbox_free(&ob);
}

} // namespace

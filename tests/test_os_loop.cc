/*
 * test_os_loop.cc - the event loop of agent/os (mdm_loop.h): timers, watchers,
 * the cross-thread wake-up and the order of a turn.
 *
 * The timer tests drive the loop's clock by hand (mdm_loop_set_clock), so
 * they are exact and never sleep: a turn whose first timer is due waits 0 ms.
 * The descriptor and wake-up tests use the real clock and real descriptors
 * (the wake-up channel of mdm_wakeup.h: a pipe on Linux, a loopback socket
 * on Windows, so the same tests exercise loop_win.c under Wine); each arms a
 * guard timer so that a missing event fails the test instead of hanging it.
 */
/* First: on Windows, Winsock's header must come before anything that includes windows.h. */
#include "mdm_select.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_loop.h"
#include "agent/os/mdm_wakeup.h"
}

namespace
{

struct FakeClock {
    int64_t now = 1000;
};

int64_t fake_now(void *ctx)
{
    return static_cast<FakeClock *>(ctx)->now;
}

/* A timer that appends its name to a log when it fires. */
struct NamedTimer {
    mdm_loop_timer timer;
    std::string name;
    std::vector<std::string> *log;
};

void log_fire(mdm_loop_timer *t, void *ctx)
{
    (void)t;
    auto *nt = static_cast<NamedTimer *>(ctx);
    nt->log->push_back(nt->name);
}

class LoopTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        mdm_err err;
        ASSERT_EQ(mdm_loop_new(&loop, &err), 0) << err.msg;
    }
    void TearDown() override
    {
        mdm_loop_free(loop);
    }
    /* Hands the loop to the fake clock. */
    void use_fake_clock()
    {
        mdm_loop_set_clock(loop, fake_now, &clock);
    }
    void turn()
    {
        mdm_err err;
        ASSERT_EQ(mdm_loop_run_once(loop, &err), 0) << err.msg;
    }
    /* A turn that does not wait (the fake clock never moves during a wait). */
    void turn_now()
    {
        mdm_loop_dont_wait(loop);
        turn();
    }
    mdm_loop *loop = nullptr;
    FakeClock clock;
};

TEST_F(LoopTest, TimersFireInOrderOfDueTimeAndTiesInArmingOrder)
{
    std::vector<std::string> log;
    NamedTimer t[5] = {
        {{}, "30", &log}, {{}, "10", &log}, {{}, "20a", &log}, {{}, "20b", &log}, {{}, "40", &log}};
    int64_t delays[5] = {30, 10, 20, 20, 40};

    use_fake_clock();
    for (int i = 0; i < 5; i++) {
        mdm_loop_timer_init(loop, &t[i].timer, log_fire, &t[i]);
        ASSERT_EQ(mdm_loop_timer_start(&t[i].timer, delays[i], 0), 0);
    }
    turn_now();
    EXPECT_TRUE(log.empty()) << "nothing is due yet";
    clock.now += 25;
    turn_now();
    EXPECT_EQ(log, (std::vector<std::string>{"10", "20a", "20b"}));
    clock.now += 100;
    turn_now();
    EXPECT_EQ(log, (std::vector<std::string>{"10", "20a", "20b", "30", "40"}));
    for (auto &nt : t)
        EXPECT_FALSE(mdm_loop_timer_active(&nt.timer)) << "one-shot timers disarm";
}

TEST_F(LoopTest, ACancelledTimerNeverFiresAndTheOthersStillDo)
{
    std::vector<std::string> log;
    NamedTimer a{{}, "a", &log}, b{{}, "b", &log}, c{{}, "c", &log};

    use_fake_clock();
    for (NamedTimer *nt : {&a, &b, &c}) {
        mdm_loop_timer_init(loop, &nt->timer, log_fire, nt);
        ASSERT_EQ(mdm_loop_timer_start(&nt->timer, 10, 0), 0);
    }
    mdm_loop_timer_stop(&b.timer);
    mdm_loop_timer_stop(&b.timer); /* twice is harmless */
    EXPECT_FALSE(mdm_loop_timer_active(&b.timer));
    EXPECT_EQ(mdm_loop_timer_due(&b.timer), 0);
    clock.now += 10;
    turn_now();
    EXPECT_EQ(log, (std::vector<std::string>{"a", "c"}));
}

TEST_F(LoopTest, ReArmingMovesATimerInsteadOfAddingASecondOne)
{
    std::vector<std::string> log;
    NamedTimer a{{}, "a", &log}, b{{}, "b", &log};

    use_fake_clock();
    mdm_loop_timer_init(loop, &a.timer, log_fire, &a);
    mdm_loop_timer_init(loop, &b.timer, log_fire, &b);
    ASSERT_EQ(mdm_loop_timer_start(&a.timer, 10, 0), 0);
    ASSERT_EQ(mdm_loop_timer_start(&b.timer, 20, 0), 0);
    ASSERT_EQ(mdm_loop_timer_start(&a.timer, 30, 0), 0); /* later now */
    EXPECT_EQ(mdm_loop_timer_due(&a.timer), clock.now + 30);
    clock.now += 20;
    turn_now();
    EXPECT_EQ(log, (std::vector<std::string>{"b"}));
    clock.now += 10;
    turn_now();
    EXPECT_EQ(log, (std::vector<std::string>{"b", "a"}));
    turn_now();
    EXPECT_EQ(log.size(), 2u) << "fired once only";
}

struct Rearm {
    mdm_loop_timer timer;
    int fired = 0;
    int64_t delay = 0;
    int times = 0; /* re-arm this many times */
};

void rearm_fire(mdm_loop_timer *t, void *ctx)
{
    auto *r = static_cast<Rearm *>(ctx);
    r->fired++;
    if (r->fired <= r->times) {
        ASSERT_EQ(mdm_loop_timer_start(t, r->delay, 0), 0);
    }
}

TEST_F(LoopTest, ATimerReArmedFromItsCallbackWithDelayZeroFiresInTheNextTurnNotThisOne)
{
    Rearm r;
    r.times = 3;
    use_fake_clock();
    mdm_loop_timer_init(loop, &r.timer, rearm_fire, &r);
    ASSERT_EQ(mdm_loop_timer_start(&r.timer, 0, 0), 0);
    turn_now();
    EXPECT_EQ(r.fired, 1) << "a 0 ms re-arm must not fire again in the same turn";
    turn_now();
    EXPECT_EQ(r.fired, 2);
    turn_now();
    turn_now();
    EXPECT_EQ(r.fired, 4);
    turn_now();
    EXPECT_EQ(r.fired, 4) << "not re-armed after the third time";
    EXPECT_FALSE(mdm_loop_timer_active(&r.timer));
}

void stop_self(mdm_loop_timer *t, void *ctx)
{
    (*static_cast<int *>(ctx))++;
    mdm_loop_timer_stop(t);
}

TEST_F(LoopTest, RepeatingTimerFiresOncePerPeriodAndStopsFromItsCallback)
{
    int fired = 0;
    mdm_loop_timer t;
    std::vector<std::string> log;
    NamedTimer counter{{}, "r", &log};

    use_fake_clock();
    mdm_loop_timer_init(loop, &counter.timer, log_fire, &counter);
    ASSERT_EQ(mdm_loop_timer_start(&counter.timer, 10, 10), 0);
    for (int i = 0; i < 5; i++) {
        clock.now += 10;
        turn_now();
    }
    EXPECT_EQ(log.size(), 5u);
    EXPECT_TRUE(mdm_loop_timer_active(&counter.timer));
    mdm_loop_timer_stop(&counter.timer);

    mdm_loop_timer_init(loop, &t, stop_self, &fired);
    ASSERT_EQ(mdm_loop_timer_start(&t, 5, 5), 0);
    clock.now += 5;
    turn_now();
    clock.now += 5;
    turn_now();
    EXPECT_EQ(fired, 1) << "a repeating timer stopped by its own callback stays stopped";
}

TEST_F(LoopTest, AClockThatJumpsNeitherFiresEarlyNorLosesATimerNorMakesARepeatCatchUp)
{
    std::vector<std::string> log;
    NamedTimer once{{}, "once", &log}, rep{{}, "rep", &log};

    use_fake_clock();
    mdm_loop_timer_init(loop, &once.timer, log_fire, &once);
    ASSERT_EQ(mdm_loop_timer_start(&once.timer, 50, 0), 0);
    int64_t due = mdm_loop_timer_due(&once.timer);

    /* Backwards: the loop's time stays where it was; the timer neither fires nor goes. */
    clock.now -= 3600000;
    turn_now();
    EXPECT_TRUE(log.empty());
    EXPECT_TRUE(mdm_loop_timer_active(&once.timer));
    EXPECT_EQ(mdm_loop_timer_due(&once.timer), due);
    EXPECT_EQ(mdm_loop_now(loop), due - 50);
    /* The clock comes back past the due time: it fires, once. */
    clock.now = due;
    turn_now();
    EXPECT_EQ(log, (std::vector<std::string>{"once"}));

    /* Forwards by 100 periods (a suspended machine): one firing, then every period again. */
    log.clear();
    mdm_loop_timer_init(loop, &rep.timer, log_fire, &rep);
    ASSERT_EQ(mdm_loop_timer_start(&rep.timer, 10, 10), 0);
    clock.now += 1000;
    turn_now();
    EXPECT_EQ(log.size(), 1u);
    EXPECT_EQ(mdm_loop_timer_due(&rep.timer), clock.now + 10) << "re-armed from the firing";
    turn_now();
    EXPECT_EQ(log.size(), 1u);
    clock.now += 10;
    turn_now();
    EXPECT_EQ(log.size(), 2u);
}

TEST_F(LoopTest, ManyTimersFireInOrderAndCancelledOnesNever)
{
    const int n = 2000;
    std::vector<NamedTimer> timers(n);
    std::vector<std::string> log;
    std::vector<std::pair<int64_t, int>> expected; /* (due, arming order) of the kept ones */
    std::mt19937 rng(12345);

    use_fake_clock();
    for (int i = 0; i < n; i++) {
        timers[i].name = std::to_string(i);
        timers[i].log = &log;
        mdm_loop_timer_init(loop, &timers[i].timer, log_fire, &timers[i]);
        ASSERT_EQ(mdm_loop_timer_start(&timers[i].timer, rng() % 500, 0), 0) << i;
    }
    /* Re-arm a fifth, cancel a fifth. */
    for (int i = 0; i < n; i += 5)
        ASSERT_EQ(mdm_loop_timer_start(&timers[i].timer, rng() % 500, 0), 0);
    for (int i = 1; i < n; i += 5)
        mdm_loop_timer_stop(&timers[i].timer);
    for (int i = 0; i < n; i++)
        if (mdm_loop_timer_active(&timers[i].timer))
            expected.push_back({mdm_loop_timer_due(&timers[i].timer), i});
    std::stable_sort(expected.begin(), expected.end(), [&](const auto &x, const auto &y) {
        if (x.first != y.first)
            return x.first < y.first;
        return timers[x.second].timer.seq < timers[y.second].timer.seq;
    });
    for (int step = 0; step < 60; step++) {
        clock.now += 10;
        turn_now();
    }
    ASSERT_EQ(log.size(), expected.size());
    for (size_t k = 0; k < expected.size(); k++)
        ASSERT_EQ(log[k], std::to_string(expected[k].second)) << "position " << k;
}

TEST_F(LoopTest, AFailedHeapGrowthLeavesTheTimerAsItWas)
{
    std::vector<mdm_loop_timer> timers(16);
    mdm_loop_timer extra;

    use_fake_clock();
    for (auto &t : timers) {
        mdm_loop_timer_init(loop, &t, nullptr, nullptr);
        ASSERT_EQ(mdm_loop_timer_start(&t, 100, 0), 0);
    }
    mdm_loop_timer_init(loop, &extra, nullptr, nullptr);
    mdm_alloc_fail_after(0);
    int rc = mdm_loop_timer_start(&extra, 10, 0); /* the 17th: the heap must grow */
    mdm_alloc_fail_after(-1);
    EXPECT_EQ(rc, MDM_ENOMEM);
    EXPECT_FALSE(mdm_loop_timer_active(&extra));
    /* Moving an armed timer needs no room. */
    mdm_alloc_fail_after(0);
    rc = mdm_loop_timer_start(&timers[3], 5, 0);
    mdm_alloc_fail_after(-1);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(mdm_loop_timer_start(&extra, 10, 0), 0);
    /* The timers end with this test, before the loop does (TearDown). */
    for (auto &t : timers)
        mdm_loop_timer_stop(&t);
    mdm_loop_timer_stop(&extra);
}

/* --- the order of a turn, hooks, timers added during dispatch ----------------- */

struct Trace {
    std::vector<std::string> log;
    mdm_loop_timer zero; /* armed by the prepare hook or a watcher, delay 0 */
    bool arm_in_prepare = false;
    mdm_wakeup *source = nullptr; /* a readable descriptor */
    mdm_loop_io io;
};

void trace_prepare(mdm_loop *loop, void *ctx)
{
    (void)loop;
    auto *t = static_cast<Trace *>(ctx);
    t->log.push_back("prepare");
    if (t->arm_in_prepare) {
        ASSERT_EQ(mdm_loop_timer_start(&t->zero, 0, 0), 0);
    }
}

void trace_check(mdm_loop *loop, void *ctx)
{
    (void)loop;
    static_cast<Trace *>(ctx)->log.push_back("check");
}

void trace_woken(mdm_loop *loop, void *ctx)
{
    (void)loop;
    static_cast<Trace *>(ctx)->log.push_back("woken");
}

void trace_timer(mdm_loop_timer *timer, void *ctx)
{
    (void)timer;
    static_cast<Trace *>(ctx)->log.push_back("timer");
}

void trace_io(mdm_loop_io *io, void *ctx)
{
    (void)io;
    auto *t = static_cast<Trace *>(ctx);
    t->log.push_back("io");
    mdm_wakeup_drain(t->source);
    /* Added during dispatch, due at once: fires in this turn's timer phase. */
    ASSERT_EQ(mdm_loop_timer_start(&t->zero, 0, 0), 0);
}

TEST_F(LoopTest, ATurnRunsPrepareWaitWakeUpWatchersTimersCheckInThatOrder)
{
    Trace t;
    mdm_err err;
    mdm_loop_timer guard;

    ASSERT_EQ(mdm_wakeup_open(&t.source, &err), 0) << err.msg;
    mdm_loop_set_hooks(loop, trace_prepare, trace_check, trace_woken, &t);
    mdm_loop_timer_init(loop, &t.zero, trace_timer, &t);
    mdm_loop_io_init(loop, &t.io, trace_io, &t);
    ASSERT_EQ(mdm_loop_io_start(&t.io, mdm_wakeup_fd(t.source)), 0);
    mdm_loop_timer_init(loop, &guard, nullptr, nullptr);
    ASSERT_EQ(mdm_loop_timer_start(&guard, 10000, 0), 0);

    mdm_wakeup_post(t.source);
    mdm_loop_wake(loop);
    /* Both are readable before the wait starts, so this turn sees both. */
    turn();
    EXPECT_EQ(t.log, (std::vector<std::string>{"prepare", "woken", "io", "timer", "check"}));

    /* A 0 ms timer armed in prepare makes the wait return at once and fires in the same turn. */
    t.log.clear();
    t.arm_in_prepare = true;
    turn();
    EXPECT_EQ(t.log, (std::vector<std::string>{"prepare", "timer", "check"}));
    EXPECT_TRUE(mdm_loop_timer_active(&guard));
    mdm_loop_io_stop(&t.io);
    mdm_wakeup_close(t.source);
}

/* --- descriptors -------------------------------------------------------------- */

struct Reader {
    mdm_wakeup *w = nullptr;
    mdm_loop_io io;
    int calls = 0;
    Reader *stop_other = nullptr; /* stops this watcher from the callback */
    bool stop_self = false;
};

void reader_cb(mdm_loop_io *io, void *ctx)
{
    auto *r = static_cast<Reader *>(ctx);
    r->calls++;
    mdm_wakeup_drain(r->w);
    if (r->stop_other != nullptr)
        mdm_loop_io_stop(&r->stop_other->io);
    if (r->stop_self)
        mdm_loop_io_stop(io);
}

class LoopIoTest : public LoopTest
{
  protected:
    void SetUp() override
    {
        LoopTest::SetUp();
        mdm_err err;
        for (Reader &r : readers) {
            ASSERT_EQ(mdm_wakeup_open(&r.w, &err), 0) << err.msg;
            mdm_loop_io_init(loop, &r.io, reader_cb, &r);
        }
        /* Fails a test whose descriptor never becomes readable instead of hanging it. */
        mdm_loop_timer_init(loop, &guard, nullptr, nullptr);
        ASSERT_EQ(mdm_loop_timer_start(&guard, 10000, 0), 0);
    }
    void TearDown() override
    {
        for (Reader &r : readers) {
            mdm_loop_io_stop(&r.io);
            mdm_wakeup_close(r.w);
        }
        LoopTest::TearDown();
    }
    Reader readers[3];
    mdm_loop_timer guard;
};

TEST_F(LoopIoTest, OnlyTheReadableDescriptorsCallbackRuns)
{
    for (Reader &r : readers)
        ASSERT_EQ(mdm_loop_io_start(&r.io, mdm_wakeup_fd(r.w)), 0);
    mdm_wakeup_post(readers[1].w);
    turn();
    EXPECT_EQ(readers[0].calls, 0);
    EXPECT_EQ(readers[1].calls, 1);
    EXPECT_EQ(readers[2].calls, 0);
    EXPECT_TRUE(mdm_loop_timer_active(&guard)) << "woken by the descriptor, not the guard";
}

TEST_F(LoopIoTest, ADescriptorBecomingReadableOnAnotherThreadEndsTheWait)
{
    ASSERT_EQ(mdm_loop_io_start(&readers[0].io, mdm_wakeup_fd(readers[0].w)), 0);
    std::thread writer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        mdm_wakeup_post(readers[0].w);
    });
    while (readers[0].calls == 0 && mdm_loop_timer_active(&guard))
        turn();
    writer.join();
    EXPECT_EQ(readers[0].calls, 1);
    EXPECT_TRUE(mdm_loop_timer_active(&guard));
}

TEST_F(LoopIoTest, AWatcherStoppedByAnotherCallbackIsNotCalledAndStoppedWatchersStayQuiet)
{
    for (Reader &r : readers)
        ASSERT_EQ(mdm_loop_io_start(&r.io, mdm_wakeup_fd(r.w)), 0);
    readers[0].stop_other = &readers[1];
    readers[0].stop_self = true;
    for (Reader &r : readers)
        mdm_wakeup_post(r.w);
    turn();
    EXPECT_EQ(readers[0].calls, 1);
    EXPECT_EQ(readers[1].calls, 0) << "stopped before its turn came";
    EXPECT_EQ(readers[2].calls, 1) << "the hole left by the others skips nobody";
    EXPECT_FALSE(mdm_loop_io_active(&readers[0].io));
    EXPECT_FALSE(mdm_loop_io_active(&readers[1].io));
    EXPECT_TRUE(mdm_loop_io_active(&readers[2].io));

    /* Readable again, but stopped: only readers[2] runs. */
    for (Reader &r : readers)
        mdm_wakeup_post(r.w);
    turn();
    EXPECT_EQ(readers[0].calls, 1);
    EXPECT_EQ(readers[1].calls, 0);
    EXPECT_EQ(readers[2].calls, 2);
    /* Restarted, it is watched again. */
    ASSERT_EQ(mdm_loop_io_start(&readers[1].io, mdm_wakeup_fd(readers[1].w)), 0);
    turn();
    EXPECT_EQ(readers[1].calls, 1);
}

TEST_F(LoopIoTest, StoppingTheLastStartedWatcherStopsItAndAStoppedWatcherStartsAgain)
{
    /* As the agent does with Net-SNMP's descriptors each turn: stop from the end, start again. */
    for (Reader &r : readers)
        ASSERT_EQ(mdm_loop_io_start(&r.io, mdm_wakeup_fd(r.w)), 0);
    mdm_loop_io_stop(&readers[2].io);
    mdm_loop_io_stop(&readers[1].io);
    EXPECT_FALSE(mdm_loop_io_active(&readers[2].io));
    EXPECT_FALSE(mdm_loop_io_active(&readers[1].io));
    EXPECT_TRUE(mdm_loop_io_active(&readers[0].io));
    ASSERT_EQ(mdm_loop_io_start(&readers[1].io, mdm_wakeup_fd(readers[1].w)), 0);
    ASSERT_EQ(mdm_loop_io_start(&readers[2].io, mdm_wakeup_fd(readers[2].w)), 0);
    for (Reader &r : readers)
        mdm_wakeup_post(r.w);
    turn();
    for (Reader &r : readers)
        EXPECT_EQ(r.calls, 1) << "every restarted watcher is waited on again";
}

TEST_F(LoopIoTest, WithNothingReadableTheWaitEndsAtTheFirstTimer)
{
    bool fired = false;
    mdm_loop_timer t;

    ASSERT_EQ(mdm_loop_io_start(&readers[0].io, mdm_wakeup_fd(readers[0].w)), 0);
    mdm_loop_timer_init(
        loop, &t, [](mdm_loop_timer *, void *ctx) { *static_cast<bool *>(ctx) = true; }, &fired);
    ASSERT_EQ(mdm_loop_timer_start(&t, 20, 0), 0);
    int64_t due = mdm_loop_timer_due(&t);
    while (!fired && mdm_loop_timer_active(&guard))
        turn();
    EXPECT_TRUE(fired);
    EXPECT_GE(mdm_loop_now(loop), due) << "never early";
    EXPECT_EQ(readers[0].calls, 0);
}

/* --- the cross-thread wake-up --------------------------------------------------- */

struct WakeCount {
    std::atomic<int> woken{0};
    bool stop_on_wake = false;
};

void count_wake(mdm_loop *loop, void *ctx)
{
    auto *w = static_cast<WakeCount *>(ctx);
    w->woken++;
    if (w->stop_on_wake)
        mdm_loop_stop(loop);
}

TEST_F(LoopIoTest, AWakeFromAnotherThreadEndsTheWaitAndRunsTheCallbackOnTheLoopThread)
{
    WakeCount w;
    w.stop_on_wake = true;
    mdm_loop_set_hooks(loop, nullptr, nullptr, count_wake, &w);
    std::thread waker([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        for (int i = 0; i < 100; i++)
            mdm_loop_wake(loop);
    });
    mdm_err err;
    /* mdm_loop_run returns only through mdm_loop_stop from the wake-up callback. */
    ASSERT_EQ(mdm_loop_run(loop, &err), 0) << err.msg;
    waker.join();
    EXPECT_GE(w.woken.load(), 1);
    EXPECT_TRUE(mdm_loop_timer_active(&guard)) << "ended by the wake-up, not the guard";
    /* Wake-ups are coalesced and drained: a later turn does not see the old ones. */
    int seen = w.woken.load();
    mdm_loop_dont_wait(loop);
    ASSERT_EQ(mdm_loop_run_once(loop, &err), 0);
    mdm_loop_dont_wait(loop);
    ASSERT_EQ(mdm_loop_run_once(loop, &err), 0);
    EXPECT_LE(w.woken.load(), seen + 1);
}

TEST(LoopFdSet, ListsTheDescriptorsOfAnFdSetFilledBySomeoneElse)
{
    /* Filled with the system's own macros, as Net-SNMP's snmp_select_info fills one. */
    fd_set set;
    int out[8];

    FD_ZERO(&set);
    FD_SET(3, &set);
    FD_SET(9, &set);
    FD_SET(7, &set);
    ASSERT_EQ(mdm_loop_fd_set_list(&set, 9, out, 8), 3u);
    std::sort(out, out + 3); /* select() sets have no order on Windows */
    EXPECT_EQ(out[0], 3);
    EXPECT_EQ(out[1], 7);
    EXPECT_EQ(out[2], 9);
    EXPECT_EQ(mdm_loop_fd_set_list(&set, 9, out, 2), 3u) << "the count, beyond cap";
    FD_ZERO(&set);
    EXPECT_EQ(mdm_loop_fd_set_list(&set, 9, out, 8), 0u);
}

} // namespace

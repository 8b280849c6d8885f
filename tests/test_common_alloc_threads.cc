// test_common_alloc_threads.cc - the allocator's counters and failure hook
// when several threads allocate at once (the diagnoser's checks run on
// worker threads). Real threads (mdm_thread_start, the product's own), real
// allocations; the ThreadSanitizer stage of scripts/test runs this too.
#include <gtest/gtest.h>

#include <atomic>

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_os.h"
#include "agent/os/mdm_thread.h"

namespace
{

constexpr int kThreads = 4;
constexpr int kAllocations = 100000;

struct Shared {
    struct mdm_waitgroup *wg = nullptr;
    std::atomic<bool> go{false}; /* set once every thread is started */
    long fail_after = -1;        /* the hook's setting for the allocations measured */
    int running = 0;
    int failed = 0; /* allocations that returned NULL, over all threads */
};

void allocate_many(void *arg)
{
    auto *shared = static_cast<Shared *>(arg);
    int failed = 0;
    while (!shared->go.load()) {
        /* a short spin: the main thread sets it right after starting the last thread */
    }
    for (int i = 0; i < kAllocations; i++) {
        void *p = mdm_malloc(16);
        if (p == nullptr)
            failed++;
        mdm_free(p);
    }
    mdm_waitgroup_lock(shared->wg);
    shared->failed += failed;
    shared->running--;
    mdm_waitgroup_signal(shared->wg);
    mdm_waitgroup_unlock(shared->wg);
}

/* Runs kThreads threads of allocate_many; false when they did not all finish in time. */
bool run_threads(Shared *shared)
{
    shared->wg = mdm_waitgroup_new();
    if (shared->wg == nullptr)
        return false;
    mdm_waitgroup_lock(shared->wg);
    for (int t = 0; t < kThreads; t++) {
        if (mdm_thread_start(allocate_many, shared) != 0)
            break;
        shared->running++;
    }
    /* Starting threads allocates too: count from here. */
    mdm_alloc_fail_after(shared->fail_after);
    shared->go.store(true);
    long long deadline = mdm_os_monotonic_ms() + 60000;
    while (shared->running > 0 && mdm_os_monotonic_ms() < deadline)
        mdm_waitgroup_wait(shared->wg, deadline);
    bool done = shared->running == 0;
    mdm_waitgroup_unlock(shared->wg);
    if (done)
        mdm_waitgroup_free(shared->wg);
    return done;
}

} // namespace

TEST(AllocThreads, EveryAllocationOfEveryThreadIsCounted)
{
    Shared shared;
    ASSERT_TRUE(run_threads(&shared));
    // A plain counter++ from several threads loses increments (and is a data race).
    EXPECT_EQ((long)kThreads * kAllocations, mdm_alloc_count());
    EXPECT_EQ(0, shared.failed);
}

TEST(AllocThreads, TheFailureHookLetsExactlyTheGivenNumberThrough)
{
    Shared shared;
    const long allowed = 150000;
    shared.fail_after = allowed;
    ASSERT_TRUE(run_threads(&shared));
    mdm_alloc_fail_after(-1);
    // Over all threads, exactly `allowed` allocations succeeded, whichever thread made them.
    EXPECT_EQ((long)kThreads * kAllocations - allowed, shared.failed);
}

// Giving the heap back after a burst (issue 17). glibc raises its trim
// threshold to twice the largest mmapped block freed so far, and never trims
// the top of a thread's arena below it: a daemon that once freed a large
// buffer kept a sending thread's whole peak resident after every burst. The
// daemon fixes both thresholds (limit_heap_arenas), so that what a burst
// allocated on a worker thread goes back once the work ends.
#include "platform/free_memory.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "proc_status.hpp"

namespace meterbridge::app {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kOwnAllocator = true;  // the sanitizer's allocator: mallopt does nothing
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kOwnAllocator = true;
#else
constexpr bool kOwnAllocator = false;
#endif
#else
constexpr bool kOwnAllocator = false;
#endif

// Private resident memory of this process, in KiB.
long rss_anon_kib() { return testing::proc_status_kib("RssAnon"); }

TEST(FreeMemory, WhatABurstAllocatedOnAWorkerThreadGoesBackWhenItEnds) {
    if (kOwnAllocator) GTEST_SKIP() << "a sanitizer's allocator replaces glibc's";
    limit_heap_arenas();
    {
        // A large buffer freed (a big response, a long query's result):
        // glibc would now keep up to twice its size free in every arena.
        constexpr std::size_t kLarge = std::size_t{24} << 20;
        char* large = static_cast<char*>(std::malloc(kLarge));
        ASSERT_NE(large, nullptr);
        std::memset(large, 1, kLarge);
        std::free(large);
    }
    const long before = rss_anon_kib();
    ASSERT_GT(before, 0);

    long during = 0;
    std::thread worker([&during] {
        // 32 MiB in the small blocks a burst is made of, touched, then freed.
        std::vector<std::unique_ptr<char[]>> blocks;
        for (int i = 0; i < 32 * 1024; ++i) {
            blocks.emplace_back(new char[1000]);
            std::memset(blocks.back().get(), 1, 1000);
        }
        during = rss_anon_kib();
    });
    worker.join();
    release_free_memory();
    const long after = rss_anon_kib();

    EXPECT_GT(during - before, 24 * 1024) << "the burst did not grow the heap; the test proves nothing";
    EXPECT_LT(after - before, 4 * 1024) << "KiB still resident after the burst: " << after - before;
}

}  // namespace
}  // namespace meterbridge::app

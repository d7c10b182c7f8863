#include "meterbridge/net/token_cache.hpp"

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "azure_test_support.hpp"

namespace meterbridge::net {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::ManualClock;

const Error kNoToken{"token_unavailable", "no access token", {}};

// Hands out "t1", "t2", ... living `lifetime` from the clock's now.
struct CountingFetch {
    ManualClock& clock;
    Duration lifetime;
    int issued = 0;
    Result<AccessToken> operator()() {
        const Instant now = clock.now();
        return AccessToken{"t" + std::to_string(++issued), now, now + lifetime};
    }
};

TEST(TokenCache, ConcurrentCallersShareOneFetch) {
    ManualClock clock(at("2026-01-01T09:00:00Z"));
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    std::atomic<bool> entered{false};
    TokenCache cache(
        [&]() -> Result<AccessToken> {
            entered = true;
            gate.wait();  // hold the fetch open while the other callers arrive
            return AccessToken{"shared", clock.now(), clock.now() + 1h};
        },
        clock, 5min, kNoToken);

    std::vector<std::future<Result<std::string>>> callers;
    for (int i = 0; i < 8; ++i) callers.push_back(std::async(std::launch::async, [&] { return cache.get(); }));
    while (!entered) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);
    release.set_value();
    for (auto& caller : callers) {
        auto token = caller.get();
        ASSERT_TRUE(token.ok());
        EXPECT_EQ(*token, "shared");
    }
    EXPECT_EQ(cache.fetch_count(), 1U);
}

TEST(TokenCache, RefreshesAtTheMarginBeforeExpiryOrAtHalfLife) {
    ManualClock clock(at("2026-01-01T09:00:00Z"));
    CountingFetch fetch{clock, 1h};
    TokenCache cache(std::ref(fetch), clock, 5min, kNoToken);
    EXPECT_EQ(*cache.get(), "t1");
    clock.advance(54min);
    EXPECT_EQ(*cache.get(), "t1");
    clock.advance(1min + 1ms);  // inside the 5-minute margin
    EXPECT_EQ(*cache.get(), "t2");
    EXPECT_EQ(cache.fetch_count(), 2U);

    fetch.lifetime = 4min;  // shorter than the margin: refreshed at half-life
    clock.advance(2h);
    EXPECT_EQ(*cache.get(), "t3");
    clock.advance(2min - 1ms);
    EXPECT_EQ(*cache.get(), "t3");
    clock.advance(1ms);
    EXPECT_EQ(*cache.get(), "t4");
}

TEST(TokenCache, AFailedRefreshKeepsAStillValidTokenAndOtherwiseReturnsTheError) {
    ManualClock clock(at("2026-01-01T09:00:00Z"));
    bool fail = false;
    TokenCache cache(
        [&]() -> Result<AccessToken> {
            if (fail) return make_error("token_rejected", "no");
            return AccessToken{"good", clock.now(), clock.now() + 1h};
        },
        clock, 5min, kNoToken);
    EXPECT_EQ(*cache.get(), "good");
    fail = true;
    clock.advance(58min);  // due for refresh, not yet expired
    EXPECT_EQ(*cache.get(), "good");
    clock.advance(2min);  // expired
    const auto token = cache.get();
    ASSERT_FALSE(token.ok());
    EXPECT_EQ(token.error().code, "token_rejected");
}

TEST(TokenCache, InvalidatesOnlyTheTokenThatWasRefused) {
    ManualClock clock(at("2026-01-01T09:00:00Z"));
    CountingFetch fetch{clock, 1h};
    TokenCache cache(std::ref(fetch), clock, 5min, kNoToken);
    EXPECT_EQ(*cache.get(), "t1");
    cache.invalidate("t0");  // an older token, refused late: the cached one stays
    EXPECT_EQ(*cache.get(), "t1");
    EXPECT_EQ(cache.fetch_count(), 1U);
    cache.invalidate("t1");
    EXPECT_EQ(*cache.get(), "t2");
    cache.invalidate();  // no token named: whatever is cached
    EXPECT_EQ(*cache.get(), "t3");
    EXPECT_EQ(cache.fetch_count(), 3U);
}

}  // namespace
}  // namespace meterbridge::net

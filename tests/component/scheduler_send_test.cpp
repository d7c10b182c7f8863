// The scheduler's sending (issue 14, SPEC §4 "What Azure may hold"): real
// ticks over a SQLite file, against the real sandbox on 127.0.0.1, with the
// faults a gateway, a throttle and one bad event cause injected between the
// two by a transport decorator. The clock is a manual one shared with the
// sandbox; nothing sleeps.
#include "pipeline/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/store/store.hpp"
#include "support/azure_test_support.hpp"
#include "support/bill_delivery.hpp"
#include "sqlite.hpp"

namespace meterbridge::app {
namespace {

using namespace std::chrono_literals;
using testing::at;

constexpr const char* kResources[] = {"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                                      "33333333-3333-4333-8333-333333333333"};

// Passes calls to the sandbox, or fails them as told. Only /api/ calls are
// touched; the token endpoint always works.
class FaultyTransport final : public net::HttpTransport {
public:
    enum class Mode { Pass, ProcessedThen502, Throttle30s, RefuseBatchesWithBadResource };

    explicit FaultyTransport(net::HttpTransport& inner) : inner_(inner) {}

    void set(Mode mode) { mode_ = mode; }
    int api_calls() const { return api_calls_; }

    Result<net::HttpExchangeResult> send(const net::HttpRequestSpec& request) override {
        if (request.url.find("/api/") == std::string::npos) return inner_.send(request);
        ++api_calls_;
        switch (mode_.load()) {
            case Mode::Pass: return inner_.send(request);
            case Mode::ProcessedThen502: {
                auto processed = inner_.send(request);  // Azure records the batch...
                if (!processed) return processed;
                return net::HttpExchangeResult{502, {}, "<html>502 Bad Gateway</html>", false};  // ...the gateway fails
            }
            case Mode::Throttle30s: {
                net::Headers headers;
                headers.set("Retry-After", "30");
                return net::HttpExchangeResult{429, headers, R"({"code":"TooManyRequests"})", false};
            }
            case Mode::RefuseBatchesWithBadResource:
                if (request.body.find(kResources[2]) == std::string::npos) return inner_.send(request);
                return net::HttpExchangeResult{
                    400, {},
                    R"({"message":"One or more errors have occurred.","target":"usageEventRequest",)"
                    R"("details":[{"message":"The planId is not valid.","target":"planId","code":"BadArgument"}],)"
                    R"("code":"BadArgument"})",
                    false};
        }
        return inner_.send(request);
    }

private:
    net::HttpTransport& inner_;
    std::atomic<Mode> mode_{Mode::Pass};
    std::atomic<int> api_calls_{0};
};

class SchedulerSending : public ::testing::Test {
protected:
    void SetUp() override {
        sandbox::SandboxOptions options;
        options.base_clock = &clock_;
        auto started = sandbox::Sandbox::start(std::move(options));
        ASSERT_TRUE(started.ok()) << started.error().message;
        sandbox_ = std::move(*started);

        scheduler_config_.policy = SchedulerPolicy::Eager;
        IntegrationConfig integration;
        integration.id = "int-1";
        integration.name = "Azure";
        integration.plan_id = "gold";
        integration.split_usage_line_items = SplitMode::ItemPerBill;
        integration.marketplace_bill_dimension = "bill_total";
        rules_.integrations.push_back(integration);
        for (int i = 0; i < 3; ++i) {
            ExternalMapping account;
            account.id = "cfg-" + std::to_string(i);
            account.m3ter_entity = MappingEntity::Account;
            account.m3ter_id = "acc-" + std::to_string(i);
            account.external_table = ExternalTable::Subscription;
            account.external_id = kResources[i];
            rules_.external_mappings.push_back(account);
        }
        tokens_ = std::make_unique<azure::TokenProvider>(
            azure::TokenProviderOptions{sandbox_->token_url("tenant-1", true), "client", "secret",
                                        std::string(azure::kMarketplaceResourceId), 5min, {}},
            http_, clock_);
        azure::MeteringClientOptions metering;
        metering.base_url = sandbox_->base_url();
        metering.deadline = 100ms;  // no retries inside a call: each tick is one attempt
        store_ = store::open_sqlite_store(path());
        scheduler_ = std::make_unique<Scheduler>(
            Scheduler::Deps{rules_, scheduler_config_, kRetentionDays, *store_, clock_, faulty_, *tokens_, nullptr, metering, {}});
    }

    void record(const std::string& bill, int version, int account, const std::string& subtotal) {
        const std::string text = R"({"id":")" + bill + R"(","version":)" + std::to_string(version) +
                                 R"(,"accountId":"acc-)" + std::to_string(account) +
                                 R"(","status":"APPROVED","currency":"USD","lineItems":[)"
                                 R"({"lineItemType":"USAGE","subtotal":)" +
                                 subtotal + "}]}";
        const auto delivery = testing::bill_delivery_of(text, clock_.now());
        for (const auto& result : store_->record_deliveries(std::vector{delivery})) ASSERT_TRUE(result.ok());
    }

    std::string path() const { return (dir_.path() / "scheduler.db").string(); }

    template <class... Args>
    std::int64_t rows(const char* query, const Args&... args) {
        store::sqlite::Database db = store::sqlite::Database::open(path(), true);
        return db.query_int(query, args...).value_or(-1);
    }

    std::int64_t sandbox_units(const std::string& resource) {
        std::int64_t total = 0;
        for (const auto& e : sandbox_->core().events()) {
            if (e.resource_id == resource) total += std::stoll(e.quantity.to_string());
        }
        return total;
    }

    testing::TempDir dir_;
    testing::ManualClock clock_{at("2026-01-01T10:10:00Z")};
    std::unique_ptr<sandbox::Sandbox> sandbox_;
    net::HttpClient http_;
    FaultyTransport faulty_{http_};
    static constexpr std::int64_t kRetentionDays = 400;
    IntegrationRules rules_;
    SchedulerConfig scheduler_config_;
    std::unique_ptr<azure::TokenProvider> tokens_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerSending, A5xxAfterAzureRecordedKeepsTheEventUnchangedThroughADownwardRecalculation) {
    faulty_.set(FaultyTransport::Mode::ProcessedThen502);
    record("bill-1", 1, 0, "16.00");
    scheduler_->tick();
    ASSERT_EQ(sandbox_units(kResources[0]), 1600);  // Azure holds it; we heard 502
    EXPECT_EQ(rows("SELECT count(*) FROM events WHERE state = 'sending' AND maybe_sent = 1 AND quantity = 1600"), 1);

    record("bill-1", 2, 0, "10.00");
    clock_.advance(10min);
    scheduler_->tick();  // converts v2; the re-send gets 502 again
    EXPECT_EQ(rows("SELECT quantity FROM events"), 1600) << "an event Azure may hold was changed";
    EXPECT_EQ(rows("SELECT over_reported FROM targets"), 600);

    faulty_.set(FaultyTransport::Mode::Pass);
    clock_.advance(20min);
    scheduler_->tick();  // Duplicate with our quantity: our own event
    EXPECT_EQ(rows("SELECT count(*) FROM events WHERE state = 'accepted' AND quantity = 1600"), 1);
    for (int hour = 1; hour <= 3; ++hour) {
        clock_.advance(1h);
        scheduler_->tick();
    }
    EXPECT_EQ(rows("SELECT count(*) FROM events"), 1);
    EXPECT_EQ(rows("SELECT count(*) FROM pending_units"), 0);
    EXPECT_EQ(sandbox_units(kResources[0]), 1600);  // = target 1000 + over-reported 600, never more
}

TEST_F(SchedulerSending, ARetryAfterIsStoredWithTheEventsAndNoCallIsMadeBeforeIt) {
    faulty_.set(FaultyTransport::Mode::Throttle30s);
    record("bill-1", 1, 0, "2.50");
    scheduler_->tick();
    ASSERT_EQ(faulty_.api_calls(), 1);
    EXPECT_EQ(rows("SELECT count(*) FROM events WHERE state = 'planned' AND maybe_sent = 0"), 1);
    const std::int64_t throttled_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                          clock_.now().time_since_epoch()).count();
    EXPECT_GE(rows("SELECT next_attempt_at FROM events"), throttled_at + 30000);

    faulty_.set(FaultyTransport::Mode::Pass);
    for (int i = 0; i < 5; ++i) {
        clock_.advance(5s);
        scheduler_->tick();
    }
    EXPECT_EQ(faulty_.api_calls(), 1) << "called again before Retry-After";
    clock_.advance(6s);
    scheduler_->tick();
    EXPECT_EQ(faulty_.api_calls(), 2);
    EXPECT_EQ(rows("SELECT count(*) FROM events WHERE state = 'accepted'"), 1);
}

TEST_F(SchedulerSending, AWholeBatchRefusalIsSplitUntilTheBadEventIsAloneAndTheRestIsBilledInTheSameTick) {
    faulty_.set(FaultyTransport::Mode::RefuseBatchesWithBadResource);
    record("bill-0", 1, 0, "1.00");
    record("bill-1", 1, 1, "2.00");
    record("bill-2", 1, 2, "3.00");
    const TickReport report = scheduler_->tick();
    EXPECT_EQ(report.events_accepted, 2);
    EXPECT_EQ(report.events_rejected, 1);
    // [0 1 2] refused -> [0] accepted, [1 2] refused -> [1] accepted, [2] refused alone.
    EXPECT_EQ(faulty_.api_calls(), 5);
    EXPECT_EQ(sandbox_units(kResources[0]), 100);
    EXPECT_EQ(sandbox_units(kResources[1]), 200);
    EXPECT_EQ(sandbox_units(kResources[2]), 0);
    EXPECT_EQ(rows("SELECT count(*) FROM events WHERE state = 'rejected' AND error_code = 'BadArgument' "
                   "AND error_message LIKE '%planId is not valid%' AND resource_id = ?1",
                   std::string(kResources[2])),
              1);
    // Nothing more is sent for it until ops retry it.
    clock_.advance(1h);
    scheduler_->tick();
    EXPECT_EQ(faulty_.api_calls(), 5);
}

TEST_F(SchedulerSending, ADuplicateOfOurQuantityForAnEventNeverSentBeforeIsAConflictNotOurs) {
    // Another sender already reported exactly 250 in our slot.
    const std::string token = testing::sandbox_token(http_, *sandbox_);
    const auto foreign = http_.send(testing::post_json(
        sandbox_->base_url() + "/api/batchUsageEvent?api-version=2018-08-31",
        std::string(R"({"request":[{"resourceId":")") + kResources[0] +
            R"(","quantity":250,"dimension":"bill_total","effectiveStartTime":"2026-01-01T10:00:00Z","planId":"gold"}]})",
        token));
    ASSERT_TRUE(foreign.ok());
    ASSERT_EQ(sandbox_->core().events().size(), 1U);

    record("bill-1", 1, 0, "2.50");
    scheduler_->tick();
    EXPECT_EQ(rows("SELECT count(*) FROM events WHERE state = 'conflict'"), 1);
    EXPECT_EQ(rows("SELECT count(*) FROM events WHERE state = 'accepted'"), 0);
    clock_.advance(1h);
    scheduler_->tick();  // the units go out in the next free hour
    EXPECT_EQ(rows("SELECT count(*) FROM events WHERE state = 'accepted' AND quantity = 250"), 1);
    EXPECT_EQ(sandbox_units(kResources[0]), 500);
}

}  // namespace
}  // namespace meterbridge::app

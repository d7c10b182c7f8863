// The scheduler's conversion of stored bill versions (issue 6): a backlog is
// converted a page at a time, each page in one store transaction, and a
// version the store cannot apply stays pending without holding up the others.
// Hour-close slotting keeps every event in the future, so nothing is sent:
// the transport only has to exist.
#include "pipeline/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/store/store.hpp"
#include "scripted_transport.hpp"
#include "support/azure_test_support.hpp"
#include "sqlite.hpp"

namespace meterbridge::app {
namespace {

using testing::at;

store::Delivery delivery_of(int n, const std::string& subtotal, const std::string& account = "acc-1") {
    const std::string id = "bill-" + std::to_string(n);
    const std::string text = R"({"id":")" + id + R"(","version":1,"accountId":")" + account +
                             R"(","status":"APPROVED","currency":"USD","lineItems":[)"
                             R"({"lineItemType":"USAGE","productId":"prod-1","subtotal":)" +
                             subtotal + "}]}";
    store::Delivery delivery;
    delivery.body = text;
    delivery.remote_addr = "127.0.0.1";
    delivery.received_at = at("2026-01-01T10:00:00Z");
    delivery.kind = BillEventKind::Updated;
    delivery.bill = parse_bill(parse_exact_json(text).value()).value();
    delivery.bill_json = text;
    return delivery;
}

class SchedulerConversion : public ::testing::Test {
protected:
    SchedulerConversion() : clock_(at("2026-01-01T10:10:00Z")), tokens_(token_options(), transport_, clock_) {
        scheduler_config_.policy = SchedulerPolicy::HourClose;
        scheduler_config_.flush_delay_s = 60;
        IntegrationConfig integration;
        integration.id = "int-1";
        integration.name = "Azure";
        integration.plan_id = "gold";
        rules_.integrations.push_back(integration);
        ExternalMapping account;
        account.id = "cfg-0";
        account.m3ter_entity = MappingEntity::Account;
        account.m3ter_id = "acc-1";
        account.external_table = ExternalTable::Subscription;
        account.external_id = "5ab1e000-0000-4000-8000-000000000001";  // a GUID, as conversion requires
        rules_.external_mappings.push_back(account);
        store_ = store::open_sqlite_store(path());
        scheduler_ = std::make_unique<Scheduler>(
            Scheduler::Deps{rules_, scheduler_config_, kRetentionDays, *store_, clock_, transport_, tokens_, nullptr, azure::MeteringClientOptions{}, {}});
    }

    static azure::TokenProviderOptions token_options() {
        azure::TokenProviderOptions options;
        options.token_url = "http://127.0.0.1:9/token";
        options.client_id = "client";
        options.client_secret = "secret";
        return options;
    }

    void record(int first, int count, const std::string& subtotal = "0.05") {
        std::vector<store::Delivery> deliveries;
        for (int n = first; n < first + count; ++n) deliveries.push_back(delivery_of(n, subtotal));
        for (const auto& result : store_->record_deliveries(deliveries)) ASSERT_TRUE(result.ok());
    }

    std::string path() const { return (dir_.path() / "scheduler.db").string(); }

    std::int64_t rows(const char* query) {
        store::sqlite::Database db = store::sqlite::Database::open(path(), true);
        return db.query_int(query).value_or(-1);
    }

    testing::TempDir dir_;
    static constexpr std::int64_t kRetentionDays = 400;
    IntegrationRules rules_;
    SchedulerConfig scheduler_config_;
    testing::ManualClock clock_;
    testing::ScriptedTransport transport_;
    azure::TokenProvider tokens_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerConversion, ABacklogOfSeveralPagesIsConvertedInOneTick) {
    const int bills = 2 * static_cast<int>(Scheduler::kVersionsPerTransaction) + 5;
    record(0, bills);
    const TickReport report = scheduler_->tick();
    EXPECT_EQ(report.versions_processed, bills);
    EXPECT_EQ(report.batches_sent, 0);  // hour_close: the 10:00 slot closes at 11:01
    EXPECT_TRUE(store_->pending_bill_versions()->empty());
    EXPECT_EQ(rows("SELECT count(*) FROM integration_runs"), bills);
    // $0.05 per bill = 5 units each, all on (sub-1, prod-1).
    EXPECT_EQ(rows("SELECT sum(units) FROM pending_units"), 5 * bills);
    EXPECT_EQ(rows("SELECT count(*) FROM bill_versions WHERE processed = 1"), bills);
    EXPECT_TRUE(transport_.sent().empty());

    // Nothing is converted twice.
    EXPECT_EQ(scheduler_->tick().versions_processed, 0);
    EXPECT_EQ(rows("SELECT count(*) FROM integration_runs"), bills);
}

TEST_F(SchedulerConversion, AVersionTheStoreCannotApplyStaysPendingAndTheRestOfItsPageGoesOn) {
    {
        store::sqlite::Database side = store::sqlite::Database::open(path());
        side.exec("CREATE TRIGGER poison BEFORE INSERT ON integration_runs WHEN NEW.bill_id = 'bill-3' "
                  "BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
    }
    record(0, 6);
    EXPECT_EQ(scheduler_->tick().versions_processed, 5);
    const auto pending = store_->pending_bill_versions();
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_EQ(pending->front().bill_id, "bill-3");
    // Its recalculation was undone with it: only the five others' units are queued.
    EXPECT_EQ(rows("SELECT sum(units) FROM pending_units"), 25);
    EXPECT_EQ(rows("SELECT count(*) FROM pending_units WHERE bill_id = 'bill-3'"), 0);

    {
        store::sqlite::Database side = store::sqlite::Database::open(path());
        side.exec("DROP TRIGGER poison");
    }
    EXPECT_EQ(scheduler_->tick().versions_processed, 1);
    EXPECT_EQ(rows("SELECT sum(units) FROM pending_units"), 30);
    EXPECT_TRUE(store_->pending_bill_versions()->empty());
}

// While the intake is busy a tick converts one page and pauses, and the rest
// of the tick (slotting, sending) still runs: a continuous stream of
// deliveries must not keep the scheduler converting forever. The backlog is
// still converted, a page per tick: slowed, never starved.
TEST_F(SchedulerConversion, ABusyIntakeGetsOnePagePerTick) {
    int asked = 0;
    Scheduler scheduler(Scheduler::Deps{rules_, scheduler_config_, kRetentionDays, *store_, clock_, transport_, tokens_, nullptr,
                                        azure::MeteringClientOptions{}, [&asked] {
                                            ++asked;
                                            return true;
                                        }});
    const int page = static_cast<int>(Scheduler::kVersionsPerTransaction);
    record(0, page + 2);
    EXPECT_EQ(scheduler.tick().versions_processed, page);
    EXPECT_EQ(asked, 1);
    EXPECT_EQ(store_->pending_bill_versions()->size(), 2u);

    // The 10:00 hour closes; the intake is still busy.
    clock_.set(at("2026-01-01T11:05:00Z"));
    const TickReport second = scheduler.tick();
    EXPECT_EQ(second.versions_processed, 2);
    EXPECT_EQ(second.events_planned, 1);  // the rest of the tick ran: one event for (sub-1, 10:00)
    EXPECT_EQ(second.batches_sent, 1);    // and was sent (here without a token: not delivered)
    EXPECT_TRUE(store_->pending_bill_versions()->empty());
}

// The running loop, woken by every delivery while deliveries keep arriving,
// runs a pass (one page) at most every kBusyPassPeriod: each of the pass's
// transactions makes the deliveries behind it wait (issue 17). Once the
// intake is idle, the backlog is converted at once.
TEST_F(SchedulerConversion, WhileTheIntakeIsBusyTheLoopRunsAPassPerPeriod) {
    std::atomic<bool> busy{true};
    Scheduler scheduler(Scheduler::Deps{rules_, scheduler_config_, kRetentionDays, *store_, clock_, transport_, tokens_, nullptr,
                                        azure::MeteringClientOptions{}, [&busy] { return busy.load(); }});
    const int page = static_cast<int>(Scheduler::kVersionsPerTransaction);
    record(0, 3 * page);
    scheduler.start();
    // Well inside one period, however slow the machine: the first pass is immediate.
    const auto until = std::chrono::steady_clock::now() + Scheduler::kBusyPassPeriod / 2;
    while (std::chrono::steady_clock::now() < until) {
        scheduler.wake();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(rows("SELECT count(*) FROM bill_versions WHERE processed = 1"), page);

    busy = false;
    scheduler.wake();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (rows("SELECT count(*) FROM bill_versions WHERE processed = 1") < 3 * page &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(rows("SELECT count(*) FROM bill_versions WHERE processed = 1"), 3 * page);
    scheduler.stop();
}

// Account data for the filter, scripted per account: the queued answers
// first, then the account (country UK) for good.
class ScriptedAccounts final : public m3ter::AccountSource {
public:
    m3ter::AccountLookup account(const std::string& account_id) override {
        ++asked[account_id];
        auto& queued = failures[account_id];
        if (queued > 0) {
            --queued;
            return make_error(std::string(m3ter::kUnavailable), "m3ter answered HTTP 503 for account " + account_id);
        }
        return std::optional<Json>(Json{{"id", account_id}, {"customFields", {{"country", "UK"}}}});
    }

    std::map<std::string, int> failures;  // account -> failures still to answer
    std::map<std::string, int> asked;
};

class SchedulerM3terOutage : public SchedulerConversion {
protected:
    SchedulerM3terOutage() {
        rules_.integrations[0].account_filter = AccountFilter::parse(R"(customFields.country == "UK")").value();
        ExternalMapping other;
        other.id = "cfg-1";
        other.m3ter_entity = MappingEntity::Account;
        other.m3ter_id = "acc-2";
        other.external_table = ExternalTable::Subscription;
        other.external_id = "22222222-2222-4222-8222-222222222222";
        rules_.external_mappings.push_back(other);
        scheduler_ = make_scheduler();
    }

    std::unique_ptr<Scheduler> make_scheduler() {
        return std::make_unique<Scheduler>(Scheduler::Deps{rules_, scheduler_config_, kRetentionDays, *store_, clock_, transport_, tokens_, &accounts_,
                                                           azure::MeteringClientOptions{}, {}});
    }

    store::BillVersionRecord version_of(const std::string& bill_id) { return store_->bill_versions(bill_id)->back(); }

    ScriptedAccounts accounts_;
};

// Issue 14: one 503 while resolving the account made the version "processed"
// with the integration skipped (AccountUnresolved): none of its units was sent.
TEST_F(SchedulerM3terOutage, AVersionWaitsWhileM3terFailsAndTheOthersOfThePageGoOn) {
    accounts_.failures["acc-1"] = 2;
    std::vector<store::Delivery> deliveries = {delivery_of(0, "4.56", "acc-1"), delivery_of(1, "0.05", "acc-2")};
    for (const auto& result : store_->record_deliveries(deliveries)) ASSERT_TRUE(result.ok());

    EXPECT_EQ(scheduler_->tick().versions_processed, 1);  // bill-1 goes on
    store::BillVersionRecord waiting = version_of("bill-0");
    EXPECT_FALSE(waiting.processed);
    EXPECT_EQ(waiting.retry_attempts, 1);
    ASSERT_TRUE(waiting.retry_at.has_value());
    EXPECT_GT(*waiting.retry_at, clock_.now());
    EXPECT_LE(*waiting.retry_at, clock_.now() + std::chrono::seconds(2));
    EXPECT_NE(waiting.retry_reason.find("503"), std::string::npos) << waiting.retry_reason;
    EXPECT_EQ(rows("SELECT count(*) FROM integration_runs WHERE bill_id = 'bill-0'"), 0) << "no run, no old targets";
    EXPECT_EQ(rows("SELECT count(*) FROM pending_units WHERE bill_id = 'bill-0'"), 0);
    EXPECT_EQ(rows("SELECT sum(units) FROM pending_units WHERE bill_id = 'bill-1'"), 5);
    EXPECT_EQ(store_->metrics()->versions_waiting_on_m3ter, 1);

    // Not due yet: m3ter is not asked again.
    EXPECT_EQ(scheduler_->tick().versions_processed, 0);
    EXPECT_EQ(accounts_.asked["acc-1"], 1);

    // Due: asked, fails again; the next wait is longer.
    clock_.set(*waiting.retry_at);
    EXPECT_EQ(scheduler_->tick().versions_processed, 0);
    EXPECT_EQ(accounts_.asked["acc-1"], 2);
    waiting = version_of("bill-0");
    EXPECT_EQ(waiting.retry_attempts, 2);
    ASSERT_TRUE(waiting.retry_at.has_value());
    EXPECT_GE(*waiting.retry_at, clock_.now() + std::chrono::seconds(2));
    EXPECT_LE(*waiting.retry_at, clock_.now() + std::chrono::seconds(4));

    // m3ter answers: converted with the account, every unit queued.
    clock_.set(*waiting.retry_at);
    EXPECT_EQ(scheduler_->tick().versions_processed, 1);
    const store::BillVersionRecord done = version_of("bill-0");
    EXPECT_TRUE(done.processed);
    EXPECT_EQ(done.retry_attempts, 0);
    EXPECT_FALSE(done.retry_at.has_value());
    EXPECT_EQ(rows("SELECT sum(units) FROM pending_units WHERE bill_id = 'bill-0'"), 456);
    EXPECT_EQ(store_->metrics()->versions_waiting_on_m3ter, 0);
}

TEST_F(SchedulerM3terOutage, TheBackoffSurvivesARestartAndIsCapped) {
    accounts_.failures["acc-1"] = 100;
    record(0, 1);
    Duration wait{};
    for (int attempt = 1; attempt <= 12; ++attempt) {
        scheduler_->tick();
        const auto waiting = version_of("bill-0");
        ASSERT_EQ(waiting.retry_attempts, attempt);
        ASSERT_TRUE(waiting.retry_at.has_value());
        wait = *waiting.retry_at - clock_.now();
        EXPECT_LE(wait, std::chrono::minutes(10)) << "attempt " << attempt;
        clock_.set(*waiting.retry_at);
    }
    EXPECT_GE(wait, std::chrono::minutes(5)) << "the wait grew to the cap (half of it fixed, half jitter)";
    EXPECT_EQ(accounts_.asked["acc-1"], 12);

    // A restart: the wait is read back from the database, not started afresh.
    const auto waiting = version_of("bill-0");
    clock_.set(*waiting.retry_at - std::chrono::seconds(1));
    scheduler_.reset();
    store_.reset();  // the database's lock is released before it is opened again
    store_ = store::open_sqlite_store(path());
    scheduler_ = make_scheduler();
    EXPECT_EQ(scheduler_->tick().versions_processed, 0);
    EXPECT_EQ(accounts_.asked["acc-1"], 12) << "not due yet after the restart";
    accounts_.failures["acc-1"] = 0;
    clock_.set(*waiting.retry_at);
    EXPECT_EQ(scheduler_->tick().versions_processed, 1);
}

TEST_F(SchedulerM3terOutage, AnAccountNobodyKnowsFailsTheFilterAndTheVersionIsProcessed) {
    class Unknown final : public m3ter::AccountSource {
    public:
        m3ter::AccountLookup account(const std::string&) override { return std::optional<Json>(); }
    } unknown;
    Scheduler scheduler(Scheduler::Deps{rules_, scheduler_config_, kRetentionDays, *store_, clock_, transport_, tokens_, &unknown,
                                        azure::MeteringClientOptions{}, {}});
    record(0, 1);
    EXPECT_EQ(scheduler.tick().versions_processed, 1);
    EXPECT_TRUE(version_of("bill-0").processed);
    EXPECT_EQ(rows("SELECT count(*) FROM pending_units"), 0);
}

TEST_F(SchedulerM3terOutage, AReprocessIsDueAtOnceEvenWhileWaiting) {
    accounts_.failures["acc-1"] = 1;
    record(0, 1);
    scheduler_->tick();
    ASSERT_TRUE(version_of("bill-0").retry_at.has_value());
    ASSERT_TRUE(store_->reprocess_bill("bill-0").ok());
    EXPECT_EQ(scheduler_->tick().versions_processed, 1);
}

}  // namespace
}  // namespace meterbridge::app

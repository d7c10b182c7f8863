// The scheduler's conversion of stored bill versions (issue 6): a backlog is
// converted a page at a time, each page in one store transaction, and a
// version the store cannot apply stays pending without holding up the others.
// Hour-close slotting keeps every event in the future, so nothing is sent:
// the transport only has to exist.
#include "scheduler.hpp"

#include <gtest/gtest.h>

#include <string>
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

store::Delivery delivery_of(int n, const std::string& subtotal) {
    const std::string id = "bill-" + std::to_string(n);
    const std::string text = R"({"id":")" + id +
                             R"(","version":1,"accountId":"acc-1","status":"APPROVED","currency":"USD","lineItems":[)"
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
        config_.scheduler.policy = SchedulerPolicy::HourClose;
        config_.scheduler.flush_delay_s = 60;
        IntegrationConfig integration;
        integration.id = "int-1";
        integration.name = "Azure";
        integration.plan_id = "gold";
        config_.integrations.push_back(integration);
        ExternalMapping account;
        account.id = "cfg-0";
        account.m3ter_entity = MappingEntity::Account;
        account.m3ter_id = "acc-1";
        account.external_table = ExternalTable::Subscription;
        account.external_id = "5ab1e000-0000-4000-8000-000000000001";  // a GUID, as conversion requires
        config_.external_mappings.push_back(account);
        store_ = store::open_sqlite_store(path());
        scheduler_ = std::make_unique<Scheduler>(
            Scheduler::Deps{config_, *store_, clock_, transport_, tokens_, nullptr, azure::MeteringClientOptions{}, {}});
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
    Config config_;
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
    Scheduler scheduler(Scheduler::Deps{config_, *store_, clock_, transport_, tokens_, nullptr,
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

}  // namespace
}  // namespace meterbridge::app

// Store::record_deliveries (group commit, issue 6): many deliveries in one
// transaction, one result each, in order; one failing delivery undone alone;
// a failed transaction fails them all and keeps nothing. And the scheduler's
// side: pending versions in pages, a page's conversions in one transaction.
#include "meterbridge/store/store.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "sqlite_store.hpp"
#include "support/store_test_support.hpp"

namespace meterbridge {
namespace {

using store::DeliveryResult;
using testing::at;

store::Delivery bill_delivery(const std::string& id, int version, const std::string& remote = "127.0.0.1") {
    store::Delivery d;
    d.body = R"({"id":")" + id + R"(","version":)" + std::to_string(version) + "}";
    d.remote_addr = remote;
    d.received_at = at("2026-01-01T10:00:00Z");
    d.kind = BillEventKind::Updated;
    Bill bill;
    bill.id = id;
    bill.version = version;
    bill.account_id = "acc-1";
    bill.currency = "USD";
    d.bill = bill;
    d.bill_json = R"({"id":")" + id + R"(","version":)" + std::to_string(version) + "}";
    return d;
}

std::int64_t count_rows(const std::string& path, const char* table_query) {
    store::sqlite::Database db = store::sqlite::Database::open(path, true);
    return db.query_int(table_query).value_or(-1);
}

// Makes every insert into `table` of a row for bill 'poison' fail.
void poison(const std::string& path, const std::string& table) {
    store::sqlite::Database side = store::sqlite::Database::open(path);
    const std::string trigger = "CREATE TRIGGER poison BEFORE INSERT ON " + table +
                                " WHEN NEW.bill_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END";
    side.exec(trigger.c_str());
}

TEST(StoreBatch, OneResultPerDeliveryInOrderAndLaterOnesSeeEarlierOnes) {
    testing::TempDir dir;
    const std::string path = dir.file("batch.db");
    auto store = store::open_sqlite_store(path);
    const std::vector<store::Delivery> batch = {bill_delivery("b-1", 1), bill_delivery("b-2", 1),
                                                bill_delivery("b-1", 1), bill_delivery("b-1", 3),
                                                bill_delivery("b-1", 2)};
    const auto results = store->record_deliveries(batch);
    ASSERT_EQ(results.size(), batch.size());
    std::vector<DeliveryResult> kinds;
    for (const auto& result : results) {
        ASSERT_TRUE(result.ok()) << result.error().message;
        kinds.push_back(result->result);
    }
    EXPECT_EQ(kinds, (std::vector<DeliveryResult>{DeliveryResult::New, DeliveryResult::New, DeliveryResult::Repeat,
                                                  DeliveryResult::New, DeliveryResult::Older}));
    EXPECT_LT(results[0]->delivery_id, results[1]->delivery_id);
    EXPECT_EQ(results[2]->bill_version_id, results[0]->bill_version_id);
    // Committed: another connection sees every delivery.
    EXPECT_EQ(count_rows(path, "SELECT count(*) FROM deliveries"), 5);
    const auto pending = store->pending_bill_versions();
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending->size(), 2u);  // b-1 v3 and b-2 v1
}

TEST(StoreBatch, AFailingDeliveryIsUndoneAloneAndTheOthersAreKept) {
    testing::TempDir dir;
    const std::string path = dir.file("poison.db");
    auto store = store::open_sqlite_store(path);
    poison(path, "bill_versions");
    const std::vector<store::Delivery> batch = {bill_delivery("b-1", 1), bill_delivery("poison", 1),
                                                bill_delivery("b-2", 1)};
    const auto results = store->record_deliveries(batch);
    ASSERT_EQ(results.size(), 3u);
    EXPECT_TRUE(results[0].ok());
    ASSERT_FALSE(results[1].ok());
    EXPECT_EQ(results[1].error().code, store::kStorageError);
    EXPECT_TRUE(results[2].ok());
    // The poisoned delivery left no row at all, not even in deliveries.
    EXPECT_EQ(count_rows(path, "SELECT count(*) FROM deliveries"), 2);
    EXPECT_EQ(count_rows(path, "SELECT count(*) FROM bills WHERE id = 'poison'"), 0);
}

// A failure makes the store roll back the batch and run it again with a
// savepoint per delivery: the results must be those of the second run, where
// the repeat still finds the version that the first delivery added.
TEST(StoreBatch, AfterAFailureTheOthersAreRecordedAsIfTheFailingOneHadNeverCome) {
    testing::TempDir dir;
    const std::string path = dir.file("retry.db");
    auto store = store::open_sqlite_store(path);
    poison(path, "deliveries");
    const std::vector<store::Delivery> batch = {bill_delivery("b-1", 1), bill_delivery("b-1", 2),
                                                bill_delivery("poison", 1), bill_delivery("b-1", 2),
                                                bill_delivery("b-1", 1)};
    const auto results = store->record_deliveries(batch);
    ASSERT_EQ(results.size(), 5u);
    ASSERT_FALSE(results[2].ok());
    std::vector<DeliveryResult> kinds;
    for (std::size_t i : {0u, 1u, 3u, 4u}) {
        ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].error().message;
        kinds.push_back(results[i]->result);
    }
    EXPECT_EQ(kinds, (std::vector<DeliveryResult>{DeliveryResult::New, DeliveryResult::New, DeliveryResult::Repeat,
                                                  DeliveryResult::Repeat}));
    EXPECT_EQ(results[3]->bill_version_id, results[1]->bill_version_id);
    EXPECT_EQ(results[4]->bill_version_id, results[0]->bill_version_id);
    // Delivery ids are those of the rows kept: consecutive, none left to the undone attempt.
    EXPECT_EQ(count_rows(path, "SELECT count(*) FROM deliveries"), 4);
    EXPECT_EQ(count_rows(path, "SELECT max(id) FROM deliveries"), results[4]->delivery_id);
    EXPECT_EQ(count_rows(path, "SELECT count(*) FROM bill_versions"), 2);
}

TEST(StoreBatch, AFailedTransactionFailsEveryDeliveryAndKeepsNothing) {
    testing::TempDir dir;
    const std::string path = dir.file("busy.db");
    store::StoreOptions options;
    options.busy_timeout = std::chrono::milliseconds(20);
    auto store = store::open_sqlite_store(path, options);
    store::sqlite::Database other = store::sqlite::Database::open(path);
    {
        // Another writer holds the write lock: BEGIN IMMEDIATE fails after the busy timeout.
        store::sqlite::Transaction blocker(other, store::sqlite::Transaction::Mode::Immediate);
        const std::vector<store::Delivery> batch = {bill_delivery("b-1", 1), bill_delivery("b-2", 1)};
        const auto results = store->record_deliveries(batch);
        ASSERT_EQ(results.size(), 2u);
        for (const auto& result : results) {
            ASSERT_FALSE(result.ok());
            EXPECT_EQ(result.error().code, store::kStorageError);
        }
    }
    EXPECT_EQ(count_rows(path, "SELECT count(*) FROM deliveries"), 0);
    // The store is usable again once the lock is gone.
    const std::vector<store::Delivery> again = {bill_delivery("b-1", 1)};
    EXPECT_TRUE(store->record_deliveries(again).front().ok());
}

TEST(StoreBatch, PendingVersionsComeInPagesOldestFirst) {
    auto store = store::open_sqlite_store(":memory:");
    std::vector<store::Delivery> batch;
    for (int i = 0; i < 5; ++i) batch.push_back(bill_delivery("b-" + std::to_string(i), 1));
    batch.push_back(bill_delivery("b-0", 2));  // b-0's current version is now the last one stored
    for (const auto& result : store->record_deliveries(batch)) ASSERT_TRUE(result.ok());

    std::vector<std::string> seen;
    std::int64_t after = 0;
    int pages = 0;
    while (true) {
        const auto page = store->pending_bill_versions(after, 2);
        ASSERT_TRUE(page.ok());
        if (page->empty()) break;
        EXPECT_LE(page->size(), 2u);
        for (const auto& version : *page) {
            EXPECT_GT(version.id, after);
            seen.push_back(version.bill_id + " v" + std::to_string(version.version));
        }
        after = page->back().id;
        ++pages;
    }
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(seen, (std::vector<std::string>{"b-1 v1", "b-2 v1", "b-3 v1", "b-4 v1", "b-0 v2"}));
    EXPECT_EQ(store->pending_bill_versions()->size(), 5u);  // unpaged: all of them
}

// A page of converted versions: each recalculated, its run recorded, marked
// processed; a version whose writes fail is undone alone and stays pending.
TEST(StoreBatch, AFailingConversionIsUndoneAloneAndTheOthersAreProcessed) {
    testing::TempDir dir;
    const std::string path = dir.file("conversions.db");
    auto store = store::open_sqlite_store(path);
    const std::vector<store::Delivery> batch = {bill_delivery("b-1", 1), bill_delivery("b-2", 1),
                                                bill_delivery("b-3", 1)};
    for (const auto& result : store->record_deliveries(batch)) ASSERT_TRUE(result.ok());
    const auto pending = store->pending_bill_versions();
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending->size(), 3u);

    const Instant now = at("2026-01-01T10:05:00Z");
    std::vector<store::Store::ConvertedVersion> converted;
    for (const auto& version : *pending) {
        store::Store::ConvertedRun done;
        done.run.bill_version_id = version.id;
        done.run.integration_id = "int-1";
        done.run.config_snapshot = "{}";
        done.run.started_at = now;
        done.run.finished_at = now;
        done.run.targets = {UsageTarget{"int-1", version.bill_id, "sub-1", "gold", "dim", 7, Decimal::from_integer(7)}};
        done.recalculate = true;
        converted.push_back(store::Store::ConvertedVersion{version.id, version.bill_id, {done}});
    }
    SlotPolicy policy;
    // The planner-taking overload: a plan that throws for one version.
    const auto statuses = static_cast<store::SqliteStore&>(*store).apply_conversions(
        converted, now, [&](const store::IntegrationRunRecord& run, std::span<const KeyBalance> balances) {
            // A plan that does not match the rows makes the store throw for b-2 only.
            if (run.targets.front().bill_id == "b-2") throw std::logic_error("plan does not match the rows");
            return plan_recalculation(balances, run.targets, now, policy);
        });
    ASSERT_EQ(statuses.size(), 3u);
    EXPECT_TRUE(statuses[0].ok());
    ASSERT_FALSE(statuses[1].ok());
    EXPECT_EQ(statuses[1].error().code, store::kStorageError);
    EXPECT_TRUE(statuses[2].ok());

    // Committed, as another connection sees it: b-1 and b-3 done, b-2 untouched.
    EXPECT_EQ(count_rows(path, "SELECT count(*) FROM integration_runs"), 2);
    EXPECT_EQ(count_rows(path, "SELECT count(*) FROM integration_runs WHERE bill_id = 'b-2'"), 0);
    EXPECT_EQ(count_rows(path, "SELECT coalesce(sum(units), 0) FROM pending_units"), 14);
    const auto left = store->pending_bill_versions();
    ASSERT_TRUE(left.ok());
    ASSERT_EQ(left->size(), 1u);
    EXPECT_EQ(left->front().bill_id, "b-2");
}

}  // namespace
}  // namespace meterbridge

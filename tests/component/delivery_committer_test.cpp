// The group-commit queue (issue 6) over a SQLite store in a temporary file:
// deliveries queued while a commit runs share the next transaction, every
// `done` runs exactly once and only after its delivery is durable, answers
// do not hold up commits, and a failed transaction answers an error for
// every delivery in it.
#include "intake/delivery_committer.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "support/bill_delivery.hpp"

#include "support/temp_dir.hpp"

namespace meterbridge::app {
namespace {

// A database file in a fresh temporary directory.
class TempFile {
public:
    std::string path() const { return dir_.file("committer.db"); }

private:
    testing::TempDir dir_;
};

// A plain connection of the test's own, beside the store's.
class Connection {
public:
    explicit Connection(const std::string& path) {
        sqlite3_open(path.c_str(), &db_);
        sqlite3_busy_timeout(db_, 5000);
    }
    ~Connection() { sqlite3_close(db_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }
    std::int64_t count(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
        const std::int64_t value = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
        sqlite3_finalize(st);
        return value;
    }

private:
    sqlite3* db_ = nullptr;
};

using testing::bill_delivery;

// An IntakeStore that tells when a group commit has begun, then records
// through the real store (which then waits for the database lock).
class SignallingIntake final : public store::IntakeStore {
public:
    explicit SignallingIntake(store::IntakeStore& inner) : inner_(inner) {}
    Result<store::DeliveryReceipt> record_delivery(const store::Delivery& delivery) override {
        return inner_.record_delivery(delivery);
    }
    std::vector<Result<store::DeliveryReceipt>> record_deliveries(std::span<const store::Delivery> deliveries) override {
        if (!begun_.exchange(true)) first_.set_value();
        return inner_.record_deliveries(deliveries);
    }
    std::future<void> first_commit() { return first_.get_future(); }

private:
    store::IntakeStore& inner_;
    std::atomic<bool> begun_{false};
    std::promise<void> first_;
};

TEST(DeliveryCommitter, DeliveriesQueuedDuringACommitShareTheNextTransaction) {
    TempFile file;
    auto store = store::open_sqlite_store(file.path());
    SignallingIntake intake(*store);
    auto first_commit = intake.first_commit();
    DeliveryCommitter committer(intake);
    Connection other(file.path());
    ASSERT_TRUE(other.exec("BEGIN IMMEDIATE"));  // the commit thread will wait for this lock

    constexpr int kCount = 40;
    std::atomic<int> answered{0};
    std::promise<void> all;
    const auto done = [&](const store::Delivery&, Result<store::DeliveryReceipt> receipt) {
        EXPECT_TRUE(receipt.ok()) << (receipt.ok() ? "" : receipt.error().message);
        if (++answered == kCount) all.set_value();
    };
    committer.submit(bill_delivery(0), done);
    // The first transaction, with that delivery alone, is now waiting for the lock.
    ASSERT_EQ(first_commit.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    std::vector<std::thread> senders;
    for (int t = 0; t < 3; ++t) {
        senders.emplace_back([&, t] {
            for (int i = 1 + t; i < kCount; i += 3) committer.submit(bill_delivery(i), done);
        });
    }
    for (auto& sender : senders) sender.join();
    EXPECT_EQ(answered.load(), 0);  // nothing is answered while nothing is durable
    EXPECT_TRUE(committer.busy());  // what the scheduler asks before taking the writer
    ASSERT_TRUE(other.exec("ROLLBACK"));
    ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    // Busy until the last answer has been handed over, then idle.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (committer.busy() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    EXPECT_FALSE(committer.busy());

    const auto stats = committer.stats();
    EXPECT_EQ(stats.deliveries, static_cast<std::uint64_t>(kCount));
    EXPECT_LE(stats.batches, 2u);  // the first delivery alone (or with all), then everything queued behind it
    EXPECT_GE(stats.largest_batch, static_cast<std::size_t>(kCount - 1));
    EXPECT_EQ(other.count("SELECT count(*) FROM deliveries"), kCount);
}

TEST(DeliveryCommitter, EveryDoneRunsExactlyOnceAfterItsDeliveryIsDurable) {
    TempFile file;
    auto store = store::open_sqlite_store(file.path());
    DeliveryCommitter committer(*store);
    Connection reader(file.path());
    std::mutex mutex;
    std::map<std::int64_t, int> calls;  // delivery id -> times answered
    int not_durable = 0;
    constexpr int kThreads = 8;
    constexpr int kEach = 60;
    std::vector<std::thread> senders;
    for (int t = 0; t < kThreads; ++t) {
        senders.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                std::promise<void> answered;
                committer.submit(bill_delivery(t * kEach + i),
                                 [&](const store::Delivery&, Result<store::DeliveryReceipt> receipt) {
                                     if (!receipt.ok()) {
                                         ADD_FAILURE() << receipt.error().message;
                                         answered.set_value();
                                         return;
                                     }
                                     // Another connection sees the row already: it was committed.
                                     const auto seen = reader.count("SELECT count(*) FROM deliveries WHERE id = " +
                                                                    std::to_string(receipt->delivery_id));
                                     std::lock_guard lock(mutex);
                                     if (seen != 1) ++not_durable;
                                     ++calls[receipt->delivery_id];
                                     answered.set_value();
                                 });
                answered.get_future().wait();  // like a keep-alive client: one request at a time
            }
        });
    }
    for (auto& sender : senders) sender.join();
    committer.stop();
    EXPECT_EQ(not_durable, 0);
    ASSERT_EQ(calls.size(), static_cast<std::size_t>(kThreads * kEach));
    for (const auto& [id, count] : calls) EXPECT_EQ(count, 1) << "delivery " << id;
    const auto stats = committer.stats();
    EXPECT_EQ(stats.deliveries, static_cast<std::uint64_t>(kThreads * kEach));
    EXPECT_LT(stats.batches, stats.deliveries);  // concurrent senders shared transactions
}

// Answering runs on its own thread: a slow answer does not hold up the next
// commit, and answers still come in commit order.
TEST(DeliveryCommitter, ASlowAnswerDoesNotHoldUpTheNextCommit) {
    TempFile file;
    auto store = store::open_sqlite_store(file.path());
    DeliveryCommitter committer(*store);
    Connection reader(file.path());
    std::promise<void> first_answering;
    std::promise<void> release_first;
    std::shared_future<void> released = release_first.get_future().share();
    std::mutex mutex;
    std::vector<std::string> order;
    committer.submit(bill_delivery(1), [&](const store::Delivery& d, Result<store::DeliveryReceipt> receipt) {
        EXPECT_TRUE(receipt.ok());
        first_answering.set_value();
        released.wait();
        std::lock_guard lock(mutex);
        order.push_back(d.bill->id);
    });
    ASSERT_EQ(first_answering.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    committer.submit(bill_delivery(2), [&](const store::Delivery& d, Result<store::DeliveryReceipt> receipt) {
        EXPECT_TRUE(receipt.ok());
        std::lock_guard lock(mutex);
        order.push_back(d.bill->id);
    });
    // The second delivery is committed while the first answer is still running.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reader.count("SELECT count(*) FROM deliveries") < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(reader.count("SELECT count(*) FROM deliveries"), 2);
    EXPECT_TRUE(committer.busy());
    release_first.set_value();
    committer.stop();  // waits for both answers
    EXPECT_EQ(order, (std::vector<std::string>{"b-1", "b-2"}));
    EXPECT_FALSE(committer.busy());
}

TEST(DeliveryCommitter, AFailedTransactionAnswersAnErrorForEveryDeliveryInIt) {
    TempFile file;
    store::StoreOptions options;
    options.busy_timeout = std::chrono::milliseconds(100);
    auto store = store::open_sqlite_store(file.path(), options);
    DeliveryCommitter committer(*store);
    Connection other(file.path());
    ASSERT_TRUE(other.exec("BEGIN IMMEDIATE"));  // held past the store's busy timeout
    constexpr int kCount = 10;
    std::atomic<int> failed{0};
    std::atomic<int> succeeded{0};
    for (int i = 0; i < kCount; ++i) {
        committer.submit(bill_delivery(i), [&](const store::Delivery&, Result<store::DeliveryReceipt> receipt) {
            if (receipt.ok()) {
                ++succeeded;
            } else {
                EXPECT_EQ(receipt.error().code, store::kStorageError);
                ++failed;
            }
        });
    }
    committer.stop();  // answers everything queued
    ASSERT_TRUE(other.exec("ROLLBACK"));
    EXPECT_EQ(failed.load(), kCount);
    EXPECT_EQ(succeeded.load(), 0);
    EXPECT_EQ(other.count("SELECT count(*) FROM deliveries"), 0);
}

TEST(DeliveryCommitter, AfterStopASubmitIsAnsweredAtOnceWithAnError) {
    auto store = store::open_sqlite_store(":memory:");
    DeliveryCommitter committer(*store);
    committer.stop();
    committer.stop();  // idempotent
    std::optional<Error> error;
    committer.submit(bill_delivery(1), [&](const store::Delivery& delivery, Result<store::DeliveryReceipt> receipt) {
        EXPECT_EQ(delivery.bill->id, "b-1");
        if (!receipt) error = receipt.error();
    });
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->code, "storage_unavailable");
}

}  // namespace
}  // namespace meterbridge::app

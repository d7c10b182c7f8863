#pragma once
// The SQLite implementation of Store. One writer connection, guarded by a
// mutex, for every write (BEGIN IMMEDIATE); for a file database a second,
// read-only connection serves the ops queries (BEGIN DEFERRED: a consistent
// snapshot while the writer goes on, thanks to WAL), and a third one runs
// the WAL checkpoints in the background (checkpointer.hpp). An in-memory
// database has only the writer connection, which then also serves reads.
//
// The operations are spread over one file per area (deliveries.cpp,
// mappings.cpp, ledger.cpp, runs.cpp, exchanges.cpp, queries.cpp,
// reconciliations.cpp, settlements.cpp); this file
// declares them and the transaction helpers they share.
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <functional>
#include <set>
#include <span>

#include "checkpointer.hpp"
#include "fair_mutex.hpp"
#include "file_lock.hpp"
#include "meterbridge/store/store.hpp"
#include "sqlite.hpp"

namespace meterbridge::store {

// Error{"storage_error"} for an exception thrown inside a transaction.
Error storage_error(const std::exception& failure);
// One row of the exchange log (and its links), inside the caller's transaction.
std::int64_t insert_exchange(sqlite::Database& db, const ExchangeRecord& exchange, const ExchangeLinks& links);

// Planners, as the core's functions are called by the store. Tests give
// SqliteStore other ones (a plan that does not match the rows, a spy on the
// balances) through the planner-taking overloads below; the daemon never does.
using RecalculationFn = std::function<RecalculationPlan(std::span<const KeyBalance> balances)>;
using SlottingFn =
    std::function<std::vector<PlannedEvent>(std::span<const PendingUnits> pending, const std::set<SlotKey>& occupied)>;
using ConversionPlanFn =
    std::function<RecalculationPlan(const IntegrationRunRecord& run, std::span<const KeyBalance> balances)>;

// Bodies of single operations that apply_conversions also runs, inside the
// caller's write transaction (they throw on a storage failure).
RecalculationPlan recalculate_in(sqlite::Database& db, const std::string& integration_id, const std::string& bill_id,
                                 Instant now, const RecalculationFn& fn);
Result<std::int64_t> insert_integration_run(sqlite::Database& db, const IntegrationRunRecord& run);
Status mark_processed_in(sqlite::Database& db, std::int64_t version_id, Instant now);

class SqliteStore final : public Store {
public:
    SqliteStore(const std::string& path, const StoreOptions& options);

    Result<DeliveryReceipt> record_delivery(const Delivery& delivery) override;
    std::vector<Result<DeliveryReceipt>> record_deliveries(std::span<const Delivery> deliveries) override;
    using LedgerStore::pending_bill_versions;
    Result<std::vector<BillVersionRecord>> pending_bill_versions(std::int64_t after_id, std::size_t limit,
                                                                 std::optional<Instant> due_at) override;
    Result<BillVersionRecord> bill_version(std::int64_t version_id) override;
    Result<std::vector<BillVersionRecord>> bill_versions(const std::string& bill_id) override;
    Status mark_processed(std::int64_t version_id, Instant now) override;
    Status defer_bill_version(std::int64_t version_id, Instant retry_at, const std::string& reason) override;
    Result<BillVersionRecord> reprocess_bill(const std::string& bill_id) override;
    Result<DeliveryRecord> delivery(std::int64_t delivery_id) override;

    Result<std::vector<ExternalMapping>> list_mappings() override;
    Result<std::string> add_mapping(const ExternalMapping& mapping) override;
    Status delete_mapping(const std::string& id) override;

    Result<RecalculationPlan> recalculate(const std::string& integration_id, const std::string& bill_id,
                                          std::span<const UsageTarget> targets, Instant now,
                                          const SlotPolicy& policy) override;
    Result<RecalculationPlan> recalculate(const std::string& integration_id, const std::string& bill_id, Instant now,
                                          const RecalculationFn& fn);
    Result<std::int64_t> record_integration_run(const IntegrationRunRecord& run) override;

    std::vector<Status> apply_conversions(std::span<const ConvertedVersion> versions, Instant now,
                                          const SlotPolicy& policy) override;
    std::vector<Status> apply_conversions(std::span<const ConvertedVersion> versions, Instant now,
                                          const ConversionPlanFn& fn);

    Result<std::vector<std::int64_t>> plan_slots(Instant now, const SlotPolicy& policy) override;
    Result<std::vector<std::int64_t>> plan_slots(Instant now, const SlotPolicy& policy, const SlottingFn& fn);

    Result<std::vector<OutboxEvent>> due_events(Instant now, std::size_t limit,
                                                 const std::set<std::int64_t>& in_flight) override;
    using LedgerStore::due_events;
    Result<OutboxEvent> event(std::int64_t event_id) override;
    Result<std::vector<OutboxEvent>> mark_sending(std::span<const std::int64_t> event_ids, Instant now) override;
    Status record_not_sent(std::span<const std::int64_t> event_ids, Instant next_attempt_at) override;
    Status record_unknown(std::span<const std::int64_t> event_ids, Instant next_attempt_at) override;
    Result<CallResult> record_call(const CallRecord& call, Instant now, const SlotPolicy& policy) override;
    Status settle(std::int64_t event_id, const EventDecision& decision, Instant now, const SlotPolicy& policy) override;
    std::vector<Status> settle_all(std::span<const Settlement> settlements, Instant now,
                                   const SlotPolicy& policy) override;
    Result<StaleOutcome> handle_stale(Instant now, const SlotPolicy& policy,
                                      const std::set<std::int64_t>& in_flight) override;
    using LedgerStore::handle_stale;
    Status retry_rejected(std::int64_t event_id, Instant now, const SlotPolicy& policy) override;

    Result<std::int64_t> append_exchange(const ExchangeRecord& exchange, const ExchangeLinks& links) override;
    Result<PruneOutcome> prune(Instant older_than) override;

    Result<ReportedUsagePage> reported_usage(const ReportedUsageQuery& query) override;
    Result<BillDetail> bill_detail(const std::string& bill_id) override;
    Result<std::vector<IntegrationRunRecord>> list_runs(const RunQuery& query) override;
    Result<IntegrationRunDetail> integration_run(std::int64_t run_id) override;
    Result<std::vector<EventDetail>> list_events(const EventQuery& query) override;
    Result<StoreMetrics> metrics() override;
    Result<std::vector<BillSummary>> list_bills(const BillQuery& query) override;
    Result<std::vector<HourUnits>> accepted_units_by_hour(Instant from, Instant to) override;
    Result<std::vector<EventProblem>> recent_event_problems(std::size_t limit) override;
    Status writable() override;

    Result<std::vector<recon::LedgerEvent>> reconciliation_events(Instant from, Instant to) override;
    Result<std::int64_t> create_reconciliation(recon::Day from_day, recon::Day to_day,
                                               const std::vector<std::string>& sources, const std::string& trigger,
                                               Instant now) override;
    Status finish_reconciliation(std::int64_t id, const ReconciliationFinish& finish, Instant now) override;
    Result<ReconciliationRecord> get_reconciliation(std::int64_t id) override;
    Result<std::vector<ReconciliationRecord>> list_reconciliations(const ReconciliationQuery& query) override;
    Result<std::vector<StoredExchange>> reconciliation_exchanges(std::int64_t id) override;
    Result<std::optional<recon::Day>> latest_final_day(const std::string& source) override;
    Result<std::vector<std::int64_t>> fail_interrupted_reconciliations(Instant now) override;
    using ReconciliationStore::settle_unresolved;
    Status settle_unresolved(const EventSettlementRequest& request, Instant now, const SlotPolicy& policy) override;
    Result<std::optional<EventSettlementRecord>> event_settlement(std::int64_t event_id) override;

private:
    // Runs `body(db)` in one IMMEDIATE transaction on the writer connection;
    // commits when it returns a value, rolls back on an Error or exception.
    template <class F>
    auto write(F&& body) -> std::invoke_result_t<F&, sqlite::Database&> {
        std::lock_guard lock(write_mutex_);
        try {
            sqlite::Transaction tx(writer_, sqlite::Transaction::Mode::Immediate);
            auto result = body(writer_);
            if (result.ok()) tx.commit();
            return result;
        } catch (const std::exception& failure) {
            return storage_error(failure);
        }
    }

    enum class Isolation { None, SavepointPerItem };

    // Runs `body(db, item)` for each item in ONE IMMEDIATE transaction and
    // returns one result per item; an item whose body throws or returns an
    // Error is undone alone. If the transaction itself fails, every result is
    // a storage_error and nothing was committed.
    //
    // The items first run without a savepoint each: a savepoint copies every
    // page its item changes that an earlier item of the transaction had
    // already changed (about six pages, 22 us per webhook delivery; issue 6).
    // If an item fails, that attempt is rolled back whole and the items run
    // again, each under its own savepoint. The bodies only touch the
    // database, so running them twice is safe.
    //
    // `prologue(db)` runs first in the same transaction and `epilogue(db)`
    // last, under no savepoint: if either throws, nothing is committed and
    // every result is a storage_error. `*committed` (if given) tells whether
    // the transaction was committed.
    template <class Item, class F, class P = void (*)(sqlite::Database&), class E = void (*)(sqlite::Database&)>
    auto write_each(std::span<const Item> items, F&& body, P&& prologue = [](sqlite::Database&) {},
                    bool* committed = nullptr, E&& epilogue = [](sqlite::Database&) {})
        -> std::vector<std::invoke_result_t<F&, sqlite::Database&, const Item&>> {
        std::lock_guard lock(write_mutex_);
        bool done = false;
        auto results = write_each_attempt(items, body, prologue, epilogue, Isolation::None, done);
        if (!results) results = write_each_attempt(items, body, prologue, epilogue, Isolation::SavepointPerItem, done);
        if (committed != nullptr) *committed = done;
        return std::move(*results);
    }

    // One attempt of write_each, under write_mutex_. nullopt: an item failed
    // without a savepoint of its own, and the whole attempt was rolled back.
    template <class Item, class F, class P, class E>
    auto write_each_attempt(std::span<const Item> items, F& body, P& prologue, E& epilogue, Isolation isolation,
                            bool& committed)
        -> std::optional<std::vector<std::invoke_result_t<F&, sqlite::Database&, const Item&>>> {
        using R = std::invoke_result_t<F&, sqlite::Database&, const Item&>;
        const bool savepoints = isolation == Isolation::SavepointPerItem;
        std::vector<R> results;
        results.reserve(items.size());
        try {
            sqlite::Transaction tx(writer_, sqlite::Transaction::Mode::Immediate);
            prologue(writer_);
            for (const Item& item : items) {
                // If SQLite rolled back the whole transaction (I/O error, full
                // disk), ROLLBACK TO throws and the outer handler fails them all.
                if (savepoints) writer_.run("SAVEPOINT item");
                bool undo = false;
                try {
                    results.push_back(body(writer_, item));
                    undo = !results.back().ok();
                } catch (const std::exception& failure) {
                    // A storage failure, or a plan that does not match the
                    // rows (ledger_sql.hpp): this item alone is undone.
                    results.push_back(storage_error(failure));
                    undo = true;
                }
                if (!savepoints) {
                    if (undo) return std::nullopt;  // tx rolls back
                    continue;
                }
                if (undo) writer_.run("ROLLBACK TO item");
                writer_.run("RELEASE item");
            }
            epilogue(writer_);
            tx.commit();
            committed = true;
        } catch (const std::exception& failure) {
            results.assign(items.size(), R(storage_error(failure)));
        }
        return results;
    }

    // Runs `body(db)` in one DEFERRED (snapshot) transaction on the read connection.
    template <class F>
    auto read(F&& body) -> std::invoke_result_t<F&, sqlite::Database&> {
        std::unique_lock lock(reader_ ? read_mutex_ : write_mutex_);
        sqlite::Database& db = reader_ ? *reader_ : writer_;
        try {
            sqlite::Transaction tx(db, sqlite::Transaction::Mode::Deferred);
            auto result = body(db);
            tx.commit();
            return result;
        } catch (const std::exception& failure) {
            return storage_error(failure);
        }
    }

    std::unique_ptr<FileLock> lock_;  // taken before the database is touched; released last
    sqlite::Database writer_;
    std::optional<sqlite::Database> reader_;
    std::unique_ptr<Checkpointer> checkpointer_;  // file databases only; stopped before the writer closes
    FairMutex write_mutex_;  // FIFO: see fair_mutex.hpp
    FairMutex read_mutex_;
};

}  // namespace meterbridge::store

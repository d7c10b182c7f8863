#pragma once
// The daemon's storage (SPEC §6), behind an interface of its own so that a
// PostgreSQL backend can be added without touching the core or the HTTP layer.
//
// Contracts shared by every operation:
// - Each operation is one transaction; when it returns, what it changed is
//   durably committed (SQLite: WAL, synchronous=FULL). Callers tell the
//   outside world (answer a webhook, send to Azure) only after that.
// - Expected failures come back as Result errors with the codes of
//   records.hpp (not_found, duplicate_mapping, invalid_state, invalid_field);
//   a storage failure is Error{"storage_error"} and nothing was committed.
// - Thread-safe: writes are serialised; reads may run beside them.
// - The callbacks of recalculate/plan_slots run inside the write transaction,
//   under the store's lock: they must be pure (the core's planners) and must
//   not call back into the store.
//
// The interfaces are narrow, one per use case, so that a second backend can
// implement them piece by piece and each user takes only what it needs:
// IntakeStore (the webhook intake), LedgerStore (the scheduler: conversion,
// slots, sending, settling), OpsQueries (read-only views for the ops API and
// metrics), OpsStore (those views plus the operator's actions) and
// ReconciliationStore (SPEC §8: our side of a reconciliation, its runs, and
// settling unresolved events from evidence). Store is their union, for the
// daemon's wiring and the tests.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "meterbridge/core/dispatch.hpp"
#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/integration.hpp"
#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/outbox.hpp"
#include "meterbridge/core/recon.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/slotting.hpp"
#include "meterbridge/store/records.hpp"

namespace meterbridge::store {

// One style between the pipeline and the store (issue 15): the store loads
// and persists, the pure core decides. Where a decision sits inside a write
// transaction (delivery classification, recalculation, slotting, the
// reconciliation of returned units, stale events), the store calls the core
// function itself, with the policy passed as data, so that load, decide and
// write are one transaction and no caller's code runs under the writer lock.

// ---- webhook deliveries (SPEC §4 "Durability first")
class IntakeStore {
public:
    virtual ~IntakeStore() = default;

    // Stores the delivery and, for a valid one with a bill, the bill version;
    // New / Repeat / Older as the core's classify_delivery decides, or
    // Invalid / Ignored (records.hpp).
    virtual Result<DeliveryReceipt> record_delivery(const Delivery& delivery) = 0;
    // Group commit: records each delivery as record_delivery would, in order
    // (a later one sees the earlier ones: the same bill twice gives New then
    // Repeat), and returns one result per delivery, in order. The SQLite store
    // does it in ONE transaction, so concurrent deliveries share one fsync.
    // A delivery whose own writes fail gets an error and leaves no trace; the
    // others are kept. If the commit itself fails, every result is a
    // storage_error and nothing was committed. Every receipt returned is durable.
    // This default commits one transaction per delivery.
    virtual std::vector<Result<DeliveryReceipt>> record_deliveries(std::span<const Delivery> deliveries) {
        std::vector<Result<DeliveryReceipt>> results;
        results.reserve(deliveries.size());
        for (const Delivery& delivery : deliveries) results.push_back(record_delivery(delivery));
        return results;
    }
};

// ---- what the scheduler does to the ledger: bill versions to convert,
// recalculation, slotting, dispatch, settling, stale events, the exchange log.
// Also an ExchangeLog: record() appends an unlinked exchange (errors are
// swallowed there, as the interface has no way to report them; use
// append_exchange to see them).
class LedgerStore : public ExchangeLog {
public:
    ~LedgerStore() override = default;

    // The current version of every bill whose current version is unprocessed,
    // oldest first: at most `limit` of them, with ids above `after_id` (keyset
    // paging, so that a backlog is never loaded whole). With `due_at`, a
    // version deferred by defer_bill_version() is left out until its
    // retry_at <= *due_at.
    virtual Result<std::vector<BillVersionRecord>> pending_bill_versions(std::int64_t after_id, std::size_t limit,
                                                                         std::optional<Instant> due_at) = 0;
    Result<std::vector<BillVersionRecord>> pending_bill_versions(std::int64_t after_id, std::size_t limit) {
        return pending_bill_versions(after_id, limit, std::nullopt);
    }
    Result<std::vector<BillVersionRecord>> pending_bill_versions() { return pending_bill_versions(0, SIZE_MAX); }
    // Also clears the version's retry state.
    virtual Status mark_processed(std::int64_t version_id, Instant now) = 0;
    // The version could not be converted because m3ter failed (issue 14): it
    // stays unprocessed, retry_attempts + 1, next attempt at `retry_at`,
    // `reason` kept for ops. not_found for an unknown version; a processed
    // one is left alone (invalid_state).
    virtual Status defer_bill_version(std::int64_t version_id, Instant retry_at, const std::string& reason) = 0;
    // The conversion reads the mappings added at run time (SPEC §5 /mappings).
    virtual Result<std::vector<ExternalMapping>> list_mappings() = 0;  // by id

    // ---- recalculation (ledger.hpp)

    // Loads every KeyBalance of (integration, bill), plans with core's
    // plan_recalculation(balances, targets, now, policy), applies the plan
    // (targets, queued entries, withdrawals from pending entries, from Planned
    // events' shares — a Planned event reduced to 0 is Cancelled — and from
    // Rejected events' shares) and commits. Returns the applied plan.
    virtual Result<RecalculationPlan> recalculate(const std::string& integration_id, const std::string& bill_id,
                                                  std::span<const UsageTarget> targets, Instant now,
                                                  const SlotPolicy& policy) = 0;
    // Stores the run (with its config snapshot, skip reason, targets and held
    // items) and replaces the held line items of (integration, bill version).
    virtual Result<std::int64_t> record_integration_run(const IntegrationRunRecord& run) = 0;

    // ---- conversion of bill versions (the scheduler)

    // Applies the scheduler's conversion of each version, in order:
    // recalculate() every run that recalculates (to run.targets, as of
    // run.started_at), record_integration_run() every run, then
    // mark_processed(version_id, now). Returns one Status per version. The
    // SQLite store does it in ONE transaction, each version under a savepoint:
    // a version whose writes fail is undone alone and stays unprocessed; if
    // the commit fails, every Status is a storage_error. This default commits
    // each step on its own (each is idempotent, so a version interrupted
    // half-way is simply converted again).
    struct ConvertedRun {
        IntegrationRunRecord run;
        bool recalculate = false;  // replace the targets of (integration, bill) with run.targets
    };
    struct ConvertedVersion {
        std::int64_t version_id = 0;
        std::string bill_id;
        std::vector<ConvertedRun> runs;  // one per integration, in config order
    };
    virtual std::vector<Status> apply_conversions(std::span<const ConvertedVersion> versions, Instant now,
                                                  const SlotPolicy& policy) {
        std::vector<Status> results;
        results.reserve(versions.size());
        for (const ConvertedVersion& version : versions) results.push_back(apply_one_by_one(version, now, policy));
        return results;
    }

    // ---- slotting (slotting.hpp)

    // Loads every pending entry ready at `now` (plan_slots ignores the others)
    // and the slots occupied by events (occupies_slot)
    // from oldest_usable_slot(now, policy) on, plans with core's plan_slots,
    // stores each planned event as Planned (next attempt at `now`) with its
    // shares, deletes the consumed entries, and returns the new event ids in order.
    virtual Result<std::vector<std::int64_t>> plan_slots(Instant now, const SlotPolicy& policy) = 0;

    // ---- dispatch (dispatch.hpp)

    // Planned and Sending events whose next attempt is due, with their shares,
    // oldest slot first (feed them to plan_batches); at most `limit` of them,
    // so that a long backlog is read a window at a time, and none of
    // `in_flight` (the events of calls awaiting their answer).
    virtual Result<std::vector<OutboxEvent>> due_events(Instant now, std::size_t limit,
                                                         const std::set<std::int64_t>& in_flight) = 0;
    Result<std::vector<OutboxEvent>> due_events(Instant now) { return due_events(now, SIZE_MAX, {}); }
    // Before the HTTP call: Planned/Sending -> Sending, attempts + 1, all in
    // one transaction. Commit, then send what it returns: each event it
    // marked as it was just before (the request as stored now, and whether an
    // earlier request may hold it). Events in other states are left alone and
    // left out: one settled, withdrawn or cancelled since it was loaded (a
    // settlement on another thread reconciles bills) must not be sent.
    virtual Result<std::vector<OutboxEvent>> mark_sending(std::span<const std::int64_t> event_ids, Instant now) = 0;
    // The call certainly did not reach Azure: back to Planned, unless an
    // earlier attempt of the event may have reached it (then it stays Sending).
    virtual Status record_not_sent(std::span<const std::int64_t> event_ids, Instant next_attempt_at) = 0;
    // The call may have reached Azure: stays Sending, re-sent unchanged later.
    virtual Status record_unknown(std::span<const std::int64_t> event_ids, Instant next_attempt_at) = 0;
    // Applies Azure's answer for one event (Planned, Sending or Unresolved;
    // else invalid_state): Accept stores usage_event_id/message_time;
    // Conflict/Expire re-queue the units (dispatch.hpp requeue_units); Reject
    // keeps them. Then every (integration, bill) the event carries is
    // reconciled (plan_reconciliation), all in one transaction.
    virtual Status settle(std::int64_t event_id, const EventDecision& decision, Instant now,
                          const SlotPolicy& policy) = 0;
    // Azure's answers for the events of one batch: settles each as settle()
    // would, in order, in ONE transaction (one fsync per batch instead of one
    // per event), and returns one Status per settlement, in order. An event
    // whose settlement fails is undone alone; if the commit fails, every
    // Status is a storage_error and nothing was committed. This default
    // commits one transaction per event.
    struct Settlement {
        std::int64_t event_id = 0;
        EventDecision decision;
    };
    virtual std::vector<Status> settle_all(std::span<const Settlement> settlements, Instant now,
                                           const SlotPolicy& policy) {
        std::vector<Status> results;
        results.reserve(settlements.size());
        for (const Settlement& s : settlements) results.push_back(settle(s.event_id, s.decision, now, policy));
        return results;
    }
    // The outcome of one batchUsageEvent call, recorded in ONE transaction
    // (one commit per call, however many attempts it made): the HTTP
    // exchanges of the call, then the events Azure may hold (as
    // record_unknown), those it certainly did not receive (as
    // record_not_sent), then Azure's answers (as settle_all), and last the
    // next batch's events marked Sending (as mark_sending): a sending thread
    // settles its call and claims its next one with one commit.
    struct CallRecord {
        std::vector<ExchangeRecord> exchanges;
        ExchangeLinks links;
        std::vector<std::int64_t> unknown;
        Instant unknown_retry_at{};
        std::vector<std::int64_t> not_sent;
        Instant not_sent_retry_at{};
        std::vector<Settlement> settlements;
        std::vector<std::int64_t> claim;  // the next call's events
        Instant claim_at{};
    };
    struct CallResult {
        std::vector<Status> settled;       // one per settlement, in order, as settle_all
        std::vector<OutboxEvent> claimed;  // what mark_sending would return for `claim`
    };
    // An Error (and nothing committed) if the transaction failed.
    virtual Result<CallResult> record_call(const CallRecord& call, Instant now, const SlotPolicy& policy) = 0;
    // Applies stale_action to every Planned/Sending event: Expire re-queues
    // and reconciles as settle does; Unresolve keeps the units in flight.
    // `in_flight`: events of requests still awaiting Azure's answer; they are
    // left alone (their answer settles them), whatever their slot's age.
    virtual Result<StaleOutcome> handle_stale(Instant now, const SlotPolicy& policy,
                                              const std::set<std::int64_t>& in_flight) = 0;
    Result<StaleOutcome> handle_stale(Instant now, const SlotPolicy& policy) { return handle_stale(now, policy, {}); }

    // ---- exchange log (SPEC §4 "Logged"); bodies arrive redacted

    virtual Result<std::int64_t> append_exchange(const ExchangeRecord& exchange, const ExchangeLinks& links) = 0;
    void record(const ExchangeRecord& exchange) override { (void)append_exchange(exchange, {}); }
    // Deletes exchanges and clears delivery bodies/headers received before
    // `older_than` (now - payload_retention_days). Ledger rows are never pruned.
    virtual Result<PruneOutcome> prune(Instant older_than) = 0;

private:
    Status apply_one_by_one(const ConvertedVersion& version, Instant now, const SlotPolicy& policy);
};

inline Status LedgerStore::apply_one_by_one(const ConvertedVersion& version, Instant now, const SlotPolicy& policy) {
    for (const ConvertedRun& converted : version.runs) {
        if (converted.recalculate) {
            // As of the run's start: the units it queues belong to that hour.
            auto plan = recalculate(converted.run.integration_id, version.bill_id, converted.run.targets,
                                    converted.run.started_at, policy);
            if (!plan) return plan.error();
        }
        if (auto run = record_integration_run(converted.run); !run) return run.error();
    }
    return mark_processed(version.version_id, now);
}

// ---- read-only views for the ops API and /metrics (SPEC §5)
class OpsQueries {
public:
    virtual ~OpsQueries() = default;

    virtual Result<BillVersionRecord> bill_version(std::int64_t version_id) = 0;
    virtual Result<std::vector<BillVersionRecord>> bill_versions(const std::string& bill_id) = 0;  // oldest first
    virtual Result<DeliveryRecord> delivery(std::int64_t delivery_id) = 0;
    virtual Result<std::vector<ExternalMapping>> list_mappings() = 0;  // by id
    virtual Result<OutboxEvent> event(std::int64_t event_id) = 0;
    // Units Azure accepted, in m3ter's shape, keyset-paged by (account, bill,
    // integration, resource). A token that is not one of ours: invalid_field "nextToken".
    virtual Result<ReportedUsagePage> reported_usage(const ReportedUsageQuery& query) = 0;
    virtual Result<BillDetail> bill_detail(const std::string& bill_id) = 0;  // not_found
    virtual Result<std::vector<IntegrationRunRecord>> list_runs(const RunQuery& query) = 0;  // newest first
    // The run, its config snapshot, the delivery of its bill version, and the
    // exchanges linked to it, to that delivery, or to events carrying its
    // (integration, bill) started between this run and the next run of the same
    // (integration, bill).
    virtual Result<IntegrationRunDetail> integration_run(std::int64_t run_id) = 0;  // not_found
    virtual Result<std::vector<EventDetail>> list_events(const EventQuery& query) = 0;
    virtual Result<StoreMetrics> metrics() = 0;
    // The console's views (issue 19): bills newest first; accepted units per
    // usage hour in [from, to), hours without any left out, oldest first; the
    // latest trouble of any event (error_code set), newest first.
    virtual Result<std::vector<BillSummary>> list_bills(const BillQuery& query) = 0;
    virtual Result<std::vector<HourUnits>> accepted_units_by_hour(Instant from, Instant to) = 0;
    virtual Result<std::vector<EventProblem>> recent_event_problems(std::size_t limit) = 0;
    // /readyz: a write transaction can be started and committed.
    virtual Status writable() = 0;
};

// ---- the ops API: the views and the operator's actions
class OpsStore : public OpsQueries {
public:
    // POST /bills/{id}/reprocess: marks the bill's current version unprocessed
    // again, due at once, and returns it; not_found for an unknown bill.
    virtual Result<BillVersionRecord> reprocess_bill(const std::string& bill_id) = 0;
    // Returns the new id; duplicate_mapping when (entity, m3ter_id, table,
    // integration_id) is taken. `mapping.id` is ignored.
    virtual Result<std::string> add_mapping(const ExternalMapping& mapping) = 0;
    virtual Status delete_mapping(const std::string& id) = 0;  // not_found
    // POST /events/{id}/retry: Rejected -> Requeued, units re-queued from its
    // own slot, bills reconciled. invalid_state unless Rejected; not_found.
    virtual Status retry_rejected(std::int64_t event_id, Instant now, const SlotPolicy& policy) = 0;
};

// ---- reconciliation (SPEC §8): what the comparison reads from our ledger,
// the runs and their exchanges, and settling unresolved events from evidence.
// The core (recon.hpp) compares and proposes; this persists and loads.
class ReconciliationStore {
public:
    virtual ~ReconciliationStore() = default;

    // Every event with effective start in [from, to) that Azure holds or may
    // hold, by id, with its shares of units > 0 (by integration, bill): state
    // accepted -> Accepted; unresolved, or sending with maybe_sent ->
    // Unresolved. Planned, first-attempt sending, conflict, expired, rejected,
    // requeued and cancelled events are not Azure's and are left out. One read
    // transaction (a consistent snapshot beside the scheduler's writes).
    virtual Result<std::vector<recon::LedgerEvent>> reconciliation_events(Instant from, Instant to) = 0;

    // A new run, status running; returns its id. invalid_field "sources" for a
    // name recon::source_from does not know (or none), "trigger" unless
    // api|daily|cli, "from" when from_day > to_day.
    virtual Result<std::int64_t> create_reconciliation(recon::Day from_day, recon::Day to_day,
                                                       const std::vector<std::string>& sources,
                                                       const std::string& trigger, Instant now) = 0;
    // Stores the outcome of a running run. not_found; invalid_state when it
    // is not running (finished already, or failed as interrupted);
    // invalid_field "status" for Running, "error" for a failure without one.
    virtual Status finish_reconciliation(std::int64_t id, const ReconciliationFinish& finish, Instant now) = 0;
    virtual Result<ReconciliationRecord> get_reconciliation(std::int64_t id) = 0;  // with its report; not_found
    // Newest first, without their reports (report_json nullopt).
    virtual Result<std::vector<ReconciliationRecord>> list_reconciliations(const ReconciliationQuery& query) = 0;
    // The exchanges logged with links.reconciliation_id == id, oldest first.
    virtual Result<std::vector<StoredExchange>> reconciliation_exchanges(std::int64_t id) = 0;
    // For the daily run: the last day a done run compared with `source` once
    // the day was final (ReconciliationFinish::final_through); nullopt if
    // none. The daily run reconciles from the day after (the oldest over its
    // sources) to yesterday, so a day still pending is compared again the
    // next day until it is final.
    virtual Result<std::optional<recon::Day>> latest_final_day(const std::string& source) = 0;
    // Called once at the daemon's start, before any run: every run still
    // `running` (its process died) becomes failed with "interrupted" at
    // `now`. Returns their ids.
    virtual Result<std::vector<std::int64_t>> fail_interrupted_reconciliations(Instant now) = 0;

    // Settles an unresolved event from evidence (POST /events/{id}/settle,
    // reconciliation.auto_settle), in one transaction: core's
    // settle_by_evidence decides (invalid_state unless unresolved, or sending
    // with maybe_sent past Azure's window; a second settlement is refused, so
    // no unit is ever sent twice); recorded -> accepted (no usage_event_id:
    // error_code "SettledRecorded" and the evidence say how); not_recorded ->
    // expired, its units re-queued as pending exactly as an expired event's
    // (error_code "SettledNotRecorded"); then every (integration, bill) it
    // carries is reconciled as settle() does, and the settlement is recorded.
    // not_found; invalid_field "settled_by" unless api|auto.
    virtual Status settle_unresolved(const EventSettlementRequest& request, Instant now, const SlotPolicy& policy) = 0;
    // The operator's form: settled_by "api".
    Status settle_unresolved(std::int64_t event_id, recon::Settlement as, const std::string& evidence, Instant now,
                             const SlotPolicy& policy) {
        return settle_unresolved(EventSettlementRequest{event_id, as, "api", evidence, std::nullopt}, now, policy);
    }
    // The settlement of an event, if it was settled from evidence; not_found for an unknown event.
    virtual Result<std::optional<EventSettlementRecord>> event_settlement(std::int64_t event_id) = 0;
};

// All of them: what a backend implements and the daemon wires. A method
// that two interfaces declare is declared again here, so that a call
// through Store is not ambiguous.
class Store : public IntakeStore, public LedgerStore, public OpsStore, public ReconciliationStore {
public:
    ~Store() override = default;
    Result<std::vector<ExternalMapping>> list_mappings() override = 0;
};

struct StoreOptions {
    // How long a statement waits for a lock held by another connection.
    std::chrono::milliseconds busy_timeout{5000};
};

// Start-up failures of open_sqlite_store, one clear line each: the database
// is in use by another daemon, its schema is newer than this build, the file
// cannot be opened or migrated.
class StoreOpenError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Opens (creating if needed) the SQLite database at `path`, takes the
// daemon's exclusive lock on it, applies pending migrations. ":memory:" gives
// a private in-memory database (tests). Throws StoreOpenError.
std::unique_ptr<Store> open_sqlite_store(const std::string& path, const StoreOptions& options = {});

// The events of reconciliation (ReconciliationStore::reconciliation_events)
// read from the database at `path` beside a running daemon (`meterbridge
// reconcile`): no lock, no migration, a read-only connection and one snapshot.
// The schema must be the one this build writes.
Result<std::vector<recon::LedgerEvent>> read_reconciliation_events(const std::string& path, Instant from, Instant to);

// `meterbridge backup` (issue 18): copies the database at `source_path` to
// `target_path` with SQLite's online backup API, as one snapshot, beside a
// running daemon (no lock taken; the daemon's writes go on). The copy is a
// single file (journal_mode DELETE) that passed integrity_check; it is
// written as `target_path`.partial and renamed, and an existing
// `target_path` is refused (invalid_field "to"). A missing source is
// not_found. Restoring is copying it back while the daemon is stopped.
struct BackupSummary {
    std::int64_t bytes = 0;
    int schema_version = 0;  // PRAGMA user_version of the copy
};
Result<BackupSummary> backup_database(const std::string& source_path, const std::string& target_path);

// An ExchangeLog that appends every record to `store` with fixed links
// (e.g. the events of one batch). `store` must outlive it.
std::unique_ptr<ExchangeLog> make_linked_exchange_log(LedgerStore& store, ExchangeLinks links);

// An ExchangeLog that keeps the records, for LedgerStore::record_call.
class ExchangeBuffer final : public ExchangeLog {
public:
    void record(const ExchangeRecord& exchange) override { records.push_back(exchange); }
    std::vector<ExchangeRecord> records;
};

}  // namespace meterbridge::store

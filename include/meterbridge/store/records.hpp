#pragma once
// What the store keeps and answers, as plain data (SPEC §4, §5, §6). The
// ledger itself (targets, pending units, events and their shares) uses the
// core's own types; these are the records around it and the ops API views.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/conversion.hpp"
#include "meterbridge/core/delivery.hpp"
#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/outbox.hpp"
#include "meterbridge/core/recon.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge::store {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------- deliveries

// What became of one webhook delivery: decided by the core (delivery.hpp).
using meterbridge::DeliveryResult;
std::string_view to_string(DeliveryResult result);

// One webhook delivery as the intake hands it over, after the signature check.
struct Delivery {
    std::string body;          // raw bytes as received
    HeaderList headers;        // a subset chosen by the caller; never secrets
    std::string remote_addr;   // the client as believed (X-Forwarded-For from trusted proxies)
    Instant received_at;
    std::string event_id;      // envelope "id"; may be empty
    std::string event_name;    // envelope "eventName"; may be empty
    BillEventKind kind = BillEventKind::Other;
    std::optional<Bill> bill;  // the bill version carried (or fetched from the m3ter API)
    std::string bill_id;       // used when `bill` is absent: a deletion that carries only the id
    std::string bill_json;     // exact text of that bill object (dump_exact), required with `bill`
    std::optional<Error> error;  // set: the delivery is Invalid whatever else is set
};

struct DeliveryReceipt {
    std::int64_t delivery_id = 0;
    DeliveryResult result = DeliveryResult::Invalid;
    std::int64_t bill_version_id = 0;  // the stored (New, Older) or matching (Repeat) version; 0 otherwise
};

struct DeliveryRecord {
    std::int64_t id = 0;
    Instant received_at;
    std::string remote_addr;
    HeaderList headers;                // empty after pruning
    std::optional<std::string> body;   // nullopt after pruning (payload_retention_days)
    std::int64_t body_bytes = 0;
    DeliveryResult result = DeliveryResult::Invalid;
    std::string event_id;
    std::string event_name;
    std::string bill_id;
    std::optional<std::int64_t> bill_version;
    std::optional<Error> error;
};

// One stored version of a bill. A bill's *current* version is the one the
// scheduler works from: the highest version, a deletion above all.
struct BillVersionRecord {
    std::int64_t id = 0;
    std::string bill_id;
    std::int64_t version = 0;
    std::string account_id;
    std::string account_code;
    BillStatus status = BillStatus::Pending;
    BillEventKind event_kind = BillEventKind::Updated;
    bool deleted = false;          // billing.bill.deleted: every target of the bill goes to zero
    bool current = false;          // this is the bill's current version
    std::string content_hash;      // FNV-1a 64 of bill_json, hex
    std::string bill_json;         // exact text, amounts as sent
    std::int64_t delivery_id = 0;
    Instant received_at;
    bool processed = false;        // the scheduler has converted and recalculated it
    std::optional<Instant> processed_at;
    // While unprocessed because m3ter failed (issue 14): the failed attempts
    // so far, when the next one is due, and the last failure. A processed
    // version has none.
    int retry_attempts = 0;
    std::optional<Instant> retry_at;
    std::string retry_reason;
};

// ------------------------------------------------------------- integration runs

// One run of one integration on one bill version, with the config in force.
struct IntegrationRunRecord {
    std::int64_t id = 0;                // assigned by the store
    std::int64_t bill_version_id = 0;   // required on input
    std::string bill_id;                // filled by the store from the version
    std::int64_t bill_version = 0;      // filled by the store
    std::string account_id;             // filled by the store
    std::string integration_id;
    std::string config_snapshot;        // JSON text of the integration's config (secrets masked by the caller)
    SkipReason skipped = SkipReason::None;
    std::vector<UsageTarget> targets;   // what conversion produced
    std::vector<HeldLineItem> held;     // replaces the held items of (integration, bill version)
    std::string error;                  // non-empty when the run failed
    Instant started_at;
    Instant finished_at;
};

// ------------------------------------------------------------------ exchange log

// What one logged exchange concerns, so that /integrationruns/{id} can show
// every payload: the runs, the events of a batch, the delivery that caused a
// fetch from the m3ter API.
struct ExchangeLinks {
    std::vector<std::int64_t> run_ids;
    std::vector<std::int64_t> event_ids;
    std::optional<std::int64_t> delivery_id;
    std::string batch_id;  // e.g. the x-ms-correlationid shared by a batch's attempts
    std::optional<std::int64_t> reconciliation_id;  // a reconciliation run's fetch from an Azure source
};

struct StoredExchange {
    std::int64_t id = 0;
    ExchangeRecord record;
    ExchangeLinks links;
};

// -------------------------------------------------------------------- mappings

// Domain error codes of the store's operations (Error::code).
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kDuplicateMapping = "duplicate_mapping";
inline constexpr std::string_view kInvalidState = "invalid_state";
inline constexpr std::string_view kInvalidField = "invalid_field";
inline constexpr std::string_view kStorageError = "storage_error";  // SQLite failed; nothing was committed

// ----------------------------------------------------------------- ops queries

struct ReportedUsageQuery {
    std::string account_id;  // "" = any
    std::string bill_id;     // "" = any
    std::optional<Instant> from;  // effectiveStartTime >= from
    std::optional<Instant> to;    // effectiveStartTime < to
    std::size_t page_size = 100;  // entries per page, 1..1000
    std::string next_token;       // "" = first page; else a token from the previous page
};

// One entry of m3ter's reportedUsage shape: units Azure accepted for one
// (account, bill, integration, resource), per dimension and effectiveStartTime.
struct ReportedUsageEntry {
    std::string account_id;
    std::string bill_id;
    std::string integration_id;
    std::string resource_id;
    std::map<std::string, std::map<Instant, std::int64_t>> usage;  // dimension -> hour -> units
};

struct ReportedUsagePage {
    std::vector<ReportedUsageEntry> data;
    std::string next_token;  // "" on the last page
};

// Units of one key, by where they are (see ledger.hpp).
struct KeyUnits {
    ShareKey key;
    std::string plan_id;
    std::int64_t target = 0;
    std::int64_t pending = 0;
    std::int64_t planned = 0;
    std::int64_t in_flight = 0;   // Sending or Unresolved
    std::int64_t accepted = 0;
    std::int64_t rejected = 0;
    std::int64_t over_reported = 0;  // max(0, in_flight + accepted - target)
};

// The latest trouble of an event that carries units of a bill.
struct EventProblem {
    std::int64_t event_id = 0;
    EventState state = EventState::Rejected;
    SlotKey slot;
    std::string error_code;
    std::string error_message;
    Instant updated_at;
};

struct BillDetail {
    std::string bill_id;
    std::string account_id;
    bool deleted = false;
    std::vector<BillVersionRecord> versions;   // oldest first, bill_json included
    std::vector<KeyUnits> keys;                // sorted by key
    std::vector<HeldLineItem> held;            // of the current version, per integration
    std::vector<EventProblem> errors;          // newest first, at most 50
    std::vector<IntegrationRunRecord> runs;    // newest first, at most 50
};

struct RunQuery {
    std::string bill_id;     // "" = any
    std::string account_id;  // "" = any
    std::optional<Instant> from;  // started_at >= from
    std::optional<Instant> to;    // started_at < to
    std::size_t limit = 100;
};

struct IntegrationRunDetail {
    IntegrationRunRecord run;
    std::optional<DeliveryRecord> delivery;   // the webhook delivery of its bill version
    std::vector<StoredExchange> exchanges;    // oldest first; see Store::integration_run
    std::vector<std::int64_t> event_ids;      // events carrying the run's (integration, bill)
};

struct EventQuery {
    std::optional<EventState> state;
    std::optional<Instant> from;  // effectiveStartTime >= from
    std::optional<Instant> to;    // effectiveStartTime < to
    std::size_t limit = 100;      // 1..1000
    std::int64_t after_id = 0;    // keyset paging: events with id > after_id, ascending
    std::string bill_id;          // "" = any; else events carrying a share of this bill
    std::string resource_id;      // "" = any
    std::string dimension;        // "" = any
};

// The bills the console lists (GET /bills): one row per bill, its current version.
struct BillQuery {
    bool held_only = false;   // only bills whose current version holds line items
    std::size_t limit = 100;  // 1..1000, most recently updated first
};

struct BillSummary {
    std::string bill_id;
    std::string account_id;
    std::int64_t version = 0;       // the current version's number
    bool deleted = false;
    bool processed = false;         // the current version has been converted
    Instant updated_at;             // when the bill last changed (a new version)
    std::int64_t held_items = 0;    // held rows of the current version (any integration)
};

// Units Azure accepted for one usage hour (effectiveStartTime), all keys together.
struct HourUnits {
    Instant hour;
    std::int64_t units = 0;
};

struct EventDetail {
    OutboxEvent event;
    Instant created_at;
    Instant updated_at;
};

// Gauges and counters for /metrics, computed from the database.
struct StoreMetrics {
    std::map<std::string, std::int64_t> deliveries_by_result;  // "new", "repeat", ...
    std::map<std::string, std::int64_t> events_by_state;       // "planned", "accepted", ...
    std::map<std::string, std::int64_t> event_units_by_state;  // sum of quantities, same keys
    std::int64_t events_maybe_held = 0;  // sending, and an earlier request may have reached Azure
    std::int64_t pending_units = 0;
    std::int64_t pending_entries = 0;
    std::optional<Instant> oldest_pending;    // creation time of the oldest pending entry
    std::int64_t over_reported_units = 0;     // sum over keys
    std::int64_t unprocessed_bill_versions = 0;
    std::int64_t versions_waiting_on_m3ter = 0;  // current, unprocessed, deferred after an m3ter failure
    std::map<int, std::int64_t> azure_http_status;  // status -> exchanges in the log (0: no answer)
    std::map<int, std::int64_t> token_http_status;  // the same for the token endpoint
    std::optional<Instant> last_azure_success;      // start of the latest 2xx metering call in the log
    // Line items held by the current versions of bills, per (integration,
    // reason) and the currency of their bill, sorted.
    struct HeldInCurrency {
        std::string currency;
        HeldTotal total;
    };
    std::vector<HeldInCurrency> held;
    // Integration runs (every one stored) that did not run, per (integration, skip reason).
    std::map<std::pair<std::string, std::string>, std::int64_t> runs_skipped;
};

// What the stale sweep did (dispatch.hpp stale_action).
struct StaleOutcome {
    std::vector<std::int64_t> expired;     // Planned events given up; their units re-queued
    std::vector<std::int64_t> unresolved;  // Sending events whose window closed without an answer
};

struct PruneOutcome {
    std::int64_t exchanges_deleted = 0;
    std::int64_t delivery_bodies_cleared = 0;
};

// ------------------------------------------------------------- reconciliation

// A reconciliation run (SPEC §8): created `running`, finished `done` or
// `failed`; a run still `running` when the daemon died is failed with
// "interrupted" at the next start (fail_interrupted_reconciliations).
enum class ReconciliationStatus { Running, Done, Failed };
std::string_view to_string(ReconciliationStatus status);  // "running" | "done" | "failed"
std::optional<ReconciliationStatus> reconciliation_status_from(std::string_view text);

struct ReconciliationRecord {
    std::int64_t id = 0;
    recon::Day from_day;               // inclusive, UTC
    recon::Day to_day;                 // inclusive, UTC
    std::vector<std::string> sources;  // recon::to_string(Source) names, as asked
    std::string trigger;               // "api" | "daily" | "cli"
    ReconciliationStatus status = ReconciliationStatus::Running;
    std::string error;                 // failed: why ("interrupted" for a run the daemon's death cut short)
    std::map<recon::Outcome, std::int64_t> totals;  // rows per outcome; empty until done
    // Per source name: the last day of the run that was final for that source
    // (day end + processing delay <= the run's time) and compared with Azure's
    // rows; a source whose fetch failed, or whose days were all pending, has none.
    std::map<std::string, recon::Day> final_through;
    std::optional<std::string> report_json;  // the report; nullopt while running and in lists
    Instant started_at;
    std::optional<Instant> finished_at;
};

// What finish_reconciliation records.
struct ReconciliationFinish {
    ReconciliationStatus status = ReconciliationStatus::Done;  // Done or Failed
    std::string error;                                         // Failed: required
    std::string report_json;                                   // Done: the report (JSON text); may be "" when failed
    std::map<recon::Outcome, std::int64_t> totals;
    std::map<std::string, recon::Day> final_through;           // see ReconciliationRecord
};

struct ReconciliationQuery {
    std::optional<recon::Day> from;  // runs whose [from_day, to_day] overlaps [from, to]
    std::optional<recon::Day> to;
    std::size_t limit = 100;         // 1..1000
};

// Settling an `unresolved` event from evidence (SPEC §8; dispatch.hpp
// settle_by_evidence decides whether it may be settled).
struct EventSettlementRequest {
    std::int64_t event_id = 0;
    recon::Settlement as = recon::Settlement::Undecidable;  // Recorded or NotRecorded
    std::string settled_by = "api";                         // "api" | "auto"
    std::string evidence;                                   // the arithmetic, or the operator's note
    std::optional<std::int64_t> reconciliation_id;          // the run whose proposal it applies, if any
};

// A settlement as recorded, for ops.
struct EventSettlementRecord {
    std::int64_t event_id = 0;
    recon::Settlement as = recon::Settlement::Recorded;
    std::string settled_by;
    std::string evidence;
    std::optional<std::int64_t> reconciliation_id;
    EventState previous_state = EventState::Unresolved;  // Unresolved, or Sending past the window
    EventState new_state = EventState::Accepted;         // Accepted, or Expired (units re-queued)
    std::int64_t quantity = 0;                           // the event's units
    Instant settled_at;
};

}  // namespace meterbridge::store

#pragma once
// Reconciliation (SPEC §8, docs/reconciliation.md): what Azure says it billed,
// compared with what our ledger holds, per (source, resource, dimension, UTC day),
// and settlement proposals for `unresolved` events from that evidence.
// Pure: no I/O and no clock ("now" is an option). Quantities compare exactly.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "meterbridge/core/decimal.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge::recon {

// Where Azure's side comes from (config `reconciliation.sources`).
enum class Source {
    UsageEvents,     // "usage_events": metering API GET /api/usageEvents (seed 003)
    PartnerBilling,  // "partner_billing": Graph partner billing export (seed 004)
    EaCharges,       // "ea_charges": EA marketplace charges (seed 002)
};
std::string_view to_string(Source source);
std::optional<Source> source_from(std::string_view text);

// The outcome of one (source, resource, dimension, day); names of SPEC §8.
enum class Outcome {
    Matched,           // "matched"
    MissingAtAzure,    // "missing_at_azure": we hold accepted units, Azure has no row
    UnknownToUs,       // "unknown_to_us": Azure has a row, we hold nothing accepted (over-billing)
    QuantityMismatch,  // "quantity_mismatch": both present, different, not explained by unresolved events
    Rejected,          // "rejected": usage_events reconStatus Rejected
    Mismatch,          // "mismatch": usage_events reconStatus Mismatch
    Pending,           // "pending": inside the source's processing delay, or reconStatus Submitted
};
std::string_view to_string(Outcome outcome);
std::optional<Outcome> outcome_from(std::string_view text);

// The proposed settlement of an `unresolved` event.
enum class Settlement {
    Recorded,     // "recorded": Azure holds it
    NotRecorded,  // "not_recorded": Azure does not hold it
    Undecidable,  // "undecidable"
};
std::string_view to_string(Settlement settlement);
std::optional<Settlement> settlement_from(std::string_view text);

using Day = std::chrono::sys_days;  // a UTC calendar day
Result<Day> parse_day(std::string_view text);  // "YYYY-MM-DD" exactly; error field "day"
std::string format_day(Day day);               // "YYYY-MM-DD"
Day day_of(Instant instant);                   // the UTC day holding `instant`

// What is compared. resource_id is lower-cased (GUIDs differ only in case
// between Azure's answers and our config); dimension is compared as written.
struct Key {
    std::string resource_id;
    std::string dimension;
    Day day;

    friend auto operator<=>(const Key&, const Key&) = default;
    friend bool operator==(const Key&, const Key&) = default;
};

// One row of an Azure source, as parsed (recon_sources.hpp). For usage_events
// key.resource_id is usageResourceId; for partner_billing and ea_charges it is
// empty and azure_subscription_id is set: the NameMap gives the resource.
struct AzureRow {
    Source source = Source::UsageEvents;
    Key key;
    Decimal quantity;                      // what Azure counts (processedQuantity / quantity / consumedQuantity)
    std::optional<Decimal> submitted_quantity;  // usage_events submittedQuantity
    std::string status;                    // usage_events reconStatus as written; empty for the others
    std::string azure_subscription_id;     // lower-cased; empty when the source has none
    std::string plan;                      // planId / skuId / planName, where known
    std::string offer;                     // offerId / productId / offerName, where known
};

// Azure subscription id -> SaaS resource id, explicit pairs from config.
// partner_billing and ea_charges know only the customer's Azure subscription.
class NameMap {
public:
    // Error (field "name_map") on an empty id or an Azure subscription given twice
    // with different resources: a mapping must be unambiguous. Ids are lower-cased.
    static Result<NameMap> make(const std::vector<std::pair<std::string, std::string>>& subscription_to_resource);
    std::optional<std::string> resource_of(std::string_view azure_subscription_id) const;

private:
    std::map<std::string, std::string, std::less<>> pairs_;
};

// Azure's rows summed per (source, key); memory grows with distinct keys, not
// rows, so a million-line export can be streamed through add(). Not thread-safe.
class AzureEvidence {
public:
    struct Total {
        Decimal quantity;
        std::optional<Decimal> submitted_quantity;
        std::vector<std::string> statuses;  // distinct, in first-seen order
        std::size_t rows = 0;
        std::string plan, offer;            // of the first row
    };
    // Rows whose Azure subscription the NameMap does not know, summed per
    // (source, subscription, dimension, day): reported, never dropped.
    struct Unmapped {
        Source source;
        std::string azure_subscription_id;
        std::string dimension;
        Day day;
        Decimal quantity;
        std::size_t rows = 0;
    };

    explicit AzureEvidence(NameMap names = {});
    // Maps (when key.resource_id is empty) and sums exactly; an Error only on
    // overflow of the sum (field "quantity"), the row then not counted.
    Status add(const AzureRow& row);

    const std::map<std::pair<Source, Key>, Total>& totals() const { return totals_; }
    std::vector<Unmapped> unmapped() const;

private:
    NameMap names_;
    std::map<std::pair<Source, Key>, Total> totals_;
    std::map<std::tuple<Source, std::string, std::string, Day>, Unmapped> unmapped_;
};

// One bill's units inside one of our events.
struct BillShare {
    std::string integration_id;
    std::string bill_id;
    std::int64_t units = 0;
};

// One of our usage events, as the store holds it. Pass Accepted events, and as
// Unresolved every event Azure may hold without having answered (state
// unresolved, or sending with maybe_sent); other events are not Azure's.
struct LedgerEvent {
    enum class State { Accepted, Unresolved };
    std::int64_t id = 0;
    std::string resource_id;
    std::string dimension;
    Instant effective_start;   // the UTC hour slot; its day is the key's day
    std::int64_t quantity = 0;  // whole units, > 0
    State state = State::Accepted;
    std::vector<BillShare> shares;
};

struct Options {
    Instant now;
    Day from_day;  // inclusive, UTC
    Day to_day;    // inclusive, UTC
    // A day is final for a source once day end + delay <= now; missing
    // sources take default_processing_delay().
    std::map<Source, Duration> processing_delay;
    // The sources whose rows were fetched: only they get rows and evidence.
    std::vector<Source> sources;
};
// usage_events 24 h, partner_billing 48 h, ea_charges 72 h (docs/reconciliation.md).
Duration default_processing_delay(Source source);

struct Row {
    Source source = Source::UsageEvents;
    Key key;
    Outcome outcome = Outcome::Matched;
    Decimal ours;                     // sum of our accepted events on the key
    std::optional<Decimal> azure;     // Azure's total; nullopt when it has no row
    std::string note;                 // why, with the arithmetic
    std::vector<BillShare> shares;    // accepted units per (integration, bill), sorted
    std::vector<std::int64_t> unresolved_event_ids;
};

// How much of a bill's accepted units landed in rows of each outcome, per source.
struct BillRollup {
    std::string integration_id;
    std::string bill_id;
    Source source = Source::UsageEvents;
    std::map<Outcome, std::int64_t> units;
};

struct Evidence {
    Source source = Source::UsageEvents;
    Settlement verdict = Settlement::Undecidable;
    std::string arithmetic;  // e.g. "usage_events 2026-03-01: Azure 1,600 = accepted 1,000 + this event 600"
};

struct Proposal {
    std::int64_t event_id = 0;
    Settlement verdict = Settlement::Undecidable;
    std::string reason;              // one line: the deciding arithmetic, or why undecidable
    std::vector<Evidence> evidence;  // one per source in Options::sources, in that order
};

struct Report {
    std::vector<Row> rows;  // sorted by (source, resource, dimension, day)
    std::map<Outcome, std::size_t> totals;  // rows per outcome; every outcome present
    std::vector<BillRollup> bills;          // sorted by (integration, bill, source)
    std::vector<Proposal> proposals;        // one per unresolved event in range, by id
    std::vector<AzureEvidence::Unmapped> unmapped;

    // True when a row is neither matched nor pending (SPEC §8 exit code 1).
    // Unmapped rows are not discrepancies: an EA enrollment also holds other
    // publishers' charges; they are listed for ops to map or ignore.
    bool has_discrepancies() const;
};

// The comparison. Events and rows outside [from_day, to_day] are ignored.
// Errors: field "from" when from_day > to_day; "quantity" for an event in range
// with quantity <= 0, or when a sum overflows.
//
// Per source in options.sources and per key that either side holds:
//  1. a usage_events row with reconStatus Rejected -> rejected; Mismatch -> mismatch;
//  2. day end + processing delay > now, or reconStatus Submitted -> pending;
//  3. Azure total == our accepted sum -> matched;
//  4. Azure total == accepted + the units of some unresolved events -> matched
//     (the note names them);
//  5. no Azure row, we hold accepted units -> missing_at_azure;
//     Azure row, we hold nothing accepted -> unknown_to_us;
//     otherwise -> quantity_mismatch.
// Proposals, per unresolved event and source: let S be the sets of unresolved
// events on the key whose units, added to the accepted sum, give Azure's total
// (no row counts as 0). Every S holds the event -> recorded; none does ->
// not_recorded; S empty, mixed, pending, rejected/mismatch -> undecidable.
// Across sources: the decidable verdicts if they agree, else undecidable.
Result<Report> compare(const std::vector<LedgerEvent>& events, const AzureEvidence& azure, const Options& options);

// "1,600", "-2,000.5": the quantity with thousands separators, for notes.
std::string format_quantity(const Decimal& quantity);

}  // namespace meterbridge::recon

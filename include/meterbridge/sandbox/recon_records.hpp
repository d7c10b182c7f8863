#pragma once
// Azure's own records for reconciliation (SPEC §7, issue 16): the daily rows
// that GET /api/usageEvents, the partner billing export and the EA charges all
// show, built from the events the sandbox accepted plus the discrepancies
// planted with POST /_sandbox/recon. Pure: no sockets, "now" passed in.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/decimal.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge::sandbox {

struct AcceptedEvent;
struct SandboxCatalog;

using Day = std::chrono::sys_days;

enum class PlantKind {
    Rejected,  // the row's reconStatus becomes Rejected, processedQuantity 0
    Mismatch,  // the row's reconStatus becomes Mismatch, processedQuantity `quantity`
    Extra,     // Azure holds `quantity` more than meterbridge sent (over-billing)
    Missing,   // Azure lost `quantity` (all when absent) of what it accepted (drop-after-accept)
    Bulk,      // like Extra with lines × quantity, shown by the export as `lines` lines of `quantity`
};
std::string_view to_string(PlantKind kind);

struct Plant {
    std::string id;  // "plant-1", "plant-2", ... (set by the core)
    PlantKind kind = PlantKind::Extra;
    std::string resource_id;
    std::string dimension;
    std::string plan_id;  // Extra/Bulk: the row's plan ("" in the request: the catalog's, else the events')
    Day day{};
    std::optional<Decimal> quantity;  // see PlantKind; Bulk: per line (default 1)
    std::uint64_t lines = 0;          // Bulk only

    // {"kind":"rejected"|"mismatch"|"extra"|"missing"|"bulk","resourceId","dimension",
    //  "day":"YYYY-MM-DD","quantity":"<decimal>"?,"planId"?,"lines"?}. Errors name the field.
    static Result<Plant> parse(std::string_view json);
};
// {"id","kind","resourceId","dimension","day","planId","quantity"(null when absent),"lines"}
std::string plant_json(const Plant& plant);

// The facts Azure knows about a resource beyond its id.
struct ResourceFacts {
    std::string azure_subscription_id;
    std::string offer_id;
    std::string plan_id;  // "" when no catalog entry names it
};
// From the catalog entry; without one (or where the entry leaves them empty) the
// deterministic fallback: azureSubscriptionId = the resource id in lower case,
// offerId = "sandbox-offer".
ResourceFacts resource_facts(const SandboxCatalog* catalog, std::string_view resource_id);
inline constexpr std::string_view kFallbackOfferId = "sandbox-offer";

// One row of Azure's records: a (resource, plan, dimension, UTC day).
struct AzureDayRecord {
    std::string resource_id;  // as first sent (or planted)
    std::string plan_id;
    std::string dimension;
    Day day{};
    Decimal submitted;
    Decimal processed;
    long long submitted_count = 0;
    std::string recon_status;  // Submitted, Accepted, Rejected, Mismatch
    std::uint64_t bulk_lines = 0;  // the export shows these as bulk_lines lines of bulk_line_quantity
    Decimal bulk_line_quantity;

    // Accepted or Mismatch with something processed: what Azure bills, so what
    // the partner billing export and the EA charges show.
    bool billed() const { return (recon_status == "Accepted" || recon_status == "Mismatch") && !processed.is_zero() && !processed.is_negative(); }
};

// The rows for days first..last (inclusive), sorted by (lower resource, plan,
// dimension, day). A row is Submitted until max(end of its day, the last
// accepted event's messageTime) + processing_delay, then Accepted; plants are
// applied in the order extra/bulk, missing, then rejected/mismatch (which are
// final, whatever the delay). A row that missing empties disappears; rejected
// and mismatch plants apply only to rows that exist.
Result<std::vector<AzureDayRecord>> azure_day_records(const std::vector<AcceptedEvent>& events,
                                                      const std::vector<Plant>& plants, Day first, Day last,
                                                      Instant now, Duration processing_delay);

// value × count, exactly (an Error on overflow).
Result<Decimal> multiply(const Decimal& value, std::uint64_t count);

// "YYYY-MM-DD" -> a day; nothing else is accepted.
Result<Day> parse_day(std::string_view text);
std::string format_day(Day day);  // "YYYY-MM-DD"

}  // namespace meterbridge::sandbox

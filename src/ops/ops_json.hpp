#pragma once
// JSON views of the store's records for the ops API (SPEC §5). Keys are
// camelCase like m3ter's API, except mappings, which keep the snake_case
// shape of SPEC §3 so that a GET result can be POSTed back. Unit counts are
// JSON integers; money amounts are exact JSON numbers (their decimal text,
// never a double): serialise every view with dump_exact.
#include <optional>
#include <string>
#include <string_view>

#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/integration.hpp"
#include "meterbridge/store/records.hpp"

namespace meterbridge::app {

// m3ter's reportedUsage entry: accountId, billId, externalSystem "Azure",
// reportedUsage {dimension: {effectiveStartTime "YYYY-MM-DDTHH:MM:SSZ": units}},
// plus integrationId and resourceId.
Json reported_usage_entry_json(const store::ReportedUsageEntry& entry);
// {"data": [...], "nextToken": "..." | null}
Json reported_usage_page_json(const store::ReportedUsagePage& page);

Json bill_version_json(const store::BillVersionRecord& version);
Json key_units_json(const store::KeyUnits& units);
Json held_item_json(const HeldLineItem& held);
Json event_problem_json(const store::EventProblem& problem);
Json bill_detail_json(const store::BillDetail& detail);

// A run without its config snapshot (lists); run_json(..., true) adds "config".
Json run_json(const store::IntegrationRunRecord& run, bool with_config = false);
Json delivery_json(const store::DeliveryRecord& delivery);
Json exchange_json(const store::StoredExchange& exchange);
Json run_detail_json(const store::IntegrationRunDetail& detail);

Json event_json(const OutboxEvent& event);
Json event_detail_json(const store::EventDetail& detail);

// A mapping in the SPEC §3 shape plus "source": "config" | "api".
Json mapping_json(const ExternalMapping& mapping, std::string_view source);

// An ISO-8601 instant ("...Z", milliseconds shown when non-zero), or null.
Json instant_json(const std::optional<Instant>& instant);

}  // namespace meterbridge::app

#pragma once
// The JSON of Azure's metering API (seed 003) as pure functions: request
// bodies out, typed results in. Quantities are read from the number's text.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/result.hpp"
#include "meterbridge/core/usage_event.hpp"

namespace meterbridge::azure {

// {"resourceId":..,"quantity":5,"dimension":..,"effectiveStartTime":"2026-01-01T09:00:00Z","planId":..}
std::string encode_usage_event(const UsageEventRequest& event);

// {"request":[ ...events... ]}. The caller keeps to kMaxEventsPerBatch.
std::string encode_batch(std::span<const UsageEventRequest> events);

// The 200 answer of batchUsageEvent: {"count":n,"result":[...]}, every entry
// decoded, Duplicate's error.additionalInfo.acceptedMessage included.
Result<std::vector<UsageEventResult>> decode_batch_response(std::string_view body);

// One entry of a batch answer, or the 200 answer of usageEvent.
Result<UsageEventResult> decode_usage_event_result(std::string_view body);

// Any answer of the single usageEvent API: 200 (Accepted), 409 (Duplicate,
// with acceptedMessage), 400 (status from details[0].code when it names a
// per-event status, else BadArgument; error_code/message from the details).
// Other statuses are an Error.
Result<UsageEventResult> decode_usage_event_response(int http_status, std::string_view body);

}  // namespace meterbridge::azure

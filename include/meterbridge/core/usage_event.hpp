#pragma once
// Azure Marketplace usage events as meterbridge sends them and Azure answers
// them (seed 003: usageEvent / batchUsageEvent). Plain data shared by the
// core decisions, the metering client, the sandbox and the store.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/decimal.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge {

inline constexpr std::size_t kMaxEventsPerBatch = 25;

// One event we send. meterbridge only ever sends whole units, > 0.
struct UsageEventRequest {
    std::string resource_id;
    std::string plan_id;
    std::string dimension;
    std::int64_t quantity = 0;
    Instant effective_start_time;  // always the start of a UTC hour

    friend bool operator==(const UsageEventRequest&, const UsageEventRequest&) = default;
};

// Per-event status of a batchUsageEvent answer (seed 003 status table).
enum class UsageEventStatus {
    Accepted,
    Expired,
    Duplicate,
    Error,
    ResourceNotFound,
    ResourceNotAuthorized,
    ResourceNotActive,  // the SaaS subscription is not in Subscribed status
    InvalidDimension,
    InvalidQuantity,
    BadArgument,
    Unrecognized,  // a status word this build does not know; treated as rejected
};

UsageEventStatus usage_event_status_from(std::string_view text);  // Unrecognized if unknown
std::string_view to_string(UsageEventStatus status);

// The event Azure already holds for a slot (Duplicate's acceptedMessage).
struct AcceptedMessage {
    std::string usage_event_id;
    Decimal quantity;
    std::string message_time;  // as sent by Azure
    std::string plan_id;
};

// Azure's answer for one event of a batch.
struct UsageEventResult {
    UsageEventStatus status = UsageEventStatus::Unrecognized;
    std::string status_text;     // as sent by Azure
    std::string usage_event_id;  // Accepted only
    std::string message_time;    // as sent by Azure
    std::string resource_id;
    std::string dimension;
    std::string plan_id;
    Decimal quantity;                   // as recorded by Azure, exact
    std::optional<Instant> effective_start_time;
    std::optional<AcceptedMessage> accepted_message;  // Duplicate only
    std::string error_code;     // error.code, e.g. "Conflict" or "BadArgument"
    std::string error_message;  // error.message
};

}  // namespace meterbridge

#pragma once
// What the three reconciliation source clients (usage events, partner
// billing export, EA charges) share: their retry rules and the callback that
// receives Azure's rows. Reading is idempotent, so unlike the metering
// client they retry every failure worth retrying (timeouts and resets
// included), within a bounded deadline per request.
#include <chrono>
#include <functional>

#include "meterbridge/azure/metering_client.hpp"
#include "meterbridge/azure/retry_policy.hpp"
#include "meterbridge/core/recon.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge::azure {

struct SourceRetryOptions {
    Duration request_timeout = std::chrono::seconds(60);  // per attempt, from write to last byte read
    Duration deadline = std::chrono::minutes(5);          // all attempts and waits of one request
    int max_attempts = 8;                                 // HTTP attempts per request (a 401/403 refresh included)
    BackoffPolicy backoff;
};

// Receives each row as parsed, in Azure's order. An Error stops the fetch,
// which returns it (e.g. AzureEvidence::add's overflow).
using RowSink = std::function<Status(const recon::AzureRow& row)>;

// Error codes of the source clients (Error::code); the message names the
// request, the HTTP status and Azure's own code and message.
inline constexpr std::string_view kSourceRefused = "source_refused";          // 4xx (bad dates, key, token...)
inline constexpr std::string_view kSourceUnavailable = "source_unavailable";  // 5xx, 429, timeouts, resets after retries
inline constexpr std::string_view kSourceUnreadable = "source_unreadable";    // an answer the parsers refuse
inline constexpr std::string_view kExportFailed = "export_failed";            // Graph's operation ended "failed"
inline constexpr std::string_view kExportTimeout = "export_timeout";          // still running after max_wait

}  // namespace meterbridge::azure

#pragma once
// The Marketplace metering client: batchUsageEvent with Entra tokens, the
// retry policy of SPEC §4, typed per-event results and logged exchanges.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "meterbridge/azure/retry_policy.hpp"
#include "meterbridge/azure/token_provider.hpp"
#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/usage_event.hpp"
#include "meterbridge/net/http_client.hpp"

namespace meterbridge::azure {

struct MeteringClientOptions {
    std::string base_url = "https://marketplaceapi.microsoft.com";
    std::string api_version = "2018-08-31";
    Duration request_timeout = std::chrono::seconds(30);  // per attempt, from write to last byte read
    Duration deadline = std::chrono::minutes(2);          // all attempts and waits of one post_batch
    int max_attempts = 6;                                 // HTTP attempts per post_batch (401/403 refresh included)
    BackoffPolicy backoff;
    // A Retry-After longer than this ends the call instead of being slept
    // through: the caller stores it with the events (SPEC §4: it holds
    // across ticks and restarts), and a sending tick is not held up for it.
    Duration longest_wait = std::chrono::seconds(5);
};

// Injected so that tests neither sleep nor depend on chance.
struct RetryHooks {
    std::function<double()> random01;       // uniform in [0, 1); default: a seeded PRNG
    std::function<void(Duration)> sleep;    // default: std::this_thread::sleep_for
};
// `hooks` with the defaults filled in where unset (every client of this room uses it).
RetryHooks with_default_hooks(RetryHooks hooks);

// How a post_batch ended (SPEC §4 "What Azure may hold"). Only Answered
// carries per-event answers; of the others, only MayHold leaves Azure
// possibly holding the events.
enum class BatchOutcomeKind {
    Answered,    // HTTP 200: results[] holds Azure's answer per event
    MayHold,     // a request was written and got no per-event answer (5xx, timeout, reset, unreadable 200):
                 // Azure may hold the events; re-send them unchanged until answered
    NotSent,     // no request reached Azure (every connection failed before writing)
    Throttled,   // 429 or 408 for the whole request: nothing recorded; retry_after says when, if Azure said
    Refused,     // another 4xx for the whole request (401/403 after a token refresh, 400, 404...): nothing
                 // recorded, and the same batch would be refused again
    TokenError,  // no access token (wrong secret, Entra unreachable); nothing sent to Azure
};
std::string_view to_string(BatchOutcomeKind kind) noexcept;

struct BatchOutcome {
    BatchOutcomeKind kind = BatchOutcomeKind::NotSent;
    // Answered only: results[i] is Azure's answer for events[i], matched by
    // resourceId (case-insensitive), dimension and effectiveStartTime's UTC
    // hour; by position when the answer omits those fields and has exactly
    // one entry per request. nullopt if the answer had no entry for it.
    std::vector<std::optional<UsageEventResult>> results;
    std::vector<UsageEventResult> unmatched;  // answer entries that matched no request
    // Some attempt of this call was written and went unanswered (a 5xx,
    // reset, timeout or unreadable 200 before a later attempt): Azure may
    // hold the events from it. Always true for MayHold; for Answered it means
    // a Duplicate of our own quantity is our own earlier attempt.
    bool may_hold = false;
    std::optional<Duration> retry_after;  // Azure's Retry-After on the last answer, if any
    int http_status = 0;  // of the last attempt (0: no HTTP answer)
    std::string body;     // of the last answer
    std::string error;    // what went wrong (not Answered)
    int attempts = 0;     // HTTP requests made
    bool token_refreshed = false;  // a 401/403 made us fetch a new token
    std::string request_id;        // x-ms-requestid of the last attempt
    std::string correlation_id;    // x-ms-correlationid shared by all attempts
};

// Thread-safe if the transport, token provider, clock and log are (ours are).
class MeteringClient {
public:
    MeteringClient(MeteringClientOptions options, net::HttpTransport& transport, TokenProvider& tokens,
                   const Clock& clock, ExchangeLog* log = nullptr, RetryHooks hooks = {});

    // POST /api/batchUsageEvent. Retries (same events, same correlation id,
    // a fresh request id) on not_sent, 408/429/5xx (waiting at least
    // Retry-After), and once on 401/403 after refreshing the token; stops at
    // max_attempts, when the next wait would pass the deadline, or when
    // Retry-After asks for more than longest_wait. A timeout, reset or
    // unreadable 200 is returned at once as MayHold: the caller re-sends
    // later (Azure answers Duplicate for events it already holds).
    // Throws std::invalid_argument for an empty batch or more than
    // kMaxEventsPerBatch events: a programmer error.
    BatchOutcome post_batch(std::span<const UsageEventRequest> events);

    // Matches a 200 answer to the requests (exposed for tests).
    static void match_results(std::span<const UsageEventRequest> events, std::vector<UsageEventResult> answer,
                              BatchOutcome& outcome);

private:
    MeteringClientOptions options_;
    net::HttpTransport& transport_;
    TokenProvider& tokens_;
    const Clock& clock_;
    ExchangeLog* log_;
    RetryHooks hooks_;
};

}  // namespace meterbridge::azure

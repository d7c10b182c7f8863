#include "meterbridge/azure/metering_client.hpp"

#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "meterbridge/azure/guid.hpp"
#include "meterbridge/azure/wire_format.hpp"
#include "meterbridge/net/logged_exchange.hpp"

namespace meterbridge::azure {
namespace {

bool same_resource(std::string_view a, std::string_view b) { return net::iequals(a, b); }


// What the last HTTP answer (0: none, the connection was never made) means
// for a call that ends without per-event answers (SPEC §4 "What Azure may hold").
BatchOutcomeKind unanswered_kind(int status) {
    if (status == 0) return BatchOutcomeKind::NotSent;
    if (status >= 500) return BatchOutcomeKind::MayHold;  // a gateway may answer after Azure recorded it
    if (status == 429 || status == 408) return BatchOutcomeKind::Throttled;
    return BatchOutcomeKind::Refused;
}

}  // namespace

RetryHooks with_default_hooks(RetryHooks hooks) {
    if (!hooks.random01) {
        auto engine = std::make_shared<std::pair<std::mutex, std::mt19937_64>>();
        engine->second.seed(std::random_device{}());
        hooks.random01 = [engine] {
            std::lock_guard lock(engine->first);
            return std::uniform_real_distribution<double>(0.0, 1.0)(engine->second);
        };
    }
    if (!hooks.sleep) hooks.sleep = [](Duration d) { std::this_thread::sleep_for(d); };
    return hooks;
}

std::string_view to_string(BatchOutcomeKind kind) noexcept {
    switch (kind) {
        case BatchOutcomeKind::Answered: return "answered";
        case BatchOutcomeKind::MayHold: return "may_hold";
        case BatchOutcomeKind::NotSent: return "not_sent";
        case BatchOutcomeKind::Throttled: return "throttled";
        case BatchOutcomeKind::Refused: return "refused";
        case BatchOutcomeKind::TokenError: return "token_error";
    }
    return "unknown";
}

MeteringClient::MeteringClient(MeteringClientOptions options, net::HttpTransport& transport, TokenProvider& tokens,
                               const Clock& clock, ExchangeLog* log, RetryHooks hooks)
    : options_(std::move(options)), transport_(transport), tokens_(tokens), clock_(clock), log_(log),
      hooks_(with_default_hooks(std::move(hooks))) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
}

void MeteringClient::match_results(std::span<const UsageEventRequest> events, std::vector<UsageEventResult> answer,
                                   BatchOutcome& outcome) {
    outcome.results.assign(events.size(), std::nullopt);
    // Azure echoes resourceId and effectiveStartTime in each entry; when it
    // does not, the entries can only be read in request order, and only if
    // there is exactly one per request (decode_batch_response checked count).
    const bool by_position = answer.size() == events.size();
    for (std::size_t k = 0; k < answer.size(); ++k) {
        UsageEventResult& result = answer[k];
        const bool echoed = !result.resource_id.empty() && result.effective_start_time.has_value();
        bool placed = false;
        if (!echoed && by_position && !outcome.results[k] &&
            (result.dimension.empty() || result.dimension == events[k].dimension)) {
            outcome.results[k] = std::move(result);
            placed = true;
        }
        for (std::size_t i = 0; echoed && i < events.size() && !placed; ++i) {
            const auto& event = events[i];
            if (outcome.results[i] || !same_resource(event.resource_id, result.resource_id) ||
                event.dimension != result.dimension ||
                floor_hour(*result.effective_start_time) != floor_hour(event.effective_start_time)) {
                continue;
            }
            outcome.results[i] = std::move(result);
            placed = true;
        }
        if (!placed) outcome.unmatched.push_back(std::move(result));
    }
}

BatchOutcome MeteringClient::post_batch(std::span<const UsageEventRequest> events) {
    if (events.empty() || events.size() > kMaxEventsPerBatch) {
        throw std::invalid_argument("post_batch takes 1 to " + std::to_string(kMaxEventsPerBatch) + " events, not " +
                                    std::to_string(events.size()));
    }
    BatchOutcome outcome;
    outcome.correlation_id = random_guid();
    const std::string body = encode_batch(events);
    const Instant deadline = clock_.now() + options_.deadline;
    bool refreshed = false;
    int retries = 0;

    // How the call ends without per-event answers. Once an attempt may have
    // been recorded, no later failure can prove that Azure holds nothing.
    const auto end = [&](BatchOutcomeKind kind, std::string error) -> BatchOutcome {
        outcome.kind = outcome.may_hold ? BatchOutcomeKind::MayHold : kind;
        outcome.error = std::move(error);
        return std::move(outcome);
    };
    // Waits before the next attempt; false when that would pass the deadline
    // or Retry-After asks for longer than we wait inside one call.
    const auto wait = [&](std::optional<Duration> retry_after) {
        Duration delay = backoff_delay(options_.backoff, retries++, hooks_.random01());
        if (retry_after) {
            if (*retry_after > options_.longest_wait) return false;
            delay = std::max(delay, *retry_after);
        }
        if (clock_.now() + delay >= deadline) return false;
        hooks_.sleep(delay);
        return true;
    };

    while (outcome.attempts < options_.max_attempts) {
        auto token = tokens_.access_token();
        if (!token) return end(BatchOutcomeKind::TokenError, token.error().message);
        net::HttpRequestSpec request;
        request.method = "POST";
        request.url = options_.base_url + "/api/batchUsageEvent?api-version=" + net::form_encode(options_.api_version);
        outcome.request_id = random_guid();
        request.headers.set("Authorization", "Bearer " + *token);
        request.headers.set("Content-Type", "application/json");
        request.headers.set("Accept", "application/json");
        request.headers.set("x-ms-requestid", outcome.request_id);
        request.headers.set("x-ms-correlationid", outcome.correlation_id);
        request.body = body;
        const auto left = std::chrono::duration_cast<Duration>(deadline - clock_.now());
        request.read_timeout = std::clamp(left, Duration(1000), options_.request_timeout);

        ++outcome.attempts;
        outcome.retry_after.reset();
        auto answer = net::send_logged(transport_, request, ExchangeKind::Azure, log_, clock_);
        if (!answer) {
            outcome.http_status = 0;
            outcome.body.clear();
            if (answer.error().code == net::kNotSent) {
                if (wait(std::nullopt)) continue;
                return end(BatchOutcomeKind::NotSent, answer.error().message);
            }
            // Written, then no answer (timeout, reset): Azure may have
            // recorded it. Returned at once: the caller re-sends later.
            outcome.may_hold = true;
            return end(BatchOutcomeKind::MayHold, answer.error().message);
        }
        outcome.http_status = answer->status;
        outcome.body = answer->body;
        if (const auto header = answer->headers.get("retry-after")) {
            outcome.retry_after = parse_retry_after(*header, clock_.now());
        }
        if (answer->status == 200) {
            auto decoded = decode_batch_response(answer->body);
            if (!decoded) {
                outcome.may_hold = true;
                return end(BatchOutcomeKind::MayHold, "unreadable 200 answer: " + decoded.error().message);
            }
            outcome.kind = BatchOutcomeKind::Answered;
            outcome.error.clear();
            match_results(events, std::move(*decoded), outcome);
            return outcome;
        }
        const std::string error = "batchUsageEvent answered HTTP " + std::to_string(answer->status);
        // A gateway (or Azure itself) may answer 5xx after Azure recorded the batch.
        if (answer->status >= 500) outcome.may_hold = true;
        if ((answer->status == 401 || answer->status == 403) && !refreshed) {
            refreshed = true;
            outcome.token_refreshed = true;
            tokens_.invalidate(*token);
            continue;
        }
        if (is_retryable_status(answer->status) && wait(outcome.retry_after)) continue;
        return end(unanswered_kind(answer->status), error);
    }
    // max_attempts reached: the last attempt says what the outcome is.
    return end(unanswered_kind(outcome.http_status),
               "batchUsageEvent: " + std::to_string(outcome.attempts) + " attempts without an answer");
}

}  // namespace meterbridge::azure

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

RetryHooks with_defaults(RetryHooks hooks) {
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

}  // namespace

std::string_view to_string(BatchOutcomeKind kind) noexcept {
    switch (kind) {
        case BatchOutcomeKind::Answered: return "answered";
        case BatchOutcomeKind::NotSent: return "not_sent";
        case BatchOutcomeKind::OutcomeUnknown: return "outcome_unknown";
        case BatchOutcomeKind::HttpError: return "http_error";
        case BatchOutcomeKind::TokenError: return "token_error";
    }
    return "unknown";
}

MeteringClient::MeteringClient(MeteringClientOptions options, net::HttpTransport& transport, TokenProvider& tokens,
                               const Clock& clock, ExchangeLog* log, RetryHooks hooks)
    : options_(std::move(options)), transport_(transport), tokens_(tokens), clock_(clock), log_(log),
      hooks_(with_defaults(std::move(hooks))) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
}

void MeteringClient::match_results(std::span<const UsageEventRequest> events, std::vector<UsageEventResult> answer,
                                   BatchOutcome& outcome) {
    outcome.results.assign(events.size(), std::nullopt);
    for (auto& result : answer) {
        bool placed = false;
        for (std::size_t i = 0; i < events.size() && !placed; ++i) {
            const auto& event = events[i];
            if (outcome.results[i] || !same_resource(event.resource_id, result.resource_id) ||
                event.dimension != result.dimension || !result.effective_start_time ||
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
    bool anything_sent = false;

    // Waits before the next attempt; false when that would pass the deadline.
    const auto wait = [&](std::optional<Duration> retry_after) {
        Duration delay = backoff_delay(options_.backoff, retries++, hooks_.random01());
        if (retry_after) delay = std::max(delay, *retry_after);
        if (clock_.now() + delay >= deadline) return false;
        hooks_.sleep(delay);
        return true;
    };

    while (outcome.attempts < options_.max_attempts) {
        auto token = tokens_.access_token();
        if (!token) {
            outcome.kind = anything_sent ? BatchOutcomeKind::HttpError : BatchOutcomeKind::TokenError;
            outcome.error = token.error().message;
            return outcome;
        }
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
        auto answer = net::send_logged(transport_, request, ExchangeKind::Azure, log_, clock_);
        if (!answer) {
            outcome.error = answer.error().message;
            outcome.http_status = 0;
            if (answer.error().code == net::kNotSent) {
                outcome.kind = anything_sent ? BatchOutcomeKind::HttpError : BatchOutcomeKind::NotSent;
                if (wait(std::nullopt)) continue;
                return outcome;
            }
            outcome.kind = answer.error().code == net::kOutcomeUnknown ? BatchOutcomeKind::OutcomeUnknown
                                                                         : BatchOutcomeKind::NotSent;
            return outcome;
        }
        anything_sent = true;
        outcome.http_status = answer->status;
        outcome.body = answer->body;
        if (answer->status == 200) {
            auto decoded = decode_batch_response(answer->body);
            if (!decoded) {
                // Azure may have recorded the events: treat as unknown, re-send later.
                outcome.kind = BatchOutcomeKind::OutcomeUnknown;
                outcome.error = "unreadable 200 answer: " + decoded.error().message;
                return outcome;
            }
            outcome.kind = BatchOutcomeKind::Answered;
            outcome.error.clear();
            match_results(events, std::move(*decoded), outcome);
            return outcome;
        }
        outcome.kind = BatchOutcomeKind::HttpError;
        outcome.error = "batchUsageEvent answered HTTP " + std::to_string(answer->status);
        if ((answer->status == 401 || answer->status == 403) && !refreshed) {
            refreshed = true;
            outcome.token_refreshed = true;
            tokens_.invalidate(*token);
            continue;
        }
        if (is_retryable_status(answer->status)) {
            std::optional<Duration> retry_after;
            if (const auto header = answer->headers.get("retry-after")) {
                retry_after = parse_retry_after(*header, clock_.now());
            }
            if (wait(retry_after)) continue;
        }
        return outcome;
    }
    return outcome;
}

}  // namespace meterbridge::azure

#include "source_call.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "meterbridge/net/logged_exchange.hpp"

namespace meterbridge::azure::detail {
namespace {

std::string json_text(const nlohmann::json& value) {
    return value.is_string() ? value.get<std::string>() : (value.is_null() ? std::string() : value.dump());
}

// <Tag>text</Tag> of a small XML body (Azure Storage's errors), or "".
std::string xml_element(std::string_view body, std::string_view tag) {
    const std::string open = "<" + std::string(tag) + ">";
    const std::string close = "</" + std::string(tag) + ">";
    const auto start = body.find(open);
    if (start == std::string_view::npos) return {};
    const auto end = body.find(close, start + open.size());
    if (end == std::string_view::npos) return {};
    return std::string(body.substr(start + open.size(), end - start - open.size()));
}

std::string join(std::string code, const std::string& message) {
    if (code.empty()) return message;
    return message.empty() ? code : code + ": " + message;
}

}  // namespace

std::string describe_answer(const net::HttpExchangeResult& answer) {
    const std::string_view body = answer.body;
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (!json.is_discarded() && json.is_object()) {
        std::string code, message, detail;
        if (const auto error = json.find("error"); error != json.end() && error->is_object()) {
            code = json_text(error->value("code", nlohmann::json()));
            message = json_text(error->value("message", nlohmann::json()));
        } else if (error != json.end() && error->is_string()) {  // Entra's shape
            code = error->get<std::string>();
            message = json_text(json.value("error_description", nlohmann::json()));
        } else {
            code = json_text(json.value("code", nlohmann::json()));
            message = json_text(json.value("message", nlohmann::json()));
        }
        // The metering API puts the field at fault in details[0].
        if (const auto details = json.find("details"); details != json.end() && details->is_array() &&
                                                       !details->empty() && (*details)[0].is_object()) {
            const auto& first = (*details)[0];
            detail = json_text(first.value("target", nlohmann::json()));
            const std::string said = json_text(first.value("message", nlohmann::json()));
            detail = detail.empty() ? said : detail + ": " + said;
        }
        std::string out = join(code, message);
        if (!detail.empty()) out += " (" + detail + ")";
        if (!out.empty()) return out;
    }
    std::string code = xml_element(body, "Code");
    if (code.empty()) code = answer.headers.get("x-ms-error-code").value_or("");
    if (!code.empty() || body.find("<Error>") != std::string_view::npos) {
        std::string out = join(code, xml_element(body, "Message"));
        if (const auto detail = xml_element(body, "AuthenticationErrorDetail"); !detail.empty()) {
            out += " (" + detail + ")";
        }
        return out;
    }
    return body.empty() ? std::string("(no body)") : std::string(body.substr(0, 300));
}

Error answer_error(std::string_view what, const net::HttpExchangeResult& answer) {
    const bool refused = answer.status >= 400 && answer.status < 500 && answer.status != 408 && answer.status != 429;
    return make_error(std::string(refused ? kSourceRefused : kSourceUnavailable),
                      std::string(what) + " answered HTTP " + std::to_string(answer.status) + ": " +
                          describe_answer(answer));
}

std::string absolute_url(std::string_view base_url, std::string_view link) {
    if (link.find("://") != std::string_view::npos) return std::string(link);
    const auto scheme = base_url.find("://");
    const auto slash = base_url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
    const std::string origin(base_url.substr(0, slash));
    return origin + (link.starts_with('/') ? "" : "/") + std::string(link);
}

Result<net::HttpExchangeResult> send_with_retries(const SourceCall& call, net::HttpRequestSpec request,
                                                  std::string_view what, const SendExtras& extras) {
    const Instant deadline = call.clock.now() + call.retry.deadline;
    bool refreshed = false;
    int attempts = 0;
    int retries = 0;
    std::string last_failure;
    // Waits before the next attempt; false when that would pass the deadline.
    const auto wait = [&](std::optional<Duration> retry_after) {
        Duration delay = backoff_delay(call.retry.backoff, retries++, call.hooks.random01());
        if (retry_after) delay = std::max(delay, *retry_after);
        if (call.clock.now() + delay >= deadline) return false;
        call.hooks.sleep(delay);
        return true;
    };
    const auto give_up = [&](std::string why) {
        return make_error(std::string(kSourceUnavailable), std::string(what) + ": " + why + " (after " +
                                                               std::to_string(attempts) + " attempt" +
                                                               (attempts == 1 ? "" : "s") + ")");
    };

    while (attempts < call.retry.max_attempts) {
        if (attempts > 0 && extras.before_retry) extras.before_retry();
        if (extras.auth != nullptr) {
            if (auto authorized = extras.auth->authorize(request); !authorized) return authorized.error();
        }
        const auto left = std::chrono::duration_cast<Duration>(deadline - call.clock.now());
        request.read_timeout = std::clamp(left, Duration(1000), call.retry.request_timeout);
        ++attempts;
        auto answer = extras.sink != nullptr
                          ? net::send_streaming_logged(call.transport, request, *extras.sink, ExchangeKind::Azure,
                                                       call.log, call.clock, extras.summary)
                          : net::send_logged(call.transport, request, ExchangeKind::Azure, call.log, call.clock);
        if (!answer) {
            const auto& code = answer.error().code;
            // The sink's own refusal (a bad line, the caller's stop) is final.
            if (code != net::kNotSent && code != net::kOutcomeUnknown) return answer.error();
            last_failure = answer.error().message;
            if (wait(std::nullopt)) continue;
            return give_up(last_failure);
        }
        if ((answer->status == 401 || answer->status == 403) && extras.auth != nullptr && extras.auth->rejected &&
            !refreshed) {
            refreshed = true;
            extras.auth->rejected(request);
            continue;
        }
        if (!is_retryable_status(answer->status)) return answer;
        std::optional<Duration> retry_after;
        if (const auto header = answer->headers.get("retry-after")) {
            retry_after = parse_retry_after(*header, call.clock.now());
        }
        last_failure = answer_error(what, *answer).message;
        if (attempts < call.retry.max_attempts && wait(retry_after)) continue;
        return answer;  // the caller words the last answer
    }
    return give_up(last_failure.empty() ? "no answer" : last_failure);
}

}  // namespace meterbridge::azure::detail

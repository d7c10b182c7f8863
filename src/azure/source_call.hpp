#pragma once
// Internal to the source clients: one request sent with the retry rules of
// SourceRetryOptions, and the wording of Azure's error answers.
#include <functional>
#include <string>
#include <string_view>

#include "meterbridge/azure/source_request.hpp"
#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/net/http_client.hpp"

namespace meterbridge::azure::detail {

struct SourceCall {
    net::HttpTransport& transport;
    const Clock& clock;
    ExchangeLog* log;
    const RetryHooks& hooks;  // filled (with_default_hooks)
    const SourceRetryOptions& retry;
};

// Sets the request's Authorization header for one attempt; `rejected` is
// told of a 401/403 so that the next attempt gets a fresh token.
struct Authorizer {
    std::function<Status(net::HttpRequestSpec& request)> authorize;
    std::function<void(const net::HttpRequestSpec& request)> rejected;
};

// Sends `request` until an answer that is not worth retrying arrives: any
// status except 408/429/5xx, and a 401/403 only after one token refresh
// (when `auth` can refresh). Transport failures, 408, 429 and 5xx are
// retried after max(backoff, Retry-After) while max_attempts and the
// deadline allow. The answer is returned whatever its status; an Error only
// when no answer could be had (code kSourceUnavailable, or the token's).
// `sink`: stream a 2xx body there (send_streaming), `summary` for the log.
// `before_retry` runs before each new attempt (e.g. to reset a sink's state).
struct SendExtras {
    const net::BodySink* sink = nullptr;
    std::function<std::string()> summary;
    std::function<void()> before_retry;
    const Authorizer* auth = nullptr;
};
inline SendExtras with_auth(const Authorizer& auth) {
    SendExtras extras;
    extras.auth = &auth;
    return extras;
}
Result<net::HttpExchangeResult> send_with_retries(const SourceCall& call, net::HttpRequestSpec request,
                                                  std::string_view what, const SendExtras& extras = {});

// "Azure's code: message" from a JSON error body ({"error":{"code","message"}},
// {"code","message","details":[...]}, Entra's {"error","error_description"}),
// Azure Storage's XML (<Code>, <Message>, <AuthenticationErrorDetail>) or the
// x-ms-error-code header; the start of the body otherwise.
std::string describe_answer(const net::HttpExchangeResult& answer);

// The Error for a non-success answer: kSourceRefused for 4xx, else
// kSourceUnavailable, "<what> answered HTTP <status>: <describe_answer>".
Error answer_error(std::string_view what, const net::HttpExchangeResult& answer);

// `link` as an absolute URL: kept if it has a scheme, else joined to
// `base_url` (scheme://host[:port]).
std::string absolute_url(std::string_view base_url, std::string_view link);

}  // namespace meterbridge::azure::detail

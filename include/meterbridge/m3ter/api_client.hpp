#pragma once
// The m3ter REST API, for the webhook deliveries that carry only a bill id
// and for account data behind the account filter (SPEC §2 `m3ter`, §3, §4).
// OAuth2 client credentials against {base_url}/oauth/token; the token is
// cached and refreshed before expiry, one refresh in flight at a time
// (net::TokenCache, as in azure::TokenProvider). No Beast here: HTTP goes through net::HttpTransport.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/m3ter/m3ter_config.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/http_client.hpp"
#include "meterbridge/net/token_cache.hpp"

namespace meterbridge::m3ter {

// Error codes of ApiClient (Error::code). Error::field names the id concerned.
inline constexpr std::string_view kNotFound = "not_found";        // m3ter answered 404 for the bill/account
inline constexpr std::string_view kUnauthorized = "unauthorized";  // credentials refused, or 401/403 after a refresh
inline constexpr std::string_view kUnavailable = "unavailable";    // transport failure, timeout, 429/5xx, bad answer
inline constexpr std::string_view kRejected = "rejected";          // any other 4xx: m3ter refused the request

struct ApiClientOptions {
    std::string base_url = "https://api.m3ter.com";  // no trailing '/'
    std::string org_id;
    std::string client_id;
    std::string client_secret;
    // A token is refreshed this long before it expires, or at half its
    // lifetime if that comes first (short-lived tokens).
    Duration refresh_margin = std::chrono::minutes(5);
    // Per exchange, from the first byte written to the last byte read. Short:
    // a webhook delivery waits on it. Connecting is bounded by the transport.
    Duration request_timeout = std::chrono::seconds(10);

    static ApiClientOptions from_config(const M3terConfig& config);
};

// The Basic credentials for the token endpoint: "Basic base64(id:secret)"
// (exposed for tests and the fake; contains the secret).
std::string basic_authorization(std::string_view client_id, std::string_view client_secret);

// Thread-safe: any number of threads may call fetch_*() at once; however many
// need a token at the same moment, one request goes to m3ter and all share its
// answer. Token expiry uses the injected clock only. `transport`, `clock` and
// `log` must outlive the client; `log` may be null. Every exchange, the token
// requests included, is recorded there with kind M3ter; Authorization headers,
// the client secret and access tokens are redacted. Error messages never
// contain the client secret or an access token.
class ApiClient {
public:
    ApiClient(ApiClientOptions options, net::HttpTransport& transport, const Clock& clock,
              ExchangeLog* log = nullptr);
    ApiClient(const ApiClient&) = delete;
    ApiClient& operator=(const ApiClient&) = delete;

    // GET /organizations/{org}/bills/{id}, decoded with parse_exact_json and
    // parse_bill (amounts exact). A bill that fails validation keeps
    // parse_bill's error (code and field); one whose id differs from the one
    // asked for is kUnavailable.
    Result<Bill> fetch_bill(std::string_view bill_id);

    // GET /organizations/{org}/accounts/{id}: the Account object as m3ter
    // sends it, parsed with parse_exact_json (numbers in customFields exact).
    Result<Json> fetch_account(std::string_view account_id);

    std::uint64_t token_fetch_count() const;  // requests made to /oauth/token (metrics, tests)

private:
    // GET {base_url}/organizations/{org}/{collection}/{id} with a bearer
    // token; on 401 the token is refreshed once and the request retried.
    // Returns the body of a 200; every other outcome as an Error.
    Result<std::string> get_entity(std::string_view collection, std::string_view entity, std::string_view id);
    // One exchange, recorded in log_ with the client secret, its Basic
    // encoding and `token` scrubbed from every field.
    Result<net::HttpExchangeResult> send(const net::HttpRequestSpec& request, std::string_view token);
    Result<net::AccessToken> fetch_token();

    ApiClientOptions options_;
    net::HttpTransport& transport_;
    const Clock& clock_;
    ExchangeLog* log_;
    net::TokenCache tokens_;  // after the members fetch_token() uses
};

}  // namespace meterbridge::m3ter

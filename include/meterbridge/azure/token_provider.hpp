#pragma once
// Entra ID (Azure AD) client-credentials tokens for the Marketplace metering
// API. Cached, refreshed before expiry, one refresh in flight at a time.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/http_client.hpp"
#include "meterbridge/net/token_cache.hpp"

namespace meterbridge::azure {

// The Marketplace metering API's application id (the token's audience).
inline constexpr std::string_view kMarketplaceResourceId = "20e940b3-4c77-4b0b-9a53-9e16a1b010a7";

struct TokenProviderOptions {
    // https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token (v2, `scope`), or
    // .../oauth2/token (v1, `resource`): the form follows the URL.
    std::string token_url;
    std::string client_id;
    std::string client_secret;
    std::string resource = std::string(kMarketplaceResourceId);
    // A token is refreshed this long before it expires, or at half its
    // lifetime if that comes first (short-lived tokens).
    Duration refresh_margin = std::chrono::minutes(5);
    std::optional<Duration> request_timeout;  // default: the transport's read timeout
};

// True when `token_url` is an Entra v1 endpoint (path ends in /oauth2/token).
bool is_v1_token_url(std::string_view token_url);

// The form body sent to the token endpoint (exposed for tests; contains the secret).
std::string token_request_body(const TokenProviderOptions& options);

using AccessToken = net::AccessToken;

// Parses Entra's 200 answer: access_token, and expires_in as a number or a
// string (v1). `now` is when the request started.
Result<AccessToken> parse_token_response(std::string_view body, Instant now);

// Thread-safe. access_token() blocks while a refresh runs; however many
// threads ask at once, one request goes to Entra and all share its result
// (net::TokenCache).
// Expiry uses the injected clock only. `transport`, `clock` and `log` must
// outlive the provider; `log` may be null.
class TokenProvider {
public:
    TokenProvider(TokenProviderOptions options, net::HttpTransport& transport, const Clock& clock,
                  ExchangeLog* log = nullptr);
    TokenProvider(const TokenProvider&) = delete;  // the cache calls back into this object
    TokenProvider& operator=(const TokenProvider&) = delete;

    // A valid token, fetched if none is cached or it is due for refresh. If
    // a refresh fails while the cached token is still valid, that one is
    // returned. Errors: "token_rejected" (Entra answered 4xx; the message
    // carries Entra's error body, never the secret), "token_unavailable"
    // (transport failure, 5xx, unreadable answer).
    Result<std::string> access_token();

    // Forget the cached token (after a 401/403 from the API). With `rejected`
    // given, only if the cached token is that one, so that a token another
    // thread just fetched is not thrown away.
    void invalidate(std::string_view rejected = {});

    std::uint64_t fetch_count() const;  // requests made to Entra (metrics, tests)

private:
    Result<AccessToken> fetch();

    TokenProviderOptions options_;
    net::HttpTransport& transport_;
    const Clock& clock_;
    ExchangeLog* log_;
    net::TokenCache cache_;  // after the members fetch() uses
};

}  // namespace meterbridge::azure

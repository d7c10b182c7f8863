#pragma once
// One cached bearer token for a client of an OAuth2 token endpoint (Entra for
// the metering API, m3ter for its REST API): fetched once however many
// threads ask at the same moment, refreshed before it expires, forgotten when
// the API refuses it. The fetch itself (request, parsing, error wording)
// belongs to the client; the cache only decides when to call it.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge::net {

struct AccessToken {
    std::string value;
    Instant obtained_at;  // when the request for it started
    Instant expires_at;
};

// Thread-safe. get() blocks while a fetch runs; however many threads ask at
// once, `fetch` runs once and all share its result. Expiry uses the injected
// clock only. `clock` must outlive the cache; `fetch` is called without the
// lock held, from one thread at a time.
class TokenCache {
public:
    using Fetch = std::function<Result<AccessToken>()>;

    // A token is refreshed `refresh_margin` before it expires, or at half its
    // lifetime if that comes first (short-lived tokens). `no_token` is the
    // answer of a waiter that finds neither a token nor an error (another
    // thread invalidated the fresh token meanwhile).
    TokenCache(Fetch fetch, const Clock& clock, Duration refresh_margin, Error no_token);
    TokenCache(const TokenCache&) = delete;
    TokenCache& operator=(const TokenCache&) = delete;

    // A valid token, fetched if none is cached or it is due for refresh. If a
    // refresh fails while the cached token is still valid, that one is
    // returned; otherwise the fetch's error.
    Result<std::string> get();

    // Forget the cached token (after a 401/403 from the API). With `rejected`
    // given, only if the cached token is that one, so that a token another
    // thread just fetched is not thrown away.
    void invalidate(std::string_view rejected = {});

    std::uint64_t fetch_count() const;  // calls of `fetch` so far (metrics, tests)

private:
    Fetch fetch_;
    const Clock& clock_;
    Duration refresh_margin_;
    Error no_token_;

    mutable std::mutex mutex_;
    std::condition_variable refreshed_;
    std::optional<AccessToken> token_;
    std::optional<Error> last_error_;
    bool refreshing_ = false;
    std::uint64_t generation_ = 0;
    std::uint64_t fetches_ = 0;
};

}  // namespace meterbridge::net

#pragma once
// Where the account filter (SPEC §3) gets m3ter Account objects: the static
// `accounts` of the config, or the m3ter API with the static list behind it.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/m3ter/api_client.hpp"

namespace meterbridge::m3ter {

// What a lookup can say (issue 14): the Account; "unknown": nobody has it
// (m3ter answered 404, or there is no m3ter API, and no static entry); or an
// error: m3ter could not be asked or did not answer (kUnavailable: transport
// failure, timeout, 429/5xx; kUnauthorized: token refused; kRejected: another
// 4xx) and no static entry stands in. Only "unknown" may make the account
// fail the filter: after an error the caller must try again later, or a bill
// would be converted without the account and its units never sent.
using AccountLookup = Result<std::optional<Json>>;

// Implementations are thread-safe.
class AccountSource {
public:
    virtual ~AccountSource() = default;

    // The Account object with this id (see AccountLookup). May block on the
    // m3ter API for up to its request timeout.
    virtual AccountLookup account(const std::string& account_id) = 0;
};

// The config's static `accounts`, matched by their string "id" (the first
// one wins if an id repeats).
std::unique_ptr<AccountSource> make_static_account_source(std::vector<Json> accounts);

struct ApiAccountSourceOptions {
    // How long an account fetched from m3ter is believed. Accounts change
    // rarely; a bill burst for one account must not cost one request per bill.
    Duration ttl = std::chrono::minutes(5);
};

// Asks `client` (through a per-id cache of successful answers, expiring after
// `ttl` by `clock`), and falls back to the static `accounts` when m3ter does
// not answer with the account: a static entry answers whether m3ter said 404
// or failed. Without one, 404 is "unknown" and any other failure an error.
// Neither is cached: the next lookup asks again. Concurrent misses for one
// id may each ask m3ter (harmless: the answers are the same). `client` and `clock` must outlive the source.
std::unique_ptr<AccountSource> make_api_account_source(ApiClient& client, const Clock& clock,
                                                       std::vector<Json> static_accounts,
                                                       ApiAccountSourceOptions options = {});

}  // namespace meterbridge::m3ter

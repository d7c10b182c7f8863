#include "meterbridge/m3ter/account_source.hpp"

#include <mutex>
#include <unordered_map>
#include <utility>

namespace meterbridge::m3ter {
namespace {

// Immutable after construction, so reads need no lock.
class StaticAccountSource final : public AccountSource {
public:
    explicit StaticAccountSource(std::vector<Json> accounts) {
        for (auto& account : accounts) {
            const auto id = account.find("id");
            if (!account.is_object() || id == account.end() || !id->is_string()) continue;
            accounts_.try_emplace(id->get<std::string>(), std::move(account));
        }
    }

    AccountLookup account(const std::string& account_id) override { return std::optional<Json>(find(account_id)); }

    std::optional<Json> find(const std::string& account_id) const {
        const auto it = accounts_.find(account_id);
        if (it == accounts_.end()) return std::nullopt;
        return it->second;
    }

private:
    std::unordered_map<std::string, Json> accounts_;
};

class ApiAccountSource final : public AccountSource {
public:
    ApiAccountSource(ApiClient& client, const Clock& clock, std::vector<Json> static_accounts,
                     ApiAccountSourceOptions options)
        : client_(client), clock_(clock), fallback_(std::move(static_accounts)), options_(options) {}

    AccountLookup account(const std::string& account_id) override {
        {
            std::lock_guard lock(mutex_);
            const auto it = cache_.find(account_id);
            if (it != cache_.end() && clock_.now() < it->second.expires_at) {
                return std::optional<Json>(it->second.account);
            }
        }
        // No lock while m3ter is asked: other ids must not wait on this one.
        const Instant asked_at = clock_.now();
        auto fetched = client_.fetch_account(account_id);
        if (!fetched) {
            if (auto entry = fallback_.find(account_id)) return entry;
            // Only m3ter's own "no such account" is an answer; anything else
            // says nothing about the account (issue 14).
            if (fetched.error().code == kNotFound) return std::optional<Json>();
            return fetched.error();
        }
        std::lock_guard lock(mutex_);
        if (cache_.size() >= kPruneAbove) prune(asked_at);
        cache_.insert_or_assign(account_id, Entry{*fetched, asked_at + options_.ttl});
        return std::optional<Json>(std::move(fetched).value());
    }

private:
    struct Entry {
        Json account;
        Instant expires_at;
    };

    // Expired entries stay until the cache grows past this, then all go at once.
    static constexpr std::size_t kPruneAbove = 1024;

    void prune(Instant now) {
        std::erase_if(cache_, [now](const auto& item) { return !(now < item.second.expires_at); });
    }

    ApiClient& client_;
    const Clock& clock_;
    StaticAccountSource fallback_;
    ApiAccountSourceOptions options_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> cache_;
};

}  // namespace

std::unique_ptr<AccountSource> make_static_account_source(std::vector<Json> accounts) {
    return std::make_unique<StaticAccountSource>(std::move(accounts));
}

std::unique_ptr<AccountSource> make_api_account_source(ApiClient& client, const Clock& clock,
                                                       std::vector<Json> static_accounts,
                                                       ApiAccountSourceOptions options) {
    return std::make_unique<ApiAccountSource>(client, clock, std::move(static_accounts), options);
}

}  // namespace meterbridge::m3ter

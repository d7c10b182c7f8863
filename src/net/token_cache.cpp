#include "meterbridge/net/token_cache.hpp"

#include <algorithm>
#include <utility>

namespace meterbridge::net {

TokenCache::TokenCache(Fetch fetch, const Clock& clock, Duration refresh_margin, Error no_token)
    : fetch_(std::move(fetch)), clock_(clock), refresh_margin_(refresh_margin), no_token_(std::move(no_token)) {}

Result<std::string> TokenCache::get() {
    std::unique_lock lock(mutex_);
    const auto fresh = [&] {
        if (!token_) return false;
        // Refresh at the margin before expiry, or at half-life for short tokens.
        const auto lifetime = std::chrono::duration_cast<Duration>(token_->expires_at - token_->obtained_at);
        return clock_.now() < token_->expires_at - std::min(refresh_margin_, lifetime / 2);
    };
    if (fresh()) return token_->value;
    if (refreshing_) {
        // Another thread is asking the token endpoint: share its answer.
        const auto generation = generation_;
        refreshed_.wait(lock, [&] { return generation_ != generation; });
        if (token_ && clock_.now() < token_->expires_at) return token_->value;
        if (last_error_) return *last_error_;
        return no_token_;
    }
    refreshing_ = true;
    lock.unlock();
    auto fetched = fetch_();
    lock.lock();
    refreshing_ = false;
    ++generation_;
    ++fetches_;
    if (fetched) {
        token_ = std::move(*fetched);
        last_error_.reset();
    } else {
        last_error_ = fetched.error();
    }
    refreshed_.notify_all();
    // A failed refresh still leaves a token inside its margin usable.
    if (token_ && clock_.now() < token_->expires_at) return token_->value;
    return *last_error_;
}

void TokenCache::invalidate(std::string_view rejected) {
    std::lock_guard lock(mutex_);
    if (token_ && (rejected.empty() || token_->value == rejected)) token_.reset();
}

std::uint64_t TokenCache::fetch_count() const {
    std::lock_guard lock(mutex_);
    return fetches_;
}

}  // namespace meterbridge::net

#include "meterbridge/azure/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "meterbridge/net/http_types.hpp"

namespace meterbridge::azure {
namespace {

std::optional<int> read_number(std::string_view text) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

Duration backoff_delay(const BackoffPolicy& policy, int retry, double random01) {
    const double factor = std::ldexp(1.0, std::clamp(retry, 0, 30));
    const double base_ms = std::min(static_cast<double>(policy.maximum.count()),
                                    static_cast<double>(policy.initial.count()) * factor);
    const double jitter = std::clamp(random01, 0.0, 1.0);
    return Duration(static_cast<Duration::rep>(base_ms / 2 + jitter * base_ms / 2));
}

std::optional<Duration> parse_retry_after(std::string_view value, Instant now) {
    value = net::trim(value);
    if (value.empty()) return std::nullopt;
    if (const auto seconds_value = read_number(value)) {
        if (*seconds_value < 0) return std::nullopt;
        return std::chrono::seconds(*seconds_value);
    }
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (value.size() != 29 || value.substr(3, 2) != ", " || value.substr(25) != " GMT") return std::nullopt;
    static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto day = read_number(value.substr(5, 2));
    const auto month_it = std::find(kMonths.begin(), kMonths.end(), value.substr(8, 3));
    const auto year = read_number(value.substr(12, 4));
    const auto hour = read_number(value.substr(17, 2));
    const auto minute = read_number(value.substr(20, 2));
    const auto second = read_number(value.substr(23, 2));
    if (!day || month_it == kMonths.end() || !year || !hour || !minute || !second || value[19] != ':' ||
        value[22] != ':') {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{
        std::chrono::year{*year}, std::chrono::month{static_cast<unsigned>(month_it - kMonths.begin() + 1)},
        std::chrono::day{static_cast<unsigned>(*day)}};
    if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
    const Instant at = std::chrono::sys_days{date} + hours{*hour} + minutes{*minute} + seconds{*second};
    return at > now ? std::chrono::duration_cast<Duration>(at - now) : Duration(0);
}

bool is_retryable_status(int status) noexcept {
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace meterbridge::azure

#pragma once
// m3ter's signed webhook requests (M3TER_SIGNED_REQUEST, SPEC §4): an
// HMAC-SHA256 keyed with the API secret over a configurable string to sign.
#include <string>
#include <string_view>

#include "meterbridge/m3ter/m3ter_config.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge::m3ter {

inline constexpr std::string_view kApiKeyHeader = "X-m3ter-apikey";
inline constexpr std::string_view kTimestampHeader = "X-m3ter-timestamp";
inline constexpr std::string_view kSignatureHeader = "X-m3ter-signature";

// What a delivery presents. `url` is public_base_url + path + query: the URL
// m3ter called, which differs from what the daemon sees behind a proxy.
struct SignedDelivery {
    std::string_view url;
    std::string_view api_key;    // X-m3ter-apikey ("" when missing)
    std::string_view timestamp;  // X-m3ter-timestamp, seconds or milliseconds since the epoch
    std::string_view signature;  // X-m3ter-signature, hex or base64 per config
    std::string_view body;       // raw bytes
};

// The string the HMAC covers, with {url} {api_key} {timestamp} {body} filled in.
std::string string_to_sign(std::string_view pattern, const SignedDelivery& delivery);

// The signature m3ter would send (for tests, scripts and the load generator).
std::string sign(const WebhookConfig& config, std::string_view url, std::string_view timestamp, std::string_view body);

// Ok, or an Error with code "unauthorized" whose field names the header at
// fault. Comparisons of key and signature are constant-time. The timestamp
// must lie within max_clock_skew_s of `now`, in the past or the future.
Status verify(const WebhookConfig& config, const SignedDelivery& delivery, Instant now);

}  // namespace meterbridge::m3ter

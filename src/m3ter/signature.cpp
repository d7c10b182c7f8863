#include "meterbridge/m3ter/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cctype>

namespace meterbridge::m3ter {
namespace {

std::string hmac_sha256(std::string_view key, std::string_view message) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
         message.size(), digest.data(), &length);
    return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

std::string to_hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 0x0f]);
    }
    return out;
}

std::string to_base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                        reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

std::string encode(SignatureEncoding encoding, std::string_view digest) {
    return encoding == SignatureEncoding::Hex ? to_hex(digest) : to_base64(digest);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Error unauthorized(std::string_view header, std::string message) {
    return make_error("unauthorized", std::move(message), std::string(header));
}

// Seconds or milliseconds since the epoch; values past year 5138 in seconds
// are read as milliseconds.
std::optional<Instant> parse_timestamp(std::string_view text) {
    if (text.empty() || text.size() > 16) return std::nullopt;
    std::int64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    constexpr std::int64_t kMillisThreshold = 100'000'000'000;
    if (value >= kMillisThreshold) return Instant{std::chrono::milliseconds{value}};
    return Instant{std::chrono::seconds{value}};
}

}  // namespace

std::string string_to_sign(std::string_view pattern, const SignedDelivery& delivery) {
    std::string out;
    out.reserve(pattern.size() + delivery.body.size() + delivery.url.size() + 64);
    for (std::size_t i = 0; i < pattern.size();) {
        const auto substitute = [&](std::string_view placeholder, std::string_view value) {
            if (pattern.substr(i, placeholder.size()) != placeholder) return false;
            out.append(value);
            i += placeholder.size();
            return true;
        };
        if (substitute("{url}", delivery.url) || substitute("{api_key}", delivery.api_key) ||
            substitute("{timestamp}", delivery.timestamp) || substitute("{body}", delivery.body)) {
            continue;
        }
        out.push_back(pattern[i++]);
    }
    return out;
}

std::string sign(const WebhookConfig& config, std::string_view url, std::string_view timestamp, std::string_view body) {
    const std::string key = config.api_key ? config.api_key->value() : std::string{};
    const std::string secret = config.api_secret ? config.api_secret->value() : std::string{};
    const SignedDelivery delivery{url, key, timestamp, {}, body};
    return encode(config.signature.encoding, hmac_sha256(secret, string_to_sign(config.signature.string_to_sign, delivery)));
}

Status verify(const WebhookConfig& config, const SignedDelivery& delivery, Instant now) {
    if (!config.api_key || !config.api_secret) return unauthorized("", "webhook signing is not configured");
    if (delivery.api_key.empty()) return unauthorized(kApiKeyHeader, "missing X-m3ter-apikey header");
    if (delivery.timestamp.empty()) return unauthorized(kTimestampHeader, "missing X-m3ter-timestamp header");
    if (delivery.signature.empty()) return unauthorized(kSignatureHeader, "missing X-m3ter-signature header");
    if (!constant_time_equal(delivery.api_key, config.api_key->value())) {
        return unauthorized(kApiKeyHeader, "unknown API key");
    }
    const auto sent_at = parse_timestamp(delivery.timestamp);
    if (!sent_at) return unauthorized(kTimestampHeader, "X-m3ter-timestamp is not a Unix time");
    const auto skew = std::chrono::seconds{config.max_clock_skew_s};
    if (*sent_at < now - skew || *sent_at > now + skew) {
        return unauthorized(kTimestampHeader, "X-m3ter-timestamp is outside the allowed clock skew");
    }
    const std::string expected = encode(
        config.signature.encoding,
        hmac_sha256(config.api_secret->value(), string_to_sign(config.signature.string_to_sign, delivery)));
    std::string presented(delivery.signature);
    if (config.signature.encoding == SignatureEncoding::Hex) {
        for (char& c : presented) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!constant_time_equal(presented, expected)) return unauthorized(kSignatureHeader, "signature mismatch");
    return Ok{};
}

}  // namespace meterbridge::m3ter

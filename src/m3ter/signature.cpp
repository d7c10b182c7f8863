#include "meterbridge/m3ter/signature.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <utility>

namespace meterbridge::m3ter {
namespace {

// Feeds the string to sign to `sink` in pieces, in order: runs of the
// pattern's own text and the values of its placeholders. Verifying streams
// them into the MAC instead of copying the body into one string first.
template <typename Sink>
void for_each_signed_piece(std::string_view pattern, const SignedDelivery& delivery, Sink&& sink) {
    const std::array<std::pair<std::string_view, std::string_view>, 4> placeholders = {{
        {"{url}", delivery.url},
        {"{api_key}", delivery.api_key},
        {"{timestamp}", delivery.timestamp},
        {"{body}", delivery.body},
    }};
    std::size_t run = 0;  // start of the pattern text not yet fed
    for (std::size_t i = 0; i < pattern.size();) {
        const auto match = std::find_if(placeholders.begin(), placeholders.end(),
                                        [&](const auto& p) { return pattern.substr(i).starts_with(p.first); });
        if (match == placeholders.end()) {
            ++i;
            continue;
        }
        sink(pattern.substr(run, i - run));
        sink(match->second);
        i += match->first.size();
        run = i;
    }
    sink(pattern.substr(run));
}

struct MacContextFree {
    void operator()(EVP_MAC_CTX* context) const { EVP_MAC_CTX_free(context); }
};
using MacContext = std::unique_ptr<EVP_MAC_CTX, MacContextFree>;

// HMAC-SHA256 with the key set up once per thread and secret: OpenSSL 3's
// one-shot HMAC() looks the algorithm up and processes the key on every call,
// which cost twice as much as hashing a 4 KB body.
class KeyedHmac {
public:
    // This thread's instance for `key`.
    static const KeyedHmac& for_key(std::string_view key) {
        thread_local std::unique_ptr<KeyedHmac> cached;
        if (!cached || cached->key_ != key) cached = std::make_unique<KeyedHmac>(key);
        return *cached;
    }

    explicit KeyedHmac(std::string_view key) : key_(key) {
        static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        if (hmac == nullptr) return;
        keyed_.reset(EVP_MAC_CTX_new(hmac));
        std::array<OSSL_PARAM, 2> params = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
            OSSL_PARAM_construct_end()};
        if (keyed_ && EVP_MAC_init(keyed_.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                                   params.data()) != 1) {
            keyed_.reset();
        }
    }

    // The raw digest of the string to sign; "" if OpenSSL fails, which no
    // presented signature matches (verify has refused empty ones before).
    std::string digest(std::string_view pattern, const SignedDelivery& delivery) const {
        if (!keyed_) return {};
        const MacContext context(EVP_MAC_CTX_dup(keyed_.get()));
        if (!context) return {};
        bool ok = true;
        for_each_signed_piece(pattern, delivery, [&](std::string_view piece) {
            ok = ok && EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(piece.data()),
                                      piece.size()) == 1;
        });
        std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
        std::size_t length = 0;
        if (!ok || EVP_MAC_final(context.get(), out.data(), &length, out.size()) != 1) return {};
        return std::string(reinterpret_cast<const char*>(out.data()), length);
    }

private:
    std::string key_;
    MacContext keyed_;
};

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
    for_each_signed_piece(pattern, delivery, [&](std::string_view piece) { out.append(piece); });
    return out;
}

std::string sign(const WebhookConfig& config, std::string_view url, std::string_view timestamp, std::string_view body) {
    const std::string key = config.api_key ? config.api_key->value() : std::string{};
    const std::string secret = config.api_secret ? config.api_secret->value() : std::string{};
    const SignedDelivery delivery{url, key, timestamp, {}, body};
    return encode(config.signature.encoding,
                  KeyedHmac::for_key(secret).digest(config.signature.string_to_sign, delivery));
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
    const std::string expected =
        encode(config.signature.encoding,
               KeyedHmac::for_key(config.api_secret->value()).digest(config.signature.string_to_sign, delivery));
    std::string presented(delivery.signature);
    if (config.signature.encoding == SignatureEncoding::Hex) {
        for (char& c : presented) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!constant_time_equal(presented, expected)) return unauthorized(kSignatureHeader, "signature mismatch");
    return Ok{};
}

}  // namespace meterbridge::m3ter

#include "meterbridge/m3ter/signature.hpp"

#include <gtest/gtest.h>

#include <cctype>

namespace meterbridge::m3ter {
namespace {

const Instant kNow = parse_iso8601("2026-01-01T09:00:00Z").value();
constexpr std::string_view kUrl = "https://bridge.example.com/webhooks/m3ter";
constexpr std::string_view kBody = R"({"id":"bill-1"})";
constexpr std::string_view kSeconds = "1767258000";  // kNow

WebhookConfig config(SignatureEncoding encoding = SignatureEncoding::Hex) {
    WebhookConfig c;
    c.api_key = Secret("key-123", "literal");
    c.api_secret = Secret("s3cret", "literal");
    c.signature.encoding = encoding;
    return c;
}

TEST(Signature, FillsThePlaceholders) {
    const SignedDelivery d{kUrl, "key-123", kSeconds, "", kBody};
    EXPECT_EQ(string_to_sign("{url}|{api_key}|{timestamp}|{body}", d),
              "https://bridge.example.com/webhooks/m3ter|key-123|1767258000|{\"id\":\"bill-1\"}");
    EXPECT_EQ(string_to_sign("{timestamp}.{body}{unknown}", d), "1767258000.{\"id\":\"bill-1\"}{unknown}");
}

TEST(Signature, MatchesAKnownHmac) {
    // echo -n 'https://bridge.example.com/webhooks/m3ter|key-123|1767258000|{"id":"bill-1"}' |
    //   openssl dgst -sha256 -hmac s3cret
    EXPECT_EQ(sign(config(), kUrl, kSeconds, kBody), "5f59558e652f46b6668de2cf07cd590d95a8351eb8b4a463b6a5f9041002cc4f");
}

TEST(Signature, AcceptsAValidDeliveryInHexAndBase64) {
    for (auto encoding : {SignatureEncoding::Hex, SignatureEncoding::Base64}) {
        const auto c = config(encoding);
        const std::string signature = sign(c, kUrl, kSeconds, kBody);
        EXPECT_TRUE(verify(c, SignedDelivery{kUrl, "key-123", kSeconds, signature, kBody}, kNow).ok());
    }
    // Milliseconds and upper-case hex are accepted too.
    const auto c = config();
    std::string upper = sign(c, kUrl, "1767258000123", kBody);
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_TRUE(verify(c, SignedDelivery{kUrl, "key-123", "1767258000123", upper, kBody}, kNow).ok());
}

TEST(Signature, RejectsEachKindOfBadDeliveryNamingTheHeader) {
    const auto c = config();
    const std::string good = sign(c, kUrl, kSeconds, kBody);
    const auto field = [&](SignedDelivery d, Instant now = kNow) {
        const auto status = verify(c, d, now);
        EXPECT_FALSE(status.ok());
        return status.ok() ? std::string("accepted") : status.error().field;
    };
    EXPECT_EQ(field({kUrl, "", kSeconds, good, kBody}), kApiKeyHeader);
    EXPECT_EQ(field({kUrl, "key-124", kSeconds, good, kBody}), kApiKeyHeader);
    EXPECT_EQ(field({kUrl, "key-123", "", good, kBody}), kTimestampHeader);
    EXPECT_EQ(field({kUrl, "key-123", "12x", good, kBody}), kTimestampHeader);
    EXPECT_EQ(field({kUrl, "key-123", kSeconds, "", kBody}), kSignatureHeader);
    EXPECT_EQ(field({kUrl, "key-123", kSeconds, good, R"({"id":"bill-2"})"}), kSignatureHeader);  // tampered body
    EXPECT_EQ(field({"https://evil.example.com/webhooks/m3ter", "key-123", kSeconds, good, kBody}), kSignatureHeader);
    EXPECT_EQ(field({kUrl, "key-123", kSeconds, good, kBody}, kNow + std::chrono::seconds{301}), kTimestampHeader);
    EXPECT_EQ(field({kUrl, "key-123", kSeconds, good, kBody}, kNow - std::chrono::seconds{301}), kTimestampHeader);
    EXPECT_TRUE(verify(c, {kUrl, "key-123", kSeconds, good, kBody}, kNow + std::chrono::seconds{300}).ok());
    auto wrong_secret = c;
    wrong_secret.api_secret = Secret("other", "literal");
    EXPECT_FALSE(verify(wrong_secret, {kUrl, "key-123", kSeconds, good, kBody}, kNow).ok());
}

}  // namespace
}  // namespace meterbridge::m3ter

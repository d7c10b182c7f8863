#pragma once
// Generated m3ter bills for the benchmarks: an envelope of about 4 KB carrying
// a bill of 20 line items (the reference delivery), each one a new
// bill, and its m3ter signature.
#include <cstdint>
#include <string>
#include <vector>

#include "meterbridge/m3ter/m3ter_config.hpp"

namespace meterbridge::bench {

inline constexpr const char* kApiKey = "bench-api-key";
inline constexpr const char* kApiSecret = "bench-api-secret-0123456789";
inline constexpr const char* kPublicUrl = "http://bench.meterbridge.test";
inline constexpr const char* kWebhookPath = "/webhooks/m3ter";
inline constexpr int kLineItems = 20;
inline constexpr int kProducts = 5;  // prod-0 .. prod-4, mapped to dimensions dim-0 .. dim-4
inline constexpr const char* kAccount = "acc-bench";

// The envelope JSON of bill `bill_id` (version 1) for account kAccount.
std::string bill_envelope(const std::string& bill_id);

// The envelope JSON of bill `bill_id` (version 1) for `account_id`: one USAGE
// line item per product, prod-0 .. prod-(n-1), of subtotal `subtotals[p]` (a
// decimal's text, written into the JSON as a number).
std::string product_bill_envelope(const std::string& bill_id, const std::string& account_id,
                                  const std::vector<std::string>& subtotals);

struct SignedHeaders {
    std::vector<std::pair<std::string, std::string>> headers;  // X-m3ter-*, Content-Type
};

// Signs `body` as m3ter would for kPublicUrl + kWebhookPath at unix time `now_s`.
class Signer {
public:
    Signer();
    SignedHeaders sign(const std::string& body, std::int64_t now_s) const;
    const m3ter::WebhookConfig& config() const { return config_; }

private:
    m3ter::WebhookConfig config_;
};

}  // namespace meterbridge::bench

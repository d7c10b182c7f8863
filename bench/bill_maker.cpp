#include "bill_maker.hpp"

#include "meterbridge/m3ter/signature.hpp"

namespace meterbridge::bench {

std::string bill_envelope(const std::string& bill_id) {
    std::string items;
    for (int i = 0; i < kLineItems; ++i) {
        const std::string n = std::to_string(i);
        const std::string product = "prod-" + std::to_string(i % kProducts);
        if (i > 0) items += ',';
        // Fields beyond those meterbridge reads are ignored, but they are what
        // a real bill carries and they make the body the size m3ter sends.
        items += R"({"id":"li-)" + n + R"(","lineItemType":"USAGE","productId":")" + product +
                 R"(","aggregationId":"agg-)" + n +
                 R"(","description":"Usage )" + product + R"(","quantity":)" + std::to_string(1000 + i) +
                 R"(,"unitPrice":0.0125,"subtotal":)" + std::to_string(12 + i) + ".5" +
                 R"(,"servicePeriodStartDate":"2026-01-01"})";
    }
    const std::string bill = R"({"id":")" + bill_id + R"(","version":1,"accountId":")" + kAccount +
                             R"(","accountCode":"bench","status":"APPROVED","locked":false,"currency":"USD",)" +
                             R"("billDate":"2026-02-01","lineItems":[)" + items + "]}";
    return R"({"id":"evt-)" + bill_id + R"(","eventName":"billing.bill.updated","eventTime":"2026-02-01T00:00:01Z",)" +
           R"("m3terEvent":{"eventData":{"new":)" + bill + "}}}";
}

std::string product_bill_envelope(const std::string& bill_id, const std::string& account_id,
                                  const std::vector<std::string>& subtotals) {
    std::string items;
    for (std::size_t p = 0; p < subtotals.size(); ++p) {
        const std::string product = "prod-" + std::to_string(p);
        if (p > 0) items += ',';
        items += R"({"id":"li-)" + std::to_string(p) + R"(","lineItemType":"USAGE","productId":")" + product +
                 R"(","description":"Usage )" + product + R"(","subtotal":)" + subtotals[p] +
                 R"(,"servicePeriodStartDate":"2026-01-01"})";
    }
    const std::string bill = R"({"id":")" + bill_id + R"(","version":1,"accountId":")" + account_id +
                             R"(","status":"APPROVED","locked":false,"currency":"USD",)" +
                             R"("billDate":"2026-02-01","lineItems":[)" + items + "]}";
    return R"({"id":"evt-)" + bill_id + R"(","eventName":"billing.bill.updated","eventTime":"2026-02-01T00:00:01Z",)" +
           R"("m3terEvent":{"eventData":{"new":)" + bill + "}}}";
}

Signer::Signer() {
    config_.api_key = Secret(kApiKey, "literal");
    config_.api_secret = Secret(kApiSecret, "literal");
}

SignedHeaders Signer::sign(const std::string& body, std::int64_t now_s) const {
    const std::string timestamp = std::to_string(now_s);
    SignedHeaders out;
    out.headers = {{"Content-Type", "application/json"},
                   {"X-m3ter-apikey", kApiKey},
                   {"X-m3ter-timestamp", timestamp},
                   {"X-m3ter-signature", m3ter::sign(config_, std::string(kPublicUrl) + kWebhookPath, timestamp, body)}};
    return out;
}

}  // namespace meterbridge::bench

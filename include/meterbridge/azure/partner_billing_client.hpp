#pragma once
// Reconciliation source partner_billing (SPEC §8, seed 004): the Microsoft
// Graph partner billing export. POST .../billedUsage|unbilledUsage export ->
// 202 + Location -> poll the operation (Retry-After honoured) -> the
// manifest -> every blob downloaded streamed (gzip JSON lines, never held
// whole) -> one row per line handed to a callback.
#include <cstddef>
#include <cstdint>
#include <string>

#include "meterbridge/azure/source_request.hpp"
#include "meterbridge/azure/token_provider.hpp"
#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/net/http_client.hpp"

namespace meterbridge::azure {

// Microsoft Graph's resource: a TokenProvider with this `resource` asks for
// the scope "https://graph.microsoft.com/.default" (v2) or this resource (v1).
inline constexpr std::string_view kGraphResource = "https://graph.microsoft.com";

struct PartnerBillingClientOptions {
    std::string graph_base_url = "https://graph.microsoft.com";  // + /v1.0/reports/partners/billing/...
    SourceRetryOptions retry;  // each POST, operation GET and blob download
    // The longest the operation may stay running, summed over the waits
    // between polls (Retry-After, else poll_interval).
    Duration max_wait = std::chrono::minutes(30);
    Duration poll_interval = std::chrono::seconds(10);  // when Graph sends no Retry-After
    // The least wait after a `running` answer, whatever Retry-After says, so
    // that "Retry-After: 0" cannot make us poll in a tight loop.
    Duration min_poll_interval = std::chrono::seconds(1);
    Duration blob_timeout = std::chrono::minutes(30);   // per blob download attempt, first byte to last
    std::size_t max_line_bytes = std::size_t{1} << 20;  // a longer export line is an Error
};

// Which export: billed usage of one invoice, or unbilled usage of the current
// or last billing period.
struct PartnerBillingRequest {
    enum class Kind { Billed, Unbilled };
    Kind kind = Kind::Unbilled;
    std::string invoice_id;                  // Billed: e.g. "G202601"
    std::string billing_period = "current";  // Unbilled: current | last
    std::string currency_code = "USD";       // Unbilled
    std::string attribute_set = "full";      // full | basic

    static PartnerBillingRequest billed(std::string invoice_id);
    static PartnerBillingRequest unbilled(std::string billing_period = "current", std::string currency_code = "USD");
};

struct PartnerExportSummary {
    std::string operation_id;
    int polls = 0;                       // operation GETs answered
    std::uint64_t blobs = 0;             // blobs read
    std::uint64_t lines = 0;             // rows handed to on_row
    std::uint64_t compressed_bytes = 0;  // blob bytes downloaded
    std::size_t largest_chunk = 0;       // the most blob bytes held at once
    bool manifest_refreshed = false;     // an expired blob URL made us fetch the operation again
};

// Thread-safe if the transport, token provider, clock and log are (ours are).
class PartnerBillingClient {
public:
    // `graph_tokens` is a TokenProvider whose resource is kGraphResource.
    PartnerBillingClient(PartnerBillingClientOptions options, net::HttpTransport& transport,
                         TokenProvider& graph_tokens, const Clock& clock, ExchangeLog* log = nullptr,
                         RetryHooks hooks = {});

    // Runs one export to the end and hands every line's row to `on_row`,
    // blob by blob in manifest order. Requests are retried as SourceRetryOptions
    // says (429 + Retry-After while polling included); a blob download that
    // breaks off is retried from its start, skipping the lines already
    // handed over, so no row is given twice. A blob answering 403
    // (AuthenticationFailed: the SAS expired) makes us GET the operation
    // once more for a fresh manifest; a second 403 is an Error. A manifest
    // whose dataFormat is not gzip JSON lines, or whose blobCount differs
    // from its list of blobs, is refused before any download. Errors:
    // kExportFailed (Graph's error code and message), kExportTimeout,
    // kSourceRefused / kSourceUnavailable (status, Graph's or Storage's
    // code/message), kSourceUnreadable (the blob, line number and field),
    // the token provider's, or on_row's own.
    Result<PartnerExportSummary> fetch(const PartnerBillingRequest& which, const RowSink& on_row);

    // The POST's URL and body (exposed for tests).
    std::string export_url(const PartnerBillingRequest& which) const;
    static std::string export_body(const PartnerBillingRequest& which);

private:
    PartnerBillingClientOptions options_;
    net::HttpTransport& transport_;
    TokenProvider& tokens_;
    const Clock& clock_;
    ExchangeLog* log_;
    RetryHooks hooks_;
};

}  // namespace meterbridge::azure

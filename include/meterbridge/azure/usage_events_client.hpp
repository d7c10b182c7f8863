#pragma once
// Reconciliation source usage_events (SPEC §8, seed 003): Azure's daily rows
// from GET /api/usageEvents of the metering API, with the marketplace token,
// every page followed, each row handed to a callback as parsed.
#include <cstdint>
#include <string>

#include "meterbridge/azure/source_request.hpp"
#include "meterbridge/azure/token_provider.hpp"
#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/recon.hpp"
#include "meterbridge/net/http_client.hpp"

namespace meterbridge::azure {

struct UsageEventsClientOptions {
    std::string base_url = "https://marketplaceapi.microsoft.com";  // the metering_base_url
    std::string api_version = "2018-08-31";
    SourceRetryOptions retry;
    int max_pages = 10000;  // a next link chain longer than this is an Error (a loop)
};

// Azure's optional filters of the query (empty: none).
struct UsageEventsFilter {
    std::string plan_id;
    std::string dimension;
    std::string azure_subscription_id;
    std::string offer_id;
    std::string recon_status;  // Submitted | Accepted | Rejected | Mismatch
};

struct UsageEventsSummary {
    int pages = 0;
    std::uint64_t rows = 0;
};

// Thread-safe if the transport, token provider, clock and log are (ours are).
class UsageEventsClient {
public:
    UsageEventsClient(UsageEventsClientOptions options, net::HttpTransport& transport, TokenProvider& tokens,
                      const Clock& clock, ExchangeLog* log = nullptr, RetryHooks hooks = {});

    // `start` and `end` are the days of usageStartDate and usageEndDate (inclusive).
    // GET {base_url}/api/usageEvents?api-version=..&usageStartDate=YYYY-MM-DD&usageEndDate=YYYY-MM-DD
    // (+ filters), then each next link ("@nextLink", "nextLink" or
    // "@odata.nextLink"; relative ones against base_url). Each page: retried
    // on transport failures, 408, 429 (after Retry-After) and 5xx within
    // retry.deadline, once on 401/403 with a fresh token. Rows reach
    // `on_row` page by page, so a failure on a later page leaves the earlier
    // pages delivered. Errors: kSourceRefused (400 bad dates, 403...),
    // kSourceUnavailable, kSourceUnreadable (the parser's field named),
    // the token provider's, or on_row's own.
    Result<UsageEventsSummary> fetch(recon::Day start, recon::Day end, const RowSink& on_row,
                                     const UsageEventsFilter& filter = {});

    // The first page's URL (exposed for tests).
    std::string first_url(recon::Day start, recon::Day end, const UsageEventsFilter& filter = {}) const;

private:
    UsageEventsClientOptions options_;
    net::HttpTransport& transport_;
    TokenProvider& tokens_;
    const Clock& clock_;
    ExchangeLog* log_;
    RetryHooks hooks_;
};

}  // namespace meterbridge::azure

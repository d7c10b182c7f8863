#pragma once
// Reconciliation source ea_charges (SPEC §8, seed 002): an Enterprise
// Agreement's marketplace charges, from the EA API with the enrollment's API
// key, or from a file holding the same JSON array (`--ea-file`).
#include <cstdint>
#include <filesystem>
#include <string>

#include "meterbridge/azure/source_request.hpp"
#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/recon.hpp"
#include "meterbridge/net/http_client.hpp"

namespace meterbridge::azure {

struct EaChargesClientOptions {
    std::string base_url = "https://consumption.azure.com";
    std::string api_key;  // the enrollment's EA API key (a secret: never logged)
    SourceRetryOptions retry;
};

struct EaChargesSummary {
    std::uint64_t rows = 0;  // handed to on_row (recurring charges left out by the parser)
};

// Thread-safe if the transport, clock and log are (ours are).
class EaChargesClient {
public:
    EaChargesClient(EaChargesClientOptions options, net::HttpTransport& transport, const Clock& clock,
                    ExchangeLog* log = nullptr, RetryHooks hooks = {});

    // GET {base_url}/v3/enrollments/{enrollment}/marketplacechargesbycustomdate
    //     ?startTime=YYYY-MM-DD&endTime=YYYY-MM-DD
    // with "Authorization: bearer <api_key>", retried on transport failures,
    // 408, 429 (after Retry-After) and 5xx within retry.deadline. The answer
    // is parsed whole (recon::parse_ea_charges) before any row is handed
    // over, so on an Error no row was given. Errors: invalid_argument (an
    // enrollment that is not all digits, end before start: nothing sent),
    // kSourceRefused (401 bad key, 400 bad dates: EA's code and message),
    // kSourceUnavailable, kSourceUnreadable, or on_row's own.
    Result<EaChargesSummary> fetch(std::string_view enrollment, recon::Day start, recon::Day end,
                                   const RowSink& on_row);

    std::string url(std::string_view enrollment, recon::Day start, recon::Day end) const;  // for tests

private:
    EaChargesClientOptions options_;
    net::HttpTransport& transport_;
    const Clock& clock_;
    ExchangeLog* log_;
    RetryHooks hooks_;
};

// The same JSON array read from a file (an export saved from the EA portal
// or API): parsed whole, then each row handed to on_row. Errors:
// "file_unreadable" (field = the path), kSourceUnreadable (the parser's
// field, the path in the message), or on_row's own. Files over
// `max_bytes` are refused rather than read.
Result<EaChargesSummary> read_ea_charges_file(const std::filesystem::path& path, const RowSink& on_row,
                                              std::uintmax_t max_bytes = std::uintmax_t{1} << 30);

}  // namespace meterbridge::azure

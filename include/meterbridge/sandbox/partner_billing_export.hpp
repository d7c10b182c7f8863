#pragma once
// The Graph partner billing export of seed 004 as the sandbox serves it:
// POST /v1.0/reports/partners/billing/usage/{billed,unbilled}/export -> 202 +
// Location; GET the operation -> running (Retry-After) ... -> succeeded with a
// manifest or failed; GET /blobs/partner-billing/{operation}/part-NNNNN.json.gz
// with the manifest's SAS token -> gzip JSON lines generated on the fly.
// A GET of a succeeded operation whose SAS has expired signs a fresh one, as
// Graph does; URLs signed with an older token stay refused.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/http_types.hpp"
#include "meterbridge/sandbox/recon_records.hpp"

namespace meterbridge::sandbox {

class SandboxCore;

// Settable with PUT /_sandbox/export (every field optional there).
struct PartnerExportOptions {
    int running_polls = 1;                   // operation GETs answered "running" before the outcome
    int retry_after_s = 1;                   // Retry-After of the 202 and of each "running" answer
    std::uint64_t lines_per_blob = 50000;    // a blob holds at most this many lines
    int fail_next = 0;                       // the next N operations end "failed"
    long long sas_ttl_s = 3600;              // a SAS token's lifetime from its signing, on the sandbox clock
                                             // (0: every token is born expired)

    // {"running_polls","retry_after_s","lines_per_blob","fail_next","sas_ttl_s"}: the given
    // fields replace this one's; errors name the field.
    Result<PartnerExportOptions> patched(std::string_view json) const;
    std::string json() const;
};

inline constexpr std::string_view kGraphBillingRoot = "/v1.0/reports/partners/billing/";
inline constexpr std::string_view kBlobRoot = "/blobs/partner-billing/";

class PartnerBillingExport {
public:
    explicit PartnerBillingExport(PartnerExportOptions options) : options_(options) {}

    // Paths under kGraphBillingRoot (bearer for Graph required) or kBlobRoot (SAS).
    net::HttpResponse handle(const net::HttpRequest& request, Instant now, SandboxCore& core);

    PartnerExportOptions options() const;
    void set_options(const PartnerExportOptions& options);

private:
    // One SAS token signed for an operation's blobs.
    struct Sas {
        std::string signature;  // the "sig"
        Instant start;          // "st"
        Instant expiry;         // "se"
        // Azure Storage: "Signed expiry time [se] has to be after current time".
        bool expired(Instant now) const { return now >= expiry; }
    };
    struct Operation {
        std::string id;
        Instant created;
        int polls_left = 0;
        bool fails = false;
        std::string invoice_number;  // billed: the invoice; unbilled: ""
        std::string currency = "USD";
        Day period_start{};          // the billing period (a calendar month)
        std::vector<AzureDayRecord> records;  // Azure's billed rows of the period, snapshot at creation
        std::uint64_t lines = 0;
        Instant succeeded_at{};
        std::vector<Sas> tokens;  // every SAS signed for it, the current one last
        std::uint64_t lines_per_blob = 1;
    };

    net::HttpResponse start(const net::HttpRequest& request, bool billed, Instant now, SandboxCore& core);
    net::HttpResponse poll(std::string_view id, Instant now, SandboxCore& core);
    net::HttpResponse blob(const net::HttpRequest& request, Instant now, SandboxCore& core);

    mutable std::mutex mutex_;
    PartnerExportOptions options_;
    std::map<std::string, Operation> operations_;
};

}  // namespace meterbridge::sandbox

#pragma once
// The rules and state of the Azure sandbox (SPEC §7), without sockets: Entra
// token endpoints, usageEvent, batchUsageEvent, usageEvents, and the fault
// queue. Every method takes "now" from the caller. Thread-safe.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/decimal.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/http_types.hpp"
#include "meterbridge/sandbox/partner_billing_export.hpp"
#include "meterbridge/sandbox/recon_records.hpp"

namespace meterbridge::sandbox {

// Optional catalog: which resources exist, on which plan, with which dimensions.
struct CatalogSubscription {
    std::string resource_id;
    std::string plan_id;
    std::string azure_subscription_id;
    std::string offer_id;
    // SaaS subscription status: Subscribed, or Suspended / Unsubscribed /
    // PendingFulfillmentStart, whose events are ResourceNotActive.
    std::string status = "Subscribed";
};
struct CatalogPlan {
    std::string plan_id;
    std::vector<std::string> dimensions;
};
struct SandboxCatalog {
    std::vector<CatalogSubscription> subscriptions;
    std::vector<CatalogPlan> plans;

    // {"subscriptions":[{"resourceId","planId","azureSubscriptionId"?,"offerId"?,"status"?}],
    //  "plans":[{"planId","dimensions":["..."]}]}
    static Result<SandboxCatalog> parse(std::string_view json);
};

// An event the sandbox accepted; quantity exactly as sent.
struct AcceptedEvent {
    std::string usage_event_id;
    std::string resource_id;
    std::string plan_id;
    std::string dimension;
    std::string quantity_text;           // the JSON number's text as sent
    Decimal quantity;
    std::string effective_start_text;    // as sent
    Instant effective_start_time;
    Instant message_time;
};

// {"usageEventId","resourceId","planId","dimension","quantity","effectiveStartTime","messageTime"}:
// the shape of GET /_sandbox/events entries and of the state file.
std::string accepted_event_json(const AcceptedEvent& event);

// The metering API's kept version (the only one the sandbox serves).
inline constexpr std::string_view kMeteringApiVersion = "2018-08-31";

// Sets x-ms-requestid and x-ms-correlationid on an /api/ answer: the request's
// own, or new GUIDs when it sent none (as the service does, seed 003).
void echo_request_ids(const net::HttpRequest& request, net::HttpResponse& response);

// Azure's way of writing times: 7 fractional digits ("2020-01-12T13:19:35.3458658Z").
std::string azure_time(Instant instant);

enum class FaultKind {
    Status,               // answer `status` (with Retry-After if given), do nothing else
    Delay,                // process the request, answer after `delay`
    Reset,                // reset the connection before processing
    DropResponse,         // process the request (events recorded), then reset instead of answering
    ProcessedThenStatus,  // process the request (events recorded), then answer `status` as a gateway would
    RejectBatchWith,      // a usage POST holding the event named below: whole-request `status`, nothing recorded
};

struct Fault {
    FaultKind kind = FaultKind::Status;
    int status = 503;
    std::optional<int> retry_after_s;
    Duration delay{0};
    int count = 1;                     // the next `count` matching calls
    bool until_cleared = false;        // RejectBatchWith without "count": `count` is ignored
    std::string path_prefix = "/api/";  // which calls it applies to
    std::string resource_id;            // RejectBatchWith: matched case-insensitively
    std::string dimension;              // RejectBatchWith: "" matches every dimension

    // {"kind":"status","status":429,"retry_after_s":2,"count":3}
    // {"kind":"delay_ms","delay_ms":1500} {"kind":"reset"} {"kind":"drop_response","count":1,"path":"/api/"}
    // {"kind":"processed_then_status","status":502,"count":1,"retry_after_s":5}
    // {"kind":"reject_batch_with","resource_id":"...","dimension":"...","status":400,"count":2}
    static Result<Fault> parse(std::string_view json);
};

struct SandboxCoreOptions {
    std::optional<std::string> client_secret;  // nullopt: any secret is accepted
    std::optional<SandboxCatalog> catalog;      // nullopt: any resource/plan/dimension is accepted
    Duration token_lifetime = std::chrono::hours(1);
    std::string state_file;  // "": nothing persisted
    // GET /api/usageEvents: a row stays Submitted until this long after the end of its
    // UTC day or its last accepted event, whichever is later (docs/sandbox.md).
    Duration processing_delay = std::chrono::hours(1);
    PartnerExportOptions partner_export;
    // The EA reporting API's key (the bearer of GET /v3/enrollments/...).
    std::string ea_api_key = "sandbox-ea-key";
};

class SandboxCore {
public:
    // Loads the state file if it exists; an unreadable one is an Error.
    static Result<std::unique_ptr<SandboxCore>> create(SandboxCoreOptions options);

    // The Azure/Entra routes: POST /{tenant}/oauth2/token, POST /{tenant}/oauth2/v2.0/token,
    // POST /api/usageEvent, POST /api/batchUsageEvent, GET /api/usageEvents, the partner
    // billing export (/v1.0/reports/partners/billing/..., /blobs/partner-billing/...) and
    // GET /v3/enrollments/{n}/marketplacechargesbycustomdate. 404 otherwise.
    net::HttpResponse handle(const net::HttpRequest& request, Instant now);

    // Removes and returns the fault for this call, if one is queued for its path.
    // RejectBatchWith faults are never returned: handle() applies them itself,
    // since whether they match depends on the request's events.
    std::optional<Fault> take_fault(std::string_view path);
    void add_fault(const Fault& fault);
    void clear_faults();
    std::size_t queued_faults() const;

    std::vector<AcceptedEvent> events() const;

    // Reconciliation (issue 16): planted discrepancies and Azure's daily records.
    Result<Plant> add_plant(std::string_view json);  // validated; extra/bulk get their plan resolved
    std::vector<Plant> plants() const;
    void clear_plants();
    Result<std::vector<AzureDayRecord>> azure_records(Day first, Day last, Instant now) const;
    ResourceFacts facts_of(std::string_view resource_id) const;
    PartnerBillingExport& partner_export() noexcept { return *partner_export_; }
    // Whether `request` carries a live token of ours for one of `audiences`.
    bool has_token_for(const net::HttpRequest& request, Instant now, const std::vector<std::string_view>& audiences) const;
    // The sandbox's own URL ("http://127.0.0.1:PORT"), for Location headers and blob URLs.
    void set_base_url(std::string url);
    std::string base_url() const;
    const SandboxCoreOptions& options() const noexcept { return options_; }
    std::uint64_t token_requests() const;
    std::uint64_t api_requests() const;
    // Every access token issued so far (expired ones included). For tests that
    // search logs, databases and answers for bearer tokens (issue 5).
    std::vector<std::string> issued_tokens() const;

private:
    explicit SandboxCore(SandboxCoreOptions options);

    struct Issued {
        Instant expires_at;
        std::string audience;
    };

    net::HttpResponse token(const net::HttpRequest& request, bool v2, Instant now);
    std::optional<net::HttpResponse> check_bearer(const net::HttpRequest& request, Instant now) const;
    net::HttpResponse api(const net::HttpRequest& request, Instant now);
    net::HttpResponse usage_event(const net::HttpRequest& request, Instant now);
    net::HttpResponse batch_usage_event(const net::HttpRequest& request, Instant now);
    net::HttpResponse usage_events(const net::HttpRequest& request, Instant now) const;

    // One event through every rule; returns the result object's JSON text and
    // whether it was accepted. Requires mutex_.
    struct Verdict {
        std::string status;  // Accepted, Duplicate, Expired, ...
        std::string json;    // the batch result entry
        std::string message;
        std::string target;
        const AcceptedEvent* accepted = nullptr;  // Accepted or Duplicate: the event Azure holds
    };
    Verdict judge_event(const Json& event, Instant now);
    // The whole-request answer of a queued RejectBatchWith fault matching one of
    // `events`, counted as used; nullopt when none matches. Requires mutex_.
    std::optional<net::HttpResponse> rejected_by_fault(const std::vector<const Json*>& events, bool batch);
    Status save() const;  // requires mutex_

    SandboxCoreOptions options_;
    mutable std::mutex mutex_;
    std::map<std::string, Issued> tokens_;
    std::vector<std::string> issued_;  // every token ever issued (tokens_ forgets expired ones)
    std::vector<AcceptedEvent> events_;
    std::map<std::string, std::size_t> by_slot_;  // lower(resourceId)|dimension|hour -> index in events_
    std::deque<Fault> faults_;
    std::vector<Plant> plants_;
    std::uint64_t next_plant_ = 1;
    std::unique_ptr<PartnerBillingExport> partner_export_;
    std::string base_url_;
    std::uint64_t token_requests_ = 0;
    std::uint64_t api_requests_ = 0;
};

}  // namespace meterbridge::sandbox

// Building the reconciliation source readers from the config.
#include "cli/reconcile_sources.hpp"

#include "meterbridge/azure/ea_charges_client.hpp"
#include "meterbridge/azure/partner_billing_client.hpp"
#include "meterbridge/azure/usage_events_client.hpp"

namespace meterbridge::app {
namespace {

constexpr const char* kSandboxEaKey = "sandbox-ea-key";  // the sandbox's default (docs/sandbox.md)
constexpr const char* kSandboxEnrollment = "100";

// The billing periods of the partner billing export that hold [from, to]:
// "current" for this month, "last" for the month before. Older months are
// billed and need their invoice ids (not configured): their days come out
// missing_at_azure, which docs/reconciliation.md explains.
std::vector<std::string> unbilled_periods(recon::Day from, recon::Day to, Instant now) {
    using namespace std::chrono;
    const year_month this_month = year_month_day(recon::day_of(now)).year() / year_month_day(recon::day_of(now)).month();
    const year_month last_month = this_month - months{1};
    const year_month first = year_month_day(from).year() / year_month_day(from).month();
    const year_month last = year_month_day(to).year() / year_month_day(to).month();
    std::vector<std::string> periods;
    if (first <= last_month && last >= last_month) periods.emplace_back("last");
    if (first <= this_month && last >= this_month) periods.emplace_back("current");
    return periods;
}

}  // namespace

AzureEndpoints live_endpoints(const Config& config) {
    AzureEndpoints endpoints;
    endpoints.metering_base_url = config.azure.metering_base_url;
    endpoints.token_url = config.azure.token_url;
    endpoints.graph_base_url = config.reconciliation.partner_billing.graph_base_url;
    endpoints.ea_base_url = config.reconciliation.ea_charges.base_url;
    if (config.reconciliation.ea_charges.api_key) endpoints.ea_api_key = config.reconciliation.ea_charges.api_key->value();
    endpoints.ea_enrollment = config.reconciliation.ea_charges.enrollment;
    return endpoints;
}

AzureEndpoints sandbox_endpoints(const Config& config, const std::string& sandbox_base_url,
                                 const std::string& token_url) {
    AzureEndpoints endpoints = live_endpoints(config);
    endpoints.metering_base_url = sandbox_base_url;
    endpoints.token_url = token_url;
    endpoints.graph_base_url = sandbox_base_url;
    endpoints.ea_base_url = sandbox_base_url;
    if (endpoints.ea_api_key.empty()) endpoints.ea_api_key = kSandboxEaKey;
    if (endpoints.ea_enrollment.empty()) endpoints.ea_enrollment = kSandboxEnrollment;
    return endpoints;
}

ReconcileSources::ReconcileSources(const Config& config, AzureEndpoints endpoints, net::HttpTransport& http,
                                   azure::TokenProvider& metering_tokens, const Clock& clock,
                                   std::optional<std::filesystem::path> ea_file)
    : config_(config),
      endpoints_(std::move(endpoints)),
      http_(http),
      metering_tokens_(metering_tokens),
      clock_(clock),
      ea_file_(std::move(ea_file)) {
    if (config_.reconciliation.uses(recon::Source::PartnerBilling)) {
        const auto& pb = config_.reconciliation.partner_billing;
        azure::TokenProviderOptions graph;
        graph.resource = std::string(azure::kGraphResource);
        graph.token_url = pb.token_url.empty() ? endpoints_.token_url : pb.token_url;
        graph.client_id = pb.client_id.empty() ? config_.azure.client_id : pb.client_id;
        graph.client_secret = pb.client_secret ? pb.client_secret->value()
                              : config_.azure.client_secret ? config_.azure.client_secret->value()
                                                            : std::string("sandbox-secret");
        graph_tokens_ = std::make_unique<azure::TokenProvider>(graph, http_, clock_);
    }
}

ReconcileSources::~ReconcileSources() = default;

std::map<recon::Source, SourceReader> ReconcileSources::readers() {
    std::map<recon::Source, SourceReader> readers;
    const auto& reconciliation = config_.reconciliation;
    if (reconciliation.uses(recon::Source::UsageEvents)) {
        readers[recon::Source::UsageEvents] = [this](recon::Day from, recon::Day to, const RowSink& sink,
                                                     ExchangeLog* log) -> Status {
            azure::UsageEventsClientOptions options;
            options.base_url = endpoints_.metering_base_url;
            options.api_version = config_.azure.api_version;
            azure::UsageEventsClient client(options, http_, metering_tokens_, clock_, log);
            auto fetched = client.fetch(from, to, sink);
            if (!fetched) return fetched.error();
            return Ok{};
        };
    }
    if (reconciliation.uses(recon::Source::PartnerBilling)) {
        readers[recon::Source::PartnerBilling] = [this](recon::Day from, recon::Day to, const RowSink& sink,
                                                        ExchangeLog* log) -> Status {
            azure::PartnerBillingClientOptions options;
            options.graph_base_url = endpoints_.graph_base_url;
            azure::PartnerBillingClient client(options, http_, *graph_tokens_, clock_, log);
            for (const std::string& period : unbilled_periods(from, to, clock_.now())) {
                auto fetched = client.fetch(
                    azure::PartnerBillingRequest::unbilled(period, config_.reconciliation.partner_billing.currency_code),
                    sink);
                if (!fetched) return fetched.error();
            }
            return Ok{};
        };
    }
    if (reconciliation.uses(recon::Source::EaCharges) || ea_file_) {
        readers[recon::Source::EaCharges] = [this](recon::Day from, recon::Day to, const RowSink& sink,
                                                   ExchangeLog* log) -> Status {
            if (ea_file_) {
                auto read = azure::read_ea_charges_file(*ea_file_, sink);
                if (!read) return read.error();
                return Ok{};
            }
            if (endpoints_.ea_enrollment.empty() || endpoints_.ea_api_key.empty()) {
                return make_error("source_not_configured",
                                  "ea_charges needs reconciliation.ea_charges.enrollment and api_key (or --ea-file)",
                                  "reconciliation.ea_charges");
            }
            azure::EaChargesClientOptions options;
            options.base_url = endpoints_.ea_base_url;
            options.api_key = endpoints_.ea_api_key;
            azure::EaChargesClient client(options, http_, clock_, log);
            auto fetched = client.fetch(endpoints_.ea_enrollment, from, to, sink);
            if (!fetched) return fetched.error();
            return Ok{};
        };
    }
    return readers;
}

}  // namespace meterbridge::app

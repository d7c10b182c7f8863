#include "meterbridge/azure/usage_events_client.hpp"

#include <set>

#include "meterbridge/azure/guid.hpp"
#include "meterbridge/core/recon_sources.hpp"
#include "meterbridge/net/logged_exchange.hpp"
#include "source_call.hpp"

namespace meterbridge::azure {

UsageEventsClient::UsageEventsClient(UsageEventsClientOptions options, net::HttpTransport& transport,
                                     TokenProvider& tokens, const Clock& clock, ExchangeLog* log, RetryHooks hooks)
    : options_(std::move(options)), transport_(transport), tokens_(tokens), clock_(clock), log_(log),
      hooks_(with_default_hooks(std::move(hooks))) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
}

std::string UsageEventsClient::first_url(recon::Day start, recon::Day end, const UsageEventsFilter& filter) const {
    std::string url = options_.base_url + "/api/usageEvents?api-version=" + net::form_encode(options_.api_version) +
                      "&usageStartDate=" + recon::format_day(start) +
                      "&usageEndDate=" + recon::format_day(end);
    const auto add = [&](const char* name, const std::string& value) {
        if (!value.empty()) url += std::string("&") + name + "=" + net::form_encode(value);
    };
    add("planId", filter.plan_id);
    add("dimension", filter.dimension);
    add("azureSubscriptionId", filter.azure_subscription_id);
    add("offerId", filter.offer_id);
    add("reconStatus", filter.recon_status);
    return url;
}

Result<UsageEventsSummary> UsageEventsClient::fetch(recon::Day start, recon::Day end, const RowSink& on_row,
                                                    const UsageEventsFilter& filter) {
    if (end < start) {
        return make_error("invalid_argument", "usageEndDate " + recon::format_day(end) +
                                                  " is before usageStartDate " + recon::format_day(start),
                          "usageEndDate");
    }
    const detail::SourceCall call{transport_, clock_, log_, hooks_, options_.retry};
    const detail::Authorizer auth{
        [this](net::HttpRequestSpec& request) -> Status {
            auto token = tokens_.access_token();
            if (!token) return token.error();
            request.headers.set("Authorization", "Bearer " + *token);
            request.headers.set("x-ms-requestid", random_guid());  // a fresh one per attempt
            return Ok{};
        },
        [this](const net::HttpRequestSpec& request) {
            const auto header = request.headers.get("authorization").value_or("");
            tokens_.invalidate(header.size() > 7 ? std::string_view(header).substr(7) : std::string_view{});
        }};
    const std::string correlation_id = random_guid();
    UsageEventsSummary summary;
    std::set<std::string> seen;  // a next link met twice would loop forever
    std::string url = first_url(start, end, filter);
    while (!url.empty()) {
        if (summary.pages >= options_.max_pages || !seen.insert(url).second) {
            return make_error(std::string(kSourceUnreadable),
                              "GET /api/usageEvents: the next links loop or exceed " +
                                  std::to_string(options_.max_pages) + " pages",
                              "nextLink");
        }
        net::HttpRequestSpec request;
        request.method = "GET";
        request.url = url;
        request.headers.set("Accept", "application/json");
        request.headers.set("x-ms-correlationid", correlation_id);
        const std::string what = "GET /api/usageEvents (page " + std::to_string(summary.pages + 1) + ")";
        auto answer = detail::send_with_retries(call, std::move(request), what, detail::with_auth(auth));
        if (!answer) return answer.error();
        if (answer->status != 200) return detail::answer_error(what, *answer);
        auto page = recon::parse_usage_events(answer->body);
        if (!page) {
            return make_error(std::string(kSourceUnreadable), what + ": " + page.error().message, page.error().field);
        }
        ++summary.pages;
        for (const auto& row : page->rows) {
            if (auto taken = on_row(row); !taken) return taken.error();
            ++summary.rows;
        }
        url = page->next_link.empty() ? std::string() : detail::absolute_url(options_.base_url, page->next_link);
    }
    return summary;
}

}  // namespace meterbridge::azure

#include "meterbridge/azure/ea_charges_client.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "meterbridge/core/recon_sources.hpp"
#include "source_call.hpp"

namespace meterbridge::azure {
namespace {

Result<EaChargesSummary> hand_over(const std::vector<recon::AzureRow>& rows, const RowSink& on_row) {
    EaChargesSummary summary;
    for (const auto& row : rows) {
        if (auto taken = on_row(row); !taken) return taken.error();
        ++summary.rows;
    }
    return summary;
}

}  // namespace

EaChargesClient::EaChargesClient(EaChargesClientOptions options, net::HttpTransport& transport, const Clock& clock,
                                 ExchangeLog* log, RetryHooks hooks)
    : options_(std::move(options)), transport_(transport), clock_(clock), log_(log),
      hooks_(with_default_hooks(std::move(hooks))) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
}

std::string EaChargesClient::url(std::string_view enrollment, recon::Day start, recon::Day end) const {
    return options_.base_url + "/v3/enrollments/" + std::string(enrollment) +
           "/marketplacechargesbycustomdate?startTime=" + recon::format_day(start) +
           "&endTime=" + recon::format_day(end);
}

Result<EaChargesSummary> EaChargesClient::fetch(std::string_view enrollment, recon::Day start, recon::Day end,
                                                const RowSink& on_row) {
    if (enrollment.empty() || !std::all_of(enrollment.begin(), enrollment.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return make_error("invalid_argument", "the EA enrollment number must be digits, not '" +
                                                  std::string(enrollment) + "'",
                          "enrollment");
    }
    if (end < start) {
        return make_error("invalid_argument", "endTime " + recon::format_day(end) + " is before startTime " +
                                                  recon::format_day(start),
                          "endTime");
    }
    if (options_.api_key.empty()) return make_error("invalid_argument", "no EA API key", "api_key");
    const detail::SourceCall call{transport_, clock_, log_, hooks_, options_.retry};
    net::HttpRequestSpec request;
    request.method = "GET";
    request.url = url(enrollment, start, end);
    request.headers.set("Authorization", "bearer " + options_.api_key);
    request.headers.set("Accept", "application/json");
    const std::string what = "GET /v3/enrollments/" + std::string(enrollment) + "/marketplacechargesbycustomdate";
    auto answer = detail::send_with_retries(call, std::move(request), what);
    if (!answer) return answer.error();
    if (answer->status != 200) return detail::answer_error(what, *answer);
    auto rows = recon::parse_ea_charges(answer->body);
    if (!rows) return make_error(std::string(kSourceUnreadable), what + ": " + rows.error().message, rows.error().field);
    return hand_over(*rows, on_row);
}

Result<EaChargesSummary> read_ea_charges_file(const std::filesystem::path& path, const RowSink& on_row,
                                              std::uintmax_t max_bytes) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return make_error("file_unreadable", "cannot read " + path.string() + ": " + ec.message(), path.string());
    if (size > max_bytes) {
        return make_error("file_unreadable", path.string() + " is larger than " + std::to_string(max_bytes) + " bytes",
                          path.string());
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) return make_error("file_unreadable", "cannot read " + path.string(), path.string());
    auto rows = recon::parse_ea_charges(text.str());
    if (!rows) {
        return make_error(std::string(kSourceUnreadable), path.string() + ": " + rows.error().message,
                          rows.error().field);
    }
    return hand_over(*rows, on_row);
}

}  // namespace meterbridge::azure

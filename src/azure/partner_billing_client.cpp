#include "meterbridge/azure/partner_billing_client.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "meterbridge/azure/guid.hpp"
#include "meterbridge/core/recon_sources.hpp"
#include "meterbridge/net/gzip.hpp"
#include "source_call.hpp"

namespace meterbridge::azure {
namespace {

constexpr std::string_view kExportRoot = "/v1.0/reports/partners/billing/usage/";

// The path of a URL without its query (for messages: the SAS stays out).
std::string path_of(std::string_view url) {
    const auto scheme = url.find("://");
    const auto slash = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
    if (slash == std::string_view::npos) return "/";
    return std::string(url.substr(slash, url.find('?', slash) - slash));
}

std::optional<Duration> retry_after_of(const net::HttpExchangeResult& answer, Instant now) {
    const auto header = answer.headers.get("retry-after");
    return header ? parse_retry_after(*header, now) : std::nullopt;
}

// Only gzip JSON lines can be read ("compressedJSON" as Graph and the
// sandbox write it, "compressedJSONLines" as some documentation does), and
// every blob the manifest counts must be listed.
Status check_manifest(const recon::ExportManifest& manifest) {
    const auto& format = manifest.data_format;
    if (!format.empty() && !net::iequals(format, "compressedJSON") && !net::iequals(format, "compressedJSONLines")) {
        return make_error(std::string(kSourceUnreadable),
                          "the export's dataFormat '" + format + "' is not gzip JSON lines", "dataFormat");
    }
    if (manifest.blob_count != static_cast<long long>(manifest.blobs.size())) {
        return make_error(std::string(kSourceUnreadable),
                          "the manifest counts " + std::to_string(manifest.blob_count) + " blobs but lists " +
                              std::to_string(manifest.blobs.size()),
                          "blobCount");
    }
    return Ok{};
}

}  // namespace

PartnerBillingRequest PartnerBillingRequest::billed(std::string invoice_id) {
    PartnerBillingRequest which;
    which.kind = Kind::Billed;
    which.invoice_id = std::move(invoice_id);
    return which;
}

PartnerBillingRequest PartnerBillingRequest::unbilled(std::string billing_period, std::string currency_code) {
    PartnerBillingRequest which;
    which.kind = Kind::Unbilled;
    which.billing_period = std::move(billing_period);
    which.currency_code = std::move(currency_code);
    return which;
}

PartnerBillingClient::PartnerBillingClient(PartnerBillingClientOptions options, net::HttpTransport& transport,
                                           TokenProvider& graph_tokens, const Clock& clock, ExchangeLog* log,
                                           RetryHooks hooks)
    : options_(std::move(options)), transport_(transport), tokens_(graph_tokens), clock_(clock), log_(log),
      hooks_(with_default_hooks(std::move(hooks))) {
    while (!options_.graph_base_url.empty() && options_.graph_base_url.back() == '/') {
        options_.graph_base_url.pop_back();
    }
}

std::string PartnerBillingClient::export_url(const PartnerBillingRequest& which) const {
    return options_.graph_base_url + std::string(kExportRoot) +
           (which.kind == PartnerBillingRequest::Kind::Billed ? "billed" : "unbilled") + "/export";
}

std::string PartnerBillingClient::export_body(const PartnerBillingRequest& which) {
    nlohmann::json body;
    if (which.kind == PartnerBillingRequest::Kind::Billed) {
        body["invoiceId"] = which.invoice_id;
    } else {
        body["billingPeriod"] = which.billing_period;
        body["currencyCode"] = which.currency_code;
    }
    if (!which.attribute_set.empty()) body["attributeSet"] = which.attribute_set;
    return body.dump();
}

Result<PartnerExportSummary> PartnerBillingClient::fetch(const PartnerBillingRequest& which, const RowSink& on_row) {
    if (which.kind == PartnerBillingRequest::Kind::Billed && which.invoice_id.empty()) {
        return make_error("invalid_argument", "a billed usage export needs an invoice id", "invoiceId");
    }
    if (which.kind == PartnerBillingRequest::Kind::Unbilled &&
        (which.billing_period.empty() || which.currency_code.empty())) {
        return make_error("invalid_argument", "an unbilled usage export needs a billing period and a currency code",
                          which.billing_period.empty() ? "billingPeriod" : "currencyCode");
    }
    const detail::SourceCall call{transport_, clock_, log_, hooks_, options_.retry};
    const detail::Authorizer auth{
        [this](net::HttpRequestSpec& request) -> Status {
            auto token = tokens_.access_token();
            if (!token) return token.error();
            request.headers.set("Authorization", "Bearer " + *token);
            request.headers.set("client-request-id", random_guid());
            return Ok{};
        },
        [this](const net::HttpRequestSpec& request) {
            const auto header = request.headers.get("authorization").value_or("");
            tokens_.invalidate(header.size() > 7 ? std::string_view(header).substr(7) : std::string_view{});
        }};
    PartnerExportSummary summary;

    // 1. Start the export.
    net::HttpRequestSpec start;
    start.method = "POST";
    start.url = export_url(which);
    start.headers.set("Content-Type", "application/json");
    start.headers.set("Accept", "application/json");
    start.body = export_body(which);
    const std::string start_what = "POST " + path_of(start.url);
    auto started = detail::send_with_retries(call, std::move(start), start_what, detail::with_auth(auth));
    if (!started) return started.error();
    if (started->status != 202 && started->status != 200) return detail::answer_error(start_what, *started);
    const auto location = started->headers.get("location");
    if (!location || location->empty()) {
        return make_error(std::string(kSourceUnreadable),
                          start_what + " answered HTTP " + std::to_string(started->status) + " without a Location",
                          "Location");
    }
    const std::string operation_url = detail::absolute_url(options_.graph_base_url, *location);
    const std::string poll_what = "GET " + path_of(operation_url);

    // One GET of the operation, its answer parsed.
    const auto poll = [&]() -> Result<std::pair<recon::ExportOperation, std::optional<Duration>>> {
        net::HttpRequestSpec request;
        request.method = "GET";
        request.url = operation_url;
        request.headers.set("Accept", "application/json");
        auto answer = detail::send_with_retries(call, std::move(request), poll_what, detail::with_auth(auth));
        if (!answer) return answer.error();
        if (answer->status != 200) return detail::answer_error(poll_what, *answer);
        ++summary.polls;
        auto operation = recon::parse_export_operation(answer->body);
        if (!operation) {
            return make_error(std::string(kSourceUnreadable), poll_what + ": " + operation.error().message,
                              operation.error().field);
        }
        return std::pair{std::move(*operation), retry_after_of(*answer, clock_.now())};
    };
    // The manifest of a succeeded operation: embedded, or behind its link.
    const auto manifest_of = [&](const recon::ExportOperation& operation) -> Result<recon::ExportManifest> {
        if (operation.status == recon::ExportOperation::Status::Failed) {
            return make_error(std::string(kExportFailed),
                              "the partner billing export " + operation.id + " failed: " +
                                  (operation.error_code.empty() ? "(no code)" : operation.error_code) + ": " +
                                  operation.error_message);
        }
        if (operation.status != recon::ExportOperation::Status::Succeeded) {
            return make_error(std::string(kSourceUnreadable),
                              poll_what + ": the operation is no longer succeeded", "status");
        }
        if (operation.manifest) return *operation.manifest;
        if (operation.manifest_link.empty()) {
            return make_error(std::string(kSourceUnreadable), poll_what + ": a succeeded operation without a manifest",
                              "resourceLocation");
        }
        net::HttpRequestSpec request;
        request.method = "GET";
        request.url = detail::absolute_url(options_.graph_base_url, operation.manifest_link);
        request.headers.set("Accept", "application/json");
        const std::string what = "GET " + path_of(request.url);
        auto answer = detail::send_with_retries(call, std::move(request), what, detail::with_auth(auth));
        if (!answer) return answer.error();
        if (answer->status != 200) return detail::answer_error(what, *answer);
        auto manifest = recon::parse_export_manifest(answer->body);
        if (!manifest) {
            return make_error(std::string(kSourceUnreadable), what + ": " + manifest.error().message,
                              manifest.error().field);
        }
        return manifest;
    };

    // 2. Poll until it is no longer running, within max_wait.
    Duration waited{0};
    std::optional<Duration> next_wait = retry_after_of(*started, clock_.now());
    std::optional<recon::ExportOperation> finished;
    while (!finished) {
        const Duration wait = next_wait.value_or(options_.poll_interval);
        if (waited + wait > options_.max_wait) {
            return make_error(std::string(kExportTimeout),
                              "the partner billing export at " + path_of(operation_url) + " was still running after " +
                                  std::to_string(std::chrono::duration_cast<seconds>(waited).count()) + " s (" +
                                  std::to_string(summary.polls) + " polls)");
        }
        if (wait.count() > 0) hooks_.sleep(wait);
        waited += wait;
        auto polled = poll();
        if (!polled) return polled.error();
        auto& [operation, retry_after] = *polled;
        summary.operation_id = operation.id;
        if (operation.status == recon::ExportOperation::Status::Succeeded ||
            operation.status == recon::ExportOperation::Status::Failed) {
            finished = std::move(operation);
        } else {
            next_wait = std::max(retry_after.value_or(options_.poll_interval), options_.min_poll_interval);
        }
    }
    auto manifest = manifest_of(*finished);
    if (!manifest) return manifest.error();
    if (auto usable = check_manifest(*manifest); !usable) return usable.error();

    // 3. Every blob, streamed through the gzip line reader.
    SourceRetryOptions blob_retry = options_.retry;
    blob_retry.request_timeout = options_.blob_timeout;
    blob_retry.deadline = options_.retry.deadline + options_.blob_timeout;
    const detail::SourceCall blob_call{transport_, clock_, log_, hooks_, blob_retry};
    for (std::size_t index = 0; index < manifest->blobs.size(); ++index) {
        const std::string name = manifest->blobs[index].name;
        std::uint64_t delivered = 0;  // of this blob, handed to on_row (kept across attempts)
        std::uint64_t line_number = 0;  // of this attempt
        std::unique_ptr<net::GzipLineReader> reader;
        std::optional<Error> failure;
        const auto on_line = [&](std::string_view line) {
            ++line_number;
            if (failure || line_number <= delivered) return;  // an earlier attempt handed this one over
            auto row = recon::parse_partner_billing_line(line);
            if (!row) {
                failure = make_error(std::string(kSourceUnreadable),
                                     "blob " + name + " line " + std::to_string(line_number) + ": " +
                                         row.error().message,
                                     row.error().field);
                return;
            }
            if (auto taken = on_row(*row); !taken) {
                failure = taken.error();
                return;
            }
            ++delivered;
        };
        const net::BodySink sink = [&](std::string_view chunk) -> Status {
            auto fed = reader->feed(chunk, on_line);
            if (!fed) {
                return make_error(std::string(kSourceUnreadable), "blob " + name + ": " + fed.error().message);
            }
            if (failure) return *failure;
            return Ok{};
        };
        const auto reset = [&] {
            reader = std::make_unique<net::GzipLineReader>(options_.max_line_bytes);
            line_number = 0;
        };
        const auto summary_text = [&] { return std::to_string(line_number) + " lines"; };
        for (bool refreshed = false;;) {
            reset();
            const auto& blob = manifest->blobs[index];
            net::HttpRequestSpec request;
            request.method = "GET";
            request.url = recon::blob_url(*manifest, blob);
            request.headers.set("x-ms-version", "2021-08-06");
            const std::string what = "GET blob " + name;
            detail::SendExtras extras;  // no bearer: the SAS in the URL authorizes
            extras.sink = &sink;
            extras.summary = summary_text;
            extras.before_retry = reset;
            auto answer = detail::send_with_retries(blob_call, std::move(request), what, extras);
            if (!answer) return answer.error();
            if (answer->status == 200) {
                if (auto done = reader->finish(on_line); !done) {
                    return make_error(std::string(kSourceUnreadable), "blob " + name + ": " + done.error().message);
                }
                if (failure) return *failure;
                summary.compressed_bytes += answer->streamed_bytes;
                summary.largest_chunk = std::max(summary.largest_chunk, answer->largest_chunk);
                break;
            }
            if (answer->status != 403 || refreshed) return detail::answer_error(what, *answer);
            // The SAS expired (or was revoked): a fresh one from the operation, once.
            refreshed = true;
            summary.manifest_refreshed = true;
            auto polled = poll();
            if (!polled) return polled.error();
            auto fresh = manifest_of(polled->first);
            if (!fresh) return fresh.error();
            if (auto usable = check_manifest(*fresh); !usable) return usable.error();
            if (index >= fresh->blobs.size() || fresh->blobs[index].name != name) {
                return make_error(std::string(kSourceUnreadable),
                                  "the refreshed manifest of " + summary.operation_id + " no longer lists blob " + name,
                                  "blobs");
            }
            manifest = std::move(fresh);
        }
        summary.lines += delivered;
        ++summary.blobs;
    }
    return summary;
}

}  // namespace meterbridge::azure

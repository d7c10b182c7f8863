#include "meterbridge/sandbox/partner_billing_export.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "json_writer.hpp"
#include "meterbridge/azure/guid.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/net/gzip.hpp"
#include "meterbridge/sandbox/sandbox_core.hpp"

namespace meterbridge::sandbox {

using detail::ObjectWriter;
using detail::quote;
using net::HttpRequest;
using net::HttpResponse;

namespace {

// The audiences of a Graph token: its URL and its application id.
const std::vector<std::string_view> kGraphAudiences = {"https://graph.microsoft.com",
                                                       "00000003-0000-0000-c000-000000000000"};
constexpr std::string_view kOperationsPath = "operations/";
constexpr std::string_view kPartnerTenantId = "5f1e4b4a-0000-4000-8000-5a4db0c5a7e1";
constexpr std::string_view kPartnerId = "5f1e4b4a-0000-4000-8000-5a4db0c5a7e1";

// Graph's error shape: {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
HttpResponse graph_error(int status, std::string_view code, std::string_view message, Instant now) {
    const std::string id = azure::random_guid();
    ObjectWriter inner;
    inner.str("date", format_iso8601(now)).str("request-id", id).str("client-request-id", id);
    ObjectWriter error;
    error.str("code", code).str("message", message).raw("innerError", inner.done());
    ObjectWriter w;
    w.raw("error", error.done());
    return HttpResponse::json(status, w.done());
}

// "Wed, 02 Dec 2026 06:00:00 GMT": the time format of Azure Storage's messages.
std::string http_date(Instant instant) {
    static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto day = std::chrono::floor<std::chrono::days>(instant);
    const std::chrono::year_month_day ymd{day};
    const std::chrono::hh_mm_ss time{std::chrono::floor<std::chrono::seconds>(instant - day)};
    const std::chrono::weekday weekday{day};
    char text[40];
    std::snprintf(text, sizeof text, "%s, %02u %s %04d %02lld:%02lld:%02lld GMT", kDays[weekday.c_encoding()],
                  static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                  static_cast<int>(ymd.year()), static_cast<long long>(time.hours().count()),
                  static_cast<long long>(time.minutes().count()), static_cast<long long>(time.seconds().count()));
    return text;
}

// Azure Storage's error: XML, with x-ms-error-code.
HttpResponse storage_error(int status, std::string_view code, std::string_view message, std::string_view detail,
                           Instant now) {
    const std::string id = azure::random_guid();
    HttpResponse response;
    response.status = status;
    response.headers.set("Content-Type", "application/xml");
    response.headers.set("x-ms-error-code", std::string(code));
    response.headers.set("x-ms-request-id", id);
    response.body = "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + std::string(code) +
                    "</Code><Message>" + std::string(message) + "\nRequestId:" + id + "\nTime:" +
                    format_iso8601(now, true) + "</Message>";
    if (!detail.empty()) response.body += "<AuthenticationErrorDetail>" + std::string(detail) + "</AuthenticationErrorDetail>";
    response.body += "</Error>";
    return response;
}

Day month_start(Day day) {
    const std::chrono::year_month_day ymd{day};
    return std::chrono::sys_days{ymd.year() / ymd.month() / 1};
}
Day next_month(Day start) {
    const std::chrono::year_month_day ymd{start};
    return std::chrono::sys_days{(ymd.year() / ymd.month() + std::chrono::months{1}) / 1};
}

std::string blob_name(std::uint64_t index) {
    char name[48];
    std::snprintf(name, sizeof name, "part-%05llu.json.gz", static_cast<unsigned long long>(index + 1));
    return name;
}

// How the export shows one record: `bulk` lines of the bulk quantity, then one
// line of `rest` when there is a remainder (or one line of processed when a
// plant lowered it below the bulk total).
struct LinePlan {
    std::uint64_t bulk = 0;
    Decimal bulk_quantity;
    std::optional<Decimal> rest;
    std::uint64_t count() const { return bulk + (rest ? 1 : 0); }
};
LinePlan plan_lines(const AzureDayRecord& record) {
    LinePlan plan;
    if (record.bulk_lines > 0) {
        const auto bulk_total = multiply(record.bulk_line_quantity, record.bulk_lines);
        const auto rest = bulk_total ? record.processed.subtract(*bulk_total) : Result<Decimal>(bulk_total.error());
        if (rest && !rest->is_negative()) {
            plan.bulk = record.bulk_lines;
            plan.bulk_quantity = record.bulk_line_quantity;
            if (!rest->is_zero()) plan.rest = *rest;
            return plan;
        }
    }
    plan.rest = record.processed;
    return plan;
}

// One usage line of the "full" attribute set (PascalCase, as the export writes them).
std::string usage_line(const AzureDayRecord& record, const ResourceFacts& facts, const Decimal& quantity,
                       std::string_view invoice, Day period_start, std::string_view currency) {
    const std::string period = format_day(period_start) + "T00:00:00Z";
    const std::string period_end = format_day(next_month(period_start) - std::chrono::days{1}) + "T00:00:00Z";
    const std::string amount = quantity.to_string();
    ObjectWriter info;
    info.str("usageResourceId", record.resource_id).str("planId", record.plan_id).str("dimension", record.dimension);
    ObjectWriter w;
    w.str("PartnerId", kPartnerId)
        .str("PartnerName", "Sandbox partner")
        .str("CustomerId", facts.azure_subscription_id)
        .str("CustomerName", "Sandbox customer")
        .str("CustomerDomainName", "customer.sandbox.example")
        .str("CustomerCountry", "US")
        .str("MpnId", "1234567")
        .str("Tier2MpnId", "")
        .str("InvoiceNumber", invoice)
        .str("ProductId", facts.offer_id)
        .str("SkuId", record.plan_id)
        .str("AvailabilityId", "")
        .str("SkuName", record.plan_id)
        .str("ProductName", facts.offer_id)
        .str("PublisherName", "Sandbox publisher")
        .str("PublisherId", "")
        .str("SubscriptionDescription", facts.offer_id)
        .str("SubscriptionId", facts.azure_subscription_id)
        .str("ChargeStartDate", period)
        .str("ChargeEndDate", period_end)
        .str("UsageDate", format_day(record.day) + "T00:00:00Z")
        .str("MeterType", "Custom")
        .str("MeterCategory", "SaaS")
        .str("MeterId", record.dimension)
        .str("MeterSubCategory", "")
        .str("MeterName", record.dimension)
        .str("MeterRegion", "")
        .str("Unit", "1")
        .str("ResourceLocation", "global")
        .str("ConsumedService", "Microsoft.SaaS")
        .str("ResourceGroup", "")
        .str("ResourceURI", "/subscriptions/" + facts.azure_subscription_id + "/providers/Microsoft.SaaS/resources/" +
                                record.resource_id)
        .str("ChargeType", "New")
        .raw("UnitPrice", "1")
        .raw("Quantity", amount)
        .str("UnitType", "1")
        .raw("BillingPreTaxTotal", amount)
        .str("BillingCurrency", currency)
        .raw("PricingPreTaxTotal", amount)
        .str("PricingCurrency", currency)
        .str("ServiceInfo1", "")
        .str("ServiceInfo2", "")
        .str("Tags", "")
        .str("AdditionalInfo", info.done())
        .raw("EffectiveUnitPrice", "1")
        .raw("PCToBCExchangeRate", "1")
        .str("PCToBCExchangeRateDate", period)
        .str("EntitlementId", record.resource_id)
        .str("EntitlementDescription", facts.offer_id)
        .raw("PartnerEarnedCreditPercentage", "0")
        .raw("CreditPercentage", "0")
        .str("CreditType", "Credit Not Applicable")
        .str("BenefitOrderId", "")
        .str("BenefitId", "")
        .str("BenefitType", "");
    return w.done();
}

Result<long long> integer_field(const Json& root, const char* key, long long fallback, long long low, long long high) {
    const auto it = root.find(key);
    if (it == root.end()) return fallback;
    if (!it->is_number_integer() || it->get<long long>() < low || it->get<long long>() > high) {
        return make_error("invalid_export_options",
                          std::string(key) + " must be an integer " + std::to_string(low) + ".." + std::to_string(high), key);
    }
    return it->get<long long>();
}

}  // namespace

Result<PartnerExportOptions> PartnerExportOptions::patched(std::string_view json) const {
    auto root = parse_exact_json(json);
    if (!root || !root->is_object()) return make_error("invalid_export_options", "the body must be a JSON object");
    for (const auto& [key, value] : root->items()) {
        if (key != "running_polls" && key != "retry_after_s" && key != "lines_per_blob" && key != "fail_next" &&
            key != "sas_ttl_s") {
            return make_error("invalid_export_options", "unknown field " + key, key);
        }
    }
    PartnerExportOptions out = *this;
    auto polls = integer_field(*root, "running_polls", running_polls, 0, 1000);
    auto retry = integer_field(*root, "retry_after_s", retry_after_s, 0, 3600);
    auto per_blob = integer_field(*root, "lines_per_blob", static_cast<long long>(lines_per_blob), 1, 100'000'000);
    auto fails = integer_field(*root, "fail_next", fail_next, 0, 1000);
    auto ttl = integer_field(*root, "sas_ttl_s", sas_ttl_s, 0, 365LL * 24 * 3600);
    for (const auto* field : {&polls, &retry, &per_blob, &fails, &ttl}) {
        if (!*field) return field->error();
    }
    out.running_polls = static_cast<int>(*polls);
    out.retry_after_s = static_cast<int>(*retry);
    out.lines_per_blob = static_cast<std::uint64_t>(*per_blob);
    out.fail_next = static_cast<int>(*fails);
    out.sas_ttl_s = *ttl;
    return out;
}

std::string PartnerExportOptions::json() const {
    ObjectWriter w;
    w.num("running_polls", running_polls)
        .num("retry_after_s", retry_after_s)
        .num("lines_per_blob", static_cast<long long>(lines_per_blob))
        .num("fail_next", fail_next)
        .num("sas_ttl_s", sas_ttl_s);
    return w.done();
}

PartnerExportOptions PartnerBillingExport::options() const {
    std::lock_guard lock(mutex_);
    return options_;
}

void PartnerBillingExport::set_options(const PartnerExportOptions& options) {
    std::lock_guard lock(mutex_);
    options_ = options;
}

HttpResponse PartnerBillingExport::handle(const HttpRequest& request, Instant now, SandboxCore& core) {
    const std::string& path = request.path;
    if (path.starts_with(kBlobRoot)) {
        if (request.method != "GET") return storage_error(405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.", {}, now);
        return blob(request, now, core);
    }
    if (!core.has_token_for(request, now, kGraphAudiences)) {
        return graph_error(401, "InvalidAuthenticationToken",
                           "Access token is empty, invalid or expired, or was not issued for https://graph.microsoft.com.", now);
    }
    const std::string_view rest = std::string_view(path).substr(kGraphBillingRoot.size());
    if (rest == "usage/billed/export" || rest == "usage/unbilled/export") {
        if (request.method != "POST") return graph_error(405, "Request_BadRequest", "use POST", now);
        return start(request, rest == "usage/billed/export", now, core);
    }
    if (rest.starts_with(kOperationsPath) && rest.size() > kOperationsPath.size()) {
        if (request.method != "GET") return graph_error(405, "Request_BadRequest", "use GET", now);
        return poll(rest.substr(kOperationsPath.size()), now, core);
    }
    return graph_error(404, "UnknownError", "no such resource: " + path, now);
}

HttpResponse PartnerBillingExport::start(const HttpRequest& request, bool billed, Instant now, SandboxCore& core) {
    auto body = parse_exact_json(request.body);
    if (!body || !body->is_object()) return graph_error(400, "BadRequest", "The request body must be a JSON object.", now);
    const auto text = [&](const char* key) -> std::optional<std::string> {
        const auto it = body->find(key);
        if (it == body->end() || !it->is_string()) return std::nullopt;
        return it->get<std::string>();
    };
    const auto attribute_set = text("attributeSet").value_or("full");
    if (body->contains("attributeSet") && (!text("attributeSet") || (attribute_set != "full" && attribute_set != "basic"))) {
        return graph_error(400, "BadRequest", "attributeSet must be full or basic.", now);
    }
    const Day today = std::chrono::floor<std::chrono::days>(now);
    Operation operation;
    std::string currency = "USD";
    if (billed) {
        const auto invoice = text("invoiceId");
        if (!invoice || invoice->empty()) return graph_error(400, "BadRequest", "invoiceId is required.", now);
        // The sandbox's invoices: G + YYYYMM, one per calendar month once that month has ended.
        const auto month = invoice->size() == 7 && (*invoice)[0] == 'G' ? parse_day(invoice->substr(1, 4) + "-" + invoice->substr(5, 2) + "-01")
                                                                          : Result<Day>(make_error("invalid", "shape"));
        if (!month) return graph_error(400, "BadRequest", "invoiceId must look like G202601 (G + YYYYMM): '" + *invoice + "'.", now);
        if (next_month(*month) > today) {
            return graph_error(404, "NotFound", "Invoice " + *invoice + " was not found (its billing period has not ended).", now);
        }
        operation.invoice_number = *invoice;
        operation.period_start = *month;
    } else {
        const auto period = text("billingPeriod");
        if (!period || (*period != "current" && *period != "last")) {
            return graph_error(400, "BadRequest", "billingPeriod is required: current or last.", now);
        }
        const auto code = text("currencyCode");
        if (!code || code->size() != 3) return graph_error(400, "BadRequest", "currencyCode is required (e.g. USD).", now);
        currency = *code;
        operation.period_start = month_start(today);
        if (*period == "last") operation.period_start = month_start(operation.period_start - std::chrono::days{1});
    }
    auto records = core.azure_records(operation.period_start, next_month(operation.period_start) - std::chrono::days{1}, now);
    if (!records) return graph_error(500, "InternalServerError", records.error().message, now);
    for (auto& record : *records) {
        if (!record.billed()) continue;
        operation.lines += plan_lines(record).count();
        operation.records.push_back(std::move(record));
    }
    operation.currency = currency;
    operation.id = azure::random_guid();
    operation.created = now;
    std::string location;
    int retry_after = 0;
    {
        std::lock_guard lock(mutex_);
        operation.polls_left = options_.running_polls;
        operation.lines_per_blob = options_.lines_per_blob;
        if (options_.fail_next > 0) {
            operation.fails = true;
            --options_.fail_next;
        }
        retry_after = options_.retry_after_s;
        location = core.base_url() + std::string(kGraphBillingRoot) + std::string(kOperationsPath) + operation.id;
        operations_.emplace(operation.id, std::move(operation));
    }
    HttpResponse response;
    response.status = 202;
    response.headers.set("Location", location);
    response.headers.set("Retry-After", std::to_string(retry_after));
    return response;
}

HttpResponse PartnerBillingExport::poll(std::string_view id, Instant now, SandboxCore& core) {
    std::unique_lock lock(mutex_);
    const auto it = operations_.find(std::string(id));
    if (it == operations_.end()) return graph_error(404, "NotFound", "Operation " + std::string(id) + " was not found.", now);
    Operation& op = it->second;
    ObjectWriter w;
    w.str("@odata.context", "https://graph.microsoft.com/v1.0/$metadata#reports/partners/billing/operations/$entity");
    if (op.polls_left > 0) {
        --op.polls_left;
        w.str("@odata.type", "#microsoft.graph.partners.billing.runningOperation")
            .str("id", op.id)
            .str("createdDateTime", format_iso8601(op.created, true))
            .str("lastActionDateTime", format_iso8601(now, true))
            .str("status", "running");
        auto response = HttpResponse::json(200, w.done());
        response.headers.set("Retry-After", std::to_string(options_.retry_after_s));
        return response;
    }
    if (op.fails) {
        ObjectWriter error;
        error.str("code", "InternalServerError").str("message", "The export failed (injected by the sandbox).");
        w.str("@odata.type", "#microsoft.graph.partners.billing.failedOperation")
            .str("id", op.id)
            .str("createdDateTime", format_iso8601(op.created, true))
            .str("lastActionDateTime", format_iso8601(now, true))
            .str("status", "failed")
            .raw("error", error.done());
        return HttpResponse::json(200, w.done());
    }
    if (op.succeeded_at == Instant{}) op.succeeded_at = now;
    // The first SAS is signed at success; a GET once it has expired signs a
    // fresh one (as Graph does), which is how a client recovers from a 403 on
    // a blob. The old tokens are kept so that their URLs stay refused as expired.
    if (op.tokens.empty() || op.tokens.back().expired(now)) {
        op.tokens.push_back(Sas{azure::random_token(24), now, now + std::chrono::seconds(options_.sas_ttl_s)});
    }
    const Sas& token = op.tokens.back();
    const auto sas_time = [](Instant t) {
        std::string text = format_iso8601(t);
        for (std::size_t at = text.find(':'); at != std::string::npos; at = text.find(':')) text.replace(at, 1, "%3A");
        return text;
    };
    const std::string sas = "sv=2021-08-06&sr=c&sp=rl&st=" + sas_time(token.start) + "&se=" + sas_time(token.expiry) +
                            "&sig=" + token.signature;
    const std::uint64_t blobs = (op.lines + op.lines_per_blob - 1) / op.lines_per_blob;
    std::string list;
    for (std::uint64_t b = 0; b < blobs; ++b) {
        ObjectWriter blob;
        blob.str("name", blob_name(b))
            .str("partitionValue", "default")
            .num("lineCount", static_cast<long long>(std::min(op.lines_per_blob, op.lines - b * op.lines_per_blob)));
        if (!list.empty()) list.push_back(',');
        list += blob.done();
    }
    ObjectWriter location;
    location.str("id", op.id)
        .str("createdDateTime", format_iso8601(op.succeeded_at, true))
        .str("schemaVersion", "2")
        .str("dataFormat", "compressedJSON")
        .str("partnerTenantId", kPartnerTenantId)
        .str("rootDirectory", core.base_url() + std::string(kBlobRoot) + op.id)
        .str("sasToken", sas)
        .num("blobCount", static_cast<long long>(blobs))
        .num("totalLineCount", static_cast<long long>(op.lines))
        .raw("blobs", "[" + list + "]");
    w.str("@odata.type", "#microsoft.graph.partners.billing.exportSuccessOperation")
        .str("id", op.id)
        .str("createdDateTime", format_iso8601(op.created, true))
        .str("lastActionDateTime", format_iso8601(now, true))
        .str("status", "succeeded")
        .raw("resourceLocation", location.done());
    return HttpResponse::json(200, w.done());
}

HttpResponse PartnerBillingExport::blob(const HttpRequest& request, Instant now, SandboxCore& core) {
    // /blobs/partner-billing/{operation}/{name}
    const std::string_view rest = std::string_view(request.path).substr(kBlobRoot.size());
    const auto slash = rest.find('/');
    const auto not_found = [&] {
        return storage_error(404, "BlobNotFound", "The specified blob does not exist.", {}, now);
    };
    if (slash == std::string_view::npos) return not_found();
    std::unique_lock lock(mutex_);
    const auto it = operations_.find(std::string(rest.substr(0, slash)));
    if (it == operations_.end() || it->second.succeeded_at == Instant{}) return not_found();
    const Operation& op = it->second;
    const auto sig = request.query_param("sig");
    const auto token = std::find_if(op.tokens.begin(), op.tokens.end(),
                                    [&](const Sas& t) { return sig && t.signature == *sig; });
    if (token == op.tokens.end()) {
        return storage_error(403, "AuthenticationFailed",
                             "Server failed to authenticate the request. Make sure the value of Authorization header is "
                             "formed correctly including the signature.",
                             "Signature did not match. String to sign used was rl", now);
    }
    if (token->expired(now)) {
        return storage_error(403, "AuthenticationFailed",
                             "Server failed to authenticate the request. Make sure the value of Authorization header is "
                             "formed correctly including the signature.",
                             "Signed expiry time [" + http_date(token->expiry) + "] has to be after current time [" +
                                 http_date(now) + "]",
                             now);
    }
    const std::string_view name = rest.substr(slash + 1);
    const std::uint64_t blobs = (op.lines + op.lines_per_blob - 1) / op.lines_per_blob;
    std::uint64_t index = blobs;
    for (std::uint64_t b = 0; b < blobs; ++b) {
        if (blob_name(b) == name) index = b;
    }
    if (index == blobs) return not_found();
    // Copy what generation needs and let go of the lock: a blob of many lines takes a while.
    const std::vector<AzureDayRecord> records = op.records;
    const std::string invoice = op.invoice_number;
    const Day period = op.period_start;
    const std::string currency = op.currency;
    const std::uint64_t first = index * op.lines_per_blob;
    const std::uint64_t last = std::min(first + op.lines_per_blob, op.lines);
    lock.unlock();

    // Lines first..last-1 of the export, generated now: nothing but the
    // compressed bytes is held, whatever the size.
    net::GzipWriter gzip(1);
    std::uint64_t at = 0;
    for (const auto& record : records) {
        if (at >= last) break;
        const LinePlan plan = plan_lines(record);
        const std::uint64_t count = plan.count();
        if (at + count <= first) {
            at += count;
            continue;
        }
        const ResourceFacts facts = core.facts_of(record.resource_id);
        std::string bulk_line;
        if (plan.bulk > 0) bulk_line = usage_line(record, facts, plan.bulk_quantity, invoice, period, currency) + "\n";
        std::uint64_t i = first > at ? first - at : 0;  // skip the lines of earlier blobs
        at += i;
        for (; i < count && at < last; ++i, ++at) {
            if (i < plan.bulk) {
                gzip.write(bulk_line);
            } else {
                gzip.write(usage_line(record, facts, *plan.rest, invoice, period, currency) + "\n");
            }
        }
    }
    HttpResponse response;
    response.status = 200;
    response.headers.set("Content-Type", "application/octet-stream");
    response.headers.set("x-ms-blob-type", "BlockBlob");
    response.body = gzip.finish();
    return response;
}

}  // namespace meterbridge::sandbox

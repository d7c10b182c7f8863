#include "ea_charges.hpp"

#include <algorithm>
#include <cctype>

#include "json_writer.hpp"
#include "meterbridge/sandbox/sandbox_core.hpp"

namespace meterbridge::sandbox {

using detail::ObjectWriter;
using net::HttpRequest;
using net::HttpResponse;

namespace {

constexpr std::string_view kPrefix = "/v3/enrollments/";
constexpr std::string_view kCustomDate = "/marketplacechargesbycustomdate";

// The reporting API's error shape: {"error":{"code","message"}}.
HttpResponse ea_error(int status, std::string_view code, std::string_view message) {
    ObjectWriter error;
    error.str("code", code).str("message", message);
    ObjectWriter w;
    w.raw("error", error.done());
    return HttpResponse::json(status, w.done());
}

std::string charge_json(const AzureDayRecord& record, const ResourceFacts& facts) {
    const std::string day = format_day(record.day);
    ObjectWriter info;
    info.str("UsageResourceId", record.resource_id).str("PlanId", record.plan_id);
    ObjectWriter w;
    w.str("id", facts.azure_subscription_id + "_" + record.resource_id + "_" + record.dimension + "_" + day)
        .str("subscriptionGuid", facts.azure_subscription_id)
        .str("subscriptionName", "Sandbox subscription " + facts.azure_subscription_id.substr(0, 8))
        .str("meterId", record.dimension)
        .str("usageStartDate", day + "T00:00:00Z")
        .str("usageEndDate", day + "T23:59:59Z")
        .str("offerName", facts.offer_id)
        .str("resourceGroup", "")
        .str("instanceId", record.resource_id)
        .str("additionalInfo", info.done())
        .str("tags", "")
        .str("orderNumber", "sandbox-order-" + facts.offer_id)
        .str("unitOfMeasure", "")
        .str("costCenter", "")
        .num("accountId", 100)
        .str("accountName", "Sandbox account")
        .str("accountOwnerId", "owner@sandbox.example")
        .num("departmentId", 101)
        .str("departmentName", "Sandbox department")
        .str("publisherName", "Sandbox publisher")
        .str("planName", record.plan_id)
        // No price list in the sandbox: a rate of 1 makes the cost the quantity, exactly.
        .raw("consumedQuantity", record.processed.to_string())
        .raw("resourceRate", "1")
        .raw("extendedCost", record.processed.to_string())
        .str("isRecurringCharge", "False");
    return w.done();
}

}  // namespace

HttpResponse ea_marketplace_charges(const HttpRequest& request, Instant now, const SandboxCore& core) {
    const std::string& path = request.path;
    if (!path.ends_with(kCustomDate)) return ea_error(404, "NotFound", "no such endpoint: " + path);
    const std::string enrollment = path.substr(kPrefix.size(), path.size() - kPrefix.size() - kCustomDate.size());
    if (enrollment.empty() || !std::all_of(enrollment.begin(), enrollment.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        return ea_error(404, "NotFound", "enrollment number must be digits, got '" + enrollment + "'");
    }
    if (request.method != "GET") return ea_error(405, "MethodNotAllowed", "use GET");
    const auto auth = request.headers.get("authorization");
    if (!auth || auth->size() <= 7 || !net::iequals(auth->substr(0, 7), "bearer ") ||
        auth->substr(7) != core.options().ea_api_key) {
        return ea_error(401, "Unauthorized", "The API key is missing, invalid or expired.");
    }
    Day days[2]{};
    const char* names[2] = {"startTime", "endTime"};
    for (int i = 0; i < 2; ++i) {
        const auto text = request.query_param(names[i]);
        if (!text || text->empty()) return ea_error(400, "BadRequest", std::string(names[i]) + " is required (yyyy-MM-dd)");
        auto day = parse_day(*text);
        if (!day) return ea_error(400, "BadRequest", std::string(names[i]) + " must be a date in yyyy-MM-dd format, got '" + *text + "'");
        days[i] = *day;
    }
    if (days[1] < days[0]) return ea_error(400, "BadRequest", "endTime must not be before startTime");
    const auto first = std::chrono::year_month_day{days[0]};
    if (days[1] >= std::chrono::sys_days{first + std::chrono::months{36}}) {
        return ea_error(400, "BadRequest", "the maximum supported time range is 36 months (endTime)");
    }
    const auto records = core.azure_records(days[0], days[1], now);
    if (!records) return ea_error(500, "InternalServerError", records.error().message);
    std::string out = "[";
    for (const auto& record : *records) {
        if (!record.billed()) continue;
        if (out.size() > 1) out.push_back(',');
        out += charge_json(record, core.facts_of(record.resource_id));
    }
    out += "]";
    return HttpResponse::json(200, out);
}

}  // namespace meterbridge::sandbox

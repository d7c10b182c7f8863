// The console's API views. Each handler is one or two short read
// transactions of the store, like the routes of ops_api.cpp.
#include "ops/console_routes.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/bill_diff.hpp"
#include "meterbridge/net/api_error.hpp"
#include "ops/console_static.hpp"
#include "ops/ops_json.hpp"
#include "ops/ops_route.hpp"

namespace meterbridge::app {

using net::error_response;
using net::PathParams;

namespace {

// Azure takes usage no older than 24 hours (SPEC §4): the page compares the
// oldest pending units against it.
constexpr std::int64_t kAzureWindowSeconds = 24 * 3600;

// One entry per hour of [first, first + hours), zero where nothing was accepted.
Json hourly_series_json(const std::vector<store::HourUnits>& accepted, Instant first, std::int64_t count) {
    Json out = Json::array();
    auto next = accepted.begin();
    for (std::int64_t i = 0; i < count; ++i) {
        const Instant hour = first + std::chrono::hours(i);
        std::int64_t units = 0;
        while (next != accepted.end() && next->hour < hour) ++next;
        if (next != accepted.end() && next->hour == hour) units = next->units;
        out.push_back({{"hour", instant_json(std::optional<Instant>(hour))}, {"units", units}});
    }
    return out;
}

std::int64_t units_in(const store::StoreMetrics& metrics, const std::string& state) {
    const auto found = metrics.event_units_by_state.find(state);
    return found == metrics.event_units_by_state.end() ? 0 : found->second;
}

net::HttpResponse overview(OpsContext& context, const net::HttpRequest& request) {
    auto window_hours = int_param(request, "hours", 48, 1, 168);
    if (!window_hours) return error_response(400, window_hours.error());
    const Instant now = context.clock.now();
    auto metrics = context.store.metrics();
    if (!metrics) return store_error_response(metrics.error());
    const Instant first = floor_hour(now) - std::chrono::hours(*window_hours - 1);
    auto accepted = context.store.accepted_units_by_hour(first, floor_hour(now) + std::chrono::hours(1));
    if (!accepted) return store_error_response(accepted.error());
    auto problems = context.store.recent_event_problems(10);
    if (!problems) return store_error_response(problems.error());

    Json oldest_age = nullptr;
    if (metrics->oldest_pending) {
        oldest_age = std::chrono::duration_cast<std::chrono::seconds>(now - *metrics->oldest_pending).count();
    }
    Json events = Json::object();
    for (const auto& [state, count] : metrics->events_by_state) {
        events[state] = {{"events", count}, {"units", units_in(*metrics, state)}};
    }
    Json held = Json::array();
    for (const auto& [currency, total] : metrics->held) {
        held.push_back({{"integrationId", total.integration_id},
                        {"reason", to_string(total.reason)},
                        {"lineItems", total.line_items},
                        {"amount", total.overflow ? Json(nullptr) : exact_number(total.amount)},
                        {"currency", currency}});
    }
    Json errors = Json::array();
    for (const auto& problem : *problems) errors.push_back(event_problem_json(problem));
    Json azure_status = Json::object();
    for (const auto& [status, count] : metrics->azure_http_status) azure_status[std::to_string(status)] = count;

    return json_response(
        200, {{"now", instant_json(std::optional<Instant>(now))},
              {"pending",
               {{"units", metrics->pending_units},
                {"entries", metrics->pending_entries},
                {"oldestSince", instant_json(metrics->oldest_pending)},
                {"oldestAgeSeconds", oldest_age},
                {"azureWindowSeconds", kAzureWindowSeconds}}},
              {"rejectedUnits", units_in(*metrics, "rejected")},
              {"unresolvedUnits", units_in(*metrics, "unresolved")},
              {"overReportedUnits", metrics->over_reported_units},
              {"unprocessedBillVersions", metrics->unprocessed_bill_versions},
              {"versionsWaitingOnM3ter", metrics->versions_waiting_on_m3ter},
              {"events", std::move(events)},
              {"held", std::move(held)},
              {"lastErrors", std::move(errors)},
              {"azureHttpStatus", std::move(azure_status)},
              {"acceptedPerHour", hourly_series_json(*accepted, first, *window_hours)}});
}

net::HttpResponse list_bills(OpsContext& context, const net::HttpRequest& request) {
    store::BillQuery query;
    if (const auto held = request.query_param("held"); held && !held->empty()) {
        if (*held != "true" && *held != "false") {
            return error_response(400, bad_parameter("held", "expected true or false"));
        }
        query.held_only = *held == "true";
    }
    auto limit = int_param(request, "limit", 100, 1, 1000);
    if (!limit) return error_response(400, limit.error());
    query.limit = static_cast<std::size_t>(*limit);
    auto bills = context.store.list_bills(query);
    if (!bills) return store_error_response(bills.error());
    Json data = Json::array();
    for (const auto& bill : *bills) {
        data.push_back({{"billId", bill.bill_id},
                        {"accountId", bill.account_id},
                        {"version", bill.version},
                        {"deleted", bill.deleted},
                        {"processed", bill.processed},
                        {"updatedAt", instant_json(std::optional<Instant>(bill.updated_at))},
                        {"heldItems", bill.held_items}});
    }
    return json_response(200, {{"data", std::move(data)}});
}

// ------------------------------------------------------------ version diff

struct VersionSide {
    const store::BillVersionRecord* record = nullptr;
    Bill bill;
    std::vector<UsageTarget> targets;  // of the newest run of each integration on this version
};

// The newest stored version with that number (a deletion may repeat it).
Result<VersionSide> version_side(const store::BillDetail& detail, std::string_view name, std::int64_t number) {
    VersionSide side;
    for (const auto& version : detail.versions) {
        if (version.version == number) side.record = &version;
    }
    if (side.record == nullptr) {
        return make_error(std::string(store::kNotFound),
                          std::string(name) + ": bill " + detail.bill_id + " has no version " + std::to_string(number),
                          std::string(name));
    }
    auto document = parse_exact_json(side.record->bill_json);
    if (!document) return document.error();
    auto bill = parse_bill(*document);
    if (!bill) return bill.error();
    side.bill = std::move(*bill);
    std::vector<std::string> seen;  // runs are newest first: the first per integration counts
    for (const auto& run : detail.runs) {
        if (run.bill_version_id != side.record->id) continue;
        if (std::find(seen.begin(), seen.end(), run.integration_id) != seen.end()) continue;
        seen.push_back(run.integration_id);
        side.targets.insert(side.targets.end(), run.targets.begin(), run.targets.end());
    }
    return side;
}

Json line_item_json(const std::optional<LineItem>& item) {
    if (!item) return nullptr;
    const auto text = [](const std::string& value) { return value.empty() ? Json(nullptr) : Json(value); };
    return {{"id", text(item->id)},
            {"lineItemType", item->type_name},
            {"productId", text(item->product_id)},
            {"aggregationId", text(item->aggregation_id)},
            {"compoundAggregationId", text(item->compound_aggregation_id)},
            {"description", text(item->description)},
            {"subtotal", exact_number(item->subtotal)}};
}

Json index_json(const std::optional<int>& index) { return index ? Json(*index) : Json(nullptr); }

net::HttpResponse bill_diff(OpsContext& context, const net::HttpRequest& request, const PathParams& params) {
    auto detail = context.store.bill_detail(params.at("billId"));
    if (!detail) return store_error_response(detail.error());
    std::int64_t numbers[2] = {0, 0};
    const char* names[2] = {"from", "to"};
    for (int i = 0; i < 2; ++i) {
        const auto text = request.query_param(names[i]);
        const auto number = text ? parse_int(*text) : std::nullopt;
        if (!number || *number < 0) {
            return error_response(400, bad_parameter(names[i], "required: a version number of this bill"));
        }
        numbers[i] = *number;
    }
    auto from = version_side(*detail, "from", numbers[0]);
    if (!from) return from.error().code == store::kNotFound ? error_response(404, from.error())
                                                            : error_response(500, from.error());
    auto to = version_side(*detail, "to", numbers[1]);
    if (!to) return to.error().code == store::kNotFound ? error_response(404, to.error())
                                                        : error_response(500, to.error());
    const BillDiff diff = diff_bills(from->bill, from->targets, to->bill, to->targets);

    Json items = Json::array();
    for (const auto& change : diff.line_items) {
        items.push_back({{"change", to_string(change.kind)},
                         {"fromIndex", index_json(change.from_index)},
                         {"toIndex", index_json(change.to_index)},
                         {"before", line_item_json(change.before)},
                         {"after", line_item_json(change.after)}});
    }
    Json targets = Json::array();
    for (const auto& change : diff.targets) {
        targets.push_back({{"integrationId", change.integration_id},
                           {"resourceId", change.resource_id},
                           {"dimension", change.dimension},
                           {"fromUnits", change.from_units},
                           {"toUnits", change.to_units},
                           {"fromAmount", exact_number(change.from_amount)},
                           {"toAmount", exact_number(change.to_amount)}});
    }
    const auto side_json = [](const VersionSide& side) {
        return Json{{"version", side.record->version},
                    {"versionId", side.record->id},
                    {"processed", side.record->processed},
                    {"deleted", side.record->deleted}};
    };
    return json_response(200, {{"billId", detail->bill_id},
                               {"from", side_json(*from)},
                               {"to", side_json(*to)},
                               {"lineItems", std::move(items)},
                               {"targets", std::move(targets)}});
}

}  // namespace

void add_console_routes(net::Router& router, OpsContext& context) {
    OpsContext& c = context;
    router.add("GET", "/overview", ops_route(c, Access::Token, [&c](const auto& request, const auto&) {
                   return overview(c, request);
               }));
    router.add("GET", "/bills", ops_route(c, Access::Token, [&c](const auto& request, const auto&) {
                   return list_bills(c, request);
               }));
    router.add("GET", "/bills/{billId}/diff", ops_route(c, Access::Token, [&c](const auto& request, const auto& params) {
                   return bill_diff(c, request, params);
               }));
    add_console_static_routes(router);
}

}  // namespace meterbridge::app

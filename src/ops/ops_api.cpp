// The ops routes of SPEC §5. Each handler is a plain function from request to
// response (run on the server's I/O thread; every store call is one short
// transaction), wrapped by ops_route() for the token check and for turning
// store errors and stray exceptions into the JSON error shape.
#include "ops/ops_api.hpp"

#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "meterbridge/azure/token_provider.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/slotting.hpp"
#include "meterbridge/net/api_error.hpp"
#include "ops/metrics_text.hpp"
#include "ops/ops_auth.hpp"
#include "ops/ops_json.hpp"
#include "ops/ops_route.hpp"
#include "ops/console_routes.hpp"
#include "ops/simulate_route.hpp"

namespace meterbridge::app {

using net::error_response;
using net::PathParams;
using net::RouteHandler;
using net::Router;
namespace {

// from/to as a half-open range; `to` must lie after `from` when both are given.
struct Range {
    std::optional<Instant> from;
    std::optional<Instant> to;
};

Result<Range> range_params(const net::HttpRequest& request) {
    auto from = instant_param(request, "from");
    if (!from) return from.error();
    auto to = instant_param(request, "to");
    if (!to) return to.error();
    if (*from && *to && **to <= **from) return bad_parameter("to", "must be later than from");
    return Range{*from, *to};
}

// A list query's from/to (range_params) and its page size (`size_param`,
// 1 to 1000, default 100); the 400 answer when one of them is bad.
template <typename Query>
std::optional<net::HttpResponse> read_window(const net::HttpRequest& request, Query& query,
                                             std::string_view size_param, std::size_t Query::*size) {
    auto range = range_params(request);
    if (!range) return error_response(400, range.error());
    query.from = range->from;
    query.to = range->to;
    auto count = int_param(request, size_param, 100, 1, 1000);
    if (!count) return error_response(400, count.error());
    query.*size = static_cast<std::size_t>(*count);
    return std::nullopt;
}

// A path id that is no integer names nothing: 404 like an unknown id.
std::optional<std::int64_t> id_param(const PathParams& params, const std::string& name) {
    const auto found = params.find(name);
    if (found == params.end()) return std::nullopt;
    const auto value = parse_int(found->second);
    if (!value || *value <= 0) return std::nullopt;
    return value;
}

net::HttpResponse unknown_id(std::string_view what, const PathParams& params, const std::string& name) {
    const auto found = params.find(name);
    return error_response(404, std::string(store::kNotFound),
                          "no " + std::string(what) + " " + (found == params.end() ? "" : found->second));
}

void wake(const OpsContext& context) {
    if (context.wake_scheduler) context.wake_scheduler();
}

// ------------------------------------------------------------ handlers

// A JSON object body (415 / 400 answers otherwise).
Result<Json> json_object_body(const net::HttpRequest& request, std::string_view what) {
    if (!net::is_json_content_type(request.headers.get("Content-Type"))) {
        return make_error("unsupported_media_type", std::string(what) + " must be sent as application/json",
                          "Content-Type");
    }
    auto document = parse_exact_json(request.body);
    if (!document) return document.error();
    if (!document->is_object()) return make_error("invalid_field", "the body must be a JSON object");
    return std::move(*document);
}

net::HttpResponse body_error_response(const Error& error) {
    return error_response(error.code == "unsupported_media_type" ? 415 : 400, error);
}

Result<recon::Day> day_field(const Json& body, const std::string& name) {
    const auto found = body.find(name);
    if (found == body.end() || !found->is_string()) {
        return make_error("invalid_field", name + " is required: a UTC day \"YYYY-MM-DD\"", name);
    }
    auto day = recon::parse_day(found->get<std::string>());
    if (!day) return make_error("invalid_field", name + ": expected a UTC day \"YYYY-MM-DD\"", name);
    return *day;
}

Json reconciliation_json(const store::ReconciliationRecord& run) {
    Json totals = Json::object();
    for (const auto& [outcome, count] : run.totals) totals[std::string(recon::to_string(outcome))] = count;
    Json final_through = Json::object();
    for (const auto& [source, day] : run.final_through) final_through[source] = recon::format_day(day);
    Json out = {{"id", run.id},
                {"from", recon::format_day(run.from_day)},
                {"to", recon::format_day(run.to_day)},
                {"sources", run.sources},
                {"trigger", run.trigger},
                {"status", store::to_string(run.status)},
                {"error", run.error.empty() ? Json(nullptr) : Json(run.error)},
                {"startedAt", instant_json(std::optional<Instant>(run.started_at))},
                {"finishedAt", instant_json(run.finished_at)},
                {"totals", std::move(totals)},
                {"finalThrough", std::move(final_through)}};
    return out;
}

net::HttpResponse start_reconciliation(OpsContext& context, const net::HttpRequest& request) {
    auto body = json_object_body(request, "a reconciliation request");
    if (!body) return body_error_response(body.error());
    auto from = day_field(*body, "from");
    if (!from) return error_response(400, from.error());
    auto to = day_field(*body, "to");
    if (!to) return error_response(400, to.error());
    if (*from > *to) return error_response(400, "invalid_field", "from: must not be after to", "from");
    std::vector<recon::Source> sources = context.reconciliation_sources;
    if (const auto listed = body->find("sources"); listed != body->end()) {
        if (!listed->is_array() || listed->empty()) {
            return error_response(400, "invalid_field", "sources: a non-empty array of source names", "sources");
        }
        sources.clear();
        for (const Json& name : *listed) {
            const auto source = name.is_string() ? recon::source_from(name.get<std::string>()) : std::nullopt;
            if (!source) {
                return error_response(400, "invalid_field",
                                      "sources: each must be usage_events, partner_billing or ea_charges", "sources");
            }
            sources.push_back(*source);
        }
    }
    auto id = context.start_reconciliation(*from, *to, sources);
    if (!id) {
        if (id.error().code == "source_not_configured") return error_response(400, id.error());
        return store_error_response(id.error());
    }
    auto response = json_response(202, {{"id", *id}, {"status", "running"}});
    response.headers.set("Location", "reconciliations/" + std::to_string(*id));
    return response;
}

net::HttpResponse get_reconciliation(OpsContext& context, const PathParams& params) {
    const auto id = id_param(params, "id");
    if (!id) return unknown_id("reconciliation", params, "id");
    auto run = context.reconciliations->get_reconciliation(*id);
    if (!run) return store_error_response(run.error());
    Json out = reconciliation_json(*run);
    if (run->report_json) {
        auto report = parse_exact_json(*run->report_json);
        if (!report || !report->is_object()) {
            return error_response(500, "internal_error", "the stored report of this run is not readable");
        }
        for (auto& [key, value] : report->items()) out[key] = value;
    }
    auto exchanges = context.reconciliations->reconciliation_exchanges(*id);
    if (!exchanges) return store_error_response(exchanges.error());
    Json list = Json::array();
    for (const auto& exchange : *exchanges) list.push_back(exchange_json(exchange));
    out["exchanges"] = std::move(list);
    return json_response(200, out);
}

net::HttpResponse list_reconciliations(OpsContext& context, const net::HttpRequest& request) {
    store::ReconciliationQuery query;
    for (const std::string name : {"from", "to"}) {
        const auto text = request.query_param(name);
        if (!text || text->empty()) continue;
        auto day = recon::parse_day(*text);
        if (!day) return error_response(400, bad_parameter(name, "expected a UTC day YYYY-MM-DD"));
        (name == "from" ? query.from : query.to) = *day;
    }
    auto runs = context.reconciliations->list_reconciliations(query);
    if (!runs) return store_error_response(runs.error());
    Json data = Json::array();
    for (const auto& run : *runs) data.push_back(reconciliation_json(run));
    return json_response(200, {{"data", std::move(data)}});
}

net::HttpResponse settle_event(OpsContext& context, const PathParams& params, const net::HttpRequest& request) {
    const auto id = id_param(params, "id");
    if (!id) return unknown_id("event", params, "id");
    auto body = json_object_body(request, "a settlement");
    if (!body) return body_error_response(body.error());
    const auto as = body->find("as");
    const auto verdict = as != body->end() && as->is_string() ? recon::settlement_from(as->get<std::string>())
                                                                : std::nullopt;
    if (!verdict || *verdict == recon::Settlement::Undecidable) {
        return error_response(400, "invalid_field", "as: must be \"recorded\" or \"not_recorded\"", "as");
    }
    store::EventSettlementRequest settlement;
    settlement.event_id = *id;
    settlement.as = *verdict;
    settlement.settled_by = "api";
    settlement.evidence = "settled by ops through POST /events/{id}/settle";
    if (const auto evidence = body->find("evidence"); evidence != body->end()) {
        if (!evidence->is_string()) return error_response(400, "invalid_field", "evidence: must be text", "evidence");
        settlement.evidence = evidence->get<std::string>();
    }
    const Status settled = context.reconciliations->settle_unresolved(settlement, context.clock.now(), context.slot_policy);
    if (!settled) return store_error_response(settled.error());
    wake(context);
    auto event = context.store.event(*id);
    if (!event) return store_error_response(event.error());
    Json out = event_json(*event);
    out["settlement"] = {{"as", recon::to_string(*verdict)}, {"by", "api"}, {"evidence", settlement.evidence}};
    return json_response(200, out);
}

net::HttpResponse reported_usage(OpsContext& context, const net::HttpRequest& request) {
    store::ReportedUsageQuery query;
    query.account_id = request.query_param("accountId").value_or("");
    query.bill_id = request.query_param("billId").value_or("");
    query.next_token = request.query_param("nextToken").value_or("");
    if (auto bad = read_window(request, query, "pageSize", &store::ReportedUsageQuery::page_size)) {
        return std::move(*bad);
    }

    auto page = context.store.reported_usage(query);
    if (!page) return store_error_response(page.error());
    return json_response(200, reported_usage_page_json(*page));
}

net::HttpResponse bill_detail(OpsContext& context, const PathParams& params) {
    auto detail = context.store.bill_detail(params.at("billId"));
    if (!detail) return store_error_response(detail.error());
    return json_response(200, bill_detail_json(*detail));
}

net::HttpResponse reprocess_bill(OpsContext& context, const PathParams& params) {
    auto version = context.store.reprocess_bill(params.at("billId"));
    if (!version) return store_error_response(version.error());
    wake(context);
    return json_response(202, {{"billId", version->bill_id},
                               {"version", version->version},
                               {"versionId", version->id},
                               {"processed", version->processed}});
}

net::HttpResponse list_runs(OpsContext& context, const net::HttpRequest& request) {
    store::RunQuery query;
    query.bill_id = request.query_param("billId").value_or("");
    query.account_id = request.query_param("accountId").value_or("");
    if (auto bad = read_window(request, query, "limit", &store::RunQuery::limit)) return std::move(*bad);

    auto runs = context.store.list_runs(query);
    if (!runs) return store_error_response(runs.error());
    Json data = Json::array();
    for (const auto& run : *runs) data.push_back(run_json(run));
    return json_response(200, {{"data", std::move(data)}});
}

net::HttpResponse integration_run(OpsContext& context, const PathParams& params) {
    const auto id = id_param(params, "id");
    if (!id) return unknown_id("integration run", params, "id");
    auto detail = context.store.integration_run(*id);
    if (!detail) return store_error_response(detail.error());
    return json_response(200, run_detail_json(*detail));
}

net::HttpResponse list_events(OpsContext& context, const net::HttpRequest& request) {
    store::EventQuery query;
    if (const auto status = request.query_param("status"); status && !status->empty()) {
        query.state = event_state_from(*status);
        if (!query.state) {
            return error_response(400, bad_parameter("status", "not an event state (planned, sending, accepted, "
                                                               "conflict, expired, rejected, requeued, cancelled, "
                                                               "unresolved)"));
        }
    }
    if (auto bad = read_window(request, query, "limit", &store::EventQuery::limit)) return std::move(*bad);
    auto after = int_param(request, "afterId", 0, 0, std::numeric_limits<std::int64_t>::max());
    if (!after) return error_response(400, after.error());
    query.after_id = *after;
    query.bill_id = request.query_param("billId").value_or("");
    query.resource_id = request.query_param("resourceId").value_or("");
    query.dimension = request.query_param("dimension").value_or("");

    auto events = context.store.list_events(query);
    if (!events) return store_error_response(events.error());
    Json data = Json::array();
    for (const auto& detail : *events) data.push_back(event_detail_json(detail));
    // A full page may have more behind it: continue with afterId = the last id.
    const bool full = events->size() >= query.limit && !events->empty();
    return json_response(200, {{"data", std::move(data)},
                               {"nextAfterId", full ? Json(events->back().event.id) : Json(nullptr)}});
}

net::HttpResponse retry_event(OpsContext& context, const PathParams& params) {
    const auto id = id_param(params, "id");
    if (!id) return unknown_id("event", params, "id");
    const auto retried = context.store.retry_rejected(*id, context.clock.now(), context.slot_policy);
    if (!retried) return store_error_response(retried.error());
    wake(context);
    auto event = context.store.event(*id);
    if (!event) return store_error_response(event.error());
    return json_response(202, event_json(*event));
}

net::HttpResponse list_mappings(OpsContext& context) {
    Json data = Json::array();
    for (const auto& mapping : context.rules.external_mappings) data.push_back(mapping_json(mapping, "config"));
    auto stored = context.store.list_mappings();
    if (!stored) return store_error_response(stored.error());
    for (const auto& mapping : *stored) data.push_back(mapping_json(mapping, "api"));
    return json_response(200, {{"data", std::move(data)}});
}

bool same_slot(const ExternalMapping& a, const ExternalMapping& b) {
    return a.m3ter_entity == b.m3ter_entity && a.m3ter_id == b.m3ter_id && a.external_table == b.external_table &&
           a.integration_id == b.integration_id;
}

net::HttpResponse add_mapping(OpsContext& context, const net::HttpRequest& request) {
    if (!net::is_json_content_type(request.headers.get("Content-Type"))) {
        return error_response(415, "unsupported_media_type", "mappings must be sent as application/json",
                              "Content-Type");
    }
    auto document = parse_exact_json(request.body);
    if (!document) return error_response(400, document.error());
    if (!document->is_object()) return error_response(400, "invalid_field", "the body must be one mapping object");
    if (document->contains("id")) {
        return error_response(400, "invalid_field", "id is assigned by meterbridge; leave it out", "id");
    }
    auto mapping = parse_external_mapping(*document);
    if (!mapping) return error_response(400, mapping.error());

    if (!mapping->integration_id.empty()) {
        bool known = false;
        for (const auto& integration : context.rules.integrations) known = known || integration.id == mapping->integration_id;
        if (!known) {
            return error_response(400, "invalid_field",
                                  "integration_id: no configured integration has id \"" + mapping->integration_id + "\"",
                                  "integration_id");
        }
    }
    // The store checks run-time mappings; the config's own count as taken too.
    for (const auto& existing : context.rules.external_mappings) {
        if (same_slot(existing, *mapping)) {
            return error_response(409, std::string(store::kDuplicateMapping),
                                  "the config already maps this (m3ter_entity, m3ter_id, external_table, "
                                  "integration_id) as " + existing.id);
        }
    }
    auto id = context.store.add_mapping(*mapping);
    if (!id) return store_error_response(id.error());
    mapping->id = *id;
    auto response = json_response(201, mapping_json(*mapping, "api"));
    response.headers.set("Location", "/mappings/" + *id);
    return response;
}

net::HttpResponse delete_mapping(OpsContext& context, const PathParams& params) {
    const std::string& id = params.at("id");
    for (const auto& mapping : context.rules.external_mappings) {
        if (mapping.id == id) {
            return error_response(409, "config_mapping",
                                  "mapping " + id + " comes from the config file (external_mappings); remove it there "
                                  "and restart the daemon");
        }
    }
    const auto deleted = context.store.delete_mapping(id);
    if (!deleted) return store_error_response(deleted.error());
    net::HttpResponse response;
    response.status = 204;
    return response;
}

net::HttpResponse readiness(OpsContext& context) {
    std::string reasons;
    std::string field;
    const auto writable = context.store.writable();
    if (!writable) {
        reasons = "storage is not writable: " + writable.error().message;
        field = "storage";
    }
    if (context.azure_ready) {
        const auto azure = context.azure_ready();
        if (!azure) {
            reasons += (reasons.empty() ? "" : "; ") + std::string("Azure token unavailable: ") + azure.error().message;
            if (field.empty()) field = "azure";
        }
    }
    if (!reasons.empty()) return error_response(503, "not_ready", reasons, field);
    return json_response(200, {{"status", "ready"}});
}

net::HttpResponse metrics(OpsContext& context) {
    const Instant now = context.clock.now();
    auto figures = context.store.metrics();
    if (!figures) return store_error_response(figures.error());
    ProcessMetrics process;
    if (context.tokens != nullptr) process.token_fetches = context.tokens->fetch_count();
    if (context.sending_figures) process.sending = context.sending_figures();
    if (context.process_metrics) context.process_metrics(process);
    std::string text = render_metrics(*figures, process, now);
    if (context.reconciliations != nullptr) {
        auto runs = context.reconciliations->list_reconciliations(store::ReconciliationQuery{});
        if (!runs) return store_error_response(runs.error());
        text += render_reconciliation_metrics(*runs, now);
    }
    auto response = net::HttpResponse::text(200, text);
    response.headers.set("Content-Type", std::string(kMetricsContentType));
    return response;
}

net::HttpResponse set_clock(OpsContext& context, const net::HttpRequest& request) {
    auto document = parse_exact_json(request.body);
    const Json* now_field = nullptr;
    if (document && document->is_object() && document->contains("now")) now_field = &(*document)["now"];
    if (now_field == nullptr || !now_field->is_string()) {
        return error_response(400, "invalid_field", "body must be {\"now\": \"YYYY-MM-DDTHH:MM:SSZ\"}", "now");
    }
    auto now = parse_iso8601(now_field->get<std::string>());
    if (!now) return error_response(400, "invalid_field", "now: expected an ISO-8601 instant", "now");
    context.clock.set(*now);
    wake(context);
    if (context.wake_reconciler) context.wake_reconciler();
    return json_response(200, {{"now", instant_json(std::optional<Instant>(*now))}});
}

}  // namespace

void add_ops_routes(Router& router, OpsContext& context) {
    OpsContext& c = context;
    const auto get = [&](const std::string& pattern, Access access, SyncHandler handler) {
        router.add("GET", pattern, ops_route(c, access, std::move(handler)));
    };
    const auto add = [&](std::string method, const std::string& pattern, SyncHandler handler) {
        router.add(std::move(method), pattern, ops_route(c, Access::Token, std::move(handler)));
    };

    get("/healthz", Access::Open, [](const auto&, const auto&) { return json_response(200, {{"status", "ok"}}); });
    get("/readyz", Access::Open, [&c](const auto&, const auto&) { return readiness(c); });
    get("/metrics", Access::Open, [&c](const auto&, const auto&) { return metrics(c); });

    get("/reportedusage", Access::Token, [&c](const auto& request, const auto&) { return reported_usage(c, request); });
    get("/bills/{billId}", Access::Token, [&c](const auto&, const auto& params) { return bill_detail(c, params); });
    add("POST", "/bills/{billId}/reprocess", [&c](const auto&, const auto& params) { return reprocess_bill(c, params); });
    get("/integrationruns", Access::Token, [&c](const auto& request, const auto&) { return list_runs(c, request); });
    get("/integrationruns/{id}", Access::Token,
        [&c](const auto&, const auto& params) { return integration_run(c, params); });
    get("/events", Access::Token, [&c](const auto& request, const auto&) { return list_events(c, request); });
    add("POST", "/events/{id}/retry", [&c](const auto&, const auto& params) { return retry_event(c, params); });
    get("/mappings", Access::Token, [&c](const auto&, const auto&) { return list_mappings(c); });
    add("POST", "/mappings", [&c](const auto& request, const auto&) { return add_mapping(c, request); });
    add("DELETE", "/mappings/{id}", [&c](const auto&, const auto& params) { return delete_mapping(c, params); });
    add("POST", "/simulate", [&c](const auto& request, const auto&) { return simulate_bill_response(c, request); });

    if (c.reconciliations != nullptr && c.start_reconciliation) {
        add("POST", "/reconciliations", [&c](const auto& request, const auto&) { return start_reconciliation(c, request); });
        get("/reconciliations", Access::Token,
            [&c](const auto& request, const auto&) { return list_reconciliations(c, request); });
        get("/reconciliations/{id}", Access::Token,
            [&c](const auto&, const auto& params) { return get_reconciliation(c, params); });
        add("POST", "/events/{id}/settle",
            [&c](const auto& request, const auto& params) { return settle_event(c, params, request); });
    }

    add_console_routes(router, c);

    // Without clock_control the route does not exist: 404 like any unknown path.
    if (c.testing.clock_control) {
        add("PUT", "/testing/clock", [&c](const auto& request, const auto&) { return set_clock(c, request); });
    }
}

}  // namespace meterbridge::app

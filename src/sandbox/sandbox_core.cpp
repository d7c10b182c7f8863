#include "meterbridge/sandbox/sandbox_core.hpp"

#include <algorithm>
#include <cctype>

#include "ea_charges.hpp"
#include "json_writer.hpp"
#include "meterbridge/azure/guid.hpp"
#include "meterbridge/azure/token_provider.hpp"

namespace meterbridge::sandbox {

// Azure's own shapes: the GUIDs and tokens it issues, the audience it expects.
using azure::kMarketplaceResourceId;
using azure::random_guid;
using azure::random_token;
using detail::ObjectWriter;
using detail::quote;
using net::HttpRequest;
using net::HttpResponse;

namespace {

constexpr std::string_view kNoTime = "0001-01-01T00:00:00";

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Azure writes quantities as floats ("5.0"); keep every digit we were sent.
std::string quantity_text(const Decimal& quantity) {
    std::string text = quantity.to_string();
    if (quantity.scale() == 0) text += ".0";
    return text;
}

std::string slot_key(std::string_view resource_id, std::string_view dimension, Instant start) {
    return lower(resource_id) + "|" + std::string(dimension) + "|" + std::to_string(floor_hour(start).time_since_epoch().count());
}

HttpResponse api_error(int status, std::string_view code, std::string_view message, std::string_view target = {}) {
    ObjectWriter w;
    w.str("message", message);
    if (!target.empty()) w.str("target", target);
    w.str("code", code);
    return HttpResponse::json(status, w.done());
}

// The service's 400 shape (seed 003): a summary, the request it concerns, and
// one detail naming the field at fault.
HttpResponse bad_request(int status, std::string_view target, std::string_view code, std::string_view message,
                         std::string_view detail_target) {
    ObjectWriter detail;
    detail.str("message", message).str("target", detail_target).str("code", code);
    ObjectWriter w;
    w.str("message", "One or more errors have occurred.")
        .str("target", target)
        .raw("details", "[" + detail.done() + "]")
        .str("code", "BadArgument");
    return HttpResponse::json(status, w.done());
}

// The shape of ASP.NET API versioning, which answers for the service when the
// api-version is missing or unknown: {"error":{"code","message","innerError"}}.
HttpResponse version_error(std::string_view code, std::string_view message) {
    ObjectWriter error;
    error.str("code", code).str("message", message).raw("innerError", "null");
    ObjectWriter w;
    w.raw("error", error.done());
    return HttpResponse::json(400, w.done());
}

HttpResponse forbidden() {
    return api_error(403, "Forbidden",
                     "The authorization token isn't provided, is invalid or expired, or was issued for another "
                     "audience.");
}

// Entra's error shape: {"error","error_description","error_codes","timestamp","trace_id","correlation_id","error_uri"}.
HttpResponse entra_error(int status, std::string_view error, long code, std::string_view description, Instant now) {
    const std::string trace = random_guid();
    const std::string correlation = random_guid();
    const std::string stamp = format_iso8601(now);
    ObjectWriter w;
    w.str("error", error)
        .str("error_description", "AADSTS" + std::to_string(code) + ": " + std::string(description) +
                                      "\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + correlation +
                                      "\r\nTimestamp: " + stamp)
        .raw("error_codes", "[" + std::to_string(code) + "]")
        .str("timestamp", stamp)
        .str("trace_id", trace)
        .str("correlation_id", correlation)
        .str("error_uri", "https://login.microsoftonline.com/error?code=" + std::to_string(code));
    return HttpResponse::json(status, w.done());
}

std::string form_value(const net::QueryParams& form, std::string_view name) {
    for (const auto& [key, value] : form) {
        if (key == name) return value;
    }
    return {};
}

// The echo of what was sent, for result entries: strings as given, the
// quantity as its own JSON text.
struct Echo {
    std::string resource_id, quantity = "null", dimension, effective_start, plan_id;
};

Echo echo_of(const Json& event) {
    Echo echo;
    if (!event.is_object()) return echo;
    const auto text = [&](const char* key) {
        const auto it = event.find(key);
        return it != event.end() && it->is_string() ? it->get<std::string>() : std::string{};
    };
    echo.resource_id = text("resourceId");
    echo.dimension = text("dimension");
    echo.effective_start = text("effectiveStartTime");
    echo.plan_id = text("planId");
    if (const auto q = event.find("quantity"); q != event.end()) {
        if (auto d = decimal_from_json(*q, "quantity")) {
            echo.quantity = quantity_text(*d);
        } else {
            echo.quantity = dump_exact(*q);
        }
    }
    return echo;
}

void write_echo(ObjectWriter& w, const Echo& echo) {
    w.str("resourceId", echo.resource_id)
        .raw("quantity", echo.quantity)
        .str("dimension", echo.dimension)
        .str("effectiveStartTime", echo.effective_start)
        .str("planId", echo.plan_id);
}

std::string accepted_message_json(const AcceptedEvent& held, std::string_view status) {
    ObjectWriter w;
    w.str("usageEventId", held.usage_event_id)
        .str("status", status)
        .str("messageTime", azure_time(held.message_time))
        .str("resourceId", held.resource_id)
        .raw("quantity", quantity_text(held.quantity))
        .str("dimension", held.dimension)
        .str("effectiveStartTime", held.effective_start_text)
        .str("planId", held.plan_id);
    return w.done();
}

std::string conflict_error_json(const AcceptedEvent& held) {
    ObjectWriter info;
    info.raw("acceptedMessage", accepted_message_json(held, "Duplicate"));
    ObjectWriter w;
    w.raw("additionalInfo", info.done()).str("message", "This usage event already exist.").str("code", "Conflict");
    return w.done();
}

Result<Instant> parse_date_param(std::string_view text) {
    if (text.size() == 10) return parse_iso8601(std::string(text) + "T00:00:00Z");
    return parse_iso8601(text);
}

}  // namespace

void echo_request_ids(const HttpRequest& request, HttpResponse& response) {
    for (const char* name : {"x-ms-requestid", "x-ms-correlationid"}) {
        const auto sent = request.headers.get(name);
        response.headers.set(name, sent && !sent->empty() ? *sent : random_guid());
    }
}

std::string azure_time(Instant instant) {
    std::string text = format_iso8601(instant, true);
    text.insert(text.size() - 1, "0000");
    return text;
}

std::string accepted_event_json(const AcceptedEvent& event) {
    ObjectWriter w;
    w.str("usageEventId", event.usage_event_id)
        .str("resourceId", event.resource_id)
        .str("planId", event.plan_id)
        .str("dimension", event.dimension)
        .raw("quantity", event.quantity_text)
        .str("effectiveStartTime", event.effective_start_text)
        .str("messageTime", azure_time(event.message_time));
    return w.done();
}

SandboxCore::SandboxCore(SandboxCoreOptions options)
    : options_(std::move(options)), partner_export_(std::make_unique<PartnerBillingExport>(options_.partner_export)) {}

HttpResponse SandboxCore::handle(const HttpRequest& request, Instant now) {
    const std::string& path = request.path;
    if (path.ends_with("/oauth2/token") || path.ends_with("/oauth2/v2.0/token")) {
        const bool v2 = path.ends_with("/oauth2/v2.0/token");
        const auto tenant_end = path.find('/', 1);
        if (path.size() < 2 || path[0] != '/' || tenant_end == 1 ||
            path.substr(tenant_end) != (v2 ? "/oauth2/v2.0/token" : "/oauth2/token")) {
            return api_error(404, "NotFound", "no such endpoint");
        }
        if (request.method != "POST") return api_error(405, "MethodNotAllowed", "use POST");
        return token(request, v2, now);
    }
    if (path == "/api/usageEvent" || path == "/api/batchUsageEvent" || path == "/api/usageEvents") {
        {
            std::lock_guard lock(mutex_);
            ++api_requests_;
        }
        HttpResponse response = api(request, now);
        echo_request_ids(request, response);
        return response;
    }
    if (path.starts_with(kGraphBillingRoot) || path.starts_with(kBlobRoot)) {
        return partner_export_->handle(request, now, *this);
    }
    if (path.starts_with("/v3/enrollments/")) return ea_marketplace_charges(request, now, *this);
    return api_error(404, "NotFound", "no such endpoint: " + path);
}

HttpResponse SandboxCore::api(const HttpRequest& request, Instant now) {
    const std::string& path = request.path;
    const bool get = path == "/api/usageEvents";
    if (request.method != (get ? "GET" : "POST")) {
        return api_error(405, "MethodNotAllowed", std::string("use ") + (get ? "GET" : "POST"));
    }
    // The version is checked when the route is chosen, before authorization,
    // so a wrong one is a 400 whatever the token.
    const auto version = request.query_param("api-version");
    if (!version || version->empty()) {
        return version_error("ApiVersionUnspecified", "An API version is required, but was not specified.");
    }
    if (*version != kMeteringApiVersion) {
        return version_error("UnsupportedApiVersion", "The HTTP resource that matches the request URI '" +
                                                          request.target + "' does not support the API version '" +
                                                          *version + "'.");
    }
    if (auto denied = check_bearer(request, now)) return *denied;
    if (get) return usage_events(request, now);
    return path == "/api/usageEvent" ? usage_event(request, now) : batch_usage_event(request, now);
}

HttpResponse SandboxCore::token(const HttpRequest& request, bool v2, Instant now) {
    {
        std::lock_guard lock(mutex_);
        ++token_requests_;
    }
    const auto type = request.headers.get("content-type").value_or("");
    if (type.find("application/x-www-form-urlencoded") == std::string::npos) {
        return entra_error(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'grant_type'.", now);
    }
    const auto form = net::parse_query(request.body);
    const std::string grant = form_value(form, "grant_type");
    const std::string client_id = form_value(form, "client_id");
    const std::string secret = form_value(form, "client_secret");
    if (grant.empty()) {
        return entra_error(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'grant_type'.", now);
    }
    if (grant != "client_credentials") {
        return entra_error(400, "unsupported_grant_type", 70003,
                           "The app requested an unsupported grant type '" + grant + "'.", now);
    }
    if (client_id.empty()) {
        return entra_error(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'client_id'.", now);
    }
    if (secret.empty()) {
        return entra_error(401, "invalid_client", 7000216,
                           "'client_assertion', 'client_secret' or 'request' is required for the "
                           "'client_credentials' grant type.", now);
    }
    if (options_.client_secret && secret != *options_.client_secret) {
        return entra_error(401, "invalid_client", 7000215,
                           "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                           "secret value, not the client secret ID, for a secret added to app '" + client_id + "'.",
                           now);
    }
    std::string audience;
    if (v2) {
        const std::string scope = form_value(form, "scope");
        constexpr std::string_view kDefault = "/.default";
        if (scope.empty()) {
            return entra_error(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: 'scope'.", now);
        }
        if (!scope.ends_with(kDefault)) {
            return entra_error(400, "invalid_scope", 1002012,
                               "The provided value for scope " + scope + " is not valid. Client credential flows must "
                               "have a scope value with /.default suffixed to the resource identifier.", now);
        }
        audience = scope.substr(0, scope.size() - kDefault.size());
    } else {
        audience = form_value(form, "resource");
        if (audience.empty()) {
            return entra_error(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: 'resource'.", now);
        }
    }
    const std::string value = random_token(32);
    const auto lifetime_s = std::chrono::duration_cast<seconds>(options_.token_lifetime).count();
    {
        std::lock_guard lock(mutex_);
        // Forget expired tokens so the map stays small.
        std::erase_if(tokens_, [&](const auto& entry) { return entry.second.expires_at <= now; });
        tokens_[value] = Issued{now + options_.token_lifetime, audience};
        issued_.push_back(value);
    }
    ObjectWriter w;
    w.str("token_type", "Bearer");
    if (v2) {
        w.num("expires_in", lifetime_s).num("ext_expires_in", lifetime_s);
    } else {
        const auto epoch_now = std::chrono::duration_cast<seconds>(now.time_since_epoch()).count();
        w.str("expires_in", std::to_string(lifetime_s))
            .str("ext_expires_in", std::to_string(lifetime_s))
            .str("expires_on", std::to_string(epoch_now + lifetime_s))
            .str("not_before", std::to_string(epoch_now))
            .str("resource", audience);
    }
    w.str("access_token", value);
    return HttpResponse::json(200, w.done());
}

std::optional<HttpResponse> SandboxCore::check_bearer(const HttpRequest& request, Instant now) const {
    if (!has_token_for(request, now, {kMarketplaceResourceId})) return forbidden();
    return std::nullopt;
}

bool SandboxCore::has_token_for(const HttpRequest& request, Instant now,
                                const std::vector<std::string_view>& audiences) const {
    const auto header = request.headers.get("authorization");
    if (!header || header->size() <= 7 || !net::iequals(header->substr(0, 7), "Bearer ")) return false;
    const std::string value = header->substr(7);
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find(value);
    if (it == tokens_.end() || it->second.expires_at <= now) return false;
    return std::find(audiences.begin(), audiences.end(), it->second.audience) != audiences.end();
}

SandboxCore::Verdict SandboxCore::judge_event(const Json& event, Instant now) {
    const Echo echo = echo_of(event);
    const auto reject = [&](std::string status, std::string message, std::string target) {
        ObjectWriter error;
        error.raw("additionalInfo", "{}").str("message", message).str("target", target).str("code", status);
        ObjectWriter w;
        w.str("status", status).str("messageTime", kNoTime).raw("error", error.done());
        write_echo(w, echo);
        return Verdict{std::move(status), w.done(), std::move(message), std::move(target), nullptr};
    };
    if (!event.is_object()) return reject("BadArgument", "The usage event must be an object.", "usageEventRequest");
    const auto has_string = [&](const char* key) {
        const auto it = event.find(key);
        return it != event.end() && it->is_string() && !it->get<std::string>().empty();
    };
    if (!has_string("resourceId")) return reject("BadArgument", "The resourceId is required.", "ResourceId");
    const auto q = event.find("quantity");
    if (q == event.end() || q->is_null()) return reject("BadArgument", "The quantity is required.", "Quantity");
    auto quantity = decimal_from_json(*q, "quantity");
    if (!quantity) return reject("BadArgument", "The quantity must be a number.", "Quantity");
    if (!has_string("dimension")) return reject("BadArgument", "The dimension is required.", "Dimension");
    if (!has_string("effectiveStartTime")) {
        return reject("BadArgument", "The effectiveStartTime is required.", "EffectiveStartTime");
    }
    const auto start = parse_iso8601(echo.effective_start);
    if (!start) return reject("BadArgument", "The effectiveStartTime is not a valid date and time.", "EffectiveStartTime");
    if (!has_string("planId")) return reject("BadArgument", "The planId is required.", "PlanId");
    if (quantity->is_negative() || quantity->is_zero()) {
        return reject("InvalidQuantity", "The quantity passed is lower or equal to 0.", "Quantity");
    }
    if (*start < now - hours(24)) {
        return reject("Expired", "The effectiveStartTime is more than 24 hours in the past. Event has expired.",
                      "EffectiveStartTime");
    }
    if (*start > now) return reject("Expired", "The effectiveStartTime is in the future.", "EffectiveStartTime");
    if (options_.catalog) {
        const auto& catalog = *options_.catalog;
        const auto sub = std::find_if(catalog.subscriptions.begin(), catalog.subscriptions.end(), [&](const auto& s) {
            return net::iequals(s.resource_id, echo.resource_id);
        });
        if (sub == catalog.subscriptions.end()) {
            return reject("ResourceNotFound", "The usage resource provided is invalid.", "ResourceId");
        }
        if (sub->status != "Subscribed") {
            return reject("ResourceNotActive", "SaaS subscription is not in Subscribed status (it is " + sub->status + ").",
                          "ResourceId");
        }
        if (sub->plan_id != echo.plan_id) {
            return reject("ResourceNotFound", "The resource is not subscribed to plan '" + echo.plan_id + "'.",
                          "PlanId");
        }
        const auto plan = std::find_if(catalog.plans.begin(), catalog.plans.end(),
                                       [&](const auto& p) { return p.plan_id == echo.plan_id; });
        if (plan == catalog.plans.end() ||
            std::find(plan->dimensions.begin(), plan->dimensions.end(), echo.dimension) == plan->dimensions.end()) {
            return reject("InvalidDimension", "The dimension for which the usage is passed is invalid for this plan.",
                          "Dimension");
        }
    }
    const std::string key = slot_key(echo.resource_id, echo.dimension, *start);
    if (const auto held = by_slot_.find(key); held != by_slot_.end()) {
        const AcceptedEvent& existing = events_[held->second];
        ObjectWriter w;
        w.str("status", "Duplicate").str("messageTime", kNoTime).raw("error", conflict_error_json(existing));
        write_echo(w, echo);
        return Verdict{"Duplicate", w.done(), "This usage event already exist.", {}, &existing};
    }
    AcceptedEvent accepted;
    accepted.usage_event_id = random_guid();
    accepted.resource_id = echo.resource_id;
    accepted.plan_id = echo.plan_id;
    accepted.dimension = echo.dimension;
    accepted.quantity = *quantity;
    accepted.quantity_text = quantity_text(*quantity);
    accepted.effective_start_text = echo.effective_start;
    accepted.effective_start_time = *start;
    accepted.message_time = now;
    events_.push_back(std::move(accepted));
    by_slot_[key] = events_.size() - 1;
    const AcceptedEvent& stored = events_.back();
    return Verdict{"Accepted", accepted_message_json(stored, "Accepted"), {}, {}, &stored};
}

HttpResponse SandboxCore::usage_event(const HttpRequest& request, Instant now) {
    auto body = parse_exact_json(request.body);
    if (!body || !body->is_object()) {
        return bad_request(400, "usageEventRequest", "BadArgument", "The request body is not a JSON object.",
                           "usageEventRequest");
    }
    std::lock_guard lock(mutex_);
    if (auto rejected = rejected_by_fault({&*body}, false)) return *rejected;
    const Verdict verdict = judge_event(*body, now);
    if (verdict.status == "Accepted") {
        if (auto saved = save(); !saved) return api_error(500, "InternalServerError", saved.error().message);
        return HttpResponse::json(200, verdict.json);
    }
    if (verdict.status == "Duplicate") return HttpResponse::json(409, conflict_error_json(*verdict.accepted));
    return bad_request(400, "usageEventRequest", verdict.status, verdict.message, verdict.target);
}

HttpResponse SandboxCore::batch_usage_event(const HttpRequest& request, Instant now) {
    auto body = parse_exact_json(request.body);
    if (!body || !body->is_object() || !body->contains("request") || !(*body)["request"].is_array()) {
        return bad_request(400, "batchUsageEventRequest", "BadArgument",
                           "The request body must be an object with a 'request' array.", "request");
    }
    const Json& list = (*body)["request"];
    if (list.empty()) {
        return bad_request(400, "batchUsageEventRequest", "BadArgument", "The request must hold at least one usage event.",
                           "request");
    }
    if (list.size() > 25) {
        // The service's own words (MicrosoftDocs/azure-docs#41420), typos and all; no details.
        return api_error(400, "BadArgument",
                         "Batch events request payload count is more than 25. Please check you request body and retry "
                         "with count less than 25.",
                         "batchUsageEventRequest");
    }
    std::lock_guard lock(mutex_);
    {
        std::vector<const Json*> events;
        for (const auto& event : list) events.push_back(&event);
        if (auto rejected = rejected_by_fault(events, true)) return *rejected;
    }
    std::string results;
    bool accepted_any = false;
    for (const auto& event : list) {
        const Verdict verdict = judge_event(event, now);
        accepted_any = accepted_any || verdict.status == "Accepted";
        if (!results.empty()) results.push_back(',');
        results += verdict.json;
    }
    if (accepted_any) {
        if (auto saved = save(); !saved) return api_error(500, "InternalServerError", saved.error().message);
    }
    ObjectWriter w;
    w.num("count", static_cast<long long>(list.size())).raw("result", "[" + results + "]");
    return HttpResponse::json(200, w.done());
}

HttpResponse SandboxCore::usage_events(const HttpRequest& request, Instant now) const {
    const auto start_text = request.query_param("usageStartDate");
    if (!start_text || start_text->empty()) {
        return bad_request(400, "usageEventsRequest", "BadArgument", "The usageStartDate is required.", "usageStartDate");
    }
    const auto start = parse_date_param(*start_text);
    if (!start) {
        return bad_request(400, "usageEventsRequest", "BadArgument", "The usageStartDate is not a valid date.",
                           "usageStartDate");
    }
    Instant end = now;
    if (const auto end_text = request.query_param("usageEndDate"); end_text && !end_text->empty()) {
        const auto parsed = parse_date_param(*end_text);
        if (!parsed) {
            return bad_request(400, "usageEventsRequest", "BadArgument", "The usageEndDate is not a valid date.",
                               "usageEndDate");
        }
        end = *parsed;
        if (end < *start) {
            return bad_request(400, "usageEventsRequest", "BadArgument",
                               "The usageEndDate must not be before the usageStartDate.", "usageEndDate");
        }
    }
    const auto recon_status = request.query_param("reconStatus");
    if (recon_status && !recon_status->empty() && *recon_status != "Submitted" && *recon_status != "Accepted" &&
        *recon_status != "Rejected" && *recon_status != "Mismatch") {
        return bad_request(400, "usageEventsRequest", "BadArgument",
                           "The reconStatus must be one of Submitted, Accepted, Rejected, Mismatch.", "reconStatus");
    }
    const auto records = azure_records(std::chrono::floor<std::chrono::days>(*start),
                                       std::chrono::floor<std::chrono::days>(end), now);
    if (!records) return api_error(500, "InternalServerError", records.error().message);
    const auto filter = [&](const char* name, const std::string& value) {
        const auto wanted = request.query_param(name);
        return !wanted || wanted->empty() || net::iequals(*wanted, value);
    };
    std::string out = "[";
    for (const auto& record : *records) {
        const ResourceFacts facts = facts_of(record.resource_id);
        if (!filter("planId", record.plan_id) || !filter("dimension", record.dimension) ||
            !filter("azureSubscriptionId", facts.azure_subscription_id) || !filter("offerId", facts.offer_id) ||
            !filter("reconStatus", record.recon_status)) {
            continue;
        }
        ObjectWriter w;
        w.str("usageDate", azure_time(Instant{record.day}))
            .str("usageResourceId", record.resource_id)
            .str("dimension", record.dimension)
            .str("planId", record.plan_id)
            .str("planName", record.plan_id)
            .str("offerId", facts.offer_id)
            .str("offerName", facts.offer_id)
            .str("offerType", "SaaS")
            .str("azureSubscriptionId", facts.azure_subscription_id)
            .str("reconStatus", record.recon_status)
            .raw("submittedQuantity", quantity_text(record.submitted))
            .raw("processedQuantity", quantity_text(record.processed))
            .num("submittedCount", record.submitted_count);
        if (out.size() > 1) out.push_back(',');
        out += w.done();
    }
    out += "]";
    return HttpResponse::json(200, out);
}

Result<Plant> SandboxCore::add_plant(std::string_view json) {
    auto plant = Plant::parse(json);
    if (!plant) return plant;
    std::lock_guard lock(mutex_);
    if ((plant->kind == PlantKind::Extra || plant->kind == PlantKind::Bulk) && plant->plan_id.empty()) {
        // The plan Azure would know the resource by: the catalog's, else the one its events name.
        plant->plan_id = resource_facts(options_.catalog ? &*options_.catalog : nullptr, plant->resource_id).plan_id;
        for (auto it = events_.rbegin(); plant->plan_id.empty() && it != events_.rend(); ++it) {
            if (net::iequals(it->resource_id, plant->resource_id)) plant->plan_id = it->plan_id;
        }
        if (plant->plan_id.empty()) {
            return make_error("invalid_plant",
                              "planId is required: no catalog entry and no accepted event names this resource's plan",
                              "planId");
        }
    }
    plant->id = "plant-" + std::to_string(next_plant_++);
    plants_.push_back(*plant);
    return plant;
}

std::vector<Plant> SandboxCore::plants() const {
    std::lock_guard lock(mutex_);
    return plants_;
}

void SandboxCore::clear_plants() {
    std::lock_guard lock(mutex_);
    plants_.clear();
}

Result<std::vector<AzureDayRecord>> SandboxCore::azure_records(Day first, Day last, Instant now) const {
    std::lock_guard lock(mutex_);
    return azure_day_records(events_, plants_, first, last, now, options_.processing_delay);
}

ResourceFacts SandboxCore::facts_of(std::string_view resource_id) const {
    return resource_facts(options_.catalog ? &*options_.catalog : nullptr, resource_id);
}

void SandboxCore::set_base_url(std::string url) {
    std::lock_guard lock(mutex_);
    base_url_ = std::move(url);
}

std::string SandboxCore::base_url() const {
    std::lock_guard lock(mutex_);
    return base_url_;
}

std::optional<HttpResponse> SandboxCore::rejected_by_fault(const std::vector<const Json*>& events, bool batch) {
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if (it->kind != FaultKind::RejectBatchWith) continue;
        for (std::size_t i = 0; i < events.size(); ++i) {
            const Echo echo = echo_of(*events[i]);
            if (!net::iequals(echo.resource_id, it->resource_id)) continue;
            if (!it->dimension.empty() && echo.dimension != it->dimension) continue;
            const Fault fault = *it;
            if (!fault.until_cleared && --it->count <= 0) faults_.erase(it);
            HttpResponse response =
                fault.status == 403
                    ? forbidden()
                    : bad_request(fault.status, batch ? "batchUsageEventRequest" : "usageEventRequest", "BadArgument",
                                  "The value '" + echo.resource_id + "' is not valid for ResourceId.",
                                  batch ? "request[" + std::to_string(i) + "].resourceId" : std::string("resourceId"));
            if (fault.retry_after_s) response.headers.set("Retry-After", std::to_string(*fault.retry_after_s));
            return response;
        }
    }
    return std::nullopt;
}

std::optional<Fault> SandboxCore::take_fault(std::string_view path) {
    std::lock_guard lock(mutex_);
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if (it->kind == FaultKind::RejectBatchWith || !path.starts_with(it->path_prefix)) continue;
        Fault fault = *it;
        if (--it->count <= 0) faults_.erase(it);
        return fault;
    }
    return std::nullopt;
}

void SandboxCore::add_fault(const Fault& fault) {
    std::lock_guard lock(mutex_);
    faults_.push_back(fault);
}

void SandboxCore::clear_faults() {
    std::lock_guard lock(mutex_);
    faults_.clear();
}

std::size_t SandboxCore::queued_faults() const {
    std::lock_guard lock(mutex_);
    return faults_.size();
}

std::vector<AcceptedEvent> SandboxCore::events() const {
    std::lock_guard lock(mutex_);
    return events_;
}

std::uint64_t SandboxCore::token_requests() const {
    std::lock_guard lock(mutex_);
    return token_requests_;
}

std::vector<std::string> SandboxCore::issued_tokens() const {
    std::lock_guard lock(mutex_);
    return issued_;
}

std::uint64_t SandboxCore::api_requests() const {
    std::lock_guard lock(mutex_);
    return api_requests_;
}

}  // namespace meterbridge::sandbox

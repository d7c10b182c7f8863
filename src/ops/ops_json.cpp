#include "ops/ops_json.hpp"

#include <vector>

namespace meterbridge::app {
namespace {

std::string_view bill_status_name(BillStatus status) { return status == BillStatus::Approved ? "APPROVED" : "PENDING"; }

std::string_view event_kind_name(BillEventKind kind) {
    switch (kind) {
        case BillEventKind::Created: return "billing.bill.created";
        case BillEventKind::Updated: return "billing.bill.updated";
        case BillEventKind::Deleted: return "billing.bill.deleted";
        case BillEventKind::Other: return "other";
    }
    return "other";
}

Json instant_json(Instant instant) {
    const bool millis = instant.time_since_epoch().count() % 1000 != 0;
    return format_iso8601(instant, millis);
}

// Text that should be JSON (stored bills, config snapshots) as a JSON value,
// with amounts kept exact; the text itself as a string when it is not JSON.
Json embedded_json(const std::string& text) {
    auto parsed = parse_exact_json(text);
    return parsed ? std::move(parsed).value() : Json(text);
}

// Header lists as [[name, value], ...]: names may repeat, order matters.
Json headers_json(const std::vector<std::pair<std::string, std::string>>& headers) {
    Json out = Json::array();
    for (const auto& [name, value] : headers) out.push_back(Json::array({name, value}));
    return out;
}

Json ids_json(const std::vector<std::int64_t>& ids) {
    Json out = Json::array();
    for (const auto id : ids) out.push_back(id);
    return out;
}

Json error_json(const std::optional<Error>& error) {
    if (!error) return nullptr;
    Json out = {{"code", error->code}, {"message", error->message}};
    if (!error->field.empty()) out["field"] = error->field;
    return out;
}

Json target_json(const UsageTarget& target) {
    return {{"integrationId", target.integration_id}, {"resourceId", target.resource_id},
            {"planId", target.plan_id},               {"dimension", target.dimension},
            {"units", target.units},                  {"amount", exact_number(target.amount)},
            {"lineItems", target.line_items}};
}

Json text_or_null(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

}  // namespace

Json instant_json(const std::optional<Instant>& instant) {
    return instant ? instant_json(*instant) : Json(nullptr);
}

Json reported_usage_entry_json(const store::ReportedUsageEntry& entry) {
    Json usage = Json::object();
    for (const auto& [dimension, hours] : entry.usage) {
        Json by_hour = Json::object();
        // Slots are whole UTC hours: always "YYYY-MM-DDTHH:00:00Z", as m3ter shows them.
        for (const auto& [hour, units] : hours) by_hour[format_iso8601(hour)] = units;
        usage[dimension] = std::move(by_hour);
    }
    return {{"accountId", entry.account_id},         {"billId", entry.bill_id},
            {"externalSystem", "Azure"},             {"reportedUsage", std::move(usage)},
            {"integrationId", entry.integration_id}, {"resourceId", entry.resource_id}};
}

Json reported_usage_page_json(const store::ReportedUsagePage& page) {
    Json data = Json::array();
    for (const auto& entry : page.data) data.push_back(reported_usage_entry_json(entry));
    return {{"data", std::move(data)}, {"nextToken", text_or_null(page.next_token)}};
}

Json bill_version_json(const store::BillVersionRecord& version) {
    return {{"id", version.id},
            {"version", version.version},
            {"accountId", version.account_id},
            {"accountCode", version.account_code},
            {"status", bill_status_name(version.status)},
            {"eventName", event_kind_name(version.event_kind)},
            {"deleted", version.deleted},
            {"current", version.current},
            {"receivedAt", instant_json(version.received_at)},
            {"processed", version.processed},
            {"processedAt", instant_json(version.processed_at)},
            // Issue 14: waiting on m3ter (0 / null / null when not).
            {"retryAttempts", version.retry_attempts},
            {"retryAt", instant_json(version.retry_at)},
            {"retryReason", version.retry_reason.empty() ? Json(nullptr) : Json(version.retry_reason)},
            {"deliveryId", version.delivery_id},
            {"contentHash", version.content_hash},
            {"bill", embedded_json(version.bill_json)}};
}

Json key_units_json(const store::KeyUnits& units) {
    return {{"integrationId", units.key.integration_id},
            {"resourceId", units.key.resource_id},
            {"dimension", units.key.dimension},
            {"planId", units.plan_id},
            {"target", units.target},
            {"accepted", units.accepted},
            {"pending", units.pending},
            {"planned", units.planned},
            {"inFlight", units.in_flight},
            {"rejected", units.rejected},
            {"overReported", units.over_reported}};
}

Json held_item_json(const HeldLineItem& held) {
    return {{"integrationId", held.integration_id},
            {"lineItemIndex", held.line_item_index},
            {"lineItemId", text_or_null(held.line_item_id)},
            {"reason", to_string(held.reason)},
            {"message", held.message},
            {"amount", exact_number(held.amount)}};
}

// `currency`: of the bill version the items were held from; the amounts are in it.
Json held_totals_json(const std::vector<HeldLineItem>& held, const Json& currency) {
    Json out = Json::array();
    for (const HeldTotal& total : total_held(held)) {
        out.push_back({{"integrationId", total.integration_id},
                       {"reason", to_string(total.reason)},
                       {"lineItems", total.line_items},
                       {"amount", total.overflow ? Json(nullptr) : exact_number(total.amount)},
                       {"currency", currency}});
    }
    return out;
}

Json event_problem_json(const store::EventProblem& problem) {
    return {{"eventId", problem.event_id},
            {"state", to_string(problem.state)},
            {"resourceId", problem.slot.resource_id},
            {"dimension", problem.slot.dimension},
            {"effectiveStartTime", instant_json(problem.slot.hour)},
            {"errorCode", problem.error_code},
            {"errorMessage", problem.error_message},
            {"updatedAt", instant_json(problem.updated_at)}};
}

Json bill_detail_json(const store::BillDetail& detail) {
    Json versions = Json::array();
    Json currency = nullptr;  // of the current version, whose items are the held ones
    for (const auto& version : detail.versions) {
        versions.push_back(bill_version_json(version));
        const Json& bill = versions.back()["bill"];
        if (version.current && bill.is_object() && bill.contains("currency")) currency = bill["currency"];
    }
    Json keys = Json::array();
    for (const auto& units : detail.keys) keys.push_back(key_units_json(units));
    Json held = Json::array();
    for (const auto& item : detail.held) held.push_back(held_item_json(item));
    Json errors = Json::array();
    for (const auto& problem : detail.errors) errors.push_back(event_problem_json(problem));
    Json runs = Json::array();
    for (const auto& run : detail.runs) runs.push_back(run_json(run));
    return {{"billId", detail.bill_id}, {"accountId", detail.account_id}, {"deleted", detail.deleted},
            {"versions", std::move(versions)}, {"keys", std::move(keys)}, {"held", std::move(held)},
            {"heldTotals", held_totals_json(detail.held, currency)}, {"errors", std::move(errors)},
            {"runs", std::move(runs)}};
}

Json run_json(const store::IntegrationRunRecord& run, bool with_config) {
    Json targets = Json::array();
    for (const auto& target : run.targets) targets.push_back(target_json(target));
    Json held = Json::array();
    for (const auto& item : run.held) held.push_back(held_item_json(item));
    Json out = {{"id", run.id},
                {"integrationId", run.integration_id},
                {"billId", run.bill_id},
                {"billVersion", run.bill_version},
                {"billVersionId", run.bill_version_id},
                {"accountId", run.account_id},
                {"skipped", run.skipped == SkipReason::None ? Json(nullptr) : Json(to_string(run.skipped))},
                {"error", text_or_null(run.error)},
                {"startedAt", instant_json(run.started_at)},
                {"finishedAt", instant_json(run.finished_at)},
                {"targets", std::move(targets)},
                {"held", std::move(held)}};
    if (with_config) out["config"] = embedded_json(run.config_snapshot);
    return out;
}

Json delivery_json(const store::DeliveryRecord& delivery) {
    return {{"id", delivery.id},
            {"receivedAt", instant_json(delivery.received_at)},
            {"remoteAddr", delivery.remote_addr},
            {"result", store::to_string(delivery.result)},
            {"eventId", text_or_null(delivery.event_id)},
            {"eventName", text_or_null(delivery.event_name)},
            {"billId", text_or_null(delivery.bill_id)},
            {"billVersion", delivery.bill_version ? Json(*delivery.bill_version) : Json(nullptr)},
            {"error", error_json(delivery.error)},
            {"headers", headers_json(delivery.headers)},
            {"bodyBytes", delivery.body_bytes},
            {"bodyRetained", delivery.body.has_value()},
            {"body", delivery.body ? Json(*delivery.body) : Json(nullptr)}};
}

Json exchange_json(const store::StoredExchange& exchange) {
    const ExchangeRecord& record = exchange.record;
    const store::ExchangeLinks& links = exchange.links;
    return {{"id", exchange.id},
            {"kind", to_string(record.kind)},
            {"method", record.method},
            {"url", record.url},
            {"status", record.status},
            {"requestHeaders", headers_json(record.request_headers)},
            {"requestBody", record.request_body},
            {"responseHeaders", headers_json(record.response_headers)},
            {"responseBody", record.response_body},
            {"requestId", text_or_null(record.request_id)},
            {"correlationId", text_or_null(record.correlation_id)},
            {"startedAt", format_iso8601(record.started, true)},
            {"durationMs", record.duration.count()},
            {"error", text_or_null(record.error)},
            {"links",
             {{"runIds", ids_json(links.run_ids)},
              {"eventIds", ids_json(links.event_ids)},
              {"deliveryId", links.delivery_id ? Json(*links.delivery_id) : Json(nullptr)},
              {"batchId", text_or_null(links.batch_id)}}}};
}

Json run_detail_json(const store::IntegrationRunDetail& detail) {
    Json exchanges = Json::array();
    for (const auto& exchange : detail.exchanges) exchanges.push_back(exchange_json(exchange));
    return {{"run", run_json(detail.run, true)},
            {"delivery", detail.delivery ? delivery_json(*detail.delivery) : Json(nullptr)},
            {"exchanges", std::move(exchanges)},
            {"eventIds", ids_json(detail.event_ids)}};
}

Json event_json(const OutboxEvent& event) {
    Json shares = Json::array();
    for (const auto& share : event.shares) {
        shares.push_back({{"integrationId", share.key.integration_id}, {"billId", share.key.bill_id},
                          {"resourceId", share.key.resource_id}, {"dimension", share.key.dimension},
                          {"units", share.units}});
    }
    return {{"id", event.id},
            {"state", to_string(event.state)},
            {"resourceId", event.request.resource_id},
            {"planId", event.request.plan_id},
            {"dimension", event.request.dimension},
            {"quantity", event.request.quantity},
            {"effectiveStartTime", instant_json(event.request.effective_start_time)},
            {"attempts", event.attempts},
            // Azure may hold it from a request that got no per-event answer.
            {"maybeSent", event.maybe_sent},
            {"nextAttemptAt", instant_json(event.next_attempt_at)},
            {"usageEventId", text_or_null(event.usage_event_id)},
            {"messageTime", text_or_null(event.message_time)},
            {"errorCode", text_or_null(event.error_code)},
            {"errorMessage", text_or_null(event.error_message)},
            {"shares", std::move(shares)}};
}

Json event_detail_json(const store::EventDetail& detail) {
    Json out = event_json(detail.event);
    out["createdAt"] = instant_json(detail.created_at);
    out["updatedAt"] = instant_json(detail.updated_at);
    return out;
}

Json mapping_json(const ExternalMapping& mapping, std::string_view source) {
    Json out = to_json(mapping);
    out["source"] = source;
    return out;
}

}  // namespace meterbridge::app

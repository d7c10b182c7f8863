#include "meterbridge/azure/wire_format.hpp"

#include "meterbridge/core/exact_json.hpp"

namespace meterbridge::azure {
namespace {

std::string quote(std::string_view text) { return Json(std::string(text)).dump(); }

std::string string_field(const Json& object, const char* name) {
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

Result<AcceptedMessage> decode_accepted_message(const Json& object) {
    AcceptedMessage message;
    message.usage_event_id = string_field(object, "usageEventId");
    message.message_time = string_field(object, "messageTime");
    message.plan_id = string_field(object, "planId");
    const auto quantity = object.find("quantity");
    if (quantity == object.end()) {
        return make_error("malformed_answer", "acceptedMessage has no quantity", "error.additionalInfo.acceptedMessage");
    }
    auto parsed = decimal_from_json(*quantity, "acceptedMessage.quantity");
    if (!parsed) return parsed.error();
    message.quantity = *parsed;
    return message;
}

Result<UsageEventResult> decode_result_object(const Json& object, const std::string& where) {
    if (!object.is_object()) return make_error("malformed_answer", where + " is not an object", where);
    UsageEventResult result;
    result.status_text = string_field(object, "status");
    if (result.status_text.empty()) return make_error("malformed_answer", where + " has no status", where + ".status");
    result.status = usage_event_status_from(result.status_text);
    result.usage_event_id = string_field(object, "usageEventId");
    result.message_time = string_field(object, "messageTime");
    result.resource_id = string_field(object, "resourceId");
    result.dimension = string_field(object, "dimension");
    result.plan_id = string_field(object, "planId");
    if (const auto quantity = object.find("quantity"); quantity != object.end() && !quantity->is_null()) {
        auto parsed = decimal_from_json(*quantity, where + ".quantity");
        if (!parsed) return parsed.error();
        result.quantity = *parsed;
    }
    if (const auto time = string_field(object, "effectiveStartTime"); !time.empty()) {
        if (auto parsed = parse_iso8601(time)) result.effective_start_time = *parsed;
    }
    if (const auto error = object.find("error"); error != object.end() && error->is_object()) {
        result.error_code = string_field(*error, "code");
        result.error_message = string_field(*error, "message");
        const auto info = error->find("additionalInfo");
        if (info != error->end() && info->is_object()) {
            const auto accepted = info->find("acceptedMessage");
            if (accepted != info->end() && accepted->is_object()) {
                auto message = decode_accepted_message(*accepted);
                if (!message) return message.error();
                result.accepted_message = std::move(*message);
            }
        }
    }
    return result;
}

}  // namespace

std::string encode_usage_event(const UsageEventRequest& event) {
    return "{\"resourceId\":" + quote(event.resource_id) + ",\"quantity\":" + std::to_string(event.quantity) +
           ",\"dimension\":" + quote(event.dimension) +
           ",\"effectiveStartTime\":" + quote(format_iso8601(event.effective_start_time)) +
           ",\"planId\":" + quote(event.plan_id) + "}";
}

std::string encode_batch(std::span<const UsageEventRequest> events) {
    std::string body = "{\"request\":[";
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (i > 0) body.push_back(',');
        body += encode_usage_event(events[i]);
    }
    body += "]}";
    return body;
}

Result<std::vector<UsageEventResult>> decode_batch_response(std::string_view body) {
    auto parsed = parse_exact_json(body);
    if (!parsed) return parsed.error();
    const Json& root = *parsed;
    if (!root.is_object()) return make_error("malformed_answer", "batch answer is not an object");
    const auto list = root.find("result");
    if (list == root.end() || !list->is_array()) {
        return make_error("malformed_answer", "batch answer has no result array", "result");
    }
    std::vector<UsageEventResult> results;
    results.reserve(list->size());
    for (std::size_t i = 0; i < list->size(); ++i) {
        auto entry = decode_result_object((*list)[i], "result[" + std::to_string(i) + "]");
        if (!entry) return entry.error();
        results.push_back(std::move(*entry));
    }
    if (const auto count = root.find("count"); count != root.end() && count->is_number_integer() &&
                                               count->get<std::int64_t>() != static_cast<std::int64_t>(results.size())) {
        return make_error("malformed_answer", "batch answer count " + count->dump() + " but " +
                                                  std::to_string(results.size()) + " results", "count");
    }
    return results;
}

Result<UsageEventResult> decode_usage_event_result(std::string_view body) {
    auto parsed = parse_exact_json(body);
    if (!parsed) return parsed.error();
    return decode_result_object(*parsed, "answer");
}

Result<UsageEventResult> decode_usage_event_response(int http_status, std::string_view body) {
    if (http_status == 200) return decode_usage_event_result(body);
    auto parsed = parse_exact_json(body);
    if (!parsed) return parsed.error();
    const Json& root = *parsed;
    if (!root.is_object()) return make_error("malformed_answer", "answer is not an object");
    if (http_status == 409) {
        const auto info = root.find("additionalInfo");
        if (info == root.end() || !info->is_object() || !info->contains("acceptedMessage")) {
            return make_error("malformed_answer", "409 answer without additionalInfo.acceptedMessage");
        }
        const Json& accepted = (*info)["acceptedMessage"];
        auto result = decode_result_object(accepted, "additionalInfo.acceptedMessage");
        if (!result) return result.error();
        auto message = decode_accepted_message(accepted);
        if (!message) return message.error();
        result->status = UsageEventStatus::Duplicate;
        result->status_text = "Duplicate";
        result->usage_event_id.clear();
        result->accepted_message = std::move(*message);
        result->error_code = string_field(root, "code");
        result->error_message = string_field(root, "message");
        return result;
    }
    if (http_status == 400) {
        UsageEventResult result;
        result.status = UsageEventStatus::BadArgument;
        result.error_code = string_field(root, "code");
        result.error_message = string_field(root, "message");
        const auto details = root.find("details");
        if (details != root.end() && details->is_array() && !details->empty() && (*details)[0].is_object()) {
            const Json& first = (*details)[0];
            result.error_code = string_field(first, "code");
            result.error_message = string_field(first, "message");
            const auto status = usage_event_status_from(result.error_code);
            if (status != UsageEventStatus::Unrecognized) result.status = status;
        }
        result.status_text = std::string(to_string(result.status));
        return result;
    }
    return make_error("http_" + std::to_string(http_status),
                      "usageEvent answered HTTP " + std::to_string(http_status) + ": " + std::string(body.substr(0, 500)));
}

}  // namespace meterbridge::azure

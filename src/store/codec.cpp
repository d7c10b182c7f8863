#include "codec.hpp"

#include <array>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace meterbridge::store {

namespace {

using nlohmann::json;

// Finds the enum value whose to_string is `text`, trying values 0..count-1.
template <class E>
std::optional<E> by_name(std::string_view text, int count) {
    for (int i = 0; i < count; ++i) {
        const auto value = static_cast<E>(i);
        if (to_string(value) == text) return value;
    }
    return std::nullopt;
}

}  // namespace

std::string_view to_string(DeliveryResult result) {
    switch (result) {
        case DeliveryResult::New: return "new";
        case DeliveryResult::Repeat: return "repeat";
        case DeliveryResult::Older: return "older";
        case DeliveryResult::Invalid: return "invalid";
        case DeliveryResult::Ignored: return "ignored";
    }
    return "unknown";
}

std::int64_t to_ms(Instant instant) { return instant.time_since_epoch().count(); }

Instant from_ms(std::int64_t ms) { return Instant{Duration{ms}}; }

std::string_view bill_status_name(BillStatus status) { return status == BillStatus::Approved ? "APPROVED" : "PENDING"; }

BillStatus bill_status_from(std::string_view text) { return text == "APPROVED" ? BillStatus::Approved : BillStatus::Pending; }

std::string_view event_kind_name(BillEventKind kind) {
    switch (kind) {
        case BillEventKind::Created: return "created";
        case BillEventKind::Updated: return "updated";
        case BillEventKind::Deleted: return "deleted";
        case BillEventKind::Other: return "other";
    }
    return "other";
}

BillEventKind event_kind_from(std::string_view text) {
    for (auto kind : {BillEventKind::Created, BillEventKind::Updated, BillEventKind::Deleted}) {
        if (event_kind_name(kind) == text) return kind;
    }
    return BillEventKind::Other;
}

std::optional<DeliveryResult> delivery_result_from(std::string_view text) {
    return by_name<DeliveryResult>(text, 5);
}

EventState event_state_or_throw(std::string_view text) {
    const auto state = event_state_from(text);
    if (!state) throw std::runtime_error("unknown event state in database: " + std::string(text));
    return *state;
}

std::optional<SkipReason> skip_reason_from(std::string_view text) { return by_name<SkipReason>(text, 7); }
std::optional<HoldReason> hold_reason_from(std::string_view text) { return by_name<HoldReason>(text, 10); }
std::optional<MappingEntity> mapping_entity_from(std::string_view text) { return by_name<MappingEntity>(text, 4); }
std::optional<ExternalTable> external_table_from(std::string_view text) { return by_name<ExternalTable>(text, 2); }

std::optional<ExchangeKind> exchange_kind_from(std::string_view text) {
    for (auto kind : {ExchangeKind::Azure, ExchangeKind::Token, ExchangeKind::M3ter}) {
        if (std::string_view(to_string(kind)) == text) return kind;
    }
    return std::nullopt;
}

std::string headers_to_json(const HeaderList& headers) {
    json array = json::array();
    for (const auto& [name, value] : headers) array.push_back(json::array({name, value}));
    // Header bytes need not be UTF-8: replace rather than throw.
    return array.dump(-1, ' ', false, json::error_handler_t::replace);
}

HeaderList headers_from_json(std::string_view text) {
    HeaderList headers;
    const json array = json::parse(text, nullptr, false);
    if (!array.is_array()) return headers;
    for (const auto& pair : array) {
        if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string()) {
            headers.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
        }
    }
    return headers;
}

std::string targets_to_json(const std::vector<UsageTarget>& targets) {
    json array = json::array();
    for (const auto& t : targets) {
        array.push_back({{"integrationId", t.integration_id},
                         {"billId", t.bill_id},
                         {"resourceId", t.resource_id},
                         {"planId", t.plan_id},
                         {"dimension", t.dimension},
                         {"units", t.units},
                         {"amount", t.amount.to_string()},
                         {"lineItems", t.line_items}});
    }
    return array.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<UsageTarget> targets_from_json(std::string_view text) {
    std::vector<UsageTarget> targets;
    const json array = json::parse(text, nullptr, false);
    if (!array.is_array()) return targets;
    for (const auto& o : array) {
        UsageTarget t;
        t.integration_id = o.value("integrationId", "");
        t.bill_id = o.value("billId", "");
        t.resource_id = o.value("resourceId", "");
        t.plan_id = o.value("planId", "");
        t.dimension = o.value("dimension", "");
        t.units = o.value("units", std::int64_t{0});
        t.amount = decimal_from_text(o.value("amount", "0"));
        // Absent from runs stored before issue 19.
        if (const auto items = o.find("lineItems"); items != o.end() && items->is_array()) {
            for (const auto& index : *items) {
                if (index.is_number_integer()) t.line_items.push_back(index.get<int>());
            }
        }
        targets.push_back(std::move(t));
    }
    return targets;
}

std::string held_to_json(const std::vector<HeldLineItem>& held) {
    json array = json::array();
    for (const auto& h : held) {
        array.push_back({{"integrationId", h.integration_id},
                         {"billId", h.bill_id},
                         {"lineItemIndex", h.line_item_index},
                         {"lineItemId", h.line_item_id},
                         {"reason", std::string(to_string(h.reason))},
                         {"message", h.message},
                         {"amount", h.amount.to_string()}});
    }
    return array.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<HeldLineItem> held_from_json(std::string_view text) {
    std::vector<HeldLineItem> held;
    const json array = json::parse(text, nullptr, false);
    if (!array.is_array()) return held;
    for (const auto& o : array) {
        HeldLineItem h;
        h.integration_id = o.value("integrationId", "");
        h.bill_id = o.value("billId", "");
        h.line_item_index = o.value("lineItemIndex", -1);
        h.line_item_id = o.value("lineItemId", "");
        h.reason = hold_reason_from(o.value("reason", "")).value_or(HoldReason::NoGroup);
        h.message = o.value("message", "");
        h.amount = decimal_from_text(o.value("amount", "0"));
        held.push_back(std::move(h));
    }
    return held;
}

std::string content_hash(std::string_view bytes) {
    std::uint64_t hash = 14695981039346656037ULL;
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = kHex[hash & 0xfU];
        hash >>= 4U;
    }
    return out;
}

Decimal decimal_from_text(std::string_view text) {
    auto parsed = Decimal::parse(text);
    return parsed ? parsed.value() : Decimal{};
}

}  // namespace meterbridge::store

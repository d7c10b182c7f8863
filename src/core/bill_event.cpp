#include "meterbridge/core/bill.hpp"

#include <array>
#include <limits>
#include <utility>

namespace meterbridge {
namespace {

constexpr std::array<std::pair<LineItemType, std::string_view>, 19> kLineItemTypeNames = {{
    {LineItemType::StandingCharge, "STANDING_CHARGE"},
    {LineItemType::Usage, "USAGE"},
    {LineItemType::CounterRunningTotalCharge, "COUNTER_RUNNING_TOTAL_CHARGE"},
    {LineItemType::CounterAdjustmentDebit, "COUNTER_ADJUSTMENT_DEBIT"},
    {LineItemType::CounterAdjustmentCredit, "COUNTER_ADJUSTMENT_CREDIT"},
    {LineItemType::UsageCredit, "USAGE_CREDIT"},
    {LineItemType::MinimumSpend, "MINIMUM_SPEND"},
    {LineItemType::MinimumSpendRefund, "MINIMUM_SPEND_REFUND"},
    {LineItemType::CreditDeduction, "CREDIT_DEDUCTION"},
    {LineItemType::ManualAdjustment, "MANUAL_ADJUSTMENT"},
    {LineItemType::CreditMemo, "CREDIT_MEMO"},
    {LineItemType::DebitMemo, "DEBIT_MEMO"},
    {LineItemType::CommitmentConsumed, "COMMITMENT_CONSUMED"},
    {LineItemType::CommitmentFee, "COMMITMENT_FEE"},
    {LineItemType::OverageSurcharge, "OVERAGE_SURCHARGE"},
    {LineItemType::OverageUsage, "OVERAGE_USAGE"},
    {LineItemType::BalanceConsumed, "BALANCE_CONSUMED"},
    {LineItemType::BalanceFee, "BALANCE_FEE"},
    {LineItemType::AdHoc, "AD_HOC"},
}};

// ---- JSON paths and errors ------------------------------------------------

std::string member_path(std::string_view parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    std::string path(parent);
    path += '.';
    path += key;
    return path;
}

std::string index_path(std::string_view parent, std::size_t index) {
    return std::string(parent) + "[" + std::to_string(index) + "]";
}

Error missing_field(const std::string& path) { return make_error("missing_field", path + " is required", path); }

Error invalid_field(const std::string& path, std::string_view expectation) {
    return make_error("invalid_field", path + " must be " + std::string(expectation), path);
}

// ---- Typed member readers ---------------------------------------------------
// Each reads member `key` of `object` (whose path is `parent`) into `out` and
// returns the Error if the member is missing (required readers) or of the wrong
// type. JSON null counts as absent everywhere: m3ter writes null for unset fields.

// The member, or nullptr when it is absent or null.
const Json* member(const Json& object, std::string_view key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
}

std::optional<Error> read_string(const Json& object, std::string_view key, std::string_view parent, bool required,
                                 std::string& out) {
    const Json* value = member(object, key);
    const std::string path = member_path(parent, key);
    if (value == nullptr) return required ? std::optional<Error>(missing_field(path)) : std::nullopt;
    if (!value->is_string()) return invalid_field(path, required ? "a non-empty string" : "a string");
    const auto& text = value->get_ref<const std::string&>();
    if (required && text.empty()) return invalid_field(path, "a non-empty string");
    out = text;
    return std::nullopt;
}

std::optional<Error> read_required_string(const Json& object, std::string_view key, std::string_view parent,
                                          std::string& out) {
    return read_string(object, key, parent, true, out);
}

std::optional<Error> read_optional_string(const Json& object, std::string_view key, std::string_view parent,
                                          std::string& out) {
    return read_string(object, key, parent, false, out);
}

std::optional<Error> read_optional_bool(const Json& object, std::string_view key, std::string_view parent, bool& out) {
    const Json* value = member(object, key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_boolean()) return invalid_field(member_path(parent, key), "true or false");
    out = value->get<bool>();
    return std::nullopt;
}

// A JSON integer token in [0, INT64_MAX]. Integers beyond uint64 arrive as
// exact text (not number_unsigned) and are rejected as out of range with the rest.
std::optional<Error> read_version(const Json& object, std::string_view parent, std::int64_t& out) {
    const Json* value = member(object, "version");
    const std::string path = member_path(parent, "version");
    if (value == nullptr) return missing_field(path);
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!value->is_number_unsigned() || value->get<std::uint64_t>() > kMax) {
        return invalid_field(path, "a non-negative integer");
    }
    out = static_cast<std::int64_t>(value->get<std::uint64_t>());
    return std::nullopt;
}

bool is_currency_code(std::string_view text) {
    if (text.size() != 3) return false;
    for (const char c : text) {
        if (c < 'A' || c > 'Z') return false;
    }
    return true;
}

std::optional<Error> read_currency(const Json& object, std::string_view parent, std::string& out) {
    if (auto error = read_required_string(object, "currency", parent, out)) return error;
    if (!is_currency_code(out)) return invalid_field(member_path(parent, "currency"), "a 3-letter ISO 4217 code");
    return std::nullopt;
}

std::optional<Error> read_status(const Json& object, std::string_view parent, BillStatus& out) {
    const Json* value = member(object, "status");
    if (value == nullptr) return std::nullopt;  // m3ter's default: Pending
    if (value->is_string() && value->get_ref<const std::string&>() == "PENDING") {
        out = BillStatus::Pending;
    } else if (value->is_string() && value->get_ref<const std::string&>() == "APPROVED") {
        out = BillStatus::Approved;
    } else {
        return invalid_field(member_path(parent, "status"), "PENDING or APPROVED");
    }
    return std::nullopt;
}

// ---- Bill and line items ------------------------------------------------------

Result<LineItem> parse_line_item(const Json& json, const std::string& path) {
    if (!json.is_object()) return invalid_field(path, "an object");
    LineItem item;
    if (auto e = read_required_string(json, "lineItemType", path, item.type_name)) return *e;
    item.type = line_item_type_from_name(item.type_name);

    const std::string subtotal_path = member_path(path, "subtotal");
    const Json* subtotal = member(json, "subtotal");
    if (subtotal == nullptr) return missing_field(subtotal_path);
    auto amount = decimal_from_json(*subtotal, subtotal_path);
    if (!amount) return amount.error();
    item.subtotal = *amount;

    if (auto e = read_optional_string(json, "id", path, item.id)) return *e;
    if (auto e = read_optional_string(json, "productId", path, item.product_id)) return *e;
    if (auto e = read_optional_string(json, "accountingProductId", path, item.accounting_product_id)) return *e;
    if (auto e = read_optional_string(json, "aggregationId", path, item.aggregation_id)) return *e;
    if (auto e = read_optional_string(json, "compoundAggregationId", path, item.compound_aggregation_id)) return *e;
    if (auto e = read_optional_string(json, "description", path, item.description)) return *e;
    return item;
}

std::optional<Error> read_line_items(const Json& object, std::string_view parent, std::vector<LineItem>& out) {
    const std::string path = member_path(parent, "lineItems");
    const Json* items = member(object, "lineItems");
    if (items == nullptr) return missing_field(path);
    if (!items->is_array()) return invalid_field(path, "an array");
    out.reserve(items->size());
    for (std::size_t i = 0; i < items->size(); ++i) {
        auto item = parse_line_item((*items)[i], index_path(path, i));
        if (!item) return item.error();
        out.push_back(std::move(item).value());
    }
    return std::nullopt;
}

// ---- Event envelope -------------------------------------------------------------

BillEventKind event_kind_from_name(std::string_view name) {
    if (name == "billing.bill.created") return BillEventKind::Created;
    if (name == "billing.bill.updated") return BillEventKind::Updated;
    if (name == "billing.bill.deleted") return BillEventKind::Deleted;
    return BillEventKind::Other;
}

std::optional<Error> read_event_time(const Json& body, std::optional<Instant>& out) {
    const Json* value = member(body, "eventTime");
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) return invalid_field("eventTime", "an ISO-8601 string");
    auto instant = parse_iso8601(value->get_ref<const std::string&>());
    if (!instant) {
        return make_error("invalid_field", "eventTime must be an ISO-8601 instant: " + instant.error().message,
                          "eventTime");
    }
    out = *instant;
    return std::nullopt;
}

// Where a bill (or a bill reference) sits in a body, and its JSON path.
struct BillLocation {
    const Json* object = nullptr;
    std::string path;
};

// Picks the candidate member `key` of `parent` if it is an object. A present
// non-object is an error when `strict`, and otherwise skipped.
Result<std::optional<BillLocation>> object_member(const Json& parent, std::string_view key, const std::string& path,
                                                   bool strict) {
    const Json* value = member(parent, key);
    const std::string child_path = member_path(path, key);
    if (value == nullptr) return std::optional<BillLocation>{};
    if (value->is_object()) return std::optional<BillLocation>(BillLocation{value, child_path});
    if (strict) return invalid_field(child_path, "an object");
    return std::optional<BillLocation>{};
}

// The bill in an envelope: m3terEvent.eventData.new, else eventData.old (a
// deletion may carry only the last state), else eventData, else m3terEvent.
// `strict` (bill events) makes a missing m3terEvent or a non-object where an
// object belongs an error; for other events they just mean "no bill".
Result<std::optional<BillLocation>> locate_bill(const Json& body, bool strict) {
    auto event = object_member(body, "m3terEvent", "", strict);
    if (!event) return event.error();
    if (!event->has_value()) {
        if (strict) return missing_field("m3terEvent");
        return event;
    }
    auto data = object_member(*(*event)->object, "eventData", (*event)->path, strict);
    if (!data) return data.error();
    if (!data->has_value()) return event;
    for (const std::string_view key : {"new", "old"}) {
        auto state = object_member(*(*data)->object, key, (*data)->path, strict);
        if (!state || state->has_value()) return state;
    }
    return data;
}

// An object naming a bill by id only; the bill must be fetched.
bool is_bill_reference(const Json& object) {
    return member(object, "id") != nullptr && member(object, "lineItems") == nullptr &&
           member(object, "accountId") == nullptr;
}

// Fills event.bill_id and event.bill from the located object. When not
// `strict` (kind Other) only a full bill (with lineItems) or a well-formed
// reference is taken; any other object is some other m3ter entity and ignored.
std::optional<Error> decode_bill_object(const BillLocation& location, bool strict, BillEvent& event) {
    const Json& object = *location.object;
    if (is_bill_reference(object)) {
        std::string id;
        auto error = read_required_string(object, "id", location.path, id);
        if (error && strict) return error;
        if (!error) event.bill_id = std::move(id);
        return std::nullopt;
    }
    if (!strict && member(object, "lineItems") == nullptr) return std::nullopt;
    auto bill = parse_bill(object, location.path);
    if (!bill) return bill.error();
    event.bill_id = bill->id;
    event.bill = std::move(bill).value();
    return std::nullopt;
}

Result<BillEvent> parse_envelope(const Json& body) {
    BillEvent event;
    // Any string names an event; one that is not a bill event is kind Other, not an error.
    if (member(body, "eventName") == nullptr) return missing_field("eventName");
    if (auto e = read_optional_string(body, "eventName", "", event.event_name)) return *e;
    event.kind = event_kind_from_name(event.event_name);
    if (auto e = read_optional_string(body, "id", "", event.event_id)) return *e;
    if (auto e = read_event_time(body, event.event_time)) return *e;

    const bool strict = event.kind != BillEventKind::Other;
    auto location = locate_bill(body, strict);
    if (!location) return location.error();
    if (!location->has_value()) return event;  // only reachable for Other
    if (auto e = decode_bill_object(**location, strict, event)) return *e;
    return event;
}

Result<BillEvent> parse_bare_bill(const Json& body) {
    BillEvent event;
    event.kind = BillEventKind::Updated;
    if (auto e = decode_bill_object(BillLocation{&body, ""}, true, event)) return *e;
    return event;
}

}  // namespace

LineItemType line_item_type_from_name(std::string_view name) {
    for (const auto& [type, type_name] : kLineItemTypeNames) {
        if (type_name == name) return type;
    }
    return LineItemType::Unknown;
}

std::string_view line_item_type_name(LineItemType type) {
    for (const auto& [known, type_name] : kLineItemTypeNames) {
        if (known == type) return type_name;
    }
    return "UNKNOWN";
}

bool is_known_line_item_type_name(std::string_view name) {
    return line_item_type_from_name(name) != LineItemType::Unknown;
}

Result<Bill> parse_bill(const Json& json, std::string_view path) {
    if (!json.is_object()) {
        return make_error("invalid_field", (path.empty() ? std::string("the bill") : std::string(path)) +
                                               " must be an object", std::string(path));
    }
    Bill bill;
    if (auto e = read_required_string(json, "id", path, bill.id)) return *e;
    if (auto e = read_version(json, path, bill.version)) return *e;
    if (auto e = read_required_string(json, "accountId", path, bill.account_id)) return *e;
    if (auto e = read_optional_string(json, "accountCode", path, bill.account_code)) return *e;
    if (auto e = read_status(json, path, bill.status)) return *e;
    if (auto e = read_optional_bool(json, "locked", path, bill.locked)) return *e;
    if (auto e = read_currency(json, path, bill.currency)) return *e;
    if (auto e = read_optional_string(json, "billDate", path, bill.bill_date)) return *e;
    if (auto e = read_line_items(json, path, bill.line_items)) return *e;
    return bill;
}

Result<BillEvent> parse_bill_event(const Json& body) {
    if (!body.is_object()) return make_error("invalid_field", "the body must be a JSON object", "");
    if (body.contains("eventName")) return parse_envelope(body);
    return parse_bare_bill(body);
}

}  // namespace meterbridge

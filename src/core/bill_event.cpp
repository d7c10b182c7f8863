#include "meterbridge/core/bill.hpp"

#include <array>
#include <limits>
#include <utility>

#include "meterbridge/core/json_tape.hpp"

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

// The JSON path of a value, spelled out only when an error names it: a bill
// has ~150 fields, and building each one's path eagerly cost more than
// reading the fields. Each level lives on the stack of the reader of its
// parent and points at it.
class JsonPath {
public:
    explicit JsonPath(std::string_view root) : text_(root) {}
    JsonPath(const JsonPath& parent, std::string_view key) : parent_(&parent), text_(key) {}
    JsonPath(const JsonPath& parent, std::size_t index) : parent_(&parent), index_(index) {}

    // "m3terEvent.eventData.new.lineItems[3].subtotal"; a member of the
    // empty root path is just its key.
    std::string str() const {
        if (parent_ == nullptr) return std::string(text_);
        std::string path = parent_->str();
        if (index_) return path + "[" + std::to_string(*index_) + "]";
        if (!path.empty()) path += '.';
        path += text_;
        return path;
    }

private:
    const JsonPath* parent_ = nullptr;
    std::string_view text_;  // the root path, or the member key
    std::optional<std::size_t> index_;
};

Error missing_field(const JsonPath& path) {
    std::string text = path.str();
    return make_error("missing_field", text + " is required", text);
}

Error invalid_field(const JsonPath& path, std::string_view expectation) {
    std::string text = path.str();
    return make_error("invalid_field", text + " must be " + std::string(expectation), text);
}

// ---- Typed member readers ---------------------------------------------------
// Each reads member `key` of `object` (whose path is `parent`) into `out` and
// returns the Error if the member is missing (required readers) or of the wrong
// type. JSON null counts as absent everywhere: m3ter writes null for unset fields.

// ---- Nodes ---------------------------------------------------------------------
// The decoder below reads a document through a node type: TapeNode for webhook
// bodies (decode_bill_event), DomNode for an nlohmann DOM (parse_bill_event,
// parse_bill). One decoder for both keeps their results and errors identical.

// An nlohmann DOM value with TapeNode's interface.
class DomNode {
public:
    explicit DomNode(const Json& json) : json_(&json) {}

    bool is_null() const { return json_->is_null(); }
    bool is_boolean() const { return json_->is_boolean(); }
    bool is_object() const { return json_->is_object(); }
    bool is_array() const { return json_->is_array(); }
    bool is_string() const { return json_->is_string(); }
    bool is_number_unsigned() const { return json_->is_number_unsigned(); }

    bool boolean() const { return is_boolean() && json_->get<bool>(); }
    std::string_view string() const { return is_string() ? json_->get_ref<const std::string&>() : std::string_view{}; }
    std::uint64_t number_unsigned() const { return is_number_unsigned() ? json_->get<std::uint64_t>() : 0; }
    std::optional<std::string> exact_number_text() const { return meterbridge::exact_number_text(*json_); }

    std::optional<DomNode> member(std::string_view key) const {
        if (!is_object()) return std::nullopt;
        const auto it = json_->find(key);
        if (it == json_->end()) return std::nullopt;
        return DomNode(*it);
    }

    std::vector<DomNode> elements() const {
        std::vector<DomNode> out;
        if (!is_array()) return out;
        out.reserve(json_->size());
        for (const Json& element : *json_) out.emplace_back(element);
        return out;
    }

private:
    const Json* json_;
};

// The member, or nullopt when it is absent or null.
template <typename Node>
std::optional<Node> member(const Node& object, std::string_view key) {
    auto value = object.member(key);
    if (value && value->is_null()) return std::nullopt;
    return value;
}

template <typename Node>
std::optional<Error> read_string(const Node& object, std::string_view key, const JsonPath& parent, bool required,
                                 std::string& out) {
    const auto value = member(object, key);
    if (!value) return required ? std::optional<Error>(missing_field({parent, key})) : std::nullopt;
    if (!value->is_string()) return invalid_field({parent, key}, required ? "a non-empty string" : "a string");
    const std::string_view text = value->string();
    if (required && text.empty()) return invalid_field({parent, key}, "a non-empty string");
    out = text;
    return std::nullopt;
}

template <typename Node>
std::optional<Error> read_required_string(const Node& object, std::string_view key, const JsonPath& parent,
                                          std::string& out) {
    return read_string(object, key, parent, true, out);
}

template <typename Node>
std::optional<Error> read_optional_string(const Node& object, std::string_view key, const JsonPath& parent,
                                          std::string& out) {
    return read_string(object, key, parent, false, out);
}

template <typename Node>
std::optional<Error> read_optional_bool(const Node& object, std::string_view key, const JsonPath& parent, bool& out) {
    const auto value = member(object, key);
    if (!value) return std::nullopt;
    if (!value->is_boolean()) return invalid_field({parent, key}, "true or false");
    out = value->boolean();
    return std::nullopt;
}

// A JSON integer token in [0, INT64_MAX]. Integers beyond uint64 arrive as
// exact text (not number_unsigned) and are rejected as out of range with the rest.
template <typename Node>
std::optional<Error> read_version(const Node& object, const JsonPath& parent, std::int64_t& out) {
    const auto value = member(object, "version");
    if (!value) return missing_field({parent, "version"});
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!value->is_number_unsigned() || value->number_unsigned() > kMax) {
        return invalid_field({parent, "version"}, "a non-negative integer");
    }
    out = static_cast<std::int64_t>(value->number_unsigned());
    return std::nullopt;
}

bool is_currency_code(std::string_view text) {
    if (text.size() != 3) return false;
    for (const char c : text) {
        if (c < 'A' || c > 'Z') return false;
    }
    return true;
}

template <typename Node>
std::optional<Error> read_currency(const Node& object, const JsonPath& parent, std::string& out) {
    if (auto error = read_required_string(object, "currency", parent, out)) return error;
    if (!is_currency_code(out)) return invalid_field({parent, "currency"}, "a 3-letter ISO 4217 code");
    return std::nullopt;
}

template <typename Node>
std::optional<Error> read_status(const Node& object, const JsonPath& parent, BillStatus& out) {
    const auto value = member(object, "status");
    if (!value) return std::nullopt;  // m3ter's default: Pending
    if (value->is_string() && value->string() == "PENDING") {
        out = BillStatus::Pending;
    } else if (value->is_string() && value->string() == "APPROVED") {
        out = BillStatus::Approved;
    } else {
        return invalid_field({parent, "status"}, "PENDING or APPROVED");
    }
    return std::nullopt;
}

// ---- Bill and line items ------------------------------------------------------

template <typename Node>
Result<LineItem> parse_line_item(const Node& json, const JsonPath& path) {
    if (!json.is_object()) return invalid_field(path, "an object");
    LineItem item;
    if (auto e = read_required_string(json, "lineItemType", path, item.type_name)) return *e;
    item.type = line_item_type_from_name(item.type_name);

    const auto subtotal = member(json, "subtotal");
    if (!subtotal) return missing_field({path, "subtotal"});
    const auto subtotal_text = subtotal->exact_number_text();
    auto amount = decimal_from_number_text(subtotal_text, "");
    // Read again with the field's path only to name it in the error.
    if (!amount) return decimal_from_number_text(subtotal_text, JsonPath(path, "subtotal").str()).error();
    item.subtotal = *amount;

    if (auto e = read_optional_string(json, "id", path, item.id)) return *e;
    if (auto e = read_optional_string(json, "productId", path, item.product_id)) return *e;
    if (auto e = read_optional_string(json, "accountingProductId", path, item.accounting_product_id)) return *e;
    if (auto e = read_optional_string(json, "aggregationId", path, item.aggregation_id)) return *e;
    if (auto e = read_optional_string(json, "compoundAggregationId", path, item.compound_aggregation_id)) return *e;
    if (auto e = read_optional_string(json, "description", path, item.description)) return *e;
    return item;
}

template <typename Node>
std::optional<Error> read_line_items(const Node& object, const JsonPath& parent, std::vector<LineItem>& out) {
    const JsonPath path(parent, "lineItems");
    const auto items = member(object, "lineItems");
    if (!items) return missing_field(path);
    if (!items->is_array()) return invalid_field(path, "an array");
    const auto elements = items->elements();
    out.reserve(elements.size());
    for (std::size_t i = 0; i < elements.size(); ++i) {
        auto item = parse_line_item(elements[i], JsonPath(path, i));
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

template <typename Node>
std::optional<Error> read_event_time(const Node& body, std::optional<Instant>& out) {
    const auto value = member(body, "eventTime");
    if (!value) return std::nullopt;
    if (!value->is_string()) return invalid_field(JsonPath("eventTime"), "an ISO-8601 string");
    auto instant = parse_iso8601(value->string());
    if (!instant) {
        return make_error("invalid_field", "eventTime must be an ISO-8601 instant: " + instant.error().message,
                          "eventTime");
    }
    out = *instant;
    return std::nullopt;
}

// Where a bill (or a bill reference) sits in a body, and its JSON path.
template <typename Node>
struct BillLocation {
    Node object;
    std::string path;
};

// Picks the candidate member `key` of `parent` if it is an object. A present
// non-object is an error when `strict`, and otherwise skipped.
template <typename Node>
Result<std::optional<BillLocation<Node>>> object_member(const Node& parent, std::string_view key,
                                                         const std::string& path, bool strict) {
    const auto value = member(parent, key);
    const JsonPath root(path);
    const JsonPath child_path(root, key);
    if (!value) return std::optional<BillLocation<Node>>{};
    if (value->is_object()) return std::optional<BillLocation<Node>>(BillLocation<Node>{*value, child_path.str()});
    if (strict) return invalid_field(child_path, "an object");
    return std::optional<BillLocation<Node>>{};
}

// The bill in an envelope: m3terEvent.eventData.new, else eventData.old (a
// deletion may carry only the last state), else eventData, else m3terEvent.
// `strict` (bill events) makes a missing m3terEvent or a non-object where an
// object belongs an error; for other events they just mean "no bill".
template <typename Node>
Result<std::optional<BillLocation<Node>>> locate_bill(const Node& body, bool strict) {
    auto event = object_member(body, "m3terEvent", "", strict);
    if (!event) return event.error();
    if (!event->has_value()) {
        if (strict) return missing_field(JsonPath("m3terEvent"));
        return event;
    }
    auto data = object_member((*event)->object, "eventData", (*event)->path, strict);
    if (!data) return data.error();
    if (!data->has_value()) return event;
    for (const std::string_view key : {"new", "old"}) {
        auto state = object_member((*data)->object, key, (*data)->path, strict);
        if (!state || state->has_value()) return state;
    }
    return data;
}

// An object naming a bill by id only; the bill must be fetched.
template <typename Node>
bool is_bill_reference(const Node& object) {
    return member(object, "id") && !member(object, "lineItems") && !member(object, "accountId");
}

template <typename Node>
Result<Bill> parse_bill_from(const Node& json, std::string_view path) {
    if (!json.is_object()) {
        return make_error("invalid_field", (path.empty() ? std::string("the bill") : std::string(path)) +
                                               " must be an object", std::string(path));
    }
    Bill bill;
    const JsonPath root(path);
    if (auto e = read_required_string(json, "id", root, bill.id)) return *e;
    if (auto e = read_version(json, root, bill.version)) return *e;
    if (auto e = read_required_string(json, "accountId", root, bill.account_id)) return *e;
    if (auto e = read_optional_string(json, "accountCode", root, bill.account_code)) return *e;
    if (auto e = read_status(json, root, bill.status)) return *e;
    if (auto e = read_optional_bool(json, "locked", root, bill.locked)) return *e;
    if (auto e = read_currency(json, root, bill.currency)) return *e;
    if (auto e = read_optional_string(json, "billDate", root, bill.bill_date)) return *e;
    if (auto e = read_line_items(json, root, bill.line_items)) return *e;
    return bill;
}

// Fills event.bill_id and event.bill from the located object. When not
// `strict` (kind Other) only a full bill (with lineItems) or a well-formed
// reference is taken; any other object is some other m3ter entity and ignored.
template <typename Node>
std::optional<Error> decode_bill_object(const BillLocation<Node>& location, bool strict, BillEvent& event) {
    const Node& object = location.object;
    if (is_bill_reference(object)) {
        std::string id;
        auto error = read_required_string(object, "id", JsonPath(location.path), id);
        if (error && strict) return error;
        if (!error) event.bill_id = std::move(id);
        return std::nullopt;
    }
    if (!strict && !member(object, "lineItems")) return std::nullopt;
    auto bill = parse_bill_from(object, location.path);
    if (!bill) return bill.error();
    event.bill_id = bill->id;
    event.bill = std::move(bill).value();
    return std::nullopt;
}

template <typename Node>
Result<BillEvent> parse_envelope(const Node& body) {
    BillEvent event;
    const JsonPath root("");
    // Any string names an event; one that is not a bill event is kind Other, not an error.
    if (!member(body, "eventName")) return missing_field(JsonPath(root, "eventName"));
    if (auto e = read_optional_string(body, "eventName", root, event.event_name)) return *e;
    event.kind = event_kind_from_name(event.event_name);
    if (auto e = read_optional_string(body, "id", root, event.event_id)) return *e;
    if (auto e = read_event_time(body, event.event_time)) return *e;

    const bool strict = event.kind != BillEventKind::Other;
    auto location = locate_bill(body, strict);
    if (!location) return location.error();
    if (!location->has_value()) return event;  // only reachable for Other
    if (auto e = decode_bill_object(**location, strict, event)) return *e;
    return event;
}

template <typename Node>
Result<BillEvent> parse_bare_bill(const Node& body) {
    BillEvent event;
    event.kind = BillEventKind::Updated;
    if (auto e = decode_bill_object(BillLocation<Node>{body, ""}, true, event)) return *e;
    return event;
}

template <typename Node>
Result<BillEvent> parse_bill_event_from(const Node& body) {
    if (!body.is_object()) return make_error("invalid_field", "the body must be a JSON object", "");
    // "eventName" present, even as null, makes an envelope.
    if (body.member("eventName")) return parse_envelope(body);
    return parse_bare_bill(body);
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

Result<Bill> parse_bill(const Json& json, std::string_view path) { return parse_bill_from(DomNode(json), path); }

Result<BillEvent> parse_bill_event(const Json& body) { return parse_bill_event_from(DomNode(body)); }

Result<BillEvent> decode_bill_event(std::string_view body) {
    const auto tape = JsonTape::parse(body);
    if (!tape) return tape.error();
    return parse_bill_event_from(tape->root());
}

}  // namespace meterbridge

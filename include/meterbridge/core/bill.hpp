#pragma once
// The m3ter Bill as meterbridge needs it, and the webhook event envelope that
// carries it (SPEC §4). Parsing lives in bill_event.cpp; amounts are exact.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/decimal.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge {

// The 19 line-item types of m3ter. A type meterbridge does not know is kept as
// Unknown with its name in LineItem::type_name, never rejected.
enum class LineItemType {
    StandingCharge,
    Usage,
    CounterRunningTotalCharge,
    CounterAdjustmentDebit,
    CounterAdjustmentCredit,
    UsageCredit,
    MinimumSpend,
    MinimumSpendRefund,
    CreditDeduction,
    ManualAdjustment,
    CreditMemo,
    DebitMemo,
    CommitmentConsumed,
    CommitmentFee,
    OverageSurcharge,
    OverageUsage,
    BalanceConsumed,
    BalanceFee,
    AdHoc,
    Unknown,
};

LineItemType line_item_type_from_name(std::string_view name);  // Unknown if not one of the 19
std::string_view line_item_type_name(LineItemType type);        // "STANDING_CHARGE", ...; "UNKNOWN"
bool is_known_line_item_type_name(std::string_view name);

struct LineItem {
    std::string id;         // empty when the bill gives none
    std::string type_name;  // as received, e.g. "USAGE" or a type newer than this build
    LineItemType type = LineItemType::Unknown;
    std::string product_id;               // empty = absent
    std::string accounting_product_id;    // empty = absent
    std::string aggregation_id;           // empty = absent
    std::string compound_aggregation_id;  // empty = absent
    std::string description;
    Decimal subtotal;
};

enum class BillStatus { Pending, Approved };

struct Bill {
    std::string id;
    std::int64_t version = 0;
    std::string account_id;
    std::string account_code;  // empty = absent
    BillStatus status = BillStatus::Pending;
    bool locked = false;
    std::string currency;  // ISO 4217 code as sent, e.g. "USD"
    std::string bill_date;  // as sent (m3ter: "YYYY-MM-DD"); informational
    std::vector<LineItem> line_items;
};

enum class BillEventKind { Created, Updated, Deleted, Other };

// One webhook delivery, decoded. Either `bill` is set, or only `bill_id` is
// known and the bill must be fetched from the m3ter API. For kind == Other
// both may be empty: an unknown event that carries no bill is no error.
struct BillEvent {
    std::string event_id;    // envelope "id"; empty for a bare Bill body
    std::string event_name;  // as received, e.g. "billing.bill.created"; empty for a bare Bill
    BillEventKind kind = BillEventKind::Other;
    std::optional<Instant> event_time;
    std::string bill_id;        // set unless kind == Other and no bill was found
    std::optional<Bill> bill;   // absent when the body carried only the bill id

    bool needs_fetch() const { return !bill.has_value(); }
};

// Decodes a webhook body already parsed by parse_exact_json. Errors carry the
// full JSON path of the offending field in Error::field, e.g.
// "lineItems[3].subtotal" for a bare Bill, or
// "m3terEvent.eventData.new.lineItems[3].subtotal" inside an envelope.
//
// A body with "eventName" is an envelope; the bill sits at the first object of
// m3terEvent.eventData.new, m3terEvent.eventData.old (a deletion may carry only
// the last state), m3terEvent.eventData, m3terEvent. Any other body is a bare
// Bill, decoded with kind Updated (a new version to upsert). An object with
// "id" but neither "lineItems" nor "accountId" is a reference: bill_id only.
// For billing.bill.created/updated/deleted a missing bill is an error naming
// the field. For kind == Other the bill is still located and validated when
// present (an object with "lineItems", or a reference); anything else there is
// taken for another m3ter entity and ignored: bill_id empty, bill absent.
// JSON null counts as absent for every field.
Result<BillEvent> parse_bill_event(const Json& body);

// parse_bill_event(parse_exact_json(body)) without building a DOM, for the
// webhook path: the same result, and the same errors (a syntax error is
// parse_exact_json's), at a fraction of the cost (bench_core).
Result<BillEvent> decode_bill_event(std::string_view body);

// Decodes one Bill object (e.g. from the m3ter API); `path` prefixes field
// names in errors ("" for a top-level bill).
Result<Bill> parse_bill(const Json& bill, std::string_view path = "");

// The canonical exact JSON text of a bill, as stored with its version: the
// fields parse_bill reads, members in sorted order, amounts as their decimal
// text. parse_bill(parse_exact_json(text)) gives the bill back.
std::string bill_to_json_text(const Bill& bill);

}  // namespace meterbridge

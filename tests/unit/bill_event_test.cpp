#include "meterbridge/core/bill.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace meterbridge {
namespace {

// The 19 m3ter line-item types, spelled independently of the implementation.
const std::array<std::pair<std::string_view, LineItemType>, 19> kTypes = {{
    {"STANDING_CHARGE", LineItemType::StandingCharge},
    {"USAGE", LineItemType::Usage},
    {"COUNTER_RUNNING_TOTAL_CHARGE", LineItemType::CounterRunningTotalCharge},
    {"COUNTER_ADJUSTMENT_DEBIT", LineItemType::CounterAdjustmentDebit},
    {"COUNTER_ADJUSTMENT_CREDIT", LineItemType::CounterAdjustmentCredit},
    {"USAGE_CREDIT", LineItemType::UsageCredit},
    {"MINIMUM_SPEND", LineItemType::MinimumSpend},
    {"MINIMUM_SPEND_REFUND", LineItemType::MinimumSpendRefund},
    {"CREDIT_DEDUCTION", LineItemType::CreditDeduction},
    {"MANUAL_ADJUSTMENT", LineItemType::ManualAdjustment},
    {"CREDIT_MEMO", LineItemType::CreditMemo},
    {"DEBIT_MEMO", LineItemType::DebitMemo},
    {"COMMITMENT_CONSUMED", LineItemType::CommitmentConsumed},
    {"COMMITMENT_FEE", LineItemType::CommitmentFee},
    {"OVERAGE_SURCHARGE", LineItemType::OverageSurcharge},
    {"OVERAGE_USAGE", LineItemType::OverageUsage},
    {"BALANCE_CONSUMED", LineItemType::BalanceConsumed},
    {"BALANCE_FEE", LineItemType::BalanceFee},
    {"AD_HOC", LineItemType::AdHoc},
}};

Json parse(std::string_view text) {
    auto doc = parse_exact_json(text);
    EXPECT_TRUE(doc.ok()) << text;
    return doc.ok() ? std::move(doc).value() : Json();
}

// A valid bill with two line items; tests mutate it to break one field.
constexpr std::string_view kBill = R"({
  "id": "bill-1", "version": 3, "accountId": "acc-1", "accountCode": "ACME", "status": "APPROVED",
  "locked": true, "currency": "USD", "billDate": "2026-01-31", "unknownField": {"x": [1.5, null]},
  "lineItems": [
    {"id": "li-1", "lineItemType": "USAGE", "subtotal": 0.29, "productId": "p-1", "accountingProductId": "ap-1",
     "aggregationId": "agg-1", "compoundAggregationId": "cagg-1", "description": "API calls", "units": 29.0},
    {"lineItemType": "STANDING_CHARGE", "subtotal": 9.985}
  ]
})";

// `bill` wrapped in an envelope: the bill goes under m3terEvent at `where`
// ("eventData.new", "eventData.old", "eventData" or "").
std::string envelope(std::string_view event_name, std::string_view where, std::string_view bill) {
    std::string inner(bill);
    if (where == "eventData.new") inner = R"({"eventData":{"new":)" + inner + R"(,"old":null}})";
    if (where == "eventData.old") inner = R"({"eventData":{"old":)" + inner + "}}";
    if (where == "eventData") inner = R"({"eventData":)" + inner + "}";
    return R"({"id":"evt-1","eventName":")" + std::string(event_name) +
           R"(","eventTime":"2026-02-01T10:15:30.250Z","m3terEvent":)" + inner + "}";
}

// Replaces the member at JSON pointer `pointer` of kBill with `fragment`
// (parsed exactly), or removes it when `fragment` is empty.
std::string mutated_bill(const std::string& pointer, std::string_view fragment) {
    Json bill = parse(kBill);
    const Json::json_pointer ptr(pointer);
    if (fragment.empty()) {
        bill[ptr.parent_pointer()].erase(ptr.back());
    } else {
        bill[ptr] = parse(fragment);
    }
    return dump_exact(bill);
}

Error event_error(std::string_view text) {
    const auto event = parse_bill_event(parse(text));
    EXPECT_FALSE(event.ok()) << text;
    return event.ok() ? Error{} : event.error();
}

BillEvent event_ok(std::string_view text) {
    auto event = parse_bill_event(parse(text));
    EXPECT_TRUE(event.ok()) << text << " -> " << (event.ok() ? "" : event.error().message);
    return event.ok() ? std::move(event).value() : BillEvent{};
}

// ---- Line-item types ----------------------------------------------------------

TEST(BillLineItemType, AllNineteenNamesRoundTrip) {
    std::set<LineItemType> seen;
    for (const auto& [name, type] : kTypes) {
        EXPECT_EQ(line_item_type_from_name(name), type) << name;
        EXPECT_EQ(line_item_type_name(type), name);
        EXPECT_TRUE(is_known_line_item_type_name(name)) << name;
        seen.insert(type);
    }
    EXPECT_EQ(seen.size(), 19U);
    EXPECT_EQ(seen.count(LineItemType::Unknown), 0U);
}

TEST(BillLineItemType, UnknownNamesMapToUnknown) {
    for (std::string_view name : {"UNKNOWN", "usage", "Usage", "", "FUTURE_CHARGE", "USAGE "}) {
        EXPECT_EQ(line_item_type_from_name(name), LineItemType::Unknown) << name;
        EXPECT_FALSE(is_known_line_item_type_name(name)) << name;
    }
    EXPECT_EQ(line_item_type_name(LineItemType::Unknown), "UNKNOWN");
}

TEST(BillParse, EveryLineItemTypeNameReachesTheLineItem) {
    for (const auto& [name, type] : kTypes) {
        const auto bill = parse_bill(parse(mutated_bill("/lineItems/1/lineItemType", Json(name).dump())));
        ASSERT_TRUE(bill.ok()) << name;
        EXPECT_EQ(bill->line_items[1].type, type);
        EXPECT_EQ(bill->line_items[1].type_name, name);
    }
}

TEST(BillParse, UnknownLineItemTypeIsKeptNotRejected) {
    const auto bill = parse_bill(parse(mutated_bill("/lineItems/0/lineItemType", R"("SOME_TYPE_FROM_2030")")));
    ASSERT_TRUE(bill.ok());
    EXPECT_EQ(bill->line_items[0].type, LineItemType::Unknown);
    EXPECT_EQ(bill->line_items[0].type_name, "SOME_TYPE_FROM_2030");
    EXPECT_EQ(bill->line_items[0].subtotal.to_string(), "0.29");
}

// ---- Bill fields ----------------------------------------------------------------

TEST(BillParse, DecodesEveryFieldAndIgnoresUnknownOnes) {
    const auto bill = parse_bill(parse(kBill));
    ASSERT_TRUE(bill.ok()) << bill.error().message;
    EXPECT_EQ(bill->id, "bill-1");
    EXPECT_EQ(bill->version, 3);
    EXPECT_EQ(bill->account_id, "acc-1");
    EXPECT_EQ(bill->account_code, "ACME");
    EXPECT_EQ(bill->status, BillStatus::Approved);
    EXPECT_TRUE(bill->locked);
    EXPECT_EQ(bill->currency, "USD");
    EXPECT_EQ(bill->bill_date, "2026-01-31");
    ASSERT_EQ(bill->line_items.size(), 2U);
    const LineItem& first = bill->line_items[0];
    EXPECT_EQ(first.id, "li-1");
    EXPECT_EQ(first.type, LineItemType::Usage);
    EXPECT_EQ(first.type_name, "USAGE");
    EXPECT_EQ(first.product_id, "p-1");
    EXPECT_EQ(first.accounting_product_id, "ap-1");
    EXPECT_EQ(first.aggregation_id, "agg-1");
    EXPECT_EQ(first.compound_aggregation_id, "cagg-1");
    EXPECT_EQ(first.description, "API calls");
    EXPECT_EQ(first.subtotal.to_string(), "0.29");
    const LineItem& second = bill->line_items[1];
    EXPECT_EQ(second.id, "");
    EXPECT_EQ(second.type, LineItemType::StandingCharge);
    EXPECT_EQ(second.product_id, "");
    EXPECT_EQ(second.aggregation_id, "");
    EXPECT_EQ(second.subtotal.to_string(), "9.985");
}

TEST(BillParse, OptionalFieldsDefaultWhenAbsentOrNull) {
    const std::string minimal =
        R"({"id":"b","version":0,"accountId":"a","currency":"EUR","lineItems":[]})";
    const std::string nulls = R"({"id":"b","version":0,"accountId":"a","currency":"EUR","lineItems":[],)"
                              R"("accountCode":null,"status":null,"locked":null,"billDate":null})";
    for (const std::string& text : {minimal, nulls}) {
        const auto bill = parse_bill(parse(text));
        ASSERT_TRUE(bill.ok()) << text;
        EXPECT_EQ(bill->status, BillStatus::Pending);
        EXPECT_FALSE(bill->locked);
        EXPECT_EQ(bill->account_code, "");
        EXPECT_EQ(bill->bill_date, "");
        EXPECT_EQ(bill->version, 0);
        EXPECT_TRUE(bill->line_items.empty());
    }
    const auto pending = parse_bill(parse(mutated_bill("/status", R"("PENDING")")));
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(pending->status, BillStatus::Pending);
    const auto unlocked = parse_bill(parse(mutated_bill("/locked", "false")));
    ASSERT_TRUE(unlocked.ok());
    EXPECT_FALSE(unlocked->locked);
}

TEST(BillParse, NullLineItemStringsCountAsAbsent) {
    const auto bill = parse_bill(parse(mutated_bill("/lineItems/0/productId", "null")));
    ASSERT_TRUE(bill.ok());
    EXPECT_EQ(bill->line_items[0].product_id, "");
}

TEST(BillParse, VersionUpToInt64Max) {
    const auto bill = parse_bill(parse(mutated_bill("/version", "9223372036854775807")));
    ASSERT_TRUE(bill.ok());
    EXPECT_EQ(bill->version, std::numeric_limits<std::int64_t>::max());
}

TEST(BillParse, AmountsAreExact) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"0.29", "0.29"}, {"9.985", "9.985"}, {"1e-2", "0.01"}, {"-5.0", "-5"},
        {"123456789012.3456", "123456789012.3456"}, {"0.1", "0.1"}, {"42", "42"},
        {"0.000000000000000001", "0.000000000000000001"},
    };
    for (const auto& [text, expected] : cases) {
        const std::string bill_text = mutated_bill("/lineItems/0/subtotal", text);
        const auto bill = parse_bill(parse(bill_text));
        ASSERT_TRUE(bill.ok()) << text;
        EXPECT_EQ(bill->line_items[0].subtotal.to_string(), expected) << text;
        const BillEvent event = event_ok(envelope("billing.bill.updated", "eventData.new", bill_text));
        ASSERT_TRUE(event.bill.has_value());
        EXPECT_EQ(event.bill->line_items[0].subtotal.to_string(), expected) << text;
    }
}

TEST(BillParse, AmountErrorsNameTheField) {
    for (std::string_view bad : {R"("0.29")", "true", "[]", "0.0000000000000000001", "99999999999999999999.5",
                                 "1e30", "123456789012345678901234567890"}) {
        const auto bill = parse_bill(parse(mutated_bill("/lineItems/1/subtotal", bad)));
        ASSERT_FALSE(bill.ok()) << bad;
        EXPECT_EQ(bill.error().code, "invalid_field") << bad;
        EXPECT_EQ(bill.error().field, "lineItems[1].subtotal") << bad;
        EXPECT_NE(bill.error().message.find("lineItems[1].subtotal"), std::string::npos) << bill.error().message;
        const Error in_envelope =
            event_error(envelope("billing.bill.created", "eventData.new", mutated_bill("/lineItems/1/subtotal", bad)));
        EXPECT_EQ(in_envelope.field, "m3terEvent.eventData.new.lineItems[1].subtotal") << bad;
    }
}

TEST(BillParse, EachMissingRequiredFieldIsNamed) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"/id", "id"},
        {"/version", "version"},
        {"/accountId", "accountId"},
        {"/currency", "currency"},
        {"/lineItems", "lineItems"},
        {"/lineItems/1/lineItemType", "lineItems[1].lineItemType"},
        {"/lineItems/1/subtotal", "lineItems[1].subtotal"},
    };
    for (const auto& [pointer, field] : cases) {
        for (std::string_view how : {"", "null"}) {
            const std::string text = mutated_bill(pointer, how);
            const auto bill = parse_bill(parse(text));
            ASSERT_FALSE(bill.ok()) << pointer;
            EXPECT_EQ(bill.error().code, "missing_field") << pointer;
            EXPECT_EQ(bill.error().field, field);
            EXPECT_NE(bill.error().message.find(field), std::string::npos) << bill.error().message;
            EXPECT_EQ(event_error(text).field, field);
            EXPECT_EQ(event_error(envelope("billing.bill.updated", "eventData.new", text)).field,
                      "m3terEvent.eventData.new." + field);
            EXPECT_EQ(event_error(envelope("billing.bill.updated", "eventData", text)).field,
                      "m3terEvent.eventData." + field);
            EXPECT_EQ(event_error(envelope("billing.bill.updated", "", text)).field, "m3terEvent." + field);
        }
    }
    EXPECT_EQ(event_error(mutated_bill("/id", "")).field, "id");
}

TEST(BillParse, EachWrongTypeIsNamed) {
    const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
        {"/id", "5", "id"},
        {"/id", R"("")", "id"},
        {"/version", "-1", "version"},
        {"/version", "1.5", "version"},
        {"/version", "2.0", "version"},
        {"/version", R"("3")", "version"},
        {"/version", "9223372036854775808", "version"},
        {"/accountId", "[]", "accountId"},
        {"/accountId", R"("")", "accountId"},
        {"/accountCode", "7", "accountCode"},
        {"/status", R"("DRAFT")", "status"},
        {"/status", R"("approved")", "status"},
        {"/status", "1", "status"},
        {"/locked", R"("true")", "locked"},
        {"/locked", "1", "locked"},
        {"/currency", R"("usd")", "currency"},
        {"/currency", R"("US")", "currency"},
        {"/currency", R"("USDT")", "currency"},
        {"/currency", "840", "currency"},
        {"/billDate", "false", "billDate"},
        {"/lineItems", "{}", "lineItems"},
        {"/lineItems", R"("none")", "lineItems"},
        {"/lineItems/1", R"("x")", "lineItems[1]"},
        {"/lineItems/1/lineItemType", R"("")", "lineItems[1].lineItemType"},
        {"/lineItems/1/lineItemType", "3", "lineItems[1].lineItemType"},
        {"/lineItems/0/id", "1", "lineItems[0].id"},
        {"/lineItems/0/productId", "{}", "lineItems[0].productId"},
        {"/lineItems/0/accountingProductId", "true", "lineItems[0].accountingProductId"},
        {"/lineItems/0/aggregationId", "[]", "lineItems[0].aggregationId"},
        {"/lineItems/0/compoundAggregationId", "2", "lineItems[0].compoundAggregationId"},
        {"/lineItems/0/description", "0.5", "lineItems[0].description"},
    };
    for (const auto& [pointer, fragment, field] : cases) {
        const std::string text = mutated_bill(pointer, fragment);
        const auto bill = parse_bill(parse(text));
        ASSERT_FALSE(bill.ok()) << pointer << " = " << fragment;
        EXPECT_EQ(bill.error().code, "invalid_field") << pointer << " = " << fragment;
        EXPECT_EQ(bill.error().field, field) << pointer << " = " << fragment;
        EXPECT_NE(bill.error().message.find(field), std::string::npos) << bill.error().message;
        EXPECT_EQ(event_error(envelope("billing.bill.deleted", "eventData.new", text)).field,
                  "m3terEvent.eventData.new." + field);
        EXPECT_EQ(event_error(text).field, field) << pointer;
    }
}

TEST(BillParse, NonObjectBillIsAnError) {
    const auto bill = parse_bill(parse("[1]"), "m3terEvent");
    ASSERT_FALSE(bill.ok());
    EXPECT_EQ(bill.error().field, "m3terEvent");
    EXPECT_EQ(event_error("[]").code, "invalid_field");
    EXPECT_EQ(event_error(R"("bill")").code, "invalid_field");
}

// ---- Envelopes --------------------------------------------------------------------

TEST(BillEvent, BareBillIsAnUpdateWithoutEnvelopeFields) {
    const BillEvent event = event_ok(kBill);
    EXPECT_EQ(event.kind, BillEventKind::Updated);
    EXPECT_EQ(event.event_name, "");
    EXPECT_EQ(event.event_id, "");
    EXPECT_FALSE(event.event_time.has_value());
    EXPECT_EQ(event.bill_id, "bill-1");
    ASSERT_TRUE(event.bill.has_value());
    EXPECT_FALSE(event.needs_fetch());
    EXPECT_EQ(event.bill->line_items.size(), 2U);
}

TEST(BillEvent, FindsTheBillAtEachEnvelopeLocation) {
    for (std::string_view where : {"eventData.new", "eventData.old", "eventData", ""}) {
        const BillEvent event = event_ok(envelope("billing.bill.created", where, kBill));
        EXPECT_EQ(event.event_id, "evt-1");
        EXPECT_EQ(event.event_name, "billing.bill.created");
        EXPECT_EQ(event.kind, BillEventKind::Created);
        ASSERT_TRUE(event.event_time.has_value());
        EXPECT_EQ(format_iso8601(*event.event_time, true), "2026-02-01T10:15:30.250Z");
        EXPECT_EQ(event.bill_id, "bill-1") << where;
        ASSERT_TRUE(event.bill.has_value()) << where;
        EXPECT_EQ(event.bill->version, 3);
        EXPECT_EQ(event.bill->line_items[1].subtotal.to_string(), "9.985");
    }
}

TEST(BillEvent, NewStateWinsOverOldState) {
    const std::string old_bill = mutated_bill("/version", "2");
    const std::string text = R"({"eventName":"billing.bill.updated","m3terEvent":{"eventData":{"old":)" + old_bill +
                             R"(,"new":)" + std::string(kBill) + "}}}";
    const BillEvent event = event_ok(text);
    ASSERT_TRUE(event.bill.has_value());
    EXPECT_EQ(event.bill->version, 3);
    EXPECT_EQ(event.event_id, "");
    EXPECT_FALSE(event.event_time.has_value());
}

TEST(BillEvent, EventNamesMapToKinds) {
    const std::vector<std::pair<std::string_view, BillEventKind>> cases = {
        {"billing.bill.created", BillEventKind::Created},
        {"billing.bill.updated", BillEventKind::Updated},
        {"billing.bill.deleted", BillEventKind::Deleted},
        {"billing.bill.approved", BillEventKind::Other},
        {"BILLING.BILL.CREATED", BillEventKind::Other},
        {"", BillEventKind::Other},
    };
    for (const auto& [name, kind] : cases) {
        const BillEvent event = event_ok(envelope(name, "eventData.new", kBill));
        EXPECT_EQ(event.kind, kind) << name;
        EXPECT_EQ(event.event_name, name);
        ASSERT_TRUE(event.bill.has_value()) << name;  // located for Other too
    }
}

TEST(BillEvent, IdOnlyReferenceNeedsFetch) {
    for (std::string_view where : {"eventData.new", "eventData", ""}) {
        const BillEvent event = event_ok(envelope("billing.bill.updated", where, R"({"id":"bill-9","version":4})"));
        EXPECT_EQ(event.bill_id, "bill-9") << where;
        EXPECT_FALSE(event.bill.has_value());
        EXPECT_TRUE(event.needs_fetch());
    }
    const BillEvent bare = event_ok(R"({"id":"bill-7","lineItems":null})");
    EXPECT_EQ(bare.bill_id, "bill-7");
    EXPECT_TRUE(bare.needs_fetch());
    EXPECT_EQ(event_error(envelope("billing.bill.deleted", "eventData.new", R"({"id":""})")).field,
              "m3terEvent.eventData.new.id");
    EXPECT_EQ(event_error(envelope("billing.bill.deleted", "eventData.new", R"({"id":17})")).field,
              "m3terEvent.eventData.new.id");
    // accountId without lineItems is a broken bill, not a reference.
    EXPECT_EQ(event_error(R"({"id":"b","accountId":"a","version":1,"currency":"USD"})").field, "lineItems");
}

TEST(BillEvent, BillEventWithoutABillIsAnError) {
    const std::string head = R"({"eventName":"billing.bill.created","m3terEvent":)";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"eventName":"billing.bill.created"})", "m3terEvent"},
        {head + "null}", "m3terEvent"},
        {head + R"("bill-1"})", "m3terEvent"},
        {head + R"({"eventData":[]}})", "m3terEvent.eventData"},
        {head + R"({"eventData":{"new":"bill-1"}}})", "m3terEvent.eventData.new"},
        {head + R"({"eventData":{"old":5}}})", "m3terEvent.eventData.old"},
        {head + R"({"eventData":{}}})", "m3terEvent.eventData.id"},
        {head + R"({"eventData":{"new":{}}}})", "m3terEvent.eventData.new.id"},
        {head + "{}}", "m3terEvent.id"},
    };
    for (const auto& [text, field] : cases) {
        const Error error = event_error(text);
        EXPECT_EQ(error.field, field) << text;
        EXPECT_TRUE(error.code == "missing_field" || error.code == "invalid_field") << error.code;
        EXPECT_FALSE(error.message.empty());
    }
}

TEST(BillEvent, OtherEventsWithoutABillAreAccepted) {
    for (std::string_view text : {
             R"({"eventName":"configuration.product.updated"})",
             R"({"eventName":"x","m3terEvent":null})",
             R"({"eventName":"x","m3terEvent":"text"})",
             R"({"eventName":"x","m3terEvent":{"eventData":{"new":{"id":"c1","accountId":"a","amount":1.5}}}})",
             R"({"eventName":"x","m3terEvent":{"eventData":{"new":"x"}}})",
             R"({"eventName":"x","m3terEvent":{"eventData":{"new":{"id":7}}}})",
         }) {
        const BillEvent event = event_ok(text);
        EXPECT_EQ(event.kind, BillEventKind::Other) << text;
        EXPECT_EQ(event.bill_id, "") << text;
        EXPECT_FALSE(event.bill.has_value()) << text;
    }
    const BillEvent reference = event_ok(envelope("billing.bill.sent", "eventData.new", R"({"id":"bill-3"})"));
    EXPECT_EQ(reference.bill_id, "bill-3");
    // A bill that is present is validated even for an unknown event.
    EXPECT_EQ(event_error(envelope("billing.bill.sent", "eventData.new", mutated_bill("/currency", R"("us")"))).field,
              "m3terEvent.eventData.new.currency");
}

TEST(BillEvent, EnvelopeFieldErrors) {
    EXPECT_EQ(event_error(R"({"eventName":5,"m3terEvent":{"id":"b"}})").field, "eventName");
    EXPECT_EQ(event_error(R"({"eventName":null,"m3terEvent":{"id":"b"}})").field, "eventName");
    EXPECT_EQ(event_error(R"({"eventName":"x","id":5})").field, "id");
    for (std::string_view time : {R"("yesterday")", R"("2026-13-01T00:00:00Z")", "1700000000", R"("")"}) {
        const Error error =
            event_error(R"({"eventName":"billing.bill.updated","m3terEvent":{"id":"b"},"eventTime":)" +
                        std::string(time) + "}");
        EXPECT_EQ(error.field, "eventTime") << time;
        EXPECT_EQ(error.code, "invalid_field");
    }
    const BillEvent no_time =
        event_ok(R"({"eventName":"billing.bill.updated","eventTime":null,"m3terEvent":{"id":"b"}})");
    EXPECT_FALSE(no_time.event_time.has_value());
}

// ---- Randomized round trip ------------------------------------------------------------

// Plain decimal text of coefficient / 10^scale, written without the library.
std::string plain_decimal(std::int64_t coefficient, int scale) {
    std::string digits = std::to_string(coefficient < 0 ? -coefficient : coefficient);
    const auto width = static_cast<std::size_t>(scale);
    if (scale > 0) {
        if (digits.size() <= width) digits.insert(0, width + 1 - digits.size(), '0');
        digits.insert(digits.size() - width, ".");
    }
    return (coefficient < 0 ? "-" : "") + digits;
}

struct ExpectedItem {
    std::string id, type_name, product_id, accounting_product_id, aggregation_id, compound_aggregation_id,
        description;
    std::int64_t coefficient = 0;  // normalised: no trailing fractional zeros
    int scale = 0;
};

class BillGenerator {
public:
    explicit BillGenerator(std::uint64_t seed) : rng_(seed) {}

    // Writes a random bill as JSON text (members in random order) and records
    // what parsing it must yield.
    std::string bill(Bill& expected, std::vector<ExpectedItem>& items) {
        std::vector<std::string> members;
        expected = Bill{};
        expected.id = text(true);
        expected.version = pick(0, 3) == 0 ? std::numeric_limits<std::int64_t>::max() : pick(0, 1'000'000'000);
        expected.account_id = text(true);
        expected.currency = currency();
        members.push_back(member("id", Json(expected.id).dump()));
        members.push_back(member("version", std::to_string(expected.version)));
        members.push_back(member("accountId", Json(expected.account_id).dump()));
        members.push_back(member("currency", Json(expected.currency).dump()));
        optional_string(members, "accountCode", expected.account_code);
        optional_string(members, "billDate", expected.bill_date);
        switch (pick(0, 3)) {
            case 0: members.push_back(member("status", R"("PENDING")")); break;
            case 1: members.push_back(member("status", R"("APPROVED")")); expected.status = BillStatus::Approved; break;
            case 2: members.push_back(member("status", "null")); break;
            default: break;
        }
        switch (pick(0, 3)) {
            case 0: members.push_back(member("locked", "true")); expected.locked = true; break;
            case 1: members.push_back(member("locked", "false")); break;
            default: break;
        }
        if (pick(0, 1) == 0) members.push_back(member("unknownTotal", amount_noise()));
        items.clear();
        std::string line_items = "[";
        const auto count = pick(0, 8);
        for (std::int64_t i = 0; i < count; ++i) {
            if (i > 0) line_items += ",";
            items.emplace_back();
            line_items += line_item(items.back());
        }
        members.push_back(member("lineItems", line_items + "]"));
        return object(members);
    }

private:
    std::int64_t pick(std::int64_t low, std::int64_t high) {
        return std::uniform_int_distribution<std::int64_t>(low, high)(rng_);
    }

    static std::string member(std::string_view key, const std::string& value) {
        return Json(key).dump() + ":" + value;
    }

    std::string object(std::vector<std::string>& members) {
        std::shuffle(members.begin(), members.end(), rng_);
        std::string out = "{";
        for (std::size_t i = 0; i < members.size(); ++i) out += (i > 0 ? "," : "") + members[i];
        return out + "}";
    }

    // Random text, including characters that need JSON escapes and UTF-8.
    std::string text(bool non_empty) {
        static constexpr std::array<std::string_view, 12> kPieces = {"a", "Z", "7", "-", "_", " ", "\"", "\\", "\n",
                                                                     "\xC3\xA9", "/", "{"};
        std::string out;
        const auto length = pick(non_empty ? 1 : 0, 12);
        for (std::int64_t i = 0; i < length; ++i) out += kPieces[static_cast<std::size_t>(pick(0, 11))];
        return out;
    }

    std::string currency() {
        std::string code;
        for (int i = 0; i < 3; ++i) code += static_cast<char>('A' + pick(0, 25));
        return code;
    }

    // Absent, null, or a string; `out` gets what parsing must yield.
    void optional_string(std::vector<std::string>& members, std::string_view key, std::string& out) {
        switch (pick(0, 2)) {
            case 0: break;
            case 1: members.push_back(member(key, "null")); break;
            default:
                out = text(false);
                members.push_back(member(key, Json(out).dump()));
                break;
        }
    }

    std::string amount_noise() { return pick(0, 1) == 0 ? "1.23456789012345678901234" : R"({"v":[0.1,-2e-7]})"; }

    // Random exact amount as JSON number text, and its normalised value.
    std::string amount(std::int64_t& coefficient, int& scale) {
        const auto digits = static_cast<int>(pick(1, 17));
        std::int64_t magnitude = pick(0, 9);
        for (int i = 1; i < digits; ++i) magnitude = magnitude * 10 + pick(0, 9);
        coefficient = pick(0, 1) == 0 ? -magnitude : magnitude;
        scale = static_cast<int>(pick(0, 18));
        std::string number;
        switch (pick(0, 2)) {
            case 0: number = plain_decimal(coefficient, scale); break;
            case 1:  // trailing zeros that carry no value
                number = plain_decimal(coefficient, scale) + (scale == 0 ? "." : "") +
                         std::string(static_cast<std::size_t>(pick(1, 3)), '0');
                break;
            default:
                number = std::to_string(coefficient) + (pick(0, 1) == 0 ? "e-" : "E-") + std::to_string(scale);
                break;
        }
        while (scale > 0 && coefficient % 10 == 0) {
            coefficient /= 10;
            --scale;
        }
        if (coefficient == 0) scale = 0;
        return number;
    }

    std::string line_item(ExpectedItem& item) {
        std::vector<std::string> members;
        if (pick(0, 4) == 0) {
            item.type_name = "FUTURE_TYPE_" + std::to_string(pick(0, 99));
        } else {
            item.type_name = std::string(kTypes[static_cast<std::size_t>(pick(0, 18))].first);
        }
        members.push_back(member("lineItemType", Json(item.type_name).dump()));
        members.push_back(member("subtotal", amount(item.coefficient, item.scale)));
        optional_string(members, "id", item.id);
        optional_string(members, "productId", item.product_id);
        optional_string(members, "accountingProductId", item.accounting_product_id);
        optional_string(members, "aggregationId", item.aggregation_id);
        optional_string(members, "compoundAggregationId", item.compound_aggregation_id);
        optional_string(members, "description", item.description);
        if (pick(0, 1) == 0) members.push_back(member("quantity", amount_noise()));
        return object(members);
    }

    std::mt19937_64 rng_;
};

LineItemType expected_type(const std::string& name) {
    for (const auto& [known, type] : kTypes) {
        if (known == name) return type;
    }
    return LineItemType::Unknown;
}

void expect_bill(const Bill& actual, const Bill& expected, const std::vector<ExpectedItem>& items) {
    EXPECT_EQ(actual.id, expected.id);
    EXPECT_EQ(actual.version, expected.version);
    EXPECT_EQ(actual.account_id, expected.account_id);
    EXPECT_EQ(actual.account_code, expected.account_code);
    EXPECT_EQ(actual.status, expected.status);
    EXPECT_EQ(actual.locked, expected.locked);
    EXPECT_EQ(actual.currency, expected.currency);
    EXPECT_EQ(actual.bill_date, expected.bill_date);
    ASSERT_EQ(actual.line_items.size(), items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        const LineItem& got = actual.line_items[i];
        const ExpectedItem& want = items[i];
        EXPECT_EQ(got.id, want.id);
        EXPECT_EQ(got.type_name, want.type_name);
        EXPECT_EQ(got.type, expected_type(want.type_name));
        EXPECT_EQ(got.product_id, want.product_id);
        EXPECT_EQ(got.accounting_product_id, want.accounting_product_id);
        EXPECT_EQ(got.aggregation_id, want.aggregation_id);
        EXPECT_EQ(got.compound_aggregation_id, want.compound_aggregation_id);
        EXPECT_EQ(got.description, want.description);
        EXPECT_EQ(got.subtotal.coefficient(), want.coefficient);
        EXPECT_EQ(got.subtotal.scale(), want.scale);
        EXPECT_EQ(got.subtotal.to_string(), plain_decimal(want.coefficient, want.scale));
    }
}

TEST(BillRandomized, ThousandsOfBillsRoundTripExactly) {
    BillGenerator generator(0x6d337465722d6d62ULL);
    std::mt19937_64 wrap_rng(20260201);
    constexpr std::array<std::string_view, 4> kWhere = {"eventData.new", "eventData", "", "bare"};
    constexpr std::array<std::string_view, 3> kNames = {"billing.bill.created", "billing.bill.updated",
                                                        "billing.bill.deleted"};
    std::size_t line_items = 0;
    for (int n = 0; n < 4000; ++n) {
        Bill expected;
        std::vector<ExpectedItem> items;
        const std::string bill_text = generator.bill(expected, items);
        const std::string_view where = kWhere[wrap_rng() % kWhere.size()];
        const std::string_view name = kNames[wrap_rng() % kNames.size()];
        const std::string body = where == "bare" ? bill_text : envelope(name, where, bill_text);
        const auto doc = parse_exact_json(body);
        ASSERT_TRUE(doc.ok()) << body;
        const auto event = parse_bill_event(*doc);
        ASSERT_TRUE(event.ok()) << body << "\n" << event.error().field << ": " << event.error().message;
        ASSERT_TRUE(event->bill.has_value()) << body;
        EXPECT_EQ(event->bill_id, expected.id);
        EXPECT_EQ(event->event_name, where == "bare" ? "" : name);
        expect_bill(*event->bill, expected, items);
        line_items += items.size();
        if (HasFailure()) {
            ADD_FAILURE() << "first failing body: " << body;
            return;
        }
    }
    EXPECT_GT(line_items, 10000U);
}

}  // namespace
}  // namespace meterbridge

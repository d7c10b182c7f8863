#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <string>

#include "meterbridge/core/bill.hpp"

namespace meterbridge {
namespace {

// The reference: the DOM-based serialiser the direct writer replaced. The
// stored text must not change, or a bill re-delivered after an upgrade would
// hash differently and be taken for a changed bill.
std::string dom_text(const Bill& bill) {
    Json items = Json::array();
    for (const LineItem& item : bill.line_items) {
        Json entry = {{"lineItemType", item.type_name}};
        const std::string subtotal = item.subtotal.to_string();
        entry["subtotal"] = Json::binary(std::vector<std::uint8_t>(subtotal.begin(), subtotal.end()), kNumberTextSubtype);
        const auto optional = [&entry](const char* name, const std::string& value) {
            if (!value.empty()) entry[name] = value;
        };
        optional("id", item.id);
        optional("productId", item.product_id);
        optional("accountingProductId", item.accounting_product_id);
        optional("aggregationId", item.aggregation_id);
        optional("compoundAggregationId", item.compound_aggregation_id);
        optional("description", item.description);
        items.push_back(std::move(entry));
    }
    Json json = {{"id", bill.id},
                 {"version", bill.version},
                 {"accountId", bill.account_id},
                 {"status", bill.status == BillStatus::Approved ? "APPROVED" : "PENDING"},
                 {"locked", bill.locked},
                 {"currency", bill.currency},
                 {"lineItems", std::move(items)}};
    if (!bill.account_code.empty()) json["accountCode"] = bill.account_code;
    if (!bill.bill_date.empty()) json["billDate"] = bill.bill_date;
    return dump_exact(json);
}

std::string random_text(std::mt19937& random, bool may_be_empty) {
    static const char* const pieces[] = {"a", "b", "-", "_", "0", "9", " ", "\"", "\\", "\t", "\xc3\xa9", "/"};
    std::string text;
    const int length = static_cast<int>(random() % 8) + (may_be_empty ? 0 : 1);
    for (int i = 0; i < length; ++i) text += pieces[random() % std::size(pieces)];
    return text;
}

Bill random_bill(std::mt19937& random) {
    Bill bill;
    bill.id = random_text(random, false);
    bill.version = static_cast<std::int64_t>(random() % 100000) - 5;
    bill.account_id = random_text(random, false);
    bill.account_code = random_text(random, true);
    bill.status = random() % 2 ? BillStatus::Approved : BillStatus::Pending;
    bill.locked = random() % 2;
    bill.currency = random() % 2 ? "USD" : "EUR";
    bill.bill_date = random_text(random, true);
    const int items = static_cast<int>(random() % 5);
    for (int i = 0; i < items; ++i) {
        LineItem item;
        item.id = random_text(random, true);
        item.type_name = random() % 3 ? "USAGE" : random_text(random, false);
        item.product_id = random_text(random, true);
        item.accounting_product_id = random_text(random, true);
        item.aggregation_id = random_text(random, true);
        item.compound_aggregation_id = random_text(random, true);
        item.description = random_text(random, true);
        item.subtotal = Decimal::parse(std::to_string(static_cast<std::int64_t>(random() % 2000001) - 1000000) + "." +
                                       std::to_string(random() % 1000))
                            .value();
        bill.line_items.push_back(item);
    }
    return bill;
}

TEST(BillJson, TheStoredTextKeepsAmountsExact) {
    Bill bill;
    bill.id = "b";
    bill.version = 3;
    bill.account_id = "a";
    bill.currency = "USD";
    LineItem item;
    item.type_name = "USAGE";
    item.subtotal = Decimal::parse("123456789012.3456").value();
    item.product_id = "p";
    bill.line_items.push_back(item);
    EXPECT_EQ(bill_to_json_text(bill),
              R"({"accountId":"a","currency":"USD","id":"b","lineItems":[{"lineItemType":"USAGE","productId":"p",)"
              R"("subtotal":123456789012.3456}],"locked":false,"status":"PENDING","version":3})");
}

TEST(BillJson, TextIsTheDomTextAndParsesBackToTheBill) {
    std::mt19937 random(11);
    for (int i = 0; i < 2000; ++i) {
        const Bill bill = random_bill(random);
        const std::string text = bill_to_json_text(bill);
        ASSERT_EQ(text, dom_text(bill)) << i;
        const auto parsed = parse_exact_json(text);
        ASSERT_TRUE(parsed.ok()) << text;
        const auto back = parse_bill(*parsed);
        ASSERT_TRUE(back.ok()) << text << ": " << back.error().message;
        EXPECT_EQ(back->id, bill.id);
        EXPECT_EQ(back->version, bill.version);
        EXPECT_EQ(back->account_code, bill.account_code);
        ASSERT_EQ(back->line_items.size(), bill.line_items.size());
        for (std::size_t k = 0; k < bill.line_items.size(); ++k) {
            EXPECT_EQ(back->line_items[k].subtotal, bill.line_items[k].subtotal);
            EXPECT_EQ(back->line_items[k].description, bill.line_items[k].description);
            EXPECT_EQ(back->line_items[k].product_id, bill.line_items[k].product_id);
        }
    }
}

}  // namespace
}  // namespace meterbridge

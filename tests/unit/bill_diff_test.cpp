#include "meterbridge/core/bill_diff.hpp"

#include <gtest/gtest.h>

namespace meterbridge {
namespace {

Decimal money(const char* text) { return *Decimal::parse(text); }

LineItem item(std::string id, std::string product, const char* subtotal) {
    LineItem out;
    out.id = std::move(id);
    out.type_name = "USAGE";
    out.type = LineItemType::Usage;
    out.product_id = std::move(product);
    out.subtotal = money(subtotal);
    return out;
}

Bill bill(std::vector<LineItem> items) {
    Bill out;
    out.id = "bill-1";
    out.line_items = std::move(items);
    return out;
}

UsageTarget target(std::string dimension, std::int64_t units, const char* amount) {
    return UsageTarget{"int-1", "bill-1", "sub-1", "plan", std::move(dimension), units, money(amount)};
}

TEST(BillDiff, PairsItemsByIdWhateverTheirOrder) {
    const Bill older = bill({item("a", "p1", "1.00"), item("b", "p2", "2.00"), item("c", "p3", "3.00")});
    const Bill newer = bill({item("c", "p3", "3.000"), item("d", "p4", "4.00"), item("a", "p1", "1.50")});
    const BillDiff diff = diff_bills(older, {}, newer, {});
    ASSERT_EQ(diff.line_items.size(), 3U);
    // a changed (1.00 -> 1.50), b removed, c unchanged (3.00 == 3.000), d added.
    EXPECT_EQ(diff.line_items[0].kind, LineItemChange::Kind::Changed);
    EXPECT_EQ(diff.line_items[0].before->id, "a");
    EXPECT_EQ(diff.line_items[0].from_index, 0);
    EXPECT_EQ(diff.line_items[0].to_index, 2);
    EXPECT_EQ(diff.line_items[0].after->subtotal.to_string(), "1.5");
    EXPECT_EQ(diff.line_items[1].kind, LineItemChange::Kind::Removed);
    EXPECT_EQ(diff.line_items[1].before->id, "b");
    EXPECT_FALSE(diff.line_items[1].to_index.has_value());
    EXPECT_EQ(diff.line_items[2].kind, LineItemChange::Kind::Added);
    EXPECT_EQ(diff.line_items[2].after->id, "d");
    EXPECT_EQ(diff.line_items[2].to_index, 1);
}

TEST(BillDiff, PairsItemsByPositionWhenAnIdIsMissing) {
    const Bill older = bill({item("", "p1", "1.00"), item("", "p2", "2.00")});
    const Bill newer = bill({item("", "p1", "1.00"), item("", "p9", "2.00"), item("", "p3", "0.50")});
    const BillDiff diff = diff_bills(older, {}, newer, {});
    ASSERT_EQ(diff.line_items.size(), 2U);
    EXPECT_EQ(diff.line_items[0].kind, LineItemChange::Kind::Changed);  // product p2 -> p9
    EXPECT_EQ(diff.line_items[0].from_index, 1);
    EXPECT_EQ(diff.line_items[1].kind, LineItemChange::Kind::Added);
    EXPECT_EQ(diff.line_items[1].to_index, 2);
}

TEST(BillDiff, TargetsThatMovedAppearedOrVanished) {
    const std::vector<UsageTarget> older{target("compute", 400, "4.00"), target("storage", 100, "1.00"),
                                         target("same", 5, "0.05")};
    const std::vector<UsageTarget> newer{target("compute", 300, "3.00"), target("network", 50, "0.50"),
                                         target("same", 5, "0.050")};
    const BillDiff diff = diff_bills(bill({}), older, bill({}), newer);
    ASSERT_EQ(diff.targets.size(), 3U);
    EXPECT_EQ(diff.targets[0].dimension, "compute");
    EXPECT_EQ(diff.targets[0].from_units, 400);
    EXPECT_EQ(diff.targets[0].to_units, 300);
    EXPECT_EQ(diff.targets[1].dimension, "network");
    EXPECT_EQ(diff.targets[1].from_units, 0);
    EXPECT_EQ(diff.targets[1].to_units, 50);
    EXPECT_EQ(diff.targets[2].dimension, "storage");
    EXPECT_EQ(diff.targets[2].to_units, 0);
    EXPECT_EQ(diff.targets[2].from_amount.to_string(), "1");
}

TEST(BillDiff, IdenticalVersionsDiffToNothing) {
    const Bill b = bill({item("a", "p1", "1.00")});
    const std::vector<UsageTarget> t{target("compute", 100, "1.00")};
    const BillDiff diff = diff_bills(b, t, b, t);
    EXPECT_TRUE(diff.line_items.empty());
    EXPECT_TRUE(diff.targets.empty());
}

}  // namespace
}  // namespace meterbridge

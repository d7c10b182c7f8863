#include "meterbridge/core/conversion.hpp"

#include <gtest/gtest.h>

#include <random>

namespace meterbridge {
namespace {

Decimal dec(std::string_view text) { return Decimal::parse(text).value(); }

LineItem item(std::string type, std::string amount, std::string product = {}, std::string aggregation = {}) {
    LineItem li;
    li.type_name = type;
    li.type = line_item_type_from_name(type);
    li.subtotal = dec(amount);
    li.product_id = std::move(product);
    li.aggregation_id = std::move(aggregation);
    return li;
}

Bill bill(std::vector<LineItem> items) {
    Bill b;
    b.id = "bill-1";
    b.version = 1;
    b.account_id = "acc-1";
    b.account_code = "ACME";
    b.status = BillStatus::Approved;
    b.currency = "USD";
    b.line_items = std::move(items);
    return b;
}

IntegrationConfig per_bill() {
    IntegrationConfig c;
    c.id = "int-bill";
    c.split_usage_line_items = SplitMode::ItemPerBill;
    c.marketplace_bill_dimension = "compute";
    c.plan_id = "gold";
    return c;
}

ExternalMapping mapping(MappingEntity entity, std::string m3ter_id, ExternalTable table, std::string external_id,
                        std::string integration_id = {}, std::string plan_id = {}) {
    ExternalMapping m;
    m.m3ter_entity = entity;
    m.m3ter_id = std::move(m3ter_id);
    m.external_table = table;
    m.external_id = std::move(external_id);
    m.integration_id = std::move(integration_id);
    m.plan_id = std::move(plan_id);
    return m;
}

std::vector<ExternalMapping> base_mappings() {
    return {mapping(MappingEntity::Account, "acc-1", ExternalTable::Subscription, "sub-1"),
            mapping(MappingEntity::Product, "p-storage", ExternalTable::Dimension, "storage"),
            mapping(MappingEntity::Product, "p-compute", ExternalTable::Dimension, "compute"),
            mapping(MappingEntity::Aggregation, "agg-gb", ExternalTable::Dimension, "gigabytes"),
            mapping(MappingEntity::CompoundAggregation, "cagg-x", ExternalTable::Dimension, "mixed")};
}

TEST(Conversion, ItemPerBillSumsExactlyAndRoundsOnce) {
    const auto mappings = base_mappings();
    // 0.333 + 0.333 + 0.334 = 1.000 exactly: 100 units. Rounding each item first would give 33+33+33 = 99.
    const auto c = convert_bill(per_bill(),
                                bill({item("USAGE", "0.333"), item("USAGE", "0.333"), item("STANDING_CHARGE", "0.334")}),
                                mappings, nullptr);
    ASSERT_TRUE(c.ran());
    ASSERT_EQ(c.targets.size(), 1u);
    EXPECT_EQ(c.targets[0].units, 100);
    EXPECT_EQ(c.targets[0].amount, dec("1"));
    EXPECT_EQ(c.targets[0].resource_id, "sub-1");
    EXPECT_EQ(c.targets[0].plan_id, "gold");
    EXPECT_EQ(c.targets[0].dimension, "compute");
    EXPECT_TRUE(c.held.empty());
}

TEST(Conversion, SpecExamplesFiftyCentsAndHalfUp) {
    const auto mappings = base_mappings();
    EXPECT_EQ(convert_bill(per_bill(), bill({item("USAGE", "0.50")}), mappings, nullptr).targets[0].units, 50);
    EXPECT_EQ(convert_bill(per_bill(), bill({item("USAGE", "9.985")}), mappings, nullptr).targets[0].units, 999);
    auto even = per_bill();
    even.rounding = Rounding::HalfEven;
    EXPECT_EQ(convert_bill(even, bill({item("USAGE", "9.985")}), mappings, nullptr).targets[0].units, 998);
    auto dollars = per_bill();
    dollars.unit_price = dec("1");
    dollars.rounding = Rounding::Up;
    EXPECT_EQ(convert_bill(dollars, bill({item("USAGE", "9.01")}), mappings, nullptr).targets[0].units, 10);
}

TEST(Conversion, CreditsReduceTheTotalAndANegativeTotalIsHeld) {
    const auto mappings = base_mappings();
    const auto c = convert_bill(per_bill(), bill({item("USAGE", "10.00"), item("CREDIT_MEMO", "-2.50")}), mappings, nullptr);
    EXPECT_EQ(c.targets.at(0).units, 750);
    const auto negative = convert_bill(per_bill(), bill({item("USAGE", "1.00"), item("CREDIT_MEMO", "-2.50")}), mappings,
                                       nullptr);
    EXPECT_TRUE(negative.targets.empty());
    ASSERT_EQ(negative.held.size(), 2u);
    EXPECT_EQ(negative.held[0].reason, HoldReason::NegativeTotal);
}

TEST(Conversion, ExcludedTypesProductsAndAggregationsContributeNothing) {
    const auto mappings = base_mappings();
    auto c = per_bill();
    c.excluded_line_item_types = {"CREDIT_MEMO", "MINIMUM_SPEND"};
    c.excluded_product_ids = {"p-x"};
    c.excluded_aggregation_ids = {"agg-y", "cagg-z"};
    LineItem compound = item("USAGE", "5");
    compound.compound_aggregation_id = "cagg-z";
    const auto result = convert_bill(c,
                                     bill({item("USAGE", "1.00"), item("CREDIT_MEMO", "-0.50"), item("MINIMUM_SPEND", "3"),
                                           item("USAGE", "4", "p-x"), item("USAGE", "6", "", "agg-y"), compound}),
                                     mappings, nullptr);
    ASSERT_EQ(result.targets.size(), 1u);
    EXPECT_EQ(result.targets[0].units, 100);
    EXPECT_TRUE(result.held.empty());
}

TEST(Conversion, ItemPerProductMapsEachProductAndHoldsUnmappedOnes) {
    const auto mappings = base_mappings();
    auto c = per_bill();
    c.split_usage_line_items = SplitMode::ItemPerProduct;
    const auto result = convert_bill(c,
                                     bill({item("USAGE", "0.105", "p-storage"), item("USAGE", "0.105", "p-storage"),
                                           item("USAGE", "2", "p-compute"), item("USAGE", "7", "p-unknown"),
                                           item("STANDING_CHARGE", "3")}),
                                     mappings, nullptr);
    ASSERT_EQ(result.targets.size(), 2u);
    EXPECT_EQ(result.targets[0].dimension, "compute");
    EXPECT_EQ(result.targets[0].units, 200);
    EXPECT_EQ(result.targets[1].dimension, "storage");
    EXPECT_EQ(result.targets[1].units, 21);  // 0.21 summed before rounding
    ASSERT_EQ(result.held.size(), 2u);
    EXPECT_EQ(result.held[0].reason, HoldReason::UnmappedProduct);
    EXPECT_EQ(result.held[0].line_item_index, 3);
    EXPECT_EQ(result.held[1].reason, HoldReason::NoGroup);
    EXPECT_EQ(result.held[1].line_item_index, 4);
}

TEST(Conversion, FallbackDimensionTakesItemsWithoutAGroup) {
    const auto mappings = base_mappings();
    auto c = per_bill();
    c.split_usage_line_items = SplitMode::ItemPerAggregation;
    c.fallback_dimension = "base";
    LineItem compound = item("USAGE", "0.40");
    compound.compound_aggregation_id = "cagg-x";
    const auto result = convert_bill(c,
                                     bill({item("USAGE", "1.234", "", "agg-gb"), compound, item("STANDING_CHARGE", "9.99"),
                                           item("MINIMUM_SPEND", "0.01")}),
                                     mappings, nullptr);
    ASSERT_EQ(result.targets.size(), 3u);
    EXPECT_EQ(result.targets[0].dimension, "base");
    EXPECT_EQ(result.targets[0].units, 1000);
    EXPECT_EQ(result.targets[1].dimension, "gigabytes");
    EXPECT_EQ(result.targets[1].units, 123);
    EXPECT_EQ(result.targets[2].dimension, "mixed");
    EXPECT_EQ(result.targets[2].units, 40);
}

TEST(Conversion, GroupsMappedToOneDimensionAreRoundedSeparatelyThenAdded) {
    auto mappings = base_mappings();
    mappings.push_back(mapping(MappingEntity::Product, "p-storage2", ExternalTable::Dimension, "storage"));
    auto c = per_bill();
    c.split_usage_line_items = SplitMode::ItemPerProduct;
    const auto result =
        convert_bill(c, bill({item("USAGE", "0.005", "p-storage"), item("USAGE", "0.005", "p-storage2")}), mappings, nullptr);
    ASSERT_EQ(result.targets.size(), 1u);
    EXPECT_EQ(result.targets[0].units, 2);  // each group rounds 0.5 up; documented "round once per group"
    EXPECT_EQ(result.targets[0].amount, dec("0.010"));
}

TEST(Conversion, AccountRulesDecideWhetherTheIntegrationRuns) {
    const auto mappings = base_mappings();
    auto c = per_bill();
    const Bill b = bill({item("USAGE", "1")});
    c.enabled = false;
    EXPECT_EQ(convert_bill(c, b, mappings, nullptr).skipped, SkipReason::Disabled);
    c = per_bill();
    c.account_ids = {"acc-2"};
    EXPECT_EQ(convert_bill(c, b, mappings, nullptr).skipped, SkipReason::AccountNotAllowed);
    c.account_ids = {"acc-2", "acc-1"};
    EXPECT_EQ(convert_bill(c, b, mappings, nullptr).skipped, SkipReason::None);
    c.restricted_account_ids = {"acc-1"};
    EXPECT_EQ(convert_bill(c, b, mappings, nullptr).skipped, SkipReason::AccountRestricted);
    c = per_bill();
    c.only_send_bill_on_approval = true;
    Bill pending = b;
    pending.status = BillStatus::Pending;
    EXPECT_EQ(convert_bill(c, pending, mappings, nullptr).skipped, SkipReason::AwaitingApproval);
    EXPECT_TRUE(convert_bill(c, pending, mappings, nullptr).targets.empty());
    EXPECT_EQ(convert_bill(c, b, mappings, nullptr).skipped, SkipReason::None);
}

TEST(Conversion, AccountFilterNeedsAccountData) {
    const auto mappings = base_mappings();
    auto c = per_bill();
    c.account_filter = AccountFilter::parse(R"(customFields != null AND customFields.country == "UK")").value();
    const Bill b = bill({item("USAGE", "1")});
    EXPECT_EQ(convert_bill(c, b, mappings, nullptr).skipped, SkipReason::AccountUnresolved);
    const Json uk = Json::parse(R"({"id":"acc-1","customFields":{"country":"UK"}})");
    const Json fr = Json::parse(R"({"id":"acc-1","customFields":{"country":"FR"}})");
    EXPECT_EQ(convert_bill(c, b, mappings, &uk).skipped, SkipReason::None);
    EXPECT_EQ(convert_bill(c, b, mappings, &fr).skipped, SkipReason::AccountFilterFailed);
}

TEST(Conversion, WholeBillHoldsNameTheReason) {
    auto mappings = base_mappings();
    Bill euro = bill({item("USAGE", "1"), item("USAGE", "2")});
    euro.currency = "EUR";
    const auto wrong = convert_bill(per_bill(), euro, mappings, nullptr);
    EXPECT_TRUE(wrong.ran());
    EXPECT_TRUE(wrong.targets.empty());
    ASSERT_EQ(wrong.held.size(), 2u);
    EXPECT_EQ(wrong.held[0].reason, HoldReason::WrongCurrency);
    EXPECT_NE(wrong.held[0].message.find("EUR"), std::string::npos);

    Bill other = bill({item("USAGE", "1")});
    other.account_id = "acc-unmapped";
    EXPECT_EQ(convert_bill(per_bill(), other, mappings, nullptr).held.at(0).reason, HoldReason::NoAccountMapping);

    auto by_code = per_bill();
    by_code.resource_id_from = ResourceIdSource::AccountCode;
    EXPECT_EQ(convert_bill(by_code, bill({item("USAGE", "1")}), mappings, nullptr).targets.at(0).resource_id, "ACME");
    other.account_code.clear();
    EXPECT_EQ(convert_bill(by_code, other, mappings, nullptr).held.at(0).reason, HoldReason::NoResourceId);

    auto by_id = per_bill();
    by_id.resource_id_from = ResourceIdSource::AccountId;
    by_id.plan_id.clear();
    EXPECT_EQ(convert_bill(by_id, bill({item("USAGE", "1")}), mappings, nullptr).held.at(0).reason, HoldReason::NoPlan);
}

TEST(Conversion, AccountMappingPlanOverridesTheIntegrationPlan) {
    std::vector<ExternalMapping> mappings = {
        mapping(MappingEntity::Account, "acc-1", ExternalTable::Subscription, "sub-9", "", "platinum")};
    EXPECT_EQ(convert_bill(per_bill(), bill({item("USAGE", "1")}), mappings, nullptr).targets.at(0).plan_id, "platinum");
}

TEST(Conversion, LinkedMappingsWinAndEnforcementIgnoresUnlinkedOnes) {
    std::vector<ExternalMapping> mappings = {
        mapping(MappingEntity::Account, "acc-1", ExternalTable::Subscription, "sub-unlinked"),
        mapping(MappingEntity::Account, "acc-1", ExternalTable::Subscription, "sub-other", "int-other"),
        mapping(MappingEntity::Account, "acc-1", ExternalTable::Subscription, "sub-linked", "int-bill")};
    auto c = per_bill();
    EXPECT_EQ(find_mapping(mappings, c, MappingEntity::Account, "acc-1", ExternalTable::Subscription)->external_id,
              "sub-linked");
    mappings.pop_back();
    EXPECT_EQ(find_mapping(mappings, c, MappingEntity::Account, "acc-1", ExternalTable::Subscription)->external_id,
              "sub-unlinked");
    c.enforce_external_mappings_for_config = true;
    EXPECT_EQ(find_mapping(mappings, c, MappingEntity::Account, "acc-1", ExternalTable::Subscription), nullptr);
    EXPECT_EQ(convert_bill(c, bill({item("USAGE", "1")}), mappings, nullptr).held.at(0).reason,
              HoldReason::NoAccountMapping);
}

// Randomized: over thousands of generated bills, targets equal an
// independently computed reference (integer thousandths), units are never
// negative, and converting twice gives the same result.
TEST(Conversion, RandomizedBillsMatchAReferenceAndAreDeterministic) {
    std::mt19937_64 rng(424242);
    const auto mappings = base_mappings();
    const std::vector<std::string> products = {"p-storage", "p-compute", "p-unknown", ""};
    const std::vector<std::string> types = {"USAGE", "STANDING_CHARGE", "CREDIT_MEMO", "AD_HOC", "NEW_TYPE"};
    auto c = per_bill();
    c.split_usage_line_items = SplitMode::ItemPerProduct;
    c.fallback_dimension = "base";
    c.excluded_line_item_types = {"AD_HOC"};
    for (int n = 0; n < 3000; ++n) {
        std::vector<LineItem> items;
        std::map<std::string, std::int64_t> mills;  // dimension -> thousandths, per group
        const int count = static_cast<int>(rng() % 12);
        for (int i = 0; i < count; ++i) {
            const std::string type = types[rng() % types.size()];
            const std::string product = products[rng() % products.size()];
            const std::int64_t m = static_cast<std::int64_t>(rng() % 2'000'000) - (type == "CREDIT_MEMO" ? 1'000'000 : 0);
            items.push_back(item(type, Decimal::from_integer(m).to_string() + "e-3", product));
            if (type == "AD_HOC" || product == "p-unknown") continue;
            mills[product.empty() ? "base" : (product == "p-storage" ? "storage" : "compute")] += m;
        }
        const Bill b = bill(items);
        const auto first = convert_bill(c, b, mappings, nullptr);
        const auto second = convert_bill(c, b, mappings, nullptr);
        ASSERT_EQ(first.targets, second.targets);
        ASSERT_EQ(first.held, second.held);
        std::map<std::string, std::int64_t> expected;
        for (const auto& [dimension, m] : mills) {
            if (m < 0) continue;
            expected[dimension] = m / 10 + (m % 10 >= 5 ? 1 : 0);
        }
        std::map<std::string, std::int64_t> actual;
        for (const auto& t : first.targets) {
            ASSERT_GE(t.units, 0);
            actual[t.dimension] = t.units;
        }
        ASSERT_EQ(actual, expected) << "bill " << n;
    }
}

}  // namespace
}  // namespace meterbridge

#include "meterbridge/core/conversion.hpp"

#include <gtest/gtest.h>

#include <random>

#include "support/bill_builders.hpp"

namespace meterbridge {
namespace {

using namespace bill_builders;

// Azure SaaS resource ids are GUIDs; anything else is held at conversion.
constexpr const char* kSub1 = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
constexpr const char* kSub9 = "0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b";
constexpr const char* kAccountGuid = "11111111-2222-4333-8444-555555555555";
constexpr const char* kCodeGuid = "AAAAAAAA-BBBB-4CCC-9DDD-EEEEEEEEEEEE";

IntegrationConfig per_bill() {
    IntegrationConfig c;
    c.id = "int-bill";
    c.split_usage_line_items = SplitMode::ItemPerBill;
    c.marketplace_bill_dimension = "compute";
    c.plan_id = "gold";
    return c;
}

std::vector<ExternalMapping> base_mappings() {
    return {mapping(MappingEntity::Account, "acc-1", ExternalTable::Subscription, kSub1),
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
    EXPECT_EQ(c.targets[0].resource_id, kSub1);
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
    // Which line items made each target, for ops to explain a charge.
    EXPECT_EQ(result.targets[0].line_items, std::vector<int>{2});
    EXPECT_EQ(result.targets[1].line_items, (std::vector<int>{0, 1}));
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

// SPEC §4: per (integration, bill, resource, dimension) the subtotals of every
// line item that lands there are summed exactly, then divided and rounded once.
IntegrationConfig per_product() {
    auto c = per_bill();
    c.id = "int-product";
    c.split_usage_line_items = SplitMode::ItemPerProduct;
    return c;
}

std::vector<ExternalMapping> two_products_on_storage() {
    auto mappings = base_mappings();
    mappings.push_back(mapping(MappingEntity::Product, "p-storage2", ExternalTable::Dimension, "storage"));
    return mappings;
}

std::vector<int> indexes_of(const std::vector<HeldLineItem>& held, HoldReason reason) {
    std::vector<int> out;
    for (const auto& h : held) {
        if (h.reason == reason) out.push_back(h.line_item_index);
    }
    return out;
}

TEST(Conversion, SpecExampleTwoProductsOfHalfACentOnOneDimensionGiveOneUnit) {
    const auto result = convert_bill(per_product(),
                                     bill({item("USAGE", "0.005", "p-storage"), item("USAGE", "0.005", "p-storage2")}),
                                     two_products_on_storage(), nullptr);
    ASSERT_EQ(result.targets.size(), 1u);
    EXPECT_EQ(result.targets[0].dimension, "storage");
    EXPECT_EQ(result.targets[0].units, 1);  // $0.010 once, not 0.5 -> 1 twice
    EXPECT_EQ(result.targets[0].amount, dec("0.010"));
    EXPECT_TRUE(result.held.empty());
}

TEST(Conversion, SpecExampleChargeAndCreditOnOneDimensionGiveSevenHundred) {
    auto mappings = base_mappings();
    mappings.push_back(mapping(MappingEntity::Product, "p-refund", ExternalTable::Dimension, "compute"));
    // The credit carries another product mapped to the same dimension.
    const auto by_product = convert_bill(
        per_product(), bill({item("USAGE", "10.00", "p-compute"), item("CREDIT_MEMO", "-3.00", "p-refund")}), mappings,
        nullptr);
    ASSERT_EQ(by_product.targets.size(), 1u);
    EXPECT_EQ(by_product.targets[0].units, 700);
    EXPECT_EQ(by_product.targets[0].amount, dec("7"));
    EXPECT_TRUE(by_product.held.empty());

    // The credit has no product and follows fallback_dimension onto the charge's dimension.
    auto fallback = per_product();
    fallback.fallback_dimension = "compute";
    const auto by_fallback = convert_bill(
        fallback, bill({item("USAGE", "10.00", "p-compute"), item("CREDIT_MEMO", "-3.00")}), base_mappings(), nullptr);
    ASSERT_EQ(by_fallback.targets.size(), 1u);
    EXPECT_EQ(by_fallback.targets[0].units, 700);
    EXPECT_EQ(by_fallback.targets[0].amount, dec("7"));
    EXPECT_TRUE(by_fallback.held.empty());

    // One group: always 700.
    EXPECT_EQ(convert_bill(per_bill(), bill({item("USAGE", "10.00"), item("CREDIT_MEMO", "-3.00")}), base_mappings(),
                           nullptr)
                  .targets.at(0)
                  .units,
              700);
}

TEST(Conversion, EachRoundingModeRoundsTheDimensionTotalOnce) {
    // 0.012 + 0.018 - 0.005 = 0.025 on "storage" from three items of two
    // products: 2.5 units. Rounding per product would give 1.2 + (1.8 - 0.5 = 1.3).
    const Bill b = bill({item("USAGE", "0.012", "p-storage"), item("USAGE", "0.018", "p-storage2"),
                         item("CREDIT_MEMO", "-0.005", "p-storage2")});
    const std::vector<std::pair<Rounding, std::int64_t>> cases = {
        {Rounding::HalfUp, 3}, {Rounding::HalfEven, 2}, {Rounding::Down, 2}, {Rounding::Up, 3}};
    for (const auto& [rounding, units] : cases) {
        auto c = per_product();
        c.rounding = rounding;
        const auto result = convert_bill(c, b, two_products_on_storage(), nullptr);
        ASSERT_EQ(result.targets.size(), 1u);
        EXPECT_EQ(result.targets[0].units, units) << "rounding " << static_cast<int>(rounding);
        EXPECT_EQ(result.targets[0].amount, dec("0.025"));
    }
    // A credit that makes one product negative is not held when the dimension stays positive.
    auto c = per_product();
    const auto mixed = convert_bill(c,
                                    bill({item("USAGE", "0.030", "p-storage"), item("CREDIT_MEMO", "-0.005", "p-storage2")}),
                                    two_products_on_storage(), nullptr);
    ASSERT_EQ(mixed.targets.size(), 1u);
    EXPECT_EQ(mixed.targets[0].units, 3);  // 2.5 half_up
    EXPECT_TRUE(mixed.held.empty());
}

TEST(Conversion, NegativeDimensionTotalIsHeldWithEveryContributingItem) {
    auto c = per_product();
    c.fallback_dimension = "storage";
    const auto result = convert_bill(c,
                                     bill({item("USAGE", "1.00", "p-storage"), item("USAGE", "4.00", "p-compute"),
                                           item("USAGE", "0.50", "p-storage2"), item("CREDIT_MEMO", "-2.00")}),
                                     two_products_on_storage(), nullptr);
    ASSERT_EQ(result.targets.size(), 1u);
    EXPECT_EQ(result.targets[0].dimension, "compute");
    EXPECT_EQ(result.targets[0].units, 400);
    EXPECT_EQ(indexes_of(result.held, HoldReason::NegativeTotal), (std::vector<int>{0, 2, 3}));
    ASSERT_EQ(result.held.size(), 3u);
    for (const auto& h : result.held) EXPECT_NE(h.message.find("-0.5"), std::string::npos) << h.message;
    Decimal held_total;
    for (const auto& h : result.held) held_total = held_total.add(h.amount).value();
    EXPECT_EQ(held_total, dec("-0.50"));

    // A total below zero that would round to 0 units is still negative: held, nothing sent.
    const auto tiny = convert_bill(per_bill(), bill({item("USAGE", "0.001"), item("CREDIT_MEMO", "-0.004")}),
                                   base_mappings(), nullptr);
    EXPECT_TRUE(tiny.targets.empty());
    EXPECT_EQ(indexes_of(tiny.held, HoldReason::NegativeTotal), (std::vector<int>{0, 1}));
}

TEST(Conversion, CreditWithoutProductFollowsFallbackOrIsHeld) {
    const Bill b = bill({item("USAGE", "5.00", "p-compute"), item("CREDIT_MEMO", "-1.25")});
    const auto held = convert_bill(per_product(), b, base_mappings(), nullptr);
    ASSERT_EQ(held.targets.size(), 1u);
    EXPECT_EQ(held.targets[0].units, 500);
    ASSERT_EQ(held.held.size(), 1u);
    EXPECT_EQ(held.held[0].reason, HoldReason::NoGroup);
    EXPECT_EQ(held.held[0].line_item_index, 1);
    EXPECT_EQ(held.held[0].amount, dec("-1.25"));

    auto fallback = per_product();
    fallback.fallback_dimension = "compute";
    const auto reduced = convert_bill(fallback, b, base_mappings(), nullptr);
    ASSERT_EQ(reduced.targets.size(), 1u);
    EXPECT_EQ(reduced.targets[0].units, 375);
    EXPECT_TRUE(reduced.held.empty());

    // A fallback dimension with nothing else on it sums below zero: held.
    fallback.fallback_dimension = "base";
    const auto alone = convert_bill(fallback, b, base_mappings(), nullptr);
    ASSERT_EQ(alone.targets.size(), 1u);
    EXPECT_EQ(alone.targets[0].dimension, "compute");
    EXPECT_EQ(alone.targets[0].units, 500);
    EXPECT_EQ(indexes_of(alone.held, HoldReason::NegativeTotal), (std::vector<int>{1}));
}

TEST(Conversion, ResourceIdsThatAreNotGuidsAreHeldFromEverySource) {
    const Bill b = bill({item("USAGE", "1"), item("CREDIT_MEMO", "-0.25")});

    const std::vector<ExternalMapping> mapped = {
        mapping(MappingEntity::Account, "acc-1", ExternalTable::Subscription, "sub-1")};
    const auto by_mapping = convert_bill(per_bill(), b, mapped, nullptr);
    EXPECT_TRUE(by_mapping.ran());
    EXPECT_TRUE(by_mapping.targets.empty());
    EXPECT_EQ(indexes_of(by_mapping.held, HoldReason::InvalidResourceId), (std::vector<int>{0, 1}));
    EXPECT_NE(by_mapping.held.at(0).message.find("sub-1"), std::string::npos);
    EXPECT_NE(by_mapping.held.at(0).message.find("external_mapping"), std::string::npos);

    auto by_code = per_bill();
    by_code.resource_id_from = ResourceIdSource::AccountCode;
    const auto code = convert_bill(by_code, b, base_mappings(), nullptr);  // accountCode "ACME"
    EXPECT_TRUE(code.targets.empty());
    EXPECT_EQ(indexes_of(code.held, HoldReason::InvalidResourceId), (std::vector<int>{0, 1}));
    EXPECT_NE(code.held.at(0).message.find("ACME"), std::string::npos);

    auto by_id = per_bill();
    by_id.resource_id_from = ResourceIdSource::AccountId;
    const auto id = convert_bill(by_id, b, base_mappings(), nullptr);  // accountId "acc-1"
    EXPECT_TRUE(id.targets.empty());
    EXPECT_EQ(indexes_of(id.held, HoldReason::InvalidResourceId), (std::vector<int>{0, 1}));
    EXPECT_NE(id.held.at(0).message.find("acc-1"), std::string::npos);

    // The same bills with GUIDs convert.
    Bill guids = b;
    guids.account_id = kAccountGuid;
    guids.account_code = kCodeGuid;
    EXPECT_EQ(convert_bill(by_id, guids, base_mappings(), nullptr).targets.at(0).resource_id, kAccountGuid);
    EXPECT_EQ(convert_bill(by_code, guids, base_mappings(), nullptr).targets.at(0).resource_id, kCodeGuid);
    EXPECT_EQ(convert_bill(per_bill(), b, base_mappings(), nullptr).targets.at(0).units, 75);

    // A bill with no included items still leaves one bill-level hold naming the reason.
    const auto empty = convert_bill(by_id, bill({}), base_mappings(), nullptr);
    ASSERT_EQ(empty.held.size(), 1u);
    EXPECT_EQ(empty.held[0].reason, HoldReason::InvalidResourceId);
    EXPECT_EQ(empty.held[0].line_item_index, -1);
}

TEST(Conversion, HeldTotalsSumPerIntegrationAndReason) {
    const std::vector<HeldLineItem> held = {
        HeldLineItem{"int-b", "bill-1", 2, "li-2", HoldReason::NoGroup, "no product", dec("-1.25")},
        HeldLineItem{"int-a", "bill-1", 0, "li-0", HoldReason::UnmappedProduct, "no mapping", dec("4.005")},
        HeldLineItem{"int-b", "bill-1", 3, "li-3", HoldReason::NoGroup, "no product", dec("-0.50")},
        HeldLineItem{"int-a", "bill-1", -1, "", HoldReason::InvalidResourceId, "not a GUID", Decimal{}},
        HeldLineItem{"int-a", "bill-1", 1, "li-1", HoldReason::UnmappedProduct, "no mapping", dec("0.995")}};
    const auto totals = total_held(held);
    ASSERT_EQ(totals.size(), 3u);
    EXPECT_EQ(totals[0], (HeldTotal{"int-a", HoldReason::UnmappedProduct, 2, dec("5"), false}));
    EXPECT_EQ(totals[1], (HeldTotal{"int-a", HoldReason::InvalidResourceId, 0, Decimal{}, false}));
    EXPECT_EQ(totals[2], (HeldTotal{"int-b", HoldReason::NoGroup, 2, dec("-1.75"), false}));
    EXPECT_TRUE(total_held({}).empty());

    const std::vector<HeldLineItem> huge = {
        HeldLineItem{"int-a", "bill-1", 0, "", HoldReason::AmountOverflow, "", dec("9000000000000000000")},
        HeldLineItem{"int-a", "bill-1", 1, "", HoldReason::AmountOverflow, "", dec("9000000000000000000")}};
    EXPECT_TRUE(total_held(huge).at(0).overflow);
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
    Bill coded = bill({item("USAGE", "1")});
    coded.account_code = kCodeGuid;
    EXPECT_EQ(convert_bill(by_code, coded, mappings, nullptr).targets.at(0).resource_id, kCodeGuid);
    other.account_code.clear();
    EXPECT_EQ(convert_bill(by_code, other, mappings, nullptr).held.at(0).reason, HoldReason::NoResourceId);

    auto by_id = per_bill();
    by_id.resource_id_from = ResourceIdSource::AccountId;
    by_id.plan_id.clear();
    Bill guid_account = bill({item("USAGE", "1")});
    guid_account.account_id = kAccountGuid;
    EXPECT_EQ(convert_bill(by_id, guid_account, mappings, nullptr).held.at(0).reason, HoldReason::NoPlan);
}

TEST(Conversion, AccountMappingPlanOverridesTheIntegrationPlan) {
    std::vector<ExternalMapping> mappings = {
        mapping(MappingEntity::Account, "acc-1", ExternalTable::Subscription, kSub9, "", "platinum")};
    EXPECT_EQ(convert_bill(per_bill(), bill({item("USAGE", "1")}), mappings, nullptr).targets.at(0).plan_id, "platinum");
}

TEST(Conversion, LinkedMappingsWinAndEnforcementIgnoresUnlinkedOnes) {
    // find_mapping does not look at the external id; GUIDs matter only to convert_bill.
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
// independently computed reference (integer thousandths summed per dimension,
// two products sharing "storage"), units are never negative, held amounts plus
// target amounts account for every included item, and converting twice gives
// the same result.
TEST(Conversion, RandomizedBillsMatchAReferenceAndAreDeterministic) {
    std::mt19937_64 rng(424242);
    const auto mappings = two_products_on_storage();
    const std::vector<std::string> products = {"p-storage", "p-storage2", "p-compute", "p-unknown", ""};
    const std::vector<std::string> types = {"USAGE", "STANDING_CHARGE", "CREDIT_MEMO", "AD_HOC", "NEW_TYPE"};
    auto c = per_bill();
    c.split_usage_line_items = SplitMode::ItemPerProduct;
    c.fallback_dimension = "base";
    c.excluded_line_item_types = {"AD_HOC"};
    for (int n = 0; n < 3000; ++n) {
        std::vector<LineItem> items;
        std::map<std::string, std::int64_t> mills;  // dimension -> thousandths
        std::int64_t included_mills = 0;
        const int count = static_cast<int>(rng() % 12);
        for (int i = 0; i < count; ++i) {
            const std::string type = types[rng() % types.size()];
            const std::string product = products[rng() % products.size()];
            const std::int64_t m = static_cast<std::int64_t>(rng() % 2'000'000) - (type == "CREDIT_MEMO" ? 1'000'000 : 0);
            items.push_back(item(type, Decimal::from_integer(m).to_string() + "e-3", product));
            if (type == "AD_HOC") continue;
            included_mills += m;
            if (product == "p-unknown") continue;
            mills[product.empty() ? "base" : (product == "p-compute" ? "compute" : "storage")] += m;
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
        Decimal accounted;
        for (const auto& t : first.targets) accounted = accounted.add(t.amount).value();
        for (const auto& h : first.held) accounted = accounted.add(h.amount).value();
        ASSERT_EQ(accounted, dec(std::to_string(included_mills) + "e-3")) << "bill " << n;
    }
}

}  // namespace
}  // namespace meterbridge

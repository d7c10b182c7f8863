#include "meterbridge/core/simulation.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "support/bill_builders.hpp"

// The dry run of issue 19: every split mode, every held reason, every skip
// reason, and the hour slots under both scheduler policies.
namespace meterbridge {
namespace {

using namespace bill_builders;

Instant at(std::string_view text) { return parse_iso8601(text).value(); }

constexpr const char* kSub1 = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

// A USAGE line item whose id names its amount ("li-1.50").
LineItem usage(std::string amount, std::string product = {}, std::string aggregation = {}, std::string compound = {}) {
    LineItem li = item("USAGE", amount, std::move(product), std::move(aggregation));
    li.id = "li-" + amount;
    li.compound_aggregation_id = std::move(compound);
    return li;
}

IntegrationConfig integration(std::string id, SplitMode mode) {
    IntegrationConfig c;
    c.id = std::move(id);
    c.split_usage_line_items = mode;
    c.marketplace_bill_dimension = mode == SplitMode::ItemPerBill ? "bill-total" : "";
    c.plan_id = "gold";
    return c;
}

// The config of most tests: acc-1 -> kSub1, products and aggregations mapped.
IntegrationRules rules_with(std::vector<IntegrationConfig> integrations) {
    IntegrationRules rules;
    rules.integrations = std::move(integrations);
    rules.external_mappings = {
        mapping(MappingEntity::Account, "acc-1", ExternalTable::Subscription, kSub1),
        mapping(MappingEntity::Product, "p-storage", ExternalTable::Dimension, "storage"),
        mapping(MappingEntity::Product, "p-compute", ExternalTable::Dimension, "compute"),
        mapping(MappingEntity::Aggregation, "agg-gb", ExternalTable::Dimension, "gigabytes"),
        mapping(MappingEntity::CompoundAggregation, "cagg-x", ExternalTable::Dimension, "mixed")};
    return rules;
}

SlotPolicy eager() {
    SlotPolicy policy;
    policy.mode = SlotPolicy::Mode::Eager;
    return policy;
}

SlotPolicy hour_close(std::int64_t flush_delay_s) {
    SlotPolicy policy;
    policy.mode = SlotPolicy::Mode::HourClose;
    policy.flush_delay = seconds{flush_delay_s};
    return policy;
}

Simulation run(const Bill& b, const IntegrationRules& rules, Instant now = at("2026-03-04T10:17:05Z"),
               SlotPolicy policy = eager(), std::span<const ExternalMapping> stored = {}, const Json* account = nullptr) {
    return simulate_bill(b, SimulationSetting{rules, stored, account,
                                              account != nullptr ? AccountOrigin::Given : AccountOrigin::None, now,
                                              policy});
}

const SimulatedTarget& target_on(const SimulatedIntegration& simulated, std::string_view dimension) {
    for (const auto& t : simulated.targets) {
        if (t.target.dimension == dimension) return t;
    }
    ADD_FAILURE() << "no target on " << dimension;
    static const SimulatedTarget none{};
    return none;
}

bool mentions(const std::vector<std::string>& notes, std::string_view text) {
    for (const auto& note : notes) {
        if (note.find(text) != std::string::npos) return true;
    }
    return false;
}

// ------------------------------------------------------------ split modes

TEST(Simulation, ItemPerBillSumsEveryItemOnTheBillDimension) {
    const auto rules = rules_with({integration("int-bill", SplitMode::ItemPerBill)});
    // 9.985 + 0.005 = 9.990 exactly: 999 units (per-item rounding would give 999 + 1).
    const auto s = run(bill({usage("9.985", "p-storage"), usage("0.005")}), rules);
    ASSERT_EQ(s.integrations.size(), 1u);
    const auto& only = s.integrations[0];
    EXPECT_TRUE(only.ran());
    ASSERT_EQ(only.targets.size(), 1u);
    const auto& t = only.targets[0];
    EXPECT_EQ(t.target.dimension, "bill-total");
    EXPECT_EQ(t.target.resource_id, kSub1);
    EXPECT_EQ(t.target.plan_id, "gold");
    EXPECT_EQ(t.target.amount, dec("9.99"));
    EXPECT_EQ(t.target.amount.to_string(), "9.990");  // the exact sum, before rounding
    EXPECT_EQ(t.target.units, 999);
    EXPECT_TRUE(only.held.empty());
    ASSERT_EQ(s.events.size(), 1u);
    EXPECT_EQ(s.events[0].event.request.quantity, 999);
    EXPECT_EQ(s.events[0].event.request.dimension, "bill-total");
}

TEST(Simulation, ItemPerProductGivesOneTargetPerMappedProduct) {
    const auto rules = rules_with({integration("int-prod", SplitMode::ItemPerProduct)});
    const auto s = run(bill({usage("1.50", "p-storage"), usage("0.25", "p-compute"), usage("0.50", "p-storage")}), rules);
    const auto& only = s.integrations.at(0);
    ASSERT_EQ(only.targets.size(), 2u);
    EXPECT_EQ(target_on(only, "storage").target.units, 200);
    EXPECT_EQ(target_on(only, "storage").target.amount, dec("2.00"));
    EXPECT_EQ(target_on(only, "compute").target.units, 25);
    ASSERT_EQ(s.events.size(), 2u);
    std::set<std::string> dimensions;
    for (const auto& e : s.events) dimensions.insert(e.event.request.dimension);
    EXPECT_EQ(dimensions, (std::set<std::string>{"storage", "compute"}));
}

TEST(Simulation, ItemPerAggregationMapsAggregationsAndCompoundAggregations) {
    auto per_aggregation = integration("int-agg", SplitMode::ItemPerAggregation);
    per_aggregation.fallback_dimension = "other";
    const auto rules = rules_with({per_aggregation});
    const auto s = run(bill({usage("1", "p-storage", "agg-gb"), usage("2", {}, {}, "cagg-x"), usage("0.07")}), rules);
    const auto& only = s.integrations.at(0);
    ASSERT_EQ(only.targets.size(), 3u);
    EXPECT_EQ(target_on(only, "gigabytes").target.units, 100);
    EXPECT_EQ(target_on(only, "mixed").target.units, 200);
    EXPECT_EQ(target_on(only, "other").target.units, 7);  // no aggregation: the fallback dimension
    EXPECT_EQ(s.events.size(), 3u);
}

TEST(Simulation, TheUnitPriceAndRoundingOfTheIntegrationApply) {
    auto down = integration("int-bill", SplitMode::ItemPerBill);
    down.unit_price = dec("0.25");
    down.rounding = Rounding::Down;
    const auto s = run(bill({usage("1.49")}), rules_with({down}));
    EXPECT_EQ(s.integrations.at(0).targets.at(0).target.units, 5);  // 5.96 rounded down
    EXPECT_EQ(s.integrations.at(0).targets.at(0).target.amount, dec("1.49"));
}

// ------------------------------------------------------------ held reasons

struct HeldCase {
    HoldReason reason;
    bool whole_bill;
    std::function<void(IntegrationRules&, Bill&)> shape;
};

// One case per HoldReason of core conversion; HeldReasonsAreAllCovered
// fails when a reason is added without a case here.
std::vector<HeldCase> held_cases() {
    return {
        {HoldReason::WrongCurrency, true, [](IntegrationRules&, Bill& b) { b.currency = "EUR"; }},
        {HoldReason::NoAccountMapping, true, [](IntegrationRules&, Bill& b) { b.account_id = "acc-unmapped"; }},
        {HoldReason::NoResourceId, true,
         [](IntegrationRules& r, Bill& b) {
             r.integrations[0].resource_id_from = ResourceIdSource::AccountCode;
             b.account_code.clear();
         }},
        {HoldReason::NoPlan, true, [](IntegrationRules& r, Bill&) { r.integrations[0].plan_id.clear(); }},
        {HoldReason::UnmappedProduct, false,
         [](IntegrationRules& r, Bill& b) {
             r.integrations[0].split_usage_line_items = SplitMode::ItemPerProduct;
             b.line_items[0].product_id = "p-unknown";
         }},
        {HoldReason::UnmappedAggregation, false,
         [](IntegrationRules& r, Bill& b) {
             r.integrations[0].split_usage_line_items = SplitMode::ItemPerAggregation;
             b.line_items[0].aggregation_id = "agg-unknown";
         }},
        {HoldReason::NoGroup, false,
         [](IntegrationRules& r, Bill& b) {
             r.integrations[0].split_usage_line_items = SplitMode::ItemPerProduct;
             b.line_items[0].product_id.clear();
         }},
        {HoldReason::NegativeTotal, false, [](IntegrationRules&, Bill& b) { b.line_items[0].subtotal = dec("-3.00"); }},
        {HoldReason::AmountOverflow, false,
         [](IntegrationRules&, Bill& b) { b.line_items[0].subtotal = dec("9000000000000000000"); }},
        {HoldReason::InvalidResourceId, true,
         [](IntegrationRules& r, Bill&) { r.external_mappings[0].external_id = "not-a-guid"; }},
    };
}

TEST(Simulation, EveryHeldReasonIsShownWithItsLineItemAndNothingIsSent) {
    for (const HeldCase& c : held_cases()) {
        SCOPED_TRACE(std::string(to_string(c.reason)));
        auto rules = rules_with({integration("int-1", SplitMode::ItemPerBill)});
        Bill b = bill({usage("4.00", "p-storage")});
        c.shape(rules, b);
        const auto s = run(b, rules);
        const auto& only = s.integrations.at(0);
        EXPECT_TRUE(only.ran());
        EXPECT_TRUE(only.targets.empty());
        EXPECT_TRUE(s.events.empty());
        ASSERT_EQ(only.held.size(), 1u);
        EXPECT_EQ(only.held[0].reason, c.reason);
        EXPECT_EQ(only.held[0].line_item_index, 0);
        EXPECT_EQ(only.held[0].line_item_id, b.line_items[0].id);
        EXPECT_EQ(only.held[0].amount, b.line_items[0].subtotal);
        EXPECT_FALSE(only.held[0].message.empty());
        ASSERT_EQ(only.held_totals.size(), 1u);
        EXPECT_EQ(only.held_totals[0].reason, c.reason);
        EXPECT_EQ(only.held_totals[0].line_items, 1);
        // Bill-level errors: the holds that stop the whole bill, once each.
        ASSERT_EQ(only.bill_errors.size(), c.whole_bill ? 1u : 0u);
        if (c.whole_bill) {
            EXPECT_EQ(only.bill_errors[0].reason, c.reason);
            EXPECT_EQ(only.bill_errors[0].message, only.held[0].message);
        }
    }
}

TEST(Simulation, HeldReasonsAreAllCovered) {
    std::set<HoldReason> covered;
    for (const HeldCase& c : held_cases()) covered.insert(c.reason);
    // The enum's values, up to the first that has no name.
    for (int value = 0; to_string(static_cast<HoldReason>(value)) != "unknown"; ++value) {
        EXPECT_TRUE(covered.contains(static_cast<HoldReason>(value)))
            << to_string(static_cast<HoldReason>(value)) << " has no simulation test";
        EXPECT_EQ(holds_whole_bill(static_cast<HoldReason>(value)),
                  [&] {
                      for (const HeldCase& c : held_cases()) {
                          if (c.reason == static_cast<HoldReason>(value)) return c.whole_bill;
                      }
                      return false;
                  }())
            << to_string(static_cast<HoldReason>(value));
    }
    EXPECT_EQ(covered.size(), held_cases().size());
}

TEST(Simulation, AWholeBillErrorIsNamedOnceWhateverTheNumberOfItems) {
    const auto rules = rules_with({integration("int-1", SplitMode::ItemPerBill)});
    Bill euro = bill({usage("1"), usage("2"), usage("3")});
    euro.currency = "EUR";
    const auto s = run(euro, rules);
    EXPECT_EQ(s.integrations.at(0).held.size(), 3u);
    ASSERT_EQ(s.integrations.at(0).bill_errors.size(), 1u);
    EXPECT_NE(s.integrations.at(0).bill_errors[0].message.find("EUR"), std::string::npos);
    EXPECT_EQ(s.integrations.at(0).held_totals.at(0).amount, dec("6"));
}

TEST(Simulation, SomeItemsHeldAndOthersSent) {
    const auto rules = rules_with({integration("int-prod", SplitMode::ItemPerProduct)});
    const auto s = run(bill({usage("1.00", "p-storage"), usage("2.00", "p-unknown"), usage("0.30")}), rules);
    const auto& only = s.integrations.at(0);
    ASSERT_EQ(only.targets.size(), 1u);
    EXPECT_EQ(only.targets[0].target.units, 100);
    ASSERT_EQ(only.held.size(), 2u);
    EXPECT_EQ(only.held[0].reason, HoldReason::UnmappedProduct);
    EXPECT_EQ(only.held[0].line_item_index, 1);
    EXPECT_EQ(only.held[1].reason, HoldReason::NoGroup);
    EXPECT_TRUE(only.bill_errors.empty());
    EXPECT_EQ(s.events.size(), 1u);
}

// ------------------------------------------------------------ skipped integrations

TEST(Simulation, SkippedIntegrationsSayWhyAndSendNothing) {
    auto disabled = integration("off", SplitMode::ItemPerBill);
    disabled.enabled = false;
    auto other_accounts = integration("others", SplitMode::ItemPerBill);
    other_accounts.account_ids = {"acc-2"};
    auto restricted = integration("restricted", SplitMode::ItemPerBill);
    restricted.restricted_account_ids = {"acc-1"};
    auto approval = integration("approval", SplitMode::ItemPerBill);
    approval.only_send_bill_on_approval = true;
    auto filtered = integration("uk-only", SplitMode::ItemPerBill);
    filtered.account_filter = AccountFilter::parse(R"(customFields.country == "UK")").value();
    auto runs = integration("runs", SplitMode::ItemPerBill);
    const auto rules = rules_with({disabled, other_accounts, restricted, approval, filtered, runs});
    Bill pending = bill({usage("1")});
    pending.status = BillStatus::Pending;

    const auto unresolved = run(pending, rules);
    const std::vector<SkipReason> expected{SkipReason::Disabled,         SkipReason::AccountNotAllowed,
                                           SkipReason::AccountRestricted, SkipReason::AwaitingApproval,
                                           SkipReason::AccountUnresolved, SkipReason::None};
    ASSERT_EQ(unresolved.integrations.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto& simulated = unresolved.integrations[i];
        SCOPED_TRACE(simulated.integration->id);
        EXPECT_EQ(simulated.skipped, expected[i]);
        EXPECT_EQ(simulated.skip_message.empty(), expected[i] == SkipReason::None);
        if (!simulated.ran()) {
            EXPECT_TRUE(simulated.targets.empty());
            EXPECT_TRUE(simulated.held.empty());
        }
    }
    EXPECT_NE(unresolved.integrations[4].skip_message.find("m3ter"), std::string::npos);
    ASSERT_EQ(unresolved.events.size(), 1u);  // only "runs"
    EXPECT_EQ(unresolved.events[0].event.shares.at(0).key.integration_id, "runs");

    const Json france = Json::parse(R"({"id":"acc-1","customFields":{"country":"FR"}})");
    const auto failed = run(pending, rules, at("2026-03-04T10:17:05Z"), eager(), {}, &france);
    EXPECT_EQ(failed.integrations[4].skipped, SkipReason::AccountFilterFailed);
    EXPECT_NE(failed.integrations[4].skip_message.find("customFields.country"), std::string::npos);
    EXPECT_EQ(failed.account_origin, AccountOrigin::Given);
    const Json uk = Json::parse(R"({"id":"acc-1","customFields":{"country":"UK"}})");
    EXPECT_TRUE(run(pending, rules, at("2026-03-04T10:17:05Z"), eager(), {}, &uk).integrations[4].ran());
}

TEST(Simulation, StaticAccountsAreFoundByTheirId) {
    const std::vector<Json> accounts{Json::parse(R"({"id":"acc-2","code":"B"})"), Json(42),
                                     Json::parse(R"({"id":"acc-1","code":"first"})"),
                                     Json::parse(R"({"id":"acc-1","code":"second"})")};
    const Json* found = find_static_account(accounts, "acc-1");
    ASSERT_NE(found, nullptr);
    EXPECT_EQ((*found)["code"], "first");
    EXPECT_EQ(find_static_account(accounts, "acc-9"), nullptr);
}

// ------------------------------------------------------------ mappings

TEST(Simulation, StoredMappingsAddToTheConfigsAndLinkedOnesWin) {
    const auto rules = rules_with({integration("int-prod", SplitMode::ItemPerProduct)});
    const Bill b = bill({usage("1", "p-new"), usage("2", "p-storage")});
    EXPECT_EQ(run(b, rules).integrations[0].held.at(0).reason, HoldReason::UnmappedProduct);

    auto added = mapping(MappingEntity::Product, "p-new", ExternalTable::Dimension, "fresh");
    auto linked = mapping(MappingEntity::Product, "p-storage", ExternalTable::Dimension, "linked-storage");
    linked.integration_id = "int-prod";
    const std::vector<ExternalMapping> stored{added, linked};
    const auto s = run(b, rules, at("2026-03-04T10:17:05Z"), eager(), stored);
    const auto& only = s.integrations.at(0);
    EXPECT_TRUE(only.held.empty());
    EXPECT_EQ(target_on(only, "fresh").target.units, 100);
    EXPECT_EQ(target_on(only, "linked-storage").target.units, 200);
}

// ------------------------------------------------------------ hour slots

TEST(Simulation, EagerGoesToTheCurrentHourAtTheNextTick) {
    const auto rules = rules_with({integration("int-1", SplitMode::ItemPerBill)});
    const Instant now = at("2026-03-04T10:17:05Z");
    const auto s = run(bill({usage("0.50")}), rules, now, eager());
    const auto& t = s.integrations.at(0).targets.at(0);
    EXPECT_EQ(t.target.units, 50);
    EXPECT_EQ(t.slot, at("2026-03-04T10:00:00Z"));
    EXPECT_EQ(t.send_after, now);
    ASSERT_EQ(s.events.size(), 1u);
    EXPECT_EQ(s.events[0].event.request.effective_start_time, at("2026-03-04T10:00:00Z"));
    EXPECT_EQ(s.events[0].send_after, now);
    EXPECT_TRUE(mentions(s.notes, "eager"));
}

TEST(Simulation, HourCloseGoesToThisHourAndIsSentAfterItClosesPlusTheFlushDelay) {
    const auto rules = rules_with({integration("int-1", SplitMode::ItemPerBill)});
    const auto s = run(bill({usage("0.50")}), rules, at("2026-03-04T10:17:05Z"), hour_close(60));
    const auto& t = s.integrations.at(0).targets.at(0);
    EXPECT_EQ(t.slot, at("2026-03-04T10:00:00Z"));
    EXPECT_EQ(t.send_after, at("2026-03-04T11:01:00Z"));
    EXPECT_TRUE(mentions(s.notes, "hour_close"));
    EXPECT_TRUE(mentions(s.notes, "(60 s)"));

    // Just before the hour ends, with another delay: still that hour.
    const auto late = run(bill({usage("0.50")}), rules, at("2026-03-04T23:59:59Z"), hour_close(300));
    EXPECT_EQ(late.integrations.at(0).targets.at(0).slot, at("2026-03-04T23:00:00Z"));
    EXPECT_EQ(late.integrations.at(0).targets.at(0).send_after, at("2026-03-05T00:05:00Z"));
}

TEST(Simulation, TwoIntegrationsOnOneKeyShareAnEventWhenThePlanIsTheSame) {
    auto a = integration("int-a", SplitMode::ItemPerBill);
    auto b = integration("int-b", SplitMode::ItemPerBill);
    a.marketplace_bill_dimension = b.marketplace_bill_dimension = "compute";
    const auto s = run(bill({usage("1.00")}), rules_with({a, b}), at("2026-03-04T10:17:05Z"), eager());
    ASSERT_EQ(s.events.size(), 1u);
    EXPECT_EQ(s.events[0].event.request.quantity, 200);
    EXPECT_EQ(s.events[0].event.shares.size(), 2u);
}

TEST(Simulation, ADifferentPlanOnTheSameKeyWaitsForTheNextHourUnderBothPolicies) {
    auto a = integration("int-a", SplitMode::ItemPerBill);
    auto b = integration("int-b", SplitMode::ItemPerBill);
    a.marketplace_bill_dimension = b.marketplace_bill_dimension = "compute";
    b.plan_id = "silver";
    const auto rules = rules_with({a, b});

    const auto now_eager = run(bill({usage("1.00")}), rules, at("2026-03-04T10:17:05Z"), eager());
    ASSERT_EQ(now_eager.events.size(), 2u);
    EXPECT_EQ(now_eager.events[0].event.request.effective_start_time, at("2026-03-04T10:00:00Z"));
    EXPECT_EQ(now_eager.events[0].send_after, at("2026-03-04T10:17:05Z"));
    EXPECT_EQ(now_eager.events[1].event.request.effective_start_time, at("2026-03-04T11:00:00Z"));
    EXPECT_EQ(now_eager.events[1].send_after, at("2026-03-04T11:00:00Z"));  // the slot must not be in the future
    EXPECT_NE(now_eager.events[0].event.request.plan_id, now_eager.events[1].event.request.plan_id);

    // hour_close: at 11:01 the hour 11:00 has begun, so the second plan takes it at once.
    const auto closing = run(bill({usage("1.00")}), rules, at("2026-03-04T10:17:05Z"), hour_close(60));
    ASSERT_EQ(closing.events.size(), 2u);
    EXPECT_EQ(closing.events[0].event.request.effective_start_time, at("2026-03-04T10:00:00Z"));
    EXPECT_EQ(closing.events[1].event.request.effective_start_time, at("2026-03-04T11:00:00Z"));
    EXPECT_EQ(closing.events[0].send_after, at("2026-03-04T11:01:00Z"));
    EXPECT_EQ(closing.events[1].send_after, at("2026-03-04T11:01:00Z"));
    for (const auto& simulated : closing.integrations) EXPECT_TRUE(simulated.targets.at(0).slot.has_value());
}

TEST(Simulation, ZeroUnitsGetNoSlot) {
    const auto rules = rules_with({integration("int-1", SplitMode::ItemPerBill)});
    const auto s = run(bill({usage("0.004")}), rules);
    const auto& t = s.integrations.at(0).targets.at(0);
    EXPECT_EQ(t.target.units, 0);
    EXPECT_EQ(t.target.amount, dec("0.004"));
    EXPECT_FALSE(t.slot.has_value());
    EXPECT_FALSE(t.send_after.has_value());
    EXPECT_TRUE(s.events.empty());
}

// ------------------------------------------------------------ the whole event

TEST(Simulation, SaysItShowsTheTargetsAsIfThisVersionWereTheFirst) {
    const auto rules = rules_with({integration("int-1", SplitMode::ItemPerBill)});
    Bill third = bill({usage("1")});
    third.version = 3;
    const auto s = run(third, rules);
    EXPECT_TRUE(mentions(s.notes, "as if it were the bill's first"));
    EXPECT_EQ(s.bill.version, 3);
    EXPECT_EQ(s.account_origin, AccountOrigin::None);
}

TEST(Simulation, EventsAreSimulatedAndADeletionSendsNothing) {
    const auto rules = rules_with({integration("int-1", SplitMode::ItemPerBill)});
    const auto setting = SimulationSetting{rules, {}, nullptr, AccountOrigin::None, at("2026-03-04T10:17:05Z"), eager()};

    BillEvent updated;
    updated.kind = BillEventKind::Updated;
    updated.bill_id = "bill-1";
    updated.bill = bill({usage("1")});
    const auto simulated = simulate_event(updated, setting);
    ASSERT_TRUE(simulated.ok());
    EXPECT_FALSE(simulated->deleted);
    EXPECT_EQ(simulated->events.size(), 1u);

    BillEvent deleted = updated;  // a deletion may carry the last state: it is not converted
    deleted.kind = BillEventKind::Deleted;
    const auto gone = simulate_event(deleted, setting);
    ASSERT_TRUE(gone.ok());
    EXPECT_TRUE(gone->deleted);
    EXPECT_EQ(gone->bill.id, "bill-1");
    EXPECT_TRUE(gone->integrations.empty());
    EXPECT_TRUE(gone->events.empty());
    EXPECT_TRUE(mentions(gone->notes, "goes to zero"));

    BillEvent reference;
    reference.kind = BillEventKind::Created;
    reference.event_name = "billing.bill.created";
    reference.bill_id = "bill-7";
    const auto missing = simulate_event(reference, setting);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, "bill_missing");
    EXPECT_EQ(missing.error().field, "m3terEvent");
    EXPECT_NE(missing.error().message.find("bill-7"), std::string::npos);
}

TEST(Simulation, ADecodedWebhookBodyIsSimulatedLikeTheDaemonReadsIt) {
    const auto rules = rules_with({integration("int-prod", SplitMode::ItemPerProduct)});
    const auto body = parse_exact_json(
        R"({"eventName":"billing.bill.updated","id":"evt-1","m3terEvent":{"eventData":{"new":{"id":"bill-9","version":2,)"
        R"("accountId":"acc-1","status":"APPROVED","currency":"USD","lineItems":[{"lineItemType":"USAGE",)"
        R"("productId":"p-storage","subtotal":9.985}]}}}})");
    ASSERT_TRUE(body.ok());
    const auto event = parse_bill_event(*body);
    ASSERT_TRUE(event.ok());
    const auto s = simulate_event(*event, SimulationSetting{rules, {}, nullptr, AccountOrigin::None,
                                                            at("2026-03-04T10:17:05Z"), eager()});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->bill.id, "bill-9");
    EXPECT_EQ(s->integrations.at(0).targets.at(0).target.units, 999);
    EXPECT_EQ(s->integrations.at(0).targets.at(0).target.amount.to_string(), "9.985");
}

}  // namespace
}  // namespace meterbridge

#include "meterbridge/core/recon.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace meterbridge::recon {
namespace {

constexpr const char* kResource = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
constexpr const char* kSubscription = "aaaa0000-1111-2222-3333-444455556666";

Day day(const char* text) { return *parse_day(text); }
Instant at(const char* text) { return *parse_iso8601(text); }
Decimal dec(const char* text) { return *Decimal::parse(text); }

LedgerEvent accepted(std::int64_t id, const char* hour, std::int64_t quantity, std::vector<BillShare> shares = {},
                     const char* resource = kResource, const char* dimension = "api_calls") {
    if (shares.empty()) shares.push_back({"int-1", "bill-A", quantity});
    return LedgerEvent{id, resource, dimension, at(hour), quantity, LedgerEvent::State::Accepted, std::move(shares)};
}

LedgerEvent unresolved(std::int64_t id, const char* hour, std::int64_t quantity) {
    LedgerEvent e = accepted(id, hour, quantity);
    e.state = LedgerEvent::State::Unresolved;
    return e;
}

AzureRow usage_row(const char* d, const char* quantity, const char* status = "Accepted",
                   const char* resource = kResource, const char* dimension = "api_calls") {
    AzureRow row;
    row.source = Source::UsageEvents;
    row.key = Key{resource, dimension, day(d)};
    row.quantity = dec(quantity);
    row.submitted_quantity = dec(quantity);
    row.status = status;
    return row;
}

AzureRow billing_row(Source source, const char* subscription, const char* d, const char* quantity,
                     const char* dimension = "api_calls") {
    AzureRow row;
    row.source = source;
    row.key = Key{"", dimension, day(d)};
    row.quantity = dec(quantity);
    row.azure_subscription_id = subscription;
    return row;
}

Options options(std::vector<Source> sources = {Source::UsageEvents}) {
    Options o;
    o.now = at("2026-03-10T00:00:00Z");
    o.from_day = day("2026-03-01");
    o.to_day = day("2026-03-07");
    o.sources = std::move(sources);
    return o;
}

AzureEvidence evidence(const std::vector<AzureRow>& rows) {
    auto names = NameMap::make({{kSubscription, kResource}});
    AzureEvidence e(std::move(*names));
    for (const auto& row : rows) EXPECT_TRUE(e.add(row).ok());
    return e;
}

Report run(const std::vector<LedgerEvent>& events, const std::vector<AzureRow>& rows, const Options& o = options()) {
    auto report = compare(events, evidence(rows), o);
    EXPECT_TRUE(report.ok()) << report.error().message;
    return std::move(*report);
}

const Row& only_row(const Report& report) {
    EXPECT_EQ(report.rows.size(), 1u);
    return report.rows.at(0);
}

TEST(ReconNames, AreExactlyTheNamesOfSpec8) {
    const std::vector<std::pair<Outcome, const char*>> outcomes = {
        {Outcome::Matched, "matched"},         {Outcome::MissingAtAzure, "missing_at_azure"},
        {Outcome::UnknownToUs, "unknown_to_us"}, {Outcome::QuantityMismatch, "quantity_mismatch"},
        {Outcome::Rejected, "rejected"},       {Outcome::Mismatch, "mismatch"},
        {Outcome::Pending, "pending"}};
    for (const auto& [outcome, name] : outcomes) {
        EXPECT_EQ(to_string(outcome), name);
        EXPECT_EQ(outcome_from(name), outcome);
    }
    for (const auto& [source, name] : std::vector<std::pair<Source, const char*>>{
             {Source::UsageEvents, "usage_events"}, {Source::PartnerBilling, "partner_billing"},
             {Source::EaCharges, "ea_charges"}}) {
        EXPECT_EQ(to_string(source), name);
        EXPECT_EQ(source_from(name), source);
    }
    for (const auto& [settlement, name] : std::vector<std::pair<Settlement, const char*>>{
             {Settlement::Recorded, "recorded"}, {Settlement::NotRecorded, "not_recorded"},
             {Settlement::Undecidable, "undecidable"}}) {
        EXPECT_EQ(to_string(settlement), name);
        EXPECT_EQ(settlement_from(name), settlement);
    }
    EXPECT_FALSE(outcome_from("Matched"));
    EXPECT_FALSE(source_from("usageEvents"));
    EXPECT_FALSE(settlement_from(""));
}

TEST(ReconDays, ParseAndFormat) {
    EXPECT_EQ(format_day(day("2026-02-28")), "2026-02-28");
    EXPECT_EQ(day_of(at("2026-03-01T23:59:59Z")), day("2026-03-01"));
    for (const char* bad : {"2026-02-29", "2026-3-01", "2026-03-01T00:00:00Z", "20260301", "", "2026-13-01"}) {
        auto parsed = parse_day(bad);
        EXPECT_FALSE(parsed.ok()) << bad;
        if (!parsed) {
            EXPECT_EQ(parsed.error().field, "day");
        }
    }
}

TEST(ReconText, QuantitiesHaveThousandsSeparators) {
    EXPECT_EQ(format_quantity(Decimal::from_integer(1600)), "1,600");
    EXPECT_EQ(format_quantity(Decimal::from_integer(600)), "600");
    EXPECT_EQ(format_quantity(dec("-2000.5")), "-2,000.5");
    EXPECT_EQ(format_quantity(Decimal::from_integer(1234567)), "1,234,567");
}

TEST(ReconNameMap, RefusesAmbiguousOrEmptyPairs) {
    EXPECT_EQ(NameMap::make({{"S", "r1"}, {"s", "r2"}}).error().field, "name_map");
    EXPECT_FALSE(NameMap::make({{"", "r1"}}).ok());
    auto same = NameMap::make({{"S", "R1"}, {"s", "r1"}});
    ASSERT_TRUE(same.ok());
    EXPECT_EQ(same->resource_of("S"), "r1");
    EXPECT_FALSE(same->resource_of("t"));
}

TEST(ReconCompare, EqualQuantitiesMatch) {
    const Report report = run({accepted(1, "2026-03-01T10:00:00Z", 600), accepted(2, "2026-03-01T11:00:00Z", 400)},
                              {usage_row("2026-03-01", "1000.0")});
    const Row& row = only_row(report);
    EXPECT_EQ(row.outcome, Outcome::Matched);
    EXPECT_EQ(row.ours, Decimal::from_integer(1000));
    EXPECT_EQ(row.azure, Decimal::from_integer(1000));
    EXPECT_EQ(row.key.day, day("2026-03-01"));
    EXPECT_EQ(report.totals.at(Outcome::Matched), 1u);
    EXPECT_EQ(report.totals.at(Outcome::QuantityMismatch), 0u);
    EXPECT_FALSE(report.has_discrepancies());
}

TEST(ReconCompare, AcceptedUnitsWithoutAnAzureRowAreMissingAtAzure) {
    const Report report = run({accepted(1, "2026-03-02T10:00:00Z", 500)}, {});
    EXPECT_EQ(only_row(report).outcome, Outcome::MissingAtAzure);
    EXPECT_FALSE(only_row(report).azure);
    EXPECT_TRUE(report.has_discrepancies());
}

TEST(ReconCompare, AnAzureRowWithoutOurUnitsIsUnknownToUs) {
    const Report report = run({}, {usage_row("2026-03-02", "300")});
    EXPECT_EQ(only_row(report).outcome, Outcome::UnknownToUs);
    EXPECT_TRUE(only_row(report).ours.is_zero());
    EXPECT_EQ(report.totals.at(Outcome::UnknownToUs), 1u);
}

TEST(ReconCompare, DifferentQuantitiesAreAMismatchEvenByAFraction) {
    Report report = run({accepted(1, "2026-03-02T10:00:00Z", 1000)}, {usage_row("2026-03-02", "900")});
    EXPECT_EQ(only_row(report).outcome, Outcome::QuantityMismatch);
    EXPECT_NE(only_row(report).note.find("Azure has less by 100"), std::string::npos) << only_row(report).note;
    report = run({accepted(1, "2026-03-02T10:00:00Z", 1000)}, {usage_row("2026-03-02", "1000.5")});
    EXPECT_EQ(only_row(report).outcome, Outcome::QuantityMismatch);
    EXPECT_NE(only_row(report).note.find("Azure has more by 0.5"), std::string::npos) << only_row(report).note;
}

TEST(ReconCompare, AzureReconStatusRejectedAndMismatchWin) {
    Report report = run({accepted(1, "2026-03-02T10:00:00Z", 1000)}, {usage_row("2026-03-02", "1000", "Rejected")});
    EXPECT_EQ(only_row(report).outcome, Outcome::Rejected);
    report = run({accepted(1, "2026-03-02T10:00:00Z", 1000)}, {usage_row("2026-03-02", "1000", "Mismatch")});
    EXPECT_EQ(only_row(report).outcome, Outcome::Mismatch);
    EXPECT_TRUE(report.has_discrepancies());
}

TEST(ReconCompare, RecentDaysAndSubmittedRowsArePending) {
    // Day 03-09 ends 03-10T00:00; with usage_events' 24 h delay it is final at 03-11.
    Options o = options();
    o.to_day = day("2026-03-09");
    Report report = run({accepted(1, "2026-03-09T10:00:00Z", 1000)}, {}, o);
    EXPECT_EQ(only_row(report).outcome, Outcome::Pending);
    EXPECT_NE(only_row(report).note.find("2026-03-11T00:00:00Z"), std::string::npos) << only_row(report).note;
    EXPECT_FALSE(report.has_discrepancies());

    // The same day with a shorter configured delay is final, so missing.
    o.processing_delay[Source::UsageEvents] = std::chrono::hours{0};
    report = run({accepted(1, "2026-03-09T10:00:00Z", 1000)}, {}, o);
    EXPECT_EQ(only_row(report).outcome, Outcome::MissingAtAzure);

    report = run({accepted(1, "2026-03-02T10:00:00Z", 1000)}, {usage_row("2026-03-02", "0", "Submitted")});
    EXPECT_EQ(only_row(report).outcome, Outcome::Pending);
}

TEST(ReconCompare, KeysDifferingInResourceCaseAreOneKey) {
    std::string upper = kResource;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    const Report report =
        run({accepted(1, "2026-03-02T10:00:00Z", 7, {}, upper.c_str())}, {usage_row("2026-03-02", "7")});
    EXPECT_EQ(only_row(report).outcome, Outcome::Matched);
    EXPECT_EQ(only_row(report).key.resource_id, kResource);
}

TEST(ReconCompare, EventsAndRowsOutsideTheRangeAreIgnored) {
    const Report report = run({accepted(1, "2026-02-28T23:00:00Z", 5), accepted(2, "2026-03-08T00:00:00Z", 5)},
                              {usage_row("2026-02-28", "9"), usage_row("2026-03-08", "9")});
    EXPECT_TRUE(report.rows.empty());
}

TEST(ReconCompare, RefusesAnEventWithoutUnits) {
    LedgerEvent empty = accepted(9, "2026-03-01T10:00:00Z", 0);
    auto report = compare({empty}, AzureEvidence{}, options());
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().field, "quantity");
    EXPECT_NE(report.error().message.find("#9"), std::string::npos);
}

TEST(ReconCompare, RefusesAnInvertedRange) {
    Options o = options();
    o.from_day = day("2026-03-05");
    o.to_day = day("2026-03-04");
    auto report = compare({}, AzureEvidence{}, o);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().field, "from");
}

TEST(ReconCompare, PartnerBillingRowsOfOneKeyAreSummedThroughTheNameMap) {
    const Report report = run({accepted(1, "2026-03-03T10:00:00Z", 1000)},
                              {billing_row(Source::PartnerBilling, "AAAA0000-1111-2222-3333-444455556666", "2026-03-03", "600"),
                               billing_row(Source::PartnerBilling, kSubscription, "2026-03-03", "450"),
                               billing_row(Source::PartnerBilling, kSubscription, "2026-03-03", "-50")},
                              options({Source::PartnerBilling}));
    const Row& row = only_row(report);
    EXPECT_EQ(row.source, Source::PartnerBilling);
    EXPECT_EQ(row.outcome, Outcome::Matched);
    EXPECT_EQ(row.azure, Decimal::from_integer(1000));
    EXPECT_TRUE(report.unmapped.empty());
}

TEST(ReconCompare, UnmappedAzureRowsAreReportedNotDropped) {
    const Report report = run({}, {billing_row(Source::EaCharges, "ffff0000-0000-0000-0000-000000000000", "2026-03-03", "2"),
                                   billing_row(Source::EaCharges, "FFFF0000-0000-0000-0000-000000000000", "2026-03-03", "3")},
                              options({Source::EaCharges}));
    EXPECT_TRUE(report.rows.empty());
    ASSERT_EQ(report.unmapped.size(), 1u);
    EXPECT_EQ(report.unmapped[0].azure_subscription_id, "ffff0000-0000-0000-0000-000000000000");
    EXPECT_EQ(report.unmapped[0].quantity, Decimal::from_integer(5));
    EXPECT_EQ(report.unmapped[0].rows, 2u);
    EXPECT_FALSE(report.has_discrepancies());
}

TEST(ReconCompare, OnlyTheRequestedSourcesGetRows) {
    const Report report = run({accepted(1, "2026-03-03T10:00:00Z", 1000)},
                              {usage_row("2026-03-03", "1000"), billing_row(Source::EaCharges, kSubscription, "2026-03-03", "1")},
                              options({Source::UsageEvents}));
    EXPECT_EQ(only_row(report).source, Source::UsageEvents);
    EXPECT_EQ(only_row(report).outcome, Outcome::Matched);
}

TEST(ReconCompare, RollsUpEachBillByOutcome) {
    // Day 1: bills A and B share a matched key. Day 2: only A, and Azure lacks it.
    const Report report =
        run({accepted(1, "2026-03-01T10:00:00Z", 1000, {{"int-1", "bill-A", 600}, {"int-1", "bill-B", 400}}),
             accepted(2, "2026-03-02T10:00:00Z", 250, {{"int-1", "bill-A", 250}})},
            {usage_row("2026-03-01", "1000")});
    ASSERT_EQ(report.rows.size(), 2u);
    ASSERT_EQ(report.rows[0].shares.size(), 2u);
    EXPECT_EQ(report.rows[0].shares[1].bill_id, "bill-B");
    EXPECT_EQ(report.rows[0].shares[1].units, 400);
    ASSERT_EQ(report.bills.size(), 2u);
    const BillRollup& a = report.bills[0];
    EXPECT_EQ(a.bill_id, "bill-A");
    EXPECT_EQ(a.source, Source::UsageEvents);
    EXPECT_EQ(a.units.at(Outcome::Matched), 600);
    EXPECT_EQ(a.units.at(Outcome::MissingAtAzure), 250);
    const BillRollup& b = report.bills[1];
    EXPECT_EQ(b.bill_id, "bill-B");
    EXPECT_EQ(b.units.at(Outcome::Matched), 400);
    EXPECT_EQ(b.units.count(Outcome::MissingAtAzure), 0u);
}

TEST(ReconSettle, AzureHoldingTheEventProposesRecordedAndMatchesTheKey) {
    const Report report =
        run({accepted(1, "2026-03-01T10:00:00Z", 1000), unresolved(7, "2026-03-01T11:00:00Z", 600)},
            {usage_row("2026-03-01", "1600")});
    const Row& row = only_row(report);
    EXPECT_EQ(row.outcome, Outcome::Matched);
    EXPECT_NE(row.note.find("recorded at Azure"), std::string::npos) << row.note;
    EXPECT_EQ(row.unresolved_event_ids, std::vector<std::int64_t>{7});
    ASSERT_EQ(report.proposals.size(), 1u);
    const Proposal& p = report.proposals[0];
    EXPECT_EQ(p.event_id, 7);
    EXPECT_EQ(p.verdict, Settlement::Recorded);
    EXPECT_EQ(p.reason, "usage_events 2026-03-01: Azure 1,600 = accepted 1,000 + this event 600");
    ASSERT_EQ(p.evidence.size(), 1u);
    EXPECT_EQ(p.evidence[0].source, Source::UsageEvents);
}

TEST(ReconSettle, AzureWithoutTheEventProposesNotRecorded) {
    const Report report =
        run({accepted(1, "2026-03-01T10:00:00Z", 1000), unresolved(7, "2026-03-01T11:00:00Z", 600)},
            {usage_row("2026-03-01", "1000")});
    EXPECT_EQ(only_row(report).outcome, Outcome::Matched);
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::NotRecorded);
    EXPECT_EQ(report.proposals.at(0).reason,
              "usage_events 2026-03-01: Azure 1,000 = accepted 1,000, without this event 600");

    // No row at all on a final day: Azure holds nothing.
    const Report none = run({unresolved(7, "2026-03-01T11:00:00Z", 600)}, {});
    EXPECT_EQ(only_row(none).outcome, Outcome::Matched);
    EXPECT_EQ(none.proposals.at(0).verdict, Settlement::NotRecorded);
}

TEST(ReconSettle, UnexplainedTotalsAreUndecidableAndFlagged) {
    const Report report =
        run({accepted(1, "2026-03-01T10:00:00Z", 1000), unresolved(7, "2026-03-01T11:00:00Z", 600)},
            {usage_row("2026-03-01", "1300")});
    EXPECT_EQ(only_row(report).outcome, Outcome::QuantityMismatch);
    EXPECT_NE(only_row(report).note.find("no combination of the unresolved events"), std::string::npos);
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::Undecidable);
    EXPECT_NE(report.proposals.at(0).reason.find("is not accepted 1,000"), std::string::npos)
        << report.proposals.at(0).reason;
}

TEST(ReconSettle, EqualUnresolvedEventsAreAmbiguousUntilAllAreNeeded) {
    const std::vector<LedgerEvent> events = {accepted(1, "2026-03-01T09:00:00Z", 1000),
                                             unresolved(7, "2026-03-01T10:00:00Z", 600),
                                             unresolved(8, "2026-03-01T11:00:00Z", 600)};
    Report report = run(events, {usage_row("2026-03-01", "1600")});
    EXPECT_EQ(only_row(report).outcome, Outcome::Matched);
    EXPECT_NE(only_row(report).note.find("2 ways"), std::string::npos) << only_row(report).note;
    ASSERT_EQ(report.proposals.size(), 2u);
    for (const auto& p : report.proposals) {
        EXPECT_EQ(p.verdict, Settlement::Undecidable);
        EXPECT_NE(p.reason.find("ambiguous"), std::string::npos) << p.reason;
    }
    report = run(events, {usage_row("2026-03-01", "2200")});
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::Recorded);
    EXPECT_EQ(report.proposals.at(1).verdict, Settlement::Recorded);
    EXPECT_EQ(report.proposals.at(0).reason,
              "usage_events 2026-03-01: Azure 2,200 = accepted 1,000 + event #8 600 + this event 600");
}

TEST(ReconSettle, DifferentUnresolvedEventsAreToldApart) {
    const Report report = run({accepted(1, "2026-03-01T09:00:00Z", 1000), unresolved(7, "2026-03-01T10:00:00Z", 600),
                               unresolved(8, "2026-03-01T11:00:00Z", 200)},
                              {usage_row("2026-03-01", "1200")});
    EXPECT_EQ(only_row(report).outcome, Outcome::Matched);
    EXPECT_EQ(report.proposals.at(0).event_id, 7);
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::NotRecorded);
    EXPECT_EQ(report.proposals.at(0).reason,
              "usage_events 2026-03-01: Azure 1,200 = accepted 1,000 + event #8 200, without this event 600");
    EXPECT_EQ(report.proposals.at(1).verdict, Settlement::Recorded);
}

TEST(ReconSettle, PendingOrRejectedDaysDecideNothing) {
    Options o = options();
    o.to_day = day("2026-03-09");
    Report report = run({unresolved(7, "2026-03-09T11:00:00Z", 600)}, {usage_row("2026-03-09", "600")}, o);
    EXPECT_EQ(only_row(report).outcome, Outcome::Pending);
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::Undecidable);
    EXPECT_NE(report.proposals.at(0).reason.find("not final"), std::string::npos) << report.proposals.at(0).reason;

    report = run({unresolved(7, "2026-03-01T11:00:00Z", 600)}, {usage_row("2026-03-01", "600", "Rejected")});
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::Undecidable);
}

TEST(ReconSettle, WithoutSourcesEveryEventIsUndecidable) {
    const Report report = run({unresolved(7, "2026-03-01T11:00:00Z", 600)}, {}, options({}));
    EXPECT_TRUE(report.rows.empty());
    ASSERT_EQ(report.proposals.size(), 1u);
    EXPECT_EQ(report.proposals[0].verdict, Settlement::Undecidable);
    EXPECT_EQ(report.proposals[0].reason, "no source to decide from");
}

TEST(ReconSettle, SourcesThatAgreeDecideAndSourcesThatDisagreeDoNot) {
    const std::vector<LedgerEvent> events = {accepted(1, "2026-03-01T10:00:00Z", 1000),
                                             unresolved(7, "2026-03-01T11:00:00Z", 600)};
    const Options both = options({Source::UsageEvents, Source::EaCharges});

    Report report = run(events, {usage_row("2026-03-01", "1600"),
                                 billing_row(Source::EaCharges, kSubscription, "2026-03-01", "1600")}, both);
    EXPECT_EQ(report.rows.size(), 2u);
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::Recorded);
    ASSERT_EQ(report.proposals.at(0).evidence.size(), 2u);
    EXPECT_EQ(report.proposals.at(0).evidence[1].source, Source::EaCharges);
    EXPECT_EQ(report.proposals.at(0).evidence[1].verdict, Settlement::Recorded);

    report = run(events, {usage_row("2026-03-01", "1600"),
                          billing_row(Source::EaCharges, kSubscription, "2026-03-01", "1000")}, both);
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::Undecidable);
    EXPECT_NE(report.proposals.at(0).reason.find("sources disagree"), std::string::npos);
    EXPECT_NE(report.proposals.at(0).reason.find("ea_charges 2026-03-01: Azure 1,000 = accepted 1,000, without this event 600"),
              std::string::npos) << report.proposals.at(0).reason;
    // Each source's row stays matched on its own evidence.
    EXPECT_EQ(report.totals.at(Outcome::Matched), 2u);

    // A source that cannot decide yet does not veto one that can.
    Options late = both;
    late.processing_delay[Source::EaCharges] = std::chrono::hours{24 * 30};
    report = run(events, {usage_row("2026-03-01", "1600")}, late);
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::Recorded);
    EXPECT_EQ(report.proposals.at(0).evidence[1].verdict, Settlement::Undecidable);
}

TEST(ReconEvidence, AnOverflowingSumIsAnErrorAndLeavesTheTotal) {
    AzureEvidence e;
    AzureRow row = usage_row("2026-03-01", "9000000000000000000");
    ASSERT_TRUE(e.add(row).ok());
    auto again = e.add(row);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().field, "quantity");
    EXPECT_EQ(e.totals().begin()->second.quantity, dec("9000000000000000000"));
    EXPECT_EQ(e.totals().begin()->second.rows, 1u);
}

TEST(ReconEvidence, KeepsStatusesPlanAndSubmittedQuantity) {
    AzureEvidence e;
    AzureRow a = usage_row("2026-03-01", "2", "Accepted");
    a.plan = "silver";
    AzureRow b = usage_row("2026-03-01", "3", "Rejected");
    b.plan = "gold";
    ASSERT_TRUE(e.add(a).ok());
    ASSERT_TRUE(e.add(b).ok());
    ASSERT_TRUE(e.add(a).ok());
    const auto& total = e.totals().begin()->second;
    EXPECT_EQ(total.quantity, Decimal::from_integer(7));
    EXPECT_EQ(total.submitted_quantity, Decimal::from_integer(7));
    EXPECT_EQ(total.statuses, (std::vector<std::string>{"Accepted", "Rejected"}));
    EXPECT_EQ(total.plan, "silver");
    EXPECT_EQ(total.rows, 3u);
}

}  // namespace
}  // namespace meterbridge::recon

namespace meterbridge::recon {
namespace {

// The worked example of docs/reconciliation.md, word for word.
TEST(ReconDocs, WorkedExample) {
    const std::vector<LedgerEvent> events = {
        accepted(41, "2026-03-01T10:00:00Z", 1000, {{"int-1", "bill-A", 600}, {"int-1", "bill-B", 400}}),
        unresolved(42, "2026-03-01T11:00:00Z", 600)};
    const Options o = options({Source::UsageEvents, Source::EaCharges});
    Report report = run(events,
                        {usage_row("2026-03-01", "1600"),
                         billing_row(Source::EaCharges, "AAAA0000-1111-2222-3333-444455556666", "2026-03-01", "1600")},
                        o);
    ASSERT_EQ(report.rows.size(), 2u);
    for (const Row& row : report.rows) {
        EXPECT_EQ(row.outcome, Outcome::Matched);
        EXPECT_EQ(row.note, "Azure 1,600 = accepted 1,000 + event #42 600 (unresolved events recorded at Azure)");
    }
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::Recorded);
    EXPECT_EQ(report.proposals.at(0).reason, "usage_events 2026-03-01: Azure 1,600 = accepted 1,000 + this event 600");
    EXPECT_EQ(report.proposals.at(0).evidence.at(1).arithmetic,
              "ea_charges 2026-03-01: Azure 1,600 = accepted 1,000 + this event 600");
    ASSERT_EQ(report.bills.size(), 4u);  // bills A and B, two sources each
    EXPECT_EQ(report.bills[0].units.at(Outcome::Matched), 600);

    report = run(events,
                 {usage_row("2026-03-01", "1600"), billing_row(Source::EaCharges, kSubscription, "2026-03-01", "1000")}, o);
    EXPECT_EQ(report.rows.at(0).source, Source::UsageEvents);
    EXPECT_EQ(report.rows.at(1).note, "Azure 1,000 = ours 1,000; the unresolved events are not recorded at Azure");
    EXPECT_EQ(report.proposals.at(0).evidence.at(1).verdict, Settlement::NotRecorded);
    EXPECT_EQ(report.proposals.at(0).verdict, Settlement::Undecidable);

    report = run(events, {usage_row("2026-03-01", "1300")}, options());
    EXPECT_EQ(only_row(report).outcome, Outcome::QuantityMismatch);
    EXPECT_EQ(only_row(report).note,
              "Azure 1,300, ours 1,000: Azure has more by 300; no combination of the unresolved events explains it");
}

}  // namespace
}  // namespace meterbridge::recon

namespace meterbridge::recon {
namespace {

// A large export is summed into one total per key: what the client streams
// through add() does not stay in memory.
TEST(ReconEvidence, HoldsOneTotalPerKeyHoweverManyRows) {
    auto names = NameMap::make({{kSubscription, kResource}});
    AzureEvidence e(std::move(*names));
    const char* days[] = {"2026-03-01", "2026-03-02", "2026-03-03"};
    for (int i = 0; i < 300000; ++i) {
        ASSERT_TRUE(e.add(billing_row(Source::PartnerBilling, kSubscription, days[i % 3], "0.001")).ok());
    }
    ASSERT_EQ(e.totals().size(), 3u);
    for (const auto& [key, total] : e.totals()) {
        EXPECT_EQ(total.quantity, Decimal::from_integer(100));  // 100 000 × 0.001, exactly
        EXPECT_EQ(total.rows, 100000u);
    }
}

}  // namespace
}  // namespace meterbridge::recon

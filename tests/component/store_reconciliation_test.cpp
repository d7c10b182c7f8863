// The reconciliation side of the SQLite store (SPEC §8, issue 16): the events
// a comparison reads, the runs and their exchanges, and settling unresolved
// events from evidence without ever sending a unit twice.
#include "meterbridge/store/store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "sqlite_store.hpp"
#include "support/store_test_support.hpp"

namespace meterbridge {
namespace {

using testing::at;
using testing::TempDir;

recon::Day day(const char* text) { return recon::parse_day(text).value(); }

class StoreReconciliation : public ::testing::Test {
protected:
    StoreReconciliation() {
        policy_.mode = SlotPolicy::Mode::Eager;
        policy_.flush_delay = seconds{0};
    }

    // Gives `bill` a target of `units` on `dimension` of resource "sub-1".
    void target(const std::string& bill, const std::string& dimension, std::int64_t units) {
        const std::vector<UsageTarget> targets{
            UsageTarget{"int-1", bill, "sub-1", "gold", dimension, units, Decimal::from_integer(units)}};
        ASSERT_TRUE(store_->recalculate("int-1", bill, targets, now_, policy_).ok());
    }

    std::vector<std::int64_t> slot() {
        auto ids = store_->plan_slots(now_, policy_);
        EXPECT_TRUE(ids.ok());
        return ids.ok() ? ids.value() : std::vector<std::int64_t>{};
    }

    // One event for `units` of `bill` on `dimension`, in the slot of now_.
    std::int64_t one_event(const std::string& bill, const std::string& dimension, std::int64_t units) {
        target(bill, dimension, units);
        const auto ids = slot();
        EXPECT_EQ(ids.size(), 1u);
        return ids.empty() ? 0 : ids[0];
    }

    void send(std::int64_t id) {
        const std::vector<std::int64_t> batch{id};
        ASSERT_TRUE(store_->mark_sending(batch, now_).ok());
    }

    void answer(std::int64_t id, EventDecision::Kind kind) {
        EventDecision d;
        d.kind = kind;
        if (kind == EventDecision::Kind::Accept) d.usage_event_id = "u-" + std::to_string(id);
        ASSERT_TRUE(store_->settle(id, d, now_, policy_).ok());
    }

    // An event of `units` on `dimension` of `bill`, sent at now_ (slot 10:00)
    // and left unresolved by the stale sweep at the end of Azure's window.
    std::int64_t unresolved_event(const std::string& bill, const std::string& dimension, std::int64_t units) {
        const std::int64_t id = one_event(bill, dimension, units);
        send(id);
        const Instant sent = now_;
        now_ = floor_hour(sent) + kAzureWindow - minutes{4};
        const auto stale = store_->handle_stale(now_, policy_);
        EXPECT_TRUE(stale.ok());
        EXPECT_EQ(event(id).state, EventState::Unresolved);
        return id;
    }

    KeyBalance balance(const std::string& bill, const std::string& dimension) {
        KeyBalance found;
        auto probe = sqlite().recalculate("int-1", bill, now_, [&](std::span<const KeyBalance> balances) {
            for (const auto& b : balances) {
                if (b.key.dimension == dimension) found = b;
            }
            return RecalculationPlan{};
        });
        EXPECT_TRUE(probe.ok());
        return found;
    }

    OutboxEvent event(std::int64_t id) { return store_->event(id).value(); }
    store::SqliteStore& sqlite() { return static_cast<store::SqliteStore&>(*store_); }

    std::unique_ptr<store::Store> store_ = store::open_sqlite_store(":memory:");
    Instant now_ = at("2026-01-01T10:20:00Z");
    SlotPolicy policy_;
};

// ------------------------------------------------------------ the events read

TEST_F(StoreReconciliation, EventsAreExactlyThoseAzureHoldsOrMayHoldInTheRangeWithTheirShares) {
    now_ = at("2025-12-31T23:10:00Z");  // before the range
    const auto before = one_event("b-before", "compute", 3);
    send(before);
    answer(before, EventDecision::Kind::Accept);

    now_ = at("2026-01-01T00:10:00Z");  // the range's first hour: in
    const auto first_hour = one_event("b-first", "compute", 4);
    send(first_hour);
    answer(first_hour, EventDecision::Kind::Accept);

    now_ = at("2026-01-01T01:10:00Z");
    const auto unresolved = unresolved_event("b-unresolved", "unresolved", 7);

    now_ = at("2026-01-02T00:30:00Z");  // the first hour after the range: out
    const auto after = one_event("b-after", "compute", 13);
    send(after);
    answer(after, EventDecision::Kind::Accept);

    now_ = at("2026-01-01T10:20:00Z");
    target("b-acc-1", "accepted", 50);
    target("b-acc-2", "accepted", 5);  // the same slot: one event, two shares
    target("b-maybe", "maybe", 6);
    target("b-sending", "sending", 8);
    target("b-planned", "planned", 9);
    target("b-rejected", "rejected", 10);
    target("b-expired", "expired", 11);
    target("b-conflict", "conflict", 12);
    const auto ids = slot();
    ASSERT_EQ(ids.size(), 7u);
    std::map<std::string, std::int64_t> by_dimension;
    for (const auto id : ids) by_dimension[event(id).request.dimension] = id;
    for (const char* d : {"accepted", "maybe", "sending", "rejected", "expired", "conflict"}) send(by_dimension.at(d));
    answer(by_dimension.at("accepted"), EventDecision::Kind::Accept);
    const std::vector<std::int64_t> maybe{by_dimension.at("maybe")};
    ASSERT_TRUE(store_->record_unknown(maybe, now_).ok());  // the answer was lost: Azure may hold it
    answer(by_dimension.at("rejected"), EventDecision::Kind::Reject);
    answer(by_dimension.at("expired"), EventDecision::Kind::Expire);
    answer(by_dimension.at("conflict"), EventDecision::Kind::Conflict);

    const auto events = store_->reconciliation_events(at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"));
    ASSERT_TRUE(events.ok()) << events.error().message;
    ASSERT_EQ(events->size(), 4u);
    using State = recon::LedgerEvent::State;
    const recon::LedgerEvent& e0 = events->at(0);
    EXPECT_EQ(e0.id, first_hour);
    EXPECT_EQ(e0.state, State::Accepted);
    EXPECT_EQ(e0.effective_start, at("2026-01-01T00:00:00Z"));
    EXPECT_EQ(e0.quantity, 4);
    EXPECT_EQ(e0.resource_id, "sub-1");
    EXPECT_EQ(e0.dimension, "compute");
    ASSERT_EQ(e0.shares.size(), 1u);
    EXPECT_EQ(e0.shares[0].bill_id, "b-first");

    const recon::LedgerEvent& e1 = events->at(1);
    EXPECT_EQ(e1.id, unresolved);
    EXPECT_EQ(e1.state, State::Unresolved);
    EXPECT_EQ(e1.quantity, 7);

    const recon::LedgerEvent& e2 = events->at(2);
    EXPECT_EQ(e2.id, by_dimension.at("accepted"));
    EXPECT_EQ(e2.state, State::Accepted);
    EXPECT_EQ(e2.quantity, 55);
    ASSERT_EQ(e2.shares.size(), 2u);
    EXPECT_EQ(e2.shares[0].integration_id, "int-1");
    EXPECT_EQ(e2.shares[0].bill_id, "b-acc-1");
    EXPECT_EQ(e2.shares[0].units, 50);
    EXPECT_EQ(e2.shares[1].bill_id, "b-acc-2");
    EXPECT_EQ(e2.shares[1].units, 5);

    const recon::LedgerEvent& e3 = events->at(3);
    EXPECT_EQ(e3.id, by_dimension.at("maybe"));
    EXPECT_EQ(e3.state, State::Unresolved);
    EXPECT_EQ(e3.quantity, 6);

    // An empty range, and a range holding only the event before.
    EXPECT_TRUE(store_->reconciliation_events(at("2026-03-01T00:00:00Z"), at("2026-04-01T00:00:00Z"))->empty());
    const auto earlier = store_->reconciliation_events(at("2025-12-31T00:00:00Z"), at("2026-01-01T00:00:00Z"));
    ASSERT_EQ(earlier->size(), 1u);
    EXPECT_EQ(earlier->at(0).id, before);
}

TEST_F(StoreReconciliation, AMonthOfFiftyThousandEventsLoadsFromTheIndexInOneRead) {
    TempDir dir;
    const std::string path = dir.file("m.db");
    store::open_sqlite_store(path).reset();  // the schema
    constexpr int kMonth = 50'000;
    constexpr int kResources = 70;  // 50,000 events over the 744 hours of January
    {
        store::sqlite::Database db = store::sqlite::Database::open(path);
        store::sqlite::Transaction tx(db);
        const std::int64_t jan = store::to_ms(at("2026-01-01T00:00:00Z"));
        const std::int64_t feb = store::to_ms(at("2026-02-01T00:00:00Z"));
        // January, and as much again in February, which must not be read: 70
        // resources an hour; one event in ten unresolved, one in a hundred
        // planned (not Azure's); each with one bill's share of all its units.
        for (const std::int64_t start : {jan, feb}) {
            db.run("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
                   "INSERT INTO events (resource_id, plan_id, dimension, quantity, effective_start, state, "
                   "next_attempt_at, created_at, updated_at) "
                   "SELECT 'sub-' || (i % ?2), 'gold', 'compute', i % 7 + 1, ?3 + (i / ?2) * 3600000, "
                   "CASE WHEN i % 100 = 0 THEN 'planned' WHEN i % 10 = 0 THEN 'unresolved' ELSE 'accepted' END, "
                   "?3, ?3, ?3 FROM n",
                   std::int64_t{kMonth}, std::int64_t{kResources}, start);
        }
        db.run("INSERT INTO event_shares (event_id, integration_id, bill_id, resource_id, dimension, units) "
               "SELECT id, 'int-1', 'bill-' || (id % 1000), resource_id, dimension, quantity FROM events");
        tx.commit();
            // The plan of the store's query: a range of the slot index, never a scan of events.
        auto plan = db.prepare(
            "EXPLAIN QUERY PLAN SELECT e.id FROM events e INDEXED BY events_effective_start "
            "LEFT JOIN event_shares s ON s.event_id = e.id AND s.units > 0 "
            "WHERE e.effective_start >= ?1 AND e.effective_start < ?2 "
            "AND (e.state IN ('accepted', 'unresolved') OR (e.state = 'sending' AND e.maybe_sent = 1)) "
            "ORDER BY e.id, s.integration_id, s.bill_id");
        std::string steps;
        while (plan.step()) steps += plan.text(3) + "\n";
        EXPECT_NE(steps.find("USING INDEX events_effective_start"), std::string::npos) << steps;
        EXPECT_EQ(steps.find("SCAN e\n"), std::string::npos) << steps;
    }
    auto store = store::open_sqlite_store(path);
    const auto started = std::chrono::steady_clock::now();
    const auto events = store->reconciliation_events(at("2026-01-01T00:00:00Z"), at("2026-02-01T00:00:00Z"));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->size(), static_cast<std::size_t>(kMonth - kMonth / 100));
    std::int64_t units = 0;
    std::size_t unresolved = 0;
    for (const auto& e : *events) {
        ASSERT_EQ(e.shares.size(), 1u);
        ASSERT_EQ(e.shares[0].units, e.quantity);
        ASSERT_LT(e.effective_start, at("2026-02-01T00:00:00Z"));
        units += e.quantity;
        if (e.state == recon::LedgerEvent::State::Unresolved) ++unresolved;
    }
    EXPECT_EQ(unresolved, static_cast<std::size_t>(kMonth / 10 - kMonth / 100));
    std::int64_t expected_units = 0;
    for (int i = 0; i < kMonth; ++i) {
        if (i % 100 != 0) expected_units += i % 7 + 1;
    }
    EXPECT_EQ(units, expected_units);
    std::printf("[ figure ] reconciliation_events: %zu events of a month (of %d stored) in %lld ms\n", events->size(),
                2 * kMonth, static_cast<long long>(took.count()));
    EXPECT_LT(took.count(), 5000);  // about 100 ms on the CI machine; a scan of all events would still pass, the plan check above would not
}

// ------------------------------------------------------------------ the runs

TEST_F(StoreReconciliation, ARunIsCreatedRunningThenFinishedWithItsTotalsReportAndFinalDays) {
    const auto id = store_->create_reconciliation(day("2026-01-01"), day("2026-01-31"),
                                                  {"usage_events", "partner_billing"}, "api", now_);
    ASSERT_TRUE(id.ok()) << id.error().message;
    auto run = store_->get_reconciliation(*id);
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->status, store::ReconciliationStatus::Running);
    EXPECT_EQ(run->from_day, day("2026-01-01"));
    EXPECT_EQ(run->to_day, day("2026-01-31"));
    EXPECT_EQ(run->sources, (std::vector<std::string>{"usage_events", "partner_billing"}));
    EXPECT_EQ(run->trigger, "api");
    EXPECT_EQ(run->started_at, now_);
    EXPECT_FALSE(run->finished_at);
    EXPECT_FALSE(run->report_json);
    EXPECT_TRUE(run->totals.empty());

    store::ReconciliationFinish finish;
    finish.report_json = R"({"rows":[{"outcome":"matched","azure":"1600.5"}]})";
    finish.totals = {{recon::Outcome::Matched, 40}, {recon::Outcome::UnknownToUs, 2}, {recon::Outcome::Pending, 0}};
    finish.final_through = {{"usage_events", day("2026-01-30")}, {"partner_billing", day("2026-01-29")}};
    const Instant done_at = now_ + minutes{3};
    ASSERT_TRUE(store_->finish_reconciliation(*id, finish, done_at).ok());
    run = store_->get_reconciliation(*id);
    EXPECT_EQ(run->status, store::ReconciliationStatus::Done);
    EXPECT_EQ(run->finished_at, done_at);
    EXPECT_EQ(run->report_json, finish.report_json);  // the text as given: numbers keep their digits
    EXPECT_EQ(run->totals, finish.totals);
    EXPECT_EQ(run->final_through, finish.final_through);
    EXPECT_EQ(store_->latest_final_day("usage_events").value(), day("2026-01-30"));
    EXPECT_EQ(store_->latest_final_day("partner_billing").value(), day("2026-01-29"));
    EXPECT_FALSE(store_->latest_final_day("ea_charges").value());

    // Finished once: never again.
    const Status again = store_->finish_reconciliation(*id, finish, done_at);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, store::kInvalidState);
    EXPECT_EQ(store_->finish_reconciliation(999, finish, done_at).error().code, store::kNotFound);
    EXPECT_EQ(store_->get_reconciliation(999).error().code, store::kNotFound);
}

TEST_F(StoreReconciliation, BadRunsAreRefusedNamingTheField) {
    const auto bad_source = store_->create_reconciliation(day("2026-01-01"), day("2026-01-02"),
                                                          {"usage_events", "usage"}, "api", now_);
    ASSERT_FALSE(bad_source.ok());
    EXPECT_EQ(bad_source.error().code, store::kInvalidField);
    EXPECT_EQ(bad_source.error().field, "sources[1]");
    EXPECT_EQ(store_->create_reconciliation(day("2026-01-01"), day("2026-01-02"), {}, "api", now_).error().field,
              "sources");
    EXPECT_EQ(store_->create_reconciliation(day("2026-01-01"), day("2026-01-02"), {"ea_charges"}, "cron", now_)
                  .error()
                  .field,
              "trigger");
    EXPECT_EQ(store_->create_reconciliation(day("2026-01-03"), day("2026-01-02"), {"ea_charges"}, "daily", now_)
                  .error()
                  .field,
              "from");
    EXPECT_TRUE(store_->list_reconciliations({})->empty());

    const auto id = store_->create_reconciliation(day("2026-01-01"), day("2026-01-02"), {"ea_charges"}, "cli", now_);
    ASSERT_TRUE(id.ok());
    store::ReconciliationFinish finish;
    finish.status = store::ReconciliationStatus::Running;
    EXPECT_EQ(store_->finish_reconciliation(*id, finish, now_).error().field, "status");
    finish.status = store::ReconciliationStatus::Failed;
    EXPECT_EQ(store_->finish_reconciliation(*id, finish, now_).error().field, "error");
    finish.status = store::ReconciliationStatus::Done;
    finish.final_through = {{"usage_events", day("2026-01-01")}};  // not a source of the run
    EXPECT_EQ(store_->finish_reconciliation(*id, finish, now_).error().field, "final_through");
    finish.final_through = {{"ea_charges", day("2026-01-03")}};  // not a day of the run
    EXPECT_EQ(store_->finish_reconciliation(*id, finish, now_).error().field, "final_through");
    // Nothing of the refused finishes was kept.
    EXPECT_EQ(store_->get_reconciliation(*id)->status, store::ReconciliationStatus::Running);
    EXPECT_FALSE(store_->latest_final_day("ea_charges").value());
}

TEST_F(StoreReconciliation, ListsAreNewestFirstWithoutReportsAndFilteredByOverlappingDays) {
    store::ReconciliationFinish done;
    done.report_json = R"({"rows":[]})";
    const auto jan = store_->create_reconciliation(day("2026-01-01"), day("2026-01-31"), {"usage_events"}, "daily", now_);
    ASSERT_TRUE(store_->finish_reconciliation(*jan, done, now_).ok());
    const auto feb = store_->create_reconciliation(day("2026-02-01"), day("2026-02-28"), {"usage_events"}, "api", now_);
    const auto mid = store_->create_reconciliation(day("2026-01-20"), day("2026-02-05"), {"ea_charges"}, "api", now_);

    const auto all = store_->list_reconciliations({});
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ(all->at(0).id, *mid);
    EXPECT_EQ(all->at(1).id, *feb);
    EXPECT_EQ(all->at(2).id, *jan);
    for (const auto& r : *all) EXPECT_FALSE(r.report_json) << r.id;
    EXPECT_EQ(all->at(2).status, store::ReconciliationStatus::Done);

    const auto overlapping = [&](const char* from, const char* to) {
        store::ReconciliationQuery q;
        if (from != nullptr) q.from = day(from);
        if (to != nullptr) q.to = day(to);
        std::vector<std::int64_t> ids;
        const auto runs = store_->list_reconciliations(q);
        EXPECT_TRUE(runs.ok());
        if (runs.ok()) {
            for (const auto& r : *runs) ids.push_back(r.id);
        }
        return ids;
    };
    EXPECT_EQ(overlapping("2026-01-31", "2026-01-31"), (std::vector<std::int64_t>{*mid, *jan}));
    EXPECT_EQ(overlapping("2026-02-06", nullptr), (std::vector<std::int64_t>{*feb}));
    EXPECT_EQ(overlapping(nullptr, "2026-01-19"), (std::vector<std::int64_t>{*jan}));
    EXPECT_TRUE(overlapping("2026-03-01", "2026-03-31").empty());
    store::ReconciliationQuery one;
    one.limit = 1;
    EXPECT_EQ(store_->list_reconciliations(one)->size(), 1u);
}

TEST_F(StoreReconciliation, TheDailyRunStartsAfterTheLastDayADoneRunFoundFinal) {
    const auto first = store_->create_reconciliation(day("2026-01-01"), day("2026-01-10"),
                                                     {"usage_events", "ea_charges"}, "daily", now_);
    store::ReconciliationFinish finish;
    finish.final_through = {{"usage_events", day("2026-01-09")}, {"ea_charges", day("2026-01-07")}};
    ASSERT_TRUE(store_->finish_reconciliation(*first, finish, now_).ok());
    // The next day's run: still pending days are compared again, and later.
    const auto second = store_->create_reconciliation(day("2026-01-08"), day("2026-01-11"),
                                                      {"usage_events", "ea_charges"}, "daily", now_);
    finish.final_through = {{"usage_events", day("2026-01-10")}, {"ea_charges", day("2026-01-08")}};
    ASSERT_TRUE(store_->finish_reconciliation(*second, finish, now_).ok());
    // A failed run proves nothing final, whatever it was given.
    const auto failed = store_->create_reconciliation(day("2026-01-09"), day("2026-01-12"), {"usage_events"},
                                                      "daily", now_);
    finish.status = store::ReconciliationStatus::Failed;
    finish.error = "partner billing export failed";
    finish.final_through = {{"usage_events", day("2026-01-12")}};
    ASSERT_TRUE(store_->finish_reconciliation(*failed, finish, now_).ok());
    EXPECT_EQ(store_->latest_final_day("usage_events").value(), day("2026-01-10"));
    EXPECT_EQ(store_->latest_final_day("ea_charges").value(), day("2026-01-08"));
    const auto record = store_->get_reconciliation(*failed);
    EXPECT_EQ(record->status, store::ReconciliationStatus::Failed);
    EXPECT_EQ(record->error, "partner billing export failed");
    EXPECT_TRUE(record->final_through.empty());
}

TEST(StoreReconciliationRuns, ARunCutShortByTheDaemonsDeathIsFailedAsInterruptedAtTheNextStart) {
    TempDir dir;
    const std::string path = dir.file("m.db");
    const Instant now = at("2026-01-02T02:30:00Z");
    std::int64_t cut_short = 0;
    std::int64_t finished = 0;
    {
        auto store = store::open_sqlite_store(path);
        finished = store->create_reconciliation(day("2026-01-01"), day("2026-01-01"), {"usage_events"}, "daily", now)
                       .value();
        ASSERT_TRUE(store->finish_reconciliation(finished, store::ReconciliationFinish{}, now).ok());
        cut_short =
            store->create_reconciliation(day("2026-01-01"), day("2026-01-01"), {"usage_events"}, "api", now).value();
    }  // the daemon dies
    auto store = store::open_sqlite_store(path);
    const Instant restart = now + minutes{10};
    const auto failed = store->fail_interrupted_reconciliations(restart);
    ASSERT_TRUE(failed.ok());
    EXPECT_EQ(failed.value(), std::vector<std::int64_t>{cut_short});
    const auto record = store->get_reconciliation(cut_short);
    EXPECT_EQ(record->status, store::ReconciliationStatus::Failed);
    EXPECT_EQ(record->error, "interrupted");
    EXPECT_EQ(record->finished_at, restart);
    EXPECT_EQ(store->get_reconciliation(finished)->status, store::ReconciliationStatus::Done);
    // The orphaned worker, if any, can no longer finish it; a second start finds nothing.
    EXPECT_EQ(store->finish_reconciliation(cut_short, store::ReconciliationFinish{}, restart).error().code,
              store::kInvalidState);
    EXPECT_TRUE(store->fail_interrupted_reconciliations(restart)->empty());
}

TEST_F(StoreReconciliation, TheExchangesOfARunAreTaggedWithIt) {
    const auto id = store_->create_reconciliation(day("2026-01-01"), day("2026-01-02"), {"usage_events"}, "api", now_);
    const auto other = store_->create_reconciliation(day("2026-01-01"), day("2026-01-02"), {"usage_events"}, "api", now_);
    ExchangeRecord x;
    x.kind = ExchangeKind::Azure;
    x.method = "GET";
    x.url = "https://marketplaceapi.microsoft.com/api/usageEvents?usageStartDate=2026-01-01";
    x.status = 200;
    x.response_body = R"([{"usageDate":"2026-01-01T00:00:00Z","processedQuantity":1600.5}])";
    x.started = now_;
    store::ExchangeLinks tagged;
    tagged.reconciliation_id = *id;
    ASSERT_TRUE(store_->append_exchange(x, tagged).ok());
    x.url += "&continuationToken=2";
    x.started = now_ + seconds{1};
    ASSERT_TRUE(store_->append_exchange(x, tagged).ok());
    tagged.reconciliation_id = *other;
    ASSERT_TRUE(store_->append_exchange(x, tagged).ok());
    store_->record(x);  // a metering exchange: no run

    const auto exchanges = store_->reconciliation_exchanges(*id);
    ASSERT_TRUE(exchanges.ok());
    ASSERT_EQ(exchanges->size(), 2u);
    EXPECT_EQ(exchanges->at(0).record.started, now_);
    EXPECT_EQ(exchanges->at(0).record.response_body, x.response_body);
    EXPECT_EQ(exchanges->at(1).record.url, x.url);
    for (const auto& e : *exchanges) EXPECT_EQ(e.links.reconciliation_id, *id);
    EXPECT_EQ(store_->reconciliation_exchanges(*other)->size(), 1u);
    EXPECT_EQ(store_->reconciliation_exchanges(999).error().code, store::kNotFound);
    // Retention prunes them as any other exchange.
    ASSERT_TRUE(store_->prune(now_ + seconds{1}).ok());
    EXPECT_EQ(store_->reconciliation_exchanges(*id)->size(), 1u);
}

// --------------------------------------------------------------- settlements

TEST_F(StoreReconciliation, SettledAsRecordedAnUnresolvedEventIsAcceptedByEvidence) {
    const auto id = unresolved_event("b-1", "compute", 50);
    EXPECT_EQ(balance("b-1", "compute").in_flight, 50);
    const auto run = store_->create_reconciliation(day("2026-01-01"), day("2026-01-01"), {"usage_events"}, "daily", now_);
    store::EventSettlementRequest request;
    request.event_id = id;
    request.as = recon::Settlement::Recorded;
    request.settled_by = "auto";
    request.evidence = "usage_events 2026-01-01: Azure 50 = accepted 0 + this event 50";
    request.reconciliation_id = *run;
    ASSERT_TRUE(store_->settle_unresolved(request, now_, policy_).ok());

    const OutboxEvent e = event(id);
    EXPECT_EQ(e.state, EventState::Accepted);
    EXPECT_EQ(e.usage_event_id, "");  // Azure never answered: no id of its own
    EXPECT_EQ(e.error_code, "SettledRecorded");
    EXPECT_NE(e.error_message.find(request.evidence), std::string::npos);
    const KeyBalance b = balance("b-1", "compute");
    EXPECT_EQ(b.accepted, 50);
    EXPECT_EQ(b.in_flight, 0);
    EXPECT_EQ(pending_units(b), 0);
    EXPECT_EQ(b.target, 50);

    const auto settlement = store_->event_settlement(id);
    ASSERT_TRUE(settlement.ok());
    ASSERT_TRUE(settlement->has_value());
    const store::EventSettlementRecord& s = **settlement;
    EXPECT_EQ(s.as, recon::Settlement::Recorded);
    EXPECT_EQ(s.settled_by, "auto");
    EXPECT_EQ(s.evidence, request.evidence);
    EXPECT_EQ(s.reconciliation_id, *run);
    EXPECT_EQ(s.previous_state, EventState::Unresolved);
    EXPECT_EQ(s.new_state, EventState::Accepted);
    EXPECT_EQ(s.quantity, 50);
    EXPECT_EQ(s.settled_at, now_);

    // The reconciliation now reads it as accepted.
    const auto events = store_->reconciliation_events(at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"));
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->at(0).state, recon::LedgerEvent::State::Accepted);
}

TEST_F(StoreReconciliation, SettledAsNotRecordedItsUnitsArePendingAgainAndSentOnceInANewHour) {
    target("b-2", "compute", 5);  // a second bill in the same event
    const auto id = unresolved_event("b-1", "compute", 50);
    ASSERT_EQ(event(id).request.quantity, 55);
    const Instant settled_at = now_;
    ASSERT_TRUE(store_->settle_unresolved(id, recon::Settlement::NotRecorded, "operator checked the invoice", now_,
                                          policy_)
                    .ok());

    const OutboxEvent e = event(id);
    EXPECT_EQ(e.state, EventState::Expired);
    EXPECT_EQ(e.error_code, "SettledNotRecorded");
    // Conservation: every unit of the event is pending again, for its own bill,
    // from a current slot, and nothing is counted as in flight any more.
    const KeyBalance b1 = balance("b-1", "compute");
    const KeyBalance b2 = balance("b-2", "compute");
    EXPECT_EQ(pending_units(b1), 50);
    EXPECT_EQ(pending_units(b2), 5);
    EXPECT_EQ(pending_units(b1) + pending_units(b2), e.request.quantity);
    EXPECT_EQ(b1.in_flight + b2.in_flight, 0);
    EXPECT_EQ(b1.accepted + b2.accepted, 0);
    ASSERT_EQ(b1.pending.size(), 1u);
    EXPECT_EQ(b1.pending[0].slot_hint, floor_hour(settled_at));
    EXPECT_EQ(store_->event_settlement(id)->value().settled_by, "api");
    EXPECT_EQ(store_->event_settlement(id)->value().new_state, EventState::Expired);

    // No longer Azure's: the reconciliation leaves it out.
    EXPECT_TRUE(store_->reconciliation_events(at("2026-01-01T00:00:00Z"), at("2026-01-03T00:00:00Z"))->empty());
    // Sent again, once, in a new hour.
    const auto again = slot();
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(event(again[0]).request.quantity, 55);
    EXPECT_EQ(event(again[0]).request.effective_start_time, floor_hour(settled_at));
    EXPECT_TRUE(slot().empty());
}

TEST_F(StoreReconciliation, NotRecordedUnitsAreReconciledWithTargetsThatFellMeanwhile) {
    const auto id = unresolved_event("b-1", "compute", 50);
    target("b-1", "compute", 20);  // a credit while the event was unresolved: 30 over-reported
    ASSERT_EQ(balance("b-1", "compute").in_flight, 50);
    ASSERT_EQ(over_reported(balance("b-1", "compute")), 30);
    ASSERT_TRUE(store_->settle_unresolved(id, recon::Settlement::NotRecorded, "", now_, policy_).ok());
    const KeyBalance b = balance("b-1", "compute");
    // The 50 came back; reconciliation took 30 away: the target, no more.
    EXPECT_EQ(pending_units(b), 20);
    EXPECT_EQ(over_reported(b), 0);
    EXPECT_EQ(pending_units(b) + b.in_flight + b.accepted, b.target);
}

TEST_F(StoreReconciliation, ASecondSettlementAndALateAnswerAreRefusedSoNoUnitIsSentTwice) {
    const auto id = unresolved_event("b-1", "compute", 50);
    ASSERT_TRUE(store_->settle_unresolved(id, recon::Settlement::NotRecorded, "", now_, policy_).ok());
    for (const auto as : {recon::Settlement::NotRecorded, recon::Settlement::Recorded}) {
        const Status twice = store_->settle_unresolved(id, as, "", now_, policy_);
        ASSERT_FALSE(twice.ok());
        EXPECT_EQ(twice.error().code, store::kInvalidState);
        EXPECT_NE(twice.error().message.find("expired"), std::string::npos) << twice.error().message;
    }
    // Azure's answer arriving now cannot make the units count twice either.
    EventDecision late;
    late.kind = EventDecision::Kind::Accept;
    EXPECT_EQ(store_->settle(id, late, now_, policy_).error().code, store::kInvalidState);
    const KeyBalance b = balance("b-1", "compute");
    EXPECT_EQ(pending_units(b), 50);  // re-queued exactly once
    EXPECT_EQ(b.accepted, 0);
    EXPECT_EQ(store_->event_settlement(id)->value().as, recon::Settlement::NotRecorded);  // the first one stays
}

TEST_F(StoreReconciliation, OnlyUnresolvedOrPossiblySentEventsPastTheWindowAreSettled) {
    const auto planned = one_event("b-planned", "planned", 5);
    const auto in_window = one_event("b-window", "window", 6);
    send(in_window);
    const std::vector<std::int64_t> maybe{in_window};
    ASSERT_TRUE(store_->record_unknown(maybe, now_).ok());
    const auto first_attempt = one_event("b-first", "first", 7);
    send(first_attempt);
    const auto accepted = one_event("b-accepted", "accepted", 8);
    send(accepted);
    answer(accepted, EventDecision::Kind::Accept);

    for (const auto id : {planned, in_window, accepted}) {
        const Status refused = store_->settle_unresolved(id, recon::Settlement::Recorded, "", now_, policy_);
        ASSERT_FALSE(refused.ok()) << id;
        EXPECT_EQ(refused.error().code, store::kInvalidState) << id;
        EXPECT_FALSE(store_->event_settlement(id)->has_value());
    }
    EXPECT_EQ(store_->settle_unresolved(4242, recon::Settlement::Recorded, "", now_, policy_).error().code,
              store::kNotFound);
    EXPECT_EQ(store_->event_settlement(4242).error().code, store::kNotFound);
    const auto undecidable = store_->settle_unresolved(planned, recon::Settlement::Undecidable, "", now_, policy_);
    EXPECT_EQ(undecidable.error().field, "as");
    store::EventSettlementRequest by_whom{planned, recon::Settlement::Recorded, "cron", "", std::nullopt};
    EXPECT_EQ(store_->settle_unresolved(by_whom, now_, policy_).error().field, "settled_by");

    // Past Azure's window, before the stale sweep: a possibly sent event may be
    // settled; one whose only attempt is still in its first flight may not.
    now_ = floor_hour(now_) + kAzureWindow;
    EXPECT_EQ(store_->settle_unresolved(first_attempt, recon::Settlement::Recorded, "", now_, policy_).error().code,
              store::kInvalidState);
    ASSERT_TRUE(store_->settle_unresolved(in_window, recon::Settlement::Recorded, "", now_, policy_).ok());
    EXPECT_EQ(event(in_window).state, EventState::Accepted);
    EXPECT_EQ(store_->event_settlement(in_window)->value().previous_state, EventState::Sending);
    EXPECT_EQ(balance("b-window", "window").accepted, 6);
}

TEST_F(StoreReconciliation, ASettlementNamingAnUnknownRunIsRefusedAndChangesNothing) {
    const auto id = unresolved_event("b-1", "compute", 50);
    store::EventSettlementRequest request{id, recon::Settlement::NotRecorded, "auto", "", 777};  // no such run
    const Status refused = store_->settle_unresolved(request, now_, policy_);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().field, "reconciliation_id");
    EXPECT_EQ(event(id).state, EventState::Unresolved);
    const KeyBalance b = balance("b-1", "compute");
    EXPECT_EQ(pending_units(b), 0);
    EXPECT_EQ(b.in_flight, 50);
    EXPECT_FALSE(store_->event_settlement(id)->has_value());
}

}  // namespace
}  // namespace meterbridge

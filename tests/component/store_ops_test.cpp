// What the ops API reads from the SQLite store (SPEC §5): integration runs
// with every payload exchanged, reported usage in m3ter's shape with paging,
// bill detail, events, metrics; and retention pruning of the exchange log.
#include "meterbridge/store/store.hpp"

#include <gtest/gtest.h>

#include <map>

#include "support/store_test_support.hpp"

namespace meterbridge {
namespace {

using testing::at;

class StoreOps : public ::testing::Test {
protected:
    StoreOps() {
        policy_.mode = SlotPolicy::Mode::Eager;
        policy_.flush_delay = seconds{0};
    }

    // A stored bill version of `account`, as the webhook intake leaves it.
    std::int64_t bill(const std::string& id, const std::string& account, const char* when = "2026-01-01T10:00:00Z") {
        store::Delivery d;
        d.body = R"({"id":")" + id + R"("})";
        d.remote_addr = "10.0.0.1";
        d.received_at = at(when);
        d.kind = BillEventKind::Updated;
        Bill b;
        b.id = id;
        b.version = 1;
        b.account_id = account;
        b.currency = "USD";
        d.bill = b;
        d.bill_json = d.body;
        const auto receipt = store_->record_delivery(d);
        EXPECT_TRUE(receipt.ok());
        return receipt->bill_version_id;
    }

    // Sets the target of one key; the bill's other keys keep theirs (a bill
    // version carries every target of the bill).
    void queue(const std::string& integration, const std::string& bill_id, const std::string& resource,
               const std::string& dimension, std::int64_t units) {
        targets_[{integration, bill_id}][{resource, dimension}] = units;
        std::vector<UsageTarget> targets;
        for (const auto& [key, n] : targets_[{integration, bill_id}]) {
            targets.push_back(UsageTarget{integration, bill_id, key.first, "gold", key.second, n, Decimal::from_integer(n)});
        }
        ASSERT_TRUE(store_->recalculate(integration, bill_id, targets, now_, policy_).ok());
    }

    // Slots everything queued and answers every event with `kind`.
    std::vector<std::int64_t> send_all(EventDecision::Kind kind) {
        const auto ids = store_->plan_slots(now_, policy_);
        EXPECT_TRUE(ids.ok());
        EXPECT_TRUE(store_->mark_sending(ids.value(), now_).ok());
        for (const auto id : ids.value()) {
            EventDecision d;
            d.kind = kind;
            d.usage_event_id = "u-" + std::to_string(id);
            if (kind != EventDecision::Kind::Accept) d.error_code = "InvalidDimension";
            EXPECT_TRUE(store_->settle(id, d, now_, policy_).ok());
        }
        return ids.value();
    }

    static ExchangeRecord exchange(ExchangeKind kind, int status, const char* when) {
        ExchangeRecord x;
        x.kind = kind;
        x.method = "POST";
        x.url = "https://marketplaceapi.microsoft.com/api/batchUsageEvent?api-version=2018-08-31";
        x.request_headers = {{"Authorization", "Bearer [redacted]"}, {"x-ms-requestid", "r-1"}};
        x.request_body = R"({"request":[]})";
        x.status = status;
        x.response_body = R"({"result":[]})";
        x.request_id = "r-1";
        x.correlation_id = "c-1";
        x.started = at(when);
        x.duration = Duration{42};
        return x;
    }

    std::unique_ptr<store::Store> store_ = store::open_sqlite_store(":memory:");
    Instant now_ = at("2026-01-01T10:20:00Z");
    SlotPolicy policy_;
    std::map<std::pair<std::string, std::string>, std::map<std::pair<std::string, std::string>, std::int64_t>> targets_;
};

// Issue 17: 10,000 runs of an integration listing 10,000 accounts wrote its
// 150 KB config 10,000 times. Each distinct config is stored once now.
TEST_F(StoreOps, AConfigSnapshotIsStoredOnceHoweverManyRunsRecordIt) {
    testing::TempDir dir;
    const std::string path = (dir.path() / "runs.db").string();
    store_ = store::open_sqlite_store(path);
    const std::string big = R"({"id":"int-1","account_ids":[")" + std::string(150000, 'a') + R"("]})";
    std::vector<std::int64_t> runs;
    for (int i = 0; i < 4; ++i) {
        store::IntegrationRunRecord run;
        run.bill_version_id = bill("b-" + std::to_string(i), "acc-1");
        run.integration_id = "int-1";
        run.config_snapshot = i == 3 ? std::string(R"({"id":"int-1"})") : big;
        run.started_at = run.finished_at = now_;
        runs.push_back(store_->record_integration_run(run).value());
    }
    EXPECT_EQ(testing::sql_int(path, "SELECT COUNT(*) FROM config_snapshots"), 2);
    EXPECT_LT(testing::sql_int(path, "SELECT SUM(length(config_snapshot)) FROM integration_runs"), 1);
    EXPECT_EQ(store_->integration_run(runs[0])->run.config_snapshot, big);
    EXPECT_EQ(store_->integration_run(runs[2])->run.config_snapshot, big);
    EXPECT_EQ(store_->integration_run(runs[3])->run.config_snapshot, R"({"id":"int-1"})");
}

TEST_F(StoreOps, IntegrationRunKeepsItsConfigHeldItemsAndEveryPayload) {
    const auto version = bill("b-1", "acc-1");
    store::IntegrationRunRecord run;
    run.bill_version_id = version;
    run.integration_id = "int-1";
    run.config_snapshot = R"({"id":"int-1","unit_price":"0.01"})";
    run.targets = {UsageTarget{"int-1", "b-1", "sub-1", "gold", "compute", 999, Decimal::parse("9.985").value()}};
    run.held = {HeldLineItem{"int-1", "b-1", 2, "li-3", HoldReason::UnmappedProduct, "no mapping for p-9",
                             Decimal::parse("1.50").value()}};
    run.started_at = at("2026-01-01T10:20:00Z");
    run.finished_at = at("2026-01-01T10:20:01Z");
    const auto run_id = store_->record_integration_run(run);
    ASSERT_TRUE(run_id.ok());
    queue("int-1", "b-1", "sub-1", "compute", 999);
    const auto events = send_all(EventDecision::Kind::Accept);

    // A token call tied to the run, the batch tied to its events, and an unrelated exchange.
    ASSERT_TRUE(store_->append_exchange(exchange(ExchangeKind::Token, 200, "2026-01-01T10:20:02Z"),
                                        store::ExchangeLinks{{run_id.value()}, {}, std::nullopt, "", std::nullopt})
                    .ok());
    auto linked = store::make_linked_exchange_log(*store_, store::ExchangeLinks{{}, events, std::nullopt, "c-1", std::nullopt});
    linked->record(exchange(ExchangeKind::Azure, 200, "2026-01-01T10:20:03Z"));
    store_->record(exchange(ExchangeKind::Azure, 500, "2026-01-01T10:20:04Z"));

    const auto detail = store_->integration_run(run_id.value());
    ASSERT_TRUE(detail.ok());
    EXPECT_EQ(detail->run.bill_id, "b-1");
    EXPECT_EQ(detail->run.account_id, "acc-1");
    EXPECT_EQ(detail->run.bill_version, 1);
    EXPECT_EQ(detail->run.config_snapshot, run.config_snapshot);
    ASSERT_EQ(detail->run.targets.size(), 1u);
    EXPECT_EQ(detail->run.targets[0].amount.to_string(), "9.985");
    ASSERT_EQ(detail->run.held.size(), 1u);
    EXPECT_EQ(detail->run.held[0].reason, HoldReason::UnmappedProduct);
    ASSERT_TRUE(detail->delivery.has_value());
    EXPECT_EQ(detail->delivery->body, R"({"id":"b-1"})");
    ASSERT_EQ(detail->exchanges.size(), 2u);
    EXPECT_EQ(detail->exchanges[0].record.kind, ExchangeKind::Token);
    EXPECT_EQ(detail->exchanges[1].record.request_body, R"({"request":[]})");
    EXPECT_EQ(detail->exchanges[1].record.request_headers.at(0).second, "Bearer [redacted]");
    EXPECT_EQ(detail->exchanges[1].record.duration, Duration{42});
    EXPECT_EQ(detail->exchanges[1].links.event_ids, events);
    EXPECT_EQ(detail->exchanges[1].links.batch_id, "c-1");
    EXPECT_EQ(detail->event_ids, events);
    EXPECT_EQ(store_->integration_run(999).error().code, store::kNotFound);

    // A later run of the same (integration, bill) takes the later exchanges.
    store::IntegrationRunRecord second = run;
    second.held.clear();
    second.started_at = at("2026-01-01T11:00:00Z");
    const auto second_id = store_->record_integration_run(second);
    ASSERT_TRUE(store_->append_exchange(exchange(ExchangeKind::Azure, 200, "2026-01-01T11:00:05Z"),
                                        store::ExchangeLinks{{}, events, std::nullopt, "c-2", std::nullopt})
                    .ok());
    EXPECT_EQ(store_->integration_run(run_id.value())->exchanges.size(), 2u);
    EXPECT_EQ(store_->integration_run(second_id.value())->exchanges.size(), 1u);
    // Held items are replaced per (integration, version): the second run held nothing.
    EXPECT_TRUE(store_->bill_detail("b-1")->held.empty());

    const auto metrics = store_->metrics();
    EXPECT_EQ(metrics->azure_http_status.at(200), 2);
    EXPECT_EQ(metrics->azure_http_status.at(500), 1);
    EXPECT_EQ(metrics->token_http_status.at(200), 1);
}

TEST_F(StoreOps, RunsAreListedNewestFirstWithFilters) {
    const auto v1 = bill("b-1", "acc-1");
    const auto v2 = bill("b-2", "acc-2");
    for (const auto& [version, when] : std::vector<std::pair<std::int64_t, const char*>>{
             {v1, "2026-01-01T10:00:00Z"}, {v2, "2026-01-01T11:00:00Z"}, {v1, "2026-01-01T12:00:00Z"}}) {
        store::IntegrationRunRecord run;
        run.bill_version_id = version;
        run.integration_id = "int-1";
        run.config_snapshot = "{}";
        run.skipped = SkipReason::AwaitingApproval;
        run.started_at = run.finished_at = at(when);
        ASSERT_TRUE(store_->record_integration_run(run).ok());
    }
    store::RunQuery all;
    const auto runs = store_->list_runs(all);
    ASSERT_EQ(runs->size(), 3u);
    EXPECT_EQ(runs->at(0).started_at, at("2026-01-01T12:00:00Z"));
    EXPECT_EQ(runs->at(0).skipped, SkipReason::AwaitingApproval);
    store::RunQuery by_bill;
    by_bill.bill_id = "b-1";
    EXPECT_EQ(store_->list_runs(by_bill)->size(), 2u);
    store::RunQuery by_account;
    by_account.account_id = "acc-2";
    EXPECT_EQ(store_->list_runs(by_account)->size(), 1u);
    store::RunQuery window;
    window.from = at("2026-01-01T10:30:00Z");
    window.to = at("2026-01-01T12:00:00Z");
    ASSERT_EQ(store_->list_runs(window)->size(), 1u);
    EXPECT_EQ(store_->list_runs(window)->at(0).bill_id, "b-2");
    store::IntegrationRunRecord orphan;
    orphan.bill_version_id = 999;
    EXPECT_EQ(store_->record_integration_run(orphan).error().code, store::kNotFound);
}

TEST_F(StoreOps, ReportedUsageShowsOnlyAcceptedUnitsPerBillAndPagesStably) {
    bill("b-1", "acc-1");
    bill("b-2", "acc-1");
    bill("b-3", "acc-2");
    queue("int-1", "b-1", "sub-1", "compute", 10);
    queue("int-1", "b-2", "sub-1", "compute", 5);  // shares the event with b-1
    queue("int-1", "b-3", "sub-3", "storage", 7);
    send_all(EventDecision::Kind::Accept);
    queue("int-1", "b-1", "sub-1", "storage", 3);
    send_all(EventDecision::Kind::Reject);  // never reported
    now_ = at("2026-01-01T11:10:00Z");
    queue("int-1", "b-1", "sub-1", "compute", 12);  // +2 in the next hour
    send_all(EventDecision::Kind::Accept);

    store::ReportedUsageQuery query;
    const auto page = store_->reported_usage(query);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->data.size(), 3u);
    EXPECT_TRUE(page->next_token.empty());
    const auto& b1 = page->data[0];
    EXPECT_EQ(b1.account_id, "acc-1");
    EXPECT_EQ(b1.bill_id, "b-1");
    EXPECT_EQ(b1.integration_id, "int-1");
    EXPECT_EQ(b1.resource_id, "sub-1");
    ASSERT_EQ(b1.usage.size(), 1u);  // the rejected storage units are not there
    EXPECT_EQ(b1.usage.at("compute").at(at("2026-01-01T10:00:00Z")), 10);
    EXPECT_EQ(b1.usage.at("compute").at(at("2026-01-01T11:00:00Z")), 2);
    EXPECT_EQ(page->data[1].usage.at("compute").at(at("2026-01-01T10:00:00Z")), 5);

    query.account_id = "acc-2";
    EXPECT_EQ(store_->reported_usage(query)->data.at(0).bill_id, "b-3");
    query = {};
    query.bill_id = "b-1";
    query.from = at("2026-01-01T11:00:00Z");
    const auto late = store_->reported_usage(query);
    ASSERT_EQ(late->data.size(), 1u);
    EXPECT_EQ(late->data[0].usage.at("compute").size(), 1u);

    // Pages of one: every entry exactly once, in order.
    query = {};
    query.page_size = 1;
    std::vector<std::string> bills;
    for (int guard = 0; guard < 10; ++guard) {
        const auto p = store_->reported_usage(query);
        ASSERT_TRUE(p.ok());
        for (const auto& e : p->data) bills.push_back(e.bill_id);
        if (p->next_token.empty()) break;
        query.next_token = p->next_token;
    }
    EXPECT_EQ(bills, (std::vector<std::string>{"b-1", "b-2", "b-3"}));
    query.next_token = "zz";
    const auto bad = store_->reported_usage(query);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, store::kInvalidField);
    EXPECT_EQ(bad.error().field, "nextToken");
}

TEST_F(StoreOps, BillDetailShowsUnitsByPlaceHeldItemsAndErrors) {
    const auto version = bill("b-1", "acc-1");
    store::IntegrationRunRecord run;
    run.bill_version_id = version;
    run.integration_id = "int-1";
    run.config_snapshot = "{}";
    run.held = {HeldLineItem{"int-1", "b-1", 0, "", HoldReason::NoGroup, "no product", Decimal::parse("2").value()}};
    ASSERT_TRUE(store_->record_integration_run(run).ok());
    queue("int-1", "b-1", "sub-1", "compute", 10);
    send_all(EventDecision::Kind::Accept);
    queue("int-1", "b-1", "sub-1", "storage", 4);
    send_all(EventDecision::Kind::Reject);
    queue("int-1", "b-1", "sub-1", "compute", 6);  // 4 fewer than accepted: over-reported

    const auto detail = store_->bill_detail("b-1");
    ASSERT_TRUE(detail.ok());
    EXPECT_EQ(detail->account_id, "acc-1");
    EXPECT_FALSE(detail->deleted);
    ASSERT_EQ(detail->versions.size(), 1u);
    ASSERT_EQ(detail->keys.size(), 2u);
    const store::KeyUnits& compute = detail->keys[0];
    EXPECT_EQ(compute.key.dimension, "compute");
    EXPECT_EQ(compute.target, 6);
    EXPECT_EQ(compute.accepted, 10);
    EXPECT_EQ(compute.over_reported, 4);
    const store::KeyUnits& storage = detail->keys[1];
    EXPECT_EQ(storage.rejected, 4);
    EXPECT_EQ(storage.pending, 0);
    ASSERT_EQ(detail->held.size(), 1u);
    EXPECT_EQ(detail->held[0].amount.to_string(), "2");
    ASSERT_EQ(detail->errors.size(), 1u);
    EXPECT_EQ(detail->errors[0].state, EventState::Rejected);
    EXPECT_EQ(detail->errors[0].error_code, "InvalidDimension");
    EXPECT_EQ(detail->runs.size(), 1u);
    EXPECT_EQ(store_->bill_detail("nope").error().code, store::kNotFound);
    const auto metrics = store_->metrics();
    EXPECT_EQ(metrics->over_reported_units, 4);
    EXPECT_EQ(metrics->events_by_state.at("accepted"), 1);
    EXPECT_EQ(metrics->events_by_state.at("rejected"), 1);
}

TEST_F(StoreOps, EventsAreListedByStateAndSlotWithKeysetPaging) {
    bill("b-1", "acc-1");
    queue("int-1", "b-1", "sub-1", "compute", 10);
    queue("int-1", "b-1", "sub-2", "compute", 3);
    const auto accepted = send_all(EventDecision::Kind::Accept);
    now_ = at("2026-01-01T11:10:00Z");
    queue("int-1", "b-1", "sub-1", "compute", 15);
    const auto ids = store_->plan_slots(now_, policy_);
    ASSERT_EQ(ids->size(), 1u);

    store::EventQuery all;
    const auto events = store_->list_events(all);
    ASSERT_EQ(events->size(), 3u);
    EXPECT_EQ(events->at(0).event.shares.size(), 1u);
    EXPECT_EQ(events->at(0).created_at, at("2026-01-01T10:20:00Z"));
    store::EventQuery planned;
    planned.state = EventState::Planned;
    ASSERT_EQ(store_->list_events(planned)->size(), 1u);
    EXPECT_EQ(store_->list_events(planned)->at(0).event.request.quantity, 5);
    store::EventQuery window;
    window.to = at("2026-01-01T11:00:00Z");
    EXPECT_EQ(store_->list_events(window)->size(), 2u);
    store::EventQuery page;
    page.limit = 2;
    const auto first = store_->list_events(page);
    ASSERT_EQ(first->size(), 2u);
    page.after_id = first->back().event.id;
    ASSERT_EQ(store_->list_events(page)->size(), 1u);
    EXPECT_EQ(store_->list_events(page)->at(0).event.id, ids->at(0));

    const auto metrics = store_->metrics();
    EXPECT_EQ(metrics->events_by_state.at("planned"), 1);
    EXPECT_EQ(metrics->pending_units, 0);
}

TEST_F(StoreOps, MetricsCountPendingUnitsAndTheirAge) {
    bill("b-1", "acc-1");
    queue("int-1", "b-1", "sub-1", "compute", 10);
    now_ = at("2026-01-01T10:30:00Z");
    queue("int-1", "b-1", "sub-1", "storage", 4);
    const auto metrics = store_->metrics();
    ASSERT_TRUE(metrics.ok());
    EXPECT_EQ(metrics->pending_units, 14);
    EXPECT_EQ(metrics->pending_entries, 2);
    EXPECT_EQ(metrics->oldest_pending, at("2026-01-01T10:20:00Z"));
    EXPECT_EQ(metrics->unprocessed_bill_versions, 1);
    EXPECT_EQ(metrics->deliveries_by_result.at("new"), 1);
    EXPECT_TRUE(store_->writable().ok());
}

TEST_F(StoreOps, PruneDropsOldPayloadsButNeverTheLedger) {
    bill("b-old", "acc-1", "2025-01-01T00:00:00Z");
    const auto version = bill("b-new", "acc-1", "2026-01-01T10:00:00Z");
    queue("int-1", "b-old", "sub-1", "compute", 10);
    const auto events = send_all(EventDecision::Kind::Accept);
    store::IntegrationRunRecord run;
    run.bill_version_id = version;
    run.integration_id = "int-1";
    run.config_snapshot = "{}";
    const auto run_id = store_->record_integration_run(run);
    ASSERT_TRUE(store_->append_exchange(exchange(ExchangeKind::Azure, 200, "2025-01-01T00:00:01Z"),
                                        store::ExchangeLinks{{run_id.value()}, events, std::nullopt, "old", std::nullopt})
                    .ok());
    ASSERT_TRUE(store_->append_exchange(exchange(ExchangeKind::Azure, 200, "2026-01-01T10:00:01Z"), {}).ok());

    const auto pruned = store_->prune(at("2025-12-01T00:00:00Z"));
    ASSERT_TRUE(pruned.ok());
    EXPECT_EQ(pruned->exchanges_deleted, 1);
    EXPECT_EQ(pruned->delivery_bodies_cleared, 1);
    EXPECT_TRUE(store_->integration_run(run_id.value())->exchanges.empty());
    const auto versions = store_->bill_versions("b-old");
    ASSERT_EQ(versions->size(), 1u);
    const auto old_delivery = store_->delivery(versions->at(0).delivery_id);
    EXPECT_FALSE(old_delivery->body.has_value());
    EXPECT_EQ(old_delivery->result, store::DeliveryResult::New);
    EXPECT_FALSE(versions->at(0).bill_json.empty());  // the bill version itself stays
    EXPECT_EQ(store_->reported_usage({})->data.size(), 1u);  // and so does the ledger
    EXPECT_EQ(store_->metrics()->azure_http_status.at(200), 1);
    EXPECT_EQ(store_->prune(at("2025-12-01T00:00:00Z"))->delivery_bodies_cleared, 0);
}

}  // namespace
}  // namespace meterbridge

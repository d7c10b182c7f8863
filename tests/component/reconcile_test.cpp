// The reconciliation room without sockets: its config section, one run over
// fake sources, the service's stored runs, daily runs and auto-settlement on
// an in-memory store, and the report's views.
#include "reconcile/reconciler.hpp"

#include <gtest/gtest.h>

#include "meterbridge/core/dispatch.hpp"
#include "meterbridge/net/clocks.hpp"
#include "reconcile/report_views.hpp"

namespace meterbridge::app {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

Instant at(const char* text) { return parse_iso8601(text).value(); }
recon::Day day(const char* text) { return recon::parse_day(text).value(); }

class NoSecrets final : public SecretSource {
public:
    std::optional<std::string> env(const std::string&) const override { return std::string("ea-key"); }
    std::optional<std::string> file(const std::string&) const override { return std::nullopt; }
};

ReconciliationConfig parse(const Json& document) {
    ConfigWarnings warnings;
    return parse_reconciliation_config(ConfigSection(document, "", {"reconciliation"}), NoSecrets{}, warnings);
}

std::string config_error(const Json& document) {
    try {
        parse(document);
    } catch (const ConfigError& error) {
        return error.key() + ": " + error.what();
    }
    return "no error";
}

TEST(ReconcileConfig, DefaultsAndEveryKey) {
    const ReconciliationConfig defaults = parse(Json::object());
    EXPECT_EQ(defaults.sources, std::vector<recon::Source>{recon::Source::UsageEvents});
    EXPECT_FALSE(defaults.auto_settle);
    EXPECT_EQ(defaults.daily_at, hours{2} + minutes{30});

    const auto full = parse(Json::parse(R"({"reconciliation":{
        "sources":["usage_events","ea_charges"],"auto_settle":true,"daily_at":"23:05","lookback_days":3,
        "subscriptions":{"AZ-1":"res-1"},"processing_delay_hours":{"ea_charges":96},
        "ea_charges":{"enrollment":"12345","api_key":"env:EA"}}})"));
    EXPECT_TRUE(full.uses(recon::Source::EaCharges));
    EXPECT_FALSE(full.uses(recon::Source::PartnerBilling));
    EXPECT_TRUE(full.auto_settle);
    EXPECT_EQ(full.daily_at, hours{23} + minutes{5});
    EXPECT_EQ(full.lookback_days, 3);
    EXPECT_EQ(full.processing_delay.at(recon::Source::EaCharges), hours{96});
    EXPECT_EQ(full.ea_charges.api_key->value(), "ea-key");
    EXPECT_EQ(dump_exact(to_json(full)["ea_charges"]["api_key"]), "\"***\"");
    EXPECT_TRUE(parse(Json::parse(R"({"reconciliation":{"daily_at":null}})")).daily_at == std::nullopt);
}

TEST(ReconcileConfig, ErrorsNameTheKey) {
    EXPECT_EQ(config_error(Json::parse(R"({"reconciliation":{"sources":["usage_event"]}})")).substr(0, 25),
              "reconciliation.sources[0]");
    EXPECT_EQ(config_error(Json::parse(R"({"reconciliation":{"daily_at":"2:30"}})")).substr(0, 23),
              "reconciliation.daily_at");
    EXPECT_EQ(config_error(Json::parse(R"({"reconciliation":{"dayly_at":"02:30"}})")),
              "reconciliation.dayly_at: unknown key (did you mean 'daily_at'?)");
    EXPECT_EQ(config_error(Json::parse(R"({"reconciliation":{"ea_charges":{"enrollment":"12a"}}})")).substr(0, 36),
              "reconciliation.ea_charges.enrollment");
    EXPECT_EQ(config_error(Json::parse(R"({"reconciliation":{"subscriptions":{"az":""}}})")).substr(0, 31),
              "reconciliation.subscriptions.az");
}

recon::AzureRow usage_row(const char* resource, const char* dimension, const char* date, const char* quantity) {
    recon::AzureRow row;
    row.source = recon::Source::UsageEvents;
    row.key = {resource, dimension, day(date)};
    row.quantity = Decimal::parse(quantity).value();
    row.status = "Accepted";
    return row;
}

TEST(ReconcileRun, ARunComparesTheSourcesRowsWithTheLedgerAndNamesAFailingSource) {
    ReconcileDeps deps;
    deps.sources[recon::Source::UsageEvents] = [](recon::Day, recon::Day, const RowSink& sink, ExchangeLog*) {
        for (const auto& row : {usage_row("r1", "d1", "2026-03-01", "10"), usage_row("r1", "d2", "2026-03-01", "4")}) {
            if (auto added = sink(row); !added) return added;
        }
        return Status(Ok{});
    };
    deps.ledger = [](Instant from, Instant to) -> Result<std::vector<recon::LedgerEvent>> {
        EXPECT_EQ(from, at("2026-03-01T00:00:00Z"));
        EXPECT_EQ(to, at("2026-03-02T00:00:00Z"));
        recon::LedgerEvent accepted;
        accepted.id = 1;
        accepted.resource_id = "r1";
        accepted.dimension = "d1";
        accepted.effective_start = at("2026-03-01T10:00:00Z");
        accepted.quantity = 10;
        accepted.shares = {{"int-1", "bill-1", 10}};
        return std::vector<recon::LedgerEvent>{accepted};
    };
    const ReconcileRequest request{day("2026-03-01"), day("2026-03-01"), {recon::Source::UsageEvents}};
    auto report = run_reconciliation(request, deps, at("2026-03-05T00:00:00Z"));
    ASSERT_TRUE(report.ok()) << report.error().message;
    ASSERT_EQ(report->rows.size(), 2U);
    EXPECT_EQ(report->rows[0].outcome, recon::Outcome::Matched);
    EXPECT_EQ(report->rows[1].outcome, recon::Outcome::UnknownToUs);  // Azure bills 4 units of d2 we never sent
    EXPECT_TRUE(report->has_discrepancies());

    deps.sources[recon::Source::UsageEvents] = [](recon::Day, recon::Day, const RowSink&, ExchangeLog*) {
        return Status(make_error("azure_error", "HTTP 403 Forbidden"));
    };
    const auto failed = run_reconciliation(request, deps, at("2026-03-05T00:00:00Z"));
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().message, "usage_events: HTTP 403 Forbidden");
    const ReconcileRequest unknown{day("2026-03-01"), day("2026-03-01"), {recon::Source::EaCharges}};
    EXPECT_EQ(run_reconciliation(unknown, deps, at("2026-03-05T00:00:00Z")).error().field, "sources");
}

class ReconcilerTest : public ::testing::Test {
protected:
    ReconcilerTest() {
        policy_.mode = SlotPolicy::Mode::Eager;
        policy_.flush_delay = std::chrono::seconds{0};
        clock_.set(at("2026-03-01T10:20:00Z"));
    }

    // An event of `units`, sent and left unresolved by the end of Azure's window.
    std::int64_t unresolved_event(const std::string& bill, const std::string& dimension, std::int64_t units) {
        const std::vector<UsageTarget> targets{
            UsageTarget{"int-1", bill, "res-1", "gold", dimension, units, Decimal::from_integer(units)}};
        EXPECT_TRUE(store_->recalculate("int-1", bill, targets, clock_.now(), policy_).ok());
        const auto ids = store_->plan_slots(clock_.now(), policy_).value();
        EXPECT_EQ(ids.size(), 1U);
        EXPECT_TRUE(store_->mark_sending(ids, clock_.now()).ok());
        clock_.set(floor_hour(clock_.now()) + kAzureWindow - minutes{4});
        EXPECT_TRUE(store_->handle_stale(clock_.now(), policy_).ok());
        return ids.at(0);
    }

    std::unique_ptr<Reconciler> reconciler(std::vector<recon::AzureRow> rows) {
        return std::make_unique<Reconciler>(Reconciler::Deps{
            *store_, config_, clock_,
            {{recon::Source::UsageEvents,
              [rows](recon::Day, recon::Day, const RowSink& sink, ExchangeLog*) {
                  for (const auto& row : rows) {
                      if (auto added = sink(row); !added) return added;
                  }
                  return Status(Ok{});
              }}},
            policy_, [this] { ++wakes_; }});
    }

    std::unique_ptr<store::Store> store_ = store::open_sqlite_store(":memory:");
    net::SettableClock clock_;
    SlotPolicy policy_;
    ReconciliationConfig config_;
    int wakes_ = 0;
};

TEST_F(ReconcilerTest, ARunIsStoredWithItsReportAndAutoSettleAppliesTheDecidableProposals) {
    const auto recorded = unresolved_event("bill-1", "d1", 600);
    const auto lost = unresolved_event("bill-2", "d2", 70);
    config_.auto_settle = true;
    // Azure holds the first event (600 on d1) and nothing of the second.
    auto service = reconciler({usage_row("res-1", "d1", "2026-03-01", "600")});
    clock_.set(at("2026-03-05T00:00:00Z"));
    // The second event went out a day later (the first one's window had to pass).
    const ReconcileRequest request{day("2026-03-01"), day("2026-03-02"), {recon::Source::UsageEvents}};
    const auto id = service->request(request, "api");
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(store_->get_reconciliation(*id)->status, store::ReconciliationStatus::Running);
    service->run(*id, request);

    const auto run = store_->get_reconciliation(*id).value();
    EXPECT_EQ(run.status, store::ReconciliationStatus::Done);
    EXPECT_EQ(run.totals.at(recon::Outcome::Matched), 2);  // d1 = 600 recorded; d2: nothing at Azure, nothing accepted
    EXPECT_EQ(run.final_through.at("usage_events"), day("2026-03-02"));
    const auto report = parse_exact_json(run.report_json.value()).value();
    ASSERT_EQ(report["proposals"].size(), 2U);
    EXPECT_EQ(report["proposals"][0]["verdict"], "recorded");
    EXPECT_EQ(report["proposals"][1]["verdict"], "not_recorded");

    EXPECT_EQ(store_->event(recorded)->state, EventState::Accepted);
    EXPECT_EQ(store_->event(lost)->state, EventState::Expired);  // its 70 units are pending again
    EXPECT_EQ(store_->event_settlement(lost).value()->settled_by, "auto");
    EXPECT_EQ(wakes_, 1);  // the scheduler hears of the re-queued units
}

TEST_F(ReconcilerTest, WithoutAutoSettleNothingIsSettledAndAFailingSourceFailsTheRun) {
    const auto event = unresolved_event("bill-1", "d1", 600);
    auto service = reconciler({usage_row("res-1", "d1", "2026-03-01", "600")});
    clock_.set(at("2026-03-05T00:00:00Z"));
    const ReconcileRequest request{day("2026-03-01"), day("2026-03-01"), {recon::Source::UsageEvents}};
    service->run(service->request(request, "api").value(), request);
    EXPECT_EQ(store_->event(event)->state, EventState::Unresolved);
    EXPECT_EQ(wakes_, 0);

    EXPECT_EQ(service->request({day("2026-03-01"), day("2026-03-01"), {recon::Source::EaCharges}}, "api").error().field,
              "sources");
    auto broken = std::make_unique<Reconciler>(Reconciler::Deps{
        *store_, config_, clock_,
        {{recon::Source::UsageEvents,
          [](recon::Day, recon::Day, const RowSink&, ExchangeLog*) {
              return Status(make_error("azure_error", "HTTP 503"));
          }}},
        policy_, {}});
    const auto id = broken->request(request, "api").value();
    broken->run(id, request);
    const auto run = store_->get_reconciliation(id).value();
    EXPECT_EQ(run.status, store::ReconciliationStatus::Failed);
    EXPECT_EQ(run.error, "usage_events: HTTP 503");
}

TEST_F(ReconcilerTest, TheDailyRunStartsOnceADayAfterDailyAtFromTheDayAfterTheLastFinalOne) {
    config_.lookback_days = 3;
    auto service = reconciler({});
    clock_.set(at("2026-03-10T02:29:00Z"));
    EXPECT_FALSE(service->daily_if_due().has_value());  // before 02:30
    clock_.set(at("2026-03-10T02:31:00Z"));
    const auto first = service->daily_if_due();
    ASSERT_TRUE(first.has_value());
    auto run = store_->get_reconciliation(*first).value();
    EXPECT_EQ(run.trigger, "daily");
    EXPECT_EQ(run.from_day, day("2026-03-07"));
    EXPECT_EQ(run.to_day, day("2026-03-09"));
    EXPECT_FALSE(service->daily_if_due().has_value());  // once a day
    service->run(*first, {run.from_day, run.to_day, config_.sources});
    // usage_events days are final 24 h after their end: through 03-08 at 03-10 02:31.
    EXPECT_EQ(store_->get_reconciliation(*first)->final_through.at("usage_events"), day("2026-03-08"));

    // A restart the same day does not run it again; the next day starts after the last final day.
    auto restarted = reconciler({});
    EXPECT_FALSE(restarted->daily_if_due().has_value());
    clock_.set(at("2026-03-11T03:00:00Z"));
    const auto next = restarted->daily_if_due();
    ASSERT_TRUE(next.has_value());
    run = store_->get_reconciliation(*next).value();
    EXPECT_EQ(run.from_day, day("2026-03-09"));
    EXPECT_EQ(run.to_day, day("2026-03-10"));
}

TEST(ReportViews, JsonKeepsExactQuantitiesAndCsvQuotesItsFields) {
    recon::Report report;
    recon::Row row;
    row.key = {"res-1", "storage, hot", day("2026-03-01")};
    row.outcome = recon::Outcome::QuantityMismatch;
    row.ours = Decimal::parse("1000").value();
    row.azure = Decimal::parse("1000.5").value();
    row.note = "Azure has \"more\" by 0.5";
    report.rows.push_back(row);
    report.totals[recon::Outcome::QuantityMismatch] = 1;
    const std::string json = dump_exact(report_json(report));
    EXPECT_NE(json.find(R"("azure":1000.5)"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("outcome":"quantity_mismatch")"), std::string::npos);
    EXPECT_NE(json.find(R"("discrepancies":true)"), std::string::npos);
    EXPECT_EQ(report_csv(report),
              "source,resourceId,dimension,day,outcome,ours,azure,note\r\n"
              "usage_events,res-1,\"storage, hot\",2026-03-01,quantity_mismatch,1000,1000.5,\"Azure has \"\"more\"\" by "
              "0.5\"\r\n");
    const std::string table = report_table(report);
    EXPECT_NE(table.find("quantity_mismatch  1"), std::string::npos) << table;
    EXPECT_NE(table.find("storage, hot"), std::string::npos);
}

}  // namespace
}  // namespace meterbridge::app

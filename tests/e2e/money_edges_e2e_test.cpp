// Issue 14, money safety at the edges: each test drives the real daemon
// against its built-in sandbox and checks what Azure was sent. Each part of
// the issue keeps its tests in its own fixture below.
#include "daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <map>
#include <thread>

namespace meterbridge::testing {
namespace {

// ---------------------------------------------------------------------------
// Rounding once per dimension, held credits and non-GUID resource ids
// (SPEC §4: per integration, bill, resource and dimension the subtotals are
// summed exactly, divided by unit_price and rounded once).

const Instant kRoundingStart = parse_iso8601("2026-03-02T09:05:00Z").value();

class RoundingOncePerDimensionE2E : public ::testing::Test {
protected:
    void SetUp() override {
        Json config = base_config(dir.path());
        // A second product on "compute", and a fallback for items without a
        // product on the per-product integration.
        config["external_mappings"].push_back(Json{{"m3ter_entity", "Product"},
                                                   {"m3ter_id", "prod-compute-2"},
                                                   {"external_table", "Dimension"},
                                                   {"external_id", "compute"}});
        for (Json& integration : config["integrations"]) {
            if (integration["id"] == "per-product") integration["fallback_dimension"] = "compute";
        }
        // Resources taken from account ids that are not GUIDs.
        config["integrations"].push_back(Json{{"id", "by-account-id"},
                                              {"account_ids", {"acct-1"}},
                                              {"split_usage_line_items", "ITEM_PER_BILL"},
                                              {"marketplace_bill_dimension", "bill_total"},
                                              {"resource_id_from", "account_id"},
                                              {"plan_id", "standard"}});
        daemon = std::make_unique<DaemonProcess>(dir.path(), std::move(config));
        daemon->start();
        if (HasFatalFailure()) return;
        daemon->set_clock(kRoundingStart);
    }

    // Units the sandbox accepted per "resource/dimension".
    std::map<std::string, std::int64_t> accepted_at_azure() {
        std::map<std::string, std::int64_t> totals;
        for (const Json& e : daemon->sandbox_events()) {
            totals[e["resourceId"].get<std::string>() + "/" + e["dimension"].get<std::string>()] +=
                std::stoll(*exact_number_text(e["quantity"]));
        }
        return totals;
    }

    // The bill's current version has been converted (its held items are final).
    Json processed_bill(const std::string& id) {
        Json bill;
        const bool done = DaemonProcess::eventually([&] {
            bill = daemon->get("/bills/" + id).json();
            return bill.is_object() && bill.contains("versions") && !bill["versions"].empty() &&
                   bill["versions"].back()["processed"] == true;
        });
        EXPECT_TRUE(done) << daemon->log();
        return bill;
    }

    TempDir dir;
    std::unique_ptr<DaemonProcess> daemon;
};

TEST_F(RoundingOncePerDimensionE2E, TwoProductsOfHalfACentOnOneDimensionAreOneUnitAtAzure) {
    ASSERT_EQ(daemon->post_bill(bill_json("b-half-cents", 1, "acc-prod",
                                          {{"USAGE", "0.005", "prod-compute", ""}, {"USAGE", "0.005", "prod-compute-2", ""}}))
                  .status,
              202);
    const std::string key = std::string(kSubProd) + "/compute";
    ASSERT_TRUE(DaemonProcess::eventually([&] { return accepted_at_azure().count(key) > 0; })) << daemon->log();
    std::this_thread::sleep_for(std::chrono::seconds(2));  // two more ticks: nothing else may follow
    EXPECT_EQ(accepted_at_azure(), (std::map<std::string, std::int64_t>{{key, 1}}));
    const Json bill = processed_bill("b-half-cents");
    ASSERT_EQ(bill["keys"].size(), 1u) << bill.dump();
    EXPECT_EQ(bill["keys"][0]["target"], 1);
    EXPECT_TRUE(bill["held"].empty()) << bill.dump();
}

TEST_F(RoundingOncePerDimensionE2E, ChargeAndCreditOnOneDimensionAreSevenHundredUnitsAtAzure) {
    // The credit has no product: it follows fallback_dimension onto "compute".
    ASSERT_EQ(daemon->post_bill(bill_json("b-credit", 1, "acc-prod",
                                          {{"USAGE", "10.00", "prod-compute", ""}, {"CREDIT_MEMO", "-3.00", "", ""}}))
                  .status,
              202);
    const std::string key = std::string(kSubProd) + "/compute";
    ASSERT_TRUE(DaemonProcess::eventually([&] { return accepted_at_azure().count(key) > 0; })) << daemon->log();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(accepted_at_azure(), (std::map<std::string, std::int64_t>{{key, 700}}));
    const Json bill = processed_bill("b-credit");
    ASSERT_EQ(bill["keys"].size(), 1u) << bill.dump();
    EXPECT_EQ(bill["keys"][0]["target"], 700);
    EXPECT_TRUE(bill["held"].empty()) << bill.dump();
}

TEST_F(RoundingOncePerDimensionE2E, HeldCreditsAndNonGuidResourcesAreShownWithTheirTotals) {
    // per-aggregation has no fallback_dimension: the credit without an
    // aggregation is held, and the charge is sent alone.
    ASSERT_EQ(daemon->post_bill(bill_json("b-held-credit", 1, "acc-agg",
                                          {{"USAGE", "5.00", "", "agg-calls"}, {"CREDIT_MEMO", "-1.25", "", ""},
                                           {"CREDIT_MEMO", "-0.50", "", ""}}))
                  .status,
              202);
    ASSERT_EQ(daemon->post_bill(bill_json("b-not-guid", 1, "acct-1", {{"USAGE", "2.00", "", ""}})).status, 202);

    const Json credit = processed_bill("b-held-credit");
    ASSERT_EQ(credit["held"].size(), 2u) << credit.dump();
    EXPECT_EQ(credit["held"][0]["reason"], "no_product_or_aggregation");
    ASSERT_EQ(credit["heldTotals"].size(), 1u) << credit.dump();
    EXPECT_EQ(credit["heldTotals"][0]["integrationId"], "per-aggregation");
    EXPECT_EQ(credit["heldTotals"][0]["reason"], "no_product_or_aggregation");
    EXPECT_EQ(credit["heldTotals"][0]["lineItems"], 2);
    EXPECT_EQ(credit["heldTotals"][0]["currency"], "USD");
    const std::string credit_text = daemon->get("/bills/b-held-credit").body;
    EXPECT_NE(credit_text.find(R"("amount":-1.75)"), std::string::npos) << credit_text;

    const Json not_guid = processed_bill("b-not-guid");
    ASSERT_EQ(not_guid["held"].size(), 1u) << not_guid.dump();
    EXPECT_EQ(not_guid["held"][0]["reason"], "invalid_resource_id");
    EXPECT_NE(not_guid["held"][0]["message"].get<std::string>().find("acct-1"), std::string::npos);
    EXPECT_TRUE(not_guid["keys"].empty()) << not_guid.dump();

    const std::string key = std::string(kSubAgg) + "/api_calls";
    ASSERT_TRUE(DaemonProcess::eventually([&] { return accepted_at_azure().count(key) > 0; })) << daemon->log();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(accepted_at_azure(), (std::map<std::string, std::int64_t>{{key, 500}}));  // nothing for "acct-1"

    const std::string metrics = daemon->request("GET", "/metrics", {}, {}, false).body;
    for (const std::string line : {
             R"(meterbridge_held_line_items{integration="per-aggregation",reason="no_product_or_aggregation"} 2)",
             R"(meterbridge_held_amount{integration="per-aggregation",reason="no_product_or_aggregation",currency="USD"} -1.75)",
             R"(meterbridge_held_line_items{integration="by-account-id",reason="invalid_resource_id"} 1)",
             R"(meterbridge_held_amount{integration="by-account-id",reason="invalid_resource_id",currency="USD"} 2)",
         }) {
        EXPECT_NE(metrics.find(line + "\n"), std::string::npos) << line << "\n" << metrics;
    }
}

}  // namespace
}  // namespace meterbridge::testing

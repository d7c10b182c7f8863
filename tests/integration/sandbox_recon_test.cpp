// The sandbox's reconciliation sources (SPEC §7, issue 16) through raw HTTP:
// GET /api/usageEvents on the sandbox clock, POST /_sandbox/recon plants, the
// partner billing export with its faults, and the EA marketplace charges.
#include "meterbridge/sandbox/sandbox.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

#include "azure_test_support.hpp"
#include "meterbridge/net/gzip.hpp"

namespace meterbridge::sandbox {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::get;
using testing::post_form;
using testing::post_json;

constexpr const char* kA = "aaaaaaaa-2222-3333-4444-555555555555";
constexpr const char* kB = "bbbbbbbb-2222-3333-4444-555555555555";
constexpr const char* kEaKey = "sandbox-ea-key";

class SandboxRecon : public ::testing::Test {
protected:
    void SetUp() override {
        auto catalog = SandboxCatalog::parse(
            R"({"subscriptions":[{"resourceId":"aaaaaaaa-2222-3333-4444-555555555555","planId":"plan1","azureSubscriptionId":"az-sub-a","offerId":"offer-x"},
                                 {"resourceId":"bbbbbbbb-2222-3333-4444-555555555555","planId":"plan1","azureSubscriptionId":"az-sub-b","offerId":"offer-x"}],
                "plans":[{"planId":"plan1","dimensions":["dim1","dim2","dim3","dim4","bulk"]}]})");
        ASSERT_TRUE(catalog.ok()) << catalog.error().message;
        SandboxOptions options;
        options.core.catalog = *catalog;
        auto started = Sandbox::start(std::move(options));
        ASSERT_TRUE(started.ok()) << started.error().message;
        sandbox = std::move(*started);
        set_clock("2026-01-01T23:30:00Z");
    }

    void set_clock(const char* now) { sandbox->clock().set(testing::at(now)); }
    std::string url(const std::string& route) const { return sandbox->base_url() + route; }
    net::HttpExchangeResult send(net::HttpRequestSpec spec) {
        auto answer = client.send(std::move(spec));
        EXPECT_TRUE(answer.ok()) << answer.error().message;
        return answer ? *answer : net::HttpExchangeResult{};
    }
    net::HttpExchangeResult send(const std::string& method, const std::string& route, std::string body = {},
                                 const std::string& bearer = {}) {
        auto spec = post_json(url(route), std::move(body), bearer);
        spec.method = method;
        return send(std::move(spec));
    }
    std::string graph_token() {
        const auto answer = send(post_form(sandbox->token_url(), "grant_type=client_credentials&client_id=c&client_secret=s&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"));
        return json::parse(answer.body)["access_token"].get<std::string>();
    }
    void post_events(const std::vector<std::tuple<std::string, std::string, std::string, std::string>>& events) {
        std::string body = R"({"request":[)";
        for (std::size_t i = 0; i < events.size(); ++i) {
            const auto& [resource, dimension, start, quantity] = events[i];
            body += std::string(i ? "," : "") + R"({"resourceId":")" + resource + R"(","quantity":)" + quantity +
                    R"(,"dimension":")" + dimension + R"(","effectiveStartTime":")" + start + R"(","planId":"plan1"})";
        }
        const auto answer = send(post_json(url("/api/batchUsageEvent?api-version=2018-08-31"), body + "]}",
                                           testing::sandbox_token(client, *sandbox)));
        ASSERT_EQ(answer.status, 200) << answer.body;
        const json parsed = json::parse(answer.body);  // named: a range-for over a temporary's member dangles
        for (const auto& result : parsed["result"]) ASSERT_EQ(result["status"], "Accepted") << result;
    }
    json usage_events(const std::string& query, int expected_status = 200) {
        const auto answer = send(get(url("/api/usageEvents?api-version=2018-08-31&" + query), testing::sandbox_token(client, *sandbox)));
        EXPECT_EQ(answer.status, expected_status) << answer.body;
        return json::parse(answer.body);
    }
    // usageEvents rows keyed "resourceId|dimension|YYYY-MM-DD".
    std::map<std::string, json> usage_rows(const std::string& query) {
        std::map<std::string, json> rows;
        for (const auto& row : usage_events(query)) {
            rows[row["usageResourceId"].get<std::string>() + "|" + row["dimension"].get<std::string>() + "|" +
                 row["usageDate"].get<std::string>().substr(0, 10)] = row;
        }
        return rows;
    }
    json plant(const std::string& body, int expected_status = 201) {
        const auto answer = send("POST", "/_sandbox/recon", body);
        EXPECT_EQ(answer.status, expected_status) << answer.body;
        return json::parse(answer.body);
    }
    json ea(const std::string& query, int expected_status = 200, const std::string& key = kEaKey) {
        const auto answer = send(get(url("/v3/enrollments/1234567/marketplacechargesbycustomdate?" + query), key));
        EXPECT_EQ(answer.status, expected_status) << answer.body;
        return json::parse(answer.body);
    }
    // Starts an export and polls it (no sleeping: the sandbox's Retry-After is
    // checked, not waited for) until it is no longer running.
    json run_export(const std::string& kind, const std::string& body, const std::string& bearer, int* running = nullptr) {
        const auto started = send("POST", "/v1.0/reports/partners/billing/usage/" + kind + "/export", body, bearer);
        EXPECT_EQ(started.status, 202) << started.body;
        const auto location = started.headers.get("location");
        EXPECT_TRUE(location.has_value());
        EXPECT_TRUE(started.headers.get("retry-after").has_value());
        if (!location) return json{};
        EXPECT_EQ(location->rfind(sandbox->base_url() + "/v1.0/reports/partners/billing/operations/", 0), 0U) << *location;
        for (int i = 0; i < 20; ++i) {
            const auto polled = send(get(*location, bearer));
            if (polled.status == 429) continue;
            EXPECT_EQ(polled.status, 200) << polled.body;
            auto body_json = json::parse(polled.body);
            if (body_json["status"] != "running") return body_json;
            EXPECT_EQ(polled.headers.get("retry-after"), "1");
            if (running) ++*running;
        }
        ADD_FAILURE() << "the export never finished";
        return json{};
    }
    std::string blob_url(const json& manifest, std::size_t index) {
        const auto& location = manifest["resourceLocation"];
        return location["rootDirectory"].get<std::string>() + "/" + location["blobs"][index]["name"].get<std::string>() +
               "?" + location["sasToken"].get<std::string>();
    }
    // Every line of every blob, read with the streaming reader in small chunks.
    std::vector<json> export_lines(const json& manifest, std::uint64_t* line_count = nullptr, bool parse = true) {
        std::vector<json> lines;
        const auto& blobs = manifest["resourceLocation"]["blobs"];
        for (std::size_t b = 0; b < blobs.size(); ++b) {
            const auto answer = send(get(blob_url(manifest, b)));
            EXPECT_EQ(answer.status, 200) << answer.body;
            net::GzipLineReader reader;
            std::uint64_t in_blob = 0;
            const auto sink = [&](std::string_view line) {
                ++in_blob;
                if (parse) lines.push_back(json::parse(line));
            };
            for (std::size_t at = 0; at < answer.body.size(); at += 4096) {
                EXPECT_TRUE(reader.feed(std::string_view(answer.body).substr(at, 4096), sink).ok());
            }
            EXPECT_TRUE(reader.finish(sink).ok());
            EXPECT_EQ(in_blob, blobs[b]["lineCount"].get<std::uint64_t>());
            if (line_count) *line_count += in_blob;
        }
        return lines;
    }

    net::HttpClient client{net::HttpClientOptions{2s, 30s, {}, 64 << 20, 30s, 4}};
    std::unique_ptr<Sandbox> sandbox;
};

TEST_F(SandboxRecon, UsageRowsMoveFromSubmittedToAcceptedAfterTheProcessingDelay) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "5"}, {kA, "dim1", "2026-01-01T11:00:00Z", "0.25"}});
    auto row = usage_rows("usageStartDate=2026-01-01&usageEndDate=2026-01-01").at(std::string(kA) + "|dim1|2026-01-01");
    EXPECT_EQ(row["reconStatus"], "Submitted");
    EXPECT_EQ(row["submittedQuantity"].dump(), "5.25");
    EXPECT_EQ(row["processedQuantity"].dump(), "0.0");
    EXPECT_EQ(row["submittedCount"], 2);
    EXPECT_EQ(row["azureSubscriptionId"], "az-sub-a");
    EXPECT_EQ(row["offerId"], "offer-x");

    set_clock("2026-01-02T00:59:59Z");  // the day has ended, the delay (1 h) has not passed
    EXPECT_EQ(usage_events("usageStartDate=2026-01-01&reconStatus=Submitted").size(), 1U);
    EXPECT_EQ(usage_events("usageStartDate=2026-01-01&reconStatus=Accepted").size(), 0U);
    set_clock("2026-01-02T01:00:00Z");
    row = usage_events("usageStartDate=2026-01-01&reconStatus=Accepted").at(0);
    EXPECT_EQ(row["processedQuantity"].dump(), "5.25");
    EXPECT_EQ(row["usageDate"], "2026-01-01T00:00:00.0000000Z");

    // A late event (still inside the 24 h window) makes the day Submitted again until an hour after it.
    post_events({{kA, "dim1", "2026-01-01T12:00:00Z", "1"}});
    EXPECT_EQ(usage_events("usageStartDate=2026-01-01&usageEndDate=2026-01-01").at(0)["reconStatus"], "Submitted");
    // The sandbox clock runs on from 01:00:00, so the late event's messageTime
    // is a few milliseconds past it: a minute's margin keeps the test exact.
    set_clock("2026-01-02T02:01:00Z");
    EXPECT_EQ(usage_events("usageStartDate=2026-01-01&usageEndDate=2026-01-01").at(0)["processedQuantity"].dump(), "6.25");
}

TEST_F(SandboxRecon, UsageEventsFiltersAndTheirErrors) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "5"}, {kB, "dim2", "2026-01-01T10:00:00Z", "3"}});
    EXPECT_EQ(usage_events("usageStartDate=2026-01-01").size(), 2U);
    EXPECT_EQ(usage_events("usageStartDate=2026-01-01&azureSubscriptionId=az-sub-b").at(0)["usageResourceId"], kB);
    EXPECT_EQ(usage_events("usageStartDate=2026-01-01&dimension=dim1").size(), 1U);
    EXPECT_EQ(usage_events("usageStartDate=2026-01-01&offerId=offer-x").size(), 2U);
    EXPECT_EQ(usage_events("usageStartDate=2026-01-01&offerId=other").size(), 0U);
    EXPECT_EQ(usage_events("usageStartDate=2026-01-02").size(), 0U);
    const auto bad_status = usage_events("usageStartDate=2026-01-01&reconStatus=Done", 400);
    EXPECT_EQ(bad_status["details"][0]["target"], "reconStatus");
    EXPECT_EQ(usage_events("usageStartDate=2026-01-02&usageEndDate=2026-01-01", 400)["details"][0]["target"], "usageEndDate");
    EXPECT_EQ(usage_events("usageStartDate=yesterday", 400)["details"][0]["target"], "usageStartDate");
    EXPECT_EQ(usage_events("dimension=dim1", 400)["details"][0]["target"], "usageStartDate");
    // Same bearer rule as the metering calls.
    EXPECT_EQ(send(get(url("/api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-01"), graph_token())).status, 403);
}

TEST_F(SandboxRecon, PlantsAreValidatedListedAndCleared) {
    EXPECT_EQ(plant(R"({"kind":"lost","resourceId":"r","dimension":"d","day":"2026-01-01"})", 400)["error"]["field"], "kind");
    EXPECT_EQ(plant(R"({"kind":"extra","dimension":"d","day":"2026-01-01","quantity":"1"})", 400)["error"]["field"], "resourceId");
    EXPECT_EQ(plant(R"({"kind":"extra","resourceId":"r","day":"2026-01-01","quantity":"1"})", 400)["error"]["field"], "dimension");
    EXPECT_EQ(plant(R"({"kind":"extra","resourceId":"r","dimension":"d","day":"2026-02-30","quantity":"1","planId":"p"})", 400)["error"]["field"], "day");
    EXPECT_EQ(plant(R"({"kind":"extra","resourceId":"r","dimension":"d","day":"2026-01-01","planId":"p"})", 400)["error"]["field"], "quantity");
    EXPECT_EQ(plant(R"({"kind":"mismatch","resourceId":"r","dimension":"d","day":"2026-01-01","quantity":"-2"})", 400)["error"]["field"], "quantity");
    EXPECT_EQ(plant(R"({"kind":"extra","resourceId":"r","dimension":"d","day":"2026-01-01","quantity":"abc","planId":"p"})", 400)["error"]["field"], "quantity");
    EXPECT_EQ(plant(R"({"kind":"extra","resourceId":"unknown","dimension":"d","day":"2026-01-01","quantity":"1"})", 400)["error"]["field"], "planId");
    EXPECT_EQ(plant(R"({"kind":"bulk","resourceId":"r","dimension":"d","day":"2026-01-01","planId":"p"})", 400)["error"]["field"], "lines");
    EXPECT_EQ(plant(R"({"kind":"missing","resourceId":"r","dimension":"d","day":"2026-01-01","lines":3})", 400)["error"]["field"], "lines");
    EXPECT_EQ(plant("not json", 400)["error"]["code"], "invalid_plant");

    const auto made = plant(R"({"kind":"extra","resourceId":"aaaaaaaa-2222-3333-4444-555555555555","dimension":"dim1","day":"2026-01-01","quantity":"2.50"})");
    EXPECT_EQ(made["id"], "plant-1");
    EXPECT_EQ(made["planId"], "plan1");  // from the catalog
    EXPECT_EQ(made["quantity"], "2.5");
    plant(R"({"kind":"missing","resourceId":"r","dimension":"d","day":"2026-01-01"})");
    const auto listed = json::parse(send(get(url("/_sandbox/recon"))).body);
    ASSERT_EQ(listed["count"], 2);
    EXPECT_EQ(listed["plants"][1]["kind"], "missing");
    EXPECT_TRUE(listed["plants"][1]["quantity"].is_null());
    EXPECT_EQ(send("DELETE", "/_sandbox/recon").status, 200);
    EXPECT_EQ(json::parse(send(get(url("/_sandbox/recon"))).body)["count"], 0);
}

// One discrepancy of each kind, seen consistently by each source that can show it.
TEST_F(SandboxRecon, EachPlantedKindShowsInEverySource) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "5"},   // matched
                 {kA, "dim2", "2026-01-01T10:00:00Z", "3"},   // rejected by Azure
                 {kA, "dim3", "2026-01-01T10:00:00Z", "10"},  // processed as 4
                 {kA, "dim4", "2026-01-01T10:00:00Z", "6"},   // Azure loses 2 of it...
                 {kA, "dim4", "2026-01-01T11:00:00Z", "2"},
                 {kB, "dim1", "2026-01-01T10:00:00Z", "1"}}); // ...and all of this
    plant(R"({"kind":"rejected","resourceId":"aaaaaaaa-2222-3333-4444-555555555555","dimension":"dim2","day":"2026-01-01"})");
    plant(R"({"kind":"mismatch","resourceId":"aaaaaaaa-2222-3333-4444-555555555555","dimension":"dim3","day":"2026-01-01","quantity":"4"})");
    plant(R"({"kind":"missing","resourceId":"aaaaaaaa-2222-3333-4444-555555555555","dimension":"dim4","day":"2026-01-01","quantity":"2"})");
    plant(R"({"kind":"missing","resourceId":"bbbbbbbb-2222-3333-4444-555555555555","dimension":"dim1","day":"2026-01-01"})");
    plant(R"({"kind":"extra","resourceId":"bbbbbbbb-2222-3333-4444-555555555555","dimension":"dim2","day":"2026-01-01","quantity":"7.5"})");

    // Rejected and Mismatch are final at once; the others wait for the delay.
    auto rows = usage_rows("usageStartDate=2026-01-01");
    EXPECT_EQ(rows.at(std::string(kA) + "|dim2|2026-01-01")["reconStatus"], "Rejected");
    EXPECT_EQ(rows.at(std::string(kA) + "|dim3|2026-01-01")["reconStatus"], "Mismatch");
    EXPECT_EQ(rows.at(std::string(kA) + "|dim1|2026-01-01")["reconStatus"], "Submitted");

    set_clock("2026-01-02T06:00:00Z");
    rows = usage_rows("usageStartDate=2026-01-01");
    ASSERT_EQ(rows.size(), 5U);  // B/dim1 is gone
    const auto& matched = rows.at(std::string(kA) + "|dim1|2026-01-01");
    EXPECT_EQ(matched["reconStatus"], "Accepted");
    EXPECT_EQ(matched["processedQuantity"].dump(), "5.0");
    const auto& rejected = rows.at(std::string(kA) + "|dim2|2026-01-01");
    EXPECT_EQ(rejected["submittedQuantity"].dump(), "3.0");
    EXPECT_EQ(rejected["processedQuantity"].dump(), "0.0");
    const auto& mismatch = rows.at(std::string(kA) + "|dim3|2026-01-01");
    EXPECT_EQ(mismatch["submittedQuantity"].dump(), "10.0");
    EXPECT_EQ(mismatch["processedQuantity"].dump(), "4.0");
    EXPECT_EQ(rows.at(std::string(kA) + "|dim4|2026-01-01")["processedQuantity"].dump(), "6.0");
    const auto& extra = rows.at(std::string(kB) + "|dim2|2026-01-01");
    EXPECT_EQ(extra["reconStatus"], "Accepted");
    EXPECT_EQ(extra["processedQuantity"].dump(), "7.5");
    EXPECT_EQ(extra["azureSubscriptionId"], "az-sub-b");
    EXPECT_EQ(rows.count(std::string(kB) + "|dim1|2026-01-01"), 0U);

    // EA: what Azure billed (no Rejected row), consumedQuantity exact.
    std::map<std::string, json> charges;
    for (const auto& charge : ea("startTime=2026-01-01&endTime=2026-01-31")) {
        charges[charge["instanceId"].get<std::string>() + "|" + charge["meterId"].get<std::string>()] = charge;
    }
    ASSERT_EQ(charges.size(), 4U);
    EXPECT_EQ(charges.at(std::string(kA) + "|dim1")["consumedQuantity"].dump(), "5");
    EXPECT_EQ(charges.at(std::string(kA) + "|dim3")["consumedQuantity"].dump(), "4");
    EXPECT_EQ(charges.at(std::string(kA) + "|dim4")["consumedQuantity"].dump(), "6");
    EXPECT_EQ(charges.at(std::string(kB) + "|dim2")["consumedQuantity"].dump(), "7.5");
    EXPECT_EQ(charges.at(std::string(kB) + "|dim2")["subscriptionGuid"], "az-sub-b");
    EXPECT_EQ(charges.at(std::string(kA) + "|dim1")["usageStartDate"], "2026-01-01T00:00:00Z");
    EXPECT_EQ(charges.at(std::string(kA) + "|dim1")["planName"], "plan1");

    // The partner billing export: the same four rows, one line each.
    const std::string bearer = graph_token();
    const auto manifest = run_export("unbilled", R"({"billingPeriod":"current","currencyCode":"USD","attributeSet":"full"})", bearer);
    ASSERT_EQ(manifest["status"], "succeeded") << manifest;
    std::map<std::string, json> lines;
    for (const auto& line : export_lines(manifest)) {
        lines[line["EntitlementId"].get<std::string>() + "|" + line["MeterId"].get<std::string>()] = line;
    }
    ASSERT_EQ(lines.size(), 4U);
    EXPECT_EQ(lines.at(std::string(kA) + "|dim3")["Quantity"].dump(), "4");
    EXPECT_EQ(lines.at(std::string(kA) + "|dim4")["Quantity"].dump(), "6");
    EXPECT_EQ(lines.at(std::string(kB) + "|dim2")["Quantity"].dump(), "7.5");
    EXPECT_EQ(lines.at(std::string(kB) + "|dim2")["SubscriptionId"], "az-sub-b");
    EXPECT_EQ(lines.at(std::string(kA) + "|dim1")["UsageDate"], "2026-01-01T00:00:00Z");
    EXPECT_EQ(lines.at(std::string(kA) + "|dim1")["SkuId"], "plan1");
    EXPECT_EQ(lines.at(std::string(kA) + "|dim1")["ProductId"], "offer-x");
    EXPECT_EQ(json::parse(lines.at(std::string(kA) + "|dim1")["AdditionalInfo"].get<std::string>())["usageResourceId"], kA);
}

TEST_F(SandboxRecon, TheExportPollsThenSplitsItsLinesOverSeveralBlobs) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "1"}, {kA, "dim2", "2026-01-01T10:00:00Z", "2"},
                 {kA, "dim3", "2026-01-01T10:00:00Z", "3"}, {kB, "dim1", "2026-01-01T10:00:00Z", "4"},
                 {kB, "dim2", "2026-01-01T10:00:00Z", "5"}});
    set_clock("2026-01-02T06:00:00Z");
    ASSERT_EQ(send("PUT", "/_sandbox/export", R"({"running_polls":3,"lines_per_blob":2})").status, 200);
    EXPECT_EQ(send("PUT", "/_sandbox/export", R"({"lines_per_blob":0})").status, 400);
    EXPECT_EQ(json::parse(send("PUT", "/_sandbox/export", R"({"colour":1})").body)["error"]["field"], "colour");
    const std::string bearer = graph_token();
    int running = 0;
    const auto manifest = run_export("unbilled", R"({"billingPeriod":"current","currencyCode":"USD"})", bearer, &running);
    EXPECT_EQ(running, 3);
    ASSERT_EQ(manifest["status"], "succeeded");
    EXPECT_EQ(manifest["@odata.type"], "#microsoft.graph.partners.billing.exportSuccessOperation");
    const auto& location = manifest["resourceLocation"];
    EXPECT_EQ(location["dataFormat"], "compressedJSON");
    EXPECT_EQ(location["blobCount"], 3);
    EXPECT_EQ(location["totalLineCount"], 5);
    EXPECT_EQ(location["blobs"][2]["name"], "part-00003.json.gz");
    EXPECT_EQ(location["blobs"][2]["lineCount"], 1);
    std::uint64_t count = 0;
    const auto lines = export_lines(manifest, &count);
    EXPECT_EQ(count, 5U);
    std::string quantities;
    for (const auto& line : lines) quantities += line["Quantity"].dump() + " ";
    EXPECT_EQ(quantities, "1 2 3 4 5 ");

    // The blob URL needs its signature; Graph needs a Graph token; unknown operations are 404.
    const std::string unsigned_url = location["rootDirectory"].get<std::string>() + "/part-00001.json.gz";
    const auto refused = send(get(unsigned_url));
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(refused.headers.get("x-ms-error-code"), "AuthenticationFailed");
    EXPECT_EQ(send(get(location["rootDirectory"].get<std::string>() + "/part-00009.json.gz?" + location["sasToken"].get<std::string>())).status, 404);
    EXPECT_EQ(send("POST", "/v1.0/reports/partners/billing/usage/unbilled/export", R"({"billingPeriod":"current","currencyCode":"USD"})",
                   testing::sandbox_token(client, *sandbox)).status, 401);
    EXPECT_EQ(send(get(url("/v1.0/reports/partners/billing/operations/nope"), bearer)).status, 404);
    EXPECT_EQ(send("POST", "/v1.0/reports/partners/billing/usage/unbilled/export", R"({"currencyCode":"USD"})", bearer).status, 400);
    EXPECT_EQ(send("POST", "/v1.0/reports/partners/billing/usage/unbilled/export", R"({"billingPeriod":"current","currencyCode":"USD","attributeSet":"most"})", bearer).status, 400);
}

TEST_F(SandboxRecon, ExportFaultsThrottlingFailureAndExpiredBlobUrls) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "1"}});
    set_clock("2026-01-02T06:00:00Z");
    std::string bearer = graph_token();
    // 429 + Retry-After while polling, through the ordinary fault queue.
    ASSERT_EQ(send("POST", "/_sandbox/faults", R"({"kind":"status","status":429,"retry_after_s":7,"count":2,"path":"/v1.0/reports/partners/billing/operations/"})").status, 201);
    const auto started = send("POST", "/v1.0/reports/partners/billing/usage/unbilled/export", R"({"billingPeriod":"current","currencyCode":"USD"})", bearer);
    ASSERT_EQ(started.status, 202);
    const std::string location = *started.headers.get("location");
    for (int i = 0; i < 2; ++i) {
        const auto throttled = send(get(location, bearer));
        EXPECT_EQ(throttled.status, 429);
        EXPECT_EQ(throttled.headers.get("retry-after"), "7");
    }
    EXPECT_EQ(json::parse(send(get(location, bearer)).body)["status"], "running");
    const auto manifest = json::parse(send(get(location, bearer)).body);
    ASSERT_EQ(manifest["status"], "succeeded");

    // The SAS token lives sas_ttl_s (3600) on the sandbox clock.
    EXPECT_EQ(send(get(blob_url(manifest, 0))).status, 200);
    set_clock("2026-01-02T07:00:01Z");
    const auto expired = send(get(blob_url(manifest, 0)));
    EXPECT_EQ(expired.status, 403);
    EXPECT_EQ(expired.headers.get("x-ms-error-code"), "AuthenticationFailed");
    EXPECT_NE(expired.body.find("<Code>AuthenticationFailed</Code>"), std::string::npos);
    EXPECT_NE(expired.body.find("Signed expiry time [Fri, 02 Jan 2026 07:00:00 GMT] has to be after current time"), std::string::npos) << expired.body;

    // A failed operation (a new token: the clock moved past the first one's hour).
    bearer = graph_token();
    ASSERT_EQ(send("PUT", "/_sandbox/export", R"({"fail_next":1,"running_polls":0})").status, 200);
    const auto failed = run_export("unbilled", R"({"billingPeriod":"current","currencyCode":"USD"})", bearer);
    EXPECT_EQ(failed["status"], "failed");
    EXPECT_EQ(failed["@odata.type"], "#microsoft.graph.partners.billing.failedOperation");
    EXPECT_FALSE(failed["error"]["code"].get<std::string>().empty());
    EXPECT_EQ(run_export("unbilled", R"({"billingPeriod":"current","currencyCode":"USD"})", bearer)["status"], "succeeded");
}

// As Graph does, a GET of a succeeded operation whose SAS has expired signs a
// fresh one; URLs signed with the old token stay refused as expired.
TEST_F(SandboxRecon, ARefetchedOperationSignsAFreshSasOnceTheOldOneExpired) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "1"}});
    set_clock("2026-01-02T06:00:00Z");
    ASSERT_EQ(send("PUT", "/_sandbox/export", R"({"running_polls":0})").status, 200);
    std::string bearer = graph_token();
    const auto first = run_export("unbilled", R"({"billingPeriod":"current","currencyCode":"USD"})", bearer);
    ASSERT_EQ(first["status"], "succeeded");
    const std::string operation = url("/v1.0/reports/partners/billing/operations/" + first["id"].get<std::string>());
    const auto sas_of = [](const json& op) { return op["resourceLocation"]["sasToken"].get<std::string>(); };
    const auto sig_of = [](const std::string& sas) { return sas.substr(sas.find("&sig=")); };
    EXPECT_NE(sas_of(first).find("&se=2026-01-02T07%3A00%3A00Z&"), std::string::npos) << sas_of(first);

    // While the SAS is valid, the operation keeps answering it.
    set_clock("2026-01-02T06:59:00Z");
    EXPECT_EQ(sas_of(json::parse(send(get(operation, bearer)).body)), sas_of(first));
    EXPECT_EQ(send(get(blob_url(first, 0))).status, 200);

    // Expired: the old URL is refused, and the operation answers a new token.
    set_clock("2026-01-02T07:00:01Z");
    bearer = graph_token();  // the Graph token of 06:00 has expired too
    const auto old_url = send(get(blob_url(first, 0)));
    EXPECT_EQ(old_url.status, 403);
    EXPECT_NE(old_url.body.find("Signed expiry time [Fri, 02 Jan 2026 07:00:00 GMT]"), std::string::npos) << old_url.body;
    const auto second = json::parse(send(get(operation, bearer)).body);
    ASSERT_EQ(second["status"], "succeeded");
    EXPECT_NE(sig_of(sas_of(second)), sig_of(sas_of(first)));
    EXPECT_NE(sas_of(second).find("&se=2026-01-02T08%3A00%3A0"), std::string::npos) << sas_of(second);  // now + 3600 s
    EXPECT_EQ(second["resourceLocation"]["blobs"], first["resourceLocation"]["blobs"]);
    EXPECT_EQ(send(get(blob_url(second, 0))).status, 200);
    const auto still_old = send(get(blob_url(first, 0)));
    EXPECT_EQ(still_old.status, 403);
    EXPECT_EQ(still_old.headers.get("x-ms-error-code"), "AuthenticationFailed");
    EXPECT_NE(still_old.body.find("Signed expiry time [Fri, 02 Jan 2026 07:00:00 GMT]"), std::string::npos) << still_old.body;
    EXPECT_EQ(sas_of(json::parse(send(get(operation, bearer)).body)), sas_of(second));  // no new one while valid

    // sas_ttl_s 0: every token is born expired, the re-signed ones too.
    ASSERT_EQ(send("PUT", "/_sandbox/export", R"({"sas_ttl_s":0})").status, 200);
    const auto born_expired = run_export("unbilled", R"({"billingPeriod":"current","currencyCode":"USD"})", bearer);
    const auto refused = send(get(blob_url(born_expired, 0)));
    EXPECT_EQ(refused.status, 403);
    EXPECT_NE(refused.body.find("Signed expiry time"), std::string::npos) << refused.body;
    const auto resigned = json::parse(
        send(get(url("/v1.0/reports/partners/billing/operations/" + born_expired["id"].get<std::string>()), bearer)).body);
    EXPECT_NE(sig_of(sas_of(resigned)), sig_of(sas_of(born_expired)));
    EXPECT_EQ(send(get(blob_url(resigned, 0))).status, 403);
    const auto negative = send("PUT", "/_sandbox/export", R"({"sas_ttl_s":-1})");
    EXPECT_EQ(negative.status, 400);
    EXPECT_EQ(json::parse(negative.body)["error"]["field"], "sas_ttl_s");
}

TEST_F(SandboxRecon, BilledExportsNeedAClosedInvoiceMonth) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "2.5"}});
    std::string bearer = graph_token();
    EXPECT_EQ(send("POST", "/v1.0/reports/partners/billing/usage/billed/export", R"({"invoiceId":"G202601"})", bearer).status, 404);
    EXPECT_EQ(send("POST", "/v1.0/reports/partners/billing/usage/billed/export", R"({"invoiceId":"INV-1"})", bearer).status, 400);
    EXPECT_EQ(send("POST", "/v1.0/reports/partners/billing/usage/billed/export", R"({})", bearer).status, 400);
    set_clock("2026-02-03T00:00:00Z");
    bearer = graph_token();
    const auto manifest = run_export("billed", R"({"invoiceId":"G202601","attributeSet":"full"})", bearer);
    ASSERT_EQ(manifest["status"], "succeeded");
    const auto lines = export_lines(manifest);
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_EQ(lines[0]["InvoiceNumber"], "G202601");
    EXPECT_EQ(lines[0]["Quantity"].dump(), "2.5");
    EXPECT_EQ(lines[0]["ChargeStartDate"], "2026-01-01T00:00:00Z");
    // January's usage is no longer in February's unbilled export, but in "last".
    EXPECT_EQ(run_export("unbilled", R"({"billingPeriod":"current","currencyCode":"USD"})", bearer)["resourceLocation"]["totalLineCount"], 0);
    EXPECT_EQ(run_export("unbilled", R"({"billingPeriod":"last","currencyCode":"USD"})", bearer)["resourceLocation"]["totalLineCount"], 1);
}

TEST_F(SandboxRecon, ABulkPlantIsGeneratedLazilyOverManyBlobs) {
    plant(R"({"kind":"bulk","resourceId":"aaaaaaaa-2222-3333-4444-555555555555","dimension":"bulk","day":"2026-01-01","lines":100000,"quantity":"0.5"})");
    set_clock("2026-01-02T06:00:00Z");
    ASSERT_EQ(send("PUT", "/_sandbox/export", R"({"lines_per_blob":30000,"running_polls":0})").status, 200);
    const auto manifest = run_export("unbilled", R"({"billingPeriod":"current","currencyCode":"USD"})", graph_token());
    ASSERT_EQ(manifest["resourceLocation"]["blobCount"], 4);
    EXPECT_EQ(manifest["resourceLocation"]["totalLineCount"], 100000);
    std::uint64_t count = 0;
    export_lines(manifest, &count, false);
    EXPECT_EQ(count, 100000U);
    // The other sources show the same total as one daily row.
    const auto row = usage_events("usageStartDate=2026-01-01&dimension=bulk").at(0);
    EXPECT_EQ(row["processedQuantity"].dump(), "50000.0");
    EXPECT_EQ(row["submittedCount"], 100000);
    EXPECT_EQ(ea("startTime=2026-01-01&endTime=2026-01-01").at(0)["consumedQuantity"].dump(), "50000.0");
}

TEST_F(SandboxRecon, EaChargesNeedTheKeyAndValidDates) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "3"}});
    EXPECT_EQ(ea("startTime=2026-01-01&endTime=2026-01-02").size(), 0U);  // not processed yet
    set_clock("2026-01-02T06:00:00Z");
    const auto rows = ea("startTime=2026-01-01&endTime=2026-01-02");
    ASSERT_EQ(rows.size(), 1U);
    for (const char* field : {"id", "subscriptionGuid", "subscriptionName", "meterId", "usageStartDate", "usageEndDate",
                              "offerName", "resourceGroup", "instanceId", "additionalInfo", "tags", "orderNumber",
                              "unitOfMeasure", "costCenter", "accountId", "accountName", "accountOwnerId", "departmentId",
                              "departmentName", "publisherName", "planName", "consumedQuantity", "resourceRate",
                              "extendedCost", "isRecurringCharge"}) {
        EXPECT_TRUE(rows[0].contains(field)) << field;
    }
    EXPECT_EQ(rows[0]["subscriptionGuid"], "az-sub-a");
    EXPECT_EQ(rows[0]["usageEndDate"], "2026-01-01T23:59:59Z");
    EXPECT_EQ(ea("startTime=2026-01-02&endTime=2026-01-02").size(), 0U);
    EXPECT_EQ(ea("startTime=2026-01-01&endTime=2026-01-02", 401, "wrong-key")["error"]["code"], "Unauthorized");
    EXPECT_NE(ea("startTime=2026-13-01&endTime=2026-01-02", 400)["error"]["message"].get<std::string>().find("startTime"), std::string::npos);
    EXPECT_NE(ea("startTime=2026-01-01", 400)["error"]["message"].get<std::string>().find("endTime"), std::string::npos);
    EXPECT_EQ(ea("startTime=2026-01-03&endTime=2026-01-01", 400)["error"]["code"], "BadRequest");
    EXPECT_EQ(ea("startTime=2020-01-01&endTime=2026-01-01", 400)["error"]["code"], "BadRequest");
    EXPECT_EQ(send(get(url("/v3/enrollments/abc/marketplacechargesbycustomdate?startTime=2026-01-01&endTime=2026-01-02"), kEaKey)).status, 404);
}

}  // namespace
}  // namespace meterbridge::sandbox

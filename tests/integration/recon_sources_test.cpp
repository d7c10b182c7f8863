// The three reconciliation source clients (issue 16 item 1) against the
// sandbox on 127.0.0.1:0: usage events with paging, the partner billing
// export (polling, 429, failure, expired blob URLs, streaming in bounded
// memory) and the EA charges (API and file). The clients sleep through an
// injected hook that advances their own clock: nothing waits for real.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

#include "azure_test_support.hpp"
#include "meterbridge/azure/ea_charges_client.hpp"
#include "meterbridge/azure/partner_billing_client.hpp"
#include "meterbridge/azure/usage_events_client.hpp"
#include "meterbridge/net/http_server.hpp"
#include "meterbridge/net/logged_exchange.hpp"
#include "meterbridge/sandbox/sandbox.hpp"
#include "proc_status.hpp"
#include "temp_dir.hpp"

namespace meterbridge::azure {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::get;
using testing::post_json;

constexpr const char* kA = "aaaaaaaa-2222-3333-4444-555555555555";
constexpr const char* kB = "bbbbbbbb-2222-3333-4444-555555555555";
constexpr const char* kEaKey = "sandbox-ea-key";

recon::Day day(const char* text) { return *recon::parse_day(text); }

// Wraps a transport to watch (and act on) each request before it is sent.
class SpyTransport final : public net::HttpTransport {
public:
    explicit SpyTransport(net::HttpTransport& inner) : inner_(inner) {}
    std::function<void(const net::HttpRequestSpec&)> before;
    std::function<void(const net::HttpRequestSpec&, int status)> after;

    Result<net::HttpExchangeResult> send(const net::HttpRequestSpec& request) override {
        if (before) before(request);
        auto answer = inner_.send(request);
        if (after && answer) after(request, answer->status);
        return answer;
    }
    Result<net::HttpExchangeResult> send_streaming(const net::HttpRequestSpec& request,
                                                   const net::BodySink& sink) override {
        if (before) before(request);
        auto answer = inner_.send_streaming(request, sink);
        if (after && answer) after(request, answer->status);
        return answer;
    }

private:
    net::HttpTransport& inner_;
};

// Rows keyed "resource-or-subscription|dimension|day" with their quantity's text.
struct Collected {
    std::map<std::string, std::string> quantity;
    std::map<std::string, recon::AzureRow> row;
    std::size_t count = 0;
    RowSink sink() {
        return [this](const recon::AzureRow& r) -> Status {
            const std::string who = r.key.resource_id.empty() ? r.azure_subscription_id : r.key.resource_id;
            const std::string key = who + "|" + r.key.dimension + "|" + recon::format_day(r.key.day);
            EXPECT_EQ(quantity.count(key), 0U) << "row given twice: " << key;
            quantity[key] = r.quantity.to_string();
            row[key] = r;
            ++count;
            return Ok{};
        };
    }
};

class ReconSources : public ::testing::Test {
protected:
    void SetUp() override {
        auto catalog = sandbox::SandboxCatalog::parse(
            R"({"subscriptions":[{"resourceId":"aaaaaaaa-2222-3333-4444-555555555555","planId":"plan1","azureSubscriptionId":"az-sub-a","offerId":"offer-x"},
                                 {"resourceId":"bbbbbbbb-2222-3333-4444-555555555555","planId":"plan1","azureSubscriptionId":"az-sub-b","offerId":"offer-x"}],
                "plans":[{"planId":"plan1","dimensions":["dim1","dim2","dim3","bulk"]}]})");
        ASSERT_TRUE(catalog.ok()) << catalog.error().message;
        sandbox::SandboxOptions options;
        options.core.catalog = *catalog;
        auto started = sandbox::Sandbox::start(std::move(options));
        ASSERT_TRUE(started.ok()) << started.error().message;
        sandbox = std::move(*started);
        set_clock("2026-01-01T23:30:00Z");
        hooks.random01 = [] { return 0.0; };
        hooks.sleep = [this](Duration d) {
            std::lock_guard lock(sleeps_mutex);
            sleeps.push_back(d);
            clock.advance(d);
        };
    }

    void set_clock(const char* now) { sandbox->clock().set(testing::at(now)); }
    net::HttpExchangeResult control(const std::string& method, const std::string& route, std::string body = {}) {
        auto spec = post_json(sandbox->base_url() + route, std::move(body));
        spec.method = method;
        auto answer = raw.send(spec);
        EXPECT_TRUE(answer.ok()) << answer.error().message;
        return answer ? *answer : net::HttpExchangeResult{};
    }
    void post_events(const std::vector<std::tuple<std::string, std::string, std::string, std::string>>& events) {
        std::string body = R"({"request":[)";
        for (std::size_t i = 0; i < events.size(); ++i) {
            const auto& [resource, dimension, start, quantity] = events[i];
            body += std::string(i ? "," : "") + R"({"resourceId":")" + resource + R"(","quantity":)" + quantity +
                    R"(,"dimension":")" + dimension + R"(","effectiveStartTime":")" + start + R"(","planId":"plan1"})";
        }
        const auto answer = raw.send(post_json(sandbox->base_url() + "/api/batchUsageEvent?api-version=2018-08-31",
                                               body + "]}", testing::sandbox_token(raw, *sandbox)));
        ASSERT_TRUE(answer.ok());
        ASSERT_EQ(answer->status, 200) << answer->body;
    }
    void plant(const std::string& body) { ASSERT_EQ(control("POST", "/_sandbox/recon", body).status, 201); }
    void fault(const std::string& body) { ASSERT_EQ(control("POST", "/_sandbox/faults", body).status, 201); }
    void export_settings(const std::string& body) { ASSERT_EQ(control("PUT", "/_sandbox/export", body).status, 200); }

    TokenProviderOptions token_options(std::string resource) const {
        TokenProviderOptions options;
        options.token_url = sandbox->token_url();
        options.client_id = "sandbox-client";
        options.client_secret = "very-secret-value";
        options.resource = std::move(resource);
        return options;
    }
    SourceRetryOptions fast_retry() const {
        SourceRetryOptions retry;
        retry.request_timeout = 10s;
        retry.deadline = 60s;  // on the client's clock, which only the sleeps move
        return retry;
    }
    UsageEventsClient usage_client(net::HttpTransport& transport, TokenProvider& tokens) {
        UsageEventsClientOptions options;
        options.base_url = sandbox->base_url();
        options.retry = fast_retry();
        return UsageEventsClient(options, transport, tokens, clock, &log, hooks);
    }
    PartnerBillingClient partner_client(net::HttpTransport& transport, TokenProvider& tokens) {
        PartnerBillingClientOptions options;
        options.graph_base_url = sandbox->base_url();
        options.retry = fast_retry();
        options.max_wait = 5min;
        return PartnerBillingClient(options, transport, tokens, clock, &log, hooks);
    }
    EaChargesClient ea_client(std::string key = kEaKey) {
        EaChargesClientOptions options;
        options.base_url = sandbox->base_url();
        options.api_key = std::move(key);
        options.retry = fast_retry();
        return EaChargesClient(options, http, clock, &log, hooks);
    }
    // Every access token the sandbox issued must be absent from the log.
    void expect_no_secrets_logged() {
        const std::string dump = log.dump();
        EXPECT_EQ(dump.find("very-secret-value"), std::string::npos);
        EXPECT_EQ(dump.find(kEaKey), std::string::npos);
        const auto tokens = json::parse(control("GET", "/_sandbox/tokens").body)["tokens"];
        ASSERT_FALSE(tokens.empty());
        for (const auto& token : tokens) EXPECT_EQ(dump.find(token.get<std::string>()), std::string::npos);
    }
    std::vector<Duration> slept() {
        std::lock_guard lock(sleeps_mutex);
        return sleeps;
    }

    std::unique_ptr<sandbox::Sandbox> sandbox;
    net::HttpClient raw;   // the tests' own calls
    net::HttpClient http;  // the clients'
    testing::ManualClock clock{testing::now_utc()};
    testing::MemoryExchangeLog log;
    RetryHooks hooks;
    std::mutex sleeps_mutex;
    std::vector<Duration> sleeps;
};

// --- usage events -------------------------------------------------------------

TEST_F(ReconSources, UsageEventsRowsArriveWithExactQuantities) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "5"}, {kA, "dim1", "2026-01-01T11:00:00Z", "0.25"},
                 {kB, "dim2", "2026-01-01T10:00:00Z", "0.000001"}});
    plant(R"({"kind":"extra","resourceId":"bbbbbbbb-2222-3333-4444-555555555555","dimension":"dim3","day":"2026-01-01","quantity":"7.125"})");
    set_clock("2026-01-02T06:00:00Z");
    TokenProvider tokens(token_options(std::string(kMarketplaceResourceId)), http, clock, &log);
    auto client = usage_client(http, tokens);
    Collected rows;
    const auto summary = client.fetch(day("2026-01-01"), day("2026-01-01"), rows.sink());
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(summary->pages, 1);
    EXPECT_EQ(summary->rows, 3U);
    EXPECT_EQ(rows.quantity.at(std::string(kA) + "|dim1|2026-01-01"), "5.25");
    EXPECT_EQ(rows.quantity.at(std::string(kB) + "|dim2|2026-01-01"), "0.000001");
    EXPECT_EQ(rows.quantity.at(std::string(kB) + "|dim3|2026-01-01"), "7.125");
    const auto& row = rows.row.at(std::string(kA) + "|dim1|2026-01-01");
    EXPECT_EQ(row.status, "Accepted");
    EXPECT_EQ(row.azure_subscription_id, "az-sub-a");
    EXPECT_EQ(row.plan, "plan1");

    // A filter reaches Azure; a day without usage gives no rows.
    Collected filtered;
    UsageEventsFilter filter;
    filter.dimension = "dim3";
    ASSERT_TRUE(client.fetch(day("2026-01-01"), day("2026-01-01"), filtered.sink(), filter).ok());
    EXPECT_EQ(filtered.count, 1U);
    Collected none;
    ASSERT_TRUE(client.fetch(day("2026-01-02"), day("2026-01-02"), none.sink()).ok());
    EXPECT_EQ(none.count, 0U);

    const auto records = log.records();
    ASSERT_FALSE(records.empty());
    EXPECT_NE(records.back().url.find("/api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-02"),
              std::string::npos);
    EXPECT_EQ(records.back().status, 200);
    expect_no_secrets_logged();
}

TEST_F(ReconSources, UsageEventsErrorsAreClearAndThrottlingIsWaitedOut) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "2"}});
    TokenProvider tokens(token_options(std::string(kMarketplaceResourceId)), http, clock, &log);
    auto client = usage_client(http, tokens);
    Collected rows;

    // Azure's own 400, its code and the field it names.
    UsageEventsFilter bad;
    bad.recon_status = "Done";
    auto refused = client.fetch(day("2026-01-01"), day("2026-01-01"), rows.sink(), bad);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, kSourceRefused);
    EXPECT_NE(refused.error().message.find("HTTP 400"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("BadArgument"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("reconStatus"), std::string::npos) << refused.error().message;
    // Reversed dates are refused before anything is sent.
    const auto sent = log.records().size();
    auto reversed = client.fetch(day("2026-01-02"), day("2026-01-01"), rows.sink());
    ASSERT_FALSE(reversed.ok());
    EXPECT_EQ(reversed.error().field, "usageEndDate");
    EXPECT_EQ(log.records().size(), sent);

    // 429 with Retry-After, a 503 and a reset: retried, the wait honoured.
    fault(R"({"kind":"status","status":429,"retry_after_s":7,"count":1,"path":"/api/usageEvents"})");
    fault(R"({"kind":"status","status":503,"count":1,"path":"/api/usageEvents"})");
    fault(R"({"kind":"reset","count":1,"path":"/api/usageEvents"})");
    auto summary = client.fetch(day("2026-01-01"), day("2026-01-01"), rows.sink());
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    // Inside the processing delay: Submitted, nothing processed yet.
    const auto& submitted = rows.row.at(std::string(kA) + "|dim1|2026-01-01");
    EXPECT_EQ(submitted.status, "Submitted");
    EXPECT_TRUE(submitted.quantity.is_zero());
    ASSERT_TRUE(submitted.submitted_quantity.has_value());
    EXPECT_EQ(submitted.submitted_quantity->to_string(), "2");
    const auto waits = slept();
    ASSERT_EQ(waits.size(), 3U);
    EXPECT_GE(waits[0], 7s);

    // Throttled for longer than the deadline allows: an Error naming the 429.
    fault(R"({"kind":"status","status":429,"retry_after_s":3600,"count":1,"path":"/api/usageEvents"})");
    auto throttled = client.fetch(day("2026-01-01"), day("2026-01-01"), rows.sink());
    ASSERT_FALSE(throttled.ok());
    EXPECT_EQ(throttled.error().code, kSourceUnavailable);
    EXPECT_NE(throttled.error().message.find("HTTP 429"), std::string::npos) << throttled.error().message;
    control("DELETE", "/_sandbox/faults");

    // A token Azure refuses is refreshed once (here: the sandbox clock jumps past its lifetime).
    set_clock("2026-01-02T06:00:00Z");
    Collected fresh;
    ASSERT_TRUE(client.fetch(day("2026-01-01"), day("2026-01-01"), fresh.sink()).ok());
    EXPECT_EQ(tokens.fetch_count(), 2U);
    EXPECT_EQ(fresh.row.begin()->second.status, "Accepted");

    // The caller's callback can stop the fetch with its own Error.
    auto stopped = client.fetch(day("2026-01-01"), day("2026-01-01"),
                                [](const recon::AzureRow&) -> Status { return make_error("enough", "stop"); });
    ASSERT_FALSE(stopped.ok());
    EXPECT_EQ(stopped.error().code, "enough");
}

// The sandbox answers one page; next links are followed against a small local server.
TEST_F(ReconSources, UsageEventsFollowsNextLinksAndRefusesALoop) {
    std::atomic<int> requests{0};
    std::string base;  // set once the server has its port, before any request
    auto server = net::HttpServer::start({}, [&](net::HttpRequest request, net::Responder respond) {
        ++requests;
        const auto auth = request.headers.get("authorization");
        if (!auth || auth->rfind("Bearer ", 0) != 0) {
            return respond(net::HttpResponse::json(403, R"({"code":"Forbidden","message":"no token"})"));
        }
        const auto row = [](const std::string& dim, const std::string& quantity) {
            return R"({"usageDate":"2026-01-01T00:00:00.0000000Z","usageResourceId":"aaaaaaaa-2222-3333-4444-555555555555","dimension":")" +
                   dim + R"(","planId":"plan1","offerId":"offer-x","azureSubscriptionId":"az-sub-a","reconStatus":"Accepted","submittedQuantity":)" +
                   quantity + R"(,"processedQuantity":)" + quantity + "}";
        };
        if (request.query_param("planId") == "loop") {  // links back to itself
            return respond(net::HttpResponse::json(200, R"({"value":[],"@nextLink":")" + base + request.target + R"("})"));
        }
        const auto page = request.query_param("page").value_or("1");
        if (page == "1") {  // a relative link
            return respond(net::HttpResponse::json(
                200, R"({"value":[)" + row("p1", "1.5") + R"(],"@nextLink":"/api/usageEvents?page=2"})"));
        }
        if (page == "2") {  // an absolute one
            return respond(net::HttpResponse::json(200, R"({"value":[)" + row("p2a", "2") + "," + row("p2b", "0.01") +
                                                            R"(],"nextLink":")" + base + R"(/api/usageEvents?page=3"})"));
        }
        respond(net::HttpResponse::json(200, R"({"value":[)" + row("p3", "3") + "]}"));
    });
    ASSERT_TRUE(server.ok()) << server.error().message;
    base = "http://127.0.0.1:" + std::to_string((*server)->port());

    TokenProvider tokens(token_options(std::string(kMarketplaceResourceId)), http, clock, &log);
    UsageEventsClientOptions options;
    options.base_url = base;
    options.retry = fast_retry();
    UsageEventsClient client(options, http, tokens, clock, &log, hooks);
    Collected rows;
    const auto summary = client.fetch(day("2026-01-01"), day("2026-01-01"), rows.sink());
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(summary->pages, 3);
    EXPECT_EQ(summary->rows, 4U);
    EXPECT_EQ(rows.quantity.at(std::string(kA) + "|p1|2026-01-01"), "1.5");
    EXPECT_EQ(rows.quantity.at(std::string(kA) + "|p2b|2026-01-01"), "0.01");
    EXPECT_EQ(rows.quantity.at(std::string(kA) + "|p3|2026-01-01"), "3");

    // A link back to a page already read would loop forever: an Error instead.
    UsageEventsFilter looping;
    looping.plan_id = "loop";
    const int before = requests.load();
    auto loop = client.fetch(day("2026-01-01"), day("2026-01-01"), rows.sink(), looping);
    ASSERT_FALSE(loop.ok());
    EXPECT_EQ(loop.error().field, "nextLink");
    EXPECT_EQ(requests.load() - before, 1);
}

// --- partner billing export ---------------------------------------------------------

TEST_F(ReconSources, PartnerExportPollsAndReadsEveryBlob) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "1.5"}, {kA, "dim2", "2026-01-01T10:00:00Z", "2"},
                 {kA, "dim3", "2026-01-01T10:00:00Z", "0.333"}, {kB, "dim1", "2026-01-01T10:00:00Z", "4"},
                 {kB, "dim2", "2026-01-01T10:00:00Z", "5.75"}});
    plant(R"({"kind":"rejected","resourceId":"bbbbbbbb-2222-3333-4444-555555555555","dimension":"dim2","day":"2026-01-01"})");
    set_clock("2026-01-02T06:00:00Z");
    export_settings(R"({"running_polls":2,"lines_per_blob":2,"retry_after_s":3})");
    // Two 429s with Retry-After while polling.
    fault(R"({"kind":"status","status":429,"retry_after_s":7,"count":2,"path":"/v1.0/reports/partners/billing/operations/"})");

    TokenProvider graph(token_options(std::string(kGraphResource)), http, clock, &log);
    auto client = partner_client(http, graph);
    Collected rows;
    const auto summary = client.fetch(PartnerBillingRequest::unbilled("current", "USD"), rows.sink());
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(summary->blobs, 2U);  // 4 billed lines (the Rejected row is not billed), 2 per blob
    EXPECT_EQ(summary->lines, 4U);
    EXPECT_EQ(summary->polls, 3);   // running, running, succeeded (the 429s are retries of polls)
    EXPECT_FALSE(summary->manifest_refreshed);
    EXPECT_EQ(rows.quantity.at("az-sub-a|dim1|2026-01-01"), "1.5");
    EXPECT_EQ(rows.quantity.at("az-sub-a|dim2|2026-01-01"), "2");
    EXPECT_EQ(rows.quantity.at("az-sub-a|dim3|2026-01-01"), "0.333");
    EXPECT_EQ(rows.quantity.at("az-sub-b|dim1|2026-01-01"), "4");
    EXPECT_EQ(rows.quantity.count("az-sub-b|dim2|2026-01-01"), 0U);
    EXPECT_EQ(rows.row.at("az-sub-a|dim1|2026-01-01").plan, "plan1");
    EXPECT_EQ(rows.row.at("az-sub-a|dim1|2026-01-01").source, recon::Source::PartnerBilling);

    // Retry-After of the 202 and of each running answer (3 s), and of the 429s (7 s).
    int threes = 0, sevens = 0;
    for (const auto d : slept()) {
        threes += d == 3s;
        sevens += d >= 7s;
    }
    EXPECT_EQ(threes, 3);
    EXPECT_EQ(sevens, 2);

    // Blobs are logged by request, status and counts, never the body or the SAS signature.
    int blob_records = 0;
    for (const auto& record : log.records()) {
        if (record.url.find("/blobs/") == std::string::npos) continue;
        ++blob_records;
        EXPECT_NE(record.url.find("sig=[redacted]"), std::string::npos) << record.url;
        EXPECT_EQ(record.status, 200);
        EXPECT_NE(record.response_body.find("lines]"), std::string::npos) << record.response_body;
        EXPECT_NE(record.response_body.find("[streamed: "), std::string::npos) << record.response_body;
    }
    EXPECT_EQ(blob_records, 2);
    const std::string dump = log.dump();
    EXPECT_EQ(dump.find("\"sasToken\":\"sv="), std::string::npos);
    expect_no_secrets_logged();
}

TEST_F(ReconSources, PartnerExportFailureAndBilledInvoices) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "2.5"}});
    set_clock("2026-01-02T06:00:00Z");
    export_settings(R"({"fail_next":1,"running_polls":0})");
    TokenProvider graph(token_options(std::string(kGraphResource)), http, clock, &log);
    auto client = partner_client(http, graph);
    Collected rows;
    auto failed = client.fetch(PartnerBillingRequest::unbilled(), rows.sink());
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, kExportFailed);
    EXPECT_NE(failed.error().message.find("InternalServerError"), std::string::npos) << failed.error().message;
    EXPECT_EQ(rows.count, 0U);

    // A billed export of a month not yet closed: Graph's 404 NotFound.
    auto open_month = client.fetch(PartnerBillingRequest::billed("G202601"), rows.sink());
    ASSERT_FALSE(open_month.ok());
    EXPECT_EQ(open_month.error().code, kSourceRefused);
    EXPECT_NE(open_month.error().message.find("HTTP 404"), std::string::npos) << open_month.error().message;
    EXPECT_NE(open_month.error().message.find("NotFound"), std::string::npos) << open_month.error().message;
    EXPECT_EQ(client.fetch(PartnerBillingRequest::billed(""), rows.sink()).error().field, "invoiceId");

    set_clock("2026-02-03T00:00:00Z");
    auto billed = client.fetch(PartnerBillingRequest::billed("G202601"), rows.sink());
    ASSERT_TRUE(billed.ok()) << billed.error().message;
    EXPECT_EQ(rows.quantity.at("az-sub-a|dim1|2026-01-01"), "2.5");

    // Running longer than max_wait (5 min): an export_timeout, not an endless
    // poll; "Retry-After: 0" is waited as min_poll_interval (1 s).
    export_settings(R"({"running_polls":1000,"retry_after_s":0})");
    const std::size_t sleeps_before = slept().size();
    auto timed_out = client.fetch(PartnerBillingRequest::unbilled("last"), rows.sink());
    ASSERT_FALSE(timed_out.ok());
    EXPECT_EQ(timed_out.error().code, kExportTimeout);
    EXPECT_NE(timed_out.error().message.find("(301 polls)"), std::string::npos) << timed_out.error().message;
    int one_second_waits = 0;
    const auto waits = slept();
    for (std::size_t i = sleeps_before; i < waits.size(); ++i) one_second_waits += waits[i] == 1s;
    EXPECT_EQ(one_second_waits, 300);

    // A manifest the client cannot read is refused before any download.
    class Rewriting final : public net::HttpTransport {
    public:
        Rewriting(net::HttpTransport& inner, std::string from, std::string to)
            : inner_(inner), from_(std::move(from)), to_(std::move(to)) {}
        Result<net::HttpExchangeResult> send(const net::HttpRequestSpec& request) override {
            auto answer = inner_.send(request);
            if (answer && request.url.find("/operations/") != std::string::npos) {
                if (const auto at = answer->body.find(from_); at != std::string::npos) {
                    answer->body.replace(at, from_.size(), to_);
                }
            }
            return answer;
        }

    private:
        net::HttpTransport& inner_;
        std::string from_, to_;
    };
    export_settings(R"({"running_polls":0,"retry_after_s":0})");
    for (const auto& [from, to, field] : {std::tuple{"\"compressedJSON\"", "\"csv\"", "dataFormat"},
                                          std::tuple{"\"blobCount\":1", "\"blobCount\":2", "blobCount"}}) {
        Rewriting rewriting(http, from, to);
        auto odd = partner_client(rewriting, graph);
        const auto blob_requests = [&] {
            int n = 0;
            for (const auto& record : log.records()) n += record.url.find("/blobs/") != std::string::npos;
            return n;
        };
        const int blobs_before = blob_requests();
        auto refused_manifest = odd.fetch(PartnerBillingRequest::unbilled("last"), rows.sink());
        ASSERT_FALSE(refused_manifest.ok()) << field;
        EXPECT_EQ(refused_manifest.error().code, kSourceUnreadable);
        EXPECT_EQ(refused_manifest.error().field, field);
        EXPECT_EQ(blob_requests(), blobs_before);  // nothing downloaded
    }

    // A marketplace token is not a Graph token: Graph's 401 after one refresh.
    TokenProvider marketplace(token_options(std::string(kMarketplaceResourceId)), http, clock, &log);
    auto wrong = partner_client(http, marketplace);
    auto refused = wrong.fetch(PartnerBillingRequest::unbilled(), rows.sink());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, kSourceRefused);
    EXPECT_NE(refused.error().message.find("InvalidAuthenticationToken"), std::string::npos) << refused.error().message;
    EXPECT_EQ(marketplace.fetch_count(), 2U);
}

// The SAS of the manifest expires between two blobs (the sandbox clock moves
// on while the first blob is read): the client meets the 403, fetches the
// operation again, gets the fresh SAS the sandbox signs for an expired one,
// and reads the rest with it, no row given twice. A fresh SAS that is refused
// too is an error: the operation is fetched once more, not again and again.
TEST_F(ReconSources, PartnerExportRecoversFromAnExpiredBlobUrlOnce) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "1"}, {kA, "dim2", "2026-01-01T10:00:00Z", "2"},
                 {kA, "dim3", "2026-01-01T10:00:00Z", "3"}});
    set_clock("2026-01-02T06:00:00Z");
    TokenProvider graph(token_options(std::string(kGraphResource)), http, clock, &log);

    // What the client sent: each blob GET's signature and answer, and the operation GETs.
    struct Seen {
        std::vector<std::pair<std::string, int>> blobs;  // (sig, status)
        int operation_gets = 0;
    };
    const auto watch = [](SpyTransport& spy, Seen& seen) {
        spy.after = [&seen](const net::HttpRequestSpec& request, int status) {
            if (request.url.find("/operations/") != std::string::npos) ++seen.operation_gets;
            if (request.url.find("/blobs/") == std::string::npos) return;
            const auto sig = request.url.find("sig=");
            seen.blobs.emplace_back(sig == std::string::npos ? "" : request.url.substr(sig), status);
        };
    };

    {
        SCOPED_TRACE("the re-fetched SAS works");
        export_settings(R"({"running_polls":0,"lines_per_blob":1,"sas_ttl_s":600})");
        SpyTransport spy(http);
        Seen seen;
        watch(spy, seen);
        auto client = partner_client(spy, graph);
        Collected rows;
        const auto sink = rows.sink();
        auto summary = client.fetch(PartnerBillingRequest::unbilled(), [&](const recon::AzureRow& row) -> Status {
            // While the first blob is read, 20 minutes pass: its SAS (600 s) expires.
            if (rows.count == 0) set_clock("2026-01-02T06:20:00Z");
            return sink(row);
        });
        ASSERT_TRUE(summary.ok()) << summary.error().message;
        EXPECT_TRUE(summary->manifest_refreshed);
        EXPECT_EQ(summary->polls, 2);  // the outcome, then the fresh SAS
        EXPECT_EQ(seen.operation_gets, 2);
        EXPECT_EQ(summary->blobs, 3U);
        EXPECT_EQ(summary->lines, 3U);
        EXPECT_EQ(rows.count, 3U);  // Collected fails the test on a row given twice
        EXPECT_EQ(rows.quantity.at("az-sub-a|dim1|2026-01-01"), "1");
        EXPECT_EQ(rows.quantity.at("az-sub-a|dim2|2026-01-01"), "2");
        EXPECT_EQ(rows.quantity.at("az-sub-a|dim3|2026-01-01"), "3");
        // Blob 1 with the first SAS; blob 2 refused with it, then read with the
        // fresh one, as blob 3.
        ASSERT_EQ(seen.blobs.size(), 4U);
        const std::string first_sig = seen.blobs[0].first;
        const std::string fresh_sig = seen.blobs[2].first;
        EXPECT_FALSE(first_sig.empty());
        EXPECT_NE(fresh_sig, first_sig);
        EXPECT_EQ(seen.blobs[0], std::pair(first_sig, 200));
        EXPECT_EQ(seen.blobs[1], std::pair(first_sig, 403));
        EXPECT_EQ(seen.blobs[2], std::pair(fresh_sig, 200));
        EXPECT_EQ(seen.blobs[3], std::pair(fresh_sig, 200));
    }
    {
        SCOPED_TRACE("the re-fetched SAS fails too");
        export_settings(R"({"sas_ttl_s":0})");  // every SAS is born expired
        SpyTransport spy(http);
        Seen seen;
        watch(spy, seen);
        auto client = partner_client(spy, graph);
        Collected rows;
        auto summary = client.fetch(PartnerBillingRequest::unbilled(), rows.sink());
        ASSERT_FALSE(summary.ok());
        EXPECT_EQ(summary.error().code, kSourceRefused);
        EXPECT_NE(summary.error().message.find("AuthenticationFailed"), std::string::npos) << summary.error().message;
        EXPECT_NE(summary.error().message.find("Signed expiry time"), std::string::npos) << summary.error().message;
        EXPECT_EQ(rows.count, 0U);
        // One refresh: the outcome and one more operation GET, and blob 1 tried
        // with each SAS (the fresh one too, so the refresh really was used).
        EXPECT_EQ(seen.operation_gets, 2);
        ASSERT_EQ(seen.blobs.size(), 2U);
        EXPECT_EQ(seen.blobs[0].second, 403);
        EXPECT_EQ(seen.blobs[1].second, 403);
        EXPECT_NE(seen.blobs[1].first, seen.blobs[0].first);
    }
}

TEST_F(ReconSources, PartnerExportRetriesABlobWhoseConnectionBreaks) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "1"}, {kA, "dim2", "2026-01-01T10:00:00Z", "2"}});
    set_clock("2026-01-02T06:00:00Z");
    export_settings(R"({"running_polls":0,"lines_per_blob":1})");
    fault(R"({"kind":"reset","count":1,"path":"/blobs/"})");
    fault(R"({"kind":"status","status":503,"count":1,"path":"/blobs/"})");
    TokenProvider graph(token_options(std::string(kGraphResource)), http, clock, &log);
    auto client = partner_client(http, graph);
    Collected rows;
    auto summary = client.fetch(PartnerBillingRequest::unbilled(), rows.sink());
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(rows.count, 2U);
    EXPECT_EQ(rows.quantity.at("az-sub-a|dim2|2026-01-01"), "2");
}

// A download that breaks off mid-body (simulated under the client: the
// transport stops after two chunks as a reset would) is retried from the
// blob's start, and the lines already handed over are not given again.
TEST_F(ReconSources, PartnerExportResumesABrokenDownloadWithoutGivingARowTwice) {
    plant(R"({"kind":"bulk","resourceId":"aaaaaaaa-2222-3333-4444-555555555555","dimension":"bulk","day":"2026-01-01","lines":20000,"quantity":"0.25"})");
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "1"}});
    set_clock("2026-01-02T06:00:00Z");
    export_settings(R"({"running_polls":0,"lines_per_blob":100000})");

    class Breaking final : public net::HttpTransport {
    public:
        explicit Breaking(net::HttpTransport& inner) : inner_(inner) {}
        Result<net::HttpExchangeResult> send(const net::HttpRequestSpec& request) override { return inner_.send(request); }
        Result<net::HttpExchangeResult> send_streaming(const net::HttpRequestSpec& request,
                                                       const net::BodySink& sink) override {
            if (breaks_left == 0) return inner_.send_streaming(request, sink);
            --breaks_left;
            int chunks = 0;
            auto answer = inner_.send_streaming(request, [&](std::string_view chunk) -> Status {
                if (++chunks > 2) return make_error(std::string(net::kOutcomeUnknown), "connection reset (simulated)");
                return sink(chunk);
            });
            return answer;
        }
        int breaks_left = 2;

    private:
        net::HttpTransport& inner_;
    };
    Breaking breaking(http);
    TokenProvider graph(token_options(std::string(kGraphResource)), http, clock, &log);
    auto client = partner_client(breaking, graph);
    auto names = recon::NameMap::make({{"az-sub-a", kA}});
    ASSERT_TRUE(names.ok());
    recon::AzureEvidence evidence(*names);
    std::uint64_t calls = 0;
    auto summary = client.fetch(PartnerBillingRequest::unbilled(), [&](const recon::AzureRow& row) -> Status {
        ++calls;
        return evidence.add(row);
    });
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(breaking.breaks_left, 0);
    EXPECT_EQ(calls, 20001U);
    EXPECT_EQ(summary->lines, 20001U);
    ASSERT_EQ(evidence.totals().size(), 2U);
    for (const auto& [key, total] : evidence.totals()) {
        if (key.second.dimension == "bulk") {
            EXPECT_EQ(total.rows, 20000U);
            EXPECT_EQ(total.quantity, *Decimal::parse("5000"));
        } else {
            EXPECT_EQ(total.rows, 1U);
        }
    }
    // Two broken attempts and the whole one, all logged.
    int blob_attempts = 0;
    for (const auto& record : log.records()) blob_attempts += record.url.find("/blobs/") != std::string::npos;
    EXPECT_EQ(blob_attempts, 3);
}

namespace {
// Peak resident set (VmHWM) in KiB.
long peak_rss_kib() { return testing::proc_status_kib("VmHWM"); }
long current_rss_kib() { return testing::proc_status_kib("VmRSS"); }
}  // namespace

// 200 000 export lines (about 300 MB of JSON): rows arrive one by one, the
// client never holds more than one chunk of a blob, and the process's peak
// memory grows by far less than the data.
TEST_F(ReconSources, PartnerExportStreamsBlobsInBoundedMemory) {
    plant(R"({"kind":"bulk","resourceId":"aaaaaaaa-2222-3333-4444-555555555555","dimension":"bulk","day":"2026-01-01","lines":200000,"quantity":"0.5"})");
    set_clock("2026-01-02T06:00:00Z");
    export_settings(R"({"running_polls":0,"lines_per_blob":100000})");
    TokenProvider graph(token_options(std::string(kGraphResource)), http, clock, &log);
    auto client = partner_client(http, graph);
    auto names = recon::NameMap::make({{"az-sub-a", kA}});
    ASSERT_TRUE(names.ok());
    recon::AzureEvidence evidence(*names);

    { std::ofstream("/proc/self/clear_refs") << "5"; }  // resets VmHWM to the current RSS (Linux >= 4.0)
    const long rss_before = current_rss_kib();
    auto summary = client.fetch(PartnerBillingRequest::unbilled(),
                                [&](const recon::AzureRow& row) -> Status { return evidence.add(row); });
    const long peak = peak_rss_kib();
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(summary->lines, 200000U);
    EXPECT_EQ(summary->blobs, 2U);
    ASSERT_EQ(evidence.totals().size(), 1U);
    const auto& total = evidence.totals().begin()->second;
    EXPECT_EQ(total.quantity, *Decimal::parse("100000"));  // 200 000 x 0.5, exactly
    EXPECT_EQ(total.rows, 200000U);
    EXPECT_EQ(evidence.totals().begin()->first.second.resource_id, kA);

    // Never more than one chunk (64 KiB) held, though each blob is much larger.
    EXPECT_LE(summary->largest_chunk, net::kStreamChunkBytes);
    EXPECT_GT(summary->compressed_bytes, 8 * summary->largest_chunk);
    const long growth_kib = peak - rss_before;
    std::cout << "compressed " << summary->compressed_bytes << " bytes, largest chunk " << summary->largest_chunk
              << " bytes, peak RSS growth " << growth_kib / 1024 << " MiB\n";
    // The sandbox (in this process) holds each compressed blob while serving
    // it; the decompressed lines (~300 MB) must never be held.
    EXPECT_LT(growth_kib, 64L * 1024) << "peak RSS grew by " << growth_kib / 1024 << " MiB";
}

// --- EA charges -----------------------------------------------------------------

TEST_F(ReconSources, EaChargesRowsKeyAndDates) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "3.75"}, {kB, "dim2", "2026-01-01T10:00:00Z", "0.1"}});
    plant(R"({"kind":"mismatch","resourceId":"bbbbbbbb-2222-3333-4444-555555555555","dimension":"dim2","day":"2026-01-01","quantity":"0.05"})");
    set_clock("2026-01-02T06:00:00Z");
    auto client = ea_client();
    Collected rows;
    auto summary = client.fetch("1234567", day("2026-01-01"), day("2026-01-31"), rows.sink());
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(summary->rows, 2U);
    EXPECT_EQ(rows.quantity.at("az-sub-a|dim1|2026-01-01"), "3.75");
    EXPECT_EQ(rows.quantity.at("az-sub-b|dim2|2026-01-01"), "0.05");
    EXPECT_EQ(rows.row.at("az-sub-a|dim1|2026-01-01").source, recon::Source::EaCharges);

    // A wrong key: EA's 401 with its code.
    auto wrong_key = ea_client("not-the-key");
    auto refused = wrong_key.fetch("1234567", day("2026-01-01"), day("2026-01-31"), rows.sink());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, kSourceRefused);
    EXPECT_NE(refused.error().message.find("HTTP 401"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("Unauthorized"), std::string::npos) << refused.error().message;
    EXPECT_EQ(log.dump().find("not-the-key"), std::string::npos);

    // A range of 36 months or more: EA's 400 naming the parameter.
    auto too_long = client.fetch("1234567", day("2023-01-01"), day("2026-01-31"), rows.sink());
    ASSERT_FALSE(too_long.ok());
    EXPECT_EQ(too_long.error().code, kSourceRefused);
    EXPECT_NE(too_long.error().message.find("HTTP 400"), std::string::npos) << too_long.error().message;
    EXPECT_NE(too_long.error().message.find("BadRequest"), std::string::npos) << too_long.error().message;

    // Checked before sending.
    EXPECT_EQ(client.fetch("12ab", day("2026-01-01"), day("2026-01-31"), rows.sink()).error().field, "enrollment");
    EXPECT_EQ(client.fetch("1234567", day("2026-01-31"), day("2026-01-01"), rows.sink()).error().field, "endTime");

    // 503 then an answer.
    fault(R"({"kind":"status","status":503,"count":1,"path":"/v3/"})");
    Collected again;
    ASSERT_TRUE(client.fetch("1234567", day("2026-01-01"), day("2026-01-31"), again.sink()).ok());
    EXPECT_EQ(again.count, 2U);
    expect_no_secrets_logged();
}

TEST_F(ReconSources, EaChargesFromAFile) {
    post_events({{kA, "dim1", "2026-01-01T10:00:00Z", "3.75"}});
    set_clock("2026-01-02T06:00:00Z");
    const auto answer = raw.send(get(sandbox->base_url() +
                                         "/v3/enrollments/1234567/marketplacechargesbycustomdate?startTime=2026-01-01&endTime=2026-01-31",
                                     kEaKey));
    ASSERT_TRUE(answer.ok());
    testing::TempDir dir;
    const auto path = dir.path() / "charges.json";
    std::ofstream(path) << answer->body;
    Collected rows;
    auto summary = read_ea_charges_file(path, rows.sink());
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(rows.quantity.at("az-sub-a|dim1|2026-01-01"), "3.75");

    auto missing = read_ea_charges_file(dir.path() / "nope.json", rows.sink());
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, "file_unreadable");
    std::ofstream(dir.path() / "bad.json") << R"([{"subscriptionGuid":"x","meterId":"d","usageStartDate":"2026-01-01T00:00:00Z","consumedQuantity":"lots"}])";
    auto bad = read_ea_charges_file(dir.path() / "bad.json", rows.sink());
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, kSourceUnreadable);
    EXPECT_NE(bad.error().message.find("bad.json"), std::string::npos);
}

}  // namespace
}  // namespace meterbridge::azure

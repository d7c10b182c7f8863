// Security checks as tests (issue 5 part 4): who may deliver webhooks and use
// the ops API, secrets that never leak, slow clients cut off by the server's
// timeouts, and SQL that is never built from values.
#include "chaos_support.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "meterbridge/m3ter/signature.hpp"

namespace meterbridge::chaos {
namespace {

using testing::bill_json;
using testing::envelope;
using testing::kApiKey;
using testing::kApiSecret;
using testing::kOpsToken;
using testing::kPublicUrl;

constexpr const char* kAzureSecret = "chaos-azure-client-secret-5f2e9a";

std::string file_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string url_encode(const std::string& text) {
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", c);
            out += hex;
        }
    }
    return out;
}

// The three m3ter headers for `body`, signed with `secret` at `timestamp`.
net::Headers signed_headers(const std::string& body, Instant timestamp, const std::string& key = kApiKey,
                            const std::string& secret = kApiSecret) {
    m3ter::WebhookConfig webhook;
    webhook.api_key = Secret(key, "test");
    webhook.api_secret = Secret(secret, "test");
    const std::string seconds =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timestamp.time_since_epoch()).count());
    net::Headers headers;
    headers.set("Content-Type", "application/json");
    headers.set(std::string(m3ter::kApiKeyHeader), key);
    headers.set(std::string(m3ter::kTimestampHeader), seconds);
    headers.set(std::string(m3ter::kSignatureHeader),
                m3ter::sign(webhook, std::string(kPublicUrl) + "/webhooks/m3ter", seconds, body));
    return headers;
}

class Security : public ::testing::Test {
protected:
    void SetUp() override {
        ChaosRigOptions setup;
        setup.sandbox_args = {"--client-secret", kAzureSecret};
        setup.azure_secret = kAzureSecret;
        rig = std::make_unique<ChaosRig>(setup);
        ASSERT_NO_FATAL_FAILURE(rig->start());
        sandbox = &rig->sandbox;
        daemon = &rig->daemon;
        clock = &rig->clock;
    }

    // Every answer body is kept, to be searched for secrets at the end.
    HttpAnswer call(const std::string& method, const std::string& target, const std::string& body = {},
                    net::Headers headers = {}, bool ops_token = true) {
        HttpAnswer answer = daemon->request(method, target, body, std::move(headers), ops_token);
        bodies.push_back(answer.body);
        return answer;
    }

    std::unique_ptr<ChaosRig> rig;
    SandboxProcess* sandbox = nullptr;  // parts of rig
    DaemonProcess* daemon = nullptr;
    CampaignClock* clock = nullptr;
    std::vector<std::string> bodies;
};

TEST_F(Security, BadlySignedWebhooksAre401AndNothingIsStored) {
    const std::string body = envelope("billing.bill.created",
                                      bill_json("intruder-bill", 1, "acc-b1", {{"USAGE", "99.99", "", ""}}));
    const Instant now = daemon->now();
    struct Case {
        std::string name;
        std::string body;
        net::Headers headers;
    };
    std::vector<Case> cases;
    cases.push_back({"wrong API key", body, signed_headers(body, now, "not-the-key")});
    cases.push_back({"wrong secret", body, signed_headers(body, now, kApiKey, "not-the-secret")});
    std::string tampered = body;
    tampered.replace(tampered.find("99.99"), 5, "11.11");
    cases.push_back({"tampered body", tampered, signed_headers(body, now)});
    cases.push_back({"stale timestamp", body, signed_headers(body, now - std::chrono::seconds(301))});
    cases.push_back({"future timestamp", body, signed_headers(body, now + std::chrono::seconds(301))});
    for (const char* header : {m3ter::kApiKeyHeader.data(), m3ter::kTimestampHeader.data(),
                               m3ter::kSignatureHeader.data()}) {
        net::Headers headers = signed_headers(body, now);
        headers.erase(header);
        cases.push_back({std::string("missing ") + header, body, headers});
    }
    net::Headers empty_signature = signed_headers(body, now);
    empty_signature.set(std::string(m3ter::kSignatureHeader), "");
    cases.push_back({"empty signature", body, empty_signature});
    net::Headers millis = signed_headers(body, now);
    millis.set(std::string(m3ter::kTimestampHeader), "abc");
    cases.push_back({"non-numeric timestamp", body, millis});

    for (const Case& c : cases) {
        const HttpAnswer answer = call("POST", "/webhooks/m3ter", c.body, c.headers, false);
        EXPECT_EQ(answer.status, 401) << c.name << ": " << answer.body;
    }
    EXPECT_EQ(call("GET", "/bills/intruder-bill").status, 404);
    // Not in the database in any form (the bill id is in every refused body).
    for (const char* file : {"meterbridge.db", "meterbridge.db-wal"}) {
        EXPECT_EQ(file_text(rig->dir.path() / file).find("intruder-bill"), std::string::npos) << file;
    }
    // The control: the same body, correctly signed, is accepted.
    EXPECT_EQ(call("POST", "/webhooks/m3ter", body, signed_headers(body, daemon->now()), false).status, 202);
}

TEST_F(Security, OpsEndpointsWithoutOrWithAWrongTokenAre401) {
    const std::vector<std::pair<std::string, std::string>> routes = {
        {"GET", "/reportedusage"},       {"GET", "/bills/b"},          {"POST", "/bills/b/reprocess"},
        {"GET", "/integrationruns"},     {"GET", "/integrationruns/1"}, {"GET", "/events"},
        {"POST", "/events/1/retry"},     {"GET", "/mappings"},          {"POST", "/mappings"},
        {"DELETE", "/mappings/1"},       {"PUT", "/testing/clock"}};
    const std::vector<std::pair<std::string, std::optional<std::string>>> credentials = {
        {"no token", std::nullopt},
        {"wrong token", "Bearer not-the-token"},
        {"token with a suffix", std::string("Bearer ") + kOpsToken + "x"},
        {"token prefix", std::string("Bearer ") + std::string(kOpsToken).substr(0, 5)},
        {"basic scheme", std::string("Basic ") + kOpsToken},
        {"empty bearer", "Bearer "}};
    for (const auto& [method, path] : routes) {
        for (const auto& [name, value] : credentials) {
            net::Headers headers;
            if (value) headers.set("Authorization", *value);
            const std::string body = method == "GET" || method == "DELETE" ? "" : "{}";
            const HttpAnswer answer = call(method, path, body, headers, false);
            EXPECT_EQ(answer.status, 401) << method << " " << path << " with " << name << ": " << answer.body;
        }
    }
    // Health, readiness and metrics are open by design (SPEC §5).
    EXPECT_EQ(call("GET", "/healthz", {}, {}, false).status, 200);
    EXPECT_EQ(call("GET", "/metrics", {}, {}, false).status, 200);
}

TEST_F(Security, SecretsAppearInNoLogNoDatabaseAndNoAnswer) {
    // Exercise everything that touches a secret: deliveries, token fetches
    // (several: the clock jumps past each token's lifetime), batches, 401s.
    for (int n = 0; n < 3; ++n) {
        ASSERT_EQ(daemon->post_bill(envelope("billing.bill.created",
                                             bill_json("sec-bill-" + std::to_string(n), 1, "acc-b1",
                                                       {{"USAGE", std::to_string(n + 1) + ".00", "", ""}})))
                      .status,
                  202);
        ASSERT_EQ(daemon->post_bill(bill_json("sec-prod-" + std::to_string(n), 1, "acc-p1",
                                              {{"USAGE", "2.50", "prod-compute", ""}, {"USAGE", "1.25", "prod-storage", ""}}))
                      .status,
                  202);
        ASSERT_TRUE(DaemonProcess::eventually([&] { return queue_figures(*daemon).quiet(); })) << daemon->log();
        clock->jump(std::chrono::minutes(90));
    }
    EXPECT_TRUE(sandbox->fault(R"({"kind":"status","status":401,"path":"/tenant-chaos/"})"));
    clock->jump(std::chrono::minutes(90));  // a failed token fetch is logged too
    ASSERT_EQ(daemon->post_bill(envelope("billing.bill.updated",
                                         bill_json("sec-bill-0", 2, "acc-b1", {{"USAGE", "7.00", "", ""}})))
                  .status,
              202);
    ASSERT_TRUE(DaemonProcess::eventually([&] { return queue_figures(*daemon).quiet(); }, std::chrono::seconds(30)))
        << daemon->log();
    call("POST", "/webhooks/m3ter", "{}", signed_headers("{}", daemon->now(), kApiKey, "wrong"), false);
    call("GET", "/bills/x", {}, net::Headers{}, false);

    // Read everything an operator can read.
    for (const char* path : {"/reportedusage?pageSize=1000", "/bills/sec-bill-0", "/bills/sec-prod-1", "/events",
                             "/mappings", "/metrics", "/readyz", "/healthz", "/integrationruns?limit=1000"}) {
        EXPECT_EQ(call("GET", path).status, 200) << path;
    }
    const Json runs = daemon->get("/integrationruns?limit=1000").json();
    ASSERT_FALSE(runs["data"].empty());
    for (const Json& run : runs["data"]) call("GET", "/integrationruns/" + std::to_string(run["id"].get<std::int64_t>()));
    // Token exchanges are logged too (not tied to a run): the metrics count them.
    EXPECT_NE(daemon->request("GET", "/metrics", {}, {}, false).body.find("meterbridge_token_http_responses{code=\"200\"}"),
              std::string::npos);

    // check-config prints the resolved config: secrets masked.
    {
        const auto out = rig->dir.path() / "check-config.out";
        testing::ChildProcess check({testing::meterbridge_binary(), "check-config", "--config",
                                     (rig->dir.path() / "config.json").string()},
                                    {{"MB_E2E_API_KEY", kApiKey}, {"MB_E2E_API_SECRET", kApiSecret},
                                     {"MB_E2E_OPS_TOKEN", kOpsToken}},
                                    out);
        EXPECT_EQ(check.stop(0, std::chrono::seconds(15)), 0) << file_text(out);
        bodies.push_back(file_text(out));
    }

    const std::vector<std::string> tokens = sandbox->issued_tokens();
    ASSERT_GE(tokens.size(), 2u) << "expected several bearer tokens to have been issued: " << sandbox->stats().dump()
                                 << daemon->log();
    std::vector<std::pair<std::string, std::string>> secrets = {
        {"Azure client secret", kAzureSecret}, {"m3ter API secret", kApiSecret}, {"ops token", kOpsToken}};
    for (const auto& token : tokens) secrets.push_back({"bearer token", token});

    std::vector<std::pair<std::string, std::string>> haystacks;
    for (const auto& entry : std::filesystem::directory_iterator(rig->dir.path())) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with("daemon-") || name.starts_with("meterbridge.db")) {
            haystacks.push_back({name, file_text(entry.path())});
        }
    }
    ASSERT_GE(haystacks.size(), 3u);  // a log, the database and its WAL at least
    for (std::size_t i = 0; i < bodies.size(); ++i) haystacks.push_back({"answer " + std::to_string(i), bodies[i]});
    std::size_t bytes = 0;
    for (const auto& [where, text] : haystacks) {
        bytes += text.size();
        for (const auto& [what, secret] : secrets) {
            EXPECT_EQ(text.find(secret), std::string::npos) << what << " found in " << where;
        }
    }
    std::printf("secrets: %zu secret values (%zu bearer tokens) searched in %zu logs/files/answers, %zu bytes\n",
                secrets.size(), tokens.size(), haystacks.size(), bytes);
}

// Raw sockets: a client that trickles its request one byte at a time must be
// cut off when the server's per-phase timeout (header 10 s, body 30 s, fixed
// in src/net/http_server.hpp; not configurable) runs out. Returns seconds
// until the server closed the connection, or -1 if it never did within `limit`.
double seconds_until_cut_off(std::uint16_t port, const std::string& opening, std::chrono::seconds limit) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -2;
    }
    const auto started = std::chrono::steady_clock::now();
    ::send(fd, opening.data(), opening.size(), MSG_NOSIGNAL);
    double result = -1;
    while (std::chrono::steady_clock::now() - started < limit) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        char byte = 'x';
        char answer[512];
        const ssize_t got = ::recv(fd, answer, sizeof answer, MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
            ::send(fd, &byte, 1, MSG_NOSIGNAL) < 0) {
            result = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            break;
        }
    }
    ::close(fd);
    return result;
}

TEST_F(Security, SlowHeaderAndSlowBodyClientsAreCutOff) {
    const std::uint16_t port = daemon->port();
    double header_seconds = 0, body_seconds = 0;
    // Both at once: the test takes as long as the longer timeout.
    std::thread slow_header([&] {
        header_seconds = seconds_until_cut_off(port, "POST /webhooks/m3ter HTTP/1.1\r\nHost: x\r\nX-Slow: ",
                                               std::chrono::seconds(20));
    });
    std::thread slow_body([&] {
        body_seconds = seconds_until_cut_off(
            port,
            "POST /webhooks/m3ter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
            std::chrono::seconds(40));
    });
    slow_header.join();
    slow_body.join();
    std::printf("slow clients: header cut off after %.1f s, body after %.1f s\n", header_seconds, body_seconds);
    EXPECT_GE(header_seconds, 9.0);
    EXPECT_LE(header_seconds, 14.0);
    EXPECT_GE(body_seconds, 29.0);
    EXPECT_LE(body_seconds, 34.0);
    // The server is still serving others.
    EXPECT_EQ(call("GET", "/healthz", {}, {}, false).status, 200);
}

TEST_F(Security, SqlInjectionLookingIdsAreStoredVerbatim) {
    const std::vector<std::string> nasty = {"'; DROP TABLE bills;--", "x' OR '1'='1", "Robert'); DROP TABLE deliveries;--",
                                            "\" OR 1=1 --", "%27%3B--", "a\\'b"};
    int n = 0;
    for (const std::string& id : nasty) {
        const std::string account = id + "-acc";
        const std::string product = id + "-prod";
        Json bill = {{"id", id},       {"version", 1},          {"accountId", account},
                     {"status", "APPROVED"}, {"currency", "USD"},
                     {"lineItems", Json::array({{{"lineItemType", "USAGE"}, {"subtotal", 1}, {"productId", product}}})}};
        const Json event = {{"id", id + "-evt"}, {"eventName", "billing.bill.created"},
                            {"m3terEvent", {{"eventData", {{"new", bill}}}}}};
        ASSERT_EQ(daemon->post_bill(event.dump()).status, 202) << id;
        const HttpAnswer detail = call("GET", "/bills/" + url_encode(id));
        ASSERT_EQ(detail.status, 200) << id << ": " << detail.body;
        const Json parsed = detail.json();
        EXPECT_EQ(parsed["billId"].get<std::string>(), id);
        EXPECT_EQ(parsed["accountId"].get<std::string>(), account);
        EXPECT_EQ(parsed["versions"][0]["bill"]["lineItems"][0]["productId"].get<std::string>(), product);

        for (const std::string query : {"/reportedusage?billId=", "/reportedusage?accountId=", "/integrationruns?billId=",
                                        "/integrationruns?accountId="}) {
            const HttpAnswer answer = call("GET", query + url_encode(id));
            EXPECT_EQ(answer.status, 200) << query << id << ": " << answer.body;
        }
        const HttpAnswer runs = call("GET", "/integrationruns?billId=" + url_encode(id));
        EXPECT_EQ(call("POST", "/bills/" + url_encode(id) + "/reprocess").status, 202) << id;
        EXPECT_EQ(call("GET", "/events?status=" + url_encode(id)).status, 400) << id;
        EXPECT_EQ(call("GET", "/integrationruns/" + url_encode(id)).status, 404) << id;
        EXPECT_EQ(call("POST", "/events/" + url_encode(id) + "/retry").status, 404) << id;
        EXPECT_EQ(call("DELETE", "/mappings/" + url_encode(id)).status, 404) << id;

        const Json mapping = {{"m3ter_entity", "Product"}, {"m3ter_id", product},
                              {"external_table", "Dimension"}, {"external_id", id + "-dim-" + std::to_string(n++)}};
        const HttpAnswer added = call("POST", "/mappings", mapping.dump());
        ASSERT_EQ(added.status, 201) << added.body;
        const Json listed = daemon->get("/mappings").json();
        bool found = false;
        for (const Json& m : listed["data"]) {
            found |= m["m3ter_id"] == product && m["external_id"] == mapping["external_id"];
        }
        EXPECT_TRUE(found) << id << " mapping not stored verbatim: " << listed.dump();
        EXPECT_EQ(call("DELETE", "/mappings/" + added.json()["id"].get<std::string>()).status, 204);
        (void)runs;
    }
    // Every table still there and working: a normal bill goes all the way to Azure.
    ASSERT_EQ(daemon->post_bill(bill_json("after-injection", 1, "acc-b1", {{"USAGE", "3.21", "", ""}})).status, 202);
    EXPECT_TRUE(DaemonProcess::eventually([&] {
        return daemon->get("/reportedusage?billId=after-injection").body.find("321") != std::string::npos;
    })) << daemon->log();
    EXPECT_EQ(call("GET", "/readyz", {}, {}, false).status, 200);
}

// The store's rule (src/store/sqlite.hpp): SQL is a string literal, values are
// bound. `prepare`, `run` and `query_int` take `const char*`, so a std::string
// cannot slip in without `.c_str()`; this check fails on any such call, and on
// raw sqlite3_exec/prepare outside the RAII layer.
TEST(SecuritySource, TheStoreBuildsNoSqlFromValues) {
    const std::filesystem::path store = std::filesystem::path(METERBRIDGE_SOURCE_DIR) / "src" / "store";
    const std::regex call(R"(\b(prepare|run|query_int|exec)\(\s*([^\s)]))");
    int calls = 0;
    for (const auto& entry : std::filesystem::directory_iterator(store)) {
        const std::string name = entry.path().filename().string();
        if (entry.path().extension() != ".cpp") continue;
        const std::string text = file_text(entry.path());
        if (name != "sqlite.cpp") {
            EXPECT_EQ(text.find("sqlite3_exec"), std::string::npos) << name;
            EXPECT_EQ(text.find("sqlite3_prepare"), std::string::npos) << name;
        }
        for (auto it = std::sregex_iterator(text.begin(), text.end(), call); it != std::sregex_iterator(); ++it) {
            const auto at = static_cast<std::size_t>(it->position(0));
            const std::string line = text.substr(text.rfind('\n', at) + 1, text.find('\n', at) - text.rfind('\n', at) - 1);
            if (line.find("Database::") != std::string::npos || line.find("Statement") == 0) continue;  // definitions
            const std::string first = (*it)[2].str();
            ++calls;
            if (first == "\"" || line.find("(\"") != std::string::npos) continue;  // a literal
            // Allowed, with reasons: migrations run their own literal scripts, and
            // PRAGMA user_version takes no bound parameter (the value is an int).
            if (name == "migrations.cpp" &&
                (line.find("exec(m.sql)") != std::string::npos || line.find("set_version.c_str()") != std::string::npos)) {
                continue;
            }
            // Macros that expand to literals (column lists) and a callee's own
            // `sql` parameter forwarded from a literal are fine; anything else is flagged.
            if (line.find("MB_") != std::string::npos || line.find("(sql") != std::string::npos) continue;
            if (line.find("run(") != std::string::npos && line.find(".run()") != std::string::npos) continue;
            ADD_FAILURE() << name << ": SQL that is not a literal: " << line;
        }
    }
    EXPECT_GT(calls, 30);
}

}  // namespace
}  // namespace meterbridge::chaos

// `meterbridge simulate` (issue 19) run as the real binary: table and JSON
// output, the account file, bad input named with exit 2, and proof that it
// touches neither the database nor Azure nor m3ter: the config's sqlite_path
// lies in an empty writable directory that stays empty, and Azure's and
// m3ter's URLs point at a loopback socket of this test that nobody connects to.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "meterbridge/core/exact_json.hpp"
#include "process.hpp"
#include "support/temp_dir.hpp"

namespace meterbridge::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSub = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

// A listening loopback socket that is never accepted from: a connection made
// by the binary would wait in its backlog, where accept_pending() finds it.
class Witness {
public:
    Witness() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
        socklen_t length = sizeof address;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            ADD_FAILURE() << "no loopback socket: " << std::strerror(errno);
        }
        port_ = ntohs(address.sin_port);
        ::fcntl(fd_, F_SETFL, O_NONBLOCK);
    }
    ~Witness() { ::close(fd_); }
    Witness(const Witness&) = delete;
    Witness& operator=(const Witness&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    bool connected_to() const {
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) return false;
        ::close(client);
        return true;
    }

private:
    int fd_ = -1;
    int port_ = 0;
};

class SimulateCli : public ::testing::Test {
protected:
    SimulateCli() {
        std::filesystem::create_directory(dir.path() / "db");
        config = Json::parse(R"({
          "listen": {"address": "127.0.0.1", "port": 8080},
          "webhook": {"api_key": "env:MB_SIMULATE_TEST_UNSET_KEY", "api_secret": "env:MB_SIMULATE_TEST_UNSET_SECRET"},
          "ops": {"token": "file:/nonexistent/ops-token"},
          "scheduler": {"policy": "hour_close", "flush_delay_s": 60},
          "integrations": [
            {"id": "per-product", "name": "By product", "split_usage_line_items": "ITEM_PER_PRODUCT", "plan_id": "gold"},
            {"id": "uk-only", "split_usage_line_items": "ITEM_PER_BILL", "marketplace_bill_dimension": "total",
             "plan_id": "gold", "account_filter": "customFields.country == \"UK\""}
          ],
          "external_mappings": [
            {"m3ter_entity": "Product", "m3ter_id": "p-storage", "external_system": "AzureMarketplace",
             "external_table": "Dimension", "external_id": "storage"}
          ]
        })");
        config["storage"] = {{"sqlite_path", (dir.path() / "db" / "meterbridge.db").string()}};
        config["azure"] = {{"mode", "live"},
                           {"metering_base_url", azure.url()},
                           {"token_url", azure.url() + "/tenant/oauth2/v2.0/token"},
                           {"tenant_id", "tenant"},
                           {"client_id", "client"},
                           {"client_secret", "env:MB_SIMULATE_TEST_UNSET_AZURE"}};
        config["m3ter"] = {{"base_url", m3ter.url()},
                           {"org_id", "org"},
                           {"client_id", "env:MB_SIMULATE_TEST_UNSET_ID"},
                           {"client_secret", "env:MB_SIMULATE_TEST_UNSET_M3TER"}};
        config["external_mappings"].push_back({{"m3ter_entity", "Account"},
                                               {"m3ter_id", "acc-1"},
                                               {"external_system", "AzureMarketplace"},
                                               {"external_table", "Subscription"},
                                               {"external_id", kSub}});
        write("bill.json",
              R"({"eventName":"billing.bill.updated","id":"evt-1","m3terEvent":{"eventData":{"new":{"id":"bill-1",)"
              R"("version":4,"accountId":"acc-1","status":"APPROVED","currency":"USD","lineItems":[)"
              R"({"id":"li-0","lineItemType":"USAGE","productId":"p-storage","subtotal":9.985},)"
              R"({"id":"li-1","lineItemType":"USAGE","productId":"p-compute","subtotal":1.50}]}}}})");
    }

    void write(const std::string& name, const std::string& text) { std::ofstream(dir.path() / name) << text; }

    struct Run {
        int exit_code = -1;
        std::string output;  // stdout and stderr
    };

    Run simulate(std::vector<std::string> args) {
        write("config.json", config.dump());
        std::vector<std::string> argv{METERBRIDGE_BINARY, "simulate", "--config", dir.file("config.json")};
        for (auto& arg : args) argv.push_back(arg.starts_with("@") ? dir.file(arg.substr(1)) : arg);
        const auto log = dir.path() / ("run-" + std::to_string(++runs) + ".log");
        ChildProcess child(argv, {}, log);
        const auto code = child.wait(30s);
        return Run{code.value_or(-1), child.log()};
    }

    // The JSON document printed on stdout: the line that starts with '{'
    // (stderr, in the same log, may hold warnings before it).
    static Json printed_json(const std::string& output) {
        const auto start = output.starts_with("{") ? 0 : output.find("\n{") + 1;
        auto parsed = parse_exact_json(output.substr(start));
        EXPECT_TRUE(parsed.ok()) << output;
        return parsed.ok() ? *parsed : Json();
    }

    TempDir dir;
    Witness azure;
    Witness m3ter;
    Json config;
    int runs = 0;
};

// The witness itself: a connection is seen, so "not connected" below means something.
TEST_F(SimulateCli, TheWitnessSocketSeesAConnection) {
    EXPECT_FALSE(azure.connected_to());
    const int client = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(azure.url().substr(azure.url().rfind(':') + 1))));
    ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
    EXPECT_TRUE(azure.connected_to());
    ::close(client);
}

TEST_F(SimulateCli, PrintsATableAndTouchesNeitherTheDatabaseNorAzureNorM3ter) {
    const Run run = simulate({"--at", "2026-01-01T08:20:00Z", "@bill.json"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const std::string& out = run.output;
    EXPECT_NE(out.find("simulation of bill bill-1 version 4"), std::string::npos) << out;
    EXPECT_NE(out.find("integration per-product \"By product\" (ITEM_PER_PRODUCT"), std::string::npos) << out;
    EXPECT_NE(out.find("storage    9.985   999    2026-01-01T08:00:00Z  2026-01-01T09:01:00Z"), std::string::npos) << out;
    EXPECT_NE(out.find("unmapped_product"), std::string::npos) << out;
    EXPECT_NE(out.find("SKIPPED, account_unresolved"), std::string::npos) << out;
    EXPECT_NE(out.find("as if it were the bill's first"), std::string::npos) << out;

    EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "db")) << "simulate created a file beside sqlite_path";
    EXPECT_FALSE(azure.connected_to()) << "simulate connected to Azure's URL";
    EXPECT_FALSE(m3ter.connected_to()) << "simulate connected to m3ter's URL";
}

TEST_F(SimulateCli, PrintsJsonAndReadsTheAccountFile) {
    write("account.json", R"({"id":"acc-1","customFields":{"country":"UK"}})");
    const Run run = simulate({"--format", "json", "--at", "2026-01-01T08:20:00Z", "--account", "@account.json", "@bill.json"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const Json out = printed_json(run.output);
    EXPECT_EQ(out["billId"], "bill-1");
    EXPECT_EQ(out["account"], "given");
    EXPECT_EQ(out["policy"]["mode"], "hour_close");
    ASSERT_EQ(out["integrations"].size(), 2u);
    EXPECT_EQ(out["integrations"][0]["targets"][0]["units"], 999);
    EXPECT_EQ(out["integrations"][0]["held"][0]["reason"], "unmapped_product");
    EXPECT_EQ(out["integrations"][1]["ran"], true);  // the account file satisfies the filter
    EXPECT_EQ(out["integrations"][1]["targets"][0]["units"], 1149);  // 9.985 + 1.50 = 11.485 -> half_up
    EXPECT_EQ(out["integrations"][1]["targets"][0]["slot"], "2026-01-01T08:00:00Z");
    EXPECT_NE(run.output.find(R"("amount":11.485)"), std::string::npos) << run.output;  // exact, not a double
    EXPECT_EQ(out["events"].size(), 2u);  // storage and total
    EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "db"));
    EXPECT_FALSE(azure.connected_to());
    EXPECT_FALSE(m3ter.connected_to());
}

TEST_F(SimulateCli, BadInputExitsTwoNamingTheField) {
    write("bad.json", R"({"id":"b","version":1,"accountId":"a","currency":"USD",)"
                      R"("lineItems":[{"lineItemType":"USAGE","subtotal":"ten"}]})");
    Run run = simulate({"@bad.json"});
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_NE(run.output.find("lineItems[0].subtotal"), std::string::npos) << run.output;

    write("reference.json", R"({"eventName":"billing.bill.created","m3terEvent":{"id":"bill-7"}})");
    run = simulate({"@reference.json"});
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_NE(run.output.find("never asks m3ter"), std::string::npos) << run.output;
    EXPECT_FALSE(m3ter.connected_to());

    run = simulate({"@missing.json"});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_NE(run.output.find("cannot read"), std::string::npos) << run.output;
    run = simulate({"--format", "csv", "@bill.json"});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_NE(run.output.find("--format must be table or json"), std::string::npos) << run.output;
    run = simulate({"--at", "tomorrow", "@bill.json"});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_NE(run.output.find("--at must be an ISO-8601 instant"), std::string::npos) << run.output;
    write("account.json", "[1]");
    run = simulate({"--account", "@account.json", "@bill.json"});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_NE(run.output.find("must be a JSON object"), std::string::npos) << run.output;

    config["integrations"][0]["split_usage_line_items"] = "ITEM_PER_SOMETHING";
    run = simulate({"@bill.json"});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_NE(run.output.find("config error at integrations[0].split_usage_line_items"), std::string::npos)
        << run.output;
    EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "db"));
}

}  // namespace
}  // namespace meterbridge::testing

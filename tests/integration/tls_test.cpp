// HTTPS: the sandbox serves a certificate from a CA the test generates; the
// client trusts that CA file and checks the host name.
#include "meterbridge/sandbox/sandbox.hpp"

#include <gtest/gtest.h>

#include "azure_test_support.hpp"

namespace meterbridge::sandbox {
namespace {

using namespace std::chrono_literals;

class Tls : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir = new testing::TempDir();
        files = new testing::TlsFilesOnDisk(testing::make_tls_files(dir->path(), "DNS:localhost"));
    }
    static void TearDownTestSuite() {
        delete files;
        delete dir;
    }
    void SetUp() override {
        SandboxOptions options;
        options.tls = net::TlsFiles{files->server_cert, files->server_key};
        auto started = Sandbox::start(std::move(options));
        ASSERT_TRUE(started.ok()) << started.error().message;
        sandbox = std::move(*started);
    }
    std::string url(const std::string& host) const {
        return "https://" + host + ":" + std::to_string(sandbox->port()) + "/_sandbox/events";
    }

    static testing::TempDir* dir;
    static testing::TlsFilesOnDisk* files;
    std::unique_ptr<Sandbox> sandbox;
};
testing::TempDir* Tls::dir = nullptr;
testing::TlsFilesOnDisk* Tls::files = nullptr;

TEST_F(Tls, TheClientVerifiesAgainstTheConfiguredCa) {
    EXPECT_EQ(sandbox->base_url().substr(0, 8), "https://");
    net::HttpClient client(net::HttpClientOptions{2s, 5s, files->ca_cert, 1 << 20, 30s, 4});
    auto answer = client.send(testing::get(url("localhost")));
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_EQ(answer->status, 200);
    auto again = client.send(testing::get(url("localhost")));
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->reused_connection);
}

TEST_F(Tls, AnUntrustedCaFailsVerificationBeforeSending) {
    net::HttpClient client(net::HttpClientOptions{2s, 5s, files->other_ca_cert, 1 << 20, 30s, 4});
    auto answer = client.send(testing::get(url("localhost")));
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, net::kNotSent);
    EXPECT_NE(answer.error().message.find("certificate"), std::string::npos) << answer.error().message;
    net::HttpClient system_store;  // the system CAs do not know our test CA either
    EXPECT_EQ(system_store.send(testing::get(url("localhost"))).error().code, net::kNotSent);
}

TEST_F(Tls, AWrongHostNameFailsVerification) {
    net::HttpClient client(net::HttpClientOptions{2s, 5s, files->ca_cert, 1 << 20, 30s, 4});
    auto answer = client.send(testing::get(url("127.0.0.1")));  // the certificate names localhost only
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, net::kNotSent);
    EXPECT_NE(answer.error().message.find("mismatch"), std::string::npos) << answer.error().message;
}

TEST_F(Tls, PlainHttpToTheTlsPortGetsNoAnswer) {
    net::HttpClient client(net::HttpClientOptions{2s, 2s, {}, 1 << 20, 30s, 4});
    auto answer = client.send(testing::get("http://127.0.0.1:" + std::to_string(sandbox->port()) + "/_sandbox/events"));
    EXPECT_FALSE(answer.ok() && answer->status == 200);
}

}  // namespace
}  // namespace meterbridge::sandbox

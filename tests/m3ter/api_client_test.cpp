#include "meterbridge/m3ter/api_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "azure_test_support.hpp"
#include "fake_m3ter.hpp"
#include "meterbridge/m3ter/account_source.hpp"

namespace meterbridge::m3ter {
namespace {

using testing::at;
using testing::FakeM3ter;
using testing::FakeM3terOptions;
using testing::ManualClock;
using testing::MemoryExchangeLog;

constexpr const char* kBill = R"({
  "id": "bill-1", "version": 3, "accountId": "acc-1", "accountCode": "ACME", "status": "APPROVED",
  "locked": false, "currency": "USD", "billDate": "2026-01-01",
  "lineItems": [
    {"id": "li-1", "lineItemType": "USAGE", "productId": "prod-1", "aggregationId": "agg-1", "subtotal": 9.985},
    {"id": "li-2", "lineItemType": "STANDING_CHARGE", "productId": "prod-1", "subtotal": 0.29}
  ]})";

constexpr const char* kAccount =
    R"({"id": "acc-1", "code": "ACME", "customFields": {"country": "UK", "discount": 0.29}})";

std::string bill_with_id(const std::string& id) {
    std::string text = kBill;
    text.replace(text.find("bill-1"), 6, id);
    return text;
}

class ApiClientTest : public ::testing::Test {
protected:
    ApiClientOptions options(const FakeM3terOptions& fake_options = {}) const {
        ApiClientOptions o;
        o.base_url = fake_->base_url();
        o.org_id = fake_options.org_id;
        o.client_id = fake_options.client_id;
        o.client_secret = fake_options.client_secret;
        o.request_timeout = std::chrono::seconds(5);
        return o;
    }

    void SetUp() override {
        fake_->put_bill("bill-1", kBill);
        fake_->put_account("acc-1", kAccount);
    }

    ManualClock clock_{at("2026-01-01T09:00:00Z")};
    std::unique_ptr<FakeM3ter> fake_ = std::make_unique<FakeM3ter>(clock_);
    net::HttpClient http_;
    MemoryExchangeLog log_;
};

TEST(BasicAuthorization, FollowsRfc7617) {
    EXPECT_EQ(basic_authorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST_F(ApiClientTest, FetchesABillWithExactAmounts) {
    ApiClient client(options(), http_, clock_, &log_);
    const auto bill = client.fetch_bill("bill-1");
    ASSERT_TRUE(bill.ok()) << bill.error().message;
    EXPECT_EQ(bill->id, "bill-1");
    EXPECT_EQ(bill->version, 3);
    EXPECT_EQ(bill->account_id, "acc-1");
    EXPECT_EQ(bill->status, BillStatus::Approved);
    ASSERT_EQ(bill->line_items.size(), 2u);
    EXPECT_EQ(bill->line_items[0].subtotal.to_string(), "9.985");
    EXPECT_EQ(bill->line_items[1].subtotal.to_string(), "0.29");
    EXPECT_EQ(bill->line_items[0].subtotal.coefficient(), 9985);
    EXPECT_EQ(bill->line_items[0].subtotal.scale(), 3);
    EXPECT_EQ(bill->line_items[0].subtotal.add(bill->line_items[1].subtotal).value(), Decimal::parse("10.275").value());
}

TEST_F(ApiClientTest, FetchesAnAccountWithExactNumbers) {
    ApiClient client(options(), http_, clock_, &log_);
    const auto account = client.fetch_account("acc-1");
    ASSERT_TRUE(account.ok()) << account.error().message;
    EXPECT_EQ(account->at("code"), "ACME");
    EXPECT_EQ(exact_number_text(account->at("customFields").at("discount")), "0.29");
}

TEST_F(ApiClientTest, FetchesOneTokenAndReusesIt) {
    ApiClient client(options(), http_, clock_, &log_);
    ASSERT_TRUE(client.fetch_bill("bill-1").ok());
    ASSERT_TRUE(client.fetch_account("acc-1").ok());
    clock_.advance(std::chrono::minutes(30));
    ASSERT_TRUE(client.fetch_bill("bill-1").ok());
    EXPECT_EQ(fake_->token_requests(), 1u);
    EXPECT_EQ(client.token_fetch_count(), 1u);
    EXPECT_EQ(fake_->entity_requests(), 3u);
}

TEST_F(ApiClientTest, ConcurrentCallersShareOneTokenRequest) {
    ApiClient client(options(), http_, clock_, &log_);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            if (client.fetch_bill("bill-1").ok()) ++ok;
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(ok.load(), 8);
    EXPECT_EQ(fake_->token_requests(), 1u);
}

TEST_F(ApiClientTest, RefreshesFiveMinutesBeforeExpiry) {
    ApiClient client(options(), http_, clock_, &log_);  // the fake's tokens live 3600 s
    ASSERT_TRUE(client.fetch_bill("bill-1").ok());
    clock_.advance(std::chrono::minutes(54));
    ASSERT_TRUE(client.fetch_bill("bill-1").ok());
    EXPECT_EQ(fake_->token_requests(), 1u);
    clock_.advance(std::chrono::minutes(1) + std::chrono::seconds(1));  // 4:59 before expiry
    ASSERT_TRUE(client.fetch_bill("bill-1").ok());
    EXPECT_EQ(fake_->token_requests(), 2u);
    clock_.advance(std::chrono::hours(2));  // long past the second token's expiry
    ASSERT_TRUE(client.fetch_bill("bill-1").ok());
    EXPECT_EQ(fake_->token_requests(), 3u);
    EXPECT_EQ(fake_->unauthorized_answers(), 0u) << "the client must refresh before m3ter refuses the token";
}

TEST_F(ApiClientTest, RefreshesOnceAndRetriesAfter401) {
    ApiClient client(options(), http_, clock_, &log_);
    ASSERT_TRUE(client.fetch_bill("bill-1").ok());
    fake_->revoke_tokens();
    const auto bill = client.fetch_bill("bill-1");
    ASSERT_TRUE(bill.ok()) << bill.error().message;
    EXPECT_EQ(fake_->unauthorized_answers(), 1u);
    EXPECT_EQ(fake_->token_requests(), 2u);
    EXPECT_EQ(fake_->requests_for("/organizations/org-1/bills/bill-1"), 3u);
}

TEST_F(ApiClientTest, A401AfterTheRefreshIsUnauthorizedWithM3tersBody) {
    ApiClient client(options(), http_, clock_, &log_);
    fake_->fail_next(401, 2, R"({"message":"Token is not valid for organization org-1"})");
    const auto bill = client.fetch_bill("bill-1");
    ASSERT_FALSE(bill.ok());
    EXPECT_EQ(bill.error().code, kUnauthorized);
    EXPECT_EQ(bill.error().field, "bill-1");
    EXPECT_NE(bill.error().message.find("Token is not valid for organization org-1"), std::string::npos)
        << bill.error().message;
    EXPECT_EQ(fake_->token_requests(), 2u);
    EXPECT_EQ(fake_->entity_requests(), 2u) << "one retry, never more";
}

TEST_F(ApiClientTest, AWrongClientSecretIsAClearErrorWithoutTheSecret) {
    FakeM3terOptions fake_options;
    fake_options.echo_credentials_on_refusal = true;  // the error body now carries the submitted secret
    fake_ = std::make_unique<FakeM3ter>(clock_, fake_options);
    auto o = options(fake_options);
    o.client_secret = "wrong-secret-Zq81x";
    ApiClient client(o, http_, clock_, &log_);

    const auto bill = client.fetch_bill("bill-1");
    ASSERT_FALSE(bill.ok());
    EXPECT_EQ(bill.error().code, kUnauthorized);
    EXPECT_NE(bill.error().message.find("Bad credentials"), std::string::npos) << bill.error().message;
    EXPECT_NE(bill.error().message.find("client_secret"), std::string::npos) << bill.error().message;
    EXPECT_NE(bill.error().message.find("bill-1"), std::string::npos) << bill.error().message;
    EXPECT_EQ(bill.error().message.find("wrong-secret-Zq81x"), std::string::npos) << bill.error().message;
    EXPECT_EQ(log_.dump().find("wrong-secret-Zq81x"), std::string::npos);
    EXPECT_EQ(fake_->entity_requests(), 0u);
}

TEST_F(ApiClientTest, A404NamesTheId) {
    ApiClient client(options(), http_, clock_, &log_);
    const auto bill = client.fetch_bill("bill-missing");
    ASSERT_FALSE(bill.ok());
    EXPECT_EQ(bill.error().code, kNotFound);
    EXPECT_EQ(bill.error().field, "bill-missing");
    EXPECT_NE(bill.error().message.find("bill bill-missing"), std::string::npos) << bill.error().message;

    const auto account = client.fetch_account("acc-missing");
    ASSERT_FALSE(account.ok());
    EXPECT_EQ(account.error().code, kNotFound);
    EXPECT_NE(account.error().message.find("account acc-missing"), std::string::npos) << account.error().message;
}

TEST_F(ApiClientTest, ServerErrorsAreUnavailableAndOther4xxRejected) {
    ApiClient client(options(), http_, clock_, &log_);
    fake_->fail_next(500, 1, R"({"message":"boom"})");
    const auto failed = client.fetch_bill("bill-1");
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, kUnavailable);
    EXPECT_NE(failed.error().message.find("HTTP 500"), std::string::npos) << failed.error().message;

    fake_->fail_next(400, 1, R"({"message":"bad id"})");
    const auto rejected = client.fetch_bill("bill-1");
    ASSERT_FALSE(rejected.ok());
    EXPECT_EQ(rejected.error().code, kRejected);

    EXPECT_TRUE(client.fetch_bill("bill-1").ok()) << "faults do not stick";
}

TEST_F(ApiClientTest, AnUnreachableApiIsUnavailable) {
    auto o = options();
    fake_.reset();  // nothing listens on its port any more
    ApiClient client(o, http_, clock_, &log_);
    const auto bill = client.fetch_bill("bill-1");
    ASSERT_FALSE(bill.ok());
    EXPECT_EQ(bill.error().code, kUnavailable);
    EXPECT_EQ(log_.records().size(), 1u) << "the failed token request is logged too";
    EXPECT_FALSE(log_.records().front().error.empty());
}

TEST_F(ApiClientTest, ASlowAnswerTimesOut) {
    auto o = options();
    o.request_timeout = std::chrono::milliseconds(300);
    ApiClient client(o, http_, clock_, &log_);
    fake_->delay_next(std::chrono::seconds(5));
    const auto started = std::chrono::steady_clock::now();
    const auto bill = client.fetch_bill("bill-1");
    const auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(bill.ok());
    EXPECT_EQ(bill.error().code, kUnavailable);
    EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST_F(ApiClientTest, ABillThatFailsValidationKeepsTheField) {
    fake_->put_bill("bill-bad", R"({"id": "bill-bad", "version": 1, "accountId": "acc-1", "status": "PENDING",
        "currency": "USD", "lineItems": [{"lineItemType": "USAGE", "subtotal": "lots"}]})");
    fake_->put_bill("bill-other", bill_with_id("bill-2"));
    ApiClient client(options(), http_, clock_, &log_);

    const auto bad = client.fetch_bill("bill-bad");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().field, "lineItems[0].subtotal");
    EXPECT_NE(bad.error().message.find("bill-bad"), std::string::npos) << bad.error().message;

    const auto other = client.fetch_bill("bill-other");
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error().code, kUnavailable);
}

TEST_F(ApiClientTest, TheExchangeLogNeverHoldsTheSecretOrTheToken) {
    ApiClient client(options(), http_, clock_, &log_);
    ASSERT_TRUE(client.fetch_bill("bill-1").ok());
    fake_->revoke_tokens();
    ASSERT_TRUE(client.fetch_account("acc-1").ok());
    ASSERT_FALSE(client.fetch_bill("bill-missing").ok());

    const auto records = log_.records();
    ASSERT_EQ(records.size(), 6u);  // token, bill, account 401, token, account, bill 404
    for (const auto& record : records) EXPECT_EQ(record.kind, ExchangeKind::M3ter);
    EXPECT_EQ(records[0].url, fake_->base_url() + "/oauth/token");
    EXPECT_EQ(records[0].status, 200);
    EXPECT_EQ(records[1].url, fake_->base_url() + "/organizations/org-1/bills/bill-1");
    EXPECT_EQ(records[5].status, 404);

    const std::string dump = log_.dump();
    EXPECT_EQ(dump.find("client-secret-1"), std::string::npos);
    const std::string credentials = basic_authorization("client-id-1", "client-secret-1");
    EXPECT_EQ(dump.find(credentials.substr(6)), std::string::npos) << "Basic credentials are the secret too";
    const auto tokens = fake_->issued_tokens();
    ASSERT_EQ(tokens.size(), 2u);
    for (const auto& token : tokens) EXPECT_EQ(dump.find(token), std::string::npos) << token;
    EXPECT_NE(dump.find("Basic [redacted]"), std::string::npos);
    EXPECT_NE(dump.find("Bearer [redacted]"), std::string::npos);
    EXPECT_NE(dump.find("9.985"), std::string::npos) << "bodies are kept, only secrets go";
}

// --- AccountSource ---------------------------------------------------------------------------

std::vector<Json> static_accounts() {
    return {parse_exact_json(R"({"id": "acc-1", "code": "STATIC-ACME"})").value(),
            parse_exact_json(R"({"id": "acc-static", "code": "ONLY-STATIC", "customFields": {"country": "DE"}})")
                .value()};
}

// The account of a lookup that must have found one.
Json found(const AccountLookup& lookup) {
    if (!lookup.ok()) {
        ADD_FAILURE() << "lookup failed: " << lookup.error().code << " " << lookup.error().message;
        return Json();
    }
    if (!lookup->has_value()) {
        ADD_FAILURE() << "account unknown";
        return Json();
    }
    return **lookup;
}

bool unknown(const AccountLookup& lookup) { return lookup.ok() && !lookup->has_value(); }

TEST(StaticAccountSource, MatchesById) {
    const auto source = make_static_account_source(static_accounts());
    const Json account = found(source->account("acc-static"));
    EXPECT_EQ(account.at("code"), "ONLY-STATIC");
    EXPECT_EQ(account.at("customFields").at("country"), "DE");
    EXPECT_TRUE(unknown(source->account("acc-unknown")));
    EXPECT_TRUE(unknown(source->account("")));
}

TEST_F(ApiClientTest, AccountsAreCachedWithinTheTtlAndRefreshedAfter) {
    ApiClient client(options(), http_, clock_, &log_);
    const auto source = make_api_account_source(client, clock_, static_accounts());
    const std::string path = "/organizations/org-1/accounts/acc-1";

    EXPECT_EQ(found(source->account("acc-1")).at("code"), "ACME") << "m3ter's answer wins over the static entry";
    fake_->put_account("acc-1", R"({"id": "acc-1", "code": "ACME-RENAMED"})");
    clock_.advance(std::chrono::minutes(4) + std::chrono::seconds(59));
    EXPECT_EQ(found(source->account("acc-1")).at("code"), "ACME");
    EXPECT_EQ(fake_->requests_for(path), 1u);

    clock_.advance(std::chrono::seconds(1));
    EXPECT_EQ(found(source->account("acc-1")).at("code"), "ACME-RENAMED");
    EXPECT_EQ(fake_->requests_for(path), 2u);
}

TEST_F(ApiClientTest, AccountsFallBackToTheStaticListAndFailuresAreNotCached) {
    ApiClient client(options(), http_, clock_, &log_);
    const auto source = make_api_account_source(client, clock_, static_accounts());

    EXPECT_EQ(found(source->account("acc-static")).at("code"), "ONLY-STATIC");  // 404 at m3ter

    fake_->fail_next(503);
    // m3ter down: the static entry stands in
    EXPECT_EQ(found(source->account("acc-1")).at("code"), "STATIC-ACME");
    // asked again, not cached
    EXPECT_EQ(found(source->account("acc-1")).at("code"), "ACME");
    EXPECT_EQ(fake_->requests_for("/organizations/org-1/accounts/acc-1"), 2u);

    EXPECT_TRUE(unknown(source->account("acc-nowhere")));
}

// Issue 14: a 503 while resolving the account made the bill "processed" with
// nothing sent, because the failure read as "no such account".
TEST_F(ApiClientTest, AnM3terFailureIsNotAnUnknownAccount) {
    ApiClient client(options(), http_, clock_, &log_);
    const auto source = make_api_account_source(client, clock_, static_accounts());
    const std::string path = "/organizations/org-1/accounts/acc-only-m3ter";
    fake_->put_account("acc-only-m3ter", R"({"id": "acc-only-m3ter", "code": "M3TER-ONLY"})");

    for (const int status : {503, 500, 429}) {
        fake_->fail_next(status);
        const auto failed = source->account("acc-only-m3ter");
        ASSERT_FALSE(failed.ok()) << status << ": a failure must not read as an answer";
        EXPECT_EQ(failed.error().code, kUnavailable) << status;
    }
    EXPECT_EQ(found(source->account("acc-only-m3ter")).at("code"), "M3TER-ONLY") << "failures are not cached";
    EXPECT_EQ(fake_->requests_for(path), 4u);

    EXPECT_TRUE(unknown(source->account("acc-nowhere"))) << "only m3ter's 404 is an unknown account";
}

TEST_F(ApiClientTest, ATimeoutOrARefusedTokenIsAFailureToo) {
    auto o = options();
    o.request_timeout = std::chrono::milliseconds(300);
    ApiClient client(o, http_, clock_, &log_);
    const auto source = make_api_account_source(client, clock_, static_accounts());
    fake_->put_account("acc-2", R"({"id": "acc-2"})");

    fake_->delay_next(std::chrono::seconds(3));
    const auto slow = source->account("acc-2");
    ASSERT_FALSE(slow.ok());
    EXPECT_EQ(slow.error().code, kUnavailable);
    EXPECT_EQ(found(source->account("acc-static")).at("code"), "ONLY-STATIC") << "the static list still answers";

    auto wrong = options();
    wrong.client_secret = "not-the-secret";
    ApiClient refused_client(wrong, http_, clock_, &log_);
    const auto refused_source = make_api_account_source(refused_client, clock_, static_accounts());
    const auto refused = refused_source->account("acc-2");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, kUnauthorized);
    EXPECT_EQ(found(refused_source->account("acc-1")).at("code"), "STATIC-ACME") << "static entry, m3ter refused";
}

}  // namespace
}  // namespace meterbridge::m3ter

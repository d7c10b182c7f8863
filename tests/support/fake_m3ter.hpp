#pragma once
// A small fake of the m3ter API on 127.0.0.1:0, for the m3ter client tests:
// POST /oauth/token (client credentials, HTTP Basic, expiring tokens by an
// injected clock), GET /organizations/{org}/bills/{id} and
// .../accounts/{id} served from maps, and faults on demand.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "meterbridge/core/time.hpp"
#include "meterbridge/net/http_server.hpp"

namespace meterbridge::testing {

struct FakeM3terOptions {
    std::string org_id = "org-1";
    std::string client_id = "client-id-1";
    std::string client_secret = "client-secret-1";
    std::int64_t expires_in_s = 3600;  // lifetime of the tokens it issues
    // Refused token requests echo the credentials they were given in the
    // error body, as a misconfigured proxy might: the client must scrub them.
    bool echo_credentials_on_refusal = false;
};

// Thread-safe. Starts serving in the constructor (throws std::runtime_error if
// it cannot bind) and stops in the destructor. `clock` decides token expiry
// and must outlive the fake.
class FakeM3ter {
public:
    FakeM3ter(const Clock& clock, FakeM3terOptions options = {});
    ~FakeM3ter();
    FakeM3ter(const FakeM3ter&) = delete;
    FakeM3ter& operator=(const FakeM3ter&) = delete;

    std::string base_url() const;  // "http://127.0.0.1:PORT"

    void put_bill(const std::string& id, std::string json);
    void put_account(const std::string& id, std::string json);

    // The next `count` entity requests (not token requests) answer `status`
    // with `body`, whatever their token.
    void fail_next(int status, int count = 1, std::string body = R"({"message":"injected failure"})");
    // The next `count` entity requests are answered only after `delay`.
    void delay_next(Duration delay, int count = 1);
    // Every token issued so far stops being accepted (401), as after a revocation.
    void revoke_tokens();

    std::size_t token_requests() const;     // every POST /oauth/token, accepted or not
    std::size_t entity_requests() const;    // every GET of a bill or an account
    std::size_t requests_for(const std::string& path) const;
    std::size_t unauthorized_answers() const;  // 401s given to entity requests for a bad or expired token
    std::vector<std::string> issued_tokens() const;

private:
    struct IssuedToken {
        Instant expires_at;
        bool revoked = false;
    };
    struct Fault {
        int status = 0;
        std::string body;
        Duration delay{0};
    };

    void handle(net::HttpRequest request, net::Responder respond);
    net::HttpResponse token(const net::HttpRequest& request);
    net::HttpResponse entity(const net::HttpRequest& request);
    void respond_later(Duration delay, net::HttpResponse response, net::Responder respond);

    const Clock& clock_;
    FakeM3terOptions options_;

    mutable std::mutex mutex_;
    std::condition_variable stopping_;
    bool stop_ = false;
    std::map<std::string, std::string> bills_;
    std::map<std::string, std::string> accounts_;
    std::map<std::string, IssuedToken> tokens_;
    std::vector<Fault> faults_;  // front first
    std::vector<Duration> delays_;
    std::map<std::string, std::size_t> path_counts_;
    std::size_t token_requests_ = 0;
    std::size_t entity_requests_ = 0;
    std::size_t unauthorized_ = 0;
    std::uint64_t next_token_ = 0;
    std::vector<std::thread> delayed_;

    std::unique_ptr<net::HttpServer> server_;  // last: stopped first, before the state it uses goes
};

}  // namespace meterbridge::testing

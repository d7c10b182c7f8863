#pragma once
// Helpers shared by the net/azure tests: a settable clock, an in-memory
// exchange log, a sandbox fixture on 127.0.0.1:0 and self-signed TLS files.
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "meterbridge/sandbox/sandbox.hpp"
#include "meterbridge/azure/token_provider.hpp"
#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/clocks.hpp"
#include "meterbridge/net/http_client.hpp"
#include "temp_dir.hpp"

namespace meterbridge::testing {

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
public:
    explicit ManualClock(Instant start) : now_(start) {}
    Instant now() const override {
        std::lock_guard lock(mutex_);
        return now_;
    }
    void set(Instant now) {
        std::lock_guard lock(mutex_);
        now_ = now;
    }
    void advance(Duration by) {
        std::lock_guard lock(mutex_);
        now_ += by;
    }

private:
    mutable std::mutex mutex_;
    Instant now_;
};

// The system clock.
using RealClock = net::SystemClock;

class MemoryExchangeLog final : public ExchangeLog {
public:
    void record(const ExchangeRecord& exchange) override {
        std::lock_guard lock(mutex_);
        records_.push_back(exchange);
    }
    std::vector<ExchangeRecord> records() const {
        std::lock_guard lock(mutex_);
        return records_;
    }
    // Every byte of every record, for "never appears" assertions.
    std::string dump() const;

private:
    mutable std::mutex mutex_;
    std::vector<ExchangeRecord> records_;
};

Instant now_utc();
Instant at(const char* iso8601);  // aborts the test binary on a bad literal

// A CA and a server certificate signed by it, made with the openssl CLI.
struct TlsFilesOnDisk {
    std::string ca_cert;
    std::string server_cert;
    std::string server_key;
    std::string other_ca_cert;  // a CA that did not sign the server certificate
};
// `san` e.g. "DNS:localhost" or "IP:127.0.0.1".
TlsFilesOnDisk make_tls_files(const std::filesystem::path& dir, const std::string& san);

// Raw HTTP helpers (through HttpClient, never the metering client).
net::HttpRequestSpec post_json(const std::string& url, std::string body, const std::string& bearer = {});
net::HttpRequestSpec post_form(const std::string& url, std::string body);
net::HttpRequestSpec get(const std::string& url, const std::string& bearer = {});

// Gets a v2 token from the sandbox with any credentials.
std::string sandbox_token(net::HttpClient& client, const sandbox::Sandbox& sandbox);

}  // namespace meterbridge::testing

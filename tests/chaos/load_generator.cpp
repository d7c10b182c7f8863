#include "load_generator.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <thread>

#include "meterbridge/m3ter/m3ter_config.hpp"
#include "meterbridge/m3ter/signature.hpp"
#include "proc_status.hpp"

namespace meterbridge::chaos {
namespace {

// One keep-alive HTTP/1.1 connection to 127.0.0.1.
class Connection {
public:
    explicit Connection(std::uint16_t port) : port_(port) {}
    ~Connection() { close(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool open() {
        close();
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) return false;
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval timeout{30, 0};  // a stuck daemon is an error, not a hang
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port_);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
            close();
            return false;
        }
        buffer_.clear();
        return true;
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    bool is_open() const { return fd_ >= 0; }

    // Writes `request`, reads one response; status 0 on a transport failure.
    int exchange(const std::string& request, std::string& body, bool& keep_alive) {
        for (std::size_t sent = 0; sent < request.size();) {
            const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return 0;
            sent += static_cast<std::size_t>(n);
        }
        std::size_t header_end = std::string::npos;
        while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill()) return 0;
        }
        const std::string head = buffer_.substr(0, header_end);
        std::string lower = head;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        const int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
        std::size_t length = 0;
        if (const auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
            length = static_cast<std::size_t>(std::strtoull(lower.c_str() + at + 17, nullptr, 10));
        }
        keep_alive = lower.find("\r\nconnection: close") == std::string::npos;
        while (buffer_.size() < header_end + 4 + length) {
            if (!fill()) return 0;
        }
        body = buffer_.substr(header_end + 4, length);
        buffer_.erase(0, header_end + 4 + length);
        return status;
    }

private:
    bool fill() {
        char chunk[8192];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    std::uint16_t port_;
    int fd_ = -1;
    std::string buffer_;
};

std::string cents(std::int64_t value) {
    char text[32];
    std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(value / 100),
                  static_cast<long long>(value % 100));
    return text;
}

}  // namespace

std::int64_t rss_kb(pid_t pid) {
    if (pid <= 0) return -1;
    return testing::proc_status_kib("VmRSS", std::to_string(pid));
}

std::string LoadReport::summary() const {
    char text[512];
    std::snprintf(text, sizeof text,
                  "requests=%lld acknowledged=%lld errors=%lld reconnects=%lld seconds=%.1f bills_per_s=%.1f "
                  "latency_p50_ms=%.1f latency_p99_ms=%.1f latency_max_ms=%.1f rss_start_kb=%lld rss_end_kb=%lld",
                  static_cast<long long>(requests), static_cast<long long>(acknowledged), static_cast<long long>(errors),
                  static_cast<long long>(reconnects), seconds, bills_per_second(),
                  static_cast<double>(latency_p50_us) / 1000.0, static_cast<double>(latency_p99_us) / 1000.0,
                  static_cast<double>(latency_max_us) / 1000.0, static_cast<long long>(rss_start_kb),
                  static_cast<long long>(rss_end_kb));
    return text;
}

LoadReport run_load(const LoadOptions& options) {
    m3ter::WebhookConfig webhook;
    webhook.api_key = Secret(options.api_key, "load");
    webhook.api_secret = Secret(options.api_secret, "load");
    const std::string base =
        options.public_base_url.empty() ? "http://127.0.0.1:" + std::to_string(options.port) : options.public_base_url;
    const std::string url = base + options.path;

    LoadReport report;
    report.rss_start_kb = rss_kb(options.daemon_pid);
    std::mutex mutex;
    std::vector<std::int64_t> latencies;
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + options.duration;

    const auto worker = [&](int index) {
        Connection connection(options.port);
        std::vector<std::string> acknowledged;
        std::vector<std::int64_t> my_latencies;
        std::vector<std::string> samples;
        std::int64_t requests = 0, errors = 0, reconnects = 0;
        for (std::int64_t n = 0; std::chrono::steady_clock::now() < deadline; ++n) {
            if (!connection.is_open()) {
                if (!connection.open()) {
                    ++errors;
                    if (samples.size() < 5) samples.push_back("connect failed");
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                    continue;
                }
                if (n > 0) ++reconnects;
            }
            const std::string id = options.bill_prefix + "-" + std::to_string(index) + "-" + std::to_string(n);
            // A GUID: load_test bills the account id as the Azure resource.
            char account_text[40];
            std::snprintf(account_text, sizeof account_text, "00000000-0000-4000-8000-%012d",
                          static_cast<int>((n * options.connections + index) % std::max(1, options.accounts)));
            const std::string account = account_text;
            const std::int64_t amount = 1 + (n * 7919 + index * 104729) % 100000;
            const std::string body = R"({"id":"evt-)" + id + R"(","eventName":"billing.bill.created",)"
                                     R"("m3terEvent":{"eventData":{"new":{"id":")" + id +
                                     R"(","version":1,"accountId":")" + account +
                                     R"(","status":"APPROVED","currency":"USD","lineItems":[{"lineItemType":"USAGE",)"
                                     R"("subtotal":)" + cents(amount) + "}]}}}}";
            const std::string timestamp = std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count());
            const std::string request = "POST " + options.path + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                                        std::to_string(options.port) +
                                        "\r\nContent-Type: application/json\r\nContent-Length: " +
                                        std::to_string(body.size()) + "\r\nX-m3ter-apikey: " + options.api_key +
                                        "\r\nX-m3ter-timestamp: " + timestamp +
                                        "\r\nX-m3ter-signature: " + m3ter::sign(webhook, url, timestamp, body) +
                                        "\r\n\r\n" + body;
            const auto sent_at = std::chrono::steady_clock::now();
            std::string answer;
            bool keep_alive = true;
            const int status = connection.exchange(request, answer, keep_alive);
            my_latencies.push_back(
                std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sent_at)
                    .count());
            ++requests;
            if (status >= 200 && status < 300) {
                acknowledged.push_back(id);
            } else {
                ++errors;
                if (samples.size() < 5) samples.push_back("HTTP " + std::to_string(status) + " " + answer);
            }
            if (status == 0 || !keep_alive) connection.close();
        }
        std::lock_guard lock(mutex);
        report.requests += requests;
        report.errors += errors;
        report.reconnects += reconnects;
        report.acknowledged += static_cast<std::int64_t>(acknowledged.size());
        report.acknowledged_bills.insert(report.acknowledged_bills.end(), acknowledged.begin(), acknowledged.end());
        latencies.insert(latencies.end(), my_latencies.begin(), my_latencies.end());
        for (auto& sample : samples) {
            if (report.error_samples.size() < 5) report.error_samples.push_back(std::move(sample));
        }
    };
    std::vector<std::thread> threads;
    for (int index = 0; index < options.connections; ++index) threads.emplace_back(worker, index);
    for (auto& thread : threads) thread.join();

    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report.rss_end_kb = rss_kb(options.daemon_pid);
    if (!latencies.empty()) {
        std::sort(latencies.begin(), latencies.end());
        const auto at = [&](double q) {
            return latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(q * static_cast<double>(latencies.size())))];
        };
        report.latency_p50_us = at(0.50);
        report.latency_p99_us = at(0.99);
        report.latency_max_us = latencies.back();
    }
    return report;
}

}  // namespace meterbridge::chaos

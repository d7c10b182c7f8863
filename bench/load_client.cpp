#include "load_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace meterbridge::bench {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// What all connections share; the window flags are read on every answer.
struct Shared {
    std::atomic<bool> measuring{false};
    std::atomic<bool> stopping{false};
    std::atomic<int> live{0};  // connections not yet closed
    std::atomic<std::uint64_t> next{0};  // LoadOptions::total: the next request's number
    std::atomic<Clock::rep> last_answer{0};  // LoadOptions::total: when the latest answer arrived
    std::mutex mutex;
    LoadResult result;
};

// One keep-alive connection: write, read, record, repeat. Its handlers run
// one after the other, so it needs no strand even with several threads.
class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(asio::io_context& io, const LoadOptions& options, const RequestFactory& factory, Shared& shared,
               int index)
        : socket_(io), options_(options), factory_(factory), shared_(shared), index_(index) {
        ++shared_.live;
    }

    void start() {
        const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), options_.port);
        socket_.async_connect(endpoint, [self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return self->fail();
            self->socket_.set_option(tcp::no_delay(true));
            self->send();
        });
    }

private:
    void send() {
        if (shared_.stopping) return close();
        std::uint64_t sequence = sequence_++;
        if (options_.total > 0) {
            sequence = shared_.next++;
            if (sequence >= options_.total) return close();
        }
        LoadRequest next = factory_(index_, sequence);
        request_ = {};
        request_.method(http::verb::post);
        request_.target(options_.target);
        request_.version(11);
        request_.set(http::field::host, "127.0.0.1");
        request_.keep_alive(true);
        for (auto& [name, value] : next.headers) request_.set(name, value);
        request_.body() = std::move(next.body);
        request_.prepare_payload();
        counted_ = shared_.measuring;
        sent_at_ = Clock::now();
        http::async_write(socket_, request_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec) return self->fail();
            self->receive();
        });
    }

    void receive() {
        parser_.emplace();
        parser_->body_limit(1 << 20);
        http::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec) return self->fail();
            self->record();
            if (!self->parser_->get().keep_alive()) return self->fail();
            self->send();
        });
    }

    void record() {
        // Counted when sent and answered inside the window.
        if (!counted_ || !shared_.measuring) return;
        const auto now = Clock::now();
        const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at_);
        if (options_.total > 0) {
            auto seen = shared_.last_answer.load();
            while (seen < now.time_since_epoch().count() &&
                   !shared_.last_answer.compare_exchange_weak(seen, now.time_since_epoch().count())) {
            }
        }
        std::lock_guard lock(shared_.mutex);
        ++shared_.result.completed;
        ++shared_.result.statuses[static_cast<int>(parser_->get().result_int())];
        shared_.result.latencies_us.push_back(static_cast<std::uint32_t>(latency.count()));
    }

    void fail() {
        if (!shared_.stopping) {
            std::lock_guard lock(shared_.mutex);
            ++shared_.result.errors;
        }
        close();
    }

public:
    void close() {
        if (closed_.exchange(true)) return;
        boost::system::error_code ignored;
        socket_.close(ignored);
        --shared_.live;
    }

private:
    tcp::socket socket_;
    const LoadOptions& options_;
    const RequestFactory& factory_;
    Shared& shared_;
    int index_;
    std::uint64_t sequence_ = 0;
    boost::beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    std::optional<http::response_parser<http::string_body>> parser_;
    bool counted_ = false;
    std::atomic<bool> closed_{false};
    Clock::time_point sent_at_;
};

}  // namespace

double LoadResult::percentile_ms(double p) const {
    if (latencies_us.empty()) return 0;
    std::vector<std::uint32_t> sorted = latencies_us;
    std::sort(sorted.begin(), sorted.end());
    const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(rank, sorted.size() - 1)] / 1000.0;
}

LoadResult run_load(const LoadOptions& options, const RequestFactory& make_request) {
    asio::io_context io;
    Shared shared;
    shared.result.latencies_us.reserve(1 << 20);
    const bool counted_run = options.total > 0;
    // A counted run measures from its first request to its last answer.
    const Clock::time_point run_start = Clock::now();
    if (counted_run) shared.measuring = true;
    std::vector<std::shared_ptr<Connection>> connections;
    for (int i = 0; i < options.connections; ++i) {
        connections.push_back(std::make_shared<Connection>(io, options, make_request, shared, i));
        connections.back()->start();
    }
    // A server that stops answering must not hang the run: 10 s after the
    // window (a counted run: after `duration`) every connection is closed.
    asio::steady_timer hard_stop(io);
    hard_stop.expires_after((counted_run ? std::chrono::milliseconds(0) : options.warmup) + options.duration +
                            std::chrono::seconds(10));
    hard_stop.async_wait([&](boost::system::error_code ec) {
        if (ec) return;
        for (auto& connection : connections) connection->close();
    });
    asio::steady_timer drained(io);
    std::function<void(boost::system::error_code)> check_drained = [&](boost::system::error_code) {
        if (shared.live == 0) {
            hard_stop.cancel();
            return;
        }
        drained.expires_after(std::chrono::milliseconds(20));
        drained.async_wait(check_drained);
    };
    Clock::time_point window_start;
    asio::steady_timer window(io);
    if (counted_run) {
        drained.expires_after(std::chrono::milliseconds(20));
        drained.async_wait(check_drained);
    } else {
        window.expires_after(options.warmup);
        window.async_wait([&](boost::system::error_code) {
            window_start = Clock::now();
            shared.measuring = true;
            window.expires_after(options.duration);
            window.async_wait([&](boost::system::error_code) {
                shared.measuring = false;
                shared.stopping = true;
                shared.result.seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
                drained.expires_after(std::chrono::milliseconds(20));
                drained.async_wait(check_drained);
            });
        });
    }
    std::vector<std::thread> extra;
    for (unsigned t = 1; t < std::max(1U, options.threads); ++t) extra.emplace_back([&io] { io.run(); });
    io.run();  // returns when every connection has finished its last exchange
    for (auto& thread : extra) thread.join();
    if (counted_run) {
        const Clock::time_point last{Clock::duration{shared.last_answer.load()}};
        shared.result.seconds = last > run_start ? std::chrono::duration<double>(last - run_start).count() : 0;
    }
    return std::move(shared.result);
}

}  // namespace meterbridge::bench

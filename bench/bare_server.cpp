#include "bare_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "meterbridge/net/http_server.hpp"

namespace meterbridge::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
public:
    explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}

    void read() {
        request_ = {};
        stream_.expires_after(std::chrono::seconds(60));
        http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            self->answer();
        });
    }

private:
    void answer() {
        response_ = http::response<http::string_body>(http::status::accepted, request_.version());
        response_.set(http::field::content_type, "application/json");
        response_.keep_alive(request_.keep_alive());
        response_.body() = R"({"result":"new"})";
        response_.prepare_payload();
        http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec || !self->response_.keep_alive()) return self->close();
            self->read();
        });
    }

    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
};

class Listener : public std::enable_shared_from_this<Listener> {
public:
    explicit Listener(asio::io_context& io) : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    void accept() {
        acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
            if (!ec) {
                s.set_option(tcp::no_delay(true));
                std::make_shared<Session>(std::move(s))->read();
            }
            self->accept();
        });
    }

private:
    asio::io_context& io_;
    tcp::acceptor acceptor_;
};

void announce(std::uint16_t port) {
    std::printf("port %u\n", static_cast<unsigned>(port));
    std::fflush(stdout);
}

}  // namespace

int serve_bare(unsigned threads) {
    asio::io_context io(static_cast<int>(threads));
    auto listener = std::make_shared<Listener>(io);
    listener->accept();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](beast::error_code, int) { io.stop(); });
    announce(listener->port());
    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& worker : workers) worker.join();
    return 0;
}

int serve_http_layer(unsigned threads) {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before the server's threads start
    net::HttpServerOptions options;
    options.threads = threads;
    auto server = net::HttpServer::start(options, [](net::HttpRequest, net::Responder respond) {
        respond(net::HttpResponse::json(202, R"({"result":"new"})"));
    });
    if (!server) return 1;
    announce((*server)->port());
    int signal = 0;
    sigwait(&stop_signals, &signal);
    (*server)->stop(std::chrono::seconds(1));
    return 0;
}

}  // namespace meterbridge::bench

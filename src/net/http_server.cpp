#include "meterbridge/net/http_server.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "beast_names.hpp"

namespace meterbridge::net {

namespace {

// What the server needs to know about each connection, whatever its stream.
class SessionBase {
public:
    virtual ~SessionBase() = default;
    virtual void begin_stop() = 0;  // called on any thread; close if idle, else close after the answer
    virtual void abort() = 0;       // called on any thread; close now
};

}  // namespace

// Sessions and handlers refer to the Impl by raw pointer: the Impl owns the
// io_context, whose destruction destroys every pending handler first.
struct HttpServer::Impl {
    HttpServerOptions options;
    HttpHandler handler;
    asio::io_context ioc;
    // Keeps run() going while the only pending work is a handler that has
    // not answered yet (no socket operation outstanding); reset by stop().
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{ioc.get_executor()};
    tcp::acceptor acceptor{ioc};
    std::optional<ssl::context> tls_context;
    std::vector<std::thread> threads;
    std::uint16_t bound_port = 0;

    // Open sessions, owned here so that a Responder (which holds only a weak
    // reference) never keeps a connection alive after stop().
    mutable std::mutex mutex;
    std::condition_variable drained;
    std::unordered_map<SessionBase*, std::shared_ptr<SessionBase>> sessions;
    bool stopping = false;
    bool stopped = false;

    void add(const std::shared_ptr<SessionBase>& session) {
        std::lock_guard lock(mutex);
        sessions.emplace(session.get(), session);
        if (stopping) session->begin_stop();
    }
    void remove(SessionBase* session) {
        std::shared_ptr<SessionBase> keep;  // destroyed outside the lock
        {
            std::lock_guard lock(mutex);
            const auto it = sessions.find(session);
            if (it == sessions.end()) return;
            keep = std::move(it->second);
            sessions.erase(it);
        }
        drained.notify_all();
    }

    void do_accept();
    void on_accept(error_code ec, tcp::socket socket);
};

namespace {

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
public:
    Session(HttpServer::Impl* server, Stream stream, std::string remote)
        : server_(std::move(server)), stream_(std::move(stream)), remote_(std::move(remote)) {}

    auto executor() { return stream_.get_executor(); }

    // Runs on the session's strand.
    void run() {
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            do_wait_request();
        } else {
            beast::get_lowest_layer(stream_).expires_after(server_->options.header_timeout);
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = this->shared_from_this()](error_code ec) { self->on_handshake(ec); });
        }
    }

    void begin_stop() override {
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
            self->stopping_ = true;
            if (self->idle_) self->close();
        });
    }

    void abort() override {
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
    }

private:
    void on_handshake(error_code ec) {
        if (ec) return close();
        do_wait_request();
    }

    // Keep-alive wait: the idle timeout runs until the first byte arrives.
    void do_wait_request() {
        if (stopping_) return close();
        if (buffer_.size() > 0) return do_read_header();
        idle_ = true;
        beast::get_lowest_layer(stream_).expires_after(server_->options.idle_timeout);
        stream_.async_read_some(buffer_.prepare(4096),
                                [self = this->shared_from_this()](error_code ec, std::size_t n) {
                                    self->on_first_bytes(ec, n);
                                });
    }

    void on_first_bytes(error_code ec, std::size_t n) {
        idle_ = false;
        if (ec) return close();
        buffer_.commit(n);
        do_read_header();
    }

    void do_read_header() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
        parser_->body_limit(server_->options.max_body_bytes);
        beast::get_lowest_layer(stream_).expires_after(server_->options.header_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = this->shared_from_this()](error_code ec, std::size_t) {
                                    self->on_header(ec);
                                });
    }

    void on_header(error_code ec) {
        if (ec == http::error::body_limit) return write_error(413, "request body too large");
        if (ec == http::error::header_limit) return write_error(431, "request header too large");
        if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof) return close();
        if (ec) return write_error(400, "malformed HTTP request");
        const auto& header = parser_->get();
        if (const auto length = parser_->content_length(); length && *length > server_->options.max_body_bytes) {
            return write_error(413, "request body too large");
        }
        if (beast::iequals(header[http::field::expect], "100-continue")) {
            // curl waits a second for this before sending a body.
            continue_ = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
            beast::get_lowest_layer(stream_).expires_after(server_->options.write_timeout);
            asio::async_write(stream_, asio::buffer(*continue_),
                              [self = this->shared_from_this()](error_code wec, std::size_t) {
                                  if (wec) return self->close();
                                  self->do_read_body();
                              });
            return;
        }
        do_read_body();
    }

    void do_read_body() {
        beast::get_lowest_layer(stream_).expires_after(server_->options.body_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_body(ec); });
    }

    void on_body(error_code ec) {
        if (ec == http::error::body_limit) return write_error(413, "request body too large");
        if (ec) return close();
        beast::get_lowest_layer(stream_).expires_never();
        auto message = parser_->release();
        keep_alive_ = message.keep_alive();

        HttpRequest request;
        request.method = std::string(message.method_string());
        request.target = std::string(message.target());
        const auto question = request.target.find('?');
        request.path = percent_decode(std::string_view(request.target).substr(0, question), false);
        if (question != std::string::npos) request.query = parse_query(std::string_view(request.target).substr(question + 1));
        for (const auto& field : message) request.headers.add(std::string(field.name_string()), std::string(field.value()));
        request.body = std::move(message.body());
        request.remote_address = remote_;

        // The responder holds a weak reference: the server owns the session.
        auto answered = std::make_shared<std::atomic<bool>>(false);
        std::weak_ptr<Session> weak = this->shared_from_this();
        Responder respond = [weak, answered](HttpResponse response) {
            if (answered->exchange(true)) return;
            if (auto self = weak.lock()) {
                asio::post(self->stream_.get_executor(), [self, r = std::move(response)]() mutable {
                    self->do_write(std::move(r));
                });
            }
        };
        try {
            server_->handler(std::move(request), respond);
        } catch (const std::exception& e) {
            respond(HttpResponse::error(500, make_error("internal_error", "handler failed")));
        }
    }

    void write_error(int status, std::string_view message) {
        keep_alive_ = false;
        linger_ = true;  // the client may still be sending the body we refused
        do_write(HttpResponse::error(
            status, make_error(status == 413 ? "body_too_large" : "bad_request", std::string(message))));
    }

    void do_write(HttpResponse response) {
        if (response.reset_connection) return reset();
        response_.emplace();
        response_->version(11);
        response_->result(static_cast<unsigned>(response.status));
        for (const auto& [name, value] : response.headers) response_->insert(name, value);
        response_->body() = std::move(response.body);
        response_->keep_alive(keep_alive_ && !stopping_);
        response_->prepare_payload();
        beast::get_lowest_layer(stream_).expires_after(server_->options.write_timeout);
        http::async_write(stream_, *response_,
                          [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
    }

    void on_write(error_code ec) {
        const bool keep = response_ && response_->keep_alive();
        response_.reset();
        if (!ec && linger_) return linger();
        if (ec || !keep) return close();
        do_wait_request();
    }

    // A "lingering close" after an error answer sent before the request was
    // read to its end (413, 431, 400): closing at once with unread bytes in
    // the socket makes the kernel send a RST, which can destroy our answer
    // before the client reads it. So stop sending, read and discard what the
    // client still sends, bounded in time and bytes, then close.
    static constexpr std::size_t kMaxLingerBytes = 64 * 1024 * 1024;

    void linger() {
        auto& tcp = beast::get_lowest_layer(stream_);
        error_code ignored;
        tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
        drain_ = std::make_shared<std::array<char, 16 * 1024>>();
        tcp.expires_after(std::chrono::seconds(2));
        do_discard();
    }

    void do_discard() {
        beast::get_lowest_layer(stream_).async_read_some(
            asio::buffer(*drain_), [self = this->shared_from_this()](error_code ec, std::size_t bytes) {
                self->discarded_ += bytes;
                if (ec || self->discarded_ > kMaxLingerBytes) return self->close();
                self->do_discard();
            });
    }

    // Aborts the connection with a TCP RST (SO_LINGER 0), writing nothing.
    void reset() {
        auto& socket = beast::get_lowest_layer(stream_).socket();
        error_code ignored;
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
        socket.close(ignored);
        server_->remove(this);
    }

    void close() {
        auto& socket = beast::get_lowest_layer(stream_).socket();
        error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
        server_->remove(this);
    }

    HttpServer::Impl* server_;
    Stream stream_;
    std::string remote_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<http::response<http::string_body>> response_;
    std::shared_ptr<std::string> continue_;
    std::shared_ptr<std::array<char, 16 * 1024>> drain_;  // lingering close
    std::size_t discarded_ = 0;
    bool linger_ = false;
    bool keep_alive_ = false;
    bool idle_ = false;
    bool stopping_ = false;
};

}  // namespace

void HttpServer::Impl::do_accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
        on_accept(ec, std::move(socket));
    });
}

void HttpServer::Impl::on_accept(error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
        // Answers are written whole: no Nagle delay behind the peer's delayed ACK.
        error_code nodelay_ignored;
        socket.set_option(tcp::no_delay(true), nodelay_ignored);
        error_code endpoint_ec;
        const auto peer = socket.remote_endpoint(endpoint_ec);
        std::string remote = endpoint_ec ? std::string{} : peer.address().to_string();
        if (tls_context) {
            auto session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                this, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls_context),
                std::move(remote));
            add(session);
            asio::dispatch(session->executor(), [session] { session->run(); });
        } else {
            auto session = std::make_shared<Session<beast::tcp_stream>>(
                this, beast::tcp_stream(std::move(socket)), std::move(remote));
            add(session);
            asio::dispatch(session->executor(), [session] { session->run(); });
        }
    }
    do_accept();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, HttpHandler handler) {
    auto impl = std::make_shared<Impl>();
    impl->options = std::move(options);
    impl->handler = std::move(handler);
    error_code ec;
    const auto address = asio::ip::make_address(impl->options.address, ec);
    if (ec) return make_error("invalid_listen_address", "'" + impl->options.address + "' is not an IP address");
    if (impl->options.tls) {
        try {
            impl->tls_context.emplace(ssl::context::tls_server);
            impl->tls_context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                           ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
            SSL_CTX_set_min_proto_version(impl->tls_context->native_handle(), TLS1_2_VERSION);
            impl->tls_context->use_certificate_chain_file(impl->options.tls->cert_file);
            impl->tls_context->use_private_key_file(impl->options.tls->key_file, ssl::context::pem);
        } catch (const std::exception& e) {
            return make_error("tls_setup_failed", std::string("cannot load TLS certificate/key: ") + e.what());
        }
    }
    const tcp::endpoint endpoint(address, impl->options.port);
    impl->acceptor.open(endpoint.protocol(), ec);
    if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl->acceptor.bind(endpoint, ec);
    if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        return make_error("listen_failed", "cannot listen on " + impl->options.address + ":" +
                                               std::to_string(impl->options.port) + ": " + ec.message());
    }
    impl->bound_port = impl->acceptor.local_endpoint().port();
    impl->do_accept();
    const unsigned count = std::max(1U, impl->options.threads);
    for (unsigned i = 0; i < count; ++i) impl->threads.emplace_back([raw = impl.get()] { raw->ioc.run(); });
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(std::chrono::seconds(1)); }

std::uint16_t HttpServer::port() const noexcept { return impl_->bound_port; }
const std::string& HttpServer::address() const noexcept { return impl_->options.address; }
bool HttpServer::tls() const noexcept { return impl_->tls_context.has_value(); }

std::size_t HttpServer::open_connections() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->sessions.size();
}

void HttpServer::post(std::function<void()> task) { asio::post(impl_->ioc, std::move(task)); }

void HttpServer::stop(Duration deadline) {
    {
        std::unique_lock lock(impl_->mutex);
        if (impl_->stopped) return;
        impl_->stopped = true;
        impl_->stopping = true;
        asio::post(impl_->ioc, [impl = impl_.get()] {
            error_code ignored;
            impl->acceptor.close(ignored);
        });
        for (auto& [raw, session] : impl_->sessions) session->begin_stop();
        impl_->drained.wait_for(lock, deadline, [&] { return impl_->sessions.empty(); });
        for (auto& [raw, session] : impl_->sessions) session->abort();
    }
    {
        // Give aborts a moment to run so sockets close on their own strands.
        std::unique_lock lock(impl_->mutex);
        impl_->drained.wait_for(lock, std::chrono::milliseconds(200), [&] { return impl_->sessions.empty(); });
    }
    impl_->work.reset();
    impl_->ioc.stop();
    for (auto& thread : impl_->threads) {
        if (thread.joinable()) thread.join();
    }
    std::unordered_map<SessionBase*, std::shared_ptr<SessionBase>> rest;
    {
        std::lock_guard lock(impl_->mutex);
        rest.swap(impl_->sessions);
    }
    rest.clear();
}

}  // namespace meterbridge::net

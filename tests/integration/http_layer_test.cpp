// HttpServer and HttpClient together on 127.0.0.1.
#include "meterbridge/net/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "azure_test_support.hpp"
#include "meterbridge/net/http_client.hpp"

namespace meterbridge::net {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<HttpServer> serve(HttpHandler handler, HttpServerOptions options = {}) {
    auto server = HttpServer::start(std::move(options), std::move(handler));
    if (!server) throw std::runtime_error(server.error().message);
    return std::move(*server);
}

std::string url(const HttpServer& server, const std::string& target) {
    return "http://127.0.0.1:" + std::to_string(server.port()) + target;
}

HttpHandler echo() {
    return [](HttpRequest request, Responder respond) {
        auto response = HttpResponse::text(200, request.method + " " + request.path + " " +
                                                    request.query_param("a").value_or("-") + " " +
                                                    request.headers.get("X-THING").value_or("-") + " " +
                                                    request.remote_address + " " + request.body);
        respond(std::move(response));
    };
}

TEST(HttpLayer, ServesRequestsWithParsedPathQueryAndHeadersOverKeepAlive) {
    auto server = serve(echo());
    EXPECT_NE(server->port(), 0);
    HttpClient client;
    HttpRequestSpec spec;
    spec.method = "POST";
    spec.url = url(*server, "/some%20path?a=b%2Bc&x=1");
    spec.headers.set("x-thing", "v");
    spec.body = "hello";
    auto first = client.send(spec);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(first->status, 200);
    EXPECT_EQ(first->body, "POST /some path b+c v 127.0.0.1 hello");
    EXPECT_FALSE(first->reused_connection);
    auto second = client.send(spec);
    ASSERT_TRUE(second.ok());
    EXPECT_TRUE(second->reused_connection);
    EXPECT_EQ(server->open_connections(), 1U);
}

TEST(HttpLayer, AnswersLaterFromAnotherThread) {
    std::vector<std::thread> workers;
    std::mutex mutex;
    auto server = serve([&](HttpRequest, Responder respond) {
        std::lock_guard lock(mutex);
        workers.emplace_back([respond] {
            std::this_thread::sleep_for(50ms);
            respond(HttpResponse::json(202, "{}"));
        });
    });
    HttpClient client;
    auto answer = client.send(HttpRequestSpec{"GET", url(*server, "/"), {}, {}, {}});
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(answer->status, 202);
    for (auto& w : workers) w.join();
}

TEST(HttpLayer, BodiesOverTheLimitGet413) {
    HttpServerOptions options;
    options.max_body_bytes = 1000;
    auto server = serve(echo(), options);
    HttpClient client;
    HttpRequestSpec spec{"POST", url(*server, "/"), {}, std::string(1001, 'x'), {}};
    auto answer = client.send(spec);
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_EQ(answer->status, 413);
    spec.body.resize(1000);
    EXPECT_EQ(client.send(spec)->status, 200);
}

// The 413 must reach a client that is still sending a large body: closing
// with unread bytes would make the kernel reset the connection instead.
TEST(HttpLayer, A413ReachesAClientStillSendingALargeBody) {
    HttpServerOptions options;
    options.max_body_bytes = 1000;
    auto server = serve(echo(), options);
    HttpClient client;
    for (int i = 0; i < 10; ++i) {
        HttpRequestSpec spec{"POST", url(*server, "/"), {}, std::string(4 * 1024 * 1024, 'x'), {}};
        auto answer = client.send(spec);
        ASSERT_TRUE(answer.ok()) << "attempt " << i << ": " << answer.error().message;
        EXPECT_EQ(answer->status, 413);
    }
}

TEST(HttpLayer, PlainHttpIsOnlyForLoopback) {
    HttpClient client;
    auto answer = client.send(HttpRequestSpec{"GET", "http://example.com/", {}, {}, {}});
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, kInvalidRequest);
    EXPECT_TRUE(is_loopback_host("127.0.0.2"));
    EXPECT_TRUE(is_loopback_host("::1"));
    EXPECT_TRUE(is_loopback_host("localhost"));
    EXPECT_FALSE(is_loopback_host("10.0.0.1"));
}

TEST(HttpLayer, AStaleKeepAliveConnectionIsNotReused) {
    HttpServerOptions options;
    options.idle_timeout = 100ms;
    auto server = serve(echo(), options);
    HttpClient client;
    ASSERT_TRUE(client.send(HttpRequestSpec{"GET", url(*server, "/"), {}, {}, {}}).ok());
    std::this_thread::sleep_for(300ms);  // the server closed the idle connection
    auto again = client.send(HttpRequestSpec{"GET", url(*server, "/"), {}, {}, {}});
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_FALSE(again->reused_connection);
}

TEST(HttpLayer, ASlowHeaderIsCutOffByTheHeaderTimeout) {
    HttpServerOptions options;
    options.header_timeout = 200ms;
    auto server = serve(echo(), options);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(server->port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    const std::string partial = "GET / HTTP/1.1\r\nHost: x\r\n";
    ASSERT_EQ(::send(fd, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
    timeval wait{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    const auto start = std::chrono::steady_clock::now();
    char buffer[64];
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    EXPECT_LE(n, 0);  // closed, nothing answered
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
    ::close(fd);
}

TEST(HttpLayer, StopLetsRequestsInFlightFinishAndIsSafeTwice) {
    std::promise<Responder> pending;
    auto server = serve([&](HttpRequest, Responder respond) { pending.set_value(respond); });
    HttpClient client;
    auto answer = std::async(std::launch::async, [&] { return client.send(HttpRequestSpec{"GET", url(*server, "/"), {}, {}, {}}); });
    Responder respond = pending.get_future().get();
    auto stopping = std::async(std::launch::async, [&] { server->stop(2s); });
    std::this_thread::sleep_for(100ms);
    respond(HttpResponse::text(200, "late"));
    stopping.get();
    auto result = answer.get();
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->body, "late");
    server->stop();
    EXPECT_FALSE(client.send(HttpRequestSpec{"GET", url(*server, "/"), {}, {}, {}}).ok());
}

// The watchdog's probe of the event loop (issue 18): a posted task runs on an
// I/O thread; after stop() it never runs.
TEST(HttpLayer, PostedTasksRunOnAnIoThreadUntilStop) {
    auto server = serve(echo());
    std::promise<std::thread::id> ran;
    server->post([&] { ran.set_value(std::this_thread::get_id()); });
    auto future = ran.get_future();
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
    EXPECT_NE(future.get(), std::this_thread::get_id());
    server->stop();
    std::atomic<bool> ran_after_stop{false};
    server->post([&] { ran_after_stop = true; });
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(ran_after_stop.load());
}

TEST(HttpLayer, AResetResponseAbortsTheConnection) {
    auto server = serve([](HttpRequest, Responder respond) { respond(HttpResponse::reset()); });
    HttpClient client;
    auto answer = client.send(HttpRequestSpec{"GET", url(*server, "/"), {}, {}, {}});
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, kOutcomeUnknown);
}

}  // namespace
}  // namespace meterbridge::net

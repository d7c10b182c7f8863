#include "meterbridge/sandbox/sandbox.hpp"

#include <condition_variable>
#include <functional>
#include <map>
#include <thread>

#include "json_writer.hpp"

namespace meterbridge::sandbox {

using net::HttpRequest;
using net::HttpResponse;

namespace {

HttpResponse control_error(int status, std::string_view code, std::string_view message) {
    detail::ObjectWriter error;
    error.str("code", code).str("message", message);
    detail::ObjectWriter w;
    w.raw("error", error.done());
    return HttpResponse::json(status, w.done());
}

HttpResponse fault_status(const Fault& fault) {
    std::string code = "Error";
    if (fault.status == 429) code = "TooManyRequests";
    if (fault.status == 500) code = "InternalServerError";
    if (fault.status == 503) code = "ServiceUnavailable";
    detail::ObjectWriter w;
    w.str("message", "Injected fault: HTTP " + std::to_string(fault.status)).str("code", code);
    auto response = HttpResponse::json(fault.status, w.done());
    if (fault.retry_after_s) response.headers.set("Retry-After", std::to_string(*fault.retry_after_s));
    return response;
}

// What a gateway in front of the service (Azure Application Gateway here)
// sends when it gives up on the answer: HTML, none of the service's headers.
HttpResponse gateway_status(const Fault& fault) {
    std::string reason = "Error";
    if (fault.status == 500) reason = "Internal Server Error";
    if (fault.status == 502) reason = "Bad Gateway";
    if (fault.status == 503) reason = "Service Temporarily Unavailable";
    if (fault.status == 504) reason = "Gateway Time-out";
    const std::string title = std::to_string(fault.status) + " " + reason;
    HttpResponse response;
    response.status = fault.status;
    response.headers.set("Content-Type", "text/html");
    response.body = "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
                    "</h1></center>\r\n<hr><center>Microsoft-Azure-Application-Gateway/v2</center>\r\n</body>\r\n"
                    "</html>\r\n";
    if (fault.retry_after_s) response.headers.set("Retry-After", std::to_string(*fault.retry_after_s));
    return response;
}

}  // namespace

// Runs callbacks after a delay on one thread of its own. Destruction drops
// what is still pending without running it.
class Sandbox::Delayer {
public:
    Delayer() : thread_([this] { run(); }) {}
    ~Delayer() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    void after(Duration delay, std::function<void()> call) {
        {
            std::lock_guard lock(mutex_);
            pending_.emplace(std::chrono::steady_clock::now() + delay, std::move(call));
        }
        wake_.notify_all();
    }

private:
    void run() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            if (pending_.empty()) {
                wake_.wait(lock);
                continue;
            }
            const auto due = pending_.begin()->first;
            if (std::chrono::steady_clock::now() < due) {
                wake_.wait_until(lock, due);
                continue;
            }
            auto call = std::move(pending_.begin()->second);
            pending_.erase(pending_.begin());
            lock.unlock();
            call();
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> pending_;
    bool stopping_ = false;
    std::thread thread_;
};

Result<std::unique_ptr<Sandbox>> Sandbox::start(SandboxOptions options) {
    if (!net::is_loopback_host(options.listen_address) || !net::is_ip_literal(options.listen_address)) {
        return make_error("invalid_listen_address", "the sandbox listens on loopback IP addresses only (e.g. "
                                                    "127.0.0.1), not '" + options.listen_address + "'");
    }
    auto core = SandboxCore::create(options.core);
    if (!core) return core.error();
    std::unique_ptr<Sandbox> sandbox(new Sandbox(std::move(options), std::move(*core)));
    net::HttpServerOptions server_options;
    server_options.address = sandbox->options_.listen_address;
    server_options.port = sandbox->options_.port;
    server_options.tls = sandbox->options_.tls;
    server_options.threads = sandbox->options_.threads;
    server_options.max_body_bytes = 4 * 1024 * 1024;
    Sandbox* raw = sandbox.get();
    auto server = net::HttpServer::start(std::move(server_options), [raw](HttpRequest request, net::Responder respond) {
        raw->handle(std::move(request), std::move(respond));
    });
    if (!server) return server.error();
    sandbox->server_ = std::move(*server);
    sandbox->core_->set_base_url(sandbox->base_url());  // Location headers and blob URLs point here
    return sandbox;
}

Sandbox::Sandbox(SandboxOptions options, std::unique_ptr<SandboxCore> core)
    : options_(std::move(options)), clock_(options_.base_clock), core_(std::move(core)),
      delayer_(std::make_unique<Delayer>()) {}

Sandbox::~Sandbox() { stop(); }

void Sandbox::stop() {
    // The server first: no handler may run once the delayer is gone.
    if (server_) server_->stop(std::chrono::milliseconds(500));
    delayer_.reset();
}

std::uint16_t Sandbox::port() const noexcept { return server_ ? server_->port() : 0; }

std::string Sandbox::base_url() const {
    const std::string& address = options_.listen_address;
    const std::string host = address.find(':') != std::string::npos ? "[" + address + "]" : address;
    return std::string(options_.tls ? "https" : "http") + "://" + host + ":" + std::to_string(port());
}

std::string Sandbox::token_url(std::string_view tenant, bool v2) const {
    return base_url() + "/" + std::string(tenant) + (v2 ? "/oauth2/v2.0/token" : "/oauth2/token");
}

void Sandbox::handle(HttpRequest request, net::Responder respond) {
    if (request.path.starts_with("/_sandbox/")) return respond(control(request));
    const auto fault = core_->take_fault(request.path);
    if (!fault) return respond(core_->handle(request, clock_.now()));
    switch (fault->kind) {
        case FaultKind::Status: {
            // The service's own refusal (429 throttling, 500...), so its headers are there.
            auto response = fault_status(*fault);
            if (request.path.starts_with("/api/")) echo_request_ids(request, response);
            return respond(std::move(response));
        }
        case FaultKind::Reset:
            return respond(HttpResponse::reset());
        case FaultKind::DropResponse:
            core_->handle(request, clock_.now());  // recorded, answer lost
            return respond(HttpResponse::reset());
        case FaultKind::ProcessedThenStatus:
            core_->handle(request, clock_.now());  // recorded, answer replaced
            return respond(gateway_status(*fault));
        case FaultKind::RejectBatchWith:
            break;  // never taken: the core applies it

        case FaultKind::Delay: {
            auto response = core_->handle(request, clock_.now());
            if (delayer_) {
                delayer_->after(fault->delay, [respond, r = std::move(response)]() mutable { respond(std::move(r)); });
            }
            return;
        }
    }
    respond(core_->handle(request, clock_.now()));
}

HttpResponse Sandbox::control(const HttpRequest& request) {
    const std::string& path = request.path;
    const std::string& method = request.method;
    if (path == "/_sandbox/faults") {
        if (method == "POST") {
            auto fault = Fault::parse(request.body);
            if (!fault) return control_error(400, "invalid_fault", fault.error().message);
            core_->add_fault(*fault);
            detail::ObjectWriter w;
            w.num("queued", static_cast<long long>(core_->queued_faults()));
            return HttpResponse::json(201, w.done());
        }
        if (method == "DELETE") {
            core_->clear_faults();
            return HttpResponse::json(200, R"({"queued":0})");
        }
        return control_error(405, "method_not_allowed", "use POST or DELETE");
    }
    if (path == "/_sandbox/events") {
        if (method != "GET") return control_error(405, "method_not_allowed", "use GET");
        const auto events = core_->events();
        std::string list;
        for (const auto& event : events) {
            if (!list.empty()) list.push_back(',');
            list += accepted_event_json(event);
        }
        detail::ObjectWriter w;
        w.num("count", static_cast<long long>(events.size())).raw("events", "[" + list + "]");
        return HttpResponse::json(200, w.done());
    }
    if (path == "/_sandbox/clock") {
        if (method == "PUT") {
            auto body = parse_exact_json(request.body);
            const auto now = body && body->is_object() && body->contains("now") && (*body)["now"].is_string()
                                 ? parse_iso8601((*body)["now"].get<std::string>())
                                 : Result<Instant>(make_error("invalid_clock", "body must be {\"now\":\"...\"}"));
            if (!now) return control_error(400, "invalid_clock", "body must be {\"now\":\"<ISO-8601 time>\"}");
            clock_.set(*now);
        } else if (method == "DELETE") {
            clock_.reset();
        } else if (method != "GET") {
            return control_error(405, "method_not_allowed", "use GET, PUT or DELETE");
        }
        detail::ObjectWriter w;
        w.str("now", format_iso8601(clock_.now(), true));
        return HttpResponse::json(200, w.done());
    }
    if (path == "/_sandbox/recon") {
        if (method == "POST") {
            auto plant = core_->add_plant(request.body);
            if (!plant) {
                return HttpResponse::json(400, R"({"error":{"code":"invalid_plant","message":)" +
                                                   detail::quote(plant.error().message) + R"(,"field":)" +
                                                   detail::quote(plant.error().field) + "}}");
            }
            return HttpResponse::json(201, plant_json(*plant));
        }
        if (method == "DELETE") {
            core_->clear_plants();
            return HttpResponse::json(200, R"({"count":0,"plants":[]})");
        }
        if (method != "GET") return control_error(405, "method_not_allowed", "use GET, POST or DELETE");
        const auto plants = core_->plants();
        std::string list;
        for (const auto& plant : plants) {
            if (!list.empty()) list.push_back(',');
            list += plant_json(plant);
        }
        detail::ObjectWriter w;
        w.num("count", static_cast<long long>(plants.size())).raw("plants", "[" + list + "]");
        return HttpResponse::json(200, w.done());
    }
    if (path == "/_sandbox/export") {
        auto& exporter = core_->partner_export();
        if (method == "PUT") {
            auto options = exporter.options().patched(request.body);
            if (!options) {
                return HttpResponse::json(400, R"({"error":{"code":"invalid_export_options","message":)" +
                                                   detail::quote(options.error().message) + R"(,"field":)" +
                                                   detail::quote(options.error().field) + "}}");
            }
            exporter.set_options(*options);
        } else if (method != "GET") {
            return control_error(405, "method_not_allowed", "use GET or PUT");
        }
        return HttpResponse::json(200, exporter.options().json());
    }
    if (path == "/_sandbox/stats") {
        detail::ObjectWriter w;
        w.num("token_requests", static_cast<long long>(core_->token_requests()))
            .num("api_requests", static_cast<long long>(core_->api_requests()))
            .num("accepted_events", static_cast<long long>(core_->events().size()))
            .num("queued_faults", static_cast<long long>(core_->queued_faults()));
        return HttpResponse::json(200, w.done());
    }
    if (path == "/_sandbox/tokens") {
        // Test-only: lets a test prove that no bearer token leaks into logs or the database.
        std::string list;
        for (const auto& token : core_->issued_tokens()) {
            if (!list.empty()) list.push_back(',');
            list += detail::quote(token);
        }
        detail::ObjectWriter w;
        w.raw("tokens", "[" + list + "]");
        return HttpResponse::json(200, w.done());
    }
    return control_error(404, "not_found", "no such sandbox control endpoint: " + path);
}

}  // namespace meterbridge::sandbox

#include "fake_m3ter.hpp"

#include <optional>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

namespace meterbridge::testing {
namespace {

using net::HttpRequest;
using net::HttpResponse;

// Decoded independently of the client's encoder, so that the two cannot
// agree on the same mistake.
std::optional<std::string> decode_base64(std::string_view text) {
    static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '=') {
            if (i + 2 < text.size()) return std::nullopt;
            break;
        }
        const auto index = kAlphabet.find(text[i]);
        if (index == std::string_view::npos) return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(index);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out.push_back(static_cast<char>((bits >> count) & 0xffu));
        }
    }
    return out;
}

HttpResponse message(int status, const std::string& text) {
    return HttpResponse::json(status, nlohmann::json{{"message", text}}.dump());
}

}  // namespace

FakeM3ter::FakeM3ter(const Clock& clock, FakeM3terOptions options) : clock_(clock), options_(std::move(options)) {
    net::HttpServerOptions server_options;
    server_options.address = "127.0.0.1";
    server_options.port = 0;
    auto server = net::HttpServer::start(server_options, [this](HttpRequest request, net::Responder respond) {
        handle(std::move(request), std::move(respond));
    });
    if (!server) throw std::runtime_error("fake m3ter cannot start: " + server.error().message);
    server_ = std::move(server).value();
}

FakeM3ter::~FakeM3ter() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    stopping_.notify_all();
    for (auto& thread : delayed_) thread.join();
    server_->stop(std::chrono::seconds(2));
}

std::string FakeM3ter::base_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

void FakeM3ter::put_bill(const std::string& id, std::string json) {
    std::lock_guard lock(mutex_);
    bills_[id] = std::move(json);
}

void FakeM3ter::put_account(const std::string& id, std::string json) {
    std::lock_guard lock(mutex_);
    accounts_[id] = std::move(json);
}

void FakeM3ter::fail_next(int status, int count, std::string body) {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < count; ++i) faults_.push_back(Fault{status, body, Duration{0}});
}

void FakeM3ter::delay_next(Duration delay, int count) {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < count; ++i) delays_.push_back(delay);
}

void FakeM3ter::revoke_tokens() {
    std::lock_guard lock(mutex_);
    for (auto& [value, token] : tokens_) token.revoked = true;
}

std::size_t FakeM3ter::token_requests() const {
    std::lock_guard lock(mutex_);
    return token_requests_;
}

std::size_t FakeM3ter::entity_requests() const {
    std::lock_guard lock(mutex_);
    return entity_requests_;
}

std::size_t FakeM3ter::requests_for(const std::string& path) const {
    std::lock_guard lock(mutex_);
    const auto it = path_counts_.find(path);
    return it == path_counts_.end() ? 0 : it->second;
}

std::size_t FakeM3ter::unauthorized_answers() const {
    std::lock_guard lock(mutex_);
    return unauthorized_;
}

std::vector<std::string> FakeM3ter::issued_tokens() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [value, token] : tokens_) out.push_back(value);
    return out;
}

void FakeM3ter::handle(HttpRequest request, net::Responder respond) {
    if (request.path == "/oauth/token") return respond(token(request));
    Duration delay{0};
    {
        std::lock_guard lock(mutex_);
        if (!delays_.empty() && request.path.starts_with("/organizations/")) {
            delay = delays_.front();
            delays_.erase(delays_.begin());
        }
    }
    auto response = entity(request);
    if (delay == Duration{0}) return respond(std::move(response));
    respond_later(delay, std::move(response), std::move(respond));
}

void FakeM3ter::respond_later(Duration delay, HttpResponse response, net::Responder respond) {
    std::lock_guard lock(mutex_);
    delayed_.emplace_back([this, delay, response = std::move(response), respond = std::move(respond)]() mutable {
        {
            std::unique_lock wait_lock(mutex_);
            stopping_.wait_for(wait_lock, delay, [this] { return stop_; });
        }
        respond(std::move(response));
    });
}

HttpResponse FakeM3ter::token(const HttpRequest& request) {
    std::lock_guard lock(mutex_);
    ++token_requests_;
    if (request.method != "POST") return message(405, "method not allowed");
    const std::string content_type = request.headers.get("Content-Type").value_or("");
    if (content_type.find("application/x-www-form-urlencoded") == std::string::npos) {
        return message(415, "expected a form body");
    }
    if (request.body != "grant_type=client_credentials") return message(400, "unsupported grant");
    const std::string authorization = request.headers.get("Authorization").value_or("");
    std::optional<std::string> credentials;
    if (authorization.starts_with("Basic ")) credentials = decode_base64(std::string_view(authorization).substr(6));
    if (!credentials || *credentials != options_.client_id + ":" + options_.client_secret) {
        std::string text = "Bad credentials";
        if (options_.echo_credentials_on_refusal && credentials) text += " for " + *credentials;
        return message(401, text);
    }
    const std::string value = "m3ter-access-token-" + std::to_string(++next_token_) + "-c2VjcmV0LXRva2Vu";
    tokens_[value] = IssuedToken{clock_.now() + seconds(options_.expires_in_s), false};
    const nlohmann::json answer{{"access_token", value}, {"token_type", "Bearer"}, {"expires_in", options_.expires_in_s}};
    return HttpResponse::json(200, answer.dump());
}

HttpResponse FakeM3ter::entity(const HttpRequest& request) {
    std::lock_guard lock(mutex_);
    ++entity_requests_;
    ++path_counts_[request.path];
    if (!faults_.empty()) {
        const Fault fault = faults_.front();
        faults_.erase(faults_.begin());
        return HttpResponse::json(fault.status, fault.body);
    }
    const std::string authorization = request.headers.get("Authorization").value_or("");
    const auto token = authorization.starts_with("Bearer ") ? tokens_.find(authorization.substr(7)) : tokens_.end();
    if (token == tokens_.end() || token->second.revoked || !(clock_.now() < token->second.expires_at)) {
        ++unauthorized_;
        return message(401, "Unauthorized");
    }
    if (request.method != "GET") return message(405, "method not allowed");

    // /organizations/{org}/{bills|accounts}/{id}
    const std::string prefix = "/organizations/" + options_.org_id + "/";
    if (!request.path.starts_with(prefix)) return message(404, "Organization not found");
    const std::string rest = request.path.substr(prefix.size());
    const auto slash = rest.find('/');
    if (slash == std::string::npos) return message(404, "Not found");
    const std::string collection = rest.substr(0, slash);
    const std::string id = rest.substr(slash + 1);
    const auto* entities = collection == "bills" ? &bills_ : collection == "accounts" ? &accounts_ : nullptr;
    if (entities == nullptr) return message(404, "Not found");
    const auto it = entities->find(id);
    if (it == entities->end()) return message(404, (collection == "bills" ? "Bill " : "Account ") + id + " not found");
    return HttpResponse::json(200, it->second);
}

}  // namespace meterbridge::testing

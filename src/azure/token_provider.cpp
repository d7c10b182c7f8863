#include "meterbridge/azure/token_provider.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "meterbridge/net/logged_exchange.hpp"

namespace meterbridge::azure {
namespace {

// Entra's error bodies do not echo the secret, but a misconfigured proxy
// might: scrub it from anything that goes into an error message.
std::string scrub(std::string text, std::string_view secret) {
    if (secret.empty()) return text;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
        text.replace(pos, secret.size(), net::kRedacted);
    }
    return text;
}

std::string url_path(std::string_view url) {
    const auto scheme = url.find("://");
    const auto slash = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
    if (slash == std::string_view::npos) return "/";
    return std::string(url.substr(slash, url.find('?', slash) - slash));
}

}  // namespace

bool is_v1_token_url(std::string_view token_url) {
    std::string path = url_path(token_url);
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    constexpr std::string_view kV1 = "/oauth2/token";
    return path.size() >= kV1.size() && path.compare(path.size() - kV1.size(), kV1.size(), kV1) == 0;
}

std::string token_request_body(const TokenProviderOptions& options) {
    std::string body = "grant_type=client_credentials&client_id=" + net::form_encode(options.client_id) +
                       "&client_secret=" + net::form_encode(options.client_secret);
    if (is_v1_token_url(options.token_url)) {
        body += "&resource=" + net::form_encode(options.resource);
    } else {
        body += "&scope=" + net::form_encode(options.resource + "/.default");
    }
    return body;
}

Result<AccessToken> parse_token_response(std::string_view body, Instant now) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return make_error("token_unavailable", "token endpoint answered 200 with a body that is not a JSON object");
    }
    const auto token = json.find("access_token");
    if (token == json.end() || !token->is_string() || token->get<std::string>().empty()) {
        return make_error("token_unavailable", "token endpoint answer has no access_token");
    }
    std::int64_t expires_in = -1;
    if (const auto it = json.find("expires_in"); it != json.end()) {
        if (it->is_number_integer()) {
            expires_in = it->get<std::int64_t>();
        } else if (it->is_number()) {
            expires_in = static_cast<std::int64_t>(it->get<double>());
        } else if (it->is_string()) {
            const auto text = it->get<std::string>();
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), expires_in);
            if (ec != std::errc{} || end != text.data() + text.size()) expires_in = -1;
        }
    }
    if (expires_in <= 0) return make_error("token_unavailable", "token endpoint answer has no usable expires_in");
    return AccessToken{token->get<std::string>(), now, now + seconds(expires_in)};
}

TokenProvider::TokenProvider(TokenProviderOptions options, net::HttpTransport& transport, const Clock& clock,
                             ExchangeLog* log)
    : options_(std::move(options)),
      transport_(transport),
      clock_(clock),
      log_(log),
      cache_([this] { return fetch(); }, clock_, options_.refresh_margin,
             make_error("token_unavailable", "no access token")) {}

Result<std::string> TokenProvider::access_token() { return cache_.get(); }

void TokenProvider::invalidate(std::string_view rejected) { cache_.invalidate(rejected); }

std::uint64_t TokenProvider::fetch_count() const { return cache_.fetch_count(); }

Result<AccessToken> TokenProvider::fetch() {
    net::HttpRequestSpec request;
    request.method = "POST";
    request.url = options_.token_url;
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    request.headers.set("Accept", "application/json");
    request.body = token_request_body(options_);
    request.read_timeout = options_.request_timeout;
    const Instant started = clock_.now();
    auto answer = net::send_logged(transport_, request, ExchangeKind::Token, log_, clock_);
    if (!answer) {
        return make_error("token_unavailable", "cannot reach the token endpoint " + options_.token_url + ": " +
                                                   scrub(answer.error().message, options_.client_secret));
    }
    if (answer->status != 200) {
        const std::string body = scrub(answer->body.substr(0, 2000), options_.client_secret);
        const bool rejected = answer->status >= 400 && answer->status < 500;
        return make_error(rejected ? "token_rejected" : "token_unavailable",
                          "token endpoint " + options_.token_url + " answered HTTP " + std::to_string(answer->status) +
                              (rejected ? " (check tenant_id, client_id and client_secret)" : "") + ": " + body);
    }
    return parse_token_response(answer->body, started);
}

}  // namespace meterbridge::azure

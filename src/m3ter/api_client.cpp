#include "meterbridge/m3ter/api_client.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <initializer_list>
#include <vector>

#include "meterbridge/net/logged_exchange.hpp"

namespace meterbridge::m3ter {
namespace {

constexpr std::size_t kMaxBodyInError = 2000;

// m3ter's error bodies do not echo credentials, but a misconfigured proxy
// might: error messages and exchange records pass through here.
std::string scrub(std::string text, std::initializer_list<std::string_view> secrets) {
    for (const std::string_view secret : secrets) {
        if (secret.empty()) continue;
        for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
            text.replace(pos, secret.size(), net::kRedacted);
        }
    }
    return text;
}

// Forwards records to `target` with the given secrets scrubbed from every
// field. send_logged redacts headers and well-known JSON/form keys; this also
// covers a body that echoes a credential (a proxy's error page, say).
// One per exchange, on the sending thread's stack.
class ScrubbingLog final : public ExchangeLog {
public:
    ScrubbingLog(ExchangeLog& target, std::initializer_list<std::string_view> secrets)
        : target_(target), secrets_(secrets) {}

    void record(const ExchangeRecord& exchange) override {
        ExchangeRecord copy = exchange;
        for (std::string* text : {&copy.url, &copy.request_body, &copy.response_body, &copy.error}) {
            *text = clean(*text);
        }
        for (auto* headers : {&copy.request_headers, &copy.response_headers}) {
            for (auto& [name, value] : *headers) value = clean(value);
        }
        target_.record(copy);
    }

private:
    std::string clean(std::string text) const {
        for (const std::string_view secret : secrets_) text = scrub(std::move(text), {secret});
        return text;
    }

    ExchangeLog& target_;
    std::vector<std::string_view> secrets_;
};

std::string to_base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int written =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                        static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

std::string excerpt(std::string_view body) {
    return std::string(body.substr(0, kMaxBodyInError)) + (body.size() > kMaxBodyInError ? "..." : "");
}

// {"access_token": "...", "token_type": "Bearer", "expires_in": 18000}; `now`
// is when the request started, so the token is never believed to live longer
// than it does.
std::optional<std::string> parse_token(std::string_view body, Instant now, std::string& token, Instant& expires_at) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return "a body that is not a JSON object";
    const auto value = json.find("access_token");
    if (value == json.end() || !value->is_string() || value->get<std::string>().empty()) return "no access_token";
    if (const auto type = json.find("token_type"); type != json.end()) {
        if (!type->is_string() || !net::iequals(type->get<std::string>(), "bearer")) {
            return "a token_type other than Bearer";
        }
    }
    std::int64_t expires_in = -1;
    if (const auto it = json.find("expires_in"); it != json.end()) {
        if (it->is_number_integer()) {
            expires_in = it->get<std::int64_t>();
        } else if (it->is_string()) {
            const auto text = it->get<std::string>();
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), expires_in);
            if (ec != std::errc{} || end != text.data() + text.size()) expires_in = -1;
        }
    }
    if (expires_in <= 0) return "no usable expires_in";
    token = value->get<std::string>();
    expires_at = now + seconds(expires_in);
    return std::nullopt;
}

}  // namespace

ApiClientOptions ApiClientOptions::from_config(const M3terConfig& config) {
    ApiClientOptions options;
    options.base_url = config.base_url;
    options.org_id = config.org_id;
    options.client_id = config.client_id.value();
    options.client_secret = config.client_secret.value();
    return options;
}

std::string basic_authorization(std::string_view client_id, std::string_view client_secret) {
    std::string credentials;
    credentials.reserve(client_id.size() + 1 + client_secret.size());
    credentials.append(client_id).append(":").append(client_secret);
    return "Basic " + to_base64(credentials);
}

ApiClient::ApiClient(ApiClientOptions options, net::HttpTransport& transport, const Clock& clock, ExchangeLog* log)
    : options_(std::move(options)),
      transport_(transport),
      clock_(clock),
      log_(log),
      tokens_([this] { return fetch_token(); }, clock_, options_.refresh_margin,
              make_error(std::string(kUnavailable), "no m3ter access token")) {}

Result<Bill> ApiClient::fetch_bill(std::string_view bill_id) {
    auto body = get_entity("bills", "bill", bill_id);
    if (!body) return body.error();
    auto json = parse_exact_json(*body);
    if (!json) {
        return make_error(std::string(kUnavailable), "m3ter answered bill " + std::string(bill_id) +
                                                         " with invalid JSON: " + json.error().message,
                          std::string(bill_id));
    }
    auto bill = parse_bill(*json);
    if (!bill) {
        Error error = bill.error();
        error.message = "bill " + std::string(bill_id) + " from the m3ter API: " + error.message;
        return error;
    }
    if (bill->id != bill_id) {
        return make_error(std::string(kUnavailable),
                          "m3ter answered a request for bill " + std::string(bill_id) + " with bill " + bill->id,
                          std::string(bill_id));
    }
    return bill;
}

Result<Json> ApiClient::fetch_account(std::string_view account_id) {
    auto body = get_entity("accounts", "account", account_id);
    if (!body) return body.error();
    auto json = parse_exact_json(*body);
    if (!json || !json->is_object()) {
        return make_error(std::string(kUnavailable),
                          "m3ter answered account " + std::string(account_id) +
                              " with something other than a JSON object",
                          std::string(account_id));
    }
    return json;
}

Result<std::string> ApiClient::get_entity(std::string_view collection, std::string_view entity, std::string_view id) {
    const std::string what = std::string(entity) + " " + std::string(id);
    if (id.empty()) return make_error("invalid_field", "the " + std::string(entity) + " id is empty", "id");

    net::HttpRequestSpec request;
    request.method = "GET";
    request.url = options_.base_url + "/organizations/" + net::form_encode(options_.org_id) + "/" +
                  std::string(collection) + "/" + net::form_encode(id);
    request.headers.set("Accept", "application/json");
    request.read_timeout = options_.request_timeout;

    // A 401 may mean the cached token was revoked or expired early: one fresh
    // token and one retry, never more (a second 401 is a real refusal).
    for (int attempt = 0;; ++attempt) {
        auto token = tokens_.get();
        if (!token) {
            Error error = token.error();
            error.message = "cannot fetch " + what + ": " + error.message;
            error.field = std::string(id);
            return error;
        }
        request.headers.set("Authorization", "Bearer " + *token);
        auto answer = send(request, *token);
        if (!answer) {
            return make_error(std::string(kUnavailable),
                              "cannot reach the m3ter API for " + what + " (" + request.url + "): " +
                                  scrub(answer.error().message, {options_.client_secret, *token}),
                              std::string(id));
        }
        if (answer->status == 200) return std::move(answer->body);
        if (answer->status == 401 && attempt == 0) {
            // Only the token that was refused: another thread may have fetched a new one meanwhile.
            tokens_.invalidate(*token);
            continue;
        }
        const std::string body = scrub(excerpt(answer->body), {options_.client_secret, *token});
        const std::string status = "HTTP " + std::to_string(answer->status);
        if (answer->status == 404) {
            return make_error(std::string(kNotFound), "m3ter has no " + what + " in organization " + options_.org_id +
                                                          " (" + status + "): " + body,
                              std::string(id));
        }
        if (answer->status == 401 || answer->status == 403) {
            return make_error(std::string(kUnauthorized), "m3ter refused access to " + what + " (" + status +
                                                              ", check the m3ter client's permissions): " + body,
                              std::string(id));
        }
        const bool transient = answer->status == 408 || answer->status == 429 || answer->status >= 500;
        return make_error(std::string(transient ? kUnavailable : kRejected),
                          "m3ter answered " + status + " for " + what + ": " + body, std::string(id));
    }
}

Result<net::HttpExchangeResult> ApiClient::send(const net::HttpRequestSpec& request, std::string_view token) {
    if (log_ == nullptr) return transport_.send(request);
    const std::string basic = basic_authorization(options_.client_id, options_.client_secret).substr(6);
    ScrubbingLog scrubbed(*log_, {options_.client_secret, basic, token});
    return net::send_logged(transport_, request, ExchangeKind::M3ter, &scrubbed, clock_);
}

std::uint64_t ApiClient::token_fetch_count() const { return tokens_.fetch_count(); }

Result<net::AccessToken> ApiClient::fetch_token() {
    net::HttpRequestSpec request;
    request.method = "POST";
    request.url = options_.base_url + "/oauth/token";
    request.headers.set("Authorization", basic_authorization(options_.client_id, options_.client_secret));
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    request.headers.set("Accept", "application/json");
    request.body = "grant_type=client_credentials";
    request.read_timeout = options_.request_timeout;
    const Instant started = clock_.now();
    auto answer = send(request, {});
    if (!answer) {
        return make_error(std::string(kUnavailable), "cannot reach the m3ter token endpoint " + request.url + ": " +
                                                         scrub(answer.error().message, {options_.client_secret}));
    }
    if (answer->status != 200) {
        const std::string body = scrub(excerpt(answer->body), {options_.client_secret});
        const std::string prefix =
            "m3ter token endpoint " + request.url + " answered HTTP " + std::to_string(answer->status);
        if (answer->status == 400 || answer->status == 401 || answer->status == 403) {
            return make_error(std::string(kUnauthorized),
                              prefix + " (check m3ter.client_id and m3ter.client_secret): " + body);
        }
        return make_error(std::string(answer->status >= 500 || answer->status == 429 ? kUnavailable : kRejected),
                          prefix + ": " + body);
    }
    net::AccessToken token;
    token.obtained_at = started;
    if (auto problem = parse_token(answer->body, started, token.value, token.expires_at)) {
        return make_error(std::string(kUnavailable),
                          "m3ter token endpoint " + request.url + " answered 200 with " + *problem);
    }
    return token;
}

}  // namespace meterbridge::m3ter

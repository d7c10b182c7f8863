#include "meterbridge/net/http_types.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

namespace meterbridge::net {
namespace {

char lower(char c) noexcept { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

HttpResponse with_body(int status, std::string content_type, std::string body) {
    HttpResponse response;
    response.status = status;
    response.headers.set("Content-Type", std::move(content_type));
    response.body = std::move(body);
    return response;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view text) noexcept {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

void Headers::add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }

void Headers::set(std::string name, std::string value) {
    erase(name);
    add(std::move(name), std::move(value));
}

void Headers::erase(std::string_view name) {
    std::erase_if(fields_, [&](const Field& f) { return iequals(f.first, name); });
}

std::optional<std::string> Headers::get(std::string_view name) const {
    for (const auto& [key, value] : fields_) {
        if (iequals(key, name)) return value;
    }
    return std::nullopt;
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
    for (const auto& [key, value] : query) {
        if (key == name) return value;
    }
    return std::nullopt;
}

HttpResponse HttpResponse::json(int status, std::string body) {
    return with_body(status, "application/json; charset=utf-8", std::move(body));
}

HttpResponse HttpResponse::error(int status, const Error& error) {
    nlohmann::json body = {{"error", {{"code", error.code}, {"message", error.message}}}};
    if (!error.field.empty()) body["error"]["field"] = error.field;
    // A strict dump() would throw on invalid UTF-8 and turn the answer into a
    // 500 (found by fuzz/http_fuzzer.cpp with `GET /%FF`).
    return json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool is_json_content_type(const std::optional<std::string>& value) {
    if (!value) return false;
    const std::string_view type = std::string_view(*value).substr(0, value->find(';'));
    return iequals(trim(type), "application/json");
}

HttpResponse HttpResponse::text(int status, std::string body) {
    return with_body(status, "text/plain; charset=utf-8", std::move(body));
}

HttpResponse HttpResponse::reset() {
    HttpResponse response;
    response.reset_connection = true;
    return response;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%' && i + 2 < text.size()) {
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
    return out;
}

QueryParams parse_query(std::string_view text) {
    QueryParams params;
    while (!text.empty()) {
        const auto amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) {
            params.emplace_back(percent_decode(pair, true), std::string{});
        } else {
            params.emplace_back(percent_decode(pair.substr(0, eq), true), percent_decode(pair.substr(eq + 1), true));
        }
    }
    return params;
}

std::string form_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 0x0F]);
        }
    }
    return out;
}

Result<Url> parse_url(std::string_view text) {
    const auto bad = [&](std::string why) {
        return make_error("invalid_url", "'" + std::string(text.substr(0, 200)) + "' is not a usable URL: " + why);
    };
    Url url;
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) return bad("no scheme");
    for (const char c : text.substr(0, scheme_end)) url.scheme.push_back(lower(c));
    if (url.scheme != "http" && url.scheme != "https") return bad("scheme must be http or https");
    std::string_view rest = text.substr(scheme_end + 3);
    const auto path_start = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_start);
    url.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
    if (!url.target.empty() && url.target.front() == '?') url.target.insert(0, "/");
    if (authority.find('@') != std::string_view::npos) return bad("credentials in URLs are not supported");
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return bad("unterminated IPv6 literal");
        url.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return bad("junk after IPv6 literal");
            port_text = after.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        url.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    }
    if (url.host.empty()) return bad("no host");
    for (char& c : url.host) c = lower(c);
    if (port_text.empty()) {
        url.port = url.scheme == "https" ? 443 : 80;
    } else {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
            return bad("bad port");
        }
        url.port = static_cast<std::uint16_t>(value);
    }
    return url;
}

bool is_ip_literal(std::string_view host) noexcept {
    const std::string copy(host);
    unsigned char buffer[16];
    return inet_pton(AF_INET, copy.c_str(), buffer) == 1 || inet_pton(AF_INET6, copy.c_str(), buffer) == 1;
}

bool is_loopback_host(std::string_view host) noexcept {
    if (iequals(host, "localhost")) return true;
    const std::string copy(host);
    unsigned char v4[4];
    if (inet_pton(AF_INET, copy.c_str(), v4) == 1) return v4[0] == 127;
    unsigned char v6[16];
    if (inet_pton(AF_INET6, copy.c_str(), v6) == 1) {
        static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return std::equal(std::begin(v6), std::end(v6), std::begin(kLoopback));
    }
    return false;
}

}  // namespace meterbridge::net

#pragma once
// Plain HTTP data shared by the server, the client and their users. No Beast
// here: these headers are included by many translation units.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "meterbridge/core/result.hpp"

namespace meterbridge::net {

bool iequals(std::string_view a, std::string_view b) noexcept;

// `text` without leading and trailing spaces and tabs (HTTP's optional white space).
std::string_view trim(std::string_view text) noexcept;

// Header fields in arrival order; names compare case-insensitively.
class Headers {
public:
    using Field = std::pair<std::string, std::string>;

    void add(std::string name, std::string value);
    void set(std::string name, std::string value);  // replaces every field of that name
    void erase(std::string_view name);
    std::optional<std::string> get(std::string_view name) const;  // the first field of that name
    bool contains(std::string_view name) const { return get(name).has_value(); }

    const std::vector<Field>& fields() const noexcept { return fields_; }
    auto begin() const noexcept { return fields_.begin(); }
    auto end() const noexcept { return fields_.end(); }
    bool empty() const noexcept { return fields_.empty(); }

private:
    std::vector<Field> fields_;
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// A request as the server hands it to a handler.
struct HttpRequest {
    std::string method;          // "GET", "POST", ...
    std::string target;          // path and query as received
    std::string path;            // percent-decoded path
    QueryParams query;           // decoded, in order
    Headers headers;
    std::string body;
    std::string remote_address;  // peer IP address

    std::optional<std::string> query_param(std::string_view name) const;
};

// A handler's answer. `reset_connection` makes the server abort the TCP
// connection (RST) instead of writing anything: used to simulate faults.
struct HttpResponse {
    int status = 200;
    Headers headers;
    std::string body;
    bool reset_connection = false;

    static HttpResponse json(int status, std::string body);
    static HttpResponse text(int status, std::string body);
    static HttpResponse reset();
    // The error answer of every HTTP API here (SPEC §5, docs/operations.md):
    //   {"error": {"code": "...", "message": "...", "field": "..."}}
    // `field` only when not empty. Invalid UTF-8 in the message (it may quote
    // request bytes) is replaced, so building the answer never throws.
    static HttpResponse error(int status, const Error& error);
};

// True for a Content-Type of application/json, any parameters (charset) aside.
bool is_json_content_type(const std::optional<std::string>& value);

// Query strings and application/x-www-form-urlencoded bodies.
QueryParams parse_query(std::string_view text);
std::string percent_decode(std::string_view text, bool plus_is_space);
std::string form_encode(std::string_view text);  // unreserved characters kept, others %XX

// An http(s) URL split for the client. The default port follows the scheme.
struct Url {
    std::string scheme;  // "http" | "https"
    std::string host;    // without brackets for IPv6 literals
    std::uint16_t port = 0;
    std::string target;  // path + query, at least "/"
};
Result<Url> parse_url(std::string_view text);

// "localhost", 127.0.0.0/8 and ::1.
bool is_loopback_host(std::string_view host) noexcept;
bool is_ip_literal(std::string_view host) noexcept;

}  // namespace meterbridge::net

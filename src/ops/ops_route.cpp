#include "ops/ops_route.hpp"

#include <charconv>
#include <utility>

#include "meterbridge/net/api_error.hpp"
#include "meterbridge/store/records.hpp"
#include "ops/ops_auth.hpp"

namespace meterbridge::app {

using net::error_response;
using net::PathParams;
using net::RouteHandler;

net::HttpResponse json_response(int status, const Json& body) { return net::HttpResponse::json(status, dump_exact(body)); }

// A store Error as an HTTP answer. The store's codes (records.hpp) map onto
// statuses; anything else is a fault of ours.
net::HttpResponse store_error_response(const Error& error) {
    if (error.code == store::kNotFound) return error_response(404, error);
    if (error.code == store::kDuplicateMapping || error.code == store::kInvalidState) return error_response(409, error);
    if (error.code == store::kInvalidField) return error_response(400, error);
    if (error.code == store::kStorageError) return error_response(503, error);
    return error_response(500, error);
}

RouteHandler ops_route(const OpsContext& context, Access access, SyncHandler handler) {
    return [&context, access, handler = std::move(handler)](const net::HttpRequest& request, const PathParams& params,
                                                            const net::Responder& respond) {
        if (access == Access::Token) {
            if (auto refused = check_ops_token(context.ops, request)) {
                respond(std::move(*refused));
                return;
            }
        }
        net::HttpResponse response;
        try {
            response = handler(request, params);
        } catch (const std::exception& error) {
            response = error_response(500, "internal_error", error.what());
        }
        respond(std::move(response));
    };
}

// ------------------------------------------------------------ parameters

Error bad_parameter(std::string_view name, std::string message) {
    return make_error("invalid_field", std::string(name) + ": " + std::move(message), std::string(name));
}

// An absent or empty parameter is nullopt.
Result<std::optional<Instant>> instant_param(const net::HttpRequest& request, std::string_view name) {
    const auto text = request.query_param(name);
    if (!text || text->empty()) return std::optional<Instant>();
    auto parsed = parse_iso8601(*text);
    if (!parsed) return bad_parameter(name, "expected an ISO-8601 instant such as 2026-01-01T09:00:00Z");
    return std::optional<Instant>(*parsed);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

Result<std::int64_t> int_param(const net::HttpRequest& request, std::string_view name, std::int64_t fallback,
                               std::int64_t min, std::int64_t max) {
    const auto text = request.query_param(name);
    if (!text || text->empty()) return fallback;
    const auto value = parse_int(*text);
    if (!value || *value < min || *value > max) {
        return bad_parameter(name, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return *value;
}

}  // namespace meterbridge::app

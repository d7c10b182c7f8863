#pragma once
// What every ops route shares (ops_api.cpp, console_routes.cpp): the wrapper
// that checks the token and turns store errors and stray exceptions into the
// JSON error shape, and the readers of query parameters.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/router.hpp"
#include "ops/ops_api.hpp"

namespace meterbridge::app {

using SyncHandler = std::function<net::HttpResponse(const net::HttpRequest&, const net::PathParams&)>;

enum class Access { Token, Open };

// `body` serialised with dump_exact (amounts keep their decimal text).
net::HttpResponse json_response(int status, const Json& body);

// A store Error as an HTTP answer: not_found 404, duplicate_mapping and
// invalid_state 409, invalid_field 400, storage_error 503, else 500.
net::HttpResponse store_error_response(const Error& error);

// `handler` behind the ops token (Access::Token) and an exception guard.
// `context` must outlive the returned handler.
net::RouteHandler ops_route(const OpsContext& context, Access access, SyncHandler handler);

// invalid_field naming the query parameter.
Error bad_parameter(std::string_view name, std::string message);
// An absent or empty parameter is nullopt; a malformed one is an Error.
Result<std::optional<Instant>> instant_param(const net::HttpRequest& request, std::string_view name);
std::optional<std::int64_t> parse_int(std::string_view text);
// `fallback` when absent or empty; an Error outside [min, max].
Result<std::int64_t> int_param(const net::HttpRequest& request, std::string_view name, std::int64_t fallback,
                               std::int64_t min, std::int64_t max);

}  // namespace meterbridge::app

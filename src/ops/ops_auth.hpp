#pragma once
// The ops token check of SPEC §5: when `ops.token` is set, every ops endpoint
// (all but /healthz, /readyz and /metrics) needs `Authorization: Bearer <token>`.
#include <optional>
#include <string_view>

#include "ops/ops_config.hpp"
#include "meterbridge/net/http_types.hpp"

namespace meterbridge::app {

// True when `expected` is empty (no token configured) or the request carries
// `Authorization: Bearer <expected>` (scheme case-insensitive). The token
// comparison takes the same time wherever the first difference is.
bool bearer_token_matches(const net::HttpRequest& request, std::string_view expected);

// nullopt when the request may proceed; otherwise the 401 answer to send,
// with `WWW-Authenticate: Bearer`. Never reveals the configured token.
std::optional<net::HttpResponse> check_ops_token(const OpsConfig& ops, const net::HttpRequest& request);

}  // namespace meterbridge::app

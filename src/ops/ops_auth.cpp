#include "ops/ops_auth.hpp"

#include <openssl/crypto.h>

#include "meterbridge/net/api_error.hpp"

namespace meterbridge::app {

using net::error_response;
namespace {

// The credentials of an `Authorization: Bearer <token>` field, or nullopt.
std::optional<std::string_view> bearer_credentials(std::string_view field) {
    field = net::trim(field);
    constexpr std::string_view scheme = "Bearer";
    if (field.size() <= scheme.size() || !net::iequals(field.substr(0, scheme.size()), scheme)) return std::nullopt;
    if (field[scheme.size()] != ' ' && field[scheme.size()] != '\t') return std::nullopt;
    return net::trim(field.substr(scheme.size()));
}

}  // namespace

bool bearer_token_matches(const net::HttpRequest& request, std::string_view expected) {
    if (expected.empty()) return true;
    const auto field = request.headers.get("Authorization");
    if (!field) return false;
    const auto presented = bearer_credentials(*field);
    // Only the length can be learnt from timing, never a prefix of the token.
    if (!presented || presented->size() != expected.size()) return false;
    return CRYPTO_memcmp(presented->data(), expected.data(), expected.size()) == 0;
}

std::optional<net::HttpResponse> check_ops_token(const OpsConfig& ops, const net::HttpRequest& request) {
    if (!ops.token || ops.token->value().empty()) return std::nullopt;
    if (bearer_token_matches(request, ops.token->value())) return std::nullopt;
    const bool presented = request.headers.contains("Authorization");
    auto response = error_response(401, "unauthorized",
                                   presented ? "the ops bearer token is wrong"
                                             : "this endpoint needs Authorization: Bearer <ops.token>",
                                   "Authorization");
    response.headers.set("WWW-Authenticate", presented ? "Bearer error=\"invalid_token\"" : "Bearer");
    return response;
}

}  // namespace meterbridge::app

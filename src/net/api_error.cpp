#include "meterbridge/net/api_error.hpp"

#include "meterbridge/core/exact_json.hpp"

namespace meterbridge::net {

// The shape is net's, shared with the HTTP server's own answers.
net::HttpResponse error_response(int status, const Error& error) { return net::HttpResponse::error(status, error); }

net::HttpResponse error_response(int status, std::string code, std::string message, std::string field) {
    return error_response(status, Error{std::move(code), std::move(message), std::move(field)});
}

}  // namespace meterbridge::net

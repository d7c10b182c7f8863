#pragma once
// JSON error answers of the HTTP API (SPEC §5):
//   {"error": {"code": "...", "message": "...", "field": "..."}}
#include <string>

#include "meterbridge/core/result.hpp"
#include "meterbridge/net/http_types.hpp"

namespace meterbridge::net {

net::HttpResponse error_response(int status, const Error& error);
net::HttpResponse error_response(int status, std::string code, std::string message, std::string field = {});

}  // namespace meterbridge::net

#include "meterbridge/net/api_error.hpp"

#include "meterbridge/core/exact_json.hpp"

namespace meterbridge::net {

net::HttpResponse error_response(int status, const Error& error) {
    Json body = {{"error", {{"code", error.code}, {"message", error.message}}}};
    if (!error.field.empty()) body["error"]["field"] = error.field;
    // Messages may quote request bytes (a percent-decoded path, a bill id):
    // invalid UTF-8 is replaced, since a strict dump() would throw and turn
    // the answer into a 500 (found by fuzz/http_fuzzer.cpp).
    return net::HttpResponse::json(status, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

net::HttpResponse error_response(int status, std::string code, std::string message, std::string field) {
    return error_response(status, Error{std::move(code), std::move(message), std::move(field)});
}

}  // namespace meterbridge::net

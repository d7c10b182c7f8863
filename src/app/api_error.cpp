#include "api_error.hpp"

#include "meterbridge/core/exact_json.hpp"

namespace meterbridge::app {

net::HttpResponse error_response(int status, const Error& error) {
    Json body = {{"error", {{"code", error.code}, {"message", error.message}}}};
    if (!error.field.empty()) body["error"]["field"] = error.field;
    return net::HttpResponse::json(status, body.dump());
}

net::HttpResponse error_response(int status, std::string code, std::string message, std::string field) {
    return error_response(status, Error{std::move(code), std::move(message), std::move(field)});
}

}  // namespace meterbridge::app

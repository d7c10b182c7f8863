#include "meterbridge/net/router.hpp"

#include "meterbridge/net/api_error.hpp"

namespace meterbridge::net {

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> segments;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t end = path.find('/', start);
        const std::string segment = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!segment.empty()) segments.push_back(segment);
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return segments;
}

void Router::add(std::string method, const std::string& pattern, RouteHandler handler) {
    routes_.push_back(Route{std::move(method), split_path(pattern), std::move(handler)});
}

void Router::dispatch(const net::HttpRequest& request, const net::Responder& respond) const {
    const auto segments = split_path(request.path);
    std::string allowed;
    for (const Route& route : routes_) {
        if (route.segments.size() != segments.size()) continue;
        PathParams params;
        bool match = true;
        for (std::size_t i = 0; i < segments.size() && match; ++i) {
            const std::string& part = route.segments[i];
            if (part.size() > 2 && part.front() == '{' && part.back() == '}') {
                params[part.substr(1, part.size() - 2)] = segments[i];
            } else {
                match = part == segments[i];
            }
        }
        if (!match) continue;
        if (route.method == request.method || (route.method == "GET" && request.method == "HEAD")) {
            route.handler(request, params, respond);
            return;
        }
        allowed += (allowed.empty() ? "" : ", ") + route.method;
    }
    if (allowed.empty()) {
        respond(error_response(404, "not_found", "no such endpoint: " + request.path));
        return;
    }
    auto response = error_response(405, "method_not_allowed", request.method + " is not allowed on " + request.path);
    response.headers.set("Allow", allowed);
    respond(std::move(response));
}

}  // namespace meterbridge::net

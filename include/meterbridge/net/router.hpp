#pragma once
// Method + path routing for the daemon's HTTP API. Patterns are literal
// segments and "{name}" captures: "/bills/{billId}/reprocess".
// Unknown paths answer 404, known paths with another method 405 (+ Allow).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "meterbridge/net/http_server.hpp"

namespace meterbridge::net {

using PathParams = std::map<std::string, std::string>;
using RouteHandler = std::function<void(const net::HttpRequest&, const PathParams&, net::Responder)>;

class Router {
public:
    void add(std::string method, const std::string& pattern, RouteHandler handler);

    // Finds the route and calls it, or answers 404/405.
    void dispatch(const net::HttpRequest& request, const net::Responder& respond) const;

private:
    struct Route {
        std::string method;
        std::vector<std::string> segments;
        RouteHandler handler;
    };
    std::vector<Route> routes_;
};

std::vector<std::string> split_path(const std::string& path);

}  // namespace meterbridge::net

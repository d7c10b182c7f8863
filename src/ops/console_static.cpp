#include "ops/console_static.hpp"

#include <cstdint>
#include <cstdio>
#include <string>

#include "meterbridge/net/api_error.hpp"

namespace meterbridge::app {

namespace {

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// FNV-1a 64 of the body: the ETag only has to change when the file does.
std::string entity_tag(std::string_view body) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const char c : body) {
        hash ^= static_cast<std::uint64_t>(static_cast<unsigned char>(c));
        hash *= 0x100000001b3ULL;
    }
    char text[24];
    std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(hash));
    return text;
}

void set_security_headers(net::HttpResponse& response) {
    response.headers.set("Content-Security-Policy", std::string(kContentSecurityPolicy));
    response.headers.set("X-Content-Type-Options", "nosniff");
    response.headers.set("Referrer-Policy", "no-referrer");
    response.headers.set("X-Frame-Options", "DENY");
}

}  // namespace

std::optional<net::HttpResponse> console_asset_response(std::string_view name, const net::HttpRequest& request) {
    for (const ConsoleAsset& asset : console_assets()) {
        if (asset.name != name) continue;
        net::HttpResponse response;
        const std::string tag = entity_tag(asset.body);
        const auto presented = request.headers.get("If-None-Match");
        if (presented && *presented == tag) {
            response.status = 304;
        } else {
            response.status = 200;
            response.body = std::string(asset.body);
            response.headers.set("Content-Type", std::string(asset.content_type));
        }
        response.headers.set("ETag", tag);
        response.headers.set("Cache-Control", "no-cache");
        set_security_headers(response);
        return response;
    }
    return std::nullopt;
}

void add_console_static_routes(net::Router& router) {
    // The router ignores a trailing slash, so "/console" and "/console/" both
    // land here; only the request's own path tells them apart.
    router.add("GET", "/console", [](const net::HttpRequest& request, const net::PathParams&, const net::Responder& respond) {
        if (!request.path.empty() && request.path.back() == '/') {
            respond(*console_asset_response("index.html", request));
            return;
        }
        net::HttpResponse response;
        response.status = 308;
        response.headers.set("Location", "console/");  // relative: keeps a proxy's path prefix
        set_security_headers(response);
        respond(std::move(response));
    });
    router.add("GET", "/console/{name}",
               [](const net::HttpRequest& request, const net::PathParams& params, const net::Responder& respond) {
                   auto response = console_asset_response(params.at("name"), request);
                   if (!response) {
                       respond(net::error_response(404, "not_found", "no console file " + params.at("name")));
                       return;
                   }
                   respond(std::move(*response));
               });
}

}  // namespace meterbridge::app

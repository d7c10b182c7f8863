#pragma once
// The console's static files, built into the binary from src/ops/console/
// (cmake/embed_console.cmake), and the public routes that serve them.
#include <optional>
#include <span>
#include <string_view>

#include "meterbridge/net/router.hpp"

namespace meterbridge::app {

struct ConsoleAsset {
    std::string_view name;          // file name, e.g. "app.js"
    std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
    std::string_view body;
};

// Every embedded file; defined in the generated console_assets.cpp.
std::span<const ConsoleAsset> console_assets();

// The answer to GET /console/{name} (nullopt for an unknown name): the file
// with its content type, an ETag (If-None-Match answers 304), no-cache (always
// revalidated, so a new binary's console is seen at once) and the console's
// Content-Security-Policy: nothing but the daemon's own scripts, styles and
// API, no inline script, no framing.
std::optional<net::HttpResponse> console_asset_response(std::string_view name, const net::HttpRequest& request);

// GET /console (a redirect to "console/", so that the pages' relative URLs
// resolve under any path prefix a reverse proxy adds), GET /console/ (the
// page) and GET /console/{name}. No token: the files hold no data.
void add_console_static_routes(net::Router& router);

}  // namespace meterbridge::app

// `meterbridge healthcheck [--config FILE]`: asks GET /healthz of the
// configured listener (on loopback when it listens on every address) and
// exits 0 when the daemon answers {"status":"ok"}, 1 otherwise — what a
// container's HEALTHCHECK runs, with no curl in the image.
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "cli/config_file.hpp"
#include "meterbridge/net/http_client.hpp"

namespace meterbridge::app {
namespace {

// Where to ask: the listen address, or loopback for a wildcard one.
std::string healthz_url(const net::ListenConfig& listen) {
    std::string host = listen.address;
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return "http://" + host + ":" + std::to_string(listen.port) + "/healthz";
}

}  // namespace

int healthcheck_command(Args args) {
    const auto config_path = config_path_from_args(args);
    if (!config_path) {
        std::fprintf(stderr, "meterbridge healthcheck: %s\nusage: meterbridge healthcheck [--config FILE]\n",
                     config_path.error().message.c_str());
        return 2;
    }
    Config config;
    try {
        config = load_config_file(*config_path);
    } catch (const ConfigError& error) {
        std::fprintf(stderr, "%s\n", format_config_error(error).c_str());
        return 2;
    }
    if (config.server.listen.port == 0) {
        std::fputs("meterbridge healthcheck: listen.port is 0 (an ephemeral port): nothing to ask\n", stderr);
        return 2;
    }
    net::HttpClientOptions options;
    options.connect_timeout = std::chrono::seconds(2);
    options.read_timeout = std::chrono::seconds(3);
    net::HttpClient client(options);
    net::HttpRequestSpec request;
    request.method = "GET";
    request.url = healthz_url(config.server.listen);
    const auto answer = client.send(request);
    if (!answer) {
        std::fprintf(stderr, "meterbridge healthcheck: %s: %s\n", request.url.c_str(), answer.error().message.c_str());
        return 1;
    }
    const auto body = parse_exact_json(answer->body);
    if (answer->status != 200 || !body || !body->is_object() || body->value("status", "") != "ok") {
        std::fprintf(stderr, "meterbridge healthcheck: %s answered %d %s\n", request.url.c_str(), answer->status,
                     answer->body.substr(0, 200).c_str());
        return 1;
    }
    std::printf("ok\n");
    return 0;
}

}  // namespace meterbridge::app

#pragma once
// The daemon's HTTP listener in the config file (SPEC §2): `listen`,
// `public_base_url` and `trusted_proxies` at the top level of the document.
#include <cstdint>
#include <string>
#include <vector>

#include "meterbridge/core/config_reader.hpp"
#include "meterbridge/core/ip_address.hpp"

namespace meterbridge::net {

struct ListenConfig {
    std::string address = "127.0.0.1";  // an IP literal
    std::uint16_t port = 8080;          // 0 = ephemeral (tests)
    bool is_loopback() const;
};

struct ServerConfig {
    ListenConfig listen;
    std::string public_base_url;        // default "http://<listen.address>:<listen.port>"; no trailing '/'
    std::vector<Cidr> trusted_proxies;  // default 127.0.0.1/32
    // trusted_proxies were written in the file (SPEC §5): requests may arrive
    // through a reverse proxy, so a loopback listen.address is not private.
    // The default list does not count, or every minimal config would need a token.
    bool behind_proxy = false;
};

// Reads the three keys from `root` (the document). Throws ConfigError.
ServerConfig parse_server_config(const ConfigSection& root);
// Sets out["listen"], out["public_base_url"] and out["trusted_proxies"].
void add_server_config_json(Json& out, const ServerConfig& server);

}  // namespace meterbridge::net

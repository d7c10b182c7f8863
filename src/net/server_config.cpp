// Reading `listen`, `public_base_url` and `trusted_proxies` (SPEC §2, §5).
#include "meterbridge/net/server_config.hpp"

namespace meterbridge::net {
namespace {

ListenConfig parse_listen(const ConfigSection& root) {
    const auto section = ConfigSection::child(root, "listen", {"address", "port"});
    ListenConfig listen;
    listen.address = section.string("address", listen.address);
    if (!parse_ip_address(listen.address)) {
        throw ConfigError(section.key("address"), "must be an IPv4 or IPv6 address, not \"" +
                                                      listen.address.substr(0, 64) + "\"");
    }
    listen.port = static_cast<std::uint16_t>(section.integer("port", listen.port, 0, 65535));
    return listen;
}

std::vector<Cidr> parse_trusted_proxies(const ConfigSection& root) {
    std::vector<Cidr> proxies;
    const Json* list = root.array("trusted_proxies");
    if (list == nullptr) {
        proxies.push_back(parse_cidr("127.0.0.1/32").value());
        return proxies;
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string key = index_key("trusted_proxies", i);
        const Json& element = (*list)[i];
        if (!element.is_string()) fail_config_type(key, element, "a CIDR string such as \"10.0.0.0/8\"");
        auto cidr = parse_cidr(element.get<std::string>());
        if (!cidr) throw ConfigError(key, cidr.error().message);
        proxies.push_back(*cidr);
    }
    return proxies;
}

}  // namespace

bool ListenConfig::is_loopback() const {
    const auto parsed = parse_ip_address(address);
    return parsed && parsed->is_loopback();
}

ServerConfig parse_server_config(const ConfigSection& root) {
    ServerConfig server;
    server.listen = parse_listen(root);
    const bool v6 = server.listen.address.find(':') != std::string::npos;
    server.public_base_url =
        root.url("public_base_url", "http://" + (v6 ? "[" + server.listen.address + "]" : server.listen.address) +
                                        ":" + std::to_string(server.listen.port));
    server.trusted_proxies = parse_trusted_proxies(root);
    server.behind_proxy = root.array("trusted_proxies") != nullptr && !server.trusted_proxies.empty();
    return server;
}

void add_server_config_json(Json& out, const ServerConfig& server) {
    out["listen"] = {{"address", server.listen.address}, {"port", server.listen.port}};
    out["public_base_url"] = server.public_base_url;
    Json proxies = Json::array();
    for (const Cidr& cidr : server.trusted_proxies) proxies.push_back(cidr.to_string());
    out["trusted_proxies"] = std::move(proxies);
}

}  // namespace meterbridge::net

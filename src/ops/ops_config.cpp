// Reading the `ops` and `testing` sections (SPEC §2, §5).
#include "ops/ops_config.hpp"

#include "meterbridge/core/usage_event.hpp"

namespace meterbridge::app {

OpsConfig parse_ops_config(const ConfigSection& root, const net::ServerConfig& server, const SecretSource& secrets,
                           ConfigWarnings& warnings) {
    const auto section = ConfigSection::child(root, "ops", {"token"});
    OpsConfig ops;
    ops.token = section.optional_secret("token", secrets, warnings);
    if (!ops.token && !server.listen.is_loopback()) {
        throw ConfigError(section.key("token"), "is required when listen.address is not a loopback address (" +
                                                    server.listen.address + ")");
    }
    if (!ops.token && server.behind_proxy) {
        throw ConfigError(section.key("token"),
                          "is required when trusted_proxies are configured (behind a reverse proxy, loopback is "
                          "not private)");
    }
    return ops;
}

TestingConfig parse_testing_config(const ConfigSection& root, const net::ServerConfig& server,
                                   ConfigWarnings& warnings) {
    const auto section = ConfigSection::child(root, "testing", {"clock_control", "events_per_batch"});
    TestingConfig testing;
    testing.clock_control = section.boolean("clock_control", false);
    if (section.find("events_per_batch") != nullptr) {
        const auto most = static_cast<std::int64_t>(kMaxEventsPerBatch);
        testing.events_per_batch = section.integer("events_per_batch", most, 1, most);
    }
    // A test switch must never be reachable from outside (SPEC §5, issue 14).
    if (testing.clock_control && !server.listen.is_loopback()) {
        throw ConfigError(section.key("clock_control"),
                          "is accepted only with a loopback listen.address, not " + server.listen.address);
    }
    if (testing.clock_control && server.behind_proxy) {
        throw ConfigError(section.key("clock_control"),
                          "is accepted only when no trusted_proxies are configured (behind a reverse proxy, "
                          "loopback is not private)");
    }
    if (testing.clock_control) warnings.push_back("testing.clock_control is on: PUT /testing/clock can move time");
    return testing;
}

Json to_json(const OpsConfig& ops) { return {{"token", masked_secret_json(ops.token)}}; }

Json to_json(const TestingConfig& testing) {
    Json out{{"clock_control", testing.clock_control}};
    if (testing.events_per_batch) out["events_per_batch"] = *testing.events_per_batch;
    return out;
}

}  // namespace meterbridge::app

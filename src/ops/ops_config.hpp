#pragma once
// The ops sections of the config file (SPEC §2, §5): `ops` (the bearer token
// of the ops API) and `testing` (switches for tests, never reachable from outside).
#include <optional>

#include "meterbridge/core/config_reader.hpp"
#include "meterbridge/net/server_config.hpp"

namespace meterbridge::app {

struct OpsConfig {
    std::optional<Secret> token;  // absent = ops endpoints open; then only a private loopback listener is allowed
};

struct TestingConfig {
    bool clock_control = false;  // PUT /testing/clock moves the daemon's clock
    // Fewer events per batchUsageEvent call than Azure's 25, so that a test's
    // handful of events makes several batches in flight (issue 17).
    std::optional<std::int64_t> events_per_batch;
};

// Reads root["ops"]. Without a token the listener must be loopback and not
// behind a proxy. Throws ConfigError.
OpsConfig parse_ops_config(const ConfigSection& root, const net::ServerConfig& server, const SecretSource& secrets,
                           ConfigWarnings& warnings);
// Reads root["testing"], with the same reachability rule for its switches.
TestingConfig parse_testing_config(const ConfigSection& root, const net::ServerConfig& server,
                                   ConfigWarnings& warnings);

Json to_json(const OpsConfig& ops);  // the token masked
Json to_json(const TestingConfig& testing);

}  // namespace meterbridge::app

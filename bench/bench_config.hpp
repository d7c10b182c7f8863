#pragma once
// The config files the benchmark programs give `meterbridge serve`, built in
// one place: signed webhooks at kWebhookPath, info logs, the built-in sandbox,
// no daily reconciliation (its calls would skew the figures).
#include <filesystem>
#include <string>

#include "meterbridge/core/exact_json.hpp"

namespace meterbridge::bench {

// An external mapping as the config file writes it.
Json mapping_json(const std::string& entity, const std::string& id, const std::string& table,
                  const std::string& external);

// The daemon as deployed, with its database in `dir`, the given `scheduler`
// section, one `integration` and its `mappings`.
Json served_config(const std::filesystem::path& dir, Json scheduler, Json integration, Json mappings);

}  // namespace meterbridge::bench

#pragma once
// The `storage` section of the config file (SPEC §2, §6).
#include <cstdint>
#include <string>

#include "meterbridge/core/config_reader.hpp"

namespace meterbridge::store {

struct StorageConfig {
    std::string sqlite_path = "var/meterbridge.db";
    std::int64_t payload_retention_days = 400;
};

// Reads root["storage"] (absent: the defaults). Throws ConfigError.
StorageConfig parse_storage_config(const ConfigSection& root);
Json to_json(const StorageConfig& storage);

}  // namespace meterbridge::store

// Reading the `storage` section (SPEC §2).
#include "meterbridge/store/storage_config.hpp"

namespace meterbridge::store {

StorageConfig parse_storage_config(const ConfigSection& root) {
    const auto section = ConfigSection::child(root, "storage", {"sqlite_path", "payload_retention_days"});
    StorageConfig storage;
    storage.sqlite_path = section.string("sqlite_path", storage.sqlite_path);
    storage.payload_retention_days =
        section.integer("payload_retention_days", storage.payload_retention_days, 1, 36500);
    return storage;
}

Json to_json(const StorageConfig& storage) {
    return {{"sqlite_path", storage.sqlite_path}, {"payload_retention_days", storage.payload_retention_days}};
}

}  // namespace meterbridge::store

#pragma once
// The real SecretSource: the process environment and the file system.
#include "meterbridge/core/config_reader.hpp"

namespace meterbridge::app {

class SystemSecretSource final : public SecretSource {
public:
    std::optional<std::string> env(const std::string& name) const override;
    // Whole file contents; nullopt if unreadable or larger than 64 KiB (no secret is that big).
    std::optional<std::string> file(const std::string& path) const override;
};

}  // namespace meterbridge::app

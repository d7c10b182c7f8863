// libFuzzer target: the config file parser with an in-memory SecretSource.
// Invariants: the only exception is ConfigError, and its message does not
// reveal a secret; a valid config prints as masked JSON without any secret.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "cli/config.hpp"

using namespace meterbridge;
using fuzz::check;

namespace {

constexpr std::string_view kEnvSecret = "fuzz-env-secret-7f3a";
constexpr std::string_view kFileSecret = "fuzz-file-secret-91cd";

// Every variable is set except NAMES starting with UNSET; every file exists
// except paths containing "missing". An EMPTY variable is empty.
class MemorySecrets final : public SecretSource {
public:
    std::optional<std::string> env(const std::string& name) const override {
        if (name.rfind("UNSET", 0) == 0) return std::nullopt;
        if (name.rfind("EMPTY", 0) == 0) return std::string();
        return std::string(kEnvSecret);
    }
    std::optional<std::string> file(const std::string& path) const override {
        if (path.find("missing") != std::string::npos) return std::nullopt;
        return std::string(kFileSecret) + "\n";
    }
};

bool reveals_secret(std::string_view text) {
    return text.find(kEnvSecret) != std::string_view::npos || text.find(kFileSecret) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    const bool input_has_secret = reveals_secret(text);  // then any echo is the input's own text
    const MemorySecrets secrets;
    try {
        const app::Config config = app::parse_config(text, secrets);
        const std::string masked = dump_exact(app::config_to_masked_json(config));
        if (!input_has_secret) check(!reveals_secret(masked), "masked config shows a secret");
        for (const std::string& warning : config.warnings) {
            if (!input_has_secret) check(!reveals_secret(warning), "warning shows a secret:", warning);
        }
    } catch (const ConfigError& error) {
        if (!input_has_secret) check(!reveals_secret(error.what()), "config error shows a secret:", error.what());
    }
    return 0;
}

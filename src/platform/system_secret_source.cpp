#include "platform/system_secret_source.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace meterbridge::app {
namespace {

constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;

}  // namespace

std::optional<std::string> SystemSecretSource::env(const std::string& name) const {
    const char* value = std::getenv(name.c_str());  // read at start-up only, before any thread exists
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

std::optional<std::string> SystemSecretSource::file(const std::string& path) const {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string contents;
    char buffer[4096];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        contents.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (contents.size() > kMaxSecretFileBytes) return std::nullopt;
    }
    if (in.bad()) return std::nullopt;
    return contents;
}

}  // namespace meterbridge::app

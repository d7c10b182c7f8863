#include "figures.hpp"

#include <unistd.h>

#include <fstream>
#include <string>

namespace meterbridge::bench {

std::int64_t rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
    }
    return -1;
}

std::filesystem::path scratch_dir(const std::string& name) {
    const char* base = std::getenv("METERBRIDGE_BENCH_DIR");
    const std::filesystem::path root = base != nullptr ? std::filesystem::path(base) : std::filesystem::current_path();
    const auto dir = root / ("bench-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

}  // namespace meterbridge::bench

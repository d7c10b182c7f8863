#include "figures.hpp"

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace meterbridge::bench {

namespace {

// One figure of /proc/PID/status, in KiB; -1 if it cannot be read.
std::int64_t status_kib(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    const std::string prefix = field + ":";
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(prefix, 0) == 0) return std::stoll(line.substr(prefix.size()));
    }
    return -1;
}

}  // namespace

std::int64_t rss_kib(pid_t pid) { return status_kib(pid, "VmRSS"); }

RssParts rss_parts(pid_t pid) {
    return RssParts{status_kib(pid, "RssAnon"), status_kib(pid, "RssFile"), status_kib(pid, "RssShmem")};
}

double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command name (which may hold spaces): state is field 3,
    // utime and stime are fields 14 and 15, in clock ticks.
    const auto close = text.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    double ticks = 0;
    for (int number = 3; number <= 15 && fields >> field; ++number) {
        if (number >= 14) ticks += std::stod(field);
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
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

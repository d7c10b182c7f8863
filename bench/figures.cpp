#include "figures.hpp"

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
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

RssParts rss_parts(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    RssParts parts;
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("RssAnon:", 0) == 0) parts.anon = std::stoll(line.substr(8));
        if (line.rfind("RssFile:", 0) == 0) parts.file = std::stoll(line.substr(8));
        if (line.rfind("RssShmem:", 0) == 0) parts.shmem = std::stoll(line.substr(9));
    }
    return parts;
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

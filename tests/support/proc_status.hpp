#pragma once
// One figure of /proc/PID/status, in KiB (VmRSS, VmHWM, RssAnon, ...), for
// the tests that check memory; -1 if it cannot be read.
#include <fstream>
#include <string>
#include <string_view>

namespace meterbridge::testing {

inline long proc_status_kib(std::string_view field, const std::string& pid = "self") {
    std::ifstream status("/proc/" + pid + "/status");
    const std::string prefix = std::string(field) + ":";
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with(prefix)) return std::stol(line.substr(prefix.size()));
    }
    return -1;
}

}  // namespace meterbridge::testing

#pragma once
// What every bench program prints: one `name value unit` line per figure,
// on stdout, so that scripts/bench (and anyone) can parse them. Progress
// and notes go to stderr.
#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace meterbridge::bench {

inline void figure(std::string_view name, double value, std::string_view unit) {
    std::printf("%.*s %.6g %.*s\n", static_cast<int>(name.size()), name.data(), value, static_cast<int>(unit.size()),
                unit.data());
    std::fflush(stdout);
}

// Resident set size of a process (VmRSS), in KiB; -1 if it cannot be read.
std::int64_t rss_kib(pid_t pid);

// What the resident set is made of (KiB, from /proc/PID/status): the heap
// and other private memory (RssAnon), mapped files such as the binary and its
// libraries (RssFile), and shared memory such as SQLite's WAL index (RssShmem).
struct RssParts {
    std::int64_t anon = -1;
    std::int64_t file = -1;
    std::int64_t shmem = -1;
};
RssParts rss_parts(pid_t pid);

// CPU time a process has used so far (user + system, all threads), in
// seconds; -1 if it cannot be read.
double cpu_seconds(pid_t pid);

// An empty directory for a program's databases, on the same disk as the build
// (never tmpfs: fsync must cost what it costs in production). Removed by the
// caller when done.
std::filesystem::path scratch_dir(const std::string& name);

}  // namespace meterbridge::bench

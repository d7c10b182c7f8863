#pragma once
// Helpers shared by the libFuzzer targets. A finding is an abort with a line
// on stderr: libFuzzer then saves the input as crash-<sha1>.
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace meterbridge::fuzz {

// Like assert(), but also in release builds and with the reason printed.
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "fuzz invariant violated: %s %.*s\n", what, static_cast<int>(detail.size()), detail.data());
    std::abort();
}

inline void check(bool condition, const char* what, std::string_view detail = {}) {
    if (!condition) fail(what, detail);
}

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace meterbridge::fuzz

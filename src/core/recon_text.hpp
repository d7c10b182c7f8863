#pragma once
// ASCII case helpers of the reconciliation files: Azure writes GUIDs and
// statuses in either case, and the key holds ids lower-cased.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace meterbridge::recon::detail {

inline char ascii_lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

inline std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

}  // namespace meterbridge::recon::detail

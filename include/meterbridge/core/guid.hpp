#pragma once
// The shape of a GUID as Azure writes resource ids (SaaS subscription ids):
// 8-4-4-4-12 hexadecimal digits, either case, no braces. Pure, so that
// conversion can hold a resource id Azure would refuse before any event
// carries it (SPEC §4).
#include <string_view>

namespace meterbridge {

bool is_guid(std::string_view text) noexcept;

}  // namespace meterbridge

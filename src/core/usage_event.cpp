#include "meterbridge/core/usage_event.hpp"

#include <array>
#include <utility>

namespace meterbridge {
namespace {

constexpr std::array<std::pair<UsageEventStatus, std::string_view>, 10> kStatusNames = {{
    {UsageEventStatus::Accepted, "Accepted"},
    {UsageEventStatus::Expired, "Expired"},
    {UsageEventStatus::Duplicate, "Duplicate"},
    {UsageEventStatus::Error, "Error"},
    {UsageEventStatus::ResourceNotFound, "ResourceNotFound"},
    {UsageEventStatus::ResourceNotAuthorized, "ResourceNotAuthorized"},
    {UsageEventStatus::ResourceNotActive, "ResourceNotActive"},
    {UsageEventStatus::InvalidDimension, "InvalidDimension"},
    {UsageEventStatus::InvalidQuantity, "InvalidQuantity"},
    {UsageEventStatus::BadArgument, "BadArgument"},
}};

}  // namespace

UsageEventStatus usage_event_status_from(std::string_view text) {
    for (const auto& [status, name] : kStatusNames) {
        if (name == text) return status;
    }
    return UsageEventStatus::Unrecognized;
}

std::string_view to_string(UsageEventStatus status) {
    for (const auto& [s, name] : kStatusNames) {
        if (s == status) return name;
    }
    return "Unrecognized";
}

}  // namespace meterbridge

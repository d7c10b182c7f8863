#include "meterbridge/core/outbox.hpp"

#include <array>
#include <utility>

namespace meterbridge {
namespace {

constexpr std::array<std::pair<EventState, std::string_view>, 9> kStateNames = {{
    {EventState::Planned, "planned"},
    {EventState::Sending, "sending"},
    {EventState::Accepted, "accepted"},
    {EventState::Conflict, "conflict"},
    {EventState::Expired, "expired"},
    {EventState::Rejected, "rejected"},
    {EventState::Requeued, "requeued"},
    {EventState::Cancelled, "cancelled"},
    {EventState::Unresolved, "unresolved"},
}};

}  // namespace

std::string_view to_string(EventState state) {
    for (const auto& [s, name] : kStateNames) {
        if (s == state) return name;
    }
    return "unknown";
}

std::optional<EventState> event_state_from(std::string_view text) {
    for (const auto& [s, name] : kStateNames) {
        if (name == text) return s;
    }
    return std::nullopt;
}

bool occupies_slot(EventState state) {
    switch (state) {
        case EventState::Planned:
        case EventState::Sending:
        case EventState::Accepted:
        case EventState::Conflict:  // Azure holds someone's event there
        case EventState::Unresolved: return true;
        case EventState::Expired:
        case EventState::Rejected:
        case EventState::Requeued:
        case EventState::Cancelled: return false;
    }
    return true;
}

SlotKey slot_of(const UsageEventRequest& request) {
    return SlotKey{request.resource_id, request.dimension, floor_hour(request.effective_start_time)};
}

}  // namespace meterbridge

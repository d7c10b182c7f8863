#include "meterbridge/core/slotting.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace meterbridge {

namespace {

void add_share(PlannedEvent& event, const PendingUnits& entry) {
    event.request.quantity += entry.units;
    event.pending_ids.push_back(entry.id);
    for (EventShare& share : event.shares) {
        if (share.key == entry.key) {
            share.units += entry.units;
            return;
        }
    }
    event.shares.push_back(EventShare{entry.key, entry.units});
}

}  // namespace

Instant oldest_usable_slot(Instant now, const SlotPolicy& policy) {
    const Instant earliest = now - policy.max_slot_age;
    const Instant floor = floor_hour(earliest);
    return floor == earliest ? floor : floor + hours{1};
}

std::vector<PlannedEvent> plan_slots(std::span<const PendingUnits> pending, const std::set<SlotKey>& occupied,
                                     Instant now, const SlotPolicy& policy) {
    const Instant current = floor_hour(now);
    const Instant oldest = oldest_usable_slot(now, policy);

    // Ready entries per (resource, dimension), in the order they claim hours.
    std::map<std::pair<std::string, std::string>, std::vector<const PendingUnits*>> groups;
    for (const PendingUnits& entry : pending) {
        if (entry.ready_at <= now && entry.units > 0) groups[{entry.key.resource_id, entry.key.dimension}].push_back(&entry);
    }

    std::vector<PlannedEvent> events;
    for (auto& [resource_dimension, entries] : groups) {
        const auto start_of = [&](const PendingUnits* e) { return std::max(floor_hour(e->slot_hint), oldest); };
        std::sort(entries.begin(), entries.end(), [&](const PendingUnits* a, const PendingUnits* b) {
            return std::tuple(start_of(a), a->plan_id, a->id, a->key) < std::tuple(start_of(b), b->plan_id, b->id, b->key);
        });
        std::map<Instant, PlannedEvent> by_hour;
        for (const PendingUnits* entry : entries) {
            for (Instant hour = start_of(entry); hour <= current; hour += hours{1}) {
                if (occupied.contains(SlotKey{resource_dimension.first, resource_dimension.second, hour})) continue;
                auto [it, created] = by_hour.try_emplace(hour);
                PlannedEvent& event = it->second;
                if (created) {
                    event.request = UsageEventRequest{resource_dimension.first, entry->plan_id, resource_dimension.second, 0,
                                                      hour};
                } else if (event.request.plan_id != entry->plan_id) {
                    continue;  // one plan per event; try the next hour
                }
                add_share(event, *entry);
                break;
            }
        }
        for (auto& [hour, event] : by_hour) {
            std::sort(event.shares.begin(), event.shares.end(),
                      [](const EventShare& a, const EventShare& b) { return a.key < b.key; });
            events.push_back(std::move(event));
        }
    }
    return events;
}

}  // namespace meterbridge

#pragma once
// Azure's per-event rules as far as the ledger is concerned (seed 003), for
// randomized ledger tests: the idea of tests/unit/ledger_simulation_test.cpp's
// FakeAzure, shared so that the SQLite store's simulation uses the same rules.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "meterbridge/core/dispatch.hpp"
#include "meterbridge/core/outbox.hpp"
#include "meterbridge/core/usage_event.hpp"

namespace meterbridge::testing {

class FakeAzureLedger {
public:
    std::set<std::string> unknown_resources;
    // An event for one of these makes Azure refuse its whole batch (HTTP 400).
    std::set<std::string> poison_resources;

    bool refuses_batch(const std::vector<UsageEventRequest>& batch) const {
        for (const auto& r : batch) {
            if (poison_resources.contains(r.resource_id)) return true;
        }
        return false;
    }

    UsageEventResult receive(const UsageEventRequest& r, Instant now) {
        UsageEventResult result;
        result.resource_id = r.resource_id;
        result.dimension = r.dimension;
        result.plan_id = r.plan_id;
        result.quantity = Decimal::from_integer(r.quantity);
        result.effective_start_time = r.effective_start_time;
        const auto set = [&](UsageEventStatus s) {
            result.status = s;
            result.status_text = std::string(to_string(s));
        };
        if (r.quantity <= 0) {
            set(UsageEventStatus::InvalidQuantity);
        } else if (r.effective_start_time > now || r.effective_start_time <= now - kAzureWindow) {
            set(UsageEventStatus::Expired);
        } else if (unknown_resources.contains(r.resource_id)) {
            set(UsageEventStatus::ResourceNotFound);
        } else if (auto it = accepted.find(slot_of(r)); it != accepted.end()) {
            set(UsageEventStatus::Duplicate);
            result.accepted_message = AcceptedMessage{"u", Decimal::from_integer(it->second), "t", r.plan_id};
        } else {
            set(UsageEventStatus::Accepted);
            accepted[slot_of(r)] = r.quantity;
            result.usage_event_id = "u-" + std::to_string(accepted.size());
            result.message_time = "2026-01-01T00:00:00Z";
        }
        return result;
    }

    // Usage another sender reported: Duplicates of these carry a quantity that is not ours.
    bool occupy_foreign(const SlotKey& slot, std::int64_t quantity) {
        if (!accepted.try_emplace(slot, quantity).second) return false;
        foreign.insert(slot);
        return true;
    }

    std::map<SlotKey, std::int64_t> accepted;
    std::set<SlotKey> foreign;
};

}  // namespace meterbridge::testing

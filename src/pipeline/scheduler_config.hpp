#pragma once
// The `scheduler` section of the config file (SPEC §2, §4): when pending units
// become events (the slot policy) and how often the scheduler ticks.
#include <cstdint>
#include <string_view>

#include "meterbridge/core/config_reader.hpp"
#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/usage_event.hpp"

namespace meterbridge::app {

enum class SchedulerPolicy { HourClose, Eager };

struct SchedulerConfig {
    SchedulerPolicy policy = SchedulerPolicy::HourClose;
    std::int64_t flush_delay_s = 60;
    std::int64_t tick_s = 5;
    // batchUsageEvent calls outstanding at once at most (issue 17); the
    // adaptive window (core/send_window) shrinks below it under throttling.
    std::int64_t max_batches_in_flight = 8;
    // Azure's 25, or fewer under testing.events_per_batch (not read from this section).
    std::size_t events_per_batch = kMaxEventsPerBatch;
};

// Reads root["scheduler"] (absent: the defaults). Throws ConfigError.
SchedulerConfig parse_scheduler_config(const ConfigSection& root);
Json to_json(const SchedulerConfig& scheduler);
std::string_view to_string(SchedulerPolicy policy);

// The slot policy the config asks for: one reading, shared by the scheduler
// and (through the daemon's wiring) the ops API's retry.
SlotPolicy slot_policy_of(const SchedulerConfig& config);

}  // namespace meterbridge::app

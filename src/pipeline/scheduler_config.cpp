// Reading the `scheduler` section (SPEC §2).
#include "pipeline/scheduler_config.hpp"

namespace meterbridge::app {

SchedulerConfig parse_scheduler_config(const ConfigSection& root) {
    const auto section = ConfigSection::child(root, "scheduler", {"policy", "flush_delay_s", "tick_s", "max_batches_in_flight"});
    SchedulerConfig scheduler;
    scheduler.policy = section.choice("policy", "hour_close", {"hour_close", "eager"}) == "eager"
                           ? SchedulerPolicy::Eager
                           : SchedulerPolicy::HourClose;
    scheduler.flush_delay_s = section.integer("flush_delay_s", scheduler.flush_delay_s, 0, 3000);
    scheduler.tick_s = section.integer("tick_s", scheduler.tick_s, 1, 3600);
    scheduler.max_batches_in_flight =
        section.integer("max_batches_in_flight", scheduler.max_batches_in_flight, 1, 64);
    return scheduler;
}

std::string_view to_string(SchedulerPolicy policy) { return policy == SchedulerPolicy::Eager ? "eager" : "hour_close"; }

Json to_json(const SchedulerConfig& scheduler) {
    return {{"policy", to_string(scheduler.policy)},
            {"flush_delay_s", scheduler.flush_delay_s},
            {"tick_s", scheduler.tick_s},
            {"max_batches_in_flight", scheduler.max_batches_in_flight}};
}

SlotPolicy slot_policy_of(const SchedulerConfig& config) {
    SlotPolicy policy;
    policy.mode = config.policy == SchedulerPolicy::Eager ? SlotPolicy::Mode::Eager : SlotPolicy::Mode::HourClose;
    policy.flush_delay = std::chrono::seconds{config.flush_delay_s};
    return policy;
}

}  // namespace meterbridge::app

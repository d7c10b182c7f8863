#include "meterbridge/core/ledger.hpp"

#include <algorithm>
#include <map>

namespace meterbridge {

ShareKey share_key_of(const UsageTarget& target) {
    return ShareKey{target.integration_id, target.bill_id, target.resource_id, target.dimension};
}

PendingUnits queue_units(ShareKey key, std::string plan_id, std::int64_t units, Instant now, const SlotPolicy& policy) {
    const Instant hour = floor_hour(now);
    // hour_close: units of hour H are reported in slot H once H has ended
    // (+ flush delay), so the hour's usage goes out as one event.
    const Instant ready = policy.mode == SlotPolicy::Mode::HourClose ? hour + hours{1} + policy.flush_delay : now;
    return PendingUnits{0, std::move(key), std::move(plan_id), units, hour, ready};
}

std::int64_t pending_units(const KeyBalance& balance) {
    std::int64_t sum = 0;
    for (const auto& p : balance.pending) sum += p.units;
    return sum;
}

namespace {

std::int64_t share_units(const std::vector<KeyBalance::EventShareRef>& shares) {
    std::int64_t sum = 0;
    for (const auto& s : shares) sum += s.units;
    return sum;
}

// Takes up to -delta units from `shares`, newest first, recording each take.
void withdraw_shares(const std::vector<KeyBalance::EventShareRef>& shares, const ShareKey& key, std::int64_t& delta,
                     std::vector<RecalculationPlan::Withdrawal>& out) {
    for (auto it = shares.rbegin(); delta < 0 && it != shares.rend(); ++it) {
        const std::int64_t take = std::min(it->units, -delta);
        if (take > 0) out.push_back({it->event_id, key, take});
        delta += take;
    }
}

}  // namespace

std::int64_t planned_units(const KeyBalance& balance) { return share_units(balance.planned); }
std::int64_t rejected_units(const KeyBalance& balance) { return share_units(balance.rejected); }

std::int64_t over_reported(const KeyBalance& balance) {
    return std::max<std::int64_t>(0, balance.in_flight + balance.accepted - balance.target);
}

bool RecalculationPlan::changes_nothing() const {
    return targets.empty() && queued.empty() && withdrawn_pending.empty() && withdrawn_planned.empty() &&
           withdrawn_rejected.empty();
}

RecalculationPlan plan_recalculation(std::span<const KeyBalance> balances, std::span<const UsageTarget> targets,
                                     Instant now, const SlotPolicy& policy) {
    struct Entry {
        const KeyBalance* balance = nullptr;
        const UsageTarget* target = nullptr;
    };
    std::map<ShareKey, Entry> keys;
    for (const auto& b : balances) keys[b.key].balance = &b;
    for (const auto& t : targets) keys[share_key_of(t)].target = &t;

    RecalculationPlan plan;
    for (const auto& [key, entry] : keys) {
        KeyBalance balance = entry.balance ? *entry.balance : KeyBalance{key, {}, 0, 0, 0, {}, {}, {}};
        const std::int64_t target = entry.target ? entry.target->units : 0;
        const std::string plan_id = entry.target ? entry.target->plan_id : balance.plan_id;

        const std::int64_t assigned =
            pending_units(balance) + planned_units(balance) + rejected_units(balance) + balance.in_flight + balance.accepted;
        std::int64_t delta = target - assigned;
        const auto change_count = [&plan] {
            return plan.queued.size() + plan.withdrawn_pending.size() + plan.withdrawn_planned.size() +
                   plan.withdrawn_rejected.size();
        };
        const std::size_t changes_before = change_count();
        if (delta > 0) {
            plan.queued.push_back(queue_units(key, plan_id, delta, now, policy));
        }
        // Withdraw the newest unsent units first: the oldest are closest to
        // being reported, and their slots are already chosen.
        for (auto it = balance.pending.rbegin(); delta < 0 && it != balance.pending.rend(); ++it) {
            const std::int64_t take = std::min(it->units, -delta);
            plan.withdrawn_pending.push_back({it->id, key, take});
            delta += take;
        }
        withdraw_shares(balance.planned, key, delta, plan.withdrawn_planned);
        withdraw_shares(balance.rejected, key, delta, plan.withdrawn_rejected);
        balance.target = target;
        const bool changed = entry.balance == nullptr || entry.balance->target != target || entry.balance->plan_id != plan_id;
        const bool moves_units = change_count() != changes_before;
        if (changed || moves_units) {
            plan.targets.push_back({key, plan_id, target, over_reported(balance)});
        }
    }
    return plan;
}

RecalculationPlan plan_reconciliation(std::span<const KeyBalance> balances, Instant now, const SlotPolicy& policy) {
    std::vector<UsageTarget> targets;
    for (const KeyBalance& b : balances) {
        targets.push_back(UsageTarget{b.key.integration_id, b.key.bill_id, b.key.resource_id, b.plan_id, b.key.dimension,
                                      b.target, Decimal{}});
    }
    return plan_recalculation(balances, targets, now, policy);
}

}  // namespace meterbridge

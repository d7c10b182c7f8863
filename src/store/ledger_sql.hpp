#pragma once
// The ledger in SQL: loading KeyBalances and applying the core's plans, as
// tests/support/memory_ledger.hpp does in memory. Used inside a write
// transaction; a plan that does not match the rows (a withdrawal from an
// entry that is gone or too small) throws std::logic_error, so the whole
// transaction rolls back.
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "meterbridge/core/dispatch.hpp"
#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/outbox.hpp"
#include "sqlite.hpp"

namespace meterbridge::store {

std::vector<KeyBalance> load_balances(sqlite::Database& db, const std::string& integration_id,
                                      const std::string& bill_id);

void apply_plan(sqlite::Database& db, const RecalculationPlan& plan, Instant now);

// Moves event `event` (already loaded, with shares) to `state`: re-queues the
// units of superseded events, stores the answer's fields, then reconciles
// every (integration, bill) the event carries.
void transition(sqlite::Database& db, const OutboxEvent& event, EventState state, const EventDecision* decision,
                Instant now, const SlotPolicy& policy);

}  // namespace meterbridge::store

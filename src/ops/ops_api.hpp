#pragma once
// The ops HTTP API of SPEC §5: reported usage, bills, integration runs,
// events, mappings, health, metrics and the testing clock.
#include <functional>
#include <vector>

#include "meterbridge/core/integration_config.hpp"
#include "meterbridge/core/latency_histogram.hpp"
#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/recon.hpp"
#include "meterbridge/net/router.hpp"
#include "meterbridge/store/store.hpp"
#include "meterbridge/net/clocks.hpp"
#include "ops/ops_config.hpp"

namespace meterbridge::azure {
class TokenProvider;
}

namespace meterbridge::app {

struct ProcessMetrics;  // ops/metrics_text.hpp

// What the ops routes need. Everything referenced must outlive the router.
struct OpsContext {
    const OpsConfig& ops;
    const TestingConfig& testing;
    const IntegrationRules& rules;          // the config's integrations and mappings
    SlotPolicy slot_policy;                 // the scheduler's, for retried events
    store::OpsStore& store;
    net::SettableClock& clock;              // PUT /testing/clock sets it (testing.clock_control only)
    std::function<void()> wake_scheduler;   // after reprocess, retry, clock changes
    std::function<Status()> azure_ready;    // /readyz: a token can be obtained (or sandbox mode)
    const azure::TokenProvider* tokens = nullptr;  // for token refresh metrics; may be null

    // Reconciliation (SPEC §8). Null: the /reconciliations routes do not exist.
    store::ReconciliationStore* reconciliations = nullptr;
    // Stores and queues a run, returns its id (the reconciliation service; never blocks on Azure).
    std::function<Result<std::int64_t>(recon::Day from, recon::Day to, std::vector<recon::Source> sources)>
        start_reconciliation;
    std::vector<recon::Source> reconciliation_sources;  // POST /reconciliations without "sources"
    std::function<void()> wake_reconciler;              // after clock changes (tests)

    std::function<SendingFigures()> sending_figures;  // the scheduler's window and latency; may be empty
    // Adds the daemon's own figures (scheduler progress, webhook answers) to /metrics; may be empty.
    std::function<void(ProcessMetrics&)> process_metrics = {};
};

// Adds every ops route (and /healthz, /readyz, /metrics) to `router`.
void add_ops_routes(net::Router& router, OpsContext& context);

}  // namespace meterbridge::app

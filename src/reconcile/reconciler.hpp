#pragma once
// The reconciliation service of the daemon (SPEC §8): runs asked for through
// the API, and the daily run, one at a time on a thread of its own (a run
// waits on Azure's export for minutes: never on an HTTP I/O thread, never in
// the scheduler's tick). Each run is stored (running → done | failed) with
// its report and its exchanges; with `auto_settle`, the decidable proposals
// are applied to the unresolved events.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "meterbridge/core/ledger.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/store/store.hpp"
#include "reconcile/reconcile_config.hpp"
#include "reconcile/reconcile_run.hpp"

namespace meterbridge::app {

class Reconciler {
public:
    struct Deps {
        store::Store& store;  // the runs, the ledger, settlements, the exchange log
        const ReconciliationConfig& config;
        const Clock& clock;
        std::map<recon::Source, SourceReader> sources;
        SlotPolicy slot_policy;              // for units re-queued by a not_recorded settlement
        std::function<void()> wake_scheduler;  // after settlements re-queued units
    };

    explicit Reconciler(Deps deps);
    ~Reconciler();  // stop()

    // Fails runs left `running` by a dead process, then starts the thread.
    void start();
    // Finishes the run in progress (a source's own deadlines bound it), then joins.
    void stop();

    // Stores a run as `running` and queues it; the id answers POST /reconciliations.
    // Errors: a bad range or source (field named), or storage.
    Result<std::int64_t> request(const ReconcileRequest& request, const std::string& trigger);

    // Runs one stored run now, on the calling thread (the worker; tests).
    void run(std::int64_t id, const ReconcileRequest& request);
    // The daily run, if `now` is past daily_at and today's has not started. Returns its id.
    std::optional<std::int64_t> daily_if_due();

    // Wakes the thread (clock moved in tests).
    void wake();

private:
    void loop();
    // The last day of [from, to] that is final for `source` at `now`, if any.
    std::optional<recon::Day> final_through(recon::Source source, const ReconcileRequest& request, Instant now) const;
    void settle(std::int64_t run_id, const recon::Report& report);

    Deps deps_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<std::int64_t, ReconcileRequest>> queue_;
    std::optional<recon::Day> daily_done_;  // the day whose daily run has started
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace meterbridge::app

// The reconciliation service: a queue of stored runs, the daily run, settlements.
#include "reconcile/reconciler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "reconcile/report_views.hpp"

namespace meterbridge::app {
namespace {

constexpr std::chrono::seconds kIdleCheck{30};  // how often the daily run is looked for

std::vector<std::string> source_names(const std::vector<recon::Source>& sources) {
    std::vector<std::string> names;
    for (const recon::Source source : sources) names.emplace_back(recon::to_string(source));
    return names;
}

Duration delay_of(const ReconciliationConfig& config, recon::Source source) {
    const auto found = config.processing_delay.find(source);
    return found != config.processing_delay.end() ? found->second : recon::default_processing_delay(source);
}

}  // namespace

Reconciler::Reconciler(Deps deps) : deps_(std::move(deps)) {}

Reconciler::~Reconciler() { stop(); }

void Reconciler::start() {
    if (auto failed = deps_.store.fail_interrupted_reconciliations(deps_.clock.now()); failed && !failed->empty()) {
        spdlog::warn("reconciliation: {} run(s) were interrupted by a stop and are marked failed", failed->size());
    }
    thread_ = std::thread([this] { loop(); });
}

void Reconciler::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Reconciler::wake() { wake_.notify_all(); }

Result<std::int64_t> Reconciler::request(const ReconcileRequest& request, const std::string& trigger) {
    if (request.from > request.to) return make_error("invalid_range", "from is after to", "from");
    if (request.sources.empty()) return make_error("invalid_sources", "name at least one source", "sources");
    for (const recon::Source source : request.sources) {
        if (!deps_.config.uses(source) || !deps_.sources.contains(source)) {
            return make_error("source_not_configured",
                              std::string(recon::to_string(source)) +
                                  " is not configured (reconciliation.sources)",
                              "sources");
        }
    }
    auto id = deps_.store.create_reconciliation(request.from, request.to, source_names(request.sources), trigger,
                                                deps_.clock.now());
    if (!id) return id.error();
    {
        std::lock_guard lock(mutex_);
        queue_.emplace_back(*id, request);
    }
    wake_.notify_all();
    return *id;
}

std::optional<recon::Day> Reconciler::final_through(recon::Source source, const ReconcileRequest& request,
                                                    Instant now) const {
    // A day is final once its end plus the source's processing delay has passed.
    const Instant last_final_end = now - delay_of(deps_.config, source);
    const recon::Day last = std::min(request.to, recon::day_of(last_final_end) - std::chrono::days{1});
    if (last < request.from) return std::nullopt;
    return last;
}

void Reconciler::run(std::int64_t id, const ReconcileRequest& request) {
    store::ExchangeLinks links;
    links.reconciliation_id = id;
    const auto log = store::make_linked_exchange_log(deps_.store, links);
    ReconcileDeps run_deps;
    run_deps.sources = deps_.sources;
    run_deps.ledger = [this](Instant from, Instant to) { return deps_.store.reconciliation_events(from, to); };
    run_deps.subscriptions = deps_.config.subscriptions;
    run_deps.processing_delay = deps_.config.processing_delay;
    run_deps.log = log.get();
    const Instant now = deps_.clock.now();
    auto report = run_reconciliation(request, run_deps, now);
    store::ReconciliationFinish finish;
    if (!report) {
        finish.status = store::ReconciliationStatus::Failed;
        finish.error = report.error().message;
        spdlog::error("reconciliation {} failed: {}", id, finish.error);
    } else {
        finish.report_json = dump_exact(report_json(*report));
        for (const auto& [outcome, count] : report->totals) finish.totals[outcome] = static_cast<std::int64_t>(count);
        for (const recon::Source source : request.sources) {
            if (const auto day = final_through(source, request, now)) {
                finish.final_through[std::string(recon::to_string(source))] = *day;
            }
        }
    }
    if (const Status stored = deps_.store.finish_reconciliation(id, finish, deps_.clock.now()); !stored) {
        spdlog::error("reconciliation {}: cannot store the result: {}", id, stored.error().message);
        return;
    }
    if (report) {
        spdlog::info("reconciliation {} done: {} rows, {}", id, report->rows.size(),
                     report->has_discrepancies() ? "discrepancies found" : "no discrepancy");
        if (deps_.config.auto_settle) settle(id, *report);
    }
}

void Reconciler::settle(std::int64_t run_id, const recon::Report& report) {
    bool requeued = false;
    for (const recon::Proposal& proposal : report.proposals) {
        if (proposal.verdict == recon::Settlement::Undecidable) continue;
        store::EventSettlementRequest settlement;
        settlement.event_id = proposal.event_id;
        settlement.as = proposal.verdict;
        settlement.settled_by = "auto";
        settlement.evidence = proposal.reason;
        settlement.reconciliation_id = run_id;
        const Status applied = deps_.store.settle_unresolved(settlement, deps_.clock.now(), deps_.slot_policy);
        if (!applied) {
            spdlog::warn("reconciliation {}: event {} not settled: {}", run_id, proposal.event_id,
                         applied.error().message);
            continue;
        }
        spdlog::info("reconciliation {}: event {} settled as {} ({})", run_id, proposal.event_id,
                     recon::to_string(proposal.verdict), proposal.reason);
        requeued = requeued || proposal.verdict == recon::Settlement::NotRecorded;
    }
    if (requeued && deps_.wake_scheduler) deps_.wake_scheduler();
}

std::optional<std::int64_t> Reconciler::daily_if_due() {
    if (!deps_.config.daily_at) return std::nullopt;
    const Instant now = deps_.clock.now();
    const recon::Day today = recon::day_of(now);
    if (now < Instant(today) + *deps_.config.daily_at) return std::nullopt;
    {
        std::lock_guard lock(mutex_);
        if (daily_done_ == today) return std::nullopt;
        daily_done_ = today;
    }
    // A restart after today's run must not run it twice.
    store::ReconciliationQuery query;
    query.limit = 20;
    if (auto runs = deps_.store.list_reconciliations(query)) {
        for (const auto& run : *runs) {
            if (run.trigger == "daily" && recon::day_of(run.started_at) == today) return std::nullopt;
        }
    }
    const recon::Day oldest = today - std::chrono::days{deps_.config.lookback_days};
    recon::Day from = today;
    for (const recon::Source source : deps_.config.sources) {
        recon::Day next = oldest;
        if (auto last = deps_.store.latest_final_day(std::string(recon::to_string(source))); last && *last) {
            next = std::max(oldest, **last + std::chrono::days{1});
        }
        from = std::min(from, next);
    }
    const recon::Day to = today - std::chrono::days{1};
    if (from > to) return std::nullopt;
    ReconcileRequest request{from, to, deps_.config.sources};
    auto id = this->request(request, "daily");
    if (!id) {
        spdlog::error("reconciliation: the daily run cannot start: {}", id.error().message);
        return std::nullopt;
    }
    spdlog::info("reconciliation {}: daily run for {} .. {}", *id, recon::format_day(from), recon::format_day(to));
    return *id;
}

void Reconciler::loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (!queue_.empty()) {
            auto [id, request] = queue_.front();
            queue_.pop_front();
            lock.unlock();
            run(id, request);
            lock.lock();
            continue;
        }
        lock.unlock();
        daily_if_due();
        lock.lock();
        if (queue_.empty() && !stopping_) wake_.wait_for(lock, kIdleCheck);
    }
}

}  // namespace meterbridge::app

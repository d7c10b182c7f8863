#include "pipeline/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include "meterbridge/core/conversion.hpp"
#include "meterbridge/core/dispatch.hpp"
#include "meterbridge/core/slotting.hpp"
#include "platform/free_memory.hpp"

namespace meterbridge::app {
namespace {

// Logs a failed store operation; the tick goes on with the next item and the
// failed one is retried on the next tick (every step is idempotent).
template <class T>
bool check(const Result<T>& result, std::string_view what) {
    if (!result.ok()) spdlog::error("scheduler: {}: {} ({})", what, result.error().message, result.error().code);
    return result.ok();
}

bool needs_account(const IntegrationRules& rules) {
    for (const auto& integration : rules.integrations) {
        if (integration.account_filter) return true;
    }
    return false;
}

}  // namespace

void TickReport::add_sending(const TickReport& sent) {
    batches_sent += sent.batches_sent;
    events_accepted += sent.events_accepted;
    events_rejected += sent.events_rejected;
    events_requeued += sent.events_requeued;
    transport_failures += sent.transport_failures;
}

Scheduler::Scheduler(Deps deps)
    : deps_(std::move(deps)),
      policy_(slot_policy_of(deps_.scheduler)),
      last_progress_(std::chrono::steady_clock::now()),
      window_(static_cast<int>(deps_.scheduler.max_batches_in_flight)),
      random_(std::random_device{}()) {
    // The config does not change while the daemon runs: each run records the
    // same snapshot of its integration, serialised once here.
    for (const IntegrationConfig& integration : deps_.rules.integrations) {
        config_snapshots_.push_back(integration_to_json(integration).dump());
    }
    // One thread per batch the window may ever hold: a batch never waits for
    // a thread, only for the window.
    for (int i = 0; i < window_.maximum(); ++i) senders_.emplace_back([this] { send_loop(); });
}

Scheduler::~Scheduler() { stop(); }

TickReport Scheduler::tick() {
    {
        std::lock_guard lock(send_mutex_);
        sent_ = {};
    }
    TickReport report = pass();
    std::unique_lock lock(send_mutex_);
    send_idle_.wait(lock, [this] { return idle(); });
    report.add_sending(sent_);
    sent_ = {};
    return report;
}

TickReport Scheduler::pass() {
    TickReport report;
    process_pending_versions(report);
    handle_stale(deps_.clock.now());
    auto planned = deps_.store.plan_slots(deps_.clock.now(), policy_);
    if (check(planned, "slotting")) report.events_planned = static_cast<int>(planned->size());
    dispatch();
    return report;
}

void Scheduler::handle_stale(Instant now) {
    std::lock_guard serial(dispatch_mutex_);
    std::set<std::int64_t> in_flight;
    {
        std::lock_guard lock(send_mutex_);
        in_flight = in_flight_;
    }
    auto stale = deps_.store.handle_stale(now, policy_, in_flight);
    if (!check(stale, "stale events")) return;
    for (auto id : stale->expired) spdlog::warn("event {} expired before it could be sent; units re-queued", id);
    for (auto id : stale->unresolved) {
        spdlog::error("event {} may have reached Azure and its 24-hour window closed without an answer: "
                      "reconcile it with Azure's usage report",
                      id);
    }
}

void Scheduler::dispatch() {
    std::lock_guard serial(dispatch_mutex_);
    const Instant now = deps_.clock.now();
    int free = 0;
    {
        std::lock_guard lock(send_mutex_);
        if (senders_stop_) return;
        free = window_.free(now);
    }
    if (free <= 0) return;
    const auto batches = reserve_batches(now, static_cast<std::size_t>(free));
    if (batches.empty()) return;
    std::vector<std::int64_t> ids;
    for (const auto& batch : batches) ids.insert(ids.end(), batch.begin(), batch.end());
    // Durable before the outside world hears of it: after a crash from here
    // on, these events are re-sent unchanged. What is sent is what the store
    // holds now (a settlement may have changed an event since it was read).
    auto marked = deps_.store.mark_sending(ids, now);
    check(marked, "mark sending");
    std::lock_guard lock(send_mutex_);
    queue(batches, marked.ok() ? std::move(*marked) : std::vector<OutboxEvent>{});
}

std::vector<std::vector<std::int64_t>> Scheduler::reserve_batches(Instant now, std::size_t how_many) {
    std::set<std::int64_t> in_flight;
    {
        std::lock_guard lock(send_mutex_);
        in_flight = in_flight_;
    }
    // The events in flight are due too (Sending, next attempt passed): they
    // are left out, never sent twice.
    const std::size_t batch_size = deps_.scheduler.events_per_batch;
    auto due = deps_.store.due_events(now, how_many * batch_size, in_flight);
    if (!check(due, "due events")) return {};
    auto batches = plan_batches(*due, now, batch_size);
    if (batches.size() > how_many) batches.resize(how_many);
    std::lock_guard lock(send_mutex_);
    for (const auto& batch : batches) in_flight_.insert(batch.begin(), batch.end());
    return batches;
}

void Scheduler::queue(const std::vector<std::vector<std::int64_t>>& batches, std::vector<OutboxEvent> marked) {
    std::map<std::int64_t, OutboxEvent> by_id;
    for (auto& event : marked) by_id.emplace(event.id, std::move(event));
    for (const auto& batch : batches) {
        Job job;
        for (const auto id : batch) {
            auto it = by_id.find(id);
            if (it == by_id.end()) {
                in_flight_.erase(id);  // changed state since it was read, or not marked: not sent
                continue;
            }
            job.events.push_back(std::move(it->second));
        }
        if (job.events.empty()) continue;
        job.ticket = window_.start();
        jobs_.push_back(std::move(job));
    }
    send_ready_.notify_all();
}

void Scheduler::send_loop() {
    while (true) {
        Job job;
        {
            std::unique_lock lock(send_mutex_);
            // Queued jobs are sent even when stopping: their events are
            // stored as Sending, and an answer now beats a re-send later.
            send_ready_.wait(lock, [this] { return !jobs_.empty() || senders_stop_; });
            if (jobs_.empty()) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        TickReport report;
        const auto started = std::chrono::steady_clock::now();
        CallSignal call;
        try {
            call = post_and_settle(job.events, report, true);
        } catch (const std::exception& error) {
            // The events stay Sending in the store: re-sent unchanged later.
            spdlog::error("scheduler: sending a batch failed: {}", error.what());
        }
        {
            std::lock_guard lock(send_mutex_);
            latency_.observe(std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started));
            window_.finish(job.ticket, call.signal, call.retry_after, deps_.clock.now());
            for (const auto& event : job.events) in_flight_.erase(event.id);
            sent_.add_sending(report);
            ++refilling_;
        }
        dispatch();
        std::lock_guard lock(send_mutex_);
        --refilling_;
        if (idle()) send_idle_.notify_all();
    }
}

std::vector<std::int64_t> Scheduler::reserve_successor(Instant now) {
    std::lock_guard serial(dispatch_mutex_);
    {
        std::lock_guard lock(send_mutex_);
        // This call still holds its place: the successor takes it unless the
        // window has shrunk below the calls outstanding.
        if (senders_stop_ || window_.paused_until(now) || window_.outstanding() > window_.limit()) return {};
    }
    auto batches = reserve_batches(now, 1);
    return batches.empty() ? std::vector<std::int64_t>{} : std::move(batches.front());
}

Result<std::vector<Status>> Scheduler::commit_call(store::LedgerStore::CallRecord& record, bool claim) {
    const Instant now = deps_.clock.now();
    if (claim) {
        record.claim = reserve_successor(now);
        record.claim_at = now;
    }
    auto result = deps_.store.record_call(record, now, policy_);
    std::lock_guard lock(send_mutex_);
    if (!record.claim.empty()) {
        // The successor takes this call's place in the window; what was
        // reserved but not claimed (or the commit failed) is free again.
        queue({record.claim}, result.ok() ? std::move(result->claimed) : std::vector<OutboxEvent>{});
    }
    if (!result.ok()) return result.error();
    return std::move(result->settled);
}

std::uint64_t Scheduler::jitter() {
    std::lock_guard lock(send_mutex_);
    return random_();
}

std::chrono::steady_clock::time_point Scheduler::last_progress() const {
    std::lock_guard lock(mutex_);
    return last_progress_;
}

SendingFigures Scheduler::sending_figures() const {
    std::lock_guard lock(send_mutex_);
    return SendingFigures{window_.limit(), window_.maximum(), window_.outstanding(), latency_};
}

void Scheduler::process_pending_versions(TickReport& report) {
    std::int64_t after = 0;
    while (!stop_requested()) {
        auto versions = deps_.store.pending_bill_versions(after, kVersionsPerTransaction, deps_.clock.now());
        if (!check(versions, "pending bill versions") || versions->empty()) return;
        after = versions->back().id;
        std::vector<ExternalMapping> mappings = deps_.rules.external_mappings;
        auto stored = deps_.store.list_mappings();
        if (!check(stored, "mappings")) return;  // retried next tick
        mappings.insert(mappings.end(), stored->begin(), stored->end());

        // Parsing and conversion happen here, outside the store's writer lock;
        // only the results go into the page's one transaction.
        // A version that waits on m3ter leaves the page; the others go on.
        std::vector<store::LedgerStore::ConvertedVersion> converted;
        std::vector<const store::BillVersionRecord*> applied;  // the version of each converted[i]
        converted.reserve(versions->size());
        for (const auto& version : *versions) {
            auto conversion = convert_version(version, mappings);
            if (!conversion) {
                defer_version(version, conversion.error());
                continue;
            }
            converted.push_back(std::move(*conversion));
            applied.push_back(&version);
        }
        std::vector<Status> statuses;
        if (!converted.empty()) {
            statuses = deps_.store.apply_conversions(converted, deps_.clock.now(), policy_);
        }
        {
            // A long backlog is progress too: the watchdog must not take a
            // pass converting 100,000 bills for a stuck scheduler.
            std::lock_guard lock(mutex_);
            last_progress_ = std::chrono::steady_clock::now();
        }
        for (std::size_t i = 0; i < applied.size(); ++i) {
            const store::BillVersionRecord& version = *applied[i];
            // A failed version stays unprocessed and is converted again next tick.
            if (!check(statuses[i], "conversion of " + version.bill_id)) continue;
            ++report.versions_processed;
            for (const auto& done : converted[i].runs) {
                for (const auto& held : done.run.held) {
                    spdlog::warn("bill {} v{} integration {}: line item {} held: {} ({})", version.bill_id,
                                 version.version, done.run.integration_id, held.line_item_index, held.message,
                                 to_string(held.reason));
                }
            }
            spdlog::info("bill {} v{} processed{}", version.bill_id, version.version,
                         version.deleted ? " (deleted)" : "");
        }
        // Webhook deliveries are waiting for the writer: acknowledging them
        // comes first, the rest waits for the next pass (issue 6, issue 17).
        if (intake_busy()) return;
    }
}

void Scheduler::pause(std::chrono::steady_clock::duration how_long) {
    std::unique_lock lock(mutex_);
    wakeup_.wait_for(lock, how_long, [this] { return stopping_; });  // wake() does not cut it short; stop() does
}

void Scheduler::defer_version(const store::BillVersionRecord& version, const Error& error) {
    const int attempt = version.retry_attempts + 1;
    const Instant retry_at = next_attempt_at(attempt, std::nullopt, deps_.clock.now(), jitter());
    spdlog::warn("bill {} v{}: account {} could not be resolved because m3ter failed ({}: {}); the version waits "
                 "unprocessed, attempt {} failed, next at {}",
                 version.bill_id, version.version, version.account_id, error.code, error.message, attempt,
                 format_iso8601(retry_at, false));
    check(deps_.store.defer_bill_version(version.id, retry_at, error.code + ": " + error.message),
          "deferral of " + version.bill_id);
}

Result<store::LedgerStore::ConvertedVersion> Scheduler::convert_version(const store::BillVersionRecord& version,
                                                                  const std::vector<ExternalMapping>& mappings) {
    const Instant started = deps_.clock.now();
    std::optional<Bill> bill;
    std::string failure;
    if (!version.deleted) {
        auto document = parse_exact_json(version.bill_json);
        auto parsed = document ? parse_bill(*document) : Result<Bill>(document.error());
        if (parsed) {
            bill = std::move(*parsed);
        } else {
            failure = "stored bill does not parse: " + parsed.error().message;
        }
    }
    std::optional<Json> account;
    if (bill && deps_.accounts != nullptr && needs_account(deps_.rules)) {
        auto lookup = deps_.accounts->account(bill->account_id);
        if (!lookup) return lookup.error();  // m3ter failed: says nothing about the account
        account = std::move(*lookup);
        if (!account) {
            spdlog::warn("account {} is unknown to m3ter and the config: account filters fail for it",
                         bill->account_id);
        }
    }

    store::LedgerStore::ConvertedVersion converted{version.id, version.bill_id, {}};
    for (std::size_t i = 0; i < deps_.rules.integrations.size(); ++i) {
        const IntegrationConfig& integration = deps_.rules.integrations[i];
        store::LedgerStore::ConvertedRun& done = converted.runs.emplace_back();
        store::IntegrationRunRecord& run = done.run;
        run.bill_version_id = version.id;
        run.integration_id = integration.id;
        run.config_snapshot = config_snapshots_[i];
        run.started_at = started;
        run.error = failure;
        done.recalculate = version.deleted;  // deletion: every target of the bill goes to zero
        if (bill) {
            Conversion conversion = convert_bill(integration, *bill, mappings, account ? &*account : nullptr);
            run.skipped = conversion.skipped;
            run.targets = std::move(conversion.targets);
            run.held = std::move(conversion.held);
            done.recalculate = conversion.ran();
        }
        run.finished_at = deps_.clock.now();
    }
    return converted;
}

bool Scheduler::stop_requested() {
    std::lock_guard lock(mutex_);
    return stopping_;
}

Scheduler::CallSignal Scheduler::post_and_settle(const std::vector<OutboxEvent>& events, TickReport& report,
                                                    bool claim) {
    std::vector<std::int64_t> ids;
    std::vector<UsageEventRequest> requests;
    int attempts = 0;
    for (const OutboxEvent& event : events) {
        ids.push_back(event.id);
        requests.push_back(event.request);
        attempts = std::max(attempts, event.attempts + 1);
    }
    ++report.batches_sent;
    // The call's exchanges are written with its outcome, in one transaction.
    store::LedgerStore::CallRecord record;
    record.links.event_ids = ids;
    record.links.batch_id = "batch-" + std::to_string(ids.front()) + "-" +
                            std::to_string(deps_.clock.now().time_since_epoch().count());
    store::ExchangeBuffer exchanges;
    azure::MeteringClient client(deps_.metering, deps_.transport, deps_.tokens, deps_.clock, &exchanges);
    const azure::BatchOutcome outcome = client.post_batch(requests);
    record.exchanges = std::move(exchanges.records);

    const Instant now = deps_.clock.now();
    // Stored with each event, so Azure's Retry-After holds across ticks and restarts.
    const Instant retry_at = next_attempt_at(attempts, outcome.retry_after, now, jitter());
    CallSignal call{SendWindow::Signal::Neutral, outcome.retry_after};
    switch (outcome.kind) {
        case azure::BatchOutcomeKind::Answered: {
            // A retried attempt (a 429 or 5xx slept through) is congestion
            // too; a token refresh alone is not.
            call.signal = outcome.attempts > (outcome.token_refreshed ? 2 : 1) ? SendWindow::Signal::Congested
                                                                                : SendWindow::Signal::Clean;
            const TickReport before = report;
            settle_answers(events, outcome, retry_at, record, report, claim);
            spdlog::info("batch of {} events answered: {} accepted, {} rejected, {} re-queued", ids.size(),
                         report.events_accepted - before.events_accepted,
                         report.events_rejected - before.events_rejected,
                         report.events_requeued - before.events_requeued);
            return call;
        }
        case azure::BatchOutcomeKind::MayHold:
            // Azure may hold these events: re-sent unchanged until answered,
            // never shrunk, withdrawn or re-slotted (SPEC §4).
            call.signal = SendWindow::Signal::Congested;
            ++report.transport_failures;
            spdlog::warn("batch of {} events: Azure may hold them ({}: HTTP {} {}); re-sent unchanged later", ids.size(),
                         azure::to_string(outcome.kind), outcome.http_status, outcome.error);
            record.unknown = ids;
            record.unknown_retry_at = retry_at;
            check(commit_call(record, claim), "record unknown");
            return call;
        case azure::BatchOutcomeKind::Refused: isolate_refusal(events, outcome, retry_at, record, report, claim); return call;
        case azure::BatchOutcomeKind::Throttled:
            call.signal = SendWindow::Signal::Congested;
            [[fallthrough]];
        case azure::BatchOutcomeKind::NotSent:
        case azure::BatchOutcomeKind::TokenError:
            // Azure recorded nothing (no connection, no token, or 429): events
            // that no earlier request may have reached can still be changed.
            ++report.transport_failures;
            spdlog::warn("batch of {} events not delivered ({}: HTTP {} {}); retry at {}", ids.size(),
                         azure::to_string(outcome.kind), outcome.http_status, outcome.error,
                         format_iso8601(retry_at));
            record.not_sent = ids;
            record.not_sent_retry_at = retry_at;
            check(commit_call(record, claim), "record not sent");
            return call;
    }
    return call;
}

void Scheduler::settle_answers(const std::vector<OutboxEvent>& events, const azure::BatchOutcome& outcome,
                               Instant retry_at, store::LedgerStore::CallRecord& record, TickReport& report,
                               bool claim) {
    // Every answer of the batch is settled in one transaction (one fsync per
    // batch, not per event), with the call's exchanges.
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& result = outcome.results[i];
        if (!result) {
            // Azure answered without it: it may or may not hold it.
            record.unknown.push_back(events[i].id);
            continue;
        }
        const bool may_hold = may_be_at_azure(events[i]) || outcome.may_hold;
        record.settlements.push_back({events[i].id, decide_event(events[i], *result, may_hold)});
    }
    record.unknown_retry_at = retry_at;
    const auto settled = commit_call(record, claim);
    if (!check(settled, "settle")) return;  // nothing committed: the events stay Sending, re-sent unchanged
    for (std::size_t i = 0; i < record.settlements.size(); ++i) {
        const std::int64_t id = record.settlements[i].event_id;
        const EventDecision& decision = record.settlements[i].decision;
        if (!check((*settled)[i], "settle")) continue;
        switch (decision.kind) {
            case EventDecision::Kind::Accept: ++report.events_accepted; break;
            case EventDecision::Kind::Reject:
                ++report.events_rejected;
                spdlog::error("event {} rejected by Azure: {} {}", id, decision.error_code, decision.error_message);
                break;
            case EventDecision::Kind::Unresolve:
                spdlog::error("event {} unresolved: {}", id, decision.error_message);
                break;
            case EventDecision::Kind::Conflict:
            case EventDecision::Kind::Expire:
                ++report.events_requeued;
                spdlog::warn("event {} {}: units re-queued. {}", id,
                             decision.kind == EventDecision::Kind::Conflict ? "conflict" : "expired",
                             decision.error_message);
                break;
        }
    }
}

void Scheduler::isolate_refusal(const std::vector<OutboxEvent>& events, const azure::BatchOutcome& outcome,
                                Instant retry_at, store::LedgerStore::CallRecord& record, TickReport& report,
                                bool claim) {
    std::vector<std::int64_t> ids;
    std::vector<const OutboxEvent*> batch;
    for (const OutboxEvent& event : events) {
        ids.push_back(event.id);
        batch.push_back(&event);
    }
    const auto [code, message] = refusal_error(outcome.http_status, outcome.body);
    const Instant now = deps_.clock.now();
    switch (on_refusal(batch)) {
        case RefusalAction::Split: {
            // Nothing of it was recorded: the events go back to where they
            // were (due now) and each half is sent on its own, on this
            // thread (they stay in flight: no other thread picks them).
            record.not_sent = ids;
            record.not_sent_retry_at = now;
            if (!check(commit_call(record, false), "record not sent")) return;
            spdlog::warn("batch of {} events refused as a whole (HTTP {} {}): split to isolate the cause", ids.size(),
                         outcome.http_status, code);
            const auto middle = ids.begin() + static_cast<std::ptrdiff_t>(ids.size() / 2);
            const std::vector<std::int64_t> halves[] = {std::vector<std::int64_t>(ids.begin(), middle),
                                                        std::vector<std::int64_t>(middle, ids.end())};
            for (const auto& half : halves) {
                auto marked = deps_.store.mark_sending(half, deps_.clock.now());
                if (!check(marked, "mark sending") || marked->empty()) continue;
                post_and_settle(*marked, report, claim && &half == &halves[1]);  // the thread's last call claims
            }
            return;
        }
        case RefusalAction::Reject: {
            EventDecision decision;
            decision.kind = EventDecision::Kind::Reject;
            decision.error_code = code;
            decision.error_message = message;
            record.settlements.push_back({ids.front(), decision});
            const auto settled = commit_call(record, claim);
            if (!check(settled, "settle") || !check(settled->front(), "settle")) return;
            ++report.events_rejected;
            spdlog::error("event {} rejected by Azure (whole request HTTP {}): {} {}", ids.front(),
                          outcome.http_status, code, message);
            return;
        }
        case RefusalAction::KeepInFlight:
            ++report.transport_failures;
            spdlog::error("event {} refused by Azure (HTTP {} {} {}), but an earlier request may have recorded it: "
                          "kept unchanged and retried; it becomes unresolved if its window closes",
                          ids.front(), outcome.http_status, code, message);
            record.unknown = ids;
            record.unknown_retry_at = retry_at;
            check(commit_call(record, claim), "record unknown");
            return;
    }
}

void Scheduler::start() { thread_ = std::thread([this] { loop(); }); }

void Scheduler::wake() {
    {
        std::lock_guard lock(mutex_);
        // Every webhook delivery asks: only the first since the loop last
        // woke wakes its thread (each wake-up is a context switch).
        if (wake_requested_) return;
        wake_requested_ = true;
    }
    wakeup_.notify_one();
}

void Scheduler::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    {
        // No batch starts from now on; those in flight are answered first.
        std::lock_guard lock(send_mutex_);
        senders_stop_ = true;
    }
    wakeup_.notify_one();
    send_ready_.notify_all();
    if (thread_.joinable()) thread_.join();
    for (auto& sender : senders_) {
        if (sender.joinable()) sender.join();
    }
}

void Scheduler::loop() {
    // The watchdog is pinged by the daemon's health monitor (cli/daemon_watchdog),
    // which reads last_progress(): a pass must finish within its bound.
    const Duration period = std::chrono::seconds{std::max<std::int64_t>(1, deps_.scheduler.tick_s)};
    Instant last_prune{};
    bool busy = false;  // the last pass converted or a batch was answered since the one before
    std::chrono::steady_clock::time_point last_pass{};
    while (true) {
        {
            std::unique_lock lock(mutex_);
            wakeup_.wait_for(lock, period, [this] { return wake_requested_ || stopping_; });
            if (stopping_) return;
            wake_requested_ = false;
        }
        if (intake_busy()) {
            // Every delivery wakes the loop; while they arrive, a pass at most every kBusyPassPeriod.
            const auto next = last_pass + kBusyPassPeriod;
            if (const auto now = std::chrono::steady_clock::now(); now < next) pause(next - now);
            if (stop_requested()) return;
        }
        last_pass = std::chrono::steady_clock::now();
        try {
            TickReport report = pass();
            bool sending_idle = false;
            {
                std::lock_guard lock(send_mutex_);
                report.add_sending(sent_);
                sent_ = {};
                sending_idle = idle();
            }
            const bool worked = report.versions_processed > 0 || report.batches_sent > 0;
            // A burst has just ended: its buffers go back to the system.
            if (busy && !worked && sending_idle) release_free_memory();
            busy = worked;
            if (report.batches_sent > 0 || report.versions_processed > 0) {
                spdlog::info("tick: {} versions, {} events planned, {} batches answered, {} accepted, {} rejected, "
                             "{} re-queued",
                             report.versions_processed, report.events_planned, report.batches_sent,
                             report.events_accepted, report.events_rejected, report.events_requeued);
            }
            const Instant now = deps_.clock.now();
            if (now - last_prune > hours{1}) {
                last_prune = now;
                const auto retention = hours{24 * deps_.payload_retention_days};
                check(deps_.store.prune(now - retention), "retention pruning");
            }
        } catch (const std::exception& error) {
            spdlog::error("scheduler tick failed: {}", error.what());
        }
        {
            std::lock_guard lock(mutex_);
            last_progress_ = std::chrono::steady_clock::now();
        }
    }
}

}  // namespace meterbridge::app

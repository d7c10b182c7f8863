#pragma once
// The scheduler (SPEC §4, issue 4 part 4): on every tick it converts new bill
// versions, recalculates, slots pending units, plans batches, sends them and
// records Azure's answers. Every step is committed to the store before the
// next one talks to the outside world, so a crash at any point resumes from
// the database: events stored as `sending` are re-sent unchanged.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "meterbridge/azure/metering_client.hpp"
#include "meterbridge/core/integration_config.hpp"
#include "meterbridge/m3ter/account_source.hpp"
#include "meterbridge/store/store.hpp"
#include "pipeline/scheduler_config.hpp"

namespace meterbridge::app {


// What one tick did, for logs and tests.
struct TickReport {
    int versions_processed = 0;
    int events_planned = 0;
    int batches_sent = 0;
    int events_accepted = 0;
    int events_rejected = 0;
    int events_requeued = 0;  // conflict / expired
    int transport_failures = 0;
};

class Scheduler {
public:
    // Bill versions converted per store transaction: enough to share one
    // fsync between many bills, few enough that the webhook's commit thread,
    // queued behind the page on the writer lock, is not held up for long.
    static constexpr std::size_t kVersionsPerTransaction = 32;
    // While the intake is busy, a tick converts one page, then pauses this
    // many times as long as the page took (conversion gets at most
    // 1 / (1 + kIntakeShare) of the time), never longer than kLongestPause.
    static constexpr int kIntakeShare = 9;
    static constexpr std::chrono::milliseconds kLongestPause{500};

    struct Deps {
        const IntegrationRules& rules;        // the config's integrations and mappings
        const SchedulerConfig& scheduler;
        std::int64_t payload_retention_days;  // storage.payload_retention_days
        store::LedgerStore& store;
        const Clock& clock;
        net::HttpTransport& transport;       // to Azure (or the sandbox)
        azure::TokenProvider& tokens;
        m3ter::AccountSource* accounts = nullptr;  // null: no account data (filters fail)
        azure::MeteringClientOptions metering;
        // True while webhook deliveries wait to be committed; conversion then
        // yields the writer to them (null: never).
        std::function<bool()> intake_busy;
    };

    explicit Scheduler(Deps deps);
    ~Scheduler();  // stop()

    // One pass over everything due at clock.now(). Not thread-safe with
    // itself; run() calls it from one thread.
    TickReport tick();

    // Runs tick() every tick_s (or sooner after wake()) on its own thread.
    void start();
    // Asks for a tick as soon as possible (new delivery, reprocess, clock change).
    void wake();
    // Lets the current tick finish (a batch in flight is answered or times
    // out within the metering client's deadline), then joins. Idempotent.
    void stop();

private:
    // Converts every unprocessed bill version that is due, a page at a time,
    // each page applied in one store transaction; only one page (and a pause)
    // while the intake is busy; stops early when stop() is called. A version
    // whose conversion needs m3ter while m3ter fails is deferred with backoff.
    void process_pending_versions(TickReport& report);
    // The version converted for every integration, or the error of the
    // account lookup when m3ter failed: the version must then wait, never be
    // converted without its account (issue 14).
    Result<store::LedgerStore::ConvertedVersion> convert_version(const store::BillVersionRecord& version,
                                                           const std::vector<ExternalMapping>& mappings);
    void defer_version(const store::BillVersionRecord& version, const Error& error);
    bool stop_requested();
    void pause(std::chrono::steady_clock::duration how_long);
    // Sends one batch (durable as Sending first) and records what Azure said.
    void send_batch(const std::vector<const OutboxEvent*>& events, TickReport& report);
    void settle_answers(const std::vector<const OutboxEvent*>& events, const azure::BatchOutcome& outcome,
                        Instant retry_at, TickReport& report);
    // A whole-request 4xx: split and send again until its cause is alone.
    void isolate_refusal(const std::vector<const OutboxEvent*>& events, const azure::BatchOutcome& outcome,
                         Instant retry_at, TickReport& report);
    void loop();

    Deps deps_;
    SlotPolicy policy_;
    std::vector<std::string> config_snapshots_;  // integration_to_json of each integration, in config order
    std::mt19937_64 random_;
    std::mutex mutex_;
    std::condition_variable wakeup_;
    bool wake_requested_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace meterbridge::app

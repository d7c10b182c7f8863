#pragma once
// The scheduler (SPEC §4, issue 4 part 4): on every tick it converts new bill
// versions, recalculates, slots pending units, plans batches, sends them and
// records Azure's answers. Every step is committed to the store before the
// next one talks to the outside world, so a crash at any point resumes from
// the database: events stored as `sending` are re-sent unchanged.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <optional>
#include <set>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "meterbridge/azure/metering_client.hpp"
#include "meterbridge/core/integration_config.hpp"
#include "meterbridge/core/latency_histogram.hpp"
#include "meterbridge/core/send_window.hpp"
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

    // Adds the sending counters of `sent` (what the sending threads did).
    void add_sending(const TickReport& sent);
};

class Scheduler {
public:
    // Bill versions converted per store transaction: enough to share one
    // fsync between many bills, few enough that the webhook's commit thread,
    // queued behind the page on the writer lock, is not held up for long.
    static constexpr std::size_t kVersionsPerTransaction = 32;
    // While webhook deliveries wait for the writer, the loop runs a pass at
    // most this often, and a pass converts one page: each of the pass's
    // transactions holds the writer while deliveries queue behind it, which
    // is what a webhook's slowest answers are made of (issue 17). A burst
    // that never ends still gets a page converted every period.
    static constexpr std::chrono::milliseconds kBusyPassPeriod{1000};

    struct Deps {
        const IntegrationRules& rules;        // the config's integrations and mappings
        const SchedulerConfig& scheduler;
        std::int64_t payload_retention_days;  // storage.payload_retention_days
        store::LedgerStore& store;
        const Clock& clock;
        net::HttpTransport& transport;       // to Azure (or the sandbox); thread-safe, a connection per call
        azure::TokenProvider& tokens;
        m3ter::AccountSource* accounts = nullptr;  // null: no account data (filters fail)
        azure::MeteringClientOptions metering;
        // True while webhook deliveries wait to be committed; conversion then
        // yields the writer to them (null: never).
        std::function<bool()> intake_busy;
    };

    // Starts the sending threads (scheduler.max_batches_in_flight of them);
    // tick() works without start().
    explicit Scheduler(Deps deps);
    ~Scheduler();  // stop()

    // One pass over everything due at clock.now(), then waits until every
    // batch it started (and those their answers made due) is answered. For
    // tests and benchmarks: the running daemon's loop does not wait.
    // Not thread-safe with itself or with start().
    TickReport tick();

    // Runs a pass every tick_s (or sooner after wake()) on its own thread;
    // batches go out on the sending threads meanwhile.
    void start();
    // Asks for a tick as soon as possible (new delivery, reprocess, clock change).
    void wake();
    // Lets the pass in progress finish, then waits for the batches in flight
    // (each answered or timed out within the metering client's deadline)
    // and joins every thread. Idempotent.
    void stop();

    // The steady time the loop last finished a pass or converted a page of
    // bill versions (or started): a pass never waits on Azure. For the watchdog.
    std::chrono::steady_clock::time_point last_progress() const;
    // The sending window and latency, for /metrics.
    SendingFigures sending_figures() const;

private:
    // One batch handed to a sending thread: its events are stored as
    // Sending already, and it holds a place in the window.
    struct Job {
        std::vector<OutboxEvent> events;
        SendWindow::Ticket ticket = 0;
    };
    // What one batch's call said about Azure's load.
    struct CallSignal {
        SendWindow::Signal signal = SendWindow::Signal::Neutral;
        std::optional<Duration> retry_after;
    };

    // Converts, handles stale events, plans slots, starts batches. Never
    // waits on Azure.
    TickReport pass();
    // Converts every unprocessed bill version that is due, a page at a time,
    // each page applied in one store transaction; only one page while the
    // intake is busy; stops early when stop() is called. A version
    // whose conversion needs m3ter while m3ter fails is deferred with backoff.
    void process_pending_versions(TickReport& report);
    // The version converted for every integration, or the error of the
    // account lookup when m3ter failed: the version must then wait, never be
    // converted without its account (issue 14).
    Result<store::LedgerStore::ConvertedVersion> convert_version(const store::BillVersionRecord& version,
                                                           const std::vector<ExternalMapping>& mappings);
    void defer_version(const store::BillVersionRecord& version, const Error& error);
    bool stop_requested();
    // Webhook deliveries wait for the writer (Deps::intake_busy).
    bool intake_busy() const { return deps_.intake_busy && deps_.intake_busy(); }
    void pause(std::chrono::steady_clock::duration how_long);
    // Events whose slot leaves the window, except those in flight.
    void handle_stale(Instant now);
    // Starts as many due batches as the window lets: their events are marked
    // Sending in one transaction, then handed to the sending threads. Called
    // by the pass and by each sending thread when its batch is answered, so
    // the window refills without waiting for the next pass.
    void dispatch();
    // The next due batches, at most `how_many`, their events reserved in
    // in_flight_ so that no other thread picks them. Under dispatch_mutex_.
    std::vector<std::vector<std::int64_t>> reserve_batches(Instant now, std::size_t how_many);
    // A job for each reserved batch, of its events the store marked Sending
    // (`marked`); the reserved events not marked are free again. Under send_mutex_.
    void queue(const std::vector<std::vector<std::int64_t>>& batches, std::vector<OutboxEvent> marked);
    void send_loop();
    // No batch in flight, and no sending thread about to start one. Under send_mutex_.
    bool idle() const { return window_.outstanding() == 0 && refilling_ == 0; }
    // Posts events already stored as Sending and records what Azure said;
    // with `claim`, the same commit claims the thread's next batch.
    CallSignal post_and_settle(const std::vector<OutboxEvent>& events, TickReport& report, bool claim);
    // `record` holds the call's exchanges; they are committed with what it adds.
    void settle_answers(const std::vector<OutboxEvent>& events, const azure::BatchOutcome& outcome,
                        Instant retry_at, store::LedgerStore::CallRecord& record, TickReport& report, bool claim);
    // A whole-request 4xx: split and send again until its cause is alone.
    void isolate_refusal(const std::vector<OutboxEvent>& events, const azure::BatchOutcome& outcome,
                         Instant retry_at, store::LedgerStore::CallRecord& record, TickReport& report, bool claim);
    // Records a call's outcome in one commit. With `claim`, that commit also
    // marks the next due batch Sending (picked now, its events reserved as in
    // flight) and queues it in this call's place in the window: in steady
    // state one commit per call instead of two.
    Result<std::vector<Status>> commit_call(store::LedgerStore::CallRecord& record, bool claim);
    // The events of the next due batch, reserved in in_flight_; empty when
    // stopping, when nothing is due, or when the window has shrunk.
    std::vector<std::int64_t> reserve_successor(Instant now);
    void loop();
    std::uint64_t jitter();  // random bits for backoff, from any thread

    Deps deps_;
    SlotPolicy policy_;
    std::vector<std::string> config_snapshots_;  // integration_to_json of each integration, in config order

    mutable std::mutex mutex_;  // the loop's wake-up and stop flags
    std::condition_variable wakeup_;
    bool wake_requested_ = false;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point last_progress_;
    std::thread thread_;

    // Picking events to send and handling stale ones never overlap: neither
    // may see an event the other is about to change.
    std::mutex dispatch_mutex_;

    mutable std::mutex send_mutex_;  // everything below
    std::condition_variable send_ready_;  // a job was queued, or the senders stop
    std::condition_variable send_idle_;   // no batch in flight any more
    SendWindow window_;
    std::set<std::int64_t> in_flight_;    // the events of the batches in flight
    std::deque<Job> jobs_;
    int refilling_ = 0;                   // sending threads between their answer and their dispatch()
    TickReport sent_;                     // what the sending threads did since it was last taken
    LatencyHistogram latency_;
    std::mt19937_64 random_;
    bool senders_stop_ = false;
    std::vector<std::thread> senders_;
};

}  // namespace meterbridge::app

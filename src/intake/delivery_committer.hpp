#pragma once
// Group commit for webhook deliveries (issue 6). The intake hands each decoded
// delivery to submit(); one commit thread takes whatever is queued (up to
// max_batch), records it with Store::record_deliveries in ONE transaction (one
// fsync for all), and only then calls each delivery's `done`. So concurrent
// deliveries share an fsync, and an answer is never given before its delivery
// is durable (SPEC §4 "Durability first").
//
// There is no timer: a batch is whatever arrived while the previous commit
// was running, so a lone delivery is committed at once and batches grow with
// the load.
//
// The answers run on a second thread, in commit order: answering a batch
// (building each reply, logging it, handing it to its connection) took as
// long as committing it, and the next commit no longer waits for it.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "meterbridge/core/result.hpp"
#include "meterbridge/store/store.hpp"

namespace meterbridge::app {

struct DeliveryCommitterOptions {
    std::size_t max_batch = 256;  // deliveries per transaction
};

class DeliveryCommitter {
public:
    using Options = DeliveryCommitterOptions;

    // Called exactly once per submitted delivery with the delivery itself and
    // its durable receipt, or an error (storage_error: the transaction failed
    // and nothing of it was kept; storage_unavailable: submitted after stop()).
    // Runs on the answer thread, in the order of the commits (or, after
    // stop(), on the submitting thread): it must not submit again.
    using Done = std::function<void(const store::Delivery& delivery, Result<store::DeliveryReceipt> receipt)>;

    struct Stats {
        std::uint64_t batches = 0;
        std::uint64_t deliveries = 0;
        std::size_t largest_batch = 0;
    };

    // Starts the commit thread. `store` must outlive this object.
    explicit DeliveryCommitter(store::IntakeStore& store, Options options = {});
    ~DeliveryCommitter();  // stop()
    DeliveryCommitter(const DeliveryCommitter&) = delete;
    DeliveryCommitter& operator=(const DeliveryCommitter&) = delete;

    // Thread-safe; never blocks on the database.
    void submit(store::Delivery delivery, Done done);

    // Commits and answers everything already queued, then joins both
    // threads; later submits are answered at once with storage_unavailable.
    // Idempotent; thread-safe, but not from inside a Done.
    void stop();

    Stats stats() const;  // thread-safe

    // True while a submitted delivery has not been answered yet (queued or
    // being committed): the scheduler then leaves the writer to the intake.
    bool busy() const { return in_flight_.load(std::memory_order_relaxed) > 0; }

private:
    struct Job {
        store::Delivery delivery;
        Done done;
    };
    // A committed batch waiting for its answers.
    struct Answers {
        std::vector<Job> jobs;
        std::vector<Result<store::DeliveryReceipt>> results;
    };
    void loop();
    void commit(std::vector<Job>& jobs);
    void answer_loop();
    void answer(Answers& batch);

    store::IntakeStore& store_;
    Options options_;
    mutable std::mutex mutex_;
    std::mutex join_mutex_;
    std::condition_variable queued_;
    std::deque<Job> queue_;
    bool stopping_ = false;
    std::condition_variable committed_;
    std::deque<Answers> answers_;  // guarded by mutex_
    bool commits_done_ = false;     // the commit thread has left: the answer thread may leave once answers_ is empty
    std::atomic<std::size_t> in_flight_{0};
    Stats stats_;
    // Last: started once everything above exists.
    std::thread answer_thread_;
    std::thread thread_;
};

}  // namespace meterbridge::app

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
    // Runs on the commit thread (or, after stop(), on the submitting thread):
    // it must be quick and must not submit again.
    using Done = std::function<void(const store::Delivery& delivery, Result<store::DeliveryReceipt> receipt)>;

    struct Stats {
        std::uint64_t batches = 0;
        std::uint64_t deliveries = 0;
        std::size_t largest_batch = 0;
    };

    // Starts the commit thread. `store` must outlive this object.
    explicit DeliveryCommitter(store::Store& store, Options options = {});
    ~DeliveryCommitter();  // stop()
    DeliveryCommitter(const DeliveryCommitter&) = delete;
    DeliveryCommitter& operator=(const DeliveryCommitter&) = delete;

    // Thread-safe; never blocks on the database.
    void submit(store::Delivery delivery, Done done);

    // Commits and answers everything already queued, then joins the commit
    // thread; later submits are answered at once with storage_unavailable.
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
    void loop();
    void commit(std::vector<Job>& jobs);

    store::Store& store_;
    Options options_;
    mutable std::mutex mutex_;
    std::mutex join_mutex_;
    std::condition_variable queued_;
    std::deque<Job> queue_;
    bool stopping_ = false;
    std::atomic<std::size_t> in_flight_{0};
    Stats stats_;
    std::thread thread_;  // last: started once everything above exists
};

}  // namespace meterbridge::app

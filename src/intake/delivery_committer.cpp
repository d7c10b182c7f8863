#include "intake/delivery_committer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <iterator>
#include <vector>

namespace meterbridge::app {
namespace {

void call(const DeliveryCommitter::Done& done, const store::Delivery& delivery,
          Result<store::DeliveryReceipt> receipt) {
    try {
        done(delivery, std::move(receipt));
    } catch (const std::exception& failure) {
        // The commit thread must survive a faulty callback; the delivery is stored either way.
        spdlog::error("delivery committer: answer callback failed: {}", failure.what());
    }
}

}  // namespace

DeliveryCommitter::DeliveryCommitter(store::IntakeStore& store, Options options)
    : store_(store),
      options_{std::max<std::size_t>(1, options.max_batch)},
      answer_thread_([this] { answer_loop(); }),
      thread_([this] { loop(); }) {}

DeliveryCommitter::~DeliveryCommitter() { stop(); }

void DeliveryCommitter::submit(store::Delivery delivery, Done done) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            in_flight_.fetch_add(1, std::memory_order_relaxed);
            queue_.push_back(Job{std::move(delivery), std::move(done)});
            queued_.notify_one();
            return;
        }
    }
    call(done, delivery,
         make_error("storage_unavailable", "the daemon is stopping; the delivery was not stored"));
}

void DeliveryCommitter::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    queued_.notify_one();
    std::lock_guard joining(join_mutex_);  // two stop()s must not join the same threads
    if (!thread_.joinable()) return;
    thread_.join();  // everything queued is committed; the answer thread then answers it and leaves
    answer_thread_.join();
    const Stats stats = this->stats();
    if (stats.deliveries > 0) {
        spdlog::info("delivery committer: {} deliveries in {} transactions (largest {})", stats.deliveries,
                     stats.batches, stats.largest_batch);
    }
}

DeliveryCommitter::Stats DeliveryCommitter::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void DeliveryCommitter::loop() {
    std::vector<Job> jobs;
    while (true) {
        {
            std::unique_lock lock(mutex_);
            queued_.wait(lock, [this] { return !queue_.empty() || stopping_; });
            if (queue_.empty()) {  // stopping, and everything queued was committed
                commits_done_ = true;
                committed_.notify_one();
                return;
            }
            const auto count = static_cast<std::ptrdiff_t>(std::min(queue_.size(), options_.max_batch));
            jobs.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + count));
            queue_.erase(queue_.begin(), queue_.begin() + count);
        }
        commit(jobs);
        jobs.clear();
    }
}

void DeliveryCommitter::commit(std::vector<Job>& jobs) {
    std::vector<store::Delivery> deliveries;
    deliveries.reserve(jobs.size());
    for (Job& job : jobs) deliveries.push_back(std::move(job.delivery));
    std::vector<Result<store::DeliveryReceipt>> results = store_.record_deliveries(deliveries);
    {
        std::lock_guard lock(mutex_);
        ++stats_.batches;
        stats_.deliveries += jobs.size();
        stats_.largest_batch = std::max(stats_.largest_batch, jobs.size());
    }
    // Only now, with the transaction committed (or failed), may anyone hear of it.
    for (std::size_t i = 0; i < jobs.size(); ++i) jobs[i].delivery = std::move(deliveries[i]);
    {
        std::lock_guard lock(mutex_);
        answers_.push_back(Answers{std::move(jobs), std::move(results)});
    }
    committed_.notify_one();
}

void DeliveryCommitter::answer_loop() {
    while (true) {
        Answers batch;
        {
            std::unique_lock lock(mutex_);
            committed_.wait(lock, [this] { return !answers_.empty() || commits_done_; });
            if (answers_.empty()) return;  // the commit thread has left and everything is answered
            batch = std::move(answers_.front());
            answers_.pop_front();
        }
        answer(batch);
    }
}

void DeliveryCommitter::answer(Answers& batch) {
    for (std::size_t i = 0; i < batch.jobs.size(); ++i) {
        Result<store::DeliveryReceipt> result =
            i < batch.results.size()
                ? std::move(batch.results[i])
                : Result<store::DeliveryReceipt>(make_error("storage_error", "no receipt from the store"));
        call(batch.jobs[i].done, batch.jobs[i].delivery, std::move(result));
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
    }
}

}  // namespace meterbridge::app

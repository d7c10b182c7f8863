#include "intake/worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace meterbridge::app {

WorkerPool::WorkerPool(Options options) : options_(options) {
    const unsigned threads = std::max(1u, options_.threads);
    threads_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::post(Job job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= options_.max_queued) return false;
        queue_.push_back(std::move(job));
    }
    queued_.notify_one();
    return true;
}

void WorkerPool::stop() {
    std::deque<Job> discarded;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        discarded.swap(queue_);
    }
    queued_.notify_all();
    std::lock_guard joining(join_mutex_);  // two stop()s must not join the same threads
    for (auto& thread : threads_) {
        if (thread.joinable()) thread.join();
    }
}

void WorkerPool::loop() {
    while (true) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        try {
            job();
        } catch (const std::exception& failure) {
            spdlog::error("worker pool: job failed: {}", failure.what());
        }
    }
}

}  // namespace meterbridge::app

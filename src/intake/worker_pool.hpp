#pragma once
// A few threads for blocking work that an HTTP handler must not do on an I/O
// thread (issue 14): the handler posts a job that answers through its
// Responder later. Today: fetching a bill from m3ter for an id-only webhook
// delivery, which may take as long as m3ter's request timeout.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace meterbridge::app {

struct WorkerPoolOptions {
    unsigned threads = 4;
    // Jobs waiting for a thread beyond this are refused: a long m3ter outage
    // must not pile up requests (and their bodies) without bound.
    std::size_t max_queued = 64;
};

class WorkerPool {
public:
    using Job = std::function<void()>;
    using Options = WorkerPoolOptions;

    explicit WorkerPool(Options options = {});
    ~WorkerPool();  // stop()
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Thread-safe, never blocks. False (and `job` is not run) when the queue
    // is full or stop() was called: the caller answers at once. An exception
    // thrown by a job is logged and swallowed.
    bool post(Job job);

    // Lets the running jobs finish, discards the queued ones (the HTTP server
    // is stopped first, so nobody waits for their answers), joins.
    // Idempotent; not from inside a job.
    void stop();

private:
    void loop();

    Options options_;
    std::mutex mutex_;
    std::mutex join_mutex_;
    std::condition_variable queued_;
    std::deque<Job> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;  // last: started once everything above exists
};

}  // namespace meterbridge::app

#pragma once
// A first-come, first-served mutex (a ticket lock on a condition variable).
// The writer connection is shared by the webhook's commit thread and the
// scheduler, which takes it for several short transactions in a row;
// std::mutex lets the thread that just unlocked take it again before a
// waiter wakes, so the commit thread could wait out a whole series of them
// while every webhook waits on it. In turn, each waits for at most the
// transactions queued before it. BasicLockable; not recursive.
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace meterbridge::store {

class FairMutex {
public:
    void lock() {
        std::unique_lock guard(mutex_);
        const std::uint64_t ticket = next_++;
        turn_.wait(guard, [&] { return serving_ == ticket; });
    }
    void unlock() {
        {
            std::lock_guard guard(mutex_);
            ++serving_;
        }
        turn_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable turn_;
    std::uint64_t next_ = 0;
    std::uint64_t serving_ = 0;
};

}  // namespace meterbridge::store

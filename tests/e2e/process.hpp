#pragma once
// A child process (the meterbridge binary, a bench's ceiling server), with its
// stdout and stderr in a file that can be searched, e.g. for the port it
// listens on. Library meterbridge_child_process: the e2e and chaos harness and
// the bench programs link it.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace meterbridge::testing {

class ChildProcess {
public:
    ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env, std::filesystem::path log);
    ~ChildProcess();  // SIGKILL if still running
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Sends `signal` and waits up to `timeout` for the exit; the exit status,
    // or nullopt if it did not exit in time.
    std::optional<int> stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(15));
    // Waits up to `timeout` for the process to exit by itself; its exit status, or nullopt.
    std::optional<int> wait(std::chrono::milliseconds timeout) { return stop(0, timeout); }  // signal 0 sends nothing
    bool running();
    pid_t pid() const { return pid_; }  // for /proc/PID/status and prlimit (tests/chaos)
    std::string log() const;  // everything written to stderr so far

    // Waits until the log contains `marker`, then returns the text after it up
    // to the end of that line; nullopt on timeout or exit.
    std::optional<std::string> wait_for_line(const std::string& marker, std::chrono::milliseconds timeout);

private:
    pid_t pid_ = -1;
    std::filesystem::path log_;
    std::optional<int> status_;
};

}  // namespace meterbridge::testing

#pragma once
// A child process of a bench program (the daemon, a ceiling server), its
// stdout and stderr in a log file that can be searched for a line.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace meterbridge::bench {

class Child {
public:
    Child(std::vector<std::string> argv, const std::map<std::string, std::string>& env, std::filesystem::path log);
    ~Child();  // SIGKILL if still running
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    // Sends `signal`, waits up to `timeout`; true if it exited.
    bool stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(15));
    std::string log() const;
    // The rest of the first log line containing `marker`, once it appears;
    // nullopt on timeout or exit.
    std::optional<std::string> wait_for_line(const std::string& marker, std::chrono::milliseconds timeout);

private:
    bool running();
    pid_t pid_ = -1;
    bool exited_ = false;
    std::filesystem::path log_;
};

}  // namespace meterbridge::bench

// Issue 18: the systemd watchdog is pinged by a health check of the daemon
// (event loop, writer, scheduler progress), not by the scheduler's loop, so a
// healthy daemon in an Azure brownout is not killed. systemd is played by a
// datagram socket in NOTIFY_SOCKET that records each WATCHDOG=1 (sd_notify(3)).
#include "daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

namespace meterbridge::testing {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// What systemd would hear on the service's notify socket.
class FakeSystemd {
public:
    explicit FakeSystemd(const std::filesystem::path& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path_.c_str());
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        timeval timeout{0, 100'000};  // the reader checks for stop() this often
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        reader_ = std::thread([this] { read(); });
    }
    ~FakeSystemd() {
        stopping_ = true;
        reader_.join();
        ::close(fd_);
    }
    bool bound() const { return bound_; }
    bool ready() const {
        std::lock_guard lock(mutex_);
        return ready_;
    }
    std::vector<SteadyClock::time_point> pings() const {
        std::lock_guard lock(mutex_);
        return pings_;
    }

private:
    void read() {
        char buffer[4096];
        while (!stopping_) {
            const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) continue;
            const std::string message(buffer, static_cast<std::size_t>(n));
            std::lock_guard lock(mutex_);
            if (message.find("READY=1") != std::string::npos) ready_ = true;
            if (message.find("WATCHDOG=1") != std::string::npos) pings_.push_back(SteadyClock::now());
        }
    }

    std::filesystem::path path_;
    int fd_ = -1;
    bool bound_ = false;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    bool ready_ = false;
    std::vector<SteadyClock::time_point> pings_;
    std::thread reader_;
};

// The longest silence between consecutive pings in [from, to], counting the
// silence before the first and after the last.
SteadyClock::duration longest_silence(const std::vector<SteadyClock::time_point>& pings, SteadyClock::time_point from,
                                      SteadyClock::time_point to) {
    SteadyClock::duration longest{};
    SteadyClock::time_point previous = from;
    for (const auto ping : pings) {
        if (ping < from || ping > to) continue;
        longest = std::max(longest, ping - previous);
        previous = ping;
    }
    return std::max(longest, to - previous);
}

TEST(WatchdogE2E, AHealthyDaemonInAnAzureBrownoutKeepsPingingTheWatchdog) {
    TempDir dir;
    FakeSystemd systemd(dir.path() / "notify.sock");
    ASSERT_TRUE(systemd.bound());
    Json config = base_config(dir.path());
    config["azure"]["request_timeout_s"] = 30;  // the client waits out the slow answer
    DaemonProcess daemon(dir.path(), config);
    daemon.set_env("NOTIFY_SOCKET", (dir.path() / "notify.sock").string());
    daemon.set_env("WATCHDOG_USEC", "6000000");  // WatchdogSec=6
    daemon.start();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(DaemonProcess::eventually([&] { return systemd.ready(); })) << daemon.log();

    // Every Azure call answers after 9 s: longer than the whole watchdog interval.
    daemon.add_sandbox_fault(R"({"kind":"delay_ms","delay_ms":9000,"count":3})");
    ASSERT_EQ(daemon.post_bill(bill_json("b-brownout", 1, "acc-bill", {{"USAGE", "1.00", "", ""}})).status, 202);
    ASSERT_TRUE(DaemonProcess::eventually([&] {
        const Json page = daemon.get("/events?status=sending").json();
        return page.is_object() && page["data"].size() == 1;
    })) << daemon.log();
    const auto from = SteadyClock::now();
    std::this_thread::sleep_for(12s);  // the 9 s call and then some
    const auto to = SteadyClock::now();

    const auto silence = longest_silence(systemd.pings(), from, to);
    EXPECT_LT(silence, 6s) << "systemd would have killed the daemon: no WATCHDOG=1 for "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(silence).count() << " ms\n"
                           << daemon.log();
    EXPECT_EQ(daemon.get("/healthz").status, 200);
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log();
    EXPECT_NE(daemon.log().find("watchdog: systemd asked for a ping every 6000 ms"), std::string::npos)
        << daemon.log();
}

}  // namespace
}  // namespace meterbridge::testing

// Issue 18, the daemon's life as systemd and containers see it: a hang-up is
// ignored, a stop whose drain outlasts its 10 s still exits 0, an unwritable
// data directory is a clear start-up error, and `meterbridge healthcheck`
// asks the configured listener.
#include "daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <thread>

namespace meterbridge::testing {
namespace {

using namespace std::chrono_literals;

const std::map<std::string, std::string> kEnv = {
    {"MB_E2E_API_KEY", kApiKey}, {"MB_E2E_API_SECRET", kApiSecret}, {"MB_E2E_OPS_TOKEN", kOpsToken}};

// A loopback port nobody listens on now.
std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

std::filesystem::path write_config(const std::filesystem::path& dir, const Json& config) {
    const auto path = dir / "config.json";
    std::ofstream(path) << config.dump(2);
    return path;
}

TEST(LifecycleE2E, SighupIsLoggedAndIgnored) {
    TempDir dir;
    DaemonProcess daemon(dir.path(), base_config(dir.path()));
    daemon.start();
    ASSERT_FALSE(HasFatalFailure());
    ::kill(daemon.pid(), SIGHUP);
    ASSERT_TRUE(DaemonProcess::eventually([&] { return daemon.log().find("received SIGHUP") != std::string::npos; }))
        << daemon.log();
    EXPECT_EQ(daemon.get("/healthz").status, 200);
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log();
}

// Stops (SIGTERM) a daemon while Azure holds its only batch for 30 s, longer
// than any drain; `drain_timeout_s` (empty: the default) goes to
// MB_DRAIN_TIMEOUT_S. Checks the exit status, that the stop took less than
// `within`, and that the log names the drain deadline `expected_s`.
void expect_stop_during_slow_azure(const std::string& drain_timeout_s, int expected_s,
                                   std::chrono::seconds within) {
    TempDir dir;
    Json config = base_config(dir.path());
    config["azure"]["request_timeout_s"] = 60;  // the client waits for Azure longer than the drain
    DaemonProcess daemon(dir.path(), config);
    if (!drain_timeout_s.empty()) daemon.set_env("MB_DRAIN_TIMEOUT_S", drain_timeout_s);
    daemon.start();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    daemon.add_sandbox_fault(R"({"kind":"delay_ms","delay_ms":30000,"count":1})");
    ASSERT_EQ(daemon.post_bill(bill_json("b-slow", 1, "acc-bill", {{"USAGE", "1.00", "", ""}})).status, 202);
    ASSERT_TRUE(DaemonProcess::eventually([&] {
        const Json page = daemon.get("/events?status=sending").json();
        return page.is_object() && page["data"].size() == 1;
    })) << daemon.log();
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log();
    EXPECT_LT(std::chrono::steady_clock::now() - started, within);
    EXPECT_NE(daemon.log().find("drain did not finish within " + std::to_string(expected_s) + " s"),
              std::string::npos)
        << daemon.log();
}

TEST(LifecycleE2E, AStopWhoseDrainOutlastsTenSecondsStillExitsZero) { expect_stop_during_slow_azure("", 10, 14s); }

// A container runtime SIGKILLs after its stop timeout (Docker's and podman's
// default: 10 s): the image sets a shorter drain so that a stop during an
// Azure call still ends in a clean exit 0, not 137.
TEST(LifecycleE2E, ADrainTimeoutFromTheEnvironmentBoundsTheStop) { expect_stop_during_slow_azure("3", 3, 6s); }

TEST(LifecycleE2E, ADrainTimeoutThatIsNotWholeSecondsIsRefused) {
    TempDir dir;
    for (const char* bad : {"0", "8s", "301", "-1"}) {
        ChildProcess serve({meterbridge_binary(), "serve", "--config",
                            write_config(dir.path(), base_config(dir.path())).string()},
                           {{"MB_E2E_API_KEY", kApiKey}, {"MB_E2E_API_SECRET", kApiSecret},
                            {"MB_E2E_OPS_TOKEN", kOpsToken}, {"MB_DRAIN_TIMEOUT_S", bad}},
                           dir.path() / (std::string("serve-") + bad + ".log"));
        EXPECT_EQ(serve.wait(20s), 2) << bad;
        EXPECT_NE(serve.log().find("MB_DRAIN_TIMEOUT_S"), std::string::npos) << serve.log();
    }
}

TEST(LifecycleE2E, AnUnusableDataDirectoryIsAClearStartupError) {
    TempDir dir;
    std::ofstream(dir.path() / "not-a-directory") << "x";
    Json config = base_config(dir.path());
    config["storage"]["sqlite_path"] = (dir.path() / "not-a-directory" / "data" / "meterbridge.db").string();
    ChildProcess serve({meterbridge_binary(), "serve", "--config", write_config(dir.path(), config).string()}, kEnv,
                       dir.path() / "serve.log");
    EXPECT_EQ(serve.wait(20s), 1);
    const std::string log = serve.log();
    EXPECT_NE(log.find("cannot create the database directory"), std::string::npos) << log;
    EXPECT_NE(log.find("storage.sqlite_path"), std::string::npos) << log;
    EXPECT_NE(log.find("Not a directory"), std::string::npos) << log;
}

TEST(LifecycleE2E, HealthcheckAsksTheConfiguredListener) {
    TempDir dir;
    Json config = base_config(dir.path());
    config["listen"]["port"] = free_port();
    const auto path = write_config(dir.path(), config);
    const auto healthcheck = [&](const char* log_name) {
        ChildProcess check({meterbridge_binary(), "healthcheck", "--config", path.string()}, kEnv, dir.path() / log_name);
        return check.wait(20s);
    };
    EXPECT_EQ(healthcheck("before.log"), 1);  // nothing listens yet

    ChildProcess serve({meterbridge_binary(), "serve", "--config", path.string()}, kEnv, dir.path() / "serve.log");
    ASSERT_TRUE(serve.wait_for_line(" listening on 127.0.0.1:", 20s)) << serve.log();
    EXPECT_EQ(healthcheck("during.log"), 0);
    EXPECT_EQ(serve.stop(SIGTERM), 0);
    EXPECT_EQ(healthcheck("after.log"), 1);
}

TEST(LifecycleE2E, UnderSystemdEachLineCarriesItsJournalPriority) {
    TempDir dir;
    const auto log_path = dir.path() / "journal.log";
    std::ofstream(log_path).flush();  // the "journal stream" stderr is connected to
    struct stat info {};
    ASSERT_EQ(::stat(log_path.c_str(), &info), 0);
    auto env = kEnv;
    env["JOURNAL_STREAM"] = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
    ChildProcess serve({meterbridge_binary(), "serve", "--config",
                        write_config(dir.path(), base_config(dir.path())).string()},
                       env, log_path);
    ASSERT_TRUE(serve.wait_for_line(" listening on 127.0.0.1:", 20s)) << serve.log();
    ::kill(serve.pid(), SIGHUP);
    ASSERT_TRUE(DaemonProcess::eventually([&] { return serve.log().find("received SIGHUP") != std::string::npos; }));
    EXPECT_EQ(serve.stop(SIGTERM), 0);
    const std::string log = serve.log();
    EXPECT_NE(log.find("<6>info meterbridge "), std::string::npos) << log;
    EXPECT_NE(log.find("<4>warning received SIGHUP"), std::string::npos) << log;
    EXPECT_EQ(log.find("\n2026-"), std::string::npos) << "no timestamp: the journal stamps lines itself";
}

}  // namespace
}  // namespace meterbridge::testing

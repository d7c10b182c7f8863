// Fault campaign (issue 5 part 2): the crash campaign's drive while Azure
// misbehaves in every way the sandbox can (429 storms with Retry-After, 500,
// 503, connection resets, slow answers below and beyond the request timeout,
// accepted-then-dropped answers, failing and expired tokens, a gateway's 502
// after Azure recorded the batch, whole batches refused with 400 because of
// one event); and a full disk under the daemon's database.
//
//   MB_CHAOS_SEED=<n>      replay a run (the seed is printed)
//   MB_CHAOS_FAULT_S=<n>   seconds of faults (default 25)
#include "chaos_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <sys/resource.h>
#include <thread>

namespace meterbridge::chaos {
namespace {

std::uint64_t default_seed() {
    return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) % 1000000;
}

// Posts until acknowledged (m3ter retries); fails the test on anything but 2xx.
void post_acknowledged(DaemonProcess& daemon, BillDriver& driver, const BillPost& post) {
    const HttpAnswer answer = daemon.post_bill(post.body);
    if (answer.status == 202 || answer.status == 200) {
        driver.acknowledged(post);
        return;
    }
    ADD_FAILURE() << post.bill_id << " v" << post.version << ": HTTP " << answer.status << " " << answer.body;
}

TEST(FaultCampaign, AzureFaultsLoseNothingAndDoubleNothing) {
    const std::uint64_t seed = seed_from_env(default_seed());
    const int seconds = int_from_env("MB_CHAOS_FAULT_S", 25);
    std::printf("fault campaign: MB_CHAOS_SEED=%llu MB_CHAOS_FAULT_S=%d\n", static_cast<unsigned long long>(seed),
                seconds);
    std::fflush(stdout);

    // Tokens live 5 minutes: the daemon refreshes them at half-life, and a
    // sandbox clock run ahead by 10 minutes makes the cached one expired.
    ChaosRigOptions setup;
    setup.sandbox_args = {"--token-lifetime-s", "300"};
    ChaosRig rig(setup);
    ASSERT_NO_FATAL_FAILURE(rig.start());
    SandboxProcess& sandbox = rig.sandbox;
    DaemonProcess& daemon = rig.daemon;
    CampaignClock& clock = rig.clock;

    Dice uniform(seed);
    BillDriver driver(seed);
    std::map<std::string, int> injected;
    int queued_calls = 0;  // calls the queued faults cover (a storm covers several)
    const auto queue = [&](const std::string& json, int calls) {
        queued_calls += calls;
        return sandbox.fault(json);
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        // One round: a fault or two, a new hour (so a batch goes out into
        // them), then a second or two of deliveries.
        for (int n = uniform(0, 3) == 0 ? 2 : 1; n > 0; --n) {
            switch (uniform(0, 10)) {
                case 0:
                {
                    const int calls = uniform(3, 6);
                    ASSERT_TRUE(queue(R"({"kind":"status","status":429,"retry_after_s":1,"count":)" +
                                          std::to_string(calls) + "}",
                                      calls));
                }
                    ++injected["429 storm"];
                    break;
                case 1:
                    ASSERT_TRUE(queue(R"({"kind":"status","status":500,"count":1})", 1));
                    ++injected["500"];
                    break;
                case 2:
                    ASSERT_TRUE(queue(R"({"kind":"status","status":503,"retry_after_s":1,"count":1})", 1));
                    ++injected["503"];
                    break;
                case 3:
                    ASSERT_TRUE(queue(R"({"kind":"reset","count":1})", 1));
                    ++injected["reset"];
                    break;
                case 4:  // slow, within the 2 s request timeout
                    ASSERT_TRUE(queue(R"({"kind":"delay_ms","delay_ms":)" + std::to_string(uniform(300, 1500)) + "}", 1));
                    ++injected["slow answer"];
                    break;
                case 5:  // slower than the request timeout: recorded, outcome unknown to the daemon
                    ASSERT_TRUE(queue(R"({"kind":"delay_ms","delay_ms":)" + std::to_string(uniform(2500, 3500)) + "}", 1));
                    ++injected["answer after timeout"];
                    break;
                case 6:
                    ASSERT_TRUE(queue(R"({"kind":"drop_response"})", 1));
                    ++injected["drop_response"];
                    break;
                case 7:  // the token endpoint fails
                    ASSERT_TRUE(queue(R"({"kind":"status","status":503,"path":"/tenant-chaos/"})", 1));
                    ++injected["token 503"];
                    break;
                case 8:  // the daemon's cached token is expired in Azure's eyes: 403, then a refresh
                    sandbox.set_clock(daemon.now() + std::chrono::minutes(10));
                    ++injected["expired token"];
                    break;
                case 9:  // Azure records the batch, a gateway answers 502 (issue 14)
                    ASSERT_TRUE(queue(R"({"kind":"processed_then_status","status":502,"count":1})", 1));
                    ++injected["processed then 502"];
                    break;
                case 10: {  // batches holding one account's events are refused whole (issue 14)
                    const std::vector<std::string> accounts = {"acc-b1", "acc-b2", "acc-p1", "acc-p2"};
                    const int calls = uniform(1, 4);
                    ASSERT_TRUE(queue(R"({"kind":"reject_batch_with","resource_id":")" +
                                          chaos_resource(accounts[static_cast<std::size_t>(uniform(0, 3))]) +
                                          R"(","status":400,"count":)" + std::to_string(calls) + "}",
                                      calls));
                    ++injected["batch 400"];
                    break;
                }
            }
        }
        // Every round a new hour (while the window allows): a batch goes out into the faults.
        if (clock.jumps() < 14) clock.jump();
        const auto round_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(uniform(1000, 2500));
        while (std::chrono::steady_clock::now() < round_end) {
            post_acknowledged(daemon, driver, driver.next());
            std::this_thread::sleep_for(std::chrono::milliseconds(uniform(10, 120)));
        }
        // The skew above lasts one round: both clocks agree again.
        clock.jump(std::chrono::minutes(0));
    }

    const std::int64_t left_over = sandbox.stats().value("queued_faults", 0);
    sandbox.clear_faults();
    // The refused events' cause is gone: ops retry them.
    const int retried = retry_rejected(daemon);
    ASSERT_TRUE(drain(daemon, clock, std::chrono::seconds(40), 6))
        << "not drained: " << daemon.get("/events?status=sending").body << daemon.log();
    const CheckFigures figures = check_ledger(daemon, sandbox, driver);
    const Json stats = sandbox.stats();
    std::string faults;
    int total = 0;
    for (const auto& [kind, count] : injected) {
        faults += " " + kind + "=" + std::to_string(count);
        total += count;
    }
    std::printf("fault campaign: seed %llu: %d faults queued (%s) covering %d calls, %lld of them hit "
                "(the rest cleared before the drain), %d posts acknowledged, %d clock hours, "
                "%lld token requests, %lld API requests, %zu Azure events, %d rejected events retried, "
                "%lld units accepted = %lld target + %lld over-reported\n",
                static_cast<unsigned long long>(seed), total, faults.c_str(), queued_calls,
                static_cast<long long>(queued_calls - left_over), driver.posts_acknowledged(),
                clock.jumps(), static_cast<long long>(stats.value("token_requests", 0)),
                static_cast<long long>(stats.value("api_requests", 0)), figures.azure_events, retried,
                static_cast<long long>(figures.units_accepted), static_cast<long long>(figures.units_target),
                static_cast<long long>(figures.units_over_reported));
    if (HasFailure()) std::printf("replay with MB_CHAOS_SEED=%llu\n", static_cast<unsigned long long>(seed));
}

// A full disk under the database. Mounting a small filesystem needs
// privileges CI may not have, and chmod does not stop root; so the daemon's
// RLIMIT_FSIZE is lowered to 1 byte while it runs (prlimit(2) on our own child
// needs no privilege): every write to the database, its WAL or its journal then
// fails with EFBIG, as a full disk fails with ENOSPC. SIGXFSZ, which would kill
// the daemon instead, is ignored in the child (inherited from this process).
TEST(FaultCampaign, DiskFullAnswers503AndNothingAcknowledgedIsLost) {
    const std::uint64_t seed = seed_from_env(default_seed());
    std::printf("disk full: MB_CHAOS_SEED=%llu\n", static_cast<unsigned long long>(seed));
    ::signal(SIGXFSZ, SIG_IGN);

    ChaosRig rig;
    ASSERT_NO_FATAL_FAILURE(rig.start());
    DaemonProcess& daemon = rig.daemon;
    BillDriver driver(seed);

    for (int n = 0; n < 8; ++n) post_acknowledged(daemon, driver, driver.next());
    ASSERT_EQ(daemon.request("GET", "/readyz", {}, {}, false).status, 200);

    const auto set_file_limit = [&](rlim_t soft) {
        rlimit current{};
        ASSERT_EQ(::prlimit(daemon.pid(), RLIMIT_FSIZE, nullptr, &current), 0);
        current.rlim_cur = soft;  // the hard limit stays: raising it back needs no privilege
        ASSERT_EQ(::prlimit(daemon.pid(), RLIMIT_FSIZE, &current, nullptr), 0);
    };
    set_file_limit(1);
    ASSERT_FALSE(HasFatalFailure());

    // The disk is full: deliveries are refused with 503 (m3ter retries), never 2xx.
    std::vector<BillPost> refused;
    for (int n = 0; n < 6; ++n) {
        BillPost post = driver.next();
        for (const auto& earlier : refused) {
            if (earlier.bill_id == post.bill_id) post = earlier;  // m3ter retries the same delivery
        }
        for (int attempt = 0; attempt < 3; ++attempt) {
            const HttpAnswer answer = daemon.post_bill(post.body);
            EXPECT_EQ(answer.status, 503) << post.bill_id << " v" << post.version << " acknowledged on a full disk: "
                                          << answer.body;
        }
        if (std::none_of(refused.begin(), refused.end(), [&](const BillPost& p) { return p.bill_id == post.bill_id; })) {
            refused.push_back(post);
        }
    }
    const HttpAnswer ready = daemon.request("GET", "/readyz", {}, {}, false);
    EXPECT_EQ(ready.status, 503) << ready.body;
    EXPECT_NE(ready.body.find("storage"), std::string::npos) << ready.body;
    EXPECT_EQ(daemon.request("GET", "/healthz", {}, {}, false).status, 200);  // alive, only not ready
    rig.clock.jump();  // the scheduler tries to send and to record: it must survive the failed writes
    std::this_thread::sleep_for(std::chrono::seconds(2));

    // Space returns: the same daemon recovers without a restart.
    set_file_limit(RLIM_INFINITY);
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_TRUE(DaemonProcess::eventually(
        [&] { return daemon.request("GET", "/readyz", {}, {}, false).status == 200; }, std::chrono::seconds(10)))
        << daemon.log();
    for (const BillPost& post : refused) post_acknowledged(daemon, driver, post);
    for (int n = 0; n < 8; ++n) post_acknowledged(daemon, driver, driver.next());

    ASSERT_TRUE(drain(daemon, rig.clock, std::chrono::seconds(30), 4)) << daemon.log();
    const CheckFigures figures = check_ledger(daemon, rig.sandbox, driver);
    std::printf("disk full: %zu deliveries refused with 503 while full, %d acknowledged in all, %lld units checked\n",
                refused.size() * 3, driver.posts_acknowledged(), static_cast<long long>(figures.units_accepted));
}

}  // namespace
}  // namespace meterbridge::chaos

// Crash campaign (issue 5 part 1): the daemon is SIGKILLed at random moments
// while a driver posts bills and recalculations, restarted on the same
// database, and finally drained. Azure is a standalone sandbox process with a
// state file, so its record survives every kill. Around some kills Azure
// answers late, answers 502 after recording the batch, or refuses a whole
// batch because of one event (issue 14).
//
//   MB_CHAOS_SEED=<n>   replay a run (the seed is printed)
//   MB_CHAOS_KILLS=<n>  number of kills (default 50)
#include "chaos_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>

namespace meterbridge::chaos {
namespace {

TEST(CrashCampaign, SigkillsAtRandomMomentsLoseNothingAndDoubleNothing) {
    const std::uint64_t seed =
        seed_from_env(static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) % 1000000);
    const int kills = int_from_env("MB_CHAOS_KILLS", 50);
    std::printf("crash campaign: MB_CHAOS_SEED=%llu MB_CHAOS_KILLS=%d\n", static_cast<unsigned long long>(seed), kills);
    std::fflush(stdout);
    const auto started = std::chrono::steady_clock::now();

    Dice uniform(seed);
    BillDriver driver(seed);
    ChaosRig rig;
    ASSERT_NO_FATAL_FAILURE(rig.start());
    SandboxProcess& sandbox = rig.sandbox;
    DaemonProcess& daemon = rig.daemon;
    CampaignClock& clock = rig.clock;

    std::optional<BillPost> unanswered;  // a post the kill interrupted: m3ter would retry it
    int interrupted = 0, delay_faults = 0, gateway_faults = 0, refusal_faults = 0, posts = 0;
    constexpr int kMaxJumps = 12;  // stays well inside Azure's 24-hour window

    for (int kill = 0; kill < kills; ++kill) {
        if (kill > 0) {
            daemon.start();
            ASSERT_FALSE(HasFatalFailure()) << "restart " << kill;
        }
        int kill_after_ms = uniform(20, 1200);
        if (clock.jumps() < kMaxJumps && uniform(0, 99) < 30) {
            // A new hour frees every key's slot: a batch goes out at once. Half
            // the time Azure records it but answers late, and the kill lands
            // between `sending` and the answer.
            switch (uniform(0, 3)) {
                case 0:
                    ASSERT_TRUE(sandbox.fault(R"({"kind":"delay_ms","delay_ms":)" +
                                              std::to_string(uniform(1500, 3000)) + "}"));
                    ++delay_faults;
                    kill_after_ms = uniform(300, 1500);
                    break;
                case 1:  // recorded, then a gateway's 502: the events may be held
                    ASSERT_TRUE(sandbox.fault(R"({"kind":"processed_then_status","status":502,"count":2})"));
                    ++gateway_faults;
                    break;
                case 2: {  // a whole batch refused because of one account's events
                    const std::vector<std::string> accounts = {"acc-b1", "acc-b2", "acc-p1", "acc-p2"};
                    ASSERT_TRUE(sandbox.fault(R"({"kind":"reject_batch_with","resource_id":")" +
                                              chaos_resource(accounts[static_cast<std::size_t>(uniform(0, 3))]) +
                                              R"(","status":400,"count":3})"));
                    ++refusal_faults;
                    break;
                }
                default: break;
            }
            clock.jump();
        }
        std::atomic<bool> killed{false};
        std::optional<int> exit_status;
        std::thread killer([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
            exit_status = daemon.stop(SIGKILL);
            killed = true;
        });
        while (!killed) {
            const BillPost post = unanswered ? *unanswered : driver.next();
            const HttpAnswer answer = daemon.post_bill(post.body);
            ++posts;
            if (answer.status == 202 || answer.status == 200) {
                driver.acknowledged(post);
                unanswered.reset();
            } else if (answer.status == 0) {
                // No answer: stored or not, m3ter would deliver it again.
                if (!unanswered) ++interrupted;
                unanswered = post;
                while (!killed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
            } else {
                ADD_FAILURE() << post.bill_id << " v" << post.version << ": HTTP " << answer.status << " "
                              << answer.body;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(uniform(5, 80)));
        }
        killer.join();
        // 137 = killed by us; anything else means it died on its own first.
        ASSERT_EQ(exit_status, 128 + SIGKILL) << "kill " << kill << ": the daemon was not running\n" << daemon.log();
    }

    // Drain: no faults, one last start, every interrupted delivery re-posted.
    sandbox.clear_faults();
    daemon.start();
    ASSERT_FALSE(HasFatalFailure());
    if (unanswered) {
        const HttpAnswer answer = daemon.post_bill(unanswered->body);
        ASSERT_TRUE(answer.status == 202 || answer.status == 200) << answer.status << " " << answer.body;
        driver.acknowledged(*unanswered);
    }
    const int retried = retry_rejected(daemon);  // the refusals' cause is gone
    ASSERT_TRUE(drain(daemon, clock, std::chrono::seconds(40), 6))
        << "not drained: " << daemon.get("/events?status=sending").body << daemon.log();

    const CheckFigures figures = check_ledger(daemon, sandbox, driver);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    std::printf("crash campaign: seed %llu: %d kills survived (%d during a delayed Azure answer; %d gateway 502 "
                "and %d batch-400 faults, %d rejected events retried), %d posts, "
                "%d acknowledged, %d interrupted and re-posted, %d clock hours, %zu bills, %zu versions checked, "
                "%zu Azure events, %lld units accepted = %lld target + %lld over-reported, %lld s\n",
                static_cast<unsigned long long>(seed), kills, delay_faults, gateway_faults, refusal_faults, retried, posts,
                driver.posts_acknowledged(),
                interrupted, clock.jumps(), figures.bills, figures.versions_checked, figures.azure_events,
                static_cast<long long>(figures.units_accepted), static_cast<long long>(figures.units_target),
                static_cast<long long>(figures.units_over_reported), static_cast<long long>(seconds.count()));
    EXPECT_GT(figures.units_accepted, 0);
    if (HasFailure()) std::printf("replay with MB_CHAOS_SEED=%llu\n", static_cast<unsigned long long>(seed));
}

}  // namespace
}  // namespace meterbridge::chaos

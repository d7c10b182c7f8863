#pragma once
// Shared parts of the reliability campaigns (issue 5): a standalone Azure
// sandbox process that outlives the daemon, a chaos config, a driver that
// invents a stream of bills and recalculations and computes, on its own, the
// units each acknowledged version implies; and the checks run after a drain.
//
// The campaigns run on a test-controlled clock shared by the daemon
// (`PUT /testing/clock`) and the sandbox (`PUT /_sandbox/clock`). It starts at
// the real time and jumps an hour now and then: Azure takes one event per
// (resource, dimension, hour), so in real time each key could be sent only
// once per hour and a recalculation would wait for the next real hour.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "daemon_fixture.hpp"

namespace meterbridge::chaos {

using testing::ChildProcess;
using testing::DaemonProcess;
using testing::HttpAnswer;
using testing::TempDir;

// MB_CHAOS_SEED (decimal), else `fallback`; printed by the caller.
std::uint64_t seed_from_env(std::uint64_t fallback);
// A positive integer from the environment, else `fallback`.
int int_from_env(const char* name, int fallback);

// `meterbridge sandbox` as its own process with a state file, so that Azure's
// record survives every kill of the daemon.
class SandboxProcess {
public:
    SandboxProcess(const std::filesystem::path& dir, std::vector<std::string> extra_args = {});
    const std::string& url() const { return url_; }
    std::string log() const { return process_->log(); }

    HttpAnswer request(const std::string& method, const std::string& path, const std::string& body = {});
    // Queues a fault (a JSON object of docs/sandbox.md); false if refused.
    bool fault(const std::string& json);
    void clear_faults();
    void set_clock(Instant now);
    std::vector<Json> events();
    std::vector<std::string> issued_tokens();
    Json stats();

private:
    std::unique_ptr<ChildProcess> process_;
    std::string url_;
    net::HttpClient http_;
};

// The Azure resource (a GUID) an Account mapping gives each chaos account.
std::string chaos_resource(const std::string& account);

// Live mode against `azure_url` (a standalone sandbox), eager scheduling with
// a 1 s tick, clock control, and two integrations whose resource comes from
// an Account mapping (chaos_resource): per-bill (acc-b1, acc-b2 -> dimension
// bill_total) and per-product (acc-p1, acc-p2 -> compute, storage). Six
// (resource, dimension) keys.
Json chaos_config(const std::filesystem::path& dir, const std::string& azure_url, const std::string& client_secret_ref);

// One webhook the driver wants acknowledged.
struct BillPost {
    std::string bill_id;
    int version = 0;
    bool deletion = false;
    std::string body;
    std::map<std::string, std::int64_t> units;  // dimension -> units this version implies
};

// Invents bills (3 per account) and their next versions from a seed, and keeps
// what was acknowledged: the expected targets are computed here, from the
// amounts posted, not read back from the daemon.
class BillDriver {
public:
    explicit BillDriver(std::uint64_t seed, int bills_per_account = 3);

    // The next post: the next version of a random bill (amounts up or down),
    // now and then a deletion. Deterministic for a seed, given the same
    // sequence of acknowledgements.
    BillPost next();
    void acknowledged(const BillPost& post);

    struct BillExpectation {
        std::string account;
        std::string resource;  // = chaos_resource(account)
        int version = 0;       // last acknowledged, 0 = none yet
        bool deleted = false;
        std::map<std::string, std::int64_t> units;       // dimension -> target
        std::set<std::pair<int, bool>> acknowledged;     // (version, deletion) answered 2xx
    };
    const std::map<std::string, BillExpectation>& bills() const { return bills_; }
    // "resource/dimension" -> sum of targets over bills.
    std::map<std::string, std::int64_t> expected_targets() const;
    int posts_acknowledged() const { return acknowledged_; }

private:
    std::mt19937_64 random_;
    std::map<std::string, BillExpectation> bills_;
    std::vector<std::string> ids_;
    int acknowledged_ = 0;
    int deleted_ = 0;
};

// The metrics the drain watches.
struct QueueFigures {
    std::int64_t pending_units = -1;
    std::int64_t unprocessed = -1;
    std::int64_t planned = -1;
    std::int64_t sending = -1;
    std::int64_t unresolved = -1;
    bool quiet() const { return pending_units == 0 && unprocessed == 0 && planned == 0 && sending == 0; }
};
QueueFigures queue_figures(DaemonProcess& daemon);

// Ops retry every rejected event (POST /events/{id}/retry), as after fixing
// what Azure refused; returns how many. For campaigns that inject refusals.
int retry_rejected(DaemonProcess& daemon);

// What the checks counted, for the report and docs/reliability.md.
struct CheckFigures {
    std::int64_t units_accepted = 0;  // by the sandbox, over all keys
    std::int64_t units_target = 0;
    std::int64_t units_over_reported = 0;
    std::size_t azure_events = 0;
    std::size_t bills = 0;
    std::size_t versions_checked = 0;
};

// The clock both sides read; jumps whole hours.
class CampaignClock {
public:
    CampaignClock(DaemonProcess& daemon, SandboxProcess& sandbox) : daemon_(daemon), sandbox_(sandbox) {}
    // Both clocks to the daemon fixture's now() + `by` (sandbox first, so that
    // the daemon never slots an hour the sandbox thinks is in the future).
    void jump(std::chrono::minutes by = std::chrono::minutes(60));
    int jumps() const { return jumps_; }  // whole hours jumped (zero jumps not counted)

private:
    DaemonProcess& daemon_;
    SandboxProcess& sandbox_;
    int jumps_ = 0;
};

// A campaign's random choices: uniform integers in [low, high] from a seeded
// generator, so that MB_CHAOS_SEED replays a run.
class Dice {
public:
    explicit Dice(std::uint64_t seed) : random_(seed) {}
    int operator()(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }

private:
    std::mt19937_64 random_;
};

// The set-up every campaign starts from: a standalone sandbox process and a
// daemon on chaos_config (its Azure client secret read from
// MB_CHAOS_AZURE_SECRET), both in `dir`, and one CampaignClock for both. Use:
//   ChaosRig rig;
//   ASSERT_NO_FATAL_FAILURE(rig.start());
struct ChaosRigOptions {
    std::vector<std::string> sandbox_args;             // e.g. {"--token-lifetime-s", "300"}
    std::string azure_secret = "chaos-azure-secret";   // put in MB_CHAOS_AZURE_SECRET
    std::function<void(Json&)> adjust_config;          // applied to chaos_config before the daemon sees it
};
struct ChaosRig {
    explicit ChaosRig(const ChaosRigOptions& options = {});
    // Starts the daemon once the sandbox is up and sets both clocks to the
    // daemon fixture's now(); fails the test (fatally) otherwise.
    void start();

    TempDir dir;
    SandboxProcess sandbox;
    DaemonProcess daemon;
    CampaignClock clock;
};

// Waits until nothing is pending, unprocessed, planned or sending (jumping the
// clock an hour when units wait for a free slot or a backoff); false on timeout.
bool drain(DaemonProcess& daemon, CampaignClock& clock, std::chrono::seconds timeout, int max_jumps);

// The three promises, as gtest expectations:
// 1. per (resource, dimension): units Azure accepted == sum of the daemon's
//    `accepted` == sum of targets computed by the driver + sum of `overReported`,
//    and nothing pending, planned, in flight or rejected;
// 2. no (resource, dimension, hour) accepted twice;
// 3. every acknowledged (bill, version) is in the database.
CheckFigures check_ledger(DaemonProcess& daemon, SandboxProcess& sandbox, const BillDriver& driver);

// "12.34" for 1234.
std::string cents_text(std::int64_t cents);

}  // namespace meterbridge::chaos

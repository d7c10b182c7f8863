// The scheduler with several batches in flight (issue 17): a randomized run
// of the real Scheduler over a SQLite file, sending to the sandbox's Azure
// rules (SandboxCore, in process) through a network that holds every
// metering call until a driver thread lets it through, in random order and
// with a random fate: answered, never delivered, delivered with the answer
// lost, delivered behind a 502, or throttled. Bills keep arriving in new
// versions (up and down), the clock jumps across hours, and the daemon is
// restarted at random with calls outstanding (their answers lost, as a kill
// loses them; real kills are tests/chaos/crash_campaign_test.cpp's).
// Checked: no two calls in flight ever carry the same (resource, dimension,
// hour); after a final drain nothing is left to send, every key's units are
// conserved, and Azure holds exactly what the store says it accepted.
#include "pipeline/scheduler.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/sandbox/sandbox_core.hpp"
#include "meterbridge/store/store.hpp"
#include "support/azure_test_support.hpp"
#include "support/bill_delivery.hpp"
#include "support/store_test_support.hpp"

namespace meterbridge::app {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAzure = "http://127.0.0.1:9";

// Every metering call waits here until release_one() picks it.
class HeldNetwork final : public net::HttpTransport {
public:
    enum class Fate { Answer, NotSent, AnswerLost, Gateway502, Throttle, AnswerLostOrNotSent };

    HeldNetwork(sandbox::SandboxCore& azure, const Clock& clock) : azure_(azure), clock_(clock) {}

    Result<net::HttpExchangeResult> send(const net::HttpRequestSpec& spec) override {
        net::HttpRequest request = to_request(spec);
        if (!request.path.starts_with("/api/")) return answer(request);  // tokens pass at once
        Call call;
        call.request = std::move(request);
        call.slots = slots_of(call.request.body);
        std::unique_lock lock(mutex_);
        for (const Call* other : held_) {
            for (const auto& slot : call.slots) {
                if (other->slots.contains(slot)) ++overlaps_;
            }
        }
        held_.push_back(&call);
        max_held_ = std::max(max_held_, held_.size());
        arrived_.notify_all();
        released_.wait(lock, [&] { return call.result.has_value(); });
        return std::move(*call.result);
    }

    // Lets one held call through (waiting up to `patience` for one to
    // arrive, and a moment for others to pile up). False if none came.
    bool release_one(std::mt19937_64& rng, bool faults) {
        std::unique_lock lock(mutex_);
        if (!arrived_.wait_for(lock, 50ms, [&] { return !held_.empty(); })) return false;
        arrived_.wait_for(lock, 2ms, [&] { return held_.size() >= 8; });
        const std::size_t pick = rng() % held_.size();
        Call* call = held_[pick];
        held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(pick));
        Fate fate = Fate::Answer;
        if (losing_) {
            fate = Fate::AnswerLostOrNotSent;
        } else if (faults) {
            const auto roll = rng() % 100;
            fate = roll < 70 ? Fate::Answer
                 : roll < 78 ? Fate::NotSent
                 : roll < 86 ? Fate::AnswerLost
                 : roll < 93 ? Fate::Gateway502
                             : Fate::Throttle;
        }
        if (fate == Fate::AnswerLostOrNotSent) fate = rng() % 2 ? Fate::AnswerLost : Fate::NotSent;
        call->result = decide(*call, fate);
        released_.notify_all();
        return true;
    }

    // From now on every call is lost (processed by Azure or not): a kill.
    void lose_everything(bool losing) {
        std::lock_guard lock(mutex_);
        losing_ = losing;
    }
    int overlaps() const {
        std::lock_guard lock(mutex_);
        return overlaps_;
    }
    std::size_t max_held() const {
        std::lock_guard lock(mutex_);
        return max_held_;
    }

private:
    struct Call {
        net::HttpRequest request;
        std::set<std::string> slots;  // resource|dimension|hour
        std::optional<Result<net::HttpExchangeResult>> result;
    };

    Result<net::HttpExchangeResult> decide(const Call& call, Fate fate) {
        switch (fate) {
            case Fate::Answer: return answer(call.request);
            case Fate::NotSent: return make_error(std::string(net::kNotSent), "connection refused");
            case Fate::AnswerLost:
                (void)answer(call.request);  // Azure records the batch; the answer never arrives
                return make_error(std::string(net::kOutcomeUnknown), "connection reset");
            case Fate::Gateway502:
                (void)answer(call.request);
                return net::HttpExchangeResult{502, {}, "<html>502 Bad Gateway</html>", false};
            case Fate::Throttle: {
                net::Headers headers;
                headers.set("Retry-After", "60");
                return net::HttpExchangeResult{429, headers, R"({"code":"TooManyRequests"})", false};
            }
            case Fate::AnswerLostOrNotSent: break;
        }
        return make_error(std::string(net::kNotSent), "unreachable");
    }

    Result<net::HttpExchangeResult> answer(const net::HttpRequest& request) {
        net::HttpResponse response = azure_.handle(request, clock_.now());
        return net::HttpExchangeResult{response.status, response.headers, response.body, false};
    }

    static net::HttpRequest to_request(const net::HttpRequestSpec& spec) {
        net::HttpRequest request;
        request.method = spec.method;
        request.target = spec.url.substr(std::string_view(kAzure).size());
        const auto query = request.target.find('?');
        request.path = request.target.substr(0, query);
        if (query != std::string::npos) {
            std::string_view rest = std::string_view(request.target).substr(query + 1);
            while (!rest.empty()) {
                const auto amp = rest.find('&');
                const std::string_view pair = rest.substr(0, amp);
                const auto eq = pair.find('=');
                request.query.emplace_back(std::string(pair.substr(0, eq)),
                                           eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
                rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
            }
        }
        request.headers = spec.headers;
        request.body = spec.body;
        request.remote_address = "127.0.0.1";
        return request;
    }

    static std::set<std::string> slots_of(const std::string& body) {
        std::set<std::string> slots;
        const auto json = nlohmann::json::parse(body);
        for (const auto& event : json.at("request")) {
            slots.insert(event.at("resourceId").get<std::string>() + "|" + event.at("dimension").get<std::string>() +
                         "|" + event.at("effectiveStartTime").get<std::string>().substr(0, 13));
        }
        return slots;
    }

    sandbox::SandboxCore& azure_;
    const Clock& clock_;
    mutable std::mutex mutex_;
    std::condition_variable arrived_;
    std::condition_variable released_;
    std::vector<Call*> held_;
    bool losing_ = false;
    int overlaps_ = 0;
    std::size_t max_held_ = 0;
};

constexpr int kAccounts = 40;
constexpr int kProducts = 3;

std::string resource_of(int account) {
    char text[40];
    std::snprintf(text, sizeof text, "5ab1e000-0000-4000-8000-%012d", account);
    return text;
}

class SchedulerConcurrency : public ::testing::TestWithParam<std::uint64_t> {
protected:
    SchedulerConcurrency() : rng_(GetParam()), clock_(testing::at("2026-01-01T10:05:00Z")) {
        spdlog::set_level(spdlog::level::err);  // a line per bill and per failed call otherwise
        azure_ = sandbox::SandboxCore::create({}).value();
        network_ = std::make_unique<HeldNetwork>(*azure_, clock_);
        config_.policy = SchedulerPolicy::Eager;
        config_.max_batches_in_flight = 8;
        config_.events_per_batch = 4;  // a step's few dozen events make several batches (testing.events_per_batch)
        IntegrationConfig integration;
        integration.id = "int-1";
        integration.name = "Azure";
        integration.plan_id = "gold";
        integration.split_usage_line_items = SplitMode::ItemPerProduct;
        rules_.integrations.push_back(integration);
        for (int a = 0; a < kAccounts; ++a) {
            ExternalMapping account;
            account.id = "acc-map-" + std::to_string(a);
            account.m3ter_entity = MappingEntity::Account;
            account.m3ter_id = "acc-" + std::to_string(a);
            account.external_table = ExternalTable::Subscription;
            account.external_id = resource_of(a);
            rules_.external_mappings.push_back(account);
        }
        for (int p = 0; p < kProducts; ++p) {
            ExternalMapping product;
            product.id = "prod-map-" + std::to_string(p);
            product.m3ter_entity = MappingEntity::Product;
            product.m3ter_id = "prod-" + std::to_string(p);
            product.external_table = ExternalTable::Dimension;
            product.external_id = "dim-" + std::to_string(p);
            rules_.external_mappings.push_back(product);
        }
        azure::TokenProviderOptions token;
        token.token_url = std::string(kAzure) + "/tenant-1/oauth2/v2.0/token";
        token.client_id = "client";
        token.client_secret = "secret";
        tokens_ = std::make_unique<azure::TokenProvider>(token, *network_, clock_);
        metering_.base_url = kAzure;
        metering_.max_attempts = 1;  // each call one attempt: every fate reaches the scheduler
        path_ = (dir_.path() / "concurrency.db").string();
        open();
    }

    ~SchedulerConcurrency() override {
        stop_driver();
        scheduler_.reset();
    }

    void open() {
        store_ = store::open_sqlite_store(path_);
        scheduler_ = std::make_unique<Scheduler>(
            Scheduler::Deps{rules_, config_, 400, *store_, clock_, *network_, *tokens_, nullptr, metering_, {}});
    }

    // Stops the scheduler with its calls outstanding and their answers lost,
    // then opens the store and a new scheduler on the same file.
    void restart() {
        network_->lose_everything(true);
        scheduler_.reset();
        store_.reset();
        network_->lose_everything(false);
        open();
        ++restarts_;
    }

    void start_driver(bool faults) {
        driver_running_ = true;
        const std::uint64_t seed = rng_();  // drawn here: rng_ belongs to the test's thread
        driver_ = std::thread([this, faults, seed] {
            std::mt19937_64 rng(seed);
            while (driver_running_) network_->release_one(rng, faults);
        });
    }
    void stop_driver() {
        driver_running_ = false;
        if (driver_.joinable()) driver_.join();
    }

    // A new version of one account's bill: each product's subtotal moves up
    // or down (or to nothing: the product leaves the bill).
    void new_version() {
        const int account = static_cast<int>(rng_() % kAccounts);
        const std::string bill = "bill-" + std::to_string(account);
        const int version = ++versions_[bill];
        std::string items;
        for (int p = 0; p < kProducts; ++p) {
            if (rng_() % 5 == 0) continue;
            const auto cents = 1 + rng_() % 5000;
            if (!items.empty()) items += ",";
            items += R"({"lineItemType":"USAGE","productId":"prod-)" + std::to_string(p) + R"(","subtotal":)" +
                     std::to_string(cents / 100) + "." + std::to_string(cents % 100 / 10) +
                     std::to_string(cents % 10) + "}";
        }
        const std::string text = R"({"id":")" + bill + R"(","version":)" + std::to_string(version) +
                                 R"(,"accountId":"acc-)" + std::to_string(account) +
                                 R"(","status":"APPROVED","currency":"USD","lineItems":[)" + items + "]}";
        const auto delivery = testing::bill_delivery_of(text, clock_.now());
        for (const auto& result : store_->record_deliveries(std::vector{delivery})) ASSERT_TRUE(result.ok());
    }

    void check_drained() {
        const testing::MemoryLedger sql = testing::read_ledger(path_);
        EXPECT_TRUE(sql.pending.empty());
        std::map<std::pair<std::string, std::string>, std::int64_t> ours, azure;
        std::set<SlotKey> accepted_slots;
        for (const auto& e : sql.events) {
            EXPECT_NE(e.state, EventState::Planned) << "event " << e.id;
            EXPECT_NE(e.state, EventState::Sending) << "event " << e.id;
            EXPECT_NE(e.state, EventState::Rejected) << "event " << e.id;
            if (e.state == EventState::Accepted) {
                EXPECT_TRUE(accepted_slots.insert(slot_of(e.request)).second) << "slot accepted twice";
            }
        }
        std::map<SlotKey, std::int64_t> at_azure;
        for (const auto& event : azure_->events()) {
            const std::int64_t units =
                event.quantity.divide_to_integer(Decimal::from_integer(1), Rounding::Down).value();
            at_azure[SlotKey{event.resource_id, event.dimension, floor_hour(event.effective_start_time)}] = units;
            azure[{event.resource_id, event.dimension}] += units;
        }
        for (const auto& e : sql.events) {
            // An unresolved event is at Azure if Azure holds its slot: an
            // earlier request may have recorded it, or none did.
            const auto held = at_azure.find(slot_of(e.request));
            const bool unresolved_at_azure = e.state == EventState::Unresolved && held != at_azure.end() &&
                                             held->second == e.request.quantity;
            if (e.state == EventState::Accepted || unresolved_at_azure) {
                ours[{e.request.resource_id, e.request.dimension}] += e.request.quantity;
            }
        }
        EXPECT_EQ(ours, azure);  // each unit at Azure once, and only what the store says it sent
        for (const auto& [key, row] : sql.targets) {
            const testing::Totals t = testing::totals_of(sql, key);
            // Nothing waits: every unit of the target is at Azure, and more
            // only where a later version lowered a target already sent.
            EXPECT_EQ(t.pending + t.planned + t.rejected, 0) << key.bill_id << " " << key.dimension;
            EXPECT_GE(t.accepted + t.in_flight, row.target) << key.bill_id << " " << key.dimension;
        }
    }

    std::mt19937_64 rng_;
    testing::ManualClock clock_;
    testing::TempDir dir_;
    std::string path_;
    std::unique_ptr<sandbox::SandboxCore> azure_;
    std::unique_ptr<HeldNetwork> network_;
    IntegrationRules rules_;
    SchedulerConfig config_;
    azure::MeteringClientOptions metering_;
    std::unique_ptr<azure::TokenProvider> tokens_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<Scheduler> scheduler_;
    std::map<std::string, int> versions_;
    std::atomic<bool> driver_running_{false};
    std::thread driver_;
    int restarts_ = 0;
};

TEST_P(SchedulerConcurrency, ConservesUnitsAndNeverHasOneSlotInTwoCallsInFlight) {
    start_driver(true);
    for (int step = 0; step < 45; ++step) {
        const int arrivals = static_cast<int>(rng_() % 12);
        for (int i = 0; i < arrivals; ++i) new_version();
        if (rng_() % 12 == 0) {
            // A restart in the middle of a tick: the calls it has out are lost.
            std::thread ticking([this] { scheduler_->tick(); });
            std::this_thread::sleep_for(1ms);
            network_->lose_everything(true);
            ticking.join();
            restart();
        } else {
            scheduler_->tick();
        }
        clock_.advance(std::chrono::minutes(rng_() % 50));
    }
    // The drain: every call answered, the clock moving on past each
    // Retry-After and into new hours until nothing is left to send.
    stop_driver();
    start_driver(false);
    for (int round = 0; round < 30; ++round) {
        clock_.advance(std::chrono::minutes(61));
        scheduler_->tick();
    }
    stop_driver();
    EXPECT_EQ(network_->overlaps(), 0);
    EXPECT_GE(network_->max_held(), 4u) << "the run never had several batches in flight";
    std::printf("seed %llu: %zu calls in flight at most, %d restarts\n", static_cast<unsigned long long>(GetParam()),
                network_->max_held(), restarts_);
    check_drained();
    RecordProperty("restarts", restarts_);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SchedulerConcurrency, ::testing::Values(1u, 2u, 3u));

}  // namespace
}  // namespace meterbridge::app

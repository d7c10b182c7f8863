#include "chaos_support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace meterbridge::chaos {

using testing::bill_json;
using testing::envelope;
using testing::Item;

std::uint64_t seed_from_env(std::uint64_t fallback) {
    const char* text = std::getenv("MB_CHAOS_SEED");
    if (text == nullptr || *text == '\0') return fallback;
    return std::strtoull(text, nullptr, 10);
}

int int_from_env(const char* name, int fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    const long value = std::strtol(text, nullptr, 10);
    return value > 0 ? static_cast<int>(value) : fallback;
}

// ---------------------------------------------------------------------------
// SandboxProcess

SandboxProcess::SandboxProcess(const std::filesystem::path& dir, std::vector<std::string> extra_args) {
    std::vector<std::string> argv{testing::meterbridge_binary(), "sandbox", "--listen", "127.0.0.1:0", "--state",
                                  (dir / "sandbox-state.json").string()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<ChildProcess>(std::move(argv), std::map<std::string, std::string>{},
                                              dir / "sandbox.log");
    const auto line = process_->wait_for_line("listening on ", std::chrono::seconds(20));
    if (line) url_ = line->substr(0, line->find(' '));
}

HttpAnswer SandboxProcess::request(const std::string& method, const std::string& path, const std::string& body) {
    net::HttpRequestSpec spec;
    spec.method = method;
    spec.url = url_ + path;
    if (!body.empty()) spec.headers.set("Content-Type", "application/json");
    spec.body = body;
    auto answer = http_.send(spec);
    if (!answer) return HttpAnswer{0, answer.error().message};
    return HttpAnswer{answer->status, answer->body};
}

bool SandboxProcess::fault(const std::string& json) { return request("POST", "/_sandbox/faults", json).status == 201; }

void SandboxProcess::clear_faults() { request("DELETE", "/_sandbox/faults"); }

void SandboxProcess::set_clock(Instant now) {
    const auto answer = request("PUT", "/_sandbox/clock", Json{{"now", format_iso8601(now, true)}}.dump());
    EXPECT_EQ(answer.status, 200) << answer.body;
}

std::vector<Json> SandboxProcess::events() {
    const Json page = request("GET", "/_sandbox/events").json();
    if (!page.is_object() || !page.contains("events")) return {};
    return std::vector<Json>(page["events"].begin(), page["events"].end());
}

std::vector<std::string> SandboxProcess::issued_tokens() {
    const Json page = request("GET", "/_sandbox/tokens").json();
    std::vector<std::string> tokens;
    if (page.is_object() && page.contains("tokens")) {
        for (const Json& token : page["tokens"]) tokens.push_back(token.get<std::string>());
    }
    return tokens;
}

Json SandboxProcess::stats() { return request("GET", "/_sandbox/stats").json(); }

// ---------------------------------------------------------------------------
// Config

std::string chaos_resource(const std::string& account) {
    // Hex stand-ins for the account names ("p" is not a hex digit).
    static const std::map<std::string, std::string> kResources = {
        {"acc-b1", "c4a05000-0000-4000-8000-0000000000b1"},
        {"acc-b2", "c4a05000-0000-4000-8000-0000000000b2"},
        {"acc-p1", "c4a05000-0000-4000-8000-0000000000d1"},
        {"acc-p2", "c4a05000-0000-4000-8000-0000000000d2"}};
    const auto found = kResources.find(account);
    if (found == kResources.end()) throw std::invalid_argument("no chaos resource for account " + account);
    return found->second;
}

Json chaos_config(const std::filesystem::path& dir, const std::string& azure_url, const std::string& client_secret_ref) {
    Json config = testing::base_config(dir);
    config["log"]["level"] = "info";
    config["azure"] = {{"mode", "live"},
                       {"metering_base_url", azure_url},
                       {"token_url", azure_url + "/{tenant_id}/oauth2/v2.0/token"},
                       {"tenant_id", "tenant-chaos"},
                       {"client_id", "client-chaos"},
                       {"client_secret", client_secret_ref},
                       // Short, so that a delayed answer can outlive it (outcome unknown).
                       {"request_timeout_s", 2}};
    config["integrations"] = Json::array({{{"id", "per-bill"},
                                           {"account_ids", {"acc-b1", "acc-b2"}},
                                           {"split_usage_line_items", "ITEM_PER_BILL"},
                                           {"marketplace_bill_dimension", "bill_total"},
                                           {"resource_id_from", "external_mapping"},
                                           {"plan_id", "standard"}},
                                          {{"id", "per-product"},
                                           {"account_ids", {"acc-p1", "acc-p2"}},
                                           {"split_usage_line_items", "ITEM_PER_PRODUCT"},
                                           {"resource_id_from", "external_mapping"},
                                           {"plan_id", "standard"}}});
    const auto mapping = [](const char* product, const char* dimension) {
        return Json{{"m3ter_entity", "Product"},
                    {"m3ter_id", product},
                    {"external_table", "Dimension"},
                    {"external_id", dimension}};
    };
    config["external_mappings"] =
        Json::array({mapping("prod-compute", "compute"), mapping("prod-storage", "storage")});
    for (const char* account : {"acc-b1", "acc-b2", "acc-p1", "acc-p2"}) {
        config["external_mappings"].push_back(Json{{"m3ter_entity", "Account"},
                                                   {"m3ter_id", account},
                                                   {"external_table", "Subscription"},
                                                   {"external_id", chaos_resource(account)}});
    }
    config["testing"]["clock_control"] = true;
    // Several batches in flight (issue 17): the campaign's few keys make one
    // event per batch, up to eight of them outstanding when a kill lands.
    config["scheduler"]["max_batches_in_flight"] = 8;
    config["testing"]["events_per_batch"] = 1;
    return config;
}

std::string cents_text(std::int64_t cents) {
    std::string fraction = std::to_string(cents % 100);
    if (fraction.size() < 2) fraction.insert(0, "0");
    return std::to_string(cents / 100) + "." + fraction;
}

// ---------------------------------------------------------------------------
// BillDriver

namespace {

const std::vector<std::string> kAccounts = {"acc-b1", "acc-b2", "acc-p1", "acc-p2"};

bool per_product(const std::string& account) { return account.starts_with("acc-p"); }

}  // namespace

BillDriver::BillDriver(std::uint64_t seed, int bills_per_account) : random_(seed) {
    for (const std::string& account : kAccounts) {
        for (int n = 0; n < bills_per_account; ++n) {
            const std::string id = "bill-" + account + "-" + std::to_string(n);
            BillExpectation& bill = bills_[id];
            bill.account = account;
            bill.resource = chaos_resource(account);
            ids_.push_back(id);
        }
    }
}

BillPost BillDriver::next() {
    std::uniform_int_distribution<std::size_t> pick(0, ids_.size() - 1);
    std::string id = ids_[pick(random_)];
    for (int tries = 0; bills_.at(id).deleted && tries < 100; ++tries) id = ids_[pick(random_)];
    const BillExpectation& bill = bills_.at(id);
    BillPost post;
    post.bill_id = id;
    if (bill.deleted) {  // every bill deleted: re-post the deletion (a repeat)
        post.version = bill.version;
        post.deletion = true;
    } else if (bill.version >= 3 && deleted_ < 2 && std::uniform_int_distribution<int>(0, 99)(random_) == 0) {
        // Rare, and at most two bills: a deleted bill takes no more versions.
        post.version = bill.version;
        post.deletion = true;
    }
    if (post.deletion) {
        // A deletion that names only the bill (SPEC §4): every target goes to zero.
        post.body = R"({"id":"evt-del-)" + id + R"(","eventName":"billing.bill.deleted","m3terEvent":{"eventData":{"id":")" +
                    id + R"("}}})";
        return post;
    }
    post.version = bill.version + 1;
    // Usage mostly grows; a quarter of the recalculations lower an amount (a
    // credit), which the daemon must record as over-reported when already sent.
    const auto next_cents = [&](std::int64_t previous) {
        if (previous > 0 && std::uniform_int_distribution<int>(0, 3)(random_) == 0) {
            return std::uniform_int_distribution<std::int64_t>(0, previous - 1)(random_);
        }
        return previous + std::uniform_int_distribution<std::int64_t>(1, 3000)(random_);
    };
    // Splits `cents` over 1-3 line items of `product`: the daemon must add them exactly.
    std::vector<Item> items;
    const auto split = [&](std::int64_t cents, const std::string& product) {
        const int parts = std::uniform_int_distribution<int>(1, 3)(random_);
        std::int64_t left = cents;
        for (int part = 1; part < parts && left > 0; ++part) {
            const std::int64_t piece = std::uniform_int_distribution<std::int64_t>(0, left)(random_);
            items.push_back({"USAGE", cents_text(piece), product, ""});
            left -= piece;
        }
        items.push_back({"USAGE", cents_text(left), product, ""});
    };
    const auto previous = [&](const char* dimension) {
        const auto found = bill.units.find(dimension);
        return found == bill.units.end() ? std::int64_t{0} : found->second;
    };
    if (per_product(bill.account)) {
        post.units["compute"] = next_cents(previous("compute"));
        post.units["storage"] = next_cents(previous("storage"));
        split(post.units["compute"], "prod-compute");
        split(post.units["storage"], "prod-storage");
    } else {
        post.units["bill_total"] = next_cents(previous("bill_total"));
        split(post.units["bill_total"], "");
    }
    post.body = envelope("billing.bill.updated", bill_json(id, post.version, bill.account, items));
    return post;
}

void BillDriver::acknowledged(const BillPost& post) {
    BillExpectation& bill = bills_.at(post.bill_id);
    ++acknowledged_;
    bill.acknowledged.insert({post.version, post.deletion});
    if (post.deletion) {
        if (!bill.deleted) ++deleted_;
        bill.deleted = true;
        for (auto& [dimension, units] : bill.units) units = 0;
        return;
    }
    if (bill.deleted || post.version < bill.version) return;  // older: ignored by the daemon
    bill.version = post.version;
    bill.units = post.units;
}

std::map<std::string, std::int64_t> BillDriver::expected_targets() const {
    std::map<std::string, std::int64_t> targets;
    for (const auto& [id, bill] : bills_) {
        for (const auto& [dimension, units] : bill.units) targets[bill.resource + "/" + dimension] += units;
    }
    return targets;
}

// ---------------------------------------------------------------------------
// Drain and checks

QueueFigures queue_figures(DaemonProcess& daemon) {
    QueueFigures figures;
    const auto answer = daemon.request("GET", "/metrics", {}, {}, false);
    if (answer.status != 200) return figures;
    std::istringstream lines(answer.body);
    std::string line;
    const auto value = [&](const std::string& prefix, std::int64_t& out) {
        if (line.starts_with(prefix + " ")) out = std::stoll(line.substr(prefix.size() + 1));
    };
    while (std::getline(lines, line)) {
        value("meterbridge_pending_units", figures.pending_units);
        value("meterbridge_unprocessed_bill_versions", figures.unprocessed);
        value("meterbridge_events{state=\"planned\"}", figures.planned);
        value("meterbridge_events{state=\"sending\"}", figures.sending);
        value("meterbridge_events{state=\"unresolved\"}", figures.unresolved);
    }
    return figures;
}

int retry_rejected(DaemonProcess& daemon) {
    int retried = 0;
    const Json page = daemon.get("/events?status=rejected").json();
    if (!page.contains("data")) return 0;
    for (const Json& event : page["data"]) {
        const auto id = event["id"].get<std::int64_t>();
        const HttpAnswer answer = daemon.request("POST", "/events/" + std::to_string(id) + "/retry");
        EXPECT_EQ(answer.status, 202) << answer.body;
        ++retried;
    }
    return retried;
}

void CampaignClock::jump(std::chrono::minutes by) {
    const Instant next = daemon_.now() + std::chrono::duration_cast<Duration>(by);
    sandbox_.set_clock(next);
    daemon_.set_clock(next);
    if (by.count() > 0) ++jumps_;  // a zero jump only puts both sides on the same instant
}

namespace {

Json rig_config(const std::filesystem::path& dir, const std::string& azure_url, const ChaosRigOptions& options) {
    Json config = chaos_config(dir, azure_url, "env:MB_CHAOS_AZURE_SECRET");
    if (options.adjust_config) options.adjust_config(config);
    return config;
}

}  // namespace

ChaosRig::ChaosRig(const ChaosRigOptions& options)
    : sandbox(dir.path(), options.sandbox_args),
      daemon(dir.path(), rig_config(dir.path(), sandbox.url(), options)),
      clock(daemon, sandbox) {
    ::setenv("MB_CHAOS_AZURE_SECRET", options.azure_secret.c_str(), 1);
}

void ChaosRig::start() {
    ASSERT_FALSE(sandbox.url().empty()) << sandbox.log();
    daemon.set_sandbox_url(sandbox.url());
    daemon.start();
    if (::testing::Test::HasFatalFailure()) return;
    clock.jump(std::chrono::minutes(0));  // both sides on the same controlled clock
}

bool drain(DaemonProcess& daemon, CampaignClock& clock, std::chrono::seconds timeout, int max_jumps) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto busy_since = std::chrono::steady_clock::now();
    int quiet_in_a_row = 0;
    int jumps = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        const QueueFigures figures = queue_figures(daemon);
        if (figures.quiet()) {
            // Twice in a row, a tick apart: a version received just now is
            // counted as unprocessed at once, so quiet means settled.
            if (++quiet_in_a_row == 2) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(1100));
            continue;
        }
        quiet_in_a_row = 0;
        // Units waiting for the next hour's slot, or events waiting out a
        // backoff, move only with time: give them the next hour.
        if (std::chrono::steady_clock::now() - busy_since > std::chrono::seconds(4) && jumps < max_jumps) {
            clock.jump();
            ++jumps;
            busy_since = std::chrono::steady_clock::now();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
}

CheckFigures check_ledger(DaemonProcess& daemon, SandboxProcess& sandbox, const BillDriver& driver) {
    CheckFigures figures;
    // What Azure holds, and one event per slot.
    std::map<std::string, std::int64_t> azure;
    std::set<std::string> slots;
    const auto events = sandbox.events();
    figures.azure_events = events.size();
    for (const Json& event : events) {
        const std::string key = event["resourceId"].get<std::string>() + "/" + event["dimension"].get<std::string>();
        const auto quantity = exact_number_text(event["quantity"]);
        EXPECT_TRUE(quantity.has_value()) << event.dump();
        if (!quantity) continue;
        const auto units = Decimal::parse(*quantity);
        EXPECT_TRUE(units && units->scale() == 0) << "not a whole number of units: " << *quantity;
        if (!units) continue;
        azure[key] += units->coefficient();
        figures.units_accepted += units->coefficient();
        const std::string slot = key + "/" + event["effectiveStartTime"].get<std::string>().substr(0, 13);
        EXPECT_TRUE(slots.insert(slot).second) << "Azure accepted a slot twice: " << slot;
    }

    // What the daemon says, bill by bill, against what the driver expects.
    std::map<std::string, std::int64_t> accepted, over_reported;
    for (const auto& [id, bill] : driver.bills()) {
        if (bill.acknowledged.empty()) continue;
        ++figures.bills;
        const auto answer = daemon.get("/bills/" + id);
        EXPECT_EQ(answer.status, 200) << id << ": " << answer.body;
        if (answer.status != 200) continue;
        const Json detail = answer.json();
        EXPECT_EQ(detail["deleted"].get<bool>(), bill.deleted) << id;
        // Every acknowledged delivery is stored.
        std::set<std::pair<int, bool>> stored;
        for (const Json& version : detail["versions"]) {
            stored.insert({version["version"].get<int>(), version["deleted"].get<bool>()});
        }
        for (const auto& version : bill.acknowledged) {
            ++figures.versions_checked;
            EXPECT_TRUE(stored.contains(version))
                << id << " v" << version.first << (version.second ? " (deletion)" : "")
                << " was acknowledged but is not in the database: " << detail["versions"].dump();
        }
        std::map<std::string, const Json*> keys;
        for (const Json& key : detail["keys"]) {
            EXPECT_EQ(key["resourceId"].get<std::string>(), bill.resource) << id;
            keys[key["dimension"].get<std::string>()] = &key;
        }
        for (const auto& [dimension, units] : bill.units) {
            figures.units_target += units;
            const auto found = keys.find(dimension);
            if (found == keys.end()) {
                EXPECT_EQ(units, 0) << id << "/" << dimension << ": no key in /bills but a target of " << units;
                continue;
            }
            const Json& key = *found->second;
            const std::string where = id + "/" + dimension;
            EXPECT_EQ(key["target"].get<std::int64_t>(), units) << where;
            for (const char* field : {"pending", "planned", "inFlight", "rejected"}) {
                EXPECT_EQ(key[field].get<std::int64_t>(), 0) << where << " " << field << " after the drain";
            }
            const std::int64_t key_accepted = key["accepted"].get<std::int64_t>();
            const std::int64_t key_over = key["overReported"].get<std::int64_t>();
            EXPECT_EQ(key_accepted, units + key_over) << where << ": accepted != target + overReported";
            accepted[bill.resource + "/" + dimension] += key_accepted;
            over_reported[bill.resource + "/" + dimension] += key_over;
            figures.units_over_reported += key_over;
        }
    }
    // Per key: Azure == what the daemon says it accepted == driver targets + over-reported.
    const auto targets = driver.expected_targets();
    std::set<std::string> all_keys;
    using Totals = std::map<std::string, std::int64_t>;
    for (const Totals* map : std::initializer_list<const Totals*>{&azure, &accepted, &targets}) {
        for (const auto& [key, units] : *map) all_keys.insert(key);
    }
    for (const std::string& key : all_keys) {
        const auto get = [&key](const std::map<std::string, std::int64_t>& map) {
            const auto found = map.find(key);
            return found == map.end() ? std::int64_t{0} : found->second;
        };
        EXPECT_EQ(get(azure), get(accepted)) << key << ": Azure holds other units than the daemon says it accepted";
        EXPECT_EQ(get(azure), get(targets) + get(over_reported))
            << key << ": Azure units != bill targets + over-reported";
    }
    EXPECT_EQ(queue_figures(daemon).unresolved, 0);
    return figures;
}

}  // namespace meterbridge::chaos

// The sandbox's files: the state file (accepted events, survives restarts),
// the catalog, and fault descriptions.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "meterbridge/sandbox/catalog_config.hpp"
#include "meterbridge/sandbox/sandbox_core.hpp"

namespace meterbridge::sandbox {
namespace {

std::string string_member(const Json& object, const char* key) {
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("unreadable_file", "cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Write to a temporary file, fsync, rename: a crash leaves the old or the new state, never half.
Status write_atomically(const std::string& path, const std::string& text) {
    const std::string temp = path + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return make_error("state_write_failed", "cannot write " + temp);
    std::size_t done = 0;
    while (done < text.size()) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n <= 0) {
            ::close(fd);
            return make_error("state_write_failed", "cannot write " + temp);
        }
        done += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced || std::rename(temp.c_str(), path.c_str()) != 0) {
        return make_error("state_write_failed", "cannot replace " + path);
    }
    return Ok{};
}

}  // namespace

Result<SandboxCatalog> SandboxCatalog::parse(std::string_view json) {
    auto root = parse_exact_json(json);
    if (!root) return root.error();
    try {
        return parse_catalog(*root, "");
    } catch (const ConfigError& error) {
        const std::string where = error.key().empty() ? "the catalog" : error.key();
        return make_error("invalid_catalog", where + " " + error.what(), error.key());
    }
}

Result<Fault> Fault::parse(std::string_view json) {
    auto root = parse_exact_json(json);
    if (!root) return root.error();
    if (!root->is_object()) return make_error("invalid_fault", "the fault must be a JSON object");
    const auto integer = [&](const char* key, long long fallback) -> Result<long long> {
        const auto it = root->find(key);
        if (it == root->end()) return fallback;
        if (!it->is_number_integer()) return make_error("invalid_fault", std::string(key) + " must be an integer", key);
        return it->get<long long>();
    };
    Fault fault;
    const std::string kind = string_member(*root, "kind");
    if (kind == "status") {
        fault.kind = FaultKind::Status;
    } else if (kind == "delay_ms" || kind == "delay") {
        fault.kind = FaultKind::Delay;
    } else if (kind == "reset") {
        fault.kind = FaultKind::Reset;
    } else if (kind == "drop_response") {
        fault.kind = FaultKind::DropResponse;
    } else if (kind == "processed_then_status") {
        fault.kind = FaultKind::ProcessedThenStatus;
    } else if (kind == "reject_batch_with") {
        fault.kind = FaultKind::RejectBatchWith;
    } else {
        return make_error("invalid_fault",
                          "kind must be status, delay_ms, reset, drop_response, processed_then_status or "
                          "reject_batch_with", "kind");
    }
    const bool reject = fault.kind == FaultKind::RejectBatchWith;
    const auto status = integer("status", reject ? 400 : 503);
    const auto count = integer("count", 1);
    const auto delay = integer("delay_ms", 0);
    if (!status || !count || !delay) {
        return !status ? status.error() : !count ? count.error() : delay.error();
    }
    if (*status < 200 || *status > 599) return make_error("invalid_fault", "status must be an HTTP status", "status");
    if (*count < 1 || *count > 1000000) return make_error("invalid_fault", "count must be at least 1", "count");
    if (*delay < 0 || *delay > 600000) return make_error("invalid_fault", "delay_ms must be 0..600000", "delay_ms");
    fault.status = static_cast<int>(*status);
    fault.count = static_cast<int>(*count);
    fault.delay = Duration(*delay);
    if (root->contains("retry_after_s")) {
        const auto retry = integer("retry_after_s", 0);
        if (!retry || *retry < 0) return make_error("invalid_fault", "retry_after_s must be >= 0", "retry_after_s");
        fault.retry_after_s = static_cast<int>(*retry);
    }
    if (const auto path = string_member(*root, "path"); !path.empty()) fault.path_prefix = path;
    if (fault.kind == FaultKind::Delay && fault.delay.count() == 0) {
        return make_error("invalid_fault", "a delay fault needs delay_ms", "delay_ms");
    }
    if (reject) {
        fault.resource_id = string_member(*root, "resource_id");
        fault.dimension = string_member(*root, "dimension");
        if (fault.resource_id.empty()) {
            return make_error("invalid_fault", "reject_batch_with needs a resource_id", "resource_id");
        }
        // It models the service refusing a whole request: a 4xx. A 5xx after
        // processing is processed_then_status.
        if (fault.status < 400 || fault.status > 499) {
            return make_error("invalid_fault", "reject_batch_with needs a 4xx status", "status");
        }
        fault.until_cleared = !root->contains("count");
    }
    return fault;
}

Result<std::unique_ptr<SandboxCore>> SandboxCore::create(SandboxCoreOptions options) {
    std::unique_ptr<SandboxCore> core(new SandboxCore(std::move(options)));
    const std::string& path = core->options_.state_file;
    if (path.empty() || !std::filesystem::exists(path)) return core;
    auto text = read_file(path);
    if (!text) return text.error();
    auto root = parse_exact_json(*text);
    if (!root || !root->is_object() || !root->contains("events") || !(*root)["events"].is_array()) {
        return make_error("invalid_state", "state file " + path + " is not a sandbox state");
    }
    for (const auto& e : (*root)["events"]) {
        AcceptedEvent event;
        event.usage_event_id = string_member(e, "usageEventId");
        event.resource_id = string_member(e, "resourceId");
        event.plan_id = string_member(e, "planId");
        event.dimension = string_member(e, "dimension");
        event.effective_start_text = string_member(e, "effectiveStartTime");
        auto quantity = e.contains("quantity") ? decimal_from_json(e["quantity"], "quantity")
                                               : Result<Decimal>(make_error("invalid_state", "no quantity"));
        auto start = parse_iso8601(event.effective_start_text);
        auto message_time = parse_iso8601(string_member(e, "messageTime"));
        if (!quantity || !start || !message_time) {
            return make_error("invalid_state", "state file " + path + " has an unreadable event");
        }
        event.quantity = *quantity;
        event.quantity_text = *exact_number_text(e["quantity"]);
        event.effective_start_time = *start;
        event.message_time = *message_time;
        const std::string key = [&] {
            std::string lowered = event.resource_id;
            for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            return lowered + "|" + event.dimension + "|" +
                   std::to_string(floor_hour(event.effective_start_time).time_since_epoch().count());
        }();
        core->events_.push_back(std::move(event));
        core->by_slot_[key] = core->events_.size() - 1;
    }
    return core;
}

Status SandboxCore::save() const {
    if (options_.state_file.empty()) return Ok{};
    std::string text = "{\"version\":1,\"events\":[";
    for (std::size_t i = 0; i < events_.size(); ++i) {
        if (i > 0) text += ",\n";
        text += accepted_event_json(events_[i]);
    }
    text += "]}\n";
    return write_atomically(options_.state_file, text);
}

}  // namespace meterbridge::sandbox

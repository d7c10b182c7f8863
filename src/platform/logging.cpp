#include "platform/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge::app {
namespace {

// One JSON object per line, so log shippers need no parsing rules.
class JsonLineSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const auto at = std::chrono::time_point_cast<Duration>(msg.time);
        const Json line = {{"time", format_iso8601(Instant{at.time_since_epoch()}, true)},
                           {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                                 spdlog::level::to_string_view(msg.level).size())},
                           {"msg", std::string(msg.payload.data(), msg.payload.size())}};
        const std::string text = line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
        std::fwrite(text.data(), 1, text.size(), stderr);
    }
    void flush_() override { std::fflush(stderr); }
};

// Under systemd, stderr is a stream into the journal: a "<N>" prefix gives
// each line its syslog priority (sd-daemon(3)), so `journalctl -p warning`
// finds the warnings; the journal stamps the time itself.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t formatted;
        formatter_->format(msg, formatted);
        std::string line = "<" + std::to_string(priority(msg.level)) + ">";
        line.append(formatted.data(), formatted.size());
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
    void flush_() override { std::fflush(stderr); }

private:
    static int priority(spdlog::level::level_enum level) {
        switch (level) {
            case spdlog::level::critical: return 2;
            case spdlog::level::err: return 3;
            case spdlog::level::warn: return 4;
            case spdlog::level::info: return 6;
            default: return 7;
        }
    }
};

// JOURNAL_STREAM ("device:inode") names the journal stream systemd connected
// to stderr; a redirected stderr (a file, a pipe) no longer matches it.
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    struct stat info {};
    if (::fstat(2, &info) != 0) return false;
    return std::string(stream) == std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
}

}  // namespace

LogConfig parse_log_config(const ConfigSection& root) {
    const auto section = ConfigSection::child(root, "log", {"level", "format"});
    LogConfig log;
    log.level = section.choice("level", log.level, {"trace", "debug", "info", "warn", "error", "critical", "off"});
    log.format = section.choice("format", "text", {"text", "json"}) == "json" ? LogFormat::JsonLines : LogFormat::Text;
    return log;
}

Json to_json(const LogConfig& log) { return {{"level", log.level}, {"format", to_string(log.format)}}; }

std::string_view to_string(LogFormat format) { return format == LogFormat::JsonLines ? "json" : "text"; }

void configure_logging(const LogConfig& config) {
    std::shared_ptr<spdlog::logger> logger;
    if (config.format == LogFormat::JsonLines) {
        logger = std::make_shared<spdlog::logger>("meterbridge", std::make_shared<JsonLineSink>());
    } else if (stderr_is_journal()) {
        logger = std::make_shared<spdlog::logger>("meterbridge", std::make_shared<JournalSink>());
        logger->set_pattern("%l %v");
    } else {
        logger = std::make_shared<spdlog::logger>("meterbridge", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
    }
    logger->set_level(spdlog::level::from_str(config.level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace meterbridge::app

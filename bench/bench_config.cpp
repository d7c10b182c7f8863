#include "bench_config.hpp"

#include "bill_maker.hpp"

namespace meterbridge::bench {

Json mapping_json(const std::string& entity, const std::string& id, const std::string& table,
                  const std::string& external) {
    return Json{{"m3ter_entity", entity}, {"m3ter_id", id}, {"external_table", table}, {"external_id", external}};
}

Json served_config(const std::filesystem::path& dir, Json scheduler, Json integration, Json mappings) {
    return Json{{"listen", {{"address", "127.0.0.1"}, {"port", 0}}},
                {"public_base_url", kPublicUrl},
                {"storage", {{"sqlite_path", (dir / "meterbridge.db").string()}}},
                {"log", {{"level", "info"}}},
                {"webhook",
                 {{"path", kWebhookPath},
                  {"api_key", "env:MB_BENCH_API_KEY"},
                  {"api_secret", "env:MB_BENCH_API_SECRET"},
                  {"max_clock_skew_s", 300}}},
                {"ops", {{"token", "env:MB_BENCH_OPS_TOKEN"}}},
                {"azure", {{"mode", "sandbox"}}},
                {"scheduler", std::move(scheduler)},
                {"reconciliation", {{"daily_at", nullptr}}},
                {"integrations", Json::array({std::move(integration)})},
                {"external_mappings", std::move(mappings)}};
}

}  // namespace meterbridge::bench

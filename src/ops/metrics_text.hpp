#pragma once
// Prometheus text exposition format 0.0.4 for GET /metrics (SPEC §5).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "meterbridge/core/decimal.hpp"
#include "meterbridge/core/latency_histogram.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/store/records.hpp"

namespace meterbridge::app {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Builds the text one family at a time: family() writes the # HELP and
// # TYPE lines, sample() the samples that follow. Names are the caller's
// (valid Prometheus names); label values and help text are escaped here.
class MetricsText {
public:
    using Labels = std::vector<std::pair<std::string, std::string>>;

    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, std::int64_t value, const Labels& labels = {});
    // An exact amount: its decimal text is a valid sample value as it is.
    void sample(std::string_view name, const Decimal& value, const Labels& labels = {});
    void sample_text(std::string_view name, std::string_view value, const Labels& labels = {});
    const std::string& text() const noexcept { return text_; }

private:
    std::string text_;
};

// What /metrics shows beyond the store's figures.
struct ProcessMetrics {
    std::optional<std::uint64_t> token_fetches;  // TokenProvider::fetch_count(); nullopt: no provider
    std::optional<SendingFigures> sending;       // the scheduler's window and send latency; nullopt: none
    // Seconds since the scheduler's loop last completed a pass; nullopt: not known here.
    std::optional<std::int64_t> scheduler_pass_age_seconds = {};
    // Webhook answers since start by status class ("2xx", "4xx", "5xx"); empty: not counted here.
    std::vector<std::pair<std::string, std::uint64_t>> webhook_responses = {};
};

// Every meterbridge_* family from the store's metrics at `now`. Families are
// always present (zero-valued samples for every event state and delivery
// result) so that dashboards and alerts never see a series vanish.
std::string render_metrics(const store::StoreMetrics& metrics, const ProcessMetrics& process, Instant now);

// The reconciliation families (SPEC §8): the rows per outcome of the latest
// finished run (every outcome present, 0 before the first run), the runs per
// status among `runs`, and the age of the latest finished run.
std::string render_reconciliation_metrics(const std::vector<store::ReconciliationRecord>& runs, Instant now);

}  // namespace meterbridge::app

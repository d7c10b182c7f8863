#include "ops/metrics_text.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>

#include "meterbridge/core/outbox.hpp"

namespace meterbridge::app {
namespace {

// Escapes for HELP text (`\` and newline) and label values (also `"`).
std::string escape(std::string_view text, bool quote) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (quote && c == '"') {
            out += "\\\"";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

constexpr std::array kEventStates = {
    EventState::Planned,  EventState::Sending,  EventState::Accepted,  EventState::Conflict,   EventState::Expired,
    EventState::Rejected, EventState::Requeued, EventState::Cancelled, EventState::Unresolved,
};

constexpr std::array kDeliveryResults = {
    store::DeliveryResult::New,     store::DeliveryResult::Repeat,  store::DeliveryResult::Older,
    store::DeliveryResult::Invalid, store::DeliveryResult::Ignored,
};

std::int64_t count_of(const std::map<std::string, std::int64_t>& counts, std::string_view key) {
    const auto found = counts.find(std::string(key));
    return found == counts.end() ? 0 : found->second;
}

void http_statuses(MetricsText& out, std::string_view name, std::string_view help,
                   const std::map<int, std::int64_t>& statuses) {
    out.family(name, "gauge", help);
    for (const auto& [status, count] : statuses) out.sample(name, count, {{"code", std::to_string(status)}});
}

}  // namespace

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += escape(help, false);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
}

void MetricsText::sample(std::string_view name, std::int64_t value, const Labels& labels) {
    sample_text(name, std::to_string(value), labels);
}

void MetricsText::sample(std::string_view name, const Decimal& value, const Labels& labels) {
    sample_text(name, value.to_string(), labels);
}

void MetricsText::sample_text(std::string_view name, std::string_view value, const Labels& labels) {
    text_ += name;
    if (!labels.empty()) {
        text_ += '{';
        bool first = true;
        for (const auto& [label, label_value] : labels) {
            if (!first) text_ += ',';
            first = false;
            text_ += label;
            text_ += "=\"";
            text_ += escape(label_value, true);
            text_ += '"';
        }
        text_ += '}';
    }
    text_ += ' ';
    text_ += value;
    text_ += '\n';
}

namespace {
// Milliseconds as exact seconds ("0.005", "60"): Prometheus's unit.
Decimal seconds_of_ms(std::int64_t ms) { return Decimal::parse(std::to_string(ms) + "e-3").value(); }
}  // namespace

std::string render_metrics(const store::StoreMetrics& metrics, const ProcessMetrics& process, Instant now) {
    MetricsText out;

    out.family("meterbridge_deliveries_total", "counter", "Webhook deliveries received, by result.");
    for (const auto result : kDeliveryResults) {
        const std::string name(store::to_string(result));
        out.sample("meterbridge_deliveries_total", count_of(metrics.deliveries_by_result, name), {{"result", name}});
    }
    // States the store reports that this build does not list still show up.
    for (const auto& [name, count] : metrics.deliveries_by_result) {
        bool known = false;
        for (const auto result : kDeliveryResults) known = known || store::to_string(result) == name;
        if (!known) out.sample("meterbridge_deliveries_total", count, {{"result", name}});
    }

    out.family("meterbridge_events", "gauge", "Azure usage events in the outbox, by state.");
    for (const auto state : kEventStates) {
        const std::string name(to_string(state));
        out.sample("meterbridge_events", count_of(metrics.events_by_state, name), {{"state", name}});
    }
    for (const auto& [name, count] : metrics.events_by_state) {
        if (!event_state_from(name)) out.sample("meterbridge_events", count, {{"state", name}});
    }
    // Issue 14: units where they can still matter (superseded events' units live elsewhere).
    out.family("meterbridge_event_units", "gauge",
               "Units carried by usage events, by state: planned, sending (may be at Azure), accepted, rejected "
               "(waiting for a fix and an ops retry), unresolved (may be at Azure, window closed).");
    for (const auto state : {EventState::Planned, EventState::Sending, EventState::Accepted, EventState::Rejected,
                             EventState::Unresolved}) {
        const std::string name(to_string(state));
        out.sample("meterbridge_event_units", count_of(metrics.event_units_by_state, name), {{"state", name}});
    }
    out.family("meterbridge_events_maybe_held", "gauge",
               "Sending events that an earlier, unanswered request may have delivered to Azure: re-sent unchanged.");
    out.sample("meterbridge_events_maybe_held", metrics.events_maybe_held);

    out.family("meterbridge_pending_units", "gauge", "Units queued for Azure and not yet in any event.");
    out.sample("meterbridge_pending_units", metrics.pending_units);
    out.family("meterbridge_pending_entries", "gauge", "Queued entries holding the pending units.");
    out.sample("meterbridge_pending_entries", metrics.pending_entries);

    std::int64_t oldest_age = 0;
    if (metrics.oldest_pending && *metrics.oldest_pending < now) {
        oldest_age = std::chrono::duration_cast<std::chrono::seconds>(now - *metrics.oldest_pending).count();
    }
    out.family("meterbridge_oldest_pending_age_seconds", "gauge",
               "Age of the oldest queued entry in seconds (0 when nothing is queued).");
    out.sample("meterbridge_oldest_pending_age_seconds", oldest_age);

    out.family("meterbridge_over_reported_units", "gauge",
               "Units Azure holds (or may hold) beyond the bills' current targets; they cannot be taken back.");
    out.sample("meterbridge_over_reported_units", metrics.over_reported_units);

    out.family("meterbridge_unprocessed_bill_versions", "gauge",
               "Bill versions received and not yet converted by the scheduler.");
    out.sample("meterbridge_unprocessed_bill_versions", metrics.unprocessed_bill_versions);

    // Issue 14: a version whose account m3ter failed to resolve waits, retried with backoff.
    out.family("meterbridge_bill_versions_waiting_on_m3ter", "gauge",
               "Bill versions left unprocessed because m3ter failed while resolving their account; retried with "
               "backoff.");
    out.sample("meterbridge_bill_versions_waiting_on_m3ter", metrics.versions_waiting_on_m3ter);

    out.family("meterbridge_held_line_items", "gauge",
               "Line items of current bill versions that produced no units, by integration and hold reason.");
    std::map<std::pair<std::string, std::string>, std::int64_t> held_items;  // over currencies
    for (const auto& [currency, total] : metrics.held) {
        held_items[{total.integration_id, std::string(to_string(total.reason))}] += total.line_items;
    }
    for (const auto& [key, count] : held_items) {
        out.sample("meterbridge_held_line_items", count, {{"integration", key.first}, {"reason", key.second}});
    }
    out.family("meterbridge_held_amount", "gauge",
               "Sum of the subtotals held in current bill versions, in the bill's currency (NaN: out of range).");
    for (const auto& [currency, total] : metrics.held) {
        const MetricsText::Labels labels = {{"integration", total.integration_id},
                                            {"reason", std::string(to_string(total.reason))},
                                            {"currency", currency}};
        if (total.overflow) {
            out.sample_text("meterbridge_held_amount", "NaN", labels);
        } else {
            out.sample("meterbridge_held_amount", total.amount, labels);
        }
    }

    out.family("meterbridge_integration_runs_skipped_total", "counter",
               "Integration runs that did not apply to their bill version, by integration and skip reason.");
    for (const auto& [key, count] : metrics.runs_skipped) {
        out.sample("meterbridge_integration_runs_skipped_total", count,
                   {{"integration", key.first}, {"reason", key.second}});
    }

    http_statuses(out, "meterbridge_azure_http_responses",
                  "Exchanges with the Azure metering API in the retained exchange log, by HTTP status (0: no answer).",
                  metrics.azure_http_status);
    http_statuses(out, "meterbridge_token_http_responses",
                  "Exchanges with the Entra token endpoint in the retained exchange log, by HTTP status (0: no answer).",
                  metrics.token_http_status);

    // Issue 18's alerts: Azure unreachable for long, a stalled scheduler, webhook 5xx.
    out.family("meterbridge_azure_last_success_age_seconds", "gauge",
               "Seconds since the latest metering call Azure answered 2xx, in the retained exchange log "
               "(-1: none there).");
    std::int64_t azure_age = -1;
    if (metrics.last_azure_success) {
        azure_age = std::max<std::int64_t>(
            0, std::chrono::duration_cast<std::chrono::seconds>(now - *metrics.last_azure_success).count());
    }
    out.sample("meterbridge_azure_last_success_age_seconds", azure_age);
    if (process.scheduler_pass_age_seconds) {
        out.family("meterbridge_scheduler_last_pass_age_seconds", "gauge",
                   "Seconds since the scheduler's loop last completed a pass (it passes every scheduler.tick_s "
                   "when idle).");
        out.sample("meterbridge_scheduler_last_pass_age_seconds", *process.scheduler_pass_age_seconds);
    }
    if (!process.webhook_responses.empty()) {
        out.family("meterbridge_webhook_responses_total", "counter",
                   "Answers to m3ter webhook deliveries since the daemon started, by status class.");
        for (const auto& [code, count] : process.webhook_responses) {
            out.sample("meterbridge_webhook_responses_total", static_cast<std::int64_t>(count), {{"code", code}});
        }
    }

    out.family("meterbridge_token_refreshes_total", "counter",
               "Access tokens requested from Entra since the daemon started.");
    out.sample("meterbridge_token_refreshes_total",
               process.token_fetches ? static_cast<std::int64_t>(*process.token_fetches) : 0);

    // Always present, zero without a scheduler, like every family above.
    const SendingFigures sending = process.sending.value_or(SendingFigures{});
    out.family("meterbridge_send_window_limit", "gauge",
               "batchUsageEvent calls allowed in flight now: halved on 429/5xx, +1 per window of clean answers.");
    out.sample("meterbridge_send_window_limit", sending.limit);
    out.family("meterbridge_send_window_max", "gauge", "scheduler.max_batches_in_flight.");
    out.sample("meterbridge_send_window_max", sending.maximum);
    out.family("meterbridge_batches_outstanding", "gauge", "batchUsageEvent calls awaiting Azure's answer.");
    out.sample("meterbridge_batches_outstanding", sending.outstanding);
    out.family("meterbridge_send_latency_seconds", "histogram",
               "Time from a batch's start to its settlement, retries and waits included.");
    for (std::size_t i = 0; i < LatencyHistogram::kBoundsMs.size(); ++i) {
        out.sample("meterbridge_send_latency_seconds_bucket", static_cast<std::int64_t>(sending.latency.at_most(i)),
                   {{"le", seconds_of_ms(LatencyHistogram::kBoundsMs[i]).to_string()}});
    }
    out.sample("meterbridge_send_latency_seconds_bucket", static_cast<std::int64_t>(sending.latency.count()),
               {{"le", "+Inf"}});
    const auto sum_ms = std::chrono::duration_cast<std::chrono::milliseconds>(sending.latency.sum()).count();
    out.sample("meterbridge_send_latency_seconds_sum", seconds_of_ms(sum_ms));
    out.sample("meterbridge_send_latency_seconds_count", static_cast<std::int64_t>(sending.latency.count()));

    return out.text();
}

std::string render_reconciliation_metrics(const std::vector<store::ReconciliationRecord>& runs, Instant now) {
    MetricsText out;
    const store::ReconciliationRecord* latest = nullptr;  // runs are newest first
    for (const auto& run : runs) {
        if (run.status == store::ReconciliationStatus::Done) {
            latest = &run;
            break;
        }
    }
    out.family("meterbridge_reconciliation_rows", "gauge",
               "Rows of the latest finished reconciliation, by outcome (SPEC 8).");
    for (const recon::Outcome outcome : {recon::Outcome::Matched, recon::Outcome::MissingAtAzure,
                                         recon::Outcome::UnknownToUs, recon::Outcome::QuantityMismatch,
                                         recon::Outcome::Rejected, recon::Outcome::Mismatch, recon::Outcome::Pending}) {
        std::int64_t count = 0;
        if (latest != nullptr) {
            if (const auto found = latest->totals.find(outcome); found != latest->totals.end()) count = found->second;
        }
        out.sample("meterbridge_reconciliation_rows", count, {{"outcome", std::string(recon::to_string(outcome))}});
    }
    out.family("meterbridge_reconciliation_runs", "gauge", "Recent reconciliation runs (last 100), by status.");
    for (const auto status : {store::ReconciliationStatus::Running, store::ReconciliationStatus::Done,
                              store::ReconciliationStatus::Failed}) {
        const auto count = std::count_if(runs.begin(), runs.end(), [&](const auto& run) { return run.status == status; });
        out.sample("meterbridge_reconciliation_runs", static_cast<std::int64_t>(count),
                   {{"status", std::string(store::to_string(status))}});
    }
    out.family("meterbridge_reconciliation_last_finished_age_seconds", "gauge",
               "Seconds since the latest finished reconciliation (-1: none yet).");
    std::int64_t age = -1;
    if (latest != nullptr && latest->finished_at) {
        age = std::chrono::duration_cast<std::chrono::seconds>(now - *latest->finished_at).count();
    }
    out.sample("meterbridge_reconciliation_last_finished_age_seconds", age);
    return out.text();
}

}  // namespace meterbridge::app

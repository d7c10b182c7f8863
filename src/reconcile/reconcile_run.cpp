// One reconciliation: sources streamed into the evidence, then compared.
#include "reconcile/reconcile_run.hpp"

namespace meterbridge::app {

Result<recon::Report> run_reconciliation(const ReconcileRequest& request, const ReconcileDeps& deps, Instant now) {
    if (request.from > request.to) return make_error("invalid_range", "from is after to", "from");
    if (request.sources.empty()) return make_error("invalid_sources", "no source to reconcile against", "sources");
    auto names = recon::NameMap::make(deps.subscriptions);
    if (!names) return names.error();
    recon::AzureEvidence evidence(std::move(*names));
    for (const recon::Source source : request.sources) {
        const auto reader = deps.sources.find(source);
        if (reader == deps.sources.end() || !reader->second) {
            return make_error("source_not_configured",
                              std::string(recon::to_string(source)) + " is not configured (reconciliation.sources)",
                              "sources");
        }
        // Rows outside the days asked are the source's filter's business; the
        // comparison ignores them too, so a loose filter costs nothing.
        const Status read = reader->second(
            request.from, request.to, [&](const recon::AzureRow& row) { return evidence.add(row); }, deps.log);
        if (!read.ok()) {
            Error error = read.error();
            error.message = std::string(recon::to_string(source)) + ": " + error.message;
            return error;
        }
    }
    const Instant from = request.from;
    const Instant to = request.to + std::chrono::days{1};
    auto events = deps.ledger(from, to);
    if (!events) return events.error();
    recon::Options options;
    options.now = now;
    options.from_day = request.from;
    options.to_day = request.to;
    options.processing_delay = deps.processing_delay;
    options.sources = request.sources;
    return recon::compare(*events, evidence, options);
}

}  // namespace meterbridge::app

#pragma once
// One reconciliation (SPEC §8): read Azure's side from each source, load our
// side from the ledger, compare with the core (recon::compare). The sources are
// callables so that the run is tested without sockets; the daemon and the
// `reconcile` command build them from the azure room's clients.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/recon.hpp"
#include "meterbridge/core/result.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge::app {

struct ReconcileRequest {
    recon::Day from;
    recon::Day to;  // inclusive
    std::vector<recon::Source> sources;
};

// Hands every row of one source for [from, to] to `sink`; stops at the first
// error of the sink or of the source. Its HTTP exchanges go to `log` (null: not logged).
using RowSink = std::function<Status(const recon::AzureRow&)>;
using SourceReader =
    std::function<Status(recon::Day from, recon::Day to, const RowSink& sink, ExchangeLog* log)>;

// Our side: the events Azure holds or may hold with effective start in [from, to).
using LedgerReader = std::function<Result<std::vector<recon::LedgerEvent>>(Instant from, Instant to)>;

struct ReconcileDeps {
    std::map<recon::Source, SourceReader> sources;  // a requested source without a reader is an error
    LedgerReader ledger;
    std::vector<std::pair<std::string, std::string>> subscriptions;  // Azure subscription -> resource
    std::map<recon::Source, Duration> processing_delay;
    ExchangeLog* log = nullptr;  // where the sources' exchanges go (the run's, in the daemon)
};

// Errors: "from" after "to" (field from), an unknown or unconfigured source
// (field sources), a source that failed (its error, the source named).
Result<recon::Report> run_reconciliation(const ReconcileRequest& request, const ReconcileDeps& deps, Instant now);

}  // namespace meterbridge::app

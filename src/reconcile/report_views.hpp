#pragma once
// A reconciliation report (core recon::Report) as ops read it: JSON (the
// /reconciliations endpoints and `reconcile --format json`), CSV (one line
// per row) and a plain-text table (the default of `meterbridge reconcile`).
#include <string>

#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/recon.hpp"

namespace meterbridge::app {

// {"totals":{outcome:n...},"rows":[...],"bills":[...],"proposals":[...],"unmapped":[...]};
// quantities are exact JSON numbers.
Json report_json(const recon::Report& report);

// Header + one line per row: source,resourceId,dimension,day,outcome,ours,azure,note
std::string report_csv(const recon::Report& report);

// Totals, then every row that is not matched (all rows when `all_rows`),
// then the settlement proposals and the unmapped Azure rows.
std::string report_table(const recon::Report& report, bool all_rows = false);

}  // namespace meterbridge::app

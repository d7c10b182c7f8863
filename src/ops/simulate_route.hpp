#pragma once
// POST /simulate (issue 19): the dry run of `meterbridge simulate` for the
// bill in the body (a bare Bill or an m3ter event envelope, as the webhook
// takes it), against the config's rules and the stored mappings, at the
// daemon's "now" or `?at=ISO-8601`. Reads the mappings; writes nothing,
// sends nothing, asks nobody.
#include "meterbridge/net/http_types.hpp"
#include "ops/ops_api.hpp"

namespace meterbridge::app {

// 200 with simulation_json; 415 for a non-JSON body; 400 naming the field of
// a bad bill or `at`; 503 when the stored mappings cannot be read.
net::HttpResponse simulate_bill_response(OpsContext& context, const net::HttpRequest& request);

}  // namespace meterbridge::app

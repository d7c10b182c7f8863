#pragma once
// The ops console (issue 19): its static pages at /console/ (public: they
// hold no data) and the views its pages need beyond SPEC §5 (behind the ops
// token): GET /overview, GET /bills, GET /bills/{billId}/diff.
#include "meterbridge/net/router.hpp"
#include "ops/ops_api.hpp"

namespace meterbridge::app {

// `context` must outlive `router`.
void add_console_routes(net::Router& router, OpsContext& context);

}  // namespace meterbridge::app

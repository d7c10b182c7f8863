#pragma once
// GET /v3/enrollments/{enrollmentNumber}/marketplacechargesbycustomdate?startTime=&endTime=
// (seed 002): Azure's billed daily records as EA marketplace charges. Internal to src/sandbox.
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/http_types.hpp"

namespace meterbridge::sandbox {

class SandboxCore;

net::HttpResponse ea_marketplace_charges(const net::HttpRequest& request, Instant now, const SandboxCore& core);

}  // namespace meterbridge::sandbox

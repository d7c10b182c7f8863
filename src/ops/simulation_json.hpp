#pragma once
// The JSON of a simulation (issue 19): the answer of POST /simulate and the
// output of `meterbridge simulate --format json`, one shape for both. Keys
// are camelCase like the other ops views; amounts and unit prices are exact
// JSON numbers: serialise with dump_exact.
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/simulation.hpp"

namespace meterbridge::app {

Json simulation_json(const Simulation& simulation);

}  // namespace meterbridge::app

#pragma once
// The plain-text view of a simulation (issue 19): the default output of
// `meterbridge simulate`. One block per integration (its targets with their
// hour, its held line items with their reasons), then the events Azure would
// receive and the notes on what a simulation cannot know.
#include <string>

#include "meterbridge/core/simulation.hpp"

namespace meterbridge::app {

std::string simulation_table(const Simulation& simulation);

}  // namespace meterbridge::app

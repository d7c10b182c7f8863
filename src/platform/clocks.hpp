#pragma once
// The daemon's clocks: the system clock, and the settable clock behind
// `PUT /testing/clock` (SPEC §5). One implementation, in net, shared with
// the sandbox.
#include "meterbridge/net/clocks.hpp"

namespace meterbridge::app {

using SystemClock = net::SystemClock;
using SettableClock = net::SettableClock;  // reads the system clock until set()

}  // namespace meterbridge::app

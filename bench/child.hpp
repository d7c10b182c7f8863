#pragma once
// A child process of a bench program (the daemon, a ceiling server), its
// stdout and stderr in a log file that can be searched for a line: the test
// harness's ChildProcess (library meterbridge_child_process).
#include "process.hpp"

namespace meterbridge::bench {

using Child = testing::ChildProcess;

}  // namespace meterbridge::bench

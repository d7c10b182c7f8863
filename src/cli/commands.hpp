#pragma once
// The subcommands of the meterbridge binary (SPEC §1). Each takes the
// arguments after the subcommand name and returns the process exit code.
#include <span>
#include <string_view>

namespace meterbridge::app {

using Args = std::span<const std::string_view>;

int serve_command(Args args);
int check_config_command(Args args);
int sandbox_command(Args args);
int reconcile_command(Args args);
int healthcheck_command(Args args);
int backup_command(Args args);
int simulate_command(Args args);

}  // namespace meterbridge::app

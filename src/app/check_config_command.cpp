// Placeholder until the check_config subcommand is implemented; exits non-zero.
#include <cstdio>

#include "commands.hpp"

namespace meterbridge::app {

int check_config_command(Args /*args*/) {
    std::fputs("meterbridge: 'check_config' is not implemented yet\n", stderr);
    return 1;
}

}  // namespace meterbridge::app

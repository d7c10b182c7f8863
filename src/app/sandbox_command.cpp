// Placeholder until the sandbox subcommand is implemented; exits non-zero.
#include <cstdio>

#include "commands.hpp"

namespace meterbridge::app {

int sandbox_command(Args /*args*/) {
    std::fputs("meterbridge: 'sandbox' is not implemented yet\n", stderr);
    return 1;
}

}  // namespace meterbridge::app

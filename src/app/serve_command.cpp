// Placeholder until the serve subcommand is implemented; exits non-zero.
#include <cstdio>

#include "commands.hpp"

namespace meterbridge::app {

int serve_command(Args /*args*/) {
    std::fputs("meterbridge: 'serve' is not implemented yet\n", stderr);
    return 1;
}

}  // namespace meterbridge::app

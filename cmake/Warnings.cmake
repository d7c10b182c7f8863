# One interface target that carries the project's warning flags; every
# project target links it privately so that system headers stay quiet.
add_library(meterbridge_warnings INTERFACE)
target_compile_options(meterbridge_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wimplicit-fallthrough)
if(METERBRIDGE_WERROR)
  target_compile_options(meterbridge_warnings INTERFACE -Werror)
endif()

# Sanitizer and fuzzing instrumentation for every project target.
#
#   -DMETERBRIDGE_SANITIZE=address,undefined   (gcc or clang)
#   -DMETERBRIDGE_BUILD_FUZZERS=ON             (clang only: libFuzzer)
#
# These are whole-build modes, like CMAKE_BUILD_TYPE: the flags go on every
# target defined after this file is included, libraries and executables alike,
# so that instrumented and uninstrumented code never mix within the project.
# -fno-sanitize-recover makes any UBSan finding abort, so a test with undefined
# behaviour fails instead of printing a line nobody reads.
set(METERBRIDGE_SANITIZE "" CACHE STRING
  "Comma-separated sanitizers for all targets, e.g. address,undefined (empty: none)")

if(METERBRIDGE_SANITIZE)
  add_compile_options(-fsanitize=${METERBRIDGE_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${METERBRIDGE_SANITIZE} -fno-sanitize-recover=all)
  message(STATUS "meterbridge: sanitizers ${METERBRIDGE_SANITIZE}")
endif()

# With clang, fuzzers get libFuzzer's coverage feedback from all code; only
# the fuzz executables link the driver itself (-fsanitize=fuzzer, in
# fuzz/CMakeLists.txt). Other compilers build corpus replayers instead.
if(METERBRIDGE_BUILD_FUZZERS AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Extra flags for the I/O layers only (m3ter, net, azure, store, app), which
# link this target privately. Empty by default. The sanitizer pass of CI sets
# -O0 (scripts/test-sanitizers): instrumented, Beast's templates compile in
# less than half the time, while the pure core, which the fuzzers and the
# randomised tests run hot, keeps the build type's optimisation.
set(METERBRIDGE_IO_OPT_FLAGS "" CACHE STRING "Flags appended when compiling the I/O layers")
add_library(meterbridge_io_options INTERFACE)
target_compile_options(meterbridge_io_options INTERFACE ${METERBRIDGE_IO_OPT_FLAGS})

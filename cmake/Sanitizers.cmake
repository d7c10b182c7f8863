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

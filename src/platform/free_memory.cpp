#include "platform/free_memory.hpp"

#include <malloc.h>

#include <cstdlib>

namespace meterbridge::app {

void release_free_memory() noexcept { ::malloc_trim(0); }

void limit_heap_arenas() noexcept {
    if (std::getenv("MALLOC_ARENA_MAX") == nullptr) ::mallopt(M_ARENA_MAX, 2);
    if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) ::mallopt(M_TRIM_THRESHOLD, 1 << 20);
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) ::mallopt(M_MMAP_THRESHOLD, 256 << 10);
}

}  // namespace meterbridge::app

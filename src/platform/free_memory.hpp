#pragma once
// Returning freed heap memory to the system. glibc keeps what a thread's
// arena once held: after a month-start burst the sending and I/O threads'
// arenas would hold their peak for the life of the process.
namespace meterbridge::app {

// malloc_trim(0): gives back the free pages of every arena. Costs a walk of
// the heaps (about a millisecond), so callers do it when work has just ended.
void release_free_memory() noexcept;

// At most two malloc arenas (glibc's default is eight per core): the daemon's
// threads mostly wait on the network and the disk, so they rarely contend for
// the heap, and every extra arena keeps its own peak. And fixed thresholds:
// blocks from 256 KiB are mapped on their own, and an arena's free top is
// given back beyond 1 MiB. glibc's defaults move with the largest mapped
// block freed so far (a trim threshold of twice its size), and malloc_trim
// never trims a thread arena's top: after a burst, a sending thread's arena
// kept its whole peak (27 MiB of the 41 MiB after issue 17's burst). Call
// before any thread starts. MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_ and
// MALLOC_MMAP_THRESHOLD_ in the environment still win.
void limit_heap_arenas() noexcept;

}  // namespace meterbridge::app

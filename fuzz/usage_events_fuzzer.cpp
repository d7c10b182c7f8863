// libFuzzer target: parse_usage_events (metering API GET /api/usageEvents).
// Invariants: no exception; parsed rows are well formed (recon_fuzz_support.hpp)
// and go through the comparison with totals that add up.
#include <cstddef>
#include <cstdint>

#include "meterbridge/core/recon_sources.hpp"
#include "recon_fuzz_support.hpp"

using namespace meterbridge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto page = recon::parse_usage_events(fuzz::as_text(data, size));
    if (!page) {
        fuzz::check(!page.error().message.empty(), "an error without message");
        return 0;
    }
    for (const auto& row : page->rows) {
        fuzz::check(row.source == recon::Source::UsageEvents, "a usage_events row of another source");
        fuzz::check(!row.key.resource_id.empty() && !row.status.empty(), "a row without resource or status");
        fuzz::check_row(row, false);
    }
    fuzz::check_comparison(page->rows);
    return 0;
}

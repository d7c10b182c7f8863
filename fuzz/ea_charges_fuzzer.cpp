// libFuzzer target: parse_ea_charges (EA marketplace charges, seed 002).
// Invariants: no exception; rows are well formed, name an Azure subscription
// and no resource (the NameMap gives it), and go through the comparison.
#include <cstddef>
#include <cstdint>

#include "meterbridge/core/recon_sources.hpp"
#include "recon_fuzz_support.hpp"

using namespace meterbridge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto rows = recon::parse_ea_charges(fuzz::as_text(data, size));
    if (!rows) {
        fuzz::check(!rows.error().message.empty(), "an error without message");
        return 0;
    }
    for (const auto& row : *rows) {
        fuzz::check(row.source == recon::Source::EaCharges, "an ea_charges row of another source");
        fuzz::check(row.key.resource_id.empty() && !row.azure_subscription_id.empty(), "EA rows map by subscription");
        fuzz::check_row(row, false);
    }
    fuzz::check_comparison(*rows);
    return 0;
}

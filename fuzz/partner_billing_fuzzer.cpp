// libFuzzer target: the partner billing export's parsers (seed 004). The same
// input goes to parse_partner_billing_line, parse_export_operation and
// parse_export_manifest. Invariants: no exception; a line is a well-formed row
// naming an Azure subscription; a succeeded operation has a manifest or its
// link; every blob has a name, and its URL starts with the root directory.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "meterbridge/core/recon_sources.hpp"
#include "recon_fuzz_support.hpp"

using namespace meterbridge;

namespace {

void check_manifest(const recon::ExportManifest& manifest) {
    fuzz::check(!manifest.root_directory.empty(), "a manifest without root directory");
    fuzz::check(manifest.blob_count >= 0, "a negative blob count");
    for (const auto& blob : manifest.blobs) {
        fuzz::check(!blob.name.empty(), "a blob without name");
        fuzz::check(recon::blob_url(manifest, blob).starts_with(manifest.root_directory), "a blob URL elsewhere");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    if (auto row = recon::parse_partner_billing_line(text)) {
        fuzz::check(row->source == recon::Source::PartnerBilling, "a partner_billing row of another source");
        fuzz::check(row->key.resource_id.empty() && !row->azure_subscription_id.empty(), "lines map by subscription");
        fuzz::check_row(*row, true);
        fuzz::check_comparison(std::vector<recon::AzureRow>{*row});
    }
    if (auto op = recon::parse_export_operation(text)) {
        if (op->status == recon::ExportOperation::Status::Succeeded) {
            fuzz::check(op->manifest || !op->manifest_link.empty(), "a success without manifest");
        }
        if (op->manifest) check_manifest(*op->manifest);
    }
    if (auto manifest = recon::parse_export_manifest(text)) check_manifest(*manifest);
    return 0;
}

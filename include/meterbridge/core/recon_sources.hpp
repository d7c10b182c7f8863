#pragma once
// Parsers of the three Azure sources of reconciliation (SPEC §8; every field
// and what we do with it: docs/reconciliation.md). Pure functions of the body
// text: no I/O. Quantities are read exactly from their text (parse_exact_json,
// Decimal), never through binary floating point. Bad input is an Error naming the field ("[2].processedQuantity"),
// never a crash. Unknown fields are ignored.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/recon.hpp"
#include "meterbridge/core/result.hpp"

namespace meterbridge::recon {

// --- usage_events: GET /api/usageEvents (seed 003) --------------------------
// The body is a JSON array of daily rows, or an object {"value":[...]} with an
// optional "@nextLink" / "nextLink" / "@odata.nextLink" for the next page.
// Per row: usageDate -> key.day (its UTC day); usageResourceId -> key.resource_id;
// dimension -> key.dimension; processedQuantity -> quantity; submittedQuantity ->
// submitted_quantity (optional); reconStatus -> status; planId -> plan;
// offerId -> offer; azureSubscriptionId -> azure_subscription_id (optional).
// Quantities must be numbers >= 0; processedQuantity is required except on a
// Submitted row (then 0).
struct UsageEventsPage {
    std::vector<AzureRow> rows;
    std::string next_link;  // empty on the last page
};
Result<UsageEventsPage> parse_usage_events(std::string_view body);

// --- partner_billing: Graph partner billing export (seed 004) ---------------
// The manifest of a succeeded export: where its gzip JSON-lines blobs are.
struct ExportManifest {
    struct Blob {
        std::string name;
        std::string partition_value;
    };
    std::string id;
    std::string root_directory;  // https://<account>.blob.core.windows.net/<folder>
    std::string sas_token;
    std::string data_format;     // "compressedJSONLines" (gzip JSON lines)
    std::string schema_version;
    std::string etag;
    long long blob_count = 0;
    std::vector<Blob> blobs;
};
// root_directory + "/" (unless already there) + name + "?" + sas_token (no "?"
// when the token is empty).
std::string blob_url(const ExportManifest& manifest, const ExportManifest::Blob& blob);

// The export operation (GET on the Location of billedUsage/unbilledUsage export).
struct ExportOperation {
    enum class Status { NotStarted, Running, Succeeded, Failed };
    std::string id;
    Status status = Status::Running;
    // Succeeded: the manifest's link ("resourceLocation@odata.navigationLink"),
    // and the manifest itself when the body embeds it ("resourceLocation").
    std::string manifest_link;
    std::optional<ExportManifest> manifest;
    std::string error_code, error_message;  // Failed: "error": {"code","message"}
};
// status: notStarted | running | succeeded | completed (as succeeded) | failed,
// case-insensitive; anything else is an Error naming "status".
Result<ExportOperation> parse_export_operation(std::string_view body);
Result<ExportManifest> parse_export_manifest(std::string_view body);

// One JSON line of an export blob. Field names are matched case-insensitively
// (the export writes "SubscriptionId", Graph JSON elsewhere "subscriptionId").
// subscriptionId -> azure_subscription_id (mapped by the NameMap); meterId ->
// key.dimension; usageDate -> key.day; quantity -> quantity (may be negative:
// a correction line, summed with the rest); skuId -> plan; productId -> offer.
Result<AzureRow> parse_partner_billing_line(std::string_view line);

// --- ea_charges: EA marketplace charges (seed 002) --------------------------
// The JSON array of marketplacecharges / marketplacechargesbycustomdate.
// subscriptionGuid -> azure_subscription_id; meterId -> key.dimension;
// usageStartDate -> key.day; consumedQuantity -> quantity (>= 0);
// planName -> plan; offerName -> offer. Rows with isRecurringCharge "True"
// are flat fees, not metered usage, and are left out.
Result<std::vector<AzureRow>> parse_ea_charges(std::string_view body);

}  // namespace meterbridge::recon

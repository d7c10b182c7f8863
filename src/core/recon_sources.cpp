// Parsers of the three Azure sources of reconciliation (recon_sources.hpp,
// docs/reconciliation.md). Each reads exact numbers and names the bad field.
#include "meterbridge/core/recon_sources.hpp"

#include <algorithm>

#include "meterbridge/core/exact_json.hpp"
#include "recon_text.hpp"

namespace meterbridge::recon {
namespace {

using detail::iequals;
using detail::lower;



// An object's fields, with the path of the object for error messages.
class Fields {
public:
    Fields(const Json& object, std::string path, bool any_case = false)
        : object_(object), path_(std::move(path)), any_case_(any_case) {}

    std::string path(std::string_view name) const { return path_.empty() ? std::string(name) : path_ + "." + std::string(name); }

    const Json* find(std::string_view name) const {
        const auto it = object_.find(std::string(name));
        if (it != object_.end()) return &*it;
        if (any_case_) {
            for (auto item = object_.begin(); item != object_.end(); ++item) {
                if (iequals(item.key(), name)) return &*item;
            }
        }
        return nullptr;
    }

    // Absent or null -> nullopt; another type than string -> Error.
    Result<std::optional<std::string>> optional_text(std::string_view name) const {
        const Json* value = find(name);
        if (!value || value->is_null()) return std::optional<std::string>{};
        if (!value->is_string()) return make_error("invalid_field", path(name) + " must be a string", path(name));
        return std::optional<std::string>{value->get<std::string>()};
    }

    Result<std::string> text(std::string_view name) const {
        auto value = optional_text(name);
        if (!value) return value.error();
        if (!*value || (*value)->empty()) return make_error("missing_field", path(name) + " is required", path(name));
        return std::move(**value);
    }

    Result<std::optional<Decimal>> optional_quantity(std::string_view name, bool may_be_negative) const {
        const Json* value = find(name);
        if (!value || value->is_null()) return std::optional<Decimal>{};
        auto quantity = decimal_from_json(*value, path(name));
        if (!quantity) return quantity.error();
        if (!may_be_negative && quantity->is_negative()) {
            return make_error("invalid_field", path(name) + " must not be negative, got " + quantity->to_string(),
                              path(name));
        }
        return std::optional<Decimal>{*quantity};
    }

    Result<Decimal> quantity(std::string_view name, bool may_be_negative) const {
        auto value = optional_quantity(name, may_be_negative);
        if (!value) return value.error();
        if (!*value) return make_error("missing_field", path(name) + " is required", path(name));
        return **value;
    }

    // An ISO-8601 instant ("2020-11-30T00:00:00", zone optional) or a bare
    // "YYYY-MM-DD": its UTC day.
    Result<Day> day(std::string_view name) const {
        auto value = text(name);
        if (!value) return value.error();
        std::optional<Day> found;
        if (auto instant = parse_iso8601(*value)) {
            found = day_of(*instant);
        } else if (auto day = parse_day(*value)) {
            found = *day;
        }
        // An offset can move a day out of the years a "YYYY-MM-DD" can name.
        if (found && parse_day(format_day(*found)).ok()) return *found;
        return make_error("invalid_field", path(name) + " must be an ISO-8601 date, got '" + value->substr(0, 40) + "'",
                          path(name));
    }

private:
    const Json& object_;
    std::string path_;
    bool any_case_;
};

Result<Json> parse_body(std::string_view body, std::string_view what) {
    auto json = parse_exact_json(body);
    if (!json) return make_error("invalid_json", std::string(what) + ": " + json.error().message, "");
    return json;
}

Result<AzureRow> usage_event_row(const Json& item, const std::string& path) {
    if (!item.is_object()) return make_error("invalid_field", path + " must be an object", path);
    const Fields f(item, path);
    AzureRow row;
    row.source = Source::UsageEvents;
    auto day = f.day("usageDate");
    if (!day) return day.error();
    auto resource = f.text("usageResourceId");
    if (!resource) return resource.error();
    auto dimension = f.text("dimension");
    if (!dimension) return dimension.error();
    auto status = f.text("reconStatus");
    if (!status) return status.error();
    // A Submitted row is not processed yet: Azure may leave processedQuantity out.
    auto processed = f.optional_quantity("processedQuantity", false);
    if (!processed) return processed.error();
    if (!*processed && !iequals(*status, "Submitted")) {
        return make_error("missing_field", f.path("processedQuantity") + " is required", f.path("processedQuantity"));
    }
    auto submitted = f.optional_quantity("submittedQuantity", false);
    if (!submitted) return submitted.error();
    auto plan = f.optional_text("planId");
    if (!plan) return plan.error();
    auto offer = f.optional_text("offerId");
    if (!offer) return offer.error();
    auto subscription = f.optional_text("azureSubscriptionId");
    if (!subscription) return subscription.error();
    row.key = Key{lower(*resource), std::move(*dimension), *day};
    row.quantity = processed->value_or(Decimal{});
    row.submitted_quantity = *submitted;
    row.status = std::move(*status);
    row.azure_subscription_id = lower(subscription->value_or(""));
    row.plan = plan->value_or("");
    row.offer = offer->value_or("");
    return row;
}

Result<ExportManifest> manifest_of(const Json& object, const std::string& path) {
    if (!object.is_object()) return make_error("invalid_field", (path.empty() ? "the manifest" : path) + " must be an object", path);
    const Fields f(object, path);
    ExportManifest m;
    auto root = f.text("rootDirectory");
    if (!root) return root.error();
    m.root_directory = std::move(*root);
    for (auto [name, target] : {std::pair{"id", &m.id}, std::pair{"sasToken", &m.sas_token},
                                std::pair{"dataFormat", &m.data_format}, std::pair{"schemaVersion", &m.schema_version},
                                std::pair{"eTag", &m.etag}}) {
        auto value = f.optional_text(name);
        if (!value) return value.error();
        *target = value->value_or("");
    }
    const Json* blobs = f.find("blobs");
    if (!blobs || !blobs->is_array()) return make_error("invalid_field", f.path("blobs") + " must be an array", f.path("blobs"));
    for (std::size_t i = 0; i < blobs->size(); ++i) {
        const std::string blob_path = f.path("blobs") + "[" + std::to_string(i) + "]";
        if (!(*blobs)[i].is_object()) return make_error("invalid_field", blob_path + " must be an object", blob_path);
        const Fields b((*blobs)[i], blob_path);
        auto name = b.text("name");
        if (!name) return name.error();
        auto partition = b.optional_text("partitionValue");
        if (!partition) return partition.error();
        m.blobs.push_back({std::move(*name), partition->value_or("")});
    }
    m.blob_count = static_cast<long long>(m.blobs.size());
    if (const Json* count = f.find("blobCount"); count && !count->is_null()) {
        if (!count->is_number_integer() || count->get<long long>() < 0) {
            return make_error("invalid_field", f.path("blobCount") + " must be a whole number >= 0", f.path("blobCount"));
        }
        m.blob_count = count->get<long long>();
    }
    return m;
}

}  // namespace

Result<UsageEventsPage> parse_usage_events(std::string_view body) {
    auto json = parse_body(body, "usageEvents response");
    if (!json) return json.error();
    UsageEventsPage page;
    const Json* rows = &*json;
    std::string prefix;
    if (json->is_object()) {
        const Fields f(*json, "");
        rows = f.find("value");
        prefix = "value";
        if (!rows || !rows->is_array()) return make_error("invalid_field", "value must be an array", "value");
        for (const char* name : {"@nextLink", "nextLink", "@odata.nextLink"}) {
            auto link = f.optional_text(name);
            if (!link) return link.error();
            if (*link && !(*link)->empty()) page.next_link = **link;
        }
    } else if (!json->is_array()) {
        return make_error("invalid_field", "the usageEvents response must be an array or an object with value", "");
    }
    page.rows.reserve(rows->size());
    for (std::size_t i = 0; i < rows->size(); ++i) {
        auto row = usage_event_row((*rows)[i], prefix + "[" + std::to_string(i) + "]");
        if (!row) return row.error();
        page.rows.push_back(std::move(*row));
    }
    return page;
}

std::string blob_url(const ExportManifest& manifest, const ExportManifest::Blob& blob) {
    std::string url = manifest.root_directory;
    if (!url.empty() && url.back() != '/' && !blob.name.starts_with('/')) url.push_back('/');
    url += blob.name;
    if (!manifest.sas_token.empty()) url += (manifest.sas_token.starts_with('?') ? "" : "?") + manifest.sas_token;
    return url;
}

Result<ExportOperation> parse_export_operation(std::string_view body) {
    auto json = parse_body(body, "export operation");
    if (!json) return json.error();
    if (!json->is_object()) return make_error("invalid_field", "the export operation must be an object", "");
    const Fields f(*json, "");
    ExportOperation op;
    auto id = f.optional_text("id");
    if (!id) return id.error();
    op.id = id->value_or("");
    auto status = f.text("status");
    if (!status) return status.error();
    if (iequals(*status, "notStarted")) {
        op.status = ExportOperation::Status::NotStarted;
    } else if (iequals(*status, "running")) {
        op.status = ExportOperation::Status::Running;
    } else if (iequals(*status, "succeeded") || iequals(*status, "completed")) {
        op.status = ExportOperation::Status::Succeeded;
    } else if (iequals(*status, "failed")) {
        op.status = ExportOperation::Status::Failed;
    } else {
        return make_error("invalid_field", "status '" + status->substr(0, 40) + "' is not an export operation status",
                          "status");
    }
    auto link = f.optional_text("resourceLocation@odata.navigationLink");
    if (!link) return link.error();
    op.manifest_link = link->value_or("");
    if (const Json* location = f.find("resourceLocation"); location && !location->is_null()) {
        if (location->is_string()) {
            op.manifest_link = location->get<std::string>();
        } else {
            auto manifest = manifest_of(*location, "resourceLocation");
            if (!manifest) return manifest.error();
            op.manifest = std::move(*manifest);
        }
    }
    if (op.status == ExportOperation::Status::Succeeded && op.manifest_link.empty() && !op.manifest) {
        return make_error("missing_field", "a succeeded operation needs resourceLocation", "resourceLocation");
    }
    if (const Json* error = f.find("error"); error && error->is_object()) {
        const Fields e(*error, "error");
        auto code = e.optional_text("code");
        if (!code) return code.error();
        auto message = e.optional_text("message");
        if (!message) return message.error();
        op.error_code = code->value_or("");
        op.error_message = message->value_or("");
    }
    return op;
}

Result<ExportManifest> parse_export_manifest(std::string_view body) {
    auto json = parse_body(body, "export manifest");
    if (!json) return json.error();
    return manifest_of(*json, "");
}

Result<AzureRow> parse_partner_billing_line(std::string_view line) {
    auto json = parse_body(line, "partner billing line");
    if (!json) return json.error();
    if (!json->is_object()) return make_error("invalid_field", "a partner billing line must be an object", "");
    const Fields f(*json, "", true);
    auto subscription = f.text("subscriptionId");
    if (!subscription) return subscription.error();
    auto meter = f.text("meterId");
    if (!meter) return meter.error();
    auto day = f.day("usageDate");
    if (!day) return day.error();
    auto quantity = f.quantity("quantity", true);
    if (!quantity) return quantity.error();
    auto sku = f.optional_text("skuId");
    if (!sku) return sku.error();
    auto product = f.optional_text("productId");
    if (!product) return product.error();
    AzureRow row;
    row.source = Source::PartnerBilling;
    row.key = Key{"", std::move(*meter), *day};
    row.quantity = *quantity;
    row.azure_subscription_id = lower(*subscription);
    row.plan = sku->value_or("");
    row.offer = product->value_or("");
    return row;
}

Result<std::vector<AzureRow>> parse_ea_charges(std::string_view body) {
    auto json = parse_body(body, "EA marketplace charges");
    if (!json) return json.error();
    if (!json->is_array()) return make_error("invalid_field", "the EA marketplace charges must be an array", "");
    std::vector<AzureRow> rows;
    for (std::size_t i = 0; i < json->size(); ++i) {
        const std::string path = "[" + std::to_string(i) + "]";
        const Json& item = (*json)[i];
        if (!item.is_object()) return make_error("invalid_field", path + " must be an object", path);
        const Fields f(item, path);
        bool recurring = false;
        if (const Json* flag = f.find("isRecurringCharge"); flag && !flag->is_null()) {
            if (flag->is_boolean()) {
                recurring = flag->get<bool>();
            } else if (flag->is_string() && (iequals(flag->get<std::string>(), "True") ||
                                             iequals(flag->get<std::string>(), "False"))) {
                recurring = iequals(flag->get<std::string>(), "True");
            } else {
                return make_error("invalid_field", f.path("isRecurringCharge") + " must be \"True\" or \"False\"",
                                  f.path("isRecurringCharge"));
            }
        }
        auto subscription = f.text("subscriptionGuid");
        if (!subscription) return subscription.error();
        auto meter = f.text("meterId");
        if (!meter) return meter.error();
        auto day = f.day("usageStartDate");
        if (!day) return day.error();
        auto quantity = f.quantity("consumedQuantity", false);
        if (!quantity) return quantity.error();
        auto plan = f.optional_text("planName");
        if (!plan) return plan.error();
        auto offer = f.optional_text("offerName");
        if (!offer) return offer.error();
        if (recurring) continue;
        AzureRow row;
        row.source = Source::EaCharges;
        row.key = Key{"", std::move(*meter), *day};
        row.quantity = *quantity;
        row.azure_subscription_id = lower(*subscription);
        row.plan = plan->value_or("");
        row.offer = offer->value_or("");
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace meterbridge::recon

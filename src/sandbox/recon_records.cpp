#include "meterbridge/sandbox/recon_records.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

#include "json_writer.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/sandbox/sandbox_core.hpp"

namespace meterbridge::sandbox {

using detail::ObjectWriter;

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

Error plant_error(std::string message, std::string field) {
    return make_error("invalid_plant", std::move(message), std::move(field));
}

Result<std::string> required_string(const Json& root, const char* key) {
    const auto it = root.find(key);
    if (it == root.end() || !it->is_string() || it->get<std::string>().empty()) {
        return plant_error(std::string(key) + " is required (a non-empty string)", key);
    }
    return it->get<std::string>();
}

// "1.5" or 1.5: both keep their exact text.
Result<std::optional<Decimal>> optional_quantity(const Json& root) {
    const auto it = root.find("quantity");
    if (it == root.end() || it->is_null()) return std::optional<Decimal>{};
    Result<Decimal> parsed = it->is_string() ? Decimal::parse(it->get<std::string>()) : decimal_from_json(*it, "quantity");
    if (!parsed) return plant_error("quantity must be a decimal string such as \"12.5\"", "quantity");
    if (parsed->is_zero() || parsed->is_negative()) return plant_error("quantity must be greater than 0", "quantity");
    return std::optional<Decimal>{*parsed};
}

Decimal clamp_subtract(const Decimal& from, const Decimal& amount) {
    auto left = from.subtract(amount);
    if (!left || left->is_negative()) return Decimal{};
    return *left;
}

}  // namespace

std::string_view to_string(PlantKind kind) {
    switch (kind) {
        case PlantKind::Rejected: return "rejected";
        case PlantKind::Mismatch: return "mismatch";
        case PlantKind::Extra: return "extra";
        case PlantKind::Missing: return "missing";
        case PlantKind::Bulk: return "bulk";
    }
    return "extra";
}

Result<Day> parse_day(std::string_view text) {
    const bool shaped = text.size() == 10 && text[4] == '-' && text[7] == '-' &&
                        std::all_of(text.begin(), text.end(), [](char c) { return c == '-' || std::isdigit(static_cast<unsigned char>(c)); });
    if (!shaped) return make_error("invalid_day", "expected a date YYYY-MM-DD, got '" + std::string(text) + "'");
    const auto instant = parse_iso8601(std::string(text) + "T00:00:00Z");
    if (!instant) return make_error("invalid_day", "expected a date YYYY-MM-DD, got '" + std::string(text) + "'");
    // parse_iso8601 may normalise 2026-02-30; refuse what does not round-trip.
    const Day day = std::chrono::floor<std::chrono::days>(*instant);
    if (format_day(day) != text) return make_error("invalid_day", "no such date: '" + std::string(text) + "'");
    return day;
}

std::string format_day(Day day) { return format_iso8601(Instant{day}).substr(0, 10); }

Result<Decimal> multiply(const Decimal& value, std::uint64_t count) {
    // Double-and-add on exact decimals: log2(count) additions, each checked.
    Decimal result;
    Decimal power = value;
    while (count > 0) {
        if (count & 1U) {
            auto sum = result.add(power);
            if (!sum) return sum.error();
            result = *sum;
        }
        count >>= 1U;
        if (count > 0) {
            auto doubled = power.add(power);
            if (!doubled) return doubled.error();
            power = *doubled;
        }
    }
    return result;
}

Result<Plant> Plant::parse(std::string_view json) {
    auto root = parse_exact_json(json);
    if (!root) return plant_error("the body is not JSON: " + root.error().message, "");
    if (!root->is_object()) return plant_error("the body must be a JSON object", "");
    Plant plant;
    const auto kind = root->find("kind");
    const std::string kind_text = kind != root->end() && kind->is_string() ? kind->get<std::string>() : "";
    if (kind_text == "rejected") {
        plant.kind = PlantKind::Rejected;
    } else if (kind_text == "mismatch") {
        plant.kind = PlantKind::Mismatch;
    } else if (kind_text == "extra") {
        plant.kind = PlantKind::Extra;
    } else if (kind_text == "missing") {
        plant.kind = PlantKind::Missing;
    } else if (kind_text == "bulk") {
        plant.kind = PlantKind::Bulk;
    } else {
        return plant_error("kind must be rejected, mismatch, extra, missing or bulk", "kind");
    }
    auto resource = required_string(*root, "resourceId");
    if (!resource) return resource.error();
    plant.resource_id = *resource;
    auto dimension = required_string(*root, "dimension");
    if (!dimension) return dimension.error();
    plant.dimension = *dimension;
    auto day_text = required_string(*root, "day");
    if (!day_text) return day_text.error();
    auto day = parse_day(*day_text);
    if (!day) return plant_error(day.error().message, "day");
    plant.day = *day;
    if (const auto plan = root->find("planId"); plan != root->end()) {
        if (!plan->is_string()) return plant_error("planId must be a string", "planId");
        plant.plan_id = plan->get<std::string>();
    }
    auto quantity = optional_quantity(*root);
    if (!quantity) return quantity.error();
    plant.quantity = *quantity;
    const bool needs_quantity = plant.kind == PlantKind::Mismatch || plant.kind == PlantKind::Extra;
    if (needs_quantity && !plant.quantity) return plant_error("quantity is required for kind " + kind_text, "quantity");
    if (const auto lines = root->find("lines"); lines != root->end()) {
        if (plant.kind != PlantKind::Bulk) return plant_error("lines is only for kind bulk", "lines");
        if (!lines->is_number_integer() || lines->get<long long>() < 1 || lines->get<long long>() > 100'000'000) {
            return plant_error("lines must be an integer 1..100000000", "lines");
        }
        plant.lines = static_cast<std::uint64_t>(lines->get<long long>());
    } else if (plant.kind == PlantKind::Bulk) {
        return plant_error("lines is required for kind bulk", "lines");
    }
    if (plant.kind == PlantKind::Bulk) {
        if (!plant.quantity) plant.quantity = Decimal::from_integer(1);
        if (!multiply(*plant.quantity, plant.lines)) return plant_error("lines × quantity is too large", "lines");
    }
    return plant;
}

std::string plant_json(const Plant& plant) {
    ObjectWriter w;
    w.str("id", plant.id)
        .str("kind", to_string(plant.kind))
        .str("resourceId", plant.resource_id)
        .str("dimension", plant.dimension)
        .str("day", format_day(plant.day))
        .str("planId", plant.plan_id)
        .raw("quantity", plant.quantity ? detail::quote(plant.quantity->to_string()) : "null")
        .num("lines", static_cast<long long>(plant.lines));
    return w.done();
}

ResourceFacts resource_facts(const SandboxCatalog* catalog, std::string_view resource_id) {
    ResourceFacts facts;
    if (catalog) {
        for (const auto& s : catalog->subscriptions) {
            if (!net::iequals(s.resource_id, resource_id)) continue;
            facts.azure_subscription_id = s.azure_subscription_id;
            facts.offer_id = s.offer_id;
            facts.plan_id = s.plan_id;
        }
    }
    if (facts.azure_subscription_id.empty()) facts.azure_subscription_id = lower(resource_id);
    if (facts.offer_id.empty()) facts.offer_id = std::string(kFallbackOfferId);
    return facts;
}

Result<std::vector<AzureDayRecord>> azure_day_records(const std::vector<AcceptedEvent>& events,
                                                      const std::vector<Plant>& plants, Day first, Day last,
                                                      Instant now, Duration processing_delay) {
    struct Row {
        AzureDayRecord record;
        Instant last_received{};
        bool has_events = false;
    };
    using Key = std::tuple<std::string, std::string, std::string, Day>;
    std::map<Key, Row> rows;
    for (const auto& event : events) {
        const Day day = std::chrono::floor<std::chrono::days>(event.effective_start_time);
        if (day < first || day > last) continue;
        Row& row = rows[{lower(event.resource_id), event.plan_id, event.dimension, day}];
        if (row.record.resource_id.empty()) {
            row.record.resource_id = event.resource_id;
            row.record.plan_id = event.plan_id;
            row.record.dimension = event.dimension;
            row.record.day = day;
        }
        auto sum = row.record.submitted.add(event.quantity);
        if (!sum) return sum.error();
        row.record.submitted = *sum;
        ++row.record.submitted_count;
        row.last_received = row.has_events ? std::max(row.last_received, event.message_time) : event.message_time;
        row.has_events = true;
    }
    const auto in_range = [&](const Plant& p) { return p.day >= first && p.day <= last; };
    // The rows of a (resource, dimension, day), whatever their plan.
    const auto matching = [&](const Plant& p) {
        std::vector<Row*> found;
        for (auto& [key, row] : rows) {
            if (std::get<0>(key) == lower(p.resource_id) && std::get<2>(key) == p.dimension && std::get<3>(key) == p.day) {
                found.push_back(&row);
            }
        }
        return found;
    };
    for (const auto& plant : plants) {
        if (!in_range(plant) || (plant.kind != PlantKind::Extra && plant.kind != PlantKind::Bulk)) continue;
        Row& row = rows[{lower(plant.resource_id), plant.plan_id, plant.dimension, plant.day}];
        if (row.record.resource_id.empty()) {
            row.record.resource_id = plant.resource_id;
            row.record.plan_id = plant.plan_id;
            row.record.dimension = plant.dimension;
            row.record.day = plant.day;
        }
        auto added = plant.kind == PlantKind::Bulk ? multiply(*plant.quantity, plant.lines) : Result<Decimal>(*plant.quantity);
        if (!added) return added.error();
        auto sum = row.record.submitted.add(*added);
        if (!sum) return sum.error();
        row.record.submitted = *sum;
        if (plant.kind == PlantKind::Bulk) {
            row.record.submitted_count += static_cast<long long>(plant.lines);
            row.record.bulk_lines += plant.lines;
            row.record.bulk_line_quantity = *plant.quantity;
        } else {
            ++row.record.submitted_count;
        }
    }
    for (const auto& plant : plants) {
        if (!in_range(plant) || plant.kind != PlantKind::Missing) continue;
        for (Row* row : matching(plant)) {
            row->record.submitted = plant.quantity ? clamp_subtract(row->record.submitted, *plant.quantity) : Decimal{};
        }
    }
    std::erase_if(rows, [](const auto& entry) { return entry.second.record.submitted.is_zero(); });
    for (auto& [key, row] : rows) {
        AzureDayRecord& record = row.record;
        const Instant day_end = Instant{record.day + std::chrono::days{1}};
        const Instant settled = (row.has_events ? std::max(day_end, row.last_received) : day_end) + processing_delay;
        record.recon_status = now >= settled ? "Accepted" : "Submitted";
        record.processed = record.recon_status == "Accepted" ? record.submitted : Decimal{};
    }
    for (const auto& plant : plants) {
        if (!in_range(plant) || (plant.kind != PlantKind::Rejected && plant.kind != PlantKind::Mismatch)) continue;
        for (Row* row : matching(plant)) {
            row->record.recon_status = plant.kind == PlantKind::Rejected ? "Rejected" : "Mismatch";
            row->record.processed = plant.kind == PlantKind::Rejected ? Decimal{} : *plant.quantity;
        }
    }
    std::vector<AzureDayRecord> out;
    out.reserve(rows.size());
    for (auto& [key, row] : rows) out.push_back(std::move(row.record));
    return out;
}

}  // namespace meterbridge::sandbox

// The comparison of our ledger with Azure's evidence, and the settlement
// proposals for unresolved events (rules: recon.hpp, docs/reconciliation.md).
#include <algorithm>
#include <set>
#include <tuple>

#include "meterbridge/core/recon.hpp"
#include "recon_text.hpp"

namespace meterbridge::recon {
namespace {

using detail::iequals;
using detail::lower;

// Combinations of unresolved events are enumerated; past this many on one key
// (never seen: at most 24 slots a day) the key is undecidable rather than slow.
constexpr std::size_t kMaxUnresolvedPerKey = 16;


bool has_status(const AzureEvidence::Total* total, std::string_view status) {
    return total && std::any_of(total->statuses.begin(), total->statuses.end(),
                                [&](const std::string& s) { return iequals(s, status); });
}


std::string units(std::int64_t n) { return format_quantity(Decimal::from_integer(n)); }

// Our side of one key.
struct Ours {
    std::int64_t accepted = 0;
    std::vector<const LedgerEvent*> accepted_events;
    std::vector<const LedgerEvent*> unresolved;  // by id
};

// The verdict of one source on one key, before it is written per event.
struct KeyJudgement {
    Outcome outcome = Outcome::Matched;
    std::string note;
    // Why the key cannot settle anything (pending, Rejected, too many); empty if it can.
    std::string blocked;
    std::vector<std::uint32_t> explaining;  // masks over Ours::unresolved
};

std::string event_list(const Ours& ours, std::uint32_t mask) {
    std::string out;
    for (std::size_t i = 0; i < ours.unresolved.size(); ++i) {
        if (!(mask & (1u << i))) continue;
        out += " + event #" + std::to_string(ours.unresolved[i]->id) + " " + units(ours.unresolved[i]->quantity);
    }
    return out;
}

KeyJudgement judge(Source source, const Key& key, const Ours& ours, const AzureEvidence::Total* total,
                   const Options& options) {
    KeyJudgement j;
    const Decimal azure = total ? total->quantity : Decimal{};
    const std::string azure_text = format_quantity(azure);
    const std::string ours_text = units(ours.accepted);

    if (ours.unresolved.size() <= kMaxUnresolvedPerKey) {
        const std::uint32_t combinations = 1u << ours.unresolved.size();
        for (std::uint32_t mask = 0; mask < combinations; ++mask) {
            std::int64_t sum = ours.accepted;
            bool fits = true;
            for (std::size_t i = 0; i < ours.unresolved.size() && fits; ++i) {
                if (mask & (1u << i)) fits = !__builtin_add_overflow(sum, ours.unresolved[i]->quantity, &sum);
            }
            if (fits && Decimal::from_integer(sum) == azure) j.explaining.push_back(mask);
        }
    } else {
        j.blocked = std::to_string(ours.unresolved.size()) + " unresolved events on one key: too many combinations";
    }

    const auto final_at = Instant{key.day + std::chrono::days{1}} +
                          (options.processing_delay.count(source) ? options.processing_delay.at(source)
                                                                  : default_processing_delay(source));
    if (has_status(total, "Rejected")) {
        j.outcome = Outcome::Rejected;
        j.note = "Azure's reconStatus is Rejected (Azure " + azure_text + ", ours " + ours_text + ")";
        j.blocked = "Azure rejected the day's usage";
    } else if (has_status(total, "Mismatch")) {
        j.outcome = Outcome::Mismatch;
        j.note = "Azure's reconStatus is Mismatch (processed " + azure_text + ", submitted " +
                 format_quantity(total->submitted_quantity.value_or(Decimal{})) + ", ours " + ours_text + ")";
        j.blocked = "Azure reports a mismatch for the day";
    } else if (final_at > options.now || has_status(total, "Submitted")) {
        j.outcome = Outcome::Pending;
        j.note = has_status(total, "Submitted") ? "Azure's row is still Submitted"
                                                : "inside the processing delay: final at " + format_iso8601(final_at);
        j.note += " (Azure " + (total ? azure_text : std::string("no row")) + ", ours " + ours_text + ")";
        j.blocked = "not final yet: " + j.note;
    } else if (Decimal::from_integer(ours.accepted) == azure) {
        j.outcome = Outcome::Matched;
        j.note = "Azure " + (total ? azure_text : std::string("no row")) + " = ours " + ours_text;
        if (!ours.unresolved.empty()) j.note += "; the unresolved events are not recorded at Azure";
    } else if (!j.explaining.empty()) {
        j.outcome = Outcome::Matched;
        j.note = "Azure " + azure_text + " = accepted " + ours_text + event_list(ours, j.explaining.front());
        j.note += j.explaining.size() == 1
                      ? " (unresolved events recorded at Azure)"
                      : " (explained by unresolved events in " + std::to_string(j.explaining.size()) + " ways)";
    } else if (!total) {
        j.outcome = Outcome::MissingAtAzure;
        j.note = "we hold " + ours_text + " accepted; Azure has no row";
    } else if (ours.accepted == 0) {
        j.outcome = Outcome::UnknownToUs;
        j.note = "Azure " + azure_text + "; we hold nothing accepted";
    } else {
        j.outcome = Outcome::QuantityMismatch;
        auto difference = azure.subtract(Decimal::from_integer(ours.accepted));
        j.note = "Azure " + azure_text + ", ours " + ours_text;
        if (difference) {
            j.note += difference->is_negative() ? ": Azure has less by " + format_quantity(*difference->negate())
                                                : ": Azure has more by " + format_quantity(*difference);
        }
    }
    if (!ours.unresolved.empty() && j.outcome != Outcome::Matched && j.outcome != Outcome::Pending &&
        j.outcome != Outcome::Rejected && j.outcome != Outcome::Mismatch) {
        j.note += j.blocked.empty() ? "; no combination of the unresolved events explains it" : "; " + j.blocked;
    }
    return j;
}

Evidence evidence_for(Source source, const Key& key, const Ours& ours, const AzureEvidence::Total* total,
                      const KeyJudgement& j, std::size_t index) {
    Evidence e{source, Settlement::Undecidable, {}};
    const std::string prefix = std::string(to_string(source)) + " " + format_day(key.day) + ": ";
    const LedgerEvent& event = *ours.unresolved[index];
    const std::uint32_t bit = 1u << index;
    if (!j.blocked.empty()) {
        e.arithmetic = prefix + j.blocked;
        return e;
    }
    const std::string azure = "Azure " + (total ? format_quantity(total->quantity) : std::string("no row (0)"));
    const std::string accepted = "accepted " + units(ours.accepted);
    if (j.explaining.empty()) {
        e.arithmetic = prefix + azure + " is not " + accepted + " plus any combination of the unresolved events";
        return e;
    }
    const bool all_hold = std::all_of(j.explaining.begin(), j.explaining.end(), [&](auto m) { return (m & bit) != 0; });
    const bool none_hold = std::none_of(j.explaining.begin(), j.explaining.end(), [&](auto m) { return (m & bit) != 0; });
    if (all_hold) {
        e.verdict = Settlement::Recorded;
        e.arithmetic = prefix + azure + " = " + accepted + event_list(ours, j.explaining.front() & ~bit) +
                       " + this event " + units(event.quantity);
    } else if (none_hold) {
        e.verdict = Settlement::NotRecorded;
        e.arithmetic = prefix + azure + " = " + accepted + event_list(ours, j.explaining.front()) +
                       ", without this event " + units(event.quantity);
    } else {
        e.arithmetic = prefix + "ambiguous: " + azure + " = " + accepted;
        for (std::size_t n = 0; n < j.explaining.size(); ++n) {
            e.arithmetic += (n ? " or " : " ") + (j.explaining[n] ? event_list(ours, j.explaining[n]).substr(1) : "nothing");
        }
    }
    return e;
}

Proposal combine(std::int64_t event_id, std::vector<Evidence> evidence) {
    Proposal p{event_id, Settlement::Undecidable, {}, std::move(evidence)};
    std::set<Settlement> verdicts;
    const Evidence* first = nullptr;
    for (const auto& e : p.evidence) {
        if (e.verdict == Settlement::Undecidable) continue;
        verdicts.insert(e.verdict);
        if (!first) first = &e;
    }
    if (verdicts.size() == 1) {
        p.verdict = first->verdict;
        p.reason = first->arithmetic;
    } else if (verdicts.size() > 1) {
        p.reason = "sources disagree";
        for (const auto& e : p.evidence) {
            if (e.verdict != Settlement::Undecidable) p.reason += "; " + e.arithmetic;
        }
    } else if (p.evidence.empty()) {
        p.reason = "no source to decide from";
    } else {
        for (const auto& e : p.evidence) p.reason += (p.reason.empty() ? "" : "; ") + e.arithmetic;
    }
    return p;
}

Error overflow_error() { return make_error("invalid_field", "sum of our quantities out of range", "quantity"); }

}  // namespace

bool Report::has_discrepancies() const {
    return std::any_of(rows.begin(), rows.end(),
                       [](const Row& r) { return r.outcome != Outcome::Matched && r.outcome != Outcome::Pending; });
}

Result<Report> compare(const std::vector<LedgerEvent>& events, const AzureEvidence& azure, const Options& options) {
    if (options.from_day > options.to_day) {
        return make_error("invalid_field", "from " + format_day(options.from_day) + " is after to " + format_day(options.to_day),
                          "from");
    }
    const auto in_range = [&](Day day) { return day >= options.from_day && day <= options.to_day; };

    std::map<Key, Ours> ours;
    for (const auto& event : events) {
        Key key{lower(event.resource_id), event.dimension, day_of(event.effective_start)};
        if (!in_range(key.day)) continue;
        if (event.quantity <= 0) {
            return make_error("invalid_field", "event #" + std::to_string(event.id) + " has quantity " +
                                                   std::to_string(event.quantity) + ", not > 0",
                              "quantity");
        }
        Ours& side = ours[key];
        if (event.state == LedgerEvent::State::Accepted) {
            if (__builtin_add_overflow(side.accepted, event.quantity, &side.accepted)) return overflow_error();
            side.accepted_events.push_back(&event);
        } else {
            side.unresolved.push_back(&event);
        }
    }
    for (auto& [key, side] : ours) {
        std::sort(side.unresolved.begin(), side.unresolved.end(), [](auto* a, auto* b) { return a->id < b->id; });
    }

    std::vector<Source> sources;
    for (Source s : options.sources) {
        if (std::find(sources.begin(), sources.end(), s) == sources.end()) sources.push_back(s);
    }

    Report report;
    for (Outcome o : {Outcome::Matched, Outcome::MissingAtAzure, Outcome::UnknownToUs, Outcome::QuantityMismatch,
                      Outcome::Rejected, Outcome::Mismatch, Outcome::Pending}) {
        report.totals[o] = 0;
    }
    std::map<std::int64_t, std::vector<Evidence>> evidence_by_event;
    std::map<std::tuple<std::string, std::string, Source>, std::map<Outcome, std::int64_t>> rollups;
    static const Ours kNothing;

    for (Source source : sources) {
        std::set<Key> keys;
        for (const auto& [key, side] : ours) keys.insert(key);
        for (const auto& [source_key, total] : azure.totals()) {
            if (source_key.first == source && in_range(source_key.second.day)) keys.insert(source_key.second);
        }
        for (const Key& key : keys) {
            const auto found = ours.find(key);
            const Ours& side = found == ours.end() ? kNothing : found->second;
            const auto azure_it = azure.totals().find({source, key});
            const AzureEvidence::Total* total = azure_it == azure.totals().end() ? nullptr : &azure_it->second;
            const KeyJudgement j = judge(source, key, side, total, options);

            Row row{source, key, j.outcome, Decimal::from_integer(side.accepted),
                    total ? std::optional<Decimal>(total->quantity) : std::nullopt, j.note, {}, {}};
            std::map<std::pair<std::string, std::string>, std::int64_t> shares;
            for (const LedgerEvent* event : side.accepted_events) {
                for (const auto& share : event->shares) {
                    auto& sum = shares[{share.integration_id, share.bill_id}];
                    if (__builtin_add_overflow(sum, share.units, &sum)) return overflow_error();
                }
            }
            for (const auto& [bill, sum] : shares) {
                row.shares.push_back(BillShare{bill.first, bill.second, sum});
                auto& rolled = rollups[{bill.first, bill.second, source}][j.outcome];
                if (__builtin_add_overflow(rolled, sum, &rolled)) return overflow_error();
            }
            for (std::size_t i = 0; i < side.unresolved.size(); ++i) {
                row.unresolved_event_ids.push_back(side.unresolved[i]->id);
                evidence_by_event[side.unresolved[i]->id].push_back(evidence_for(source, key, side, total, j, i));
            }
            ++report.totals[j.outcome];
            report.rows.push_back(std::move(row));
        }
    }

    for (const auto& [key, side] : ours) {
        for (const LedgerEvent* event : side.unresolved) evidence_by_event.try_emplace(event->id);
    }
    for (auto& [id, evidence] : evidence_by_event) report.proposals.push_back(combine(id, std::move(evidence)));
    for (auto& [bill, by_outcome] : rollups) {
        report.bills.push_back(BillRollup{std::get<0>(bill), std::get<1>(bill), std::get<2>(bill), std::move(by_outcome)});
    }
    std::sort(report.rows.begin(), report.rows.end(),
              [](const Row& a, const Row& b) { return std::tie(a.source, a.key) < std::tie(b.source, b.key); });
    for (auto& unmapped : azure.unmapped()) {
        if (in_range(unmapped.day) && std::find(sources.begin(), sources.end(), unmapped.source) != sources.end()) {
            report.unmapped.push_back(std::move(unmapped));
        }
    }
    return report;
}

}  // namespace meterbridge::recon

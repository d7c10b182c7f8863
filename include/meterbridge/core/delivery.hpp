#pragma once
// What a webhook delivery does to its bill (SPEC §4): a rule of the domain,
// decided here. The store loads what the rule needs (the bill's current
// version, the stored versions with the same number), calls
// classify_delivery inside its write transaction, and persists the outcome.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace meterbridge {

// What became of one webhook delivery.
enum class DeliveryResult {
    New,      // a bill version not seen before: stored unprocessed (202)
    Repeat,   // the same bill id, version, kind and content as a stored one: nothing changes (200)
    Older,    // lower than the bill's current version (or after its deletion): kept for the record, ignored (200)
    Invalid,  // malformed or failed validation: kept for the record only (400)
    Ignored,  // a valid delivery that carries no bill (an event meterbridge does not handle) (200)
};

// The bill version a delivery would add.
struct IncomingVersion {
    std::int64_t version = 0;
    bool deleted = false;       // a deletion of the bill
    std::string content_hash;   // of the bill's exact JSON text
};

// A stored version of the same bill with the incoming version's number.
struct StoredVersion {
    std::int64_t id = 0;
    bool deleted = false;
    std::string content_hash;
};

// The bill's current version as stored.
struct CurrentVersion {
    std::int64_t version = 0;
    bool deleted = false;
};

struct DeliveryClassification {
    DeliveryResult result = DeliveryResult::New;  // New, Repeat or Older
    std::int64_t repeat_of = 0;                   // Repeat: the id of the identical stored version
};

// New / Repeat / Older. Rules: identical (version, deletion, content) to a
// stored version -> Repeat; after a deletion everything else is Older (a
// deleted bill stays deleted); a deletion of a live bill is New whatever its
// version; otherwise a lower version is Older, and a higher one, or the same
// version with other content (m3ter changed it in place), New.
// `same_number`: the bill's stored versions whose number is incoming.version;
// `current`: nullopt for a bill not stored yet.
DeliveryClassification classify_delivery(const IncomingVersion& incoming, std::span<const StoredVersion> same_number,
                                         const std::optional<CurrentVersion>& current);

}  // namespace meterbridge

#include "meterbridge/core/delivery.hpp"

namespace meterbridge {

DeliveryClassification classify_delivery(const IncomingVersion& incoming, std::span<const StoredVersion> same_number,
                                         const std::optional<CurrentVersion>& current) {
    for (const StoredVersion& stored : same_number) {
        if (stored.deleted == incoming.deleted && stored.content_hash == incoming.content_hash) {
            return {DeliveryResult::Repeat, stored.id};
        }
    }
    if (!current) return {DeliveryResult::New, 0};
    if (current->deleted) return {DeliveryResult::Older, 0};
    if (incoming.deleted) return {DeliveryResult::New, 0};
    return {incoming.version < current->version ? DeliveryResult::Older : DeliveryResult::New, 0};
}

}  // namespace meterbridge

#pragma once
// How domain values are written to and read from columns: instants as
// milliseconds, enums as words, lists as JSON text. One place, so that every
// repository file writes the same representation.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/conversion.hpp"
#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/integration.hpp"
#include "meterbridge/core/outbox.hpp"
#include "meterbridge/store/records.hpp"

namespace meterbridge::store {

std::int64_t to_ms(Instant instant);
Instant from_ms(std::int64_t ms);

std::string_view bill_status_name(BillStatus status);  // "PENDING" | "APPROVED"
BillStatus bill_status_from(std::string_view text);
std::string_view event_kind_name(BillEventKind kind);  // "created" | "updated" | "deleted" | "other"
BillEventKind event_kind_from(std::string_view text);
std::optional<DeliveryResult> delivery_result_from(std::string_view text);
EventState event_state_or_throw(std::string_view text);
std::optional<SkipReason> skip_reason_from(std::string_view text);
std::optional<HoldReason> hold_reason_from(std::string_view text);
std::optional<MappingEntity> mapping_entity_from(std::string_view text);
std::optional<ExternalTable> external_table_from(std::string_view text);
std::optional<ExchangeKind> exchange_kind_from(std::string_view text);

// JSON array of [name, value] pairs.
std::string headers_to_json(const HeaderList& headers);
HeaderList headers_from_json(std::string_view json);

std::string targets_to_json(const std::vector<UsageTarget>& targets);
std::vector<UsageTarget> targets_from_json(std::string_view json);
std::string held_to_json(const std::vector<HeldLineItem>& held);
std::vector<HeldLineItem> held_from_json(std::string_view json);

// FNV-1a 64-bit of `bytes`, 16 hex digits: identifies a bill's content
// (equality of versions, not security).
std::string content_hash(std::string_view bytes);

// Reads a Decimal written by Decimal::to_string; zero if unreadable.
Decimal decimal_from_text(std::string_view text);

}  // namespace meterbridge::store

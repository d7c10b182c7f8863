#pragma once
// Column lists and row readers shared by the repository files. Each
// *_COLUMNS macro is a string literal so that queries stay literals
// (Database::prepare caches by address and never sees run-time SQL text);
// the matching read_* function reads a row selected with it, from column 0.
#include "codec.hpp"
#include "meterbridge/store/records.hpp"
#include "sqlite.hpp"

// bill_versions AS bv joined with bills AS b.
#define MB_BILL_VERSION_COLUMNS                                                                                 \
    "bv.id, bv.bill_id, bv.version, bv.account_id, bv.account_code, bv.status, bv.event_kind, bv.deleted, "    \
    "(b.current_version_id = bv.id), bv.content_hash, bv.bill_json, bv.delivery_id, bv.received_at, "          \
    "bv.processed, bv.processed_at, bv.retry_attempts, bv.retry_at, bv.retry_reason"

// events AS e.
#define MB_EVENT_COLUMNS                                                                                        \
    "e.id, e.resource_id, e.plan_id, e.dimension, e.quantity, e.effective_start, e.state, e.attempts, "        \
    "e.next_attempt_at, e.usage_event_id, e.message_time, e.error_code, e.error_message, e.created_at, "       \
    "e.updated_at, e.maybe_sent"

// integration_runs AS r joined with bill_versions AS bv.
#define MB_RUN_COLUMNS                                                                                          \
    "r.id, r.bill_version_id, r.bill_id, bv.version, r.account_id, r.integration_id, "                         \
    "COALESCE((SELECT s.snapshot FROM config_snapshots s WHERE s.id = r.config_snapshot_id), r.config_snapshot), " \
    "r.skip_reason, r.targets, r.held, r.error, r.started_at, r.finished_at"

// deliveries AS d.
#define MB_DELIVERY_COLUMNS                                                                                     \
    "d.id, d.received_at, d.remote_addr, d.headers, d.body, d.body_bytes, d.result, d.event_id, d.event_name, " \
    "d.bill_id, d.bill_version, d.error_code, d.error_message, d.error_field"

// exchanges AS x.
#define MB_EXCHANGE_COLUMNS                                                                                     \
    "x.id, x.kind, x.method, x.url, x.status, x.request_headers, x.request_body, x.response_headers, "         \
    "x.response_body, x.request_id, x.correlation_id, x.batch_id, x.delivery_id, x.started_at, x.duration_ms, " \
    "x.error, x.reconciliation_id"

namespace meterbridge::store {

BillVersionRecord read_bill_version(const sqlite::Statement& row);
IntegrationRunRecord read_run(const sqlite::Statement& row);
DeliveryRecord read_delivery(const sqlite::Statement& row);
StoredExchange read_exchange(const sqlite::Statement& row);  // links: batch_id, delivery_id, reconciliation_id only
void load_links(sqlite::Database& db, StoredExchange& exchange);  // run_ids, event_ids

// An event without shares (row of MB_EVENT_COLUMNS), and with them.
EventDetail read_event_row(const sqlite::Statement& row);
void load_shares(sqlite::Database& db, OutboxEvent& event);
std::optional<EventDetail> load_event(sqlite::Database& db, std::int64_t event_id);

}  // namespace meterbridge::store

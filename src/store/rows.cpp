#include "rows.hpp"

namespace meterbridge::store {

BillVersionRecord read_bill_version(const sqlite::Statement& row) {
    BillVersionRecord v;
    v.id = row.int64(0);
    v.bill_id = row.text(1);
    v.version = row.int64(2);
    v.account_id = row.text(3);
    v.account_code = row.text(4);
    v.status = bill_status_from(row.text(5));
    v.event_kind = event_kind_from(row.text(6));
    v.deleted = row.int64(7) != 0;
    v.current = row.int64(8) != 0;
    v.content_hash = row.text(9);
    v.bill_json = row.text(10);
    v.delivery_id = row.int64(11);
    v.received_at = from_ms(row.int64(12));
    v.processed = row.int64(13) != 0;
    if (auto at = row.optional_int64(14)) v.processed_at = from_ms(*at);
    v.retry_attempts = row.integer(15);
    if (auto at = row.optional_int64(16)) v.retry_at = from_ms(*at);
    v.retry_reason = row.text(17);
    return v;
}

IntegrationRunRecord read_run(const sqlite::Statement& row) {
    IntegrationRunRecord r;
    r.id = row.int64(0);
    r.bill_version_id = row.int64(1);
    r.bill_id = row.text(2);
    r.bill_version = row.int64(3);
    r.account_id = row.text(4);
    r.integration_id = row.text(5);
    r.config_snapshot = row.text(6);
    r.skipped = skip_reason_from(row.text(7)).value_or(SkipReason::None);
    r.targets = targets_from_json(row.text(8));
    r.held = held_from_json(row.text(9));
    r.error = row.text(10);
    r.started_at = from_ms(row.int64(11));
    r.finished_at = from_ms(row.int64(12));
    return r;
}

DeliveryRecord read_delivery(const sqlite::Statement& row) {
    DeliveryRecord d;
    d.id = row.int64(0);
    d.received_at = from_ms(row.int64(1));
    d.remote_addr = row.text(2);
    if (auto headers = row.optional_text(3)) d.headers = headers_from_json(*headers);
    d.body = row.optional_text(4);
    d.body_bytes = row.int64(5);
    d.result = delivery_result_from(row.text(6)).value_or(DeliveryResult::Invalid);
    d.event_id = row.text(7);
    d.event_name = row.text(8);
    d.bill_id = row.text(9);
    d.bill_version = row.optional_int64(10);
    if (auto code = row.optional_text(11)) d.error = Error{*code, row.text(12), row.text(13)};
    return d;
}

StoredExchange read_exchange(const sqlite::Statement& row) {
    StoredExchange s;
    s.id = row.int64(0);
    ExchangeRecord& x = s.record;
    x.kind = exchange_kind_from(row.text(1)).value_or(ExchangeKind::Azure);
    x.method = row.text(2);
    x.url = row.text(3);
    x.status = row.integer(4);
    x.request_headers = headers_from_json(row.text(5));
    x.request_body = row.text(6);
    x.response_headers = headers_from_json(row.text(7));
    x.response_body = row.text(8);
    x.request_id = row.text(9);
    x.correlation_id = row.text(10);
    s.links.batch_id = row.text(11);
    s.links.delivery_id = row.optional_int64(12);
    x.started = from_ms(row.int64(13));
    x.duration = Duration{row.int64(14)};
    x.error = row.text(15);
    s.links.reconciliation_id = row.optional_int64(16);
    return s;
}

EventDetail read_event_row(const sqlite::Statement& row) {
    EventDetail d;
    OutboxEvent& e = d.event;
    e.id = row.int64(0);
    e.request.resource_id = row.text(1);
    e.request.plan_id = row.text(2);
    e.request.dimension = row.text(3);
    e.request.quantity = row.int64(4);
    e.request.effective_start_time = from_ms(row.int64(5));
    e.state = event_state_or_throw(row.text(6));
    e.attempts = row.integer(7);
    e.next_attempt_at = from_ms(row.int64(8));
    e.usage_event_id = row.text(9);
    e.message_time = row.text(10);
    e.error_code = row.text(11);
    e.error_message = row.text(12);
    d.created_at = from_ms(row.int64(13));
    d.updated_at = from_ms(row.int64(14));
    e.maybe_sent = row.int64(15) != 0;
    return d;
}

void load_shares(sqlite::Database& db, OutboxEvent& event) {
    sqlite::Statement st = db.prepare(
        "SELECT integration_id, bill_id, resource_id, dimension, units FROM event_shares WHERE event_id = ?1 "
        "ORDER BY integration_id, bill_id, resource_id, dimension");
    st.bind_all(event.id);
    event.shares.clear();
    while (st.step()) {
        event.shares.push_back(EventShare{ShareKey{st.text(0), st.text(1), st.text(2), st.text(3)}, st.int64(4)});
    }
}

std::optional<EventDetail> load_event(sqlite::Database& db, std::int64_t event_id) {
    std::optional<EventDetail> detail;
    {
        sqlite::Statement st = db.prepare("SELECT " MB_EVENT_COLUMNS " FROM events e WHERE e.id = ?1");
        st.bind_all(event_id);
        if (st.step()) detail = read_event_row(st);
    }
    if (detail) load_shares(db, detail->event);
    return detail;
}

}  // namespace meterbridge::store

namespace meterbridge::store {

void load_links(sqlite::Database& db, StoredExchange& exchange) {
    {
        sqlite::Statement st = db.prepare("SELECT run_id FROM exchange_runs WHERE exchange_id = ?1 ORDER BY run_id");
        st.bind_all(exchange.id);
        while (st.step()) exchange.links.run_ids.push_back(st.int64(0));
    }
    sqlite::Statement st = db.prepare("SELECT event_id FROM exchange_events WHERE exchange_id = ?1 ORDER BY event_id");
    st.bind_all(exchange.id);
    while (st.step()) exchange.links.event_ids.push_back(st.int64(0));
}

}  // namespace meterbridge::store

// Settling `unresolved` events from reconciliation evidence (SPEC §8): the
// core decides (dispatch.hpp settle_by_evidence), the event moves through the
// same transition as Azure's answers (ledger_sql.hpp), and the settlement is
// recorded for ops, all in one transaction.
#include "ledger_sql.hpp"
#include "rows.hpp"
#include "sqlite_store.hpp"

namespace meterbridge::store {

namespace {

Error not_found_event(std::int64_t id) {
    return make_error(std::string(kNotFound), "no event " + std::to_string(id), "id");
}

// What the event row says of its settlement: there is no usage_event_id from
// Azure, so the code names how it was settled, and the message who and why.
EventDecision decision_for(const EventSettlementRequest& request, EventState state, std::int64_t quantity) {
    EventDecision d;
    const std::string by = "settled from reconciliation evidence (" + request.settled_by + "): ";
    if (state == EventState::Accepted) {
        d.kind = EventDecision::Kind::Accept;
        d.error_code = "SettledRecorded";
        d.error_message = by + "Azure holds it";
    } else {
        d.kind = EventDecision::Kind::Expire;
        d.error_code = "SettledNotRecorded";
        d.error_message = by + "Azure does not hold it; its " + std::to_string(quantity) + " units were re-queued";
    }
    if (!request.evidence.empty()) d.error_message += " (" + request.evidence + ")";
    return d;
}

}  // namespace

Status SqliteStore::settle_unresolved(const EventSettlementRequest& request, Instant now, const SlotPolicy& policy) {
    if (request.settled_by != "api" && request.settled_by != "auto") {
        return make_error(std::string(kInvalidField), "settled_by must be api or auto, not '" + request.settled_by + "'",
                          "settled_by");
    }
    return write([&](sqlite::Database& db) -> Status {
        const auto detail = load_event(db, request.event_id);
        if (!detail) return not_found_event(request.event_id);
        const OutboxEvent& e = detail->event;
        // Loaded and decided under the writer lock: a late answer from Azure
        // (settle) and a second settlement see the state this one leaves.
        auto state = settle_by_evidence(e, request.as, now);
        if (!state) return state.error();
        if (request.reconciliation_id &&
            !db.query_int("SELECT 1 FROM reconciliations WHERE id = ?1", *request.reconciliation_id)) {
            return make_error(std::string(kInvalidField),
                              "no reconciliation " + std::to_string(*request.reconciliation_id), "reconciliation_id");
        }
        const EventDecision decision = decision_for(request, *state, e.request.quantity);
        // Accepted: the units leave "in flight" for "accepted". Expired: they
        // are re-queued from a current slot, as for an event Azure expired.
        // Either way the bills it carries are reconciled with their targets.
        transition(db, e, *state, &decision, now, policy);
        db.run("INSERT INTO event_settlements (event_id, verdict, settled_by, evidence, reconciliation_id, "
               "previous_state, new_state, quantity, settled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
               e.id, recon::to_string(request.as), request.settled_by, request.evidence, request.reconciliation_id,
               to_string(e.state), to_string(*state), e.request.quantity, to_ms(now));
        return Ok{};
    });
}

Result<std::optional<EventSettlementRecord>> SqliteStore::event_settlement(std::int64_t event_id) {
    return read([&](sqlite::Database& db) -> Result<std::optional<EventSettlementRecord>> {
        if (!db.query_int("SELECT 1 FROM events WHERE id = ?1", event_id)) return not_found_event(event_id);
        sqlite::Statement st = db.prepare(
            "SELECT verdict, settled_by, evidence, reconciliation_id, previous_state, new_state, quantity, settled_at "
            "FROM event_settlements WHERE event_id = ?1");
        st.bind_all(event_id);
        if (!st.step()) return std::optional<EventSettlementRecord>{};
        EventSettlementRecord r;
        r.event_id = event_id;
        r.as = recon::settlement_from(st.text(0)).value_or(recon::Settlement::Undecidable);
        r.settled_by = st.text(1);
        r.evidence = st.text(2);
        r.reconciliation_id = st.optional_int64(3);
        r.previous_state = event_state_or_throw(st.text(4));
        r.new_state = event_state_or_throw(st.text(5));
        r.quantity = st.int64(6);
        r.settled_at = from_ms(st.int64(7));
        return std::optional<EventSettlementRecord>{std::move(r)};
    });
}

}  // namespace meterbridge::store

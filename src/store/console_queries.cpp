// The console's read-only views (issue 19): the bill list, accepted units per
// usage hour and the latest event troubles. Each runs in one snapshot.
#include <algorithm>

#include "rows.hpp"
#include "sqlite_store.hpp"

namespace meterbridge::store {

Result<std::vector<BillSummary>> SqliteStore::list_bills(const BillQuery& q) {
    return read([&](sqlite::Database& db) -> Result<std::vector<BillSummary>> {
        std::vector<BillSummary> out;
        // held_items keeps every version's rows; only the current one's count.
        sqlite::Statement st = db.prepare(
            "SELECT b.id, b.account_id, COALESCE(bv.version, 0), b.deleted, COALESCE(bv.processed, 0), b.updated_at, "
            "(SELECT COUNT(*) FROM held_items h WHERE h.bill_version_id = b.current_version_id) AS held "
            "FROM bills b LEFT JOIN bill_versions bv ON bv.id = b.current_version_id "
            "WHERE (?1 = 0 OR held > 0) ORDER BY b.updated_at DESC, b.id LIMIT ?2");
        st.bind_all(static_cast<std::int64_t>(q.held_only ? 1 : 0),
                    static_cast<std::int64_t>(std::clamp<std::size_t>(q.limit, 1, 1000)));
        while (st.step()) {
            out.push_back(BillSummary{st.text(0), st.text(1), st.int64(2), st.int64(3) != 0, st.int64(4) != 0,
                                      from_ms(st.int64(5)), st.int64(6)});
        }
        return out;
    });
}

Result<std::vector<HourUnits>> SqliteStore::accepted_units_by_hour(Instant from, Instant to) {
    return read([&](sqlite::Database& db) -> Result<std::vector<HourUnits>> {
        std::vector<HourUnits> out;
        // effective_start is always the start of a UTC hour (SPEC §4).
        sqlite::Statement st = db.prepare(
            "SELECT effective_start, SUM(quantity) FROM events WHERE state = 'accepted' "
            "AND effective_start >= ?1 AND effective_start < ?2 GROUP BY effective_start ORDER BY effective_start");
        st.bind_all(to_ms(from), to_ms(to));
        while (st.step()) out.push_back(HourUnits{from_ms(st.int64(0)), st.int64(1)});
        return out;
    });
}

Result<std::vector<EventProblem>> SqliteStore::recent_event_problems(std::size_t limit) {
    return read([&](sqlite::Database& db) -> Result<std::vector<EventProblem>> {
        std::vector<EventProblem> out;
        sqlite::Statement st = db.prepare(
            "SELECT id, state, resource_id, dimension, effective_start, error_code, error_message, updated_at "
            "FROM events WHERE error_code != '' ORDER BY updated_at DESC, id DESC LIMIT ?1");
        st.bind_all(static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, 1000)));
        while (st.step()) {
            out.push_back(EventProblem{st.int64(0), event_state_or_throw(st.text(1)),
                                       SlotKey{st.text(2), st.text(3), from_ms(st.int64(4))}, st.text(5), st.text(6),
                                       from_ms(st.int64(7))});
        }
        return out;
    });
}

}  // namespace meterbridge::store

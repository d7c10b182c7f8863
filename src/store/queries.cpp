// Read-only views for the ops API (SPEC §5): reported usage in m3ter's shape,
// bill detail, events, metrics. Each runs in one snapshot (read transaction).
#include <algorithm>
#include <array>
#include <set>

#include <nlohmann/json.hpp>

#include "ledger_sql.hpp"
#include "rows.hpp"
#include "sqlite_store.hpp"

namespace meterbridge::store {

namespace {

using GroupKey = std::array<std::string, 4>;  // account, bill, integration, resource

// nextToken: the last group key of a page, as hex of a JSON array. Opaque to
// clients; hex keeps it URL-safe without escaping.
std::string encode_token(const GroupKey& key) {
    const std::string json = nlohmann::json(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(json.size() * 2);
    for (const char c : json) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back(kHex[byte >> 4U]);
        out.push_back(kHex[byte & 0xfU]);
    }
    return out;
}

std::optional<GroupKey> decode_token(std::string_view token) {
    if (token.size() % 2 != 0) return std::nullopt;
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string json;
    for (std::size_t i = 0; i < token.size(); i += 2) {
        const int hi = nibble(token[i]);
        const int lo = nibble(token[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        json.push_back(static_cast<char>(hi * 16 + lo));
    }
    const auto parsed = nlohmann::json::parse(json, nullptr, false);
    if (!parsed.is_array() || parsed.size() != 4) return std::nullopt;
    GroupKey key;
    for (std::size_t i = 0; i < 4; ++i) {
        if (!parsed[i].is_string()) return std::nullopt;
        key[i] = parsed[i].get<std::string>();
    }
    return key;
}

std::optional<std::int64_t> ms_or_null(const std::optional<Instant>& instant) {
    if (!instant) return std::nullopt;
    return to_ms(*instant);
}

KeyUnits units_of(const KeyBalance& b) {
    return KeyUnits{b.key,
                    b.plan_id,
                    b.target,
                    pending_units(b),
                    planned_units(b),
                    b.in_flight,
                    b.accepted,
                    rejected_units(b),
                    over_reported(b)};
}

}  // namespace

Result<ReportedUsagePage> SqliteStore::reported_usage(const ReportedUsageQuery& q) {
    std::optional<GroupKey> after;
    if (!q.next_token.empty()) {
        after = decode_token(q.next_token);
        if (!after) return make_error(std::string(kInvalidField), "nextToken is not a token from this API", "nextToken");
    }
    return read([&](sqlite::Database& db) -> Result<ReportedUsagePage> {
        const std::size_t page_size = std::clamp<std::size_t>(q.page_size, 1, 1000);
        const auto from = ms_or_null(q.from);
        const auto to = ms_or_null(q.to);
        std::vector<GroupKey> groups;
        {
            sqlite::Statement st = db.prepare(
                "SELECT DISTINCT COALESCE(b.account_id, '') AS account, s.bill_id, s.integration_id, s.resource_id "
                "FROM event_shares s JOIN events e ON e.id = s.event_id LEFT JOIN bills b ON b.id = s.bill_id "
                "WHERE e.state = 'accepted' AND s.units > 0 "
                "AND (?1 = '' OR account = ?1) AND (?2 = '' OR s.bill_id = ?2) "
                "AND (?3 IS NULL OR e.effective_start >= ?3) AND (?4 IS NULL OR e.effective_start < ?4) "
                "AND (?5 IS NULL OR (account, s.bill_id, s.integration_id, s.resource_id) > (?5, ?6, ?7, ?8)) "
                "ORDER BY 1, 2, 3, 4 LIMIT ?9");
            st.bind_all(q.account_id, q.bill_id, from, to);
            if (after) st.bind(5, (*after)[0]).bind(6, (*after)[1]).bind(7, (*after)[2]).bind(8, (*after)[3]);
            st.bind(9, static_cast<std::int64_t>(page_size + 1));
            while (st.step()) groups.push_back(GroupKey{st.text(0), st.text(1), st.text(2), st.text(3)});
        }
        ReportedUsagePage page;
        if (groups.size() > page_size) {
            groups.resize(page_size);
            page.next_token = encode_token(groups.back());
        }
        for (const GroupKey& g : groups) {
            ReportedUsageEntry entry{g[0], g[1], g[2], g[3], {}};
            sqlite::Statement st = db.prepare(
                "SELECT s.dimension, e.effective_start, SUM(s.units) FROM event_shares s "
                "JOIN events e ON e.id = s.event_id "
                "WHERE e.state = 'accepted' AND s.bill_id = ?1 AND s.integration_id = ?2 AND s.resource_id = ?3 "
                "AND s.units > 0 AND (?4 IS NULL OR e.effective_start >= ?4) AND (?5 IS NULL OR e.effective_start < ?5) "
                "GROUP BY s.dimension, e.effective_start ORDER BY s.dimension, e.effective_start");
            st.bind_all(g[1], g[2], g[3], from, to);
            while (st.step()) entry.usage[st.text(0)][from_ms(st.int64(1))] = st.int64(2);
            page.data.push_back(std::move(entry));
        }
        return page;
    });
}

Result<BillDetail> SqliteStore::bill_detail(const std::string& bill_id) {
    return read([&](sqlite::Database& db) -> Result<BillDetail> {
        BillDetail detail;
        detail.bill_id = bill_id;
        std::optional<std::int64_t> current;
        {
            sqlite::Statement st = db.prepare("SELECT account_id, deleted, current_version_id FROM bills WHERE id = ?1");
            st.bind_all(bill_id);
            if (!st.step()) return make_error(std::string(kNotFound), "no bill " + bill_id, "billId");
            detail.account_id = st.text(0);
            detail.deleted = st.int64(1) != 0;
            current = st.optional_int64(2);
        }
        {
            sqlite::Statement st = db.prepare("SELECT " MB_BILL_VERSION_COLUMNS " FROM bill_versions bv "
                                              "JOIN bills b ON b.id = bv.bill_id WHERE bv.bill_id = ?1 ORDER BY bv.id");
            st.bind_all(bill_id);
            while (st.step()) detail.versions.push_back(read_bill_version(st));
        }
        std::set<std::string> integrations;
        {
            sqlite::Statement st = db.prepare(
                "SELECT integration_id FROM targets WHERE bill_id = ?1 "
                "UNION SELECT integration_id FROM pending_units WHERE bill_id = ?1 "
                "UNION SELECT integration_id FROM event_shares WHERE bill_id = ?1");
            st.bind_all(bill_id);
            while (st.step()) integrations.insert(st.text(0));
        }
        for (const std::string& integration : integrations) {
            for (const KeyBalance& b : load_balances(db, integration, bill_id)) detail.keys.push_back(units_of(b));
        }
        {
            sqlite::Statement st = db.prepare(
                "SELECT integration_id, line_item_index, line_item_id, reason, message, amount FROM held_items "
                "WHERE bill_version_id = ?1 ORDER BY integration_id, position");
            st.bind_all(current.value_or(0));
            while (st.step()) {
                detail.held.push_back(HeldLineItem{st.text(0), bill_id, st.integer(1), st.text(2),
                                                   hold_reason_from(st.text(3)).value_or(HoldReason::NoGroup),
                                                   st.text(4), decimal_from_text(st.text(5))});
            }
        }
        {
            sqlite::Statement st = db.prepare(
                "SELECT e.id, e.state, e.resource_id, e.dimension, e.effective_start, e.error_code, e.error_message, "
                "e.updated_at FROM events e WHERE e.error_code != '' "
                "AND e.id IN (SELECT event_id FROM event_shares WHERE bill_id = ?1) "
                "ORDER BY e.updated_at DESC, e.id DESC LIMIT 50");
            st.bind_all(bill_id);
            while (st.step()) {
                detail.errors.push_back(EventProblem{st.int64(0), event_state_or_throw(st.text(1)),
                                                     SlotKey{st.text(2), st.text(3), from_ms(st.int64(4))},
                                                     st.text(5), st.text(6), from_ms(st.int64(7))});
            }
        }
        {
            sqlite::Statement st = db.prepare(
                "SELECT " MB_RUN_COLUMNS " FROM integration_runs r JOIN bill_versions bv ON bv.id = r.bill_version_id "
                "WHERE r.bill_id = ?1 ORDER BY r.id DESC LIMIT 50");
            st.bind_all(bill_id);
            while (st.step()) detail.runs.push_back(read_run(st));
        }
        return detail;
    });
}

Result<std::vector<EventDetail>> SqliteStore::list_events(const EventQuery& q) {
    return read([&](sqlite::Database& db) -> Result<std::vector<EventDetail>> {
        std::vector<EventDetail> out;
        {
            std::optional<std::string> state;
            if (q.state) state = std::string(to_string(*q.state));
            sqlite::Statement st = db.prepare(
                "SELECT " MB_EVENT_COLUMNS " FROM events e WHERE e.id > ?1 AND (?2 IS NULL OR e.state = ?2) "
                "AND (?3 IS NULL OR e.effective_start >= ?3) AND (?4 IS NULL OR e.effective_start < ?4) "
                "AND (?6 = '' OR e.id IN (SELECT event_id FROM event_shares WHERE bill_id = ?6)) "
                "AND (?7 = '' OR e.resource_id = ?7) AND (?8 = '' OR e.dimension = ?8) "
                "ORDER BY e.id LIMIT ?5");
            st.bind_all(q.after_id, state, ms_or_null(q.from), ms_or_null(q.to),
                        static_cast<std::int64_t>(std::clamp<std::size_t>(q.limit, 1, 1000)), q.bill_id,
                        q.resource_id, q.dimension);
            while (st.step()) out.push_back(read_event_row(st));
        }
        for (auto& d : out) load_shares(db, d.event);
        return out;
    });
}

Result<StoreMetrics> SqliteStore::metrics() {
    return read([&](sqlite::Database& db) -> Result<StoreMetrics> {
        StoreMetrics m;
        {
            sqlite::Statement st = db.prepare("SELECT result, COUNT(*) FROM deliveries GROUP BY result");
            while (st.step()) m.deliveries_by_result[st.text(0)] = st.int64(1);
        }
        {
            sqlite::Statement st = db.prepare(
                "SELECT state, COUNT(*), COALESCE(SUM(quantity), 0), "
                "COALESCE(SUM(CASE WHEN state = 'sending' THEN maybe_sent ELSE 0 END), 0) FROM events GROUP BY state");
            while (st.step()) {
                m.events_by_state[st.text(0)] = st.int64(1);
                m.event_units_by_state[st.text(0)] = st.int64(2);
                m.events_maybe_held += st.int64(3);
            }
        }
        {
            sqlite::Statement st =
                db.prepare("SELECT COALESCE(SUM(units), 0), COUNT(*), MIN(created_at) FROM pending_units");
            if (st.step()) {
                m.pending_units = st.int64(0);
                m.pending_entries = st.int64(1);
                if (auto oldest = st.optional_int64(2)) m.oldest_pending = from_ms(*oldest);
            }
        }
        m.over_reported_units =
            db.query_int("SELECT COALESCE(SUM(MAX(0, COALESCE(f.units, 0) - t.units)), 0) FROM targets t "
                         "LEFT JOIN (SELECT s.integration_id, s.bill_id, s.resource_id, s.dimension, SUM(s.units) AS units "
                         "           FROM event_shares s JOIN events e ON e.id = s.event_id "
                         "           WHERE e.state IN ('sending', 'unresolved', 'accepted') GROUP BY 1, 2, 3, 4) f "
                         "USING (integration_id, bill_id, resource_id, dimension)")
                .value_or(0);
        m.unprocessed_bill_versions =
            db.query_int("SELECT COUNT(*) FROM bills b JOIN bill_versions bv ON bv.id = b.current_version_id "
                         "WHERE bv.processed = 0")
                .value_or(0);
        m.versions_waiting_on_m3ter =
            db.query_int("SELECT COUNT(*) FROM bills b JOIN bill_versions bv ON bv.id = b.current_version_id "
                         "WHERE bv.processed = 0 AND bv.retry_at IS NOT NULL")
                .value_or(0);
        {
            // Current versions only: held_items keeps the items of every
            // version, and only the current one's wait on a fix. Two linear
            // scans (IN lists become one-off indexes); the currency is read
            // from the bill once per version that holds something.
            std::map<std::int64_t, std::string> currency_of;
            {
                sqlite::Statement st = db.prepare(
                    "SELECT bv.id, COALESCE(json_extract(bv.bill_json, '$.currency'), '') FROM bill_versions bv "
                    "WHERE bv.id IN (SELECT bill_version_id FROM held_items) "
                    "AND bv.id IN (SELECT current_version_id FROM bills)");
                while (st.step()) currency_of[st.int64(0)] = st.text(1);
            }
            std::map<std::string, std::vector<HeldLineItem>> by_currency;
            sqlite::Statement st = db.prepare(
                "SELECT bill_version_id, integration_id, line_item_index, reason, amount FROM held_items "
                "WHERE bill_version_id IN (SELECT current_version_id FROM bills)");
            while (st.step()) {
                const auto currency = currency_of.find(st.int64(0));
                if (currency == currency_of.end()) continue;  // cannot happen within one snapshot
                by_currency[currency->second].push_back(
                    HeldLineItem{st.text(1), {}, st.integer(2), {},
                                 hold_reason_from(st.text(3)).value_or(HoldReason::NoGroup), {},
                                 decimal_from_text(st.text(4))});
            }
            for (const auto& [currency, held] : by_currency) {
                for (HeldTotal& total : total_held(held)) m.held.push_back({currency, std::move(total)});
            }
        }
        {
            sqlite::Statement st = db.prepare(
                "SELECT integration_id, skip_reason, COUNT(*) FROM integration_runs WHERE skip_reason != '' "
                "GROUP BY integration_id, skip_reason");
            while (st.step()) m.runs_skipped[{st.text(0), st.text(1)}] = st.int64(2);
        }
        {
            sqlite::Statement st =
                db.prepare("SELECT kind, status, COUNT(*) FROM exchanges WHERE kind IN ('azure', 'token') "
                           "GROUP BY kind, status");
            while (st.step()) {
                auto& counts = st.text(0) == "azure" ? m.azure_http_status : m.token_http_status;
                counts[st.integer(1)] = st.int64(2);
            }
        }
        {
            // Newest first along exchanges_started: stops at the latest success,
            // however long the retained log. Metering calls only: a reconciliation
            // read that works says nothing about sending.
            sqlite::Statement st = db.prepare(
                "SELECT started_at FROM exchanges WHERE kind = 'azure' AND status BETWEEN 200 AND 299 "
                "AND reconciliation_id IS NULL ORDER BY started_at DESC LIMIT 1");
            if (st.step()) m.last_azure_success = from_ms(st.int64(0));
        }
        return m;
    });
}

}  // namespace meterbridge::store

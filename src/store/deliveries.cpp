// Webhook deliveries and bill versions (SPEC §4 "Durability first").
#include <algorithm>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbridge/core/delivery.hpp"
#include "rows.hpp"
#include "sqlite_store.hpp"

namespace meterbridge::store {

namespace {

struct StoredCurrent {
    std::int64_t id = 0;
    std::int64_t version = 0;
    bool deleted = false;
    std::string account_id;
    std::string account_code;
    BillStatus status = BillStatus::Pending;
};

std::optional<StoredCurrent> current_version(sqlite::Database& db, const std::string& bill_id) {
    sqlite::Statement st = db.prepare(
        "SELECT bv.id, bv.version, bv.deleted, bv.account_id, bv.account_code, bv.status "
        "FROM bills b JOIN bill_versions bv ON bv.id = b.current_version_id WHERE b.id = ?1");
    st.bind_all(bill_id);
    if (!st.step()) return std::nullopt;
    return StoredCurrent{st.int64(0), st.int64(1), st.int64(2) != 0, st.text(3), st.text(4), bill_status_from(st.text(5))};
}

// The version a delivery would add, if any.
struct Candidate {
    std::string bill_id;
    std::int64_t version = 0;
    std::string account_id;
    std::string account_code;
    BillStatus status = BillStatus::Pending;
    bool deleted = false;
    std::string bill_json;
    std::string hash;  // content_hash(bill_json)
};

std::optional<Candidate> candidate_of(const Delivery& d, const std::optional<StoredCurrent>& current) {
    const bool deleted = d.kind == BillEventKind::Deleted;
    if (d.bill) {
        return Candidate{d.bill->id,     d.bill->version, d.bill->account_id, d.bill->account_code,
                         d.bill->status, deleted,         d.bill_json,        content_hash(d.bill_json)};
    }
    // A deletion that names only the bill: it deletes the current version as it stands.
    if (deleted && current) {
        const std::string json = nlohmann::json{{"id", d.bill_id}}.dump();
        return Candidate{d.bill_id,       current->version, current->account_id, current->account_code,
                         current->status, true,             json,               content_hash(json)};
    }
    return std::nullopt;
}

// Loads what the core's rule needs and lets it decide New / Repeat / Older.
DeliveryResult classify(sqlite::Database& db, const Candidate& c, const std::optional<StoredCurrent>& current,
                        std::int64_t& existing_id) {
    std::vector<StoredVersion> same_number;
    sqlite::Statement st =
        db.prepare("SELECT id, deleted, content_hash FROM bill_versions WHERE bill_id = ?1 AND version = ?2");
    st.bind_all(c.bill_id, c.version);
    while (st.step()) same_number.push_back(StoredVersion{st.int64(0), st.int64(1) != 0, st.text(2)});
    std::optional<CurrentVersion> stored_current;
    if (current) stored_current = CurrentVersion{current->version, current->deleted};
    const DeliveryClassification decided =
        classify_delivery(IncomingVersion{c.version, c.deleted, c.hash}, same_number, stored_current);
    if (decided.result == DeliveryResult::Repeat) existing_id = decided.repeat_of;
    return decided.result;
}

// Writes one delivery inside the caller's transaction; throws on a storage failure.
DeliveryReceipt insert_delivery(sqlite::Database& db, const Delivery& d) {
    const std::string bill_id = d.bill ? d.bill->id : d.bill_id;
    const auto current = bill_id.empty() ? std::nullopt : current_version(db, bill_id);
    DeliveryReceipt receipt;
    std::optional<Candidate> candidate;
    if (d.error) {
        receipt.result = DeliveryResult::Invalid;
    } else {
        candidate = candidate_of(d, current);
        receipt.result = candidate ? classify(db, *candidate, current, receipt.bill_version_id)
                                   : DeliveryResult::Ignored;
    }
    const std::int64_t received = to_ms(d.received_at);
    std::optional<std::int64_t> version;
    if (candidate) version = candidate->version;
    db.prepare("INSERT INTO deliveries (received_at, remote_addr, headers, body, body_bytes, result, event_id, "
               "event_name, bill_id, bill_version, error_code, error_message, error_field) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")
        .bind_all(received, d.remote_addr, headers_to_json(d.headers))
        .bind_blob(4, d.body)
        .bind(5, static_cast<std::int64_t>(d.body.size()))
        .bind(6, to_string(receipt.result))
        .bind(7, d.event_id)
        .bind(8, d.event_name)
        .bind(9, bill_id)
        .bind(10, version)
        .bind(11, d.error ? std::optional<std::string>(d.error->code) : std::nullopt)
        .bind(12, d.error ? std::optional<std::string>(d.error->message) : std::nullopt)
        .bind(13, d.error ? std::optional<std::string>(d.error->field) : std::nullopt)
        .run();
    receipt.delivery_id = db.last_insert_rowid();
    if (receipt.result != DeliveryResult::New && receipt.result != DeliveryResult::Older) return receipt;

    const Candidate& c = *candidate;
    const bool is_new = receipt.result == DeliveryResult::New;
    if (!current) {
        db.run("INSERT INTO bills (id, account_id, deleted, current_version_id, first_seen_at, updated_at) "
               "VALUES (?1, ?2, 0, NULL, ?3, ?3)",
               c.bill_id, c.account_id, received);
    }
    // An Older version is kept for the record only: processed, never current.
    db.run("INSERT INTO bill_versions (bill_id, version, account_id, account_code, status, event_kind, deleted, "
           "content_hash, bill_json, delivery_id, received_at, processed, processed_at) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
           c.bill_id, c.version, c.account_id, c.account_code, bill_status_name(c.status), event_kind_name(d.kind),
           c.deleted, c.hash, c.bill_json, receipt.delivery_id, received, !is_new,
           is_new ? std::nullopt : std::optional<std::int64_t>(received));
    receipt.bill_version_id = db.last_insert_rowid();
    if (is_new) {
        db.run("UPDATE bills SET current_version_id = ?2, deleted = ?3, account_id = ?4, updated_at = ?5 "
               "WHERE id = ?1",
               c.bill_id, receipt.bill_version_id, c.deleted, c.account_id, received);
    }
    return receipt;
}

}  // namespace

Result<DeliveryReceipt> SqliteStore::record_delivery(const Delivery& d) {
    return write([&](sqlite::Database& db) -> Result<DeliveryReceipt> { return insert_delivery(db, d); });
}

std::vector<Result<DeliveryReceipt>> SqliteStore::record_deliveries(std::span<const Delivery> deliveries) {
    return write_each(deliveries, [](sqlite::Database& db, const Delivery& d) -> Result<DeliveryReceipt> {
        return insert_delivery(db, d);
    });
}

Result<std::vector<BillVersionRecord>> SqliteStore::pending_bill_versions(std::int64_t after_id, std::size_t limit,
                                                                         std::optional<Instant> due_at) {
    return read([&](sqlite::Database& db) -> Result<std::vector<BillVersionRecord>> {
        std::vector<BillVersionRecord> out;
        // Driven by the partial index of unprocessed versions; a version
        // superseded before it was processed is skipped by the join condition.
        sqlite::Statement st = db.prepare("SELECT " MB_BILL_VERSION_COLUMNS " FROM bill_versions bv "
                                          "INDEXED BY bill_versions_unprocessed "
                                          "JOIN bills b ON b.id = bv.bill_id AND b.current_version_id = bv.id "
                                          "WHERE bv.processed = 0 AND bv.id > ?1 "
                                          "AND (?3 IS NULL OR bv.retry_at IS NULL OR bv.retry_at <= ?3) "
                                          "ORDER BY bv.id LIMIT ?2");
        // SQLite's LIMIT is signed: a limit beyond int64 means no limit.
        const auto bounded = static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
        std::optional<std::int64_t> due;
        if (due_at) due = to_ms(*due_at);
        st.bind_all(after_id, bounded, due);
        while (st.step()) out.push_back(read_bill_version(st));
        return out;
    });
}

Result<BillVersionRecord> SqliteStore::bill_version(std::int64_t version_id) {
    return read([&](sqlite::Database& db) -> Result<BillVersionRecord> {
        sqlite::Statement st = db.prepare("SELECT " MB_BILL_VERSION_COLUMNS " FROM bill_versions bv "
                                          "JOIN bills b ON b.id = bv.bill_id WHERE bv.id = ?1");
        st.bind_all(version_id);
        if (!st.step()) return make_error(std::string(kNotFound), "no bill version " + std::to_string(version_id));
        return read_bill_version(st);
    });
}

Result<std::vector<BillVersionRecord>> SqliteStore::bill_versions(const std::string& bill_id) {
    return read([&](sqlite::Database& db) -> Result<std::vector<BillVersionRecord>> {
        std::vector<BillVersionRecord> out;
        sqlite::Statement st = db.prepare("SELECT " MB_BILL_VERSION_COLUMNS " FROM bill_versions bv "
                                          "JOIN bills b ON b.id = bv.bill_id WHERE bv.bill_id = ?1 ORDER BY bv.id");
        st.bind_all(bill_id);
        while (st.step()) out.push_back(read_bill_version(st));
        return out;
    });
}

Status mark_processed_in(sqlite::Database& db, std::int64_t version_id, Instant now) {
    if (db.run("UPDATE bill_versions SET processed = 1, processed_at = ?2, retry_attempts = 0, retry_at = NULL, "
               "retry_reason = '' WHERE id = ?1",
               version_id, to_ms(now)) == 0) {
        return make_error(std::string(kNotFound), "no bill version " + std::to_string(version_id));
    }
    return Ok{};
}

Status SqliteStore::mark_processed(std::int64_t version_id, Instant now) {
    return write([&](sqlite::Database& db) { return mark_processed_in(db, version_id, now); });
}

Status SqliteStore::defer_bill_version(std::int64_t version_id, Instant retry_at, const std::string& reason) {
    return write([&](sqlite::Database& db) -> Status {
        if (db.run("UPDATE bill_versions SET retry_attempts = retry_attempts + 1, retry_at = ?2, retry_reason = ?3 "
                   "WHERE id = ?1 AND processed = 0",
                   version_id, to_ms(retry_at), reason) == 1) {
            return Ok{};
        }
        if (db.query_int("SELECT id FROM bill_versions WHERE id = ?1", version_id)) {
            return make_error(std::string(kInvalidState),
                              "bill version " + std::to_string(version_id) + " is processed");
        }
        return make_error(std::string(kNotFound), "no bill version " + std::to_string(version_id));
    });
}

Result<BillVersionRecord> SqliteStore::reprocess_bill(const std::string& bill_id) {
    auto changed = write([&](sqlite::Database& db) -> Result<std::int64_t> {
        const auto current = db.query_int("SELECT current_version_id FROM bills WHERE id = ?1", bill_id);
        if (!current) return make_error(std::string(kNotFound), "no bill " + bill_id, "billId");
        // An operator's reprocess is due at once, even while m3ter is awaited.
        db.run("UPDATE bill_versions SET processed = 0, processed_at = NULL, retry_at = NULL WHERE id = ?1", *current);
        return *current;
    });
    if (!changed) return changed.error();
    return bill_version(changed.value());
}

Result<DeliveryRecord> SqliteStore::delivery(std::int64_t delivery_id) {
    return read([&](sqlite::Database& db) -> Result<DeliveryRecord> {
        sqlite::Statement st = db.prepare("SELECT " MB_DELIVERY_COLUMNS " FROM deliveries d WHERE d.id = ?1");
        st.bind_all(delivery_id);
        if (!st.step()) return make_error(std::string(kNotFound), "no delivery " + std::to_string(delivery_id));
        return read_delivery(st);
    });
}

}  // namespace meterbridge::store

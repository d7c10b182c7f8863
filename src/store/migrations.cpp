#include "migrations.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace meterbridge::store {

namespace {

// Conventions of every table:
// - Instants are INTEGER milliseconds since the Unix epoch (UTC).
// - Units are INTEGER; decimal amounts are TEXT (Decimal::to_string), never REAL.
// - Enum-like columns hold the lower-case words of the core's to_string.
// - STRICT tables: SQLite enforces the declared types.
constexpr const char* kSchemaV1 = R"sql(
-- Every webhook delivery that passed the signature check, raw, with its outcome.
-- body/headers are cleared after payload_retention_days; the row stays.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    received_at   INTEGER NOT NULL,
    remote_addr   TEXT    NOT NULL,
    headers       TEXT,                 -- JSON array of [name, value]; NULL once pruned
    body          BLOB,                 -- raw bytes; NULL once pruned
    body_bytes    INTEGER NOT NULL,
    result        TEXT    NOT NULL CHECK (result IN ('new', 'repeat', 'older', 'invalid', 'ignored')),
    event_id      TEXT    NOT NULL,
    event_name    TEXT    NOT NULL,
    bill_id       TEXT    NOT NULL,     -- '' when none
    bill_version  INTEGER,
    error_code    TEXT,
    error_message TEXT,
    error_field   TEXT
) STRICT;
CREATE INDEX deliveries_received ON deliveries (received_at);

-- One row per m3ter bill; current_version_id is the version the scheduler works from.
CREATE TABLE bills (
    id                 TEXT    PRIMARY KEY,
    account_id         TEXT    NOT NULL,
    deleted            INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    current_version_id INTEGER,          -- bill_versions.id (not declared: the two rows reference each other)
    first_seen_at      INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX bills_account ON bills (account_id);

-- Every distinct bill version received, with the exact JSON text of the bill.
CREATE TABLE bill_versions (
    id            INTEGER PRIMARY KEY,
    bill_id       TEXT    NOT NULL REFERENCES bills (id),
    version       INTEGER NOT NULL,
    account_id    TEXT    NOT NULL,
    account_code  TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('PENDING', 'APPROVED')),
    event_kind    TEXT    NOT NULL CHECK (event_kind IN ('created', 'updated', 'deleted', 'other')),
    deleted       INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    content_hash  TEXT    NOT NULL,
    bill_json     TEXT    NOT NULL,
    delivery_id   INTEGER NOT NULL REFERENCES deliveries (id),
    received_at   INTEGER NOT NULL,
    processed     INTEGER NOT NULL DEFAULT 0 CHECK (processed IN (0, 1)),
    processed_at  INTEGER,
    UNIQUE (bill_id, version, deleted, content_hash)
) STRICT;

-- External mappings added at run time (POST /mappings); config ones are not stored.
CREATE TABLE mappings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    m3ter_entity   TEXT    NOT NULL,
    m3ter_id       TEXT    NOT NULL,
    external_system TEXT   NOT NULL,
    external_table TEXT    NOT NULL,
    external_id    TEXT    NOT NULL,
    plan_id        TEXT    NOT NULL,
    integration_id TEXT    NOT NULL,     -- '' = unlinked
    created_at     INTEGER NOT NULL,
    UNIQUE (m3ter_entity, m3ter_id, external_table, integration_id)
) STRICT;

-- One run of one integration on one bill version, with the config in force.
CREATE TABLE integration_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    bill_version_id INTEGER NOT NULL REFERENCES bill_versions (id),
    bill_id         TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    integration_id  TEXT    NOT NULL,
    config_snapshot TEXT    NOT NULL,    -- JSON
    skip_reason     TEXT    NOT NULL,    -- '' when the integration ran
    targets         TEXT    NOT NULL,    -- JSON array; amounts as decimal strings
    held            TEXT    NOT NULL,    -- JSON array
    error           TEXT    NOT NULL,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX integration_runs_bill ON integration_runs (bill_id, integration_id, started_at);
CREATE INDEX integration_runs_started ON integration_runs (started_at);

-- Line items that produced no units, per (integration, bill version); replaced on each run.
CREATE TABLE held_items (
    integration_id  TEXT    NOT NULL,
    bill_version_id INTEGER NOT NULL REFERENCES bill_versions (id),
    bill_id         TEXT    NOT NULL,
    position        INTEGER NOT NULL,    -- order within the run
    line_item_index INTEGER NOT NULL,    -- -1: a whole group
    line_item_id    TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    amount          TEXT    NOT NULL,    -- exact decimal
    PRIMARY KEY (integration_id, bill_version_id, position)
) STRICT;

-- The ledger (core/ledger.hpp). A key is (integration, bill, resource, dimension).
CREATE TABLE targets (
    integration_id TEXT    NOT NULL,
    bill_id        TEXT    NOT NULL,
    resource_id    TEXT    NOT NULL,
    dimension      TEXT    NOT NULL,
    plan_id        TEXT    NOT NULL,
    units          INTEGER NOT NULL CHECK (units >= 0),
    over_reported  INTEGER NOT NULL CHECK (over_reported >= 0),   -- as of the last change of this key
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (integration_id, bill_id, resource_id, dimension)
) STRICT;

-- Units queued for a slot (PendingUnits). Ordered by id = oldest first.
CREATE TABLE pending_units (
    id             INTEGER PRIMARY KEY,
    integration_id TEXT    NOT NULL,
    bill_id        TEXT    NOT NULL,
    resource_id    TEXT    NOT NULL,
    dimension      TEXT    NOT NULL,
    plan_id        TEXT    NOT NULL,
    units          INTEGER NOT NULL CHECK (units > 0),
    slot_hint      INTEGER NOT NULL,
    ready_at       INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_units_bill ON pending_units (integration_id, bill_id);

-- The outbox: Azure usage events, stored before they are sent.
-- maybe_sent: an attempt may have reached Azure without our knowing the answer,
-- so a later failed attempt must not make the event withdrawable again.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_id     TEXT    NOT NULL,
    plan_id         TEXT    NOT NULL,
    dimension       TEXT    NOT NULL,
    quantity        INTEGER NOT NULL,
    effective_start INTEGER NOT NULL,    -- start of a UTC hour
    state           TEXT    NOT NULL CHECK (state IN ('planned', 'sending', 'accepted', 'conflict', 'expired',
                                                      'rejected', 'requeued', 'cancelled', 'unresolved')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    maybe_sent      INTEGER NOT NULL DEFAULT 0 CHECK (maybe_sent IN (0, 1)),
    next_attempt_at INTEGER NOT NULL,
    usage_event_id  TEXT    NOT NULL DEFAULT '',
    message_time    TEXT    NOT NULL DEFAULT '',
    error_code      TEXT    NOT NULL DEFAULT '',
    error_message   TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (quantity > 0 OR state = 'cancelled'),
    CHECK (quantity >= 0)
) STRICT;
CREATE INDEX events_state ON events (state, next_attempt_at);
CREATE INDEX events_slot ON events (resource_id, dimension, effective_start);
-- Azure takes one event per (resource, dimension, hour): no two events that
-- occupy a slot (core/outbox.hpp occupies_slot) may share it.
CREATE UNIQUE INDEX events_one_per_slot ON events (resource_id, dimension, effective_start)
    WHERE state IN ('planned', 'sending', 'accepted', 'conflict', 'unresolved');

-- Each bill's share of an event. units may reach 0 by withdrawal.
CREATE TABLE event_shares (
    event_id       INTEGER NOT NULL REFERENCES events (id),
    integration_id TEXT    NOT NULL,
    bill_id        TEXT    NOT NULL,
    resource_id    TEXT    NOT NULL,
    dimension      TEXT    NOT NULL,
    units          INTEGER NOT NULL CHECK (units >= 0),
    PRIMARY KEY (event_id, integration_id, bill_id, resource_id, dimension)
) STRICT;
CREATE INDEX event_shares_bill ON event_shares (integration_id, bill_id);
CREATE INDEX event_shares_by_bill ON event_shares (bill_id);

-- Every HTTP exchange with Azure, the token endpoint and m3ter (redacted by the producer).
CREATE TABLE exchanges (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL CHECK (kind IN ('azure', 'token', 'm3ter')),
    method           TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    status           INTEGER NOT NULL,   -- 0: no HTTP answer
    request_headers  TEXT    NOT NULL,   -- JSON array of [name, value]
    request_body     BLOB    NOT NULL,
    response_headers TEXT    NOT NULL,
    response_body    BLOB    NOT NULL,
    request_id       TEXT    NOT NULL,
    correlation_id   TEXT    NOT NULL,
    batch_id         TEXT    NOT NULL,
    delivery_id      INTEGER,            -- the delivery that caused it (m3ter fetch)
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    error            TEXT    NOT NULL
) STRICT;
CREATE INDEX exchanges_started ON exchanges (started_at);
CREATE INDEX exchanges_delivery ON exchanges (delivery_id);

CREATE TABLE exchange_runs (
    exchange_id INTEGER NOT NULL REFERENCES exchanges (id) ON DELETE CASCADE,
    run_id      INTEGER NOT NULL,
    PRIMARY KEY (run_id, exchange_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE exchange_events (
    exchange_id INTEGER NOT NULL REFERENCES exchanges (id) ON DELETE CASCADE,
    event_id    INTEGER NOT NULL,
    PRIMARY KEY (event_id, exchange_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX exchange_events_exchange ON exchange_events (exchange_id);
CREATE INDEX exchange_runs_exchange ON exchange_runs (exchange_id);

-- Small facts about the database itself (the /readyz write probe).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
)sql";

// Two indexes for the scheduler's work under a backlog (issue 6):
// - it pages through unprocessed versions by id: without an index each page
//   scanned every bill and sorted, so a backlog of n bills cost n^2. Partial:
//   processed versions, nearly all of them, are not in it;
// - every tick slots the pending units that are ready: without an index it
//   read them all, including the many that wait for their hour to close.
constexpr const char* kSchemaV2 = R"sql(
CREATE INDEX bill_versions_unprocessed ON bill_versions (id) WHERE processed = 0;
CREATE INDEX pending_units_ready ON pending_units (ready_at);
)sql";

// Bill versions waiting on m3ter (issue 14): an m3ter failure while
// converting a version leaves it unprocessed with its next attempt stored, so
// the backoff survives a restart. The partial index of unprocessed versions
// serves the scheduler's paging unchanged; a waiting version is skipped by
// its retry_at.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE bill_versions ADD COLUMN retry_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bill_versions ADD COLUMN retry_at INTEGER;
ALTER TABLE bill_versions ADD COLUMN retry_reason TEXT NOT NULL DEFAULT '';
)sql";

// Reconciliation (SPEC §8, issue 16):
// - the events a comparison reads are found by their slot's start alone (the
//   slot index leads with the resource);
// - reconciliation runs, their totals per outcome, their report, and per
//   source the last day compared once final (the daily run starts after it);
// - an exchange fetched for a run is tagged with it (NULL for the others;
//   the partial index holds only the tagged ones);
// - one settlement per event at most (the primary key): who settled it,
//   when, the verdict and its evidence.
constexpr const char* kSchemaV4 = R"sql(
CREATE INDEX events_effective_start ON events (effective_start);

CREATE TABLE reconciliations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    from_day      TEXT    NOT NULL,     -- YYYY-MM-DD, inclusive
    to_day        TEXT    NOT NULL,     -- YYYY-MM-DD, inclusive
    sources       TEXT    NOT NULL,     -- JSON array of source names
    triggered_by  TEXT    NOT NULL CHECK (triggered_by IN ('api', 'daily', 'cli')),
    status        TEXT    NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    error         TEXT    NOT NULL DEFAULT '',
    totals        TEXT    NOT NULL DEFAULT '{}',  -- JSON object: outcome -> rows
    report        TEXT,                 -- JSON; NULL while running
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    CHECK (from_day <= to_day)
) STRICT;
CREATE INDEX reconciliations_running ON reconciliations (id) WHERE status = 'running';

CREATE TABLE reconciliation_final_days (
    reconciliation_id INTEGER NOT NULL REFERENCES reconciliations (id),
    source            TEXT    NOT NULL,
    final_through     TEXT    NOT NULL,  -- YYYY-MM-DD
    PRIMARY KEY (source, final_through, reconciliation_id)
) STRICT, WITHOUT ROWID;

ALTER TABLE exchanges ADD COLUMN reconciliation_id INTEGER;
CREATE INDEX exchanges_reconciliation ON exchanges (reconciliation_id) WHERE reconciliation_id IS NOT NULL;

CREATE TABLE event_settlements (
    event_id          INTEGER PRIMARY KEY REFERENCES events (id),
    verdict           TEXT    NOT NULL CHECK (verdict IN ('recorded', 'not_recorded')),
    settled_by        TEXT    NOT NULL CHECK (settled_by IN ('api', 'auto')),
    evidence          TEXT    NOT NULL,
    reconciliation_id INTEGER,
    previous_state    TEXT    NOT NULL,
    new_state         TEXT    NOT NULL,
    quantity          INTEGER NOT NULL,
    settled_at        INTEGER NOT NULL
) STRICT;
)sql";

// Every run records the config of its integration (SPEC §4 "Logged"), but an
// integration's config changes only with the config file: one row per
// distinct text, found by its FNV-1a hash and compared whole. Runs stored
// before keep their own copy (config_snapshot), later ones only the id.
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE config_snapshots (
    id       INTEGER PRIMARY KEY,
    hash     INTEGER NOT NULL,
    snapshot TEXT    NOT NULL    -- JSON
) STRICT;
CREATE INDEX config_snapshots_hash ON config_snapshots (hash);
ALTER TABLE integration_runs ADD COLUMN config_snapshot_id INTEGER REFERENCES config_snapshots (id);

-- The due events in sending order (issue 17): with batches in flight, each
-- refill reads the next 25 of a backlog; without this index every read
-- sorted the whole backlog (20,000 events: ~15 ms under the dispatch lock).
CREATE INDEX events_sendable ON events (effective_start) WHERE state IN ('planned', 'sending');
)sql";

constexpr std::array kMigrations = {
    Migration{1, "initial schema: deliveries, bills, mappings, runs, ledger, outbox, exchange log", kSchemaV1},
    Migration{2, "indexes of unprocessed bill versions and of ready pending units", kSchemaV2},
    Migration{3, "retry columns of bill versions waiting on m3ter", kSchemaV3},
    Migration{4, "reconciliation: runs, final days, exchanges of a run, event settlements", kSchemaV4},
    Migration{5, "config snapshots stored once; the index of due events in sending order", kSchemaV5},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int latest_schema_version() { return kMigrations.back().version; }

void migrate(sqlite::Database& db) {
    sqlite::Transaction tx(db, sqlite::Transaction::Mode::Immediate);
    const int on_disk = static_cast<int>(db.query_int("PRAGMA user_version").value_or(0));
    if (on_disk > latest_schema_version()) {
        throw std::runtime_error("database schema version " + std::to_string(on_disk) +
                                 " is newer than this meterbridge supports (" +
                                 std::to_string(latest_schema_version()) + "); upgrade meterbridge");
    }
    for (const Migration& m : kMigrations) {
        if (m.version <= on_disk) continue;
        db.exec(m.sql);
        // PRAGMA takes no bound parameters; the number is ours, not input.
        const std::string set_version = "PRAGMA user_version = " + std::to_string(m.version);
        db.exec(set_version.c_str());
    }
    tx.commit();
}

}  // namespace meterbridge::store

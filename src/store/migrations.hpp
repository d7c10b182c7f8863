#pragma once
// Numbered schema migrations, tracked by PRAGMA user_version (SPEC §6).
#include <span>
#include <string_view>

#include "sqlite.hpp"

namespace meterbridge::store {

struct Migration {
    int version;              // user_version after it ran; 1, 2, 3, ... without gaps
    std::string_view name;
    const char* sql;          // one or more statements, no parameters
};

// Every migration this build knows, in order.
std::span<const Migration> migrations();
int latest_schema_version();

// Brings `db` to latest_schema_version() in one IMMEDIATE transaction.
// Throws std::runtime_error (with a clear message) when the database was
// written by a newer build (user_version > latest): it is never touched then.
void migrate(sqlite::Database& db);

}  // namespace meterbridge::store

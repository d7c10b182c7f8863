#pragma once
// The disk's own limit for the daemon's writes: the rows the daemon writes
// for one delivery (the delivery with its raw body, and the bill version with
// its exact text), inserted with the raw SQLite C API in WAL mode with
// synchronous=FULL, `rows_per_transaction` deliveries per transaction.
#include <chrono>
#include <filesystem>
#include <string>

namespace meterbridge::bench {

struct RawSqliteResult {
    std::uint64_t deliveries = 0;
    double seconds = 0;
    double per_second() const { return seconds > 0 ? static_cast<double>(deliveries) / seconds : 0; }
};

RawSqliteResult run_raw_sqlite(const std::filesystem::path& file, int rows_per_transaction,
                               std::chrono::milliseconds duration);

}  // namespace meterbridge::bench

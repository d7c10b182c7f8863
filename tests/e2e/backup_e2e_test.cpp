// Issue 18: `meterbridge backup` beside a running daemon that keeps taking
// bills, and a restore: a second daemon started on the copy has every bill
// stored before the backup and none stored after it. And the other way down:
// a database from a newer meterbridge stops the start with a clear error.
#include "daemon_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

namespace meterbridge::testing {
namespace {

using namespace std::chrono_literals;

int backup(const std::filesystem::path& dir, const std::vector<std::string>& args, const std::string& log_name) {
    std::vector<std::string> argv{meterbridge_binary(), "backup"};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess command(argv, {}, dir / log_name);
    return command.wait(60s).value_or(-1);
}

TEST(BackupE2E, ACopyTakenBesideARunningDaemonRestoresWhatWasThere) {
    TempDir dir;
    const auto db = dir.path() / "meterbridge.db";
    DaemonProcess daemon(dir.path(), base_config(dir.path()));
    daemon.start();
    ASSERT_FALSE(HasFatalFailure());
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(daemon.post_bill(bill_json("b-before-" + std::to_string(i), 1, "acc-bill", {{"USAGE", "1.00", "", ""}}))
                      .status,
                  202);
    }
    const auto copy = dir.path() / "backups" / "copy.db";
    std::filesystem::create_directories(copy.parent_path());
    EXPECT_EQ(backup(dir.path(), {"--db", db.string(), "--to", copy.string()}, "backup.log"), 0);
    std::ifstream printed(dir.path() / "backup.log");
    std::string line;
    std::getline(printed, line);
    EXPECT_NE(line.find("integrity_check ok"), std::string::npos) << line;
    ASSERT_EQ(daemon.post_bill(bill_json("b-after", 1, "acc-bill", {{"USAGE", "1.00", "", ""}})).status, 202);

    // A second backup to the same file is refused (1); no --to is a usage error (2).
    EXPECT_EQ(backup(dir.path(), {"--db", db.string(), "--to", copy.string()}, "again.log"), 1);
    EXPECT_EQ(backup(dir.path(), {"--db", db.string()}, "usage.log"), 2);
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log();

    // Restore: a daemon on the copy.
    TempDir restored_dir;
    std::filesystem::copy_file(copy, restored_dir.path() / "meterbridge.db");
    DaemonProcess restored(restored_dir.path(), base_config(restored_dir.path()));
    restored.start();
    ASSERT_FALSE(HasFatalFailure());
    for (int i = 0; i < 5; ++i) EXPECT_EQ(restored.get("/bills/b-before-" + std::to_string(i)).status, 200) << i;
    EXPECT_EQ(restored.get("/bills/b-after").status, 404);
    EXPECT_EQ(restored.stop(SIGTERM), 0) << restored.log();
}

// A downgrade: the database's schema is newer than this binary's (as if a
// newer meterbridge had migrated it). The daemon refuses to start, says why,
// and leaves the file as it was. (sqlite3, the CLI of scripts/deps, stands in
// for the newer build.)
TEST(BackupE2E, ADatabaseFromANewerMeterbridgeIsRefusedAtStart) {
    TempDir dir;
    const auto db = dir.path() / "meterbridge.db";
    {
        DaemonProcess daemon(dir.path(), base_config(dir.path()));
        daemon.start();
        ASSERT_FALSE(HasFatalFailure());
        EXPECT_EQ(daemon.stop(SIGTERM), 0);
    }
    ChildProcess newer({"/usr/bin/sqlite3", db.string(), "PRAGMA user_version = 99"}, {}, dir.path() / "sqlite3.log");
    ASSERT_EQ(newer.wait(20s), 0) << newer.log();

    std::ofstream(dir.path() / "config.json") << base_config(dir.path()).dump(2);
    ChildProcess serve({meterbridge_binary(), "serve", "--config", (dir.path() / "config.json").string()},
                       {{"MB_E2E_API_KEY", kApiKey}, {"MB_E2E_API_SECRET", kApiSecret}, {"MB_E2E_OPS_TOKEN", kOpsToken}},
                       dir.path() / "serve.log");
    EXPECT_EQ(serve.wait(20s), 1);
    EXPECT_NE(serve.log().find("database schema version 99 is newer than this meterbridge supports"),
              std::string::npos)
        << serve.log();
    ChildProcess version({"/usr/bin/sqlite3", db.string(), "PRAGMA user_version"}, {}, dir.path() / "version.log");
    ASSERT_EQ(version.wait(20s), 0);
    EXPECT_EQ(version.log(), "99\n") << "the file is left as it was";
}

}  // namespace
}  // namespace meterbridge::testing

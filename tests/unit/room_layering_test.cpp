// The rooms of src/ and include/meterbridge/ and the arrows between them
// (docs/architecture.md): a room includes only the rooms below it, and the
// neighbours intake, pipeline and ops do not include each other. CMake links
// catch most wrong arrows, but not a header-only include of a higher room (the
// include path is shared), so this test reads the #include lines themselves,
// and checks that each room's CMakeLists.txt links only rooms it may include.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace meterbridge {
namespace {

namespace fs = std::filesystem;

// Each room and the rooms it may include, bottom to top. A new room must be
// added here (and to docs/architecture.md) before the test passes.
const std::map<std::string, std::set<std::string>>& rooms() {
    static const std::map<std::string, std::set<std::string>> table = {
        {"core", {}},
        {"net", {"core"}},
        {"m3ter", {"core", "net"}},
        {"store", {"core"}},
        {"azure", {"core", "net"}},
        {"sandbox", {"core", "net", "azure"}},
        {"platform", {"core"}},
        {"intake", {"core", "net", "m3ter", "store", "platform"}},
        {"pipeline", {"core", "net", "m3ter", "store", "azure", "platform"}},
        {"ops", {"core", "net", "store", "azure", "platform"}},
        {"reconcile", {"core", "net", "store", "azure", "platform"}},
        {"cli", {"core", "net", "m3ter", "store", "azure", "sandbox", "platform", "intake", "pipeline", "ops",
                 "reconcile"}},
    };
    return table;
}

// The room of a file given by its path from the source root: src/<room>/...
// or include/meterbridge/<room>/...; nullopt for anything else.
std::optional<std::string> room_of_file(const fs::path& relative) {
    std::vector<std::string> parts;
    for (const auto& part : relative) parts.push_back(part.string());
    if (parts.size() >= 3 && parts[0] == "src") return parts[1];
    if (parts.size() >= 4 && parts[0] == "include" && parts[1] == "meterbridge") return parts[2];
    return std::nullopt;
}

// The room an include names: "meterbridge/<room>/x.hpp" (public header) or
// "<room>/x.hpp" (a room's own header, src/ as the root); a bare "x.hpp" is a
// header beside the includer, so its own room. nullopt: not a project header.
std::optional<std::string> room_of_include(const std::string& target, const std::string& own) {
    const auto slash = target.find('/');
    if (slash == std::string::npos) return own;
    const std::string first = target.substr(0, slash);
    if (first == "meterbridge") {
        const auto next = target.find('/', slash + 1);
        if (next == std::string::npos) return std::nullopt;
        return target.substr(slash + 1, next - slash - 1);
    }
    if (rooms().count(first)) return first;
    return std::nullopt;
}

// Every wrong arrow in one file's text, as "path:line: message".
std::vector<std::string> wrong_includes(const fs::path& relative, const std::string& text) {
    std::vector<std::string> found;
    const auto own = room_of_file(relative);
    if (!own) return found;
    const auto allowed = rooms().find(*own);
    if (allowed == rooms().end()) {
        found.push_back(relative.string() + ": room '" + *own + "' is not in the table of rooms");
        return found;
    }
    static const std::regex include_line(R"(^\s*#\s*include\s*"([^"]+)\")");
    std::istringstream lines(text);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
        std::smatch match;
        if (!std::regex_search(line, match, include_line)) continue;
        const auto target = room_of_include(match[1].str(), *own);
        if (!target || *target == *own || allowed->second.count(*target)) continue;
        const bool known = rooms().count(*target) > 0;
        found.push_back(relative.string() + ":" + std::to_string(number) + ": room '" + *own + "' includes " +
                        (known ? "room '" + *target + "', which it may not" : "unknown room '" + *target + "'") +
                        ": " + line);
    }
    return found;
}

// Every link from one room's CMakeLists.txt to a room it may not include.
std::vector<std::string> wrong_links(const std::string& room, const fs::path& relative, const std::string& text) {
    std::vector<std::string> found;
    const auto allowed = rooms().find(room);
    if (allowed == rooms().end()) return {relative.string() + ": room '" + room + "' is not in the table of rooms"};
    static const std::regex target_name(R"(\bmeterbridge_([a-z0-9]+)\b)");
    std::istringstream lines(text);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
        const auto code = line.substr(0, line.find('#'));
        for (std::sregex_iterator it(code.begin(), code.end(), target_name), end; it != end; ++it) {
            const std::string linked = (*it)[1].str();
            if (!rooms().count(linked) || linked == room || allowed->second.count(linked)) continue;
            found.push_back(relative.string() + ":" + std::to_string(number) + ": room '" + room + "' links room '" +
                            linked + "', which it may not: " + line);
        }
    }
    return found;
}

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& line : lines) out += line + "\n";
    return out;
}

const fs::path kRoot = METERBRIDGE_SOURCE_DIR;

TEST(RoomLayering, NoRoomIncludesAHigherOrNeighbouringRoom) {
    std::vector<std::string> found;
    int files = 0;
    for (const char* top : {"src", "include/meterbridge"}) {
        for (const auto& entry : fs::recursive_directory_iterator(kRoot / top)) {
            const auto ext = entry.path().extension();
            if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp" && ext != ".h")) continue;
            ++files;
            const auto more = wrong_includes(fs::relative(entry.path(), kRoot), read(entry.path()));
            found.insert(found.end(), more.begin(), more.end());
        }
    }
    EXPECT_GT(files, 100) << "the source tree was not found under " << kRoot;
    EXPECT_TRUE(found.empty()) << joined(found);
}

TEST(RoomLayering, EveryRoomIsItsOwnTargetAndLinksOnlyRoomsBelowIt) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(kRoot / "src")) {
        if (!entry.is_directory()) continue;
        const auto room = entry.path().filename().string();
        const auto lists = entry.path() / "CMakeLists.txt";
        if (fs::is_empty(entry.path())) continue;  // left behind by a checkout: git keeps no empty folders
        if (!fs::exists(lists)) {
            found.push_back("src/" + room + ": no CMakeLists.txt (every room is its own target)");
            continue;
        }
        const auto more = wrong_links(room, fs::relative(lists, kRoot), read(lists));
        found.insert(found.end(), more.begin(), more.end());
    }
    EXPECT_TRUE(found.empty()) << joined(found);
}

// The checks themselves: an upward, a sideways and an unknown arrow are named
// with their file and line; arrows down, within a room and to headers beside
// the includer pass.
TEST(RoomLayering, AnUpwardOrSidewaysIncludeIsNamedWithItsLine) {
    const auto found = wrong_includes("src/net/router.cpp",
                                      "#include \"meterbridge/net/router.hpp\"\n"
                                      "#include \"meterbridge/core/result.hpp\"\n"
                                      "#include \"codec.hpp\"\n"
                                      "#include <vector>\n"
                                      "#include \"intake/worker_pool.hpp\"\n");
    ASSERT_EQ(found.size(), 1u) << joined(found);
    EXPECT_NE(found[0].find("src/net/router.cpp:5: room 'net' includes room 'intake'"), std::string::npos) << found[0];

    EXPECT_EQ(wrong_includes("src/ops/ops_api.cpp", "#include \"pipeline/scheduler.hpp\"\n").size(), 1u);
    EXPECT_EQ(wrong_includes("include/meterbridge/azure/x.hpp", "#include \"meterbridge/sandbox/sandbox.hpp\"\n").size(),
              1u);
    EXPECT_EQ(wrong_includes("src/core/x.cpp", "  #  include \"meterbridge/store/store.hpp\"\n").size(), 1u);
    EXPECT_EQ(wrong_includes("src/cli/daemon.cpp", "#include \"meterbridge/nowhere/x.hpp\"\n").size(), 1u);
    EXPECT_EQ(wrong_includes("src/attic/x.cpp", "").size(), 1u);
    EXPECT_TRUE(wrong_includes("src/cli/daemon.cpp", "#include \"ops/ops_api.hpp\"\n#include \"intake/worker_pool.hpp\"\n")
                    .empty());
    EXPECT_TRUE(wrong_includes("tests/unit/x.cpp", "#include \"cli/daemon.hpp\"\n").empty());
}

TEST(RoomLayering, AnUpwardLinkIsNamedWithItsLine) {
    const auto found = wrong_links("store", "src/store/CMakeLists.txt",
                                   "# meterbridge_ops in a comment is no link\n"
                                   "target_link_libraries(meterbridge_store PUBLIC meterbridge_core\n"
                                   "  PRIVATE meterbridge_ops meterbridge_warnings meterbridge_io_options)\n");
    ASSERT_EQ(found.size(), 1u) << joined(found);
    EXPECT_NE(found[0].find("src/store/CMakeLists.txt:3: room 'store' links room 'ops'"), std::string::npos) << found[0];
}

}  // namespace
}  // namespace meterbridge

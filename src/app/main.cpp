// meterbridge: m3ter bills -> Azure Marketplace metered usage.
#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
    const std::string_view command = argc > 1 ? argv[1] : "help";
    if (command == "--version") {
        std::printf("meterbridge %s\n", METERBRIDGE_VERSION);
        return 0;
    }
    std::printf("usage: meterbridge serve|check-config|sandbox|help|--version\n");
    return command == "help" ? 0 : 2;
}

#pragma once
// The meterbridge daemon (`serve`): wires config, clock, store, Azure side,
// scheduler and HTTP server together, and takes them down in order.
#include <memory>

#include "cli/config.hpp"
#include "meterbridge/core/time.hpp"

namespace meterbridge::app {

class Daemon {
public:
    // Starts every component; throws std::runtime_error with one clear
    // message (DB locked by another daemon, port in use, ...) on failure.
    static std::unique_ptr<Daemon> start(Config config);

    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Stops accepting, finishes requests and sends in flight within
    // `deadline`, closes the database. Safe to call twice.
    void stop(Duration deadline);

    std::uint16_t port() const;

    struct Parts;

private:
    explicit Daemon(std::unique_ptr<Parts> parts);
    std::unique_ptr<Parts> parts_;
};

}  // namespace meterbridge::app

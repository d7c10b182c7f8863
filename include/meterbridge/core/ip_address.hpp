#pragma once
// IP address literals and CIDR blocks, as config `listen.address` and
// `trusted_proxies` use them. Pure parsing; no resolver, no sockets.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "meterbridge/core/result.hpp"

namespace meterbridge {

struct IpAddress {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // IPv4 uses the first 4

    bool is_loopback() const noexcept;  // 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104
    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// "192.0.2.1", "::1", "2001:db8::10", "::ffff:192.0.2.1". No zone ids, no
// leading zeros in IPv4 octets (they read as octal elsewhere).
std::optional<IpAddress> parse_ip_address(std::string_view text);

struct Cidr {
    IpAddress network;  // host bits zero
    int prefix_length = 0;

    // True when `address` lies in the block. An IPv4-mapped IPv6 address
    // (::ffff:a.b.c.d) is matched as its IPv4 address.
    bool contains(const IpAddress& address) const noexcept;
    std::string to_string() const;  // canonical "a.b.c.d/n" or "x::y/n"
};

// "10.0.0.0/8", "::1/128"; a bare address means a single host (/32, /128).
// Host bits set ("10.0.0.1/8") is an error: it usually hides a typo.
Result<Cidr> parse_cidr(std::string_view text);

std::string to_string(const IpAddress& address);

}  // namespace meterbridge

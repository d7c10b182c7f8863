#include "meterbridge/core/ip_address.hpp"

#include <cstdio>
#include <vector>

namespace meterbridge {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view text) {
    std::array<std::uint8_t, 4> out{};
    std::size_t pos = 0;
    for (std::size_t part = 0; part < 4; ++part) {
        if (part > 0) {
            if (pos >= text.size() || text[pos] != '.') return std::nullopt;
            ++pos;
        }
        const std::size_t start = pos;
        unsigned value = 0;
        while (pos < text.size() && is_digit(text[pos]) && pos - start < 3) {
            value = value * 10 + static_cast<unsigned>(text[pos] - '0');
            ++pos;
        }
        const std::size_t length = pos - start;
        if (length == 0 || value > 255 || (length > 1 && text[start] == '0')) return std::nullopt;
        out[part] = static_cast<std::uint8_t>(value);
    }
    if (pos != text.size()) return std::nullopt;
    return out;
}

// Groups of one side of "::" (or of an address without it); an IPv4 tail
// counts as two groups and is allowed only when `allow_ipv4_tail`.
bool parse_groups(std::string_view text, bool allow_ipv4_tail, std::vector<std::uint16_t>& groups) {
    if (text.empty()) return true;
    std::size_t pos = 0;
    while (true) {
        const std::size_t end = text.find(':', pos);
        const std::string_view piece = text.substr(pos, end == std::string_view::npos ? end : end - pos);
        if (end == std::string_view::npos && allow_ipv4_tail && piece.find('.') != std::string_view::npos) {
            const auto v4 = parse_ipv4(piece);
            if (!v4) return false;
            groups.push_back(static_cast<std::uint16_t>(((*v4)[0] << 8) | (*v4)[1]));
            groups.push_back(static_cast<std::uint16_t>(((*v4)[2] << 8) | (*v4)[3]));
            return true;
        }
        if (piece.empty() || piece.size() > 4) return false;
        unsigned value = 0;
        for (const char c : piece) {
            const int digit = hex_value(c);
            if (digit < 0) return false;
            value = value * 16 + static_cast<unsigned>(digit);
        }
        groups.push_back(static_cast<std::uint16_t>(value));
        if (end == std::string_view::npos) return true;
        pos = end + 1;
    }
}

std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view text) {
    std::vector<std::uint16_t> head;
    std::vector<std::uint16_t> tail;
    const std::size_t gap = text.find("::");
    if (gap == std::string_view::npos) {
        if (!parse_groups(text, true, head) || head.size() != 8) return std::nullopt;
    } else {
        if (text.find("::", gap + 1) != std::string_view::npos) return std::nullopt;
        if (!parse_groups(text.substr(0, gap), false, head)) return std::nullopt;
        if (!parse_groups(text.substr(gap + 2), true, tail)) return std::nullopt;
        if (head.size() + tail.size() > 7) return std::nullopt;
    }
    std::array<std::uint8_t, 16> out{};
    for (std::size_t i = 0; i < head.size(); ++i) {
        out[2 * i] = static_cast<std::uint8_t>(head[i] >> 8);
        out[2 * i + 1] = static_cast<std::uint8_t>(head[i] & 0xff);
    }
    const std::size_t tail_start = 8 - tail.size();
    for (std::size_t i = 0; i < tail.size(); ++i) {
        out[2 * (tail_start + i)] = static_cast<std::uint8_t>(tail[i] >> 8);
        out[2 * (tail_start + i) + 1] = static_cast<std::uint8_t>(tail[i] & 0xff);
    }
    return out;
}

bool is_v4_mapped(const IpAddress& address) {
    if (!address.v6) return false;
    for (std::size_t i = 0; i < 10; ++i) {
        if (address.bytes[i] != 0) return false;
    }
    return address.bytes[10] == 0xff && address.bytes[11] == 0xff;
}

IpAddress unmapped(const IpAddress& address) {
    if (!is_v4_mapped(address)) return address;
    IpAddress v4;
    for (std::size_t i = 0; i < 4; ++i) v4.bytes[i] = address.bytes[12 + i];
    return v4;
}

// Zeroes every bit after the first `prefix` bits.
IpAddress masked(IpAddress address, int prefix) {
    const std::size_t length = address.v6 ? 16 : 4;
    for (std::size_t i = 0; i < length; ++i) {
        const int bits_here = prefix - static_cast<int>(i) * 8;
        if (bits_here >= 8) continue;
        if (bits_here <= 0) {
            address.bytes[i] = 0;
        } else {
            address.bytes[i] = static_cast<std::uint8_t>(address.bytes[i] & (0xff << (8 - bits_here)));
        }
    }
    return address;
}

}  // namespace

bool IpAddress::is_loopback() const noexcept {
    const IpAddress plain = unmapped(*this);
    if (!plain.v6) return plain.bytes[0] == 127;
    for (std::size_t i = 0; i < 15; ++i) {
        if (plain.bytes[i] != 0) return false;
    }
    return plain.bytes[15] == 1;
}

std::optional<IpAddress> parse_ip_address(std::string_view text) {
    IpAddress address;
    if (text.find(':') == std::string_view::npos) {
        const auto v4 = parse_ipv4(text);
        if (!v4) return std::nullopt;
        for (std::size_t i = 0; i < 4; ++i) address.bytes[i] = (*v4)[i];
        return address;
    }
    const auto v6 = parse_ipv6(text);
    if (!v6) return std::nullopt;
    address.v6 = true;
    address.bytes = *v6;
    return address;
}

std::string to_string(const IpAddress& address) {
    char buffer[64];
    if (!address.v6) {
        std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u", unsigned{address.bytes[0]}, unsigned{address.bytes[1]},
                      unsigned{address.bytes[2]}, unsigned{address.bytes[3]});
        return buffer;
    }
    std::array<unsigned, 8> groups{};
    for (std::size_t i = 0; i < 8; ++i) groups[i] = (unsigned{address.bytes[2 * i]} << 8) | address.bytes[2 * i + 1];
    // RFC 5952: compress the longest run (>= 2) of zero groups, the first on a tie.
    std::size_t best_start = 8;
    std::size_t best_length = 1;
    for (std::size_t i = 0; i < 8;) {
        if (groups[i] != 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < 8 && groups[j] == 0) ++j;
        if (j - i > best_length) {
            best_start = i;
            best_length = j - i;
        }
        i = j;
    }
    std::string out;
    for (std::size_t i = 0; i < 8; ++i) {
        if (i == best_start) {
            out += "::";
            i += best_length - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        std::snprintf(buffer, sizeof buffer, "%x", groups[i]);
        out += buffer;
    }
    return out;
}

bool Cidr::contains(const IpAddress& address) const noexcept {
    const IpAddress plain = network.v6 ? address : unmapped(address);
    if (plain.v6 != network.v6) return false;
    return masked(plain, prefix_length) == network;
}

std::string Cidr::to_string() const { return meterbridge::to_string(network) + "/" + std::to_string(prefix_length); }

Result<Cidr> parse_cidr(std::string_view text) {
    const std::size_t slash = text.find('/');
    const auto address = parse_ip_address(text.substr(0, slash));
    if (!address) {
        return make_error("invalid_value", "'" + std::string(text.substr(0, 64)) + "' is not an IP address or CIDR block");
    }
    const int max_prefix = address->v6 ? 128 : 32;
    int prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) prefix = -1;
        int value = 0;
        for (const char c : digits) value = is_digit(c) ? value * 10 + (c - '0') : 1000;
        if (prefix >= 0) prefix = value;
        if (prefix < 0 || prefix > max_prefix) {
            return make_error("invalid_value", "'" + std::string(text.substr(0, 64)) + "' has an invalid prefix length (0-" +
                                                   std::to_string(max_prefix) + ")");
        }
    }
    Cidr cidr{masked(*address, prefix), prefix};
    if (!(cidr.network == *address)) {
        return make_error("invalid_value", "'" + std::string(text.substr(0, 64)) + "' has host bits set (did you mean " +
                                               cidr.to_string() + "?)");
    }
    return cidr;
}

}  // namespace meterbridge

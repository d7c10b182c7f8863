#include "meterbridge/azure/guid.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace meterbridge::azure {
namespace {

void fill_random(unsigned char* data, std::size_t size) {
    if (RAND_bytes(data, static_cast<int>(size)) != 1) throw std::runtime_error("RAND_bytes failed");
}

std::string to_hex(const unsigned char* data, std::size_t size) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kHex[data[i] >> 4]);
        out.push_back(kHex[data[i] & 0x0F]);
    }
    return out;
}

}  // namespace

std::string random_guid() {
    std::array<unsigned char, 16> bytes{};
    fill_random(bytes.data(), bytes.size());
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);
    const std::string hex = to_hex(bytes.data(), bytes.size());
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
           hex.substr(20);
}

std::string random_token(std::size_t bytes) {
    std::vector<unsigned char> data(bytes);
    fill_random(data.data(), data.size());
    return to_hex(data.data(), data.size());
}

}  // namespace meterbridge::azure

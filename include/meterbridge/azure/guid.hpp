#pragma once
// Random identifiers from OpenSSL's CSPRNG: request/correlation ids and the
// sandbox's event ids and access tokens.
#include <cstddef>
#include <string>

namespace meterbridge::azure {

std::string random_guid();                        // RFC 4122 version 4, lower case
std::string random_token(std::size_t bytes = 32);  // URL-safe, hex

}  // namespace meterbridge::azure

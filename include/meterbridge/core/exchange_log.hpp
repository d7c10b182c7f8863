#pragma once
// A record of one HTTP exchange with Azure, the Entra token endpoint or m3ter
// (SPEC §4 "Logged"). Producers redact before handing a record over:
// Authorization headers, client secrets and access tokens never appear.
#include <string>
#include <utility>
#include <vector>

#include "meterbridge/core/time.hpp"

namespace meterbridge {

enum class ExchangeKind { Azure, Token, M3ter };

inline const char* to_string(ExchangeKind kind) noexcept {
    switch (kind) {
        case ExchangeKind::Azure: return "azure";
        case ExchangeKind::Token: return "token";
        case ExchangeKind::M3ter: return "m3ter";
    }
    return "unknown";
}

struct ExchangeRecord {
    ExchangeKind kind = ExchangeKind::Azure;
    std::string method;
    std::string url;
    std::vector<std::pair<std::string, std::string>> request_headers;
    std::string request_body;
    int status = 0;  // 0: no HTTP answer (see error)
    std::vector<std::pair<std::string, std::string>> response_headers;
    std::string response_body;
    std::string request_id;      // x-ms-requestid (ours, or Azure's echo)
    std::string correlation_id;  // x-ms-correlationid
    Instant started;
    Duration duration{0};
    std::string error;  // transport failure text ("" when an HTTP answer arrived)
};

// Receives exchange records. Implementations must be thread-safe: the
// metering client and the token provider may call from different threads.
class ExchangeLog {
public:
    virtual ~ExchangeLog() = default;
    virtual void record(const ExchangeRecord& exchange) = 0;
};

}  // namespace meterbridge

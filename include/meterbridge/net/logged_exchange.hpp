#pragma once
// Sending through an HttpTransport while handing a redacted record of the
// exchange to an ExchangeLog (SPEC §4 "Logged"). No Beast here.
#include <string>
#include <string_view>

#include "meterbridge/core/exchange_log.hpp"
#include "meterbridge/core/time.hpp"
#include "meterbridge/net/http_client.hpp"

namespace meterbridge::net {

inline constexpr std::string_view kRedacted = "[redacted]";

// Authorization / Proxy-Authorization / Cookie / Set-Cookie / api-key style
// headers keep their name and scheme word only ("Bearer [redacted]").
Headers redact_headers(const Headers& headers);

// application/x-www-form-urlencoded: values of client_secret, password,
// assertion, refresh_token and client_assertion replaced.
std::string redact_form(std::string_view body);

// JSON text: string values of access_token, refresh_token, id_token and
// client_secret replaced, wherever they occur. Works on invalid JSON too.
std::string redact_json_secrets(std::string_view body);

// Sends `request` and records the exchange (also when it fails) in `log`,
// if not null. `clock` gives the recorded start time.
Result<HttpExchangeResult> send_logged(HttpTransport& transport, const HttpRequestSpec& request, ExchangeKind kind,
                                       ExchangeLog* log, const Clock& clock);

}  // namespace meterbridge::net

#pragma once
// Sending through an HttpTransport while handing a redacted record of the
// exchange to an ExchangeLog (SPEC §4 "Logged"). No Beast here.
#include <functional>
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

// JSON text: string values of access_token, refresh_token, id_token,
// client_secret and sasToken (a blob container's shared access signature)
// replaced, wherever they occur. Works on invalid JSON too.
std::string redact_json_secrets(std::string_view body);

// A URL with the value of its `sig` query parameter (the signature of an
// Azure Storage SAS URL, which grants access by itself) replaced.
std::string redact_url(std::string_view url);

// Sends `request` and records the exchange (also when it fails) in `log`,
// if not null. `clock` gives the recorded start time.
Result<HttpExchangeResult> send_logged(HttpTransport& transport, const HttpRequestSpec& request, ExchangeKind kind,
                                       ExchangeLog* log, const Clock& clock);

// send_streaming() with the same record, except that a streamed body is not
// logged: the record's response_body is "[streamed: N bytes]", or
// "[streamed: N bytes, <summary()>]" (e.g. the lines read) when given.
Result<HttpExchangeResult> send_streaming_logged(HttpTransport& transport, const HttpRequestSpec& request,
                                                 const BodySink& sink, ExchangeKind kind, ExchangeLog* log,
                                                 const Clock& clock,
                                                 const std::function<std::string()>& summary = {});

}  // namespace meterbridge::net

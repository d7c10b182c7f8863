#include "meterbridge/net/logged_exchange.hpp"

#include <array>

namespace meterbridge::net {
namespace {

constexpr std::array kSecretHeaders = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
                                       "ocp-apim-subscription-key"};
constexpr std::array kSecretFormFields = {"client_secret", "password", "assertion", "client_assertion",
                                          "refresh_token"};
constexpr std::array kSecretJsonKeys = {"access_token", "refresh_token", "id_token", "client_secret", "sasToken"};

std::vector<std::pair<std::string, std::string>> to_pairs(const Headers& headers) {
    return {headers.fields().begin(), headers.fields().end()};
}

}  // namespace

Headers redact_headers(const Headers& headers) {
    Headers out;
    for (const auto& [name, value] : headers) {
        bool secret = false;
        for (const char* candidate : kSecretHeaders) secret = secret || iequals(name, candidate);
        if (!secret) {
            out.add(name, value);
            continue;
        }
        const auto space = value.find(' ');
        out.add(name, space == std::string::npos ? std::string(kRedacted)
                                                 : value.substr(0, space) + " " + std::string(kRedacted));
    }
    return out;
}

std::string redact_form(std::string_view body) {
    std::string out;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const std::string_view pair = body.substr(0, amp);
        const auto eq = pair.find('=');
        const std::string name = percent_decode(pair.substr(0, eq), true);
        bool secret = false;
        for (const char* candidate : kSecretFormFields) secret = secret || name == candidate;
        if (!out.empty()) out.push_back('&');
        if (secret && eq != std::string_view::npos) {
            out.append(pair.substr(0, eq + 1)).append(kRedacted);
        } else {
            out.append(pair);
        }
        if (amp == std::string_view::npos) break;
        body = body.substr(amp + 1);
    }
    return out;
}

std::string redact_json_secrets(std::string_view body) {
    std::string out(body);
    for (const char* key : kSecretJsonKeys) {
        const std::string quoted = std::string("\"") + key + "\"";
        std::size_t pos = 0;
        while ((pos = out.find(quoted, pos)) != std::string::npos) {
            std::size_t i = pos + quoted.size();
            while (i < out.size() && (out[i] == ' ' || out[i] == '\t' || out[i] == '\n' || out[i] == '\r')) ++i;
            if (i >= out.size() || out[i] != ':') {
                pos = i;
                continue;
            }
            ++i;
            while (i < out.size() && (out[i] == ' ' || out[i] == '\t' || out[i] == '\n' || out[i] == '\r')) ++i;
            if (i >= out.size() || out[i] != '"') {
                pos = i;
                continue;
            }
            std::size_t end = i + 1;
            while (end < out.size() && out[end] != '"') end += out[end] == '\\' ? std::size_t{2} : std::size_t{1};
            end = std::min(end, out.size());
            out.replace(i + 1, end - i - 1, kRedacted);
            pos = i + 1 + kRedacted.size();
        }
    }
    return out;
}

namespace {

template <class Send>
Result<HttpExchangeResult> logged(const HttpRequestSpec& request, ExchangeKind kind, ExchangeLog* log,
                                  const Clock& clock, Send&& send, const std::function<std::string()>* summary) {
    const Instant started = clock.now();
    const auto steady_start = std::chrono::steady_clock::now();
    auto result = send();
    if (log == nullptr) return result;

    ExchangeRecord record;
    record.kind = kind;
    record.method = request.method;
    record.url = redact_url(request.url);
    record.request_headers = to_pairs(redact_headers(request.headers));
    const auto content_type = request.headers.get("content-type").value_or("");
    record.request_body = content_type.find("x-www-form-urlencoded") != std::string::npos
                              ? redact_form(request.body)
                              : redact_json_secrets(request.body);
    record.request_id = request.headers.get("x-ms-requestid").value_or("");
    record.correlation_id = request.headers.get("x-ms-correlationid").value_or("");
    record.started = started;
    record.duration = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - steady_start);
    if (result) {
        record.status = result->status;
        record.response_headers = to_pairs(redact_headers(result->headers));
        if (summary != nullptr && result->status >= 200 && result->status <= 299) {
            record.response_body = "[streamed: " + std::to_string(result->streamed_bytes) + " bytes" +
                                   (*summary ? ", " + (*summary)() : std::string()) + "]";
        } else {
            record.response_body = redact_json_secrets(result->body);
        }
        if (record.request_id.empty()) record.request_id = result->headers.get("x-ms-requestid").value_or("");
        if (record.correlation_id.empty()) {
            record.correlation_id = result->headers.get("x-ms-correlationid").value_or("");
        }
    } else {
        record.error = result.error().code + ": " + result.error().message;
    }
    log->record(record);
    return result;
}

}  // namespace

std::string redact_url(std::string_view url) {
    const auto question = url.find('?');
    if (question == std::string_view::npos) return std::string(url);
    std::string out(url.substr(0, question + 1));
    std::string_view query = url.substr(question + 1);
    const auto fragment = query.find('#');
    const std::string_view tail = fragment == std::string_view::npos ? std::string_view{} : query.substr(fragment);
    query = query.substr(0, fragment);
    bool first = true;
    while (true) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (!first) out.push_back('&');
        first = false;
        if (eq != std::string_view::npos && iequals(pair.substr(0, eq), "sig")) {
            out.append(pair.substr(0, eq + 1)).append(kRedacted);
        } else {
            out.append(pair);
        }
        if (amp == std::string_view::npos) break;
        query = query.substr(amp + 1);
    }
    return out.append(tail);
}

Result<HttpExchangeResult> send_logged(HttpTransport& transport, const HttpRequestSpec& request, ExchangeKind kind,
                                       ExchangeLog* log, const Clock& clock) {
    return logged(request, kind, log, clock, [&] { return transport.send(request); }, nullptr);
}

Result<HttpExchangeResult> send_streaming_logged(HttpTransport& transport, const HttpRequestSpec& request,
                                                 const BodySink& sink, ExchangeKind kind, ExchangeLog* log,
                                                 const Clock& clock, const std::function<std::string()>& summary) {
    return logged(request, kind, log, clock, [&] { return transport.send_streaming(request, sink); }, &summary);
}

}  // namespace meterbridge::net

#include "azure_test_support.hpp"

#include <cstdlib>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace meterbridge::testing {

std::string MemoryExchangeLog::dump() const {
    std::string out;
    for (const auto& r : records()) {
        out += r.method + " " + r.url + "\n";
        for (const auto& [k, v] : r.request_headers) out += k + ": " + v + "\n";
        out += r.request_body + "\n";
        for (const auto& [k, v] : r.response_headers) out += k + ": " + v + "\n";
        out += r.response_body + "\n" + r.error + "\n";
    }
    return out;
}

Instant now_utc() { return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now()); }

Instant at(const char* iso8601) {
    auto parsed = parse_iso8601(iso8601);
    if (!parsed) std::abort();
    return *parsed;
}

namespace {

void run(const std::string& command) {
    const std::string quiet = command + " >/dev/null 2>&1";
    if (std::system(quiet.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}

}  // namespace

TlsFilesOnDisk make_tls_files(const std::filesystem::path& dir, const std::string& san) {
    const auto p = [&](const char* name) { return (dir / name).string(); };
    run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=meterbridge-test-ca -keyout " + p("ca.key") +
        " -out " + p("ca.pem"));
    run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout " + p("other.key") + " -out " +
        p("other.pem"));
    run("openssl req -newkey rsa:2048 -nodes -subj /CN=sandbox -keyout " + p("server.key") + " -out " +
        p("server.csr"));
    {
        std::FILE* ext = std::fopen(p("server.ext").c_str(), "w");
        if (ext == nullptr) throw std::runtime_error("cannot write server.ext");
        std::fprintf(ext, "subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n", san.c_str());
        std::fclose(ext);
    }
    run("openssl x509 -req -in " + p("server.csr") + " -CA " + p("ca.pem") + " -CAkey " + p("ca.key") +
        " -CAcreateserial -days 2 -extfile " + p("server.ext") + " -out " + p("server.pem"));
    return TlsFilesOnDisk{p("ca.pem"), p("server.pem"), p("server.key"), p("other.pem")};
}

net::HttpRequestSpec post_json(const std::string& url, std::string body, const std::string& bearer) {
    net::HttpRequestSpec spec;
    spec.method = "POST";
    spec.url = url;
    spec.headers.set("Content-Type", "application/json");
    if (!bearer.empty()) spec.headers.set("Authorization", "Bearer " + bearer);
    spec.body = std::move(body);
    return spec;
}

net::HttpRequestSpec post_form(const std::string& url, std::string body) {
    net::HttpRequestSpec spec;
    spec.method = "POST";
    spec.url = url;
    spec.headers.set("Content-Type", "application/x-www-form-urlencoded");
    spec.body = std::move(body);
    return spec;
}

net::HttpRequestSpec get(const std::string& url, const std::string& bearer) {
    net::HttpRequestSpec spec;
    spec.url = url;
    if (!bearer.empty()) spec.headers.set("Authorization", "Bearer " + bearer);
    return spec;
}

std::string sandbox_token(net::HttpClient& client, const sandbox::Sandbox& sandbox) {
    auto answer = client.send(post_form(sandbox.token_url(),
                                        "grant_type=client_credentials&client_id=c&client_secret=s&scope=" +
                                            std::string(azure::kMarketplaceResourceId) + "/.default"));
    if (!answer || answer->status != 200) throw std::runtime_error("no sandbox token");
    return nlohmann::json::parse(answer->body).at("access_token").get<std::string>();
}

}  // namespace meterbridge::testing

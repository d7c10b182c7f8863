// The config-reading tools of config_reader.hpp: typed reads with defaults,
// unknown-key rejection with a "did you mean", URLs and secret references.
#include "meterbridge/core/config_reader.hpp"

#include <algorithm>
#include <limits>

#include "meterbridge/core/ip_address.hpp"

namespace meterbridge {
namespace {

// Edit distance, for "did you mean" on unknown keys.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string describe_type(const Json& value) {
    if (is_exact_number(value)) return "a number";
    if (value.is_string()) return "a string";
    if (value.is_boolean()) return "a boolean";
    if (value.is_null()) return "null";
    if (value.is_array()) return "an array";
    if (value.is_object()) return "an object";
    return "a number";
}

const Json& empty_object() {
    static const Json kEmpty = Json::object();
    return kEmpty;
}

bool is_env_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

constexpr std::string_view kCredentialsDirectory = "CREDENTIALS_DIRECTORY";

// A file name inside $CREDENTIALS_DIRECTORY, never a way out of it.
bool is_credential_name(std::string_view name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
           name.find('\0') == std::string_view::npos;
}

// The file's contents as the secret; `path` (never the contents) in the errors.
std::string read_secret_file(const SecretSource& secrets, const std::string& path, const std::string& key) {
    auto contents = secrets.file(path);
    if (!contents) throw ConfigError(key, "cannot read secret file " + path);
    // One trailing newline (as editors and `echo` write it) is not part of the secret.
    if (!contents->empty() && contents->back() == '\n') {
        contents->pop_back();
        if (!contents->empty() && contents->back() == '\r') contents->pop_back();
    }
    if (contents->empty()) throw ConfigError(key, "secret file " + path + " is empty");
    return std::move(*contents);
}

Secret resolve_secret(const Json& value, const std::string& key, const SecretSource& secrets,
                      ConfigWarnings& warnings) {
    if (!value.is_string()) {
        fail_config_type(key, value, "a string (\"env:NAME\", \"file:/path\", \"credential:NAME\" or a literal)");
    }
    const auto& text = value.get_ref<const std::string&>();
    if (text.empty()) throw ConfigError(key, "must not be empty");
    if (text.rfind("env:", 0) == 0) {
        const std::string name = text.substr(4);
        if (!is_env_name(name)) throw ConfigError(key, "'" + text + "' does not name an environment variable");
        auto resolved = secrets.env(name);
        if (!resolved) throw ConfigError(key, "environment variable " + name + " is not set");
        if (resolved->empty()) throw ConfigError(key, "environment variable " + name + " is empty");
        return Secret(std::move(*resolved), text);
    }
    if (text.rfind("file:", 0) == 0) {
        const std::string path = text.substr(5);
        if (path.empty()) throw ConfigError(key, "'file:' needs a path");
        return Secret(read_secret_file(secrets, path, key), text);
    }
    if (text.rfind("credential:", 0) == 0) {
        // systemd's LoadCredential= puts each secret in a private, read-only
        // directory that only this service can read and names it in
        // $CREDENTIALS_DIRECTORY; its path changes per unit, so the config
        // names the credential, not the file.
        const std::string name = text.substr(11);
        if (!is_credential_name(name)) {
            throw ConfigError(key, "'" + text + "' does not name a credential (a file name: no '/', not '.' or '..')");
        }
        const auto directory = secrets.env(std::string(kCredentialsDirectory));
        if (!directory || directory->empty()) {
            throw ConfigError(key, "'" + text + "' needs $CREDENTIALS_DIRECTORY, which systemd sets for a unit with "
                                   "LoadCredential=" + name + ":...; it is not set");
        }
        return Secret(read_secret_file(secrets, *directory + "/" + name, key), text);
    }
    warnings.push_back("literal secret in " + key +
                       " (prefer \"env:NAME\", \"file:/path\" or \"credential:NAME\")");
    return Secret(text, "literal");
}

}  // namespace

std::string child_key(std::string_view parent, std::string_view key) {
    return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

std::string index_key(std::string_view parent, std::size_t index) {
    return std::string(parent) + "[" + std::to_string(index) + "]";
}

void fail_config_type(const std::string& key, const Json& value, std::string_view expected) {
    throw ConfigError(key, "must be " + std::string(expected) + ", not " + describe_type(value));
}

ConfigSection::ConfigSection(const Json& value, std::string path, std::initializer_list<std::string_view> allowed)
    : value_(value), path_(std::move(path)) {
    if (!value.is_object()) fail_config_type(path_, value, "an object");
    for (const auto& [name, member] : value.items()) {
        if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
        std::string message = "unknown key";
        std::string_view best;
        std::size_t best_distance = 3;
        for (const std::string_view candidate : allowed) {
            const std::size_t distance = edit_distance(name, candidate);
            if (distance < best_distance) {
                best = candidate;
                best_distance = distance;
            }
        }
        if (!best.empty()) message += " (did you mean '" + std::string(best) + "'?)";
        throw ConfigError(key(name), message);
    }
}

ConfigSection ConfigSection::child(const ConfigSection& parent, std::string_view name,
                                   std::initializer_list<std::string_view> allowed) {
    const Json* value = parent.object(name);
    return ConfigSection(value ? *value : empty_object(), parent.key(name), allowed);
}

const Json* ConfigSection::find(std::string_view name) const {
    const auto found = value_.find(std::string(name));
    return found == value_.end() ? nullptr : &*found;
}

std::optional<std::string> ConfigSection::optional_string(std::string_view name, bool allow_empty) const {
    const Json* value = find(name);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) fail_config_type(key(name), *value, "a string");
    const auto& text = value->get_ref<const std::string&>();
    if (text.empty() && !allow_empty) throw ConfigError(key(name), "must not be empty");
    return text;
}

std::string ConfigSection::string(std::string_view name, std::string fallback) const {
    auto value = optional_string(name);
    return value ? std::move(*value) : std::move(fallback);
}

std::string ConfigSection::required_string(std::string_view name) const {
    auto value = optional_string(name);
    if (!value) throw ConfigError(key(name), "is required");
    return std::move(*value);
}

bool ConfigSection::boolean(std::string_view name, bool fallback) const {
    const Json* value = find(name);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) fail_config_type(key(name), *value, "true or false");
    return value->get<bool>();
}

std::int64_t ConfigSection::integer(std::string_view name, std::int64_t fallback, std::int64_t min,
                                    std::int64_t max) const {
    const Json* value = find(name);
    if (value == nullptr) return fallback;
    const std::string range = "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    if (!value->is_number_integer()) {
        if (is_exact_number(*value)) throw ConfigError(key(name), range);
        fail_config_type(key(name), *value, "a whole number");
    }
    if (value->is_number_unsigned() &&
        value->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw ConfigError(key(name), range);
    }
    const auto number = value->get<std::int64_t>();
    if (number < min || number > max) throw ConfigError(key(name), range);
    return number;
}

std::string ConfigSection::choice(std::string_view name, std::string_view fallback,
                                  std::initializer_list<std::string_view> choices) const {
    auto value = optional_string(name, true);
    if (!value) return std::string(fallback);
    if (std::find(choices.begin(), choices.end(), *value) != choices.end()) return std::move(*value);
    std::string list;
    for (const std::string_view c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
    throw ConfigError(key(name), "must be one of " + list + ", not \"" + value->substr(0, 64) + "\"");
}

std::vector<std::string> ConfigSection::string_list(std::string_view name) const {
    std::vector<std::string> out;
    const Json* value = find(name);
    if (value == nullptr) return out;
    if (!value->is_array()) fail_config_type(key(name), *value, "an array of strings");
    for (std::size_t i = 0; i < value->size(); ++i) {
        const Json& element = (*value)[i];
        const std::string element_key = index_key(key(name), i);
        if (!element.is_string()) fail_config_type(element_key, element, "a string");
        if (element.get_ref<const std::string&>().empty()) throw ConfigError(element_key, "must not be empty");
        out.push_back(element.get<std::string>());
    }
    return out;
}

const Json* ConfigSection::object(std::string_view name) const {
    const Json* value = find(name);
    if (value == nullptr || value->is_null()) return nullptr;
    if (!value->is_object()) fail_config_type(key(name), *value, "an object");
    return value;
}

const Json* ConfigSection::array(std::string_view name) const {
    const Json* value = find(name);
    if (value == nullptr || value->is_null()) return nullptr;
    if (!value->is_array()) fail_config_type(key(name), *value, "an array");
    return value;
}

std::string ConfigSection::url(std::string_view name, std::string fallback, bool require_https) const {
    std::string value = string(name, std::move(fallback));
    const std::string url_key = key(name);
    const bool https = value.rfind("https://", 0) == 0;
    const bool http = value.rfind("http://", 0) == 0;
    if (!https && !http) throw ConfigError(url_key, "must be an http:// or https:// URL");
    const std::size_t host_start = https ? 8 : 7;
    // Plain http is allowed to loopback only (a local Azure sandbox, tests):
    // the HTTP client refuses it for any other host anyway.
    const std::size_t host_search = value.size() > host_start && value[host_start] == '[' ? value.find(']') : host_start;
    const std::string host = value.substr(host_start, value.find_first_of(":/", host_search) - host_start);
    const std::string literal = host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
    const auto address = parse_ip_address(literal);
    const bool loopback = host == "localhost" || (address && address->is_loopback());
    if (require_https && !https && !loopback) throw ConfigError(url_key, "must be an https:// URL (http only to loopback)");
    if (value.size() <= host_start || value[host_start] == '/') throw ConfigError(url_key, "has no host");
    for (const char c : value) {
        if (c == '?' || c == '#' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            throw ConfigError(url_key, "must not contain a query, a fragment or whitespace");
        }
    }
    while (value.size() > host_start + 1 && value.back() == '/') value.pop_back();
    return value;
}

std::optional<Secret> ConfigSection::optional_secret(std::string_view name, const SecretSource& secrets,
                                                     ConfigWarnings& warnings) const {
    const Json* value = find(name);
    if (value == nullptr || value->is_null()) return std::nullopt;
    return resolve_secret(*value, key(name), secrets, warnings);
}

Secret ConfigSection::required_secret(std::string_view name, const SecretSource& secrets,
                                      ConfigWarnings& warnings) const {
    auto secret = optional_secret(name, secrets, warnings);
    if (!secret) throw ConfigError(key(name), "is required");
    return std::move(*secret);
}

Json masked_secret_json(const std::optional<Secret>& secret) {
    return secret ? Json(Secret::masked()) : Json(nullptr);
}

}  // namespace meterbridge

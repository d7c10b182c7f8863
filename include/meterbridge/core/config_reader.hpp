#pragma once
// Reading the config file (SPEC §2): the tools every room's section parser
// uses, so that each section is validated by the room that owns it while every
// error names the full key path ("integrations[1].acount_filter") the same way.
// Config is start-up code, so errors are exceptions (ConfigError). Pure: secrets
// are resolved through an injected SecretSource.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/exact_json.hpp"

namespace meterbridge {

// A config error: `key()` is the full key path ("" for the document itself),
// `what()` the message. Messages never contain secret values.
class ConfigError : public std::runtime_error {
public:
    ConfigError(std::string key, const std::string& message) : std::runtime_error(message), key_(std::move(key)) {}
    const std::string& key() const noexcept { return key_; }

private:
    std::string key_;
};

// Non-fatal findings ("literal secret in ops.token"), in document order.
using ConfigWarnings = std::vector<std::string>;

// Where secrets come from. Implementations: the process environment and the
// file system (src/platform), maps in tests. Both return nullopt when absent/unreadable.
class SecretSource {
public:
    virtual ~SecretSource() = default;
    virtual std::optional<std::string> env(const std::string& name) const = 0;
    virtual std::optional<std::string> file(const std::string& path) const = 0;  // raw contents
};

// A resolved secret. The value is reachable through value(), but streaming or
// masked() never shows it, so a Secret in a log line prints "***".
class Secret {
public:
    Secret() = default;
    Secret(std::string value, std::string reference) : value_(std::move(value)), reference_(std::move(reference)) {}

    const std::string& value() const noexcept { return value_; }
    // How it was given: "env:NAME", "file:/path", "credential:NAME" or "literal". Not secret.
    const std::string& reference() const noexcept { return reference_; }
    static std::string_view masked() noexcept { return "***"; }

    friend std::ostream& operator<<(std::ostream& out, const Secret&) { return out << masked(); }

private:
    std::string value_;
    std::string reference_;
};

// "parent.key" and "parent[index]".
std::string child_key(std::string_view parent, std::string_view key);
std::string index_key(std::string_view parent, std::size_t index);

// Throws "<key> must be <expected>, not <the value's type>".
[[noreturn]] void fail_config_type(const std::string& key, const Json& value, std::string_view expected);

// One JSON object of the config: rejects keys outside `allowed` on
// construction (with a "did you mean" for typos) and reads typed values,
// applying defaults for absent keys. Holds a reference to `value`.
class ConfigSection {
public:
    ConfigSection(const Json& value, std::string path, std::initializer_list<std::string_view> allowed);
    // The section `name` of `parent`, or an empty one when absent or null.
    static ConfigSection child(const ConfigSection& parent, std::string_view name,
                               std::initializer_list<std::string_view> allowed);

    const std::string& path() const { return path_; }
    std::string key(std::string_view name) const { return child_key(path_, name); }
    const Json* find(std::string_view name) const;

    std::optional<std::string> optional_string(std::string_view name, bool allow_empty = false) const;
    std::string string(std::string_view name, std::string fallback) const;
    std::string required_string(std::string_view name) const;
    bool boolean(std::string_view name, bool fallback) const;
    std::int64_t integer(std::string_view name, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
    // One of `choices`, or `fallback` when absent.
    std::string choice(std::string_view name, std::string_view fallback,
                       std::initializer_list<std::string_view> choices) const;
    // An array of non-empty strings; absent = empty.
    std::vector<std::string> string_list(std::string_view name) const;
    // A nested object or array, or nullptr when absent. `null` counts as absent.
    const Json* object(std::string_view name) const;
    const Json* array(std::string_view name) const;

    // "http(s)://host[:port][/path]" without query or fragment; the trailing
    // '/' is dropped. Plain http only to loopback when `require_https`.
    std::string url(std::string_view name, std::string fallback, bool require_https = false) const;

    // "env:NAME", "file:/path", "credential:NAME" (the file NAME in
    // $CREDENTIALS_DIRECTORY, systemd's LoadCredential=) or a literal (warned
    // about). Errors name the key and the variable or path, never a value.
    std::optional<Secret> optional_secret(std::string_view name, const SecretSource& secrets,
                                          ConfigWarnings& warnings) const;
    Secret required_secret(std::string_view name, const SecretSource& secrets, ConfigWarnings& warnings) const;

private:
    const Json& value_;
    std::string path_;
};

// "***" for a set secret, null for an absent one: the masked view of check-config.
Json masked_secret_json(const std::optional<Secret>& secret);

}  // namespace meterbridge

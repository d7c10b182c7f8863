#pragma once
// A tiny writer for JSON objects whose keys must keep the order of Azure's
// examples (nlohmann::json sorts keys). Internal to src/sandbox.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace meterbridge::sandbox::detail {

inline std::string quote(std::string_view text) {
    return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class ObjectWriter {
public:
    ObjectWriter& str(std::string_view key, std::string_view value) { return raw(key, quote(value)); }
    ObjectWriter& num(std::string_view key, long long value) { return raw(key, std::to_string(value)); }
    ObjectWriter& raw(std::string_view key, std::string_view json) {
        if (out_.size() > 1) out_.push_back(',');
        out_ += quote(key);
        out_.push_back(':');
        out_.append(json);
        return *this;
    }
    std::string done() const { return out_ + "}"; }

private:
    std::string out_ = "{";
};

}  // namespace meterbridge::sandbox::detail

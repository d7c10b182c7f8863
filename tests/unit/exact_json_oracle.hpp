#pragma once
// The parse_exact_json that drove nlohmann's SAX parser, kept as the oracle of
// the hand-written one: both must accept the same texts and build the same
// DOM. Used by exact_json_differential_test.cpp and fuzz/bill_fuzzer.cpp.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "meterbridge/core/exact_json.hpp"

namespace meterbridge::oracle {

// SAX consumer that builds a Json DOM, keeping non-integer numbers as text
// (verbatim from src/core/exact_json.cpp before the hand-written parser).
class ExactDomBuilder {
public:
    using number_integer_t = Json::number_integer_t;
    using number_unsigned_t = Json::number_unsigned_t;
    using number_float_t = Json::number_float_t;
    using string_t = Json::string_t;
    using binary_t = Json::binary_t;

    static constexpr std::size_t kMaxDepth = 128;

    bool null() { return add(Json(nullptr)); }
    bool boolean(bool value) { return add(Json(value)); }
    bool number_integer(number_integer_t value) { return add(Json(value)); }
    bool number_unsigned(number_unsigned_t value) { return add(Json(value)); }
    bool number_float(number_float_t /*lossy*/, const string_t& text) {
        return add(Json::binary(std::vector<std::uint8_t>(text.begin(), text.end()), kNumberTextSubtype));
    }
    bool string(string_t& value) { return add(Json(std::move(value))); }
    bool binary(binary_t& /*unused*/) { return false; }
    bool start_object(std::size_t /*size*/) { return open(Json::object()); }
    bool key(string_t& name) {
        key_ = std::move(name);
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(std::size_t /*size*/) { return open(Json::array()); }
    bool end_array() { return close(); }
    bool parse_error(std::size_t position, const std::string& /*token*/, const nlohmann::detail::exception& ex) {
        error_ = make_error("malformed_json", "invalid JSON at byte " + std::to_string(position) + ": " +
                                                  std::string(ex.what()).substr(0, 200));
        return false;
    }

    Json& root() { return root_; }
    const std::optional<Error>& error() const { return error_; }

private:
    Json* place(Json&& value) {
        if (stack_.empty()) {
            root_ = std::move(value);
            return &root_;
        }
        Json& parent = *stack_.back();
        if (parent.is_array()) {
            parent.push_back(std::move(value));
            return &parent.back();
        }
        Json& slot = parent[key_];
        slot = std::move(value);
        return &slot;
    }
    bool add(Json&& value) {
        place(std::move(value));
        return true;
    }
    bool open(Json&& container) {
        if (stack_.size() >= kMaxDepth) {
            error_ = make_error("malformed_json", "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
            return false;
        }
        stack_.push_back(place(std::move(container)));
        return true;
    }
    bool close() {
        stack_.pop_back();
        return true;
    }

    Json root_;
    std::vector<Json*> stack_;
    std::string key_;
    std::optional<Error> error_;
};

inline Result<Json> parse_exact_json_sax(std::string_view text) {
    ExactDomBuilder builder;
    const bool ok = Json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json, true);
    if (!ok || builder.error()) {
        if (builder.error()) return *builder.error();
        return make_error("malformed_json", "invalid JSON");
    }
    return std::move(builder.root());
}

// Json's operator== calls 1 (number_unsigned) and 1 (number_integer) equal;
// this also requires the same type at every node.
inline bool same_dom(const Json& a, const Json& b) {
    if (a.type() != b.type()) return false;
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        for (auto left = a.begin(), right = b.begin(); left != a.end(); ++left, ++right) {
            if (left.key() != right.key() || !same_dom(*left, *right)) return false;
        }
        return true;
    }
    if (a.is_array()) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (!same_dom(a[i], b[i])) return false;
        }
        return true;
    }
    return a == b;  // binary values compare bytes and subtype
}

// How parse_exact_json differs from the SAX oracle on `text`; empty if it does not.
inline std::string exact_json_mismatch(std::string_view text) {
    const auto expected = parse_exact_json_sax(text);
    const auto actual = parse_exact_json(text);
    if (expected.ok() != actual.ok()) {
        return expected.ok() ? "new parser refuses (" + actual.error().message + ")"
                             : "new parser accepts (old: " + expected.error().message.substr(0, 120) + ")";
    }
    if (!expected.ok()) {
        const std::string& message = actual.error().message;
        if (actual.error().code != "malformed_json") return "error code " + actual.error().code;
        const bool old_depth = expected.error().message.starts_with("JSON nested deeper");
        const bool new_depth = message == "JSON nested deeper than 128 levels";
        if (old_depth != new_depth) return "depth error differs: " + message;
        if (!new_depth) {
            // "invalid JSON at byte N: reason", N at most the size, short, no input quoted (ASCII only).
            constexpr std::string_view kPrefix = "invalid JSON at byte ";
            if (!message.starts_with(kPrefix) || message.size() > 80) return "message: " + message;
            const std::size_t offset = std::stoull(message.substr(kPrefix.size()));
            if (offset > text.size()) return "offset past the end: " + message;
            for (const char c : message) {
                if (c < 0x20 || c > 0x7e) return "message not printable ASCII";
            }
        }
        return {};
    }
    if (!same_dom(*expected, *actual)) {
        return "DOM differs: old " + dump_exact(*expected).substr(0, 200) + " new " +
               dump_exact(*actual).substr(0, 200);
    }
    if (dump_exact(*expected) != dump_exact(*actual)) return "dump_exact differs";
    return {};
}

}  // namespace meterbridge::oracle

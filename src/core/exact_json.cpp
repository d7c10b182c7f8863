#include "meterbridge/core/exact_json.hpp"

#include <algorithm>
#include <vector>

namespace meterbridge {
namespace {

constexpr std::size_t kMaxDepth = 128;

// SAX consumer that builds a Json DOM, keeping non-integer numbers as text.
class ExactDomBuilder {
public:
    using number_integer_t = Json::number_integer_t;
    using number_unsigned_t = Json::number_unsigned_t;
    using number_float_t = Json::number_float_t;
    using string_t = Json::string_t;
    using binary_t = Json::binary_t;

    bool null() { return add(Json(nullptr)); }
    bool boolean(bool value) { return add(Json(value)); }
    bool number_integer(number_integer_t value) { return add(Json(value)); }
    bool number_unsigned(number_unsigned_t value) { return add(Json(value)); }
    bool number_float(number_float_t /*lossy*/, const string_t& text) {
        return add(Json::binary(std::vector<std::uint8_t>(text.begin(), text.end()), kNumberTextSubtype));
    }
    bool string(string_t& value) { return add(Json(std::move(value))); }
    bool binary(binary_t& /*unused*/) { return false; }  // JSON text has no binary values
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
    // Places `value` in the open container (or as the root); returns where it went.
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

bool is_number_text(const Json& value) {
    return value.is_binary() && value.get_binary().has_subtype() && value.get_binary().subtype() == kNumberTextSubtype;
}

void dump_into(const Json& value, std::string& out) {
    if (is_number_text(value)) {
        const auto& bytes = value.get_binary();
        out.append(bytes.begin(), bytes.end());
    } else if (value.is_object()) {
        out.push_back('{');
        bool first = true;
        for (const auto& [name, member] : value.items()) {
            if (!first) out.push_back(',');
            first = false;
            append_json_string(out, name);
            out.push_back(':');
            dump_into(member, out);
        }
        out.push_back('}');
    } else if (value.is_array()) {
        out.push_back('[');
        bool first = true;
        for (const auto& element : value) {
            if (!first) out.push_back(',');
            first = false;
            dump_into(element, out);
        }
        out.push_back(']');
    } else if (value.is_string()) {
        append_json_string(out, value.get_ref<const std::string&>());
    } else {
        out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
}

}  // namespace

Result<Json> parse_exact_json(std::string_view text) {
    ExactDomBuilder builder;
    const bool ok = Json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json, true);
    if (!ok || builder.error()) {
        if (builder.error()) return *builder.error();
        return make_error("malformed_json", "invalid JSON");
    }
    return std::move(builder.root());
}

bool is_exact_number(const Json& value) { return value.is_number_integer() || is_number_text(value); }

std::optional<std::string> exact_number_text(const Json& value) {
    if (value.is_number_integer()) return value.dump();
    if (is_number_text(value)) {
        const auto& bytes = value.get_binary();
        return std::string(bytes.begin(), bytes.end());
    }
    return std::nullopt;
}

Result<Decimal> decimal_from_json(const Json& value, std::string_view field) {
    const auto text = exact_number_text(value);
    if (!text) return make_error("invalid_field", std::string(field) + " must be a number", std::string(field));
    auto parsed = Decimal::parse(*text);
    if (!parsed) {
        return make_error("invalid_field", std::string(field) + ": " + parsed.error().message, std::string(field));
    }
    return parsed;
}

void append_json_string(std::string& out, std::string_view text) {
    // Fast path for the common case (ids, codes, plain ASCII descriptions):
    // nothing to escape, so the text is written as is. Anything else goes
    // through nlohmann's serializer, which escapes and replaces invalid UTF-8;
    // building a serializer per string costs more than the rest of a bill.
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
    });
    if (!plain) {
        out += Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
        return;
    }
    out.push_back('"');
    out.append(text);
    out.push_back('"');
}

std::string dump_exact(const Json& value) {
    std::string out;
    dump_into(value, out);
    return out;
}

}  // namespace meterbridge

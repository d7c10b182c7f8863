#include "meterbridge/core/exact_json.hpp"

#include "exact_json_lexer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace meterbridge {
namespace {

using exact_json_detail::ExactLexer;
using exact_json_detail::is_digit;
using exact_json_detail::LexedNumber;


// The DOM parser: nlohmann values built directly, recursively.
class DomParser : ExactLexer {
public:
    explicit DomParser(std::string_view text) : ExactLexer(text) {}

    Result<Json> parse() {
        skip_byte_order_mark();
        Json root;
        if (!value(root, 0) || !at_end_of_document()) return std::move(*error_);
        return root;
    }

private:
    // Parses the value at the cursor (after whitespace) into `out`, which it
    // overwrites; `depth` counts the containers around it.
    bool value(Json& out, std::size_t depth) {
        skip_whitespace();
        switch (peek()) {
            case '{':
                return object(out, depth);
            case '[':
                return array(out, depth);
            case '"':
                out = Json::value_t::string;
                return string(out.get_ref<std::string&>());
            case 't':
                out = true;
                return literal("true");
            case 'f':
                out = false;
                return literal("false");
            case 'n':
                out = nullptr;
                return literal("null");
            default:
                if (peek() == '-' || is_digit(peek())) return number(out);
                return fail("expected a value");
        }
    }

    // Makes `out` an empty container of `type` and steps over its bracket,
    // unless `depth` containers are open already.
    bool open_container(Json& out, Json::value_t type, std::size_t depth) {
        if (!may_open(depth)) return false;
        out = type;
        ++pos_;  // '{' or '['
        skip_whitespace();
        return true;
    }

    bool object(Json& out, std::size_t depth) {
        if (!open_container(out, Json::value_t::object, depth)) return false;
        auto& members = out.get_ref<Json::object_t&>();
        if (consume('}')) return true;
        std::string key;
        do {
            skip_whitespace();
            if (peek() != '"') return fail("expected a string key");
            key.clear();
            if (!string(key)) return false;
            skip_whitespace();
            if (!consume(':')) return fail("expected ':'");
            // For a duplicated key the last value wins, as it did before:
            // value() overwrites the slot try_emplace finds.
            if (!value(members.try_emplace(std::move(key)).first->second, depth + 1)) return false;
            skip_whitespace();
        } while (consume(','));
        return consume('}') || fail("expected ',' or '}'");
    }

    bool array(Json& out, std::size_t depth) {
        if (!open_container(out, Json::value_t::array, depth)) return false;
        auto& elements = out.get_ref<Json::array_t&>();
        if (consume(']')) return true;
        do {
            if (!value(elements.emplace_back(), depth + 1)) return false;
            skip_whitespace();
        } while (consume(','));
        return consume(']') || fail("expected ',' or ']'");
    }

    bool number(Json& out) {
        LexedNumber lexed;
        if (!ExactLexer::number(lexed)) return false;
        switch (lexed.kind) {
            case LexedNumber::Kind::Unsigned: out = lexed.unsigned_value; break;
            case LexedNumber::Kind::Integer: out = lexed.integer_value; break;
            case LexedNumber::Kind::Text:
                out = Json::binary(std::vector<std::uint8_t>(lexed.text.begin(), lexed.text.end()), kNumberTextSubtype);
                break;
        }
        return true;
    }
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

Result<Json> parse_exact_json(std::string_view text) { return DomParser(text).parse(); }

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
    return decimal_from_number_text(exact_number_text(value), field);
}

Result<Decimal> decimal_from_number_text(const std::optional<std::string>& text, std::string_view field) {
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

Json exact_number(const Decimal& value) {
    const std::string text = value.to_string();
    return Json::binary(std::vector<std::uint8_t>(text.begin(), text.end()), kNumberTextSubtype);
}

std::string dump_exact(const Json& value) {
    std::string out;
    dump_into(value, out);
    return out;
}

}  // namespace meterbridge

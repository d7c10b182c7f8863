#pragma once
// A parsed JSON text as one flat array of tokens (a "tape"), for reading a
// document once without building a DOM: parse_exact_json allocates a node per
// value and a map entry per member, which made up most of the cost of
// decoding a webhook body. JsonTape accepts exactly the texts parse_exact_json
// accepts, with the same errors (they share the lexer), and numbers stay exact.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "meterbridge/core/result.hpp"

namespace meterbridge {

class JsonTape;

// One value on a tape; cheap to copy. Valid while its tape lives.
class TapeNode {
public:
    bool is_null() const { return kind() == Kind::Null; }
    bool is_boolean() const { return kind() == Kind::True || kind() == Kind::False; }
    bool is_object() const { return kind() == Kind::Object; }
    bool is_array() const { return kind() == Kind::Array; }
    bool is_string() const { return kind() == Kind::String; }
    bool is_number_unsigned() const { return kind() == Kind::Unsigned; }
    bool is_number_integer() const { return kind() == Kind::Unsigned || kind() == Kind::Integer; }
    bool is_number_text() const { return kind() == Kind::NumberText; }  // kept as text, as in the DOM

    bool boolean() const { return kind() == Kind::True; }
    std::string_view string() const;           // unescaped; "" unless a string
    std::uint64_t number_unsigned() const;     // 0 unless is_number_unsigned()
    // The decimal text of a number, as exact_number_text gives it for the
    // DOM; nullopt if this is no number.
    std::optional<std::string> exact_number_text() const;

    // The value of member `key` of an object (the last one if the key
    // repeats, as in the DOM); nullopt if absent or this is no object.
    std::optional<TapeNode> member(std::string_view key) const;
    // The elements of an array, in order; empty for anything else.
    std::vector<TapeNode> elements() const;
    // The members of an object as (key, value), in text order, repeated
    // keys included; empty for anything else.
    std::vector<std::pair<std::string_view, TapeNode>> members() const;

private:
    friend class JsonTape;
    friend class TapeParser;
    enum class Kind : std::uint8_t { Object, Array, String, Unsigned, Integer, NumberText, True, False, Null };

    TapeNode(const JsonTape& tape, std::uint32_t index) : tape_(&tape), index_(index) {}
    Kind kind() const;

    const JsonTape* tape_;
    std::uint32_t index_;
};

class JsonTape {
public:
    // Parses `text`, which must outlive the tape (strings without escapes
    // are views into it).
    static Result<JsonTape> parse(std::string_view text);

    JsonTape(JsonTape&&) = default;
    JsonTape& operator=(JsonTape&&) = default;
    JsonTape(const JsonTape&) = delete;  // views would point into the other copy's strings
    JsonTape& operator=(const JsonTape&) = delete;

    TapeNode root() const { return TapeNode(*this, 0); }

private:
    friend class TapeNode;
    friend class TapeParser;

    struct Token {
        TapeNode::Kind kind;
        std::uint32_t next;      // index of the token after this value (after a container's last child)
        std::string_view text;   // String: unescaped; NumberText: exact text
        std::uint64_t bits = 0;  // Unsigned: the value; Integer: the int64 value's bits
    };

    JsonTape() = default;

    std::vector<Token> tokens_;
    std::deque<std::string> unescaped_;  // strings with escapes; a deque keeps views into them valid
};

}  // namespace meterbridge

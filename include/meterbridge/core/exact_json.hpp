#pragma once
// JSON parsing that keeps amounts exact. nlohmann's DOM parser turns every
// non-integer number into binary floating point, which cannot hold 0.29 or 9.985. This
// parser builds the same DOM but stores each non-integer number as its
// original text, in a binary value tagged kNumberTextSubtype (a DOM built
// from JSON text can contain no other binary value, so the tag is unambiguous).
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "meterbridge/core/decimal.hpp"
#include "meterbridge/core/result.hpp"

namespace meterbridge {

using Json = nlohmann::json;

inline constexpr std::uint8_t kNumberTextSubtype = 0x4e;  // 'N'

// Parses `text`; a syntax error names the byte offset. Depth is limited so
// that hostile input cannot exhaust the stack.
Result<Json> parse_exact_json(std::string_view text);

// True for integers and exact-text numbers.
bool is_exact_number(const Json& value);

// The number's decimal text ("0.29", "42"); nullopt if `value` is no number.
std::optional<std::string> exact_number_text(const Json& value);

// The number as a Decimal; an Error naming `field` if it is not a number or
// not representable exactly.
Result<Decimal> decimal_from_json(const Json& value, std::string_view field);

// The same for a number's text from exact_number_text (or JsonTape).
Result<Decimal> decimal_from_number_text(const std::optional<std::string>& text, std::string_view field);

// A Decimal as an exact JSON number (dump_exact writes its text as is).
Json exact_number(const Decimal& value);

// Serialises a DOM from parse_exact_json, writing exact numbers as their text.
std::string dump_exact(const Json& value);

// Appends `text` as a JSON string literal, quoted and escaped exactly as
// nlohmann's dump() does (invalid UTF-8 replaced by U+FFFD).
void append_json_string(std::string& out, std::string_view text);

}  // namespace meterbridge

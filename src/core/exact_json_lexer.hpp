#pragma once
// Internal to the core: the lexer behind parse_exact_json and JsonTape.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "meterbridge/core/result.hpp"

namespace meterbridge::exact_json_detail {

inline constexpr std::size_t kMaxDepth = 128;  // containers open at once

// The smallest decimal value that strtod rounds to infinity: 2^1024 - 2^970,
// halfway between the largest finite binary64 value and 2^1024 (a tie goes to
// the even significand, i.e. to infinity). All 309 digits; the last is not 0.
inline constexpr std::string_view kInfinityDigits =
    "1797693134862315807937289714053034150799341327100378269361737789804449682927647509466490179775872070963"
    "3028641669288791094655554785194040263065748867150582068190890200070838367627385484581771153176447573027"
    "0069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";

// Exponents are clamped to this magnitude: a text would need more digits than
// that for a larger exponent to change whether its value overflows.
inline constexpr std::int64_t kExponentClamp = 1'000'000'000'000'000;

// nlohmann's parser converts every number that is not a 64-bit integer with
// strtod and refuses it ("number overflow") when that gives infinity, although
// we keep its exact text. To refuse the same numbers without binary floating
// point, compare |int_digits.frac_digits x 10^exponent| with kInfinityDigits.
inline bool rounds_to_infinity(std::string_view int_digits, std::string_view frac_digits, std::int64_t exponent) {
    std::string digits(int_digits);
    digits.append(frac_digits);
    const auto first = digits.find_first_not_of('0');
    if (first == std::string::npos) return false;  // zero
    const auto last = digits.find_last_not_of('0');
    // The value is 0.significant x 10^position, kInfinityDigits 0.digits x 10^309.
    const std::string_view significant = std::string_view(digits).substr(first, last + 1 - first);
    const std::int64_t position =
        exponent + static_cast<std::int64_t>(int_digits.size()) - static_cast<std::int64_t>(first);
    const auto limit = static_cast<std::int64_t>(kInfinityDigits.size());
    if (position != limit) return position > limit;
    return significant >= kInfinityDigits;  // no trailing zeros on either side: text order is value order
}

// Bytes a string copies as they are: printable ASCII but the quote and the
// backslash. Everything else needs a look (escape, end, control, UTF-8).
inline constexpr std::array<bool, 256> kPlainStringByte = [] {
    std::array<bool, 256> plain{};
    for (std::size_t byte = 0x20; byte < 0x80; ++byte) plain[byte] = byte != '"' && byte != '\\';
    return plain;
}();

inline bool is_digit(int c) { return c >= '0' && c <= '9'; }

// A number token, typed as nlohmann types numbers.
struct LexedNumber {
    enum class Kind { Unsigned, Integer, Text };
    Kind kind = Kind::Text;
    std::uint64_t unsigned_value = 0;  // Kind::Unsigned
    std::int64_t integer_value = 0;    // Kind::Integer (negative, or -0 as 0)
    std::string_view text;             // Kind::Text: the number's exact text
};

// The tokens of the exact JSON parsers (the DOM of exact_json.cpp, the tape of
// json_tape.cpp), shared so that both accept exactly the same texts with the
// same errors. Together with their common structure they accept exactly the
// documents nlohmann's SAX parser (the implementation before them) accepted,
// and give the same values, quirks included: a UTF-8 byte order mark
// at the start is skipped, a NUL byte after the value ends the input (nlohmann
// reads NUL as the end), numbers that strtod would round to infinity are
// refused, non-negative integers become number_unsigned. The differential test
// (tests/unit/exact_json_differential_test.cpp) keeps the old parser as an
// oracle. Errors name the offset of the offending byte, counted from 0 (the
// size of the text at its end). Recursion is at most 2 x kMaxDepth frames deep.
class ExactLexer {
protected:
    explicit ExactLexer(std::string_view text) : text_(text) {}

    // Steps over a UTF-8 byte order mark at the start.
    void skip_byte_order_mark() {
        if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
    }

    // After the value: only whitespace, up to the end or a NUL byte.
    bool at_end_of_document() {
        skip_whitespace();
        if (pos_ < text_.size() && text_[pos_] != '\0') return fail("unexpected text after the value");
        return true;
    }

    // Refuses a container opened inside `depth` open ones when that is too deep.
    bool may_open(std::size_t depth) {
        if (depth < kMaxDepth) return true;
        error_ = make_error("malformed_json", "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
        return false;
    }

    // Steps over `word` (true, false, null) at the cursor.
    bool literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return fail("invalid literal");
        pos_ += word.size();
        return true;
    }

    // The byte at the cursor, or -1 at the end.
    int peek() const { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : -1; }

    void skip_whitespace() {
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
            ++pos_;
        }
    }

    // Records a syntax error at the cursor. The message quotes nothing of the
    // input, which need not be UTF-8 and may end up in logs and answers.
    bool fail(std::string_view why) {
        if (pos_ >= text_.size()) why = "unexpected end of input";
        error_ = make_error("malformed_json", "invalid JSON at byte " + std::to_string(pos_) + ": " + std::string(why));
        return false;
    }

    // Steps over `c` if it is at the cursor.
    bool consume(char c) {
        if (peek() != static_cast<unsigned char>(c)) return false;
        ++pos_;
        return true;
    }

    // Appends the string at the cursor (an opening quote), unescaped, to `out`.
    // With `verbatim`, a string without escapes is not copied: *verbatim is
    // set to its bytes in the text (and left empty for one with escapes).
    bool string(std::string& out, std::string_view* verbatim = nullptr) {
        ++pos_;  // '"'
        const std::size_t first = pos_;
        std::size_t run = pos_;  // start of the bytes not yet appended
        while (true) {
            while (pos_ < text_.size() && kPlainStringByte[static_cast<unsigned char>(text_[pos_])]) ++pos_;
            const int c = peek();
            if (c >= 0x80) {
                if (!utf8_sequence()) return false;
                continue;
            }
            if (c == '"' && verbatim != nullptr && run == first) {
                *verbatim = text_.substr(first, pos_ - first);
                ++pos_;
                return true;
            }
            out.append(text_.data() + run, pos_ - run);
            if (c == '"') {
                ++pos_;
                return true;
            }
            if (c != '\\') return fail("control character in string");  // or the end: fail() says so
            if (!escape(out)) return false;
            run = pos_;
        }
    }

    // Steps over one well-formed UTF-8 sequence (Unicode table 3-7: no
    // overlong forms, no surrogates, nothing above U+10FFFF), as nlohmann does.
    bool utf8_sequence() {
        const auto lead = static_cast<unsigned char>(text_[pos_]);
        int continuation = 0;
        unsigned low = 0x80, high = 0xBF;  // range of the first continuation byte
        if (lead >= 0xC2 && lead <= 0xDF) {
            continuation = 1;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            continuation = 2;
            if (lead == 0xE0) low = 0xA0;   // overlong
            if (lead == 0xED) high = 0x9F;  // surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            continuation = 3;
            if (lead == 0xF0) low = 0x90;   // overlong
            if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
        } else {
            return fail("invalid UTF-8");
        }
        ++pos_;
        for (int i = 0; i < continuation; ++i, low = 0x80, high = 0xBF) {
            const int c = peek();
            if (c < static_cast<int>(low) || c > static_cast<int>(high)) return fail("invalid UTF-8");
            ++pos_;
        }
        return true;
    }

    // The escape at the cursor (a backslash), appended unescaped to `out`.
    bool escape(std::string& out) {
        ++pos_;  // '\'
        const int c = peek();
        char plain = 0;
        switch (c) {
            case '"': plain = '"'; break;
            case '\\': plain = '\\'; break;
            case '/': plain = '/'; break;
            case 'b': plain = '\b'; break;
            case 'f': plain = '\f'; break;
            case 'n': plain = '\n'; break;
            case 'r': plain = '\r'; break;
            case 't': plain = '\t'; break;
            case 'u': return unicode_escape(out);
            default:
                return fail("invalid escape");
        }
        out.push_back(plain);
        ++pos_;
        return true;
    }

    // The four hex digits after the cursor's 'u' as a number, the cursor after
    // them; -1 (cursor at the bad digit) if they are not hex digits.
    int hex4() {
        ++pos_;  // 'u'
        int code = 0;
        for (int i = 0; i < 4; ++i, ++pos_) {
            const int c = peek();
            int digit = 0;
            if (is_digit(c)) {
                digit = c - '0';
            } else if (c >= 'a' && c <= 'f') {
                digit = c - 'a' + 10;
            } else if (c >= 'A' && c <= 'F') {
                digit = c - 'A' + 10;
            } else {
                return -1;
            }
            code = code * 16 + digit;
        }
        return code;
    }

    // \uXXXX at the cursor ('u'), or a surrogate pair \uD8xx\uDCxx, as UTF-8.
    // A bad hex digit is the offending byte; for a surrogate alone, its escape.
    bool unicode_escape(std::string& out) {
        const std::size_t escape_start = pos_ - 1;
        const int code = hex4();
        if (code < 0) return fail("invalid \\u escape");
        if (code >= 0xDC00 && code <= 0xDFFF) {
            pos_ = escape_start;
            return fail("lone low surrogate");
        }
        if (code >= 0xD800 && code <= 0xDBFF) {
            if (peek() == '\\' && text_.substr(pos_ + 1, 1) == "u") {
                ++pos_;  // '\'
                const int low = hex4();
                if (low < 0) return fail("invalid \\u escape");
                if (low >= 0xDC00 && low <= 0xDFFF) {
                    append_utf8(out, static_cast<std::uint32_t>(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)));
                    return true;
                }
            }
            pos_ = escape_start;
            return fail("lone high surrogate");
        }
        append_utf8(out, static_cast<std::uint32_t>(code));
        return true;
    }

    static void append_utf8(std::string& out, std::uint32_t code) {
        const auto byte = [&out](std::uint32_t bits) { out.push_back(static_cast<char>(bits)); };
        if (code < 0x80) {
            byte(code);
        } else if (code < 0x800) {
            byte(0xC0 | (code >> 6));
            byte(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            byte(0xE0 | (code >> 12));
            byte(0x80 | ((code >> 6) & 0x3F));
            byte(0x80 | (code & 0x3F));
        } else {
            byte(0xF0 | (code >> 18));
            byte(0x80 | ((code >> 12) & 0x3F));
            byte(0x80 | ((code >> 6) & 0x3F));
            byte(0x80 | (code & 0x3F));
        }
    }

    // Steps over digits; false if there is none.
    bool digits() {
        const std::size_t start = pos_;
        while (is_digit(peek())) ++pos_;
        return pos_ > start;
    }

    // A number as nlohmann types it: an integer that fits uint64 (non-negative)
    // or int64 (negative) is an integer; any other is kept as its exact text.
    bool number(LexedNumber& out) {
        const std::size_t start = pos_;
        const bool negative = peek() == '-';
        if (negative) ++pos_;
        const std::size_t int_start = pos_;
        if (peek() == '0') {
            ++pos_;  // no leading zeros: "01" is the number 0 and then an error
        } else if (!digits()) {
            return fail("invalid number");
        }
        const std::string_view int_digits = text_.substr(int_start, pos_ - int_start);
        std::string_view frac_digits;
        if (peek() == '.') {
            const std::size_t frac_start = ++pos_;
            if (!digits()) return fail("invalid number");
            frac_digits = text_.substr(frac_start, pos_ - frac_start);
        }
        bool has_exponent = false;
        std::int64_t exponent = 0;
        if (peek() == 'e' || peek() == 'E') {
            has_exponent = true;
            ++pos_;
            const bool negative_exponent = peek() == '-';
            if (peek() == '-' || peek() == '+') ++pos_;
            if (!is_digit(peek())) return fail("invalid number");
            for (; is_digit(peek()); ++pos_) exponent = std::min(exponent * 10 + (peek() - '0'), kExponentClamp);
            if (negative_exponent) exponent = -exponent;
        }
        if (frac_digits.empty() && !has_exponent && integer(int_digits, negative, out)) return true;
        // Without an exponent, fewer than 309 integer digits are always finite.
        if ((has_exponent || int_digits.size() >= kInfinityDigits.size()) &&
            rounds_to_infinity(int_digits, frac_digits, exponent)) {
            pos_ = start;
            return fail("number out of range");
        }
        out.kind = LexedNumber::Kind::Text;
        out.text = text_.substr(start, pos_ - start);
        return true;
    }

    // Sets `out` to the integer if it fits its type; false if it does not.
    static bool integer(std::string_view digits, bool negative, LexedNumber& out) {
        constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
        std::uint64_t magnitude = 0;
        for (const char c : digits) {
            const auto digit = static_cast<std::uint64_t>(c - '0');
            if (magnitude > (kMax - digit) / 10) return false;
            magnitude = magnitude * 10 + digit;
        }
        if (!negative) {
            out.kind = LexedNumber::Kind::Unsigned;  // number_unsigned, as nlohmann's lexer gives it
            out.unsigned_value = magnitude;
            return true;
        }
        constexpr auto kMinMagnitude = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1;
        if (magnitude > kMinMagnitude) return false;
        // -0 is the integer 0; -2^63 is negated without overflowing.
        out.kind = LexedNumber::Kind::Integer;
        out.integer_value = magnitude == 0 ? std::int64_t{0} : -static_cast<std::int64_t>(magnitude - 1) - 1;
        return true;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    std::optional<Error> error_;
};

}  // namespace meterbridge::exact_json_detail

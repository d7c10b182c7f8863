#include "meterbridge/core/exact_json.hpp"


#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "unit/bill_decode_oracle.hpp"
#include "unit/exact_json_oracle.hpp"

// parse_exact_json against the nlohmann SAX parser it replaced (the oracle,
// unit/exact_json_oracle.hpp): the same acceptance for every text and the
// same DOM, node types included, for every accepted one. For the same texts,
// JsonTape against parse_exact_json (the same errors, the same values), and
// decode_bill_event against parse_bill_event on the DOM (the same event or
// the same error), since the webhook path decodes from the tape. Inputs: the fuzz
// corpora and example bills, corners of the grammar written by hand,
// exhaustive short inputs, and random documents with byte-level mutations,
// all from fixed seeds. MB_DIFFERENTIAL_PERCENT (default 100) scales the
// number of mutants and random documents: the sanitizer pass of CI runs a
// quarter of them (they took ~100 s of its test time at full size).

namespace meterbridge {
namespace {

using namespace std::literals;

// `count` scaled by MB_DIFFERENTIAL_PERCENT, at least 1.
std::size_t scaled(std::size_t count) {
    const char* text = std::getenv("MB_DIFFERENTIAL_PERCENT");
    const std::size_t percent = text == nullptr ? 100 : std::strtoul(text, nullptr, 10);
    return std::max<std::size_t>(1, count * percent / 100);
}

// Runs texts through the parsers; keeps the first few differences.
class Differ {
public:
    void check(std::string_view text) {
        ++cases_;
        std::string why = oracle::exact_json_mismatch(text);
        if (why.empty()) why = oracle::decoding_mismatch(text);
        if (why.empty()) return;
        if (++mismatches_ <= 10) failures_ += "  " + printable(text) + "\n    " + why + "\n";
    }

    std::size_t cases() const { return cases_; }
    // Empty when the parsers agreed on every text.
    std::string report() const {
        if (mismatches_ == 0) return {};
        return std::to_string(mismatches_) + " of " + std::to_string(cases_) + " texts differ:\n" + failures_;
    }

private:
    static std::string printable(std::string_view text) {
        std::string out;
        for (const char c : text.substr(0, 300)) {
            const auto byte = static_cast<unsigned char>(c);
            if (byte >= 0x20 && byte < 0x7f && c != '\\') {
                out.push_back(c);
            } else {
                static constexpr char kHex[] = "0123456789abcdef";
                out += "\\x";
                out.push_back(kHex[byte >> 4]);
                out.push_back(kHex[byte & 15]);
            }
        }
        if (text.size() > 300) out += "... (" + std::to_string(text.size()) + " bytes)";
        return out;
    }

    std::size_t cases_ = 0;
    std::size_t mismatches_ = 0;
    std::string failures_;
};

// Bytes worth putting where they are not expected.
constexpr std::string_view kInterestingBytes =
    "\"\\{}[],:0-+.eEu1D8 \t\r\n/tfn\x00\x01\x1f\x7f\x80\xbf\xc0\xc1\xc2\xdf\xe0\xed\xef\xf0\xf4\xf5\xff"sv;

// Applies 1 to 3 random edits: flip a bit, overwrite or insert an
// interesting byte, delete a byte, truncate, repeat a span.
std::string mutate(std::string text, std::mt19937_64& random) {
    const auto pick = [&random](std::size_t n) { return static_cast<std::size_t>(random() % n); };
    const std::size_t edits = 1 + pick(3);
    for (std::size_t e = 0; e < edits; ++e) {
        const std::size_t at = pick(text.size() + 1);
        const char interesting = kInterestingBytes[pick(kInterestingBytes.size())];
        switch (pick(6)) {
            case 0:
                if (at < text.size()) text[at] = static_cast<char>(text[at] ^ (1 << pick(8)));
                break;
            case 1:
                if (at < text.size()) text[at] = interesting;
                break;
            case 2:
                text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), interesting);
                break;
            case 3:
                if (at < text.size()) text.erase(at, 1);
                break;
            case 4:
                text.resize(at);
                break;
            default: {
                const std::size_t length = pick(8) + 1;
                text.insert(at, text.substr(at, length));
                break;
            }
        }
    }
    return text;
}

// Random valid JSON: every kind of value, number spelling, escape and UTF-8
// length, random whitespace; now and then nested near the depth limit.
class DocumentMaker {
public:
    explicit DocumentMaker(std::uint64_t seed) : random_(seed) {}

    std::string document() {
        std::string out;
        whitespace(out);
        if (pick(50) == 0) {
            deep(out);
        } else {
            value(out, 0);
        }
        whitespace(out);
        return out;
    }

private:
    std::size_t pick(std::size_t n) { return static_cast<std::size_t>(random_() % n); }

    void whitespace(std::string& out) {
        static constexpr std::string_view kSpace = " \t\n\r";
        while (pick(4) == 0) out.push_back(kSpace[pick(kSpace.size())]);
    }

    // 126 to 130 containers around a value (the limit is 128).
    void deep(std::string& out) {
        const std::size_t levels = 126 + pick(5);
        std::string closing;
        for (std::size_t i = 0; i < levels; ++i) {
            if (pick(2) == 0) {
                out += "[";
                closing.insert(closing.begin(), ']');
            } else {
                out += "{\"k\":";
                closing.insert(closing.begin(), '}');
            }
        }
        value(out, 3);
        out += closing;
    }

    void value(std::string& out, int depth) {
        switch (pick(depth < 4 ? 7 : 4)) {
            case 0:
                number(out);
                break;
            case 1:
                string(out);
                break;
            case 2:
                out += std::array<const char*, 3>{"true", "false", "null"}[pick(3)];
                break;
            case 3:
                number(out);
                break;
            case 4:
            case 5: {
                out += '{';
                const std::size_t members = pick(5);
                for (std::size_t i = 0; i < members; ++i) {
                    if (i > 0) out += ',';
                    whitespace(out);
                    if (pick(4) == 0) {
                        out += "\"dup\"";  // duplicate keys: the last wins
                    } else {
                        string(out);
                    }
                    whitespace(out);
                    out += ':';
                    whitespace(out);
                    value(out, depth + 1);
                    whitespace(out);
                }
                out += '}';
                break;
            }
            default: {
                out += '[';
                const std::size_t elements = pick(5);
                for (std::size_t i = 0; i < elements; ++i) {
                    if (i > 0) out += ',';
                    whitespace(out);
                    value(out, depth + 1);
                    whitespace(out);
                }
                out += ']';
                break;
            }
        }
    }

    void digits(std::string& out, std::size_t count, bool leading_zeros) {
        for (std::size_t i = 0; i < count; ++i) {
            out.push_back(static_cast<char>('0' + ((i == 0 && !leading_zeros) ? 1 + pick(9) : pick(10))));
        }
    }

    void number(std::string& out) {
        static constexpr std::array<std::string_view, 12> kEdges = {
            "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
            "-9223372036854775808", "-9223372036854775809", "-18446744073709551616", "-0",
            "0", "1.7976931348623157e308", "1.7976931348623159e308", "4.9e-324"};
        if (pick(10) == 0) {
            out += kEdges[pick(kEdges.size())];
            return;
        }
        if (pick(3) == 0) out += '-';
        if (pick(4) == 0) {
            out += '0';
        } else {
            // Lengths around 19-20 digits (int64, uint64) and 309 (the overflow bound).
            const std::size_t length = pick(8) == 0 ? 300 + pick(15) : 1 + pick(22);
            digits(out, length, false);
        }
        if (pick(2) == 0) {
            out += '.';
            digits(out, 1 + pick(pick(10) == 0 ? 40 : 6), true);
        }
        if (pick(3) == 0) {
            out += pick(2) == 0 ? 'e' : 'E';
            if (pick(2) == 0) out += pick(2) == 0 ? '-' : '+';
            if (pick(3) == 0) {
                out += std::to_string(290 + pick(40));  // near the overflow bound
            } else {
                digits(out, 1 + pick(4), true);
            }
        }
    }

    void string(std::string& out) {
        static constexpr std::array<std::string_view, 20> kPieces = {
            "a", "Z", "0", " ", "-", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
            "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\\u00e9",
            "\\uD83D\\uDE00"};
        static constexpr std::string_view kHex = "0123456789abcdefABCDEF";
        out += '"';
        const std::size_t length = pick(8);
        for (std::size_t i = 0; i < length; ++i) {
            if (pick(6) == 0) {
                out += "\\u";
                for (int h = 0; h < 4; ++h) out.push_back(kHex[pick(kHex.size())]);
                if (pick(2) == 0) out += "\\uDC00";  // pairs when the first is a high surrogate
            } else {
                out += kPieces[pick(kPieces.size())];
            }
        }
        out += '"';
    }

    std::mt19937_64 random_;
};

std::string file_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ExactJsonDifferential, CorporaAndExampleBills) {
    const std::filesystem::path root = METERBRIDGE_SOURCE_DIR;
    std::vector<std::filesystem::path> files;
    for (const auto& dir : {root / "fuzz" / "corpus", root / "config" / "examples"}) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
            if (entry.is_regular_file()) files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    ASSERT_GT(files.size(), 1000u);
    Differ differ;
    std::mt19937_64 random(20261124);
    for (const auto& path : files) {
        const std::string text = file_text(path);
        differ.check(text);
        // The JSON inside: filter inputs have it after the first line, HTTP
        // ones after the headers of each request.
        std::istringstream lines(text);
        for (std::string line; std::getline(lines, line);) differ.check(line);
        for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 1)) {
            if (at + 1 < text.size() && (text[at + 1] == '{' || text[at + 1] == '[')) differ.check(text.substr(at + 1));
        }
        // Mutants near valid bills and configs: about 64 KB of them a file.
        const std::size_t mutants = scaled(std::clamp<std::size_t>(65536 / (text.size() + 1), 2, 64));
        for (std::size_t i = 0; i < mutants; ++i) differ.check(mutate(text, random));
    }
    EXPECT_EQ(differ.report(), "");
    std::cout << differ.cases() << " texts\n";
}

TEST(ExactJsonDifferential, HandWrittenCorners) {
    const std::string deep127 = std::string(127, '[') + std::string(127, ']');
    const std::string deep128 = std::string(128, '[') + std::string(128, ']');
    const std::string deep129 = std::string(129, '[') + std::string(129, ']');
    std::string objects128;
    for (int i = 0; i < 128; ++i) objects128 += "{\"a\":";
    objects128 += "1" + std::string(128, '}');
    std::string mixed129 = "{\"a\":" + std::string(127, '[') + "{}" + std::string(127, ']') + "}";
    // 2^1024 - 2^970, the smallest value strtod rounds to infinity.
    const std::string infinity =
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587"
        "207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711"
        "531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093"
        "042880177904174497792";
    std::string below = infinity;
    below.back() = '1';
    const std::vector<std::string> texts = {
        // Empty, whitespace, trailing text, NUL (nlohmann's end of input), byte order mark.
        "", " ", "\t\n\r ", "\f1", "\v1", "1 ", " 1", "{} x", "{}}", "[]]", "1 2", "{}{}", "[] \x00 junk"s, "\x00"s,
        "1\x00"s, "\x00 1"s, "[1\x00]"s, "\"a\x00\""s, "\xef\xbb\xbf{}", "\xef\xbb\xbf", "\xef\xbb\xbf 1",
        " \xef\xbb\xbf{}", "\xef\xbb{}", "\xef\xbb\xbf\xef\xbb\xbf{}", "\xc2\xa0" "1", "1\xc2\xa0",
        // Literals.
        "true", "false", "null", "tru", "nul", "True", "NULL", "truex", "[true,false,null]", "[truefalse]",
        "nan", "inf", "-Infinity", "[nul]", "[t]",
        // Number grammar.
        "0", "-0", "00", "01", "-01", "-00", "+1", ".5", "1.", "-", "--1", "-.5", "1.e5", "1e", "1e+", "1e-",
        "1E+2", "1e-2", "1e02", "1e+0002", "0e0", "0E-0", "-0.0", "-5.0", "0.0000", "1.5e3.2", "1e5e5", "0x10", "1_000",
        "1,5", "[1,]", "[,1]", "[01]", "[1 2]", "[-]", "[-a]", "2.", "[2.]", "1.0e", "0.e1", "-0e-0",
        "123456789012.3456", "1e-400",
        "1e400", "-1e400", "1e308", "1e309", "1.7976931348623157e308", "1.7976931348623158e308",
        "1.7976931348623159e308", "-1.7976931348623159e308", "17976931348623158e292", "0.17976931348623158e309",
        "1e999999999999999999999999", "1e-999999999999999999999999", "0e999999999999999999999999",
        "0.0000000000000000000000001e333", "100000000000000000000e289", infinity, "-" + infinity, below,
        infinity + ".0", below + ".9", below + "e0", below + "0e-1", infinity + "e-1", "0." + infinity + "e309",
        "0." + below + "e309", std::string(309, '9'), std::string(308, '9'), "1" + std::string(400, '0'),
        "1" + std::string(400, '0') + "e-400",
        // Integers at the edges of int64 and uint64.
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "-18446744073709551615", "99999999999999999999",
        "123456789012345678901234567890", "[42,-42,0,-0]",
        // Strings and escapes.
        "\"\"", "\"abc\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\a\"", "\"\\x41\"", "\"\\'\"", "\"\\",
        "\"\\\"", "\"abc", "\"\\u0041\"", "\"\\u00e9\\u00E9\"", "\"\\u0000\"", "\"\\u001f\"", "\"\\u12\"",
        "\"\\u12G4\"", "\"\\U0041\"",
        "\"\\uD83D\\uDE00\"", "\"\\uD83D\"", "\"\\uDE00\"", "\"\\uD83D\\uD83D\"", "\"\\uD83D\\u0041\"", "\"\\uD83Dx\"",
        "\"\\uD83D\\n\"", "\"\\uDBFF\\uDFFF\"", "\"\\uD800\\uDC00\"", "\"\\uD800\\uDBFF\"", "\"\\uD800\\uE000\"",
        "\"\\uD800\\", "\"\\uD800\\u", "\"\\uD800\\uDC\"", "\"\\uFFFF\"", "\"\\uFEFF\"",
        // Raw control characters and DEL.
        "\"\x01\"", "\"\x1f\"", "\"\t\"", "\"\n\"", "\"\x7f\"",
        // UTF-8: valid of each length, bad continuation, overlong, surrogates, above U+10FFFF, truncated.
        "\"\xc3\xa9\"", "\"\xe2\x82\xac\"", "\"\xf0\x9f\x98\x80\"", "\"\xf4\x8f\xbf\xbf\"", "\"\x80\"", "\"\xbf\"",
        "\"\xc0\xaf\"", "\"\xc1\xbf\"", "\"\xc2\x7f\"", "\"\xc2\xc0\"", "\"\xe0\x80\xaf\"", "\"\xe0\x9f\xbf\"",
        "\"\xe0\xa0\x80\"", "\"\xed\x9f\xbf\"", "\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"", "\"\xef\xbf\xbf\"",
        "\"\xf0\x80\x80\xaf\"", "\"\xf0\x8f\xbf\xbf\"", "\"\xf0\x90\x80\x80\"", "\"\xf4\x90\x80\x80\"",
        "\"\xf5\x80\x80\x80\"", "\"\xf8\x88\x80\x80\x80\"", "\"\xfe\"", "\"\xff\"", "\"\xc3\"", "\"\xe2\x82\"",
        "\"\xf0\x9f\x98\"", "\xc3\xa9", "[\"\xe2\x82\xac\"]", "{\"\xc3\xa9\":1}", "{\"\xc3\":1}",
        // Objects: duplicate keys (the last wins), key order, bad keys and separators.
        "{}", "{ }", "{\"a\":1}", "{\"b\":1,\"a\":2}", "{\"a\":1,\"a\":2}", "{\"a\":[1],\"a\":2}",
        "{\"a\":1,\"a\":{\"b\":2}}", "{\"a\":{\"x\":1},\"a\":{\"y\":2}}", "{\"\":0}", "{a:1}", "{\"a\"1}", "{\"a\":}",
        "{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}", "{1:1}", "{\"a\":1", "{\"a\"", "{\"a\":1]", "[1}",
        "{\"a\" : 1 , \"b\" : [ ] }",
        // Depth: the limit is 128 containers open at once.
        deep127, deep128, deep129, std::string(128, '['), std::string(129, '['), std::string(10000, '['), objects128,
        "[" + objects128 + "]", mixed129, std::string(100, '[') + std::string(100, ']'),
        // Whitespace everywhere.
        " \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ \t\r\n1 \t\r\n, \t\r\n2 \t\r\n] \t\r\n} \t\r\n"};
    Differ differ;
    for (const std::string& text : texts) {
        differ.check(text);
        // The same inside an array and as an object member.
        differ.check("[" + text + "]");
        differ.check("{\"k\":" + text + "}");
    }
    EXPECT_EQ(differ.report(), "");
}

// Every text of one or two bytes, every string of two bytes between quotes,
// and every UTF-8-like sequence of up to four bytes around the valid ranges.
TEST(ExactJsonDifferential, ExhaustiveShortTexts) {
    Differ differ;
    std::string text;
    for (int a = 0; a < 256; ++a) {
        differ.check(std::string(1, static_cast<char>(a)));
        for (int b = 0; b < 256; ++b) {
            text = {static_cast<char>(a), static_cast<char>(b)};
            differ.check(text);
            differ.check("\"" + text + "\"");
        }
    }
    constexpr std::array<int, 5> kTails = {0x7f, 0x80, 0xbf, 0xc0, '"'};
    for (int lead = 0xc0; lead <= 0xff; ++lead) {
        for (int second = 0x7f; second <= 0xc0; ++second) {
            for (const int third : kTails) {
                for (const int fourth : kTails) {
                    text = {'"', static_cast<char>(lead), static_cast<char>(second), static_cast<char>(third),
                            static_cast<char>(fourth), '"'};
                    differ.check(text);
                }
            }
        }
    }
    // Every number-like text of up to 5 characters.
    constexpr std::string_view kNumberBytes = "0129-+.eE";
    std::vector<std::string> level = {""};
    for (int length = 1; length <= 5; ++length) {
        std::vector<std::string> next;
        for (const std::string& prefix : level) {
            for (const char c : kNumberBytes) {
                next.push_back(prefix + c);
                differ.check(next.back());
            }
        }
        level = std::move(next);
    }
    EXPECT_EQ(differ.report(), "");
    std::cout << differ.cases() << " texts\n";
}

TEST(ExactJsonDifferential, RandomDocumentsAndMutants) {
    DocumentMaker maker(1);
    std::mt19937_64 random(2);
    Differ differ;
    for (std::size_t i = 0; i < scaled(40000); ++i) {
        const std::string document = maker.document();
        differ.check(document);
        for (int m = 0; m < 4; ++m) differ.check(mutate(document, random));
    }
    EXPECT_EQ(differ.report(), "");
    std::cout << differ.cases() << " texts\n";
}

}  // namespace
}  // namespace meterbridge

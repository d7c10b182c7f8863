#include "meterbridge/core/exact_json.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace meterbridge {
namespace {

TEST(ExactJson, KeepsTheTextOfEveryNonIntegerNumber) {
    const auto doc = parse_exact_json(R"({"a":0.29,"b":9.985,"c":1e-2,"d":-5.0,"e":123456789012.3456,"f":42,"g":"0.5"})");
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(*exact_number_text((*doc)["a"]), "0.29");
    EXPECT_EQ(*exact_number_text((*doc)["b"]), "9.985");
    EXPECT_EQ(*exact_number_text((*doc)["c"]), "1e-2");
    EXPECT_EQ(*exact_number_text((*doc)["d"]), "-5.0");
    EXPECT_EQ(decimal_from_json((*doc)["e"], "e")->to_string(), "123456789012.3456");
    EXPECT_EQ(decimal_from_json((*doc)["f"], "f")->to_string(), "42");
    EXPECT_FALSE(exact_number_text((*doc)["g"]));  // a string is not a number
    const auto err = decimal_from_json((*doc)["g"], "lineItems[3].subtotal");
    ASSERT_FALSE(err.ok());
    EXPECT_EQ(err.error().field, "lineItems[3].subtotal");
}

TEST(ExactJson, IntegersTooLargeForInt64StayExactText) {
    const auto doc = parse_exact_json(R"([123456789012345678901234567890])");
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(*exact_number_text((*doc)[0]), "123456789012345678901234567890");
}

TEST(ExactJson, DumpWritesNumbersAsTheirText) {
    const std::string text = R"({"items":[{"subtotal":9.985},{"subtotal":0.10}],"n":null,"s":"x\"y"})";
    const auto doc = parse_exact_json(text);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(dump_exact(*doc), text);
}

TEST(ExactJson, ReportsSyntaxErrorsAndDepth) {
    const auto bad = parse_exact_json(R"({"a":)");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, "malformed_json");
    EXPECT_FALSE(parse_exact_json("").ok());
    EXPECT_FALSE(parse_exact_json("{} x").ok());
    EXPECT_FALSE(parse_exact_json(std::string(10000, '[')).ok());
    EXPECT_TRUE(parse_exact_json(std::string(100, '[') + std::string(100, ']')).ok());
}

// Errors name the offending byte, counted from 0, and quote none of the input.
TEST(ExactJson, ErrorsNameTheOffendingByte) {
    const auto message = [](std::string_view text) { return parse_exact_json(text).error().message; };
    EXPECT_EQ(message("{} x"), "invalid JSON at byte 3: unexpected text after the value");
    EXPECT_EQ(message(R"({"a":)"), "invalid JSON at byte 5: unexpected end of input");
    EXPECT_EQ(message("[1,\x01]"), "invalid JSON at byte 3: expected a value");
    EXPECT_EQ(message("[01]"), "invalid JSON at byte 2: expected ',' or ']'");
    EXPECT_EQ(message("\"ab\xc3(\""), "invalid JSON at byte 4: invalid UTF-8");
    EXPECT_EQ(message(R"(["\uDE00"])"), "invalid JSON at byte 2: lone low surrogate");
    EXPECT_EQ(message(R"(["\uD83D\u0041"])"), "invalid JSON at byte 2: lone high surrogate");
    EXPECT_EQ(message(R"(["\u00G0"])"), "invalid JSON at byte 6: invalid \\u escape");
    EXPECT_EQ(message("[1e400]"), "invalid JSON at byte 1: number out of range");
    EXPECT_EQ(message(std::string(129, '[')), "JSON nested deeper than 128 levels");
    EXPECT_EQ(message(std::string(128, '[')), "invalid JSON at byte 128: unexpected end of input");
}

// What nlohmann's parser did, kept when it was replaced (the differential test
// checks every case against it): integer types by sign, exact text beyond 64
// bits, a byte order mark skipped, NUL as the end, strtod's range.
TEST(ExactJson, KeepsTheRulesOfNlohmannsParser) {
    const auto doc = parse_exact_json("[42,-42,-0,18446744073709551615,18446744073709551616,-9223372036854775808]");
    ASSERT_TRUE(doc.ok());
    EXPECT_TRUE((*doc)[0].is_number_unsigned());
    EXPECT_FALSE((*doc)[1].is_number_unsigned());
    EXPECT_FALSE((*doc)[2].is_number_unsigned());  // -0 is the signed integer 0
    EXPECT_EQ((*doc)[2], 0);
    EXPECT_TRUE((*doc)[3].is_number_unsigned());
    EXPECT_EQ(*exact_number_text((*doc)[4]), "18446744073709551616");
    EXPECT_EQ((*doc)[5].get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());

    EXPECT_TRUE(parse_exact_json("\xEF\xBB\xBF{}").ok());
    EXPECT_FALSE(parse_exact_json(" \xEF\xBB\xBF{}").ok());
    EXPECT_TRUE(parse_exact_json(std::string_view("{} \0 ignored", 12)).ok());
    EXPECT_FALSE(parse_exact_json(std::string_view("\0", 1)).ok());
    EXPECT_FALSE(parse_exact_json("\f1").ok());  // whitespace is space, tab, CR and LF only

    // The largest value strtod does not round to infinity is just below 2^1024 - 2^970.
    EXPECT_TRUE(parse_exact_json("1.7976931348623158e308").ok());
    EXPECT_FALSE(parse_exact_json("1.7976931348623159e308").ok());
    EXPECT_FALSE(parse_exact_json("-1e309").ok());
    EXPECT_TRUE(parse_exact_json("1e-400").ok());
    EXPECT_TRUE(parse_exact_json("0e99999999999999999999").ok());

    const auto last_wins = parse_exact_json(R"({"a":{"x":1},"a":[2]})");
    ASSERT_TRUE(last_wins.ok());
    EXPECT_EQ(dump_exact(*last_wins), R"({"a":[2]})");
}

// append_json_string writes what nlohmann's dump() writes, for every byte:
// quotes, backslashes, control characters, UTF-8 and invalid UTF-8.
TEST(ExactJson, StringsAreWrittenAsNlohmannWritesThem) {
    std::mt19937 random(7);
    const std::string alphabet = std::string("abcXYZ019 \"\\/\x7f\t\n\x01\x1f") + "\xc3\xa9\xe2\x82\xac\xff\xc3";
    for (int i = 0; i < 5000; ++i) {
        std::string text;
        const int length = static_cast<int>(random() % 12);
        for (int c = 0; c < length; ++c) text.push_back(alphabet[random() % alphabet.size()]);
        std::string out = "prefix";
        append_json_string(out, text);
        EXPECT_EQ(out, "prefix" + Json(text).dump(-1, ' ', false, Json::error_handler_t::replace)) << i;
    }
}

}  // namespace
}  // namespace meterbridge

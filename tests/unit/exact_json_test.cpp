#include "meterbridge/core/exact_json.hpp"

#include <gtest/gtest.h>

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

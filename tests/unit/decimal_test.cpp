#include "meterbridge/core/decimal.hpp"

#include <gtest/gtest.h>

#include <random>

namespace meterbridge {
namespace {

Decimal dec(std::string_view text) {
    auto parsed = Decimal::parse(text);
    EXPECT_TRUE(parsed.ok()) << text;
    return parsed.ok() ? *parsed : Decimal{};
}

TEST(Decimal, ParsesExactly) {
    struct Case {
        std::string_view text;
        std::int64_t coefficient;
        int scale;
    };
    for (const Case& c : {Case{"0.29", 29, 2}, Case{"9.985", 9985, 3}, Case{"1e-2", 1, 2}, Case{"-5.0", -5, 0},
                          Case{"123456789012.3456", 1234567890123456, 4}, Case{"12.5E+1", 125, 0},
                          Case{"0", 0, 0}, Case{"-0.000", 0, 0}, Case{"1.50000", 15, 1}, Case{"7E2", 700, 0},
                          Case{"0.000000000000000001", 1, 18}, Case{"9223372036854775807", INT64_MAX, 0}}) {
        const Decimal d = dec(c.text);
        EXPECT_EQ(d.coefficient(), c.coefficient) << c.text;
        EXPECT_EQ(d.scale(), c.scale) << c.text;
    }
}

TEST(Decimal, RejectsMalformedText) {
    for (std::string_view text : {"", "-", ".5", "5.", "1e", "1e+", "abc", "1.2.3", "--1", "+1", "1 ", " 1", "0x10",
                                  "1,5", "NaN", "Infinity"}) {
        const auto parsed = Decimal::parse(text);
        ASSERT_FALSE(parsed.ok()) << text;
        EXPECT_EQ(parsed.error().code, "malformed_number") << text;
    }
}

TEST(Decimal, RejectsOverflowAndExcessPrecision) {
    EXPECT_EQ(Decimal::parse("9223372036854775808").error().code, "overflow");
    EXPECT_EQ(Decimal::parse("1e19").error().code, "overflow");
    EXPECT_EQ(Decimal::parse("1e99999999").error().code, "overflow");
    EXPECT_EQ(Decimal::parse("0.0000000000000000001").error().code, "too_precise");
    EXPECT_EQ(Decimal::parse("1234567890123456789012345678901234567890").error().code, "overflow");
    // Zero is zero however it is written.
    EXPECT_TRUE(Decimal::parse("0e99999999").ok());
}

TEST(Decimal, AddsAndSubtractsExactly) {
    EXPECT_EQ(dec("0.1").add(dec("0.2"))->to_string(), "0.3");
    EXPECT_EQ(dec("0.29").add(dec("-5.0"))->to_string(), "-4.71");
    EXPECT_EQ(dec("123456789012.3456").subtract(dec("0.0001"))->to_string(), "123456789012.3455");
    EXPECT_EQ(dec("9223372036854775807").add(dec("1")).error().code, "overflow");
    EXPECT_EQ(dec("-9223372036854775807").subtract(dec("2")).error().code, "overflow");
    EXPECT_EQ(dec("92233720368547758.07").add(dec("0.001")).error().code, "overflow");  // rescale overflows
}

// Found by the decimal fuzzer: a - b overflowed at the common scale although
// the exact result (a itself) fits once its trailing zeros are dropped.
TEST(Decimal, SumsThatFitOnlyWithoutTrailingZerosAreExact) {
    const Decimal a = dec("-9223372036855.1");
    const Decimal b = dec("1477580.720889");
    const auto sum = a.add(b);
    ASSERT_TRUE(sum.ok());
    const auto back = sum->subtract(b);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, a);
    EXPECT_EQ(dec("922337203685477580.7").add(dec("0.00")).value().to_string(), "922337203685477580.7");
}

TEST(Decimal, ComparesNumerically) {
    EXPECT_EQ(dec("5.0"), dec("5"));
    EXPECT_EQ(dec("0.10"), dec("0.1"));
    EXPECT_LT(dec("-0.01"), dec("0"));
    EXPECT_LT(dec("0.299"), dec("0.3"));
}

TEST(Decimal, FormatsPlainText) {
    EXPECT_EQ(dec("0.29").to_string(), "0.29");
    EXPECT_EQ(dec("-0.05").to_string(), "-0.05");
    EXPECT_EQ(dec("1e-2").to_string(), "0.01");
    EXPECT_EQ(dec("50").to_string(), "50");
    EXPECT_EQ(Decimal::from_integer(INT64_MIN).to_string(), "-9223372036854775808");
}

TEST(Decimal, DividesToUnitsWithEachRoundingMode) {
    const Decimal cent = dec("0.01");
    struct Case {
        std::string_view amount;
        std::int64_t half_up, half_even, down, up;
    };
    for (const Case& c : {
             Case{"0.50", 50, 50, 50, 50},
             Case{"9.985", 999, 998, 998, 999},
             Case{"9.975", 998, 998, 997, 998},
             Case{"9.9851", 999, 999, 998, 999},
             Case{"9.9849", 998, 998, 998, 999},
             Case{"-9.985", -999, -998, -998, -999},
             Case{"0.005", 1, 0, 0, 1},
             Case{"0.015", 2, 2, 1, 2},
             Case{"0.004", 0, 0, 0, 1},
             Case{"123456789012.3456", 12345678901235, 12345678901235, 12345678901234, 12345678901235},
         }) {
        const Decimal amount = dec(c.amount);
        EXPECT_EQ(*amount.divide_to_integer(cent, Rounding::HalfUp), c.half_up) << c.amount;
        EXPECT_EQ(*amount.divide_to_integer(cent, Rounding::HalfEven), c.half_even) << c.amount;
        EXPECT_EQ(*amount.divide_to_integer(cent, Rounding::Down), c.down) << c.amount;
        EXPECT_EQ(*amount.divide_to_integer(cent, Rounding::Up), c.up) << c.amount;
    }
    EXPECT_EQ(*dec("7.5").divide_to_integer(dec("2.5"), Rounding::Down), 3);
    EXPECT_EQ(dec("1").divide_to_integer(dec("0"), Rounding::HalfUp).error().code, "division_by_zero");
    EXPECT_EQ(dec("92233720368547758.07").divide_to_integer(dec("0.0001"), Rounding::HalfUp).error().code, "overflow");
}

TEST(Decimal, ParsesRoundingNames) {
    EXPECT_EQ(*parse_rounding("half_even"), Rounding::HalfEven);
    EXPECT_EQ(to_string(*parse_rounding("down")), "down");
    EXPECT_FALSE(parse_rounding("HALF_UP").ok());
}

// Randomized: the text round-trips, and the integer division agrees with a
// reference computed on integer cents.
TEST(Decimal, RandomizedRoundTripAndDivision) {
    std::mt19937_64 rng(20261124);
    std::uniform_int_distribution<std::int64_t> mills(-10'000'000'000LL, 10'000'000'000LL);
    for (int i = 0; i < 20000; ++i) {
        const std::int64_t m = mills(rng);  // amount in thousandths
        const Decimal d = Decimal::parse(Decimal::from_integer(m).to_string() + "e-3").value();
        EXPECT_EQ(Decimal::parse(d.to_string()).value(), d);
        const std::int64_t magnitude = m < 0 ? -m : m;
        const std::int64_t floor_cents = magnitude / 10;
        const std::int64_t rest = magnitude % 10;
        const std::int64_t half_up = (floor_cents + (rest >= 5 ? 1 : 0)) * (m < 0 ? -1 : 1);
        const std::int64_t down = floor_cents * (m < 0 ? -1 : 1);
        ASSERT_EQ(*d.divide_to_integer(Decimal::parse("0.01").value(), Rounding::HalfUp), half_up) << m;
        ASSERT_EQ(*d.divide_to_integer(Decimal::parse("0.01").value(), Rounding::Down), down) << m;
    }
}

}  // namespace
}  // namespace meterbridge

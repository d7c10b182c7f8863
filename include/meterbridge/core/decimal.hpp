#pragma once
// Exact decimal money: an int64 coefficient and a decimal scale
// (value = coefficient / 10^scale). Parsed from text, never from binary floating point.
// Every operation that could overflow returns an Error instead of a wrong value.
#include <cstdint>
#include <string>
#include <string_view>

#include "meterbridge/core/result.hpp"

namespace meterbridge {

// How a quotient is rounded to a whole number (SPEC §3 `rounding`).
// All modes are symmetric around zero: -9.985 rounds like 9.985, negated.
enum class Rounding {
    HalfUp,    // nearest; ties away from zero (9.985 -> 999 units of 0.01)
    HalfEven,  // nearest; ties to the even neighbour (banker's rounding)
    Down,      // toward zero (truncate)
    Up,        // away from zero
};

Result<Rounding> parse_rounding(std::string_view text);  // "half_up" | "half_even" | "down" | "up"
std::string_view to_string(Rounding mode);

class Decimal {
public:
    static constexpr int kMaxScale = 18;

    constexpr Decimal() = default;  // zero
    static Decimal from_integer(std::int64_t value) { return Decimal(value, 0); }

    // Parses a JSON-number-like text: optional '-', digits, optional
    // fraction, optional exponent ("0.29", "1e-2", "-5.0", "12.5E+1").
    // Trailing fractional zeros are dropped; more than kMaxScale significant
    // decimals, an out-of-range value or any other text is an Error.
    static Result<Decimal> parse(std::string_view text);

    std::int64_t coefficient() const noexcept { return coefficient_; }
    int scale() const noexcept { return scale_; }
    bool is_zero() const noexcept { return coefficient_ == 0; }
    bool is_negative() const noexcept { return coefficient_ < 0; }

    Result<Decimal> add(const Decimal& other) const;
    Result<Decimal> subtract(const Decimal& other) const;
    Result<Decimal> negate() const;

    // this / divisor, rounded once to a whole number by `mode`.
    // Used to turn an amount into units of the unit price ($0.50 / 0.01 = 50).
    Result<std::int64_t> divide_to_integer(const Decimal& divisor, Rounding mode) const;

    // Numeric comparison: 5.0 == 5, 0.10 == 0.1.
    friend bool operator==(const Decimal& a, const Decimal& b) noexcept { return compare(a, b) == 0; }
    friend bool operator<(const Decimal& a, const Decimal& b) noexcept { return compare(a, b) < 0; }
    static int compare(const Decimal& a, const Decimal& b) noexcept;

    // Plain decimal text, no exponent, keeps the scale ("-5.0", "0.29", "50").
    std::string to_string() const;

private:
    constexpr Decimal(std::int64_t coefficient, int scale) : coefficient_(coefficient), scale_(scale) {}

    std::int64_t coefficient_ = 0;
    int scale_ = 0;
};

}  // namespace meterbridge

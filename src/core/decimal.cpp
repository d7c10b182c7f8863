#include "meterbridge/core/decimal.hpp"

#include <array>
#include <cstdlib>
#include <limits>

namespace meterbridge {
namespace {

// Intermediate width: 10^18 * int64 still fits. __extension__ keeps -Wpedantic quiet.
__extension__ typedef __int128 Wide;

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

constexpr std::array<std::int64_t, 19> kPow10 = {
    1LL,
    10LL,
    100LL,
    1000LL,
    10000LL,
    100000LL,
    1000000LL,
    10000000LL,
    100000000LL,
    1000000000LL,
    10000000000LL,
    100000000000LL,
    1000000000000LL,
    10000000000000LL,
    100000000000000LL,
    1000000000000000LL,
    10000000000000000LL,
    100000000000000000LL,
    1000000000000000000LL,
};

Wide pow10_wide(int exponent) { return static_cast<Wide>(kPow10[static_cast<std::size_t>(exponent)]); }

bool fits_int64(Wide value) { return value >= kInt64Min && value <= kInt64Max; }

Error overflow(std::string_view what) { return make_error("overflow", std::string(what) + " is out of range"); }

// The coefficient of `d` at the larger scale `to_scale`, widened.
Wide rescaled(const Decimal& d, int to_scale) {
    return static_cast<Wide>(d.coefficient()) * pow10_wide(to_scale - d.scale());
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<Rounding> parse_rounding(std::string_view text) {
    if (text == "half_up") return Rounding::HalfUp;
    if (text == "half_even") return Rounding::HalfEven;
    if (text == "down") return Rounding::Down;
    if (text == "up") return Rounding::Up;
    return make_error("invalid_value", "rounding must be one of half_up, half_even, down, up");
}

std::string_view to_string(Rounding mode) {
    switch (mode) {
        case Rounding::HalfUp: return "half_up";
        case Rounding::HalfEven: return "half_even";
        case Rounding::Down: return "down";
        case Rounding::Up: return "up";
    }
    return "half_up";
}

Result<Decimal> Decimal::parse(std::string_view text) {
    const auto malformed = [&] {
        return make_error("malformed_number", "'" + std::string(text.substr(0, 64)) + "' is not a decimal number");
    };
    std::size_t i = 0;
    const bool negative = i < text.size() && text[i] == '-';
    if (negative) ++i;

    // Significant digits of integer and fraction parts, accumulated exactly.
    Wide digits = 0;
    int fraction_digits = 0;
    int significant = 0;  // digits after leading zeros; bounds the accumulator
    bool any_digit = false;
    const auto take = [&](char c) -> bool {
        if (significant > 0 || c != '0') ++significant;
        if (significant > 36) return false;
        digits = digits * 10 + (c - '0');
        return true;
    };
    while (i < text.size() && is_digit(text[i])) {
        if (!take(text[i++])) return overflow("number");
        any_digit = true;
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        bool fraction_digit = false;
        while (i < text.size() && is_digit(text[i])) {
            if (!take(text[i++])) return overflow("number");
            ++fraction_digits;
            fraction_digit = true;
        }
        if (!fraction_digit) return malformed();
    }
    if (!any_digit) return malformed();

    long exponent = 0;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        bool exp_negative = false;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) exp_negative = text[i++] == '-';
        bool exp_digit = false;
        while (i < text.size() && is_digit(text[i])) {
            if (exponent < 100000) exponent = exponent * 10 + (text[i] - '0');
            ++i;
            exp_digit = true;
        }
        if (!exp_digit) return malformed();
        if (exp_negative) exponent = -exponent;
    }
    if (i != text.size()) return malformed();

    if (digits == 0) return Decimal{};
    long scale = fraction_digits - exponent;
    // Trailing zeros carry no value; drop them so "1.50000" has scale 1.
    while (scale > 0 && digits % 10 == 0) {
        digits /= 10;
        --scale;
    }
    if (scale > kMaxScale) {
        return make_error("too_precise", "'" + std::string(text.substr(0, 64)) + "' has more than 18 decimal places");
    }
    while (scale < 0) {
        if (digits > kInt64Max / 10) return overflow("number");
        digits *= 10;
        ++scale;
    }
    if (negative) digits = -digits;
    if (!fits_int64(digits)) return overflow("number");
    return Decimal(static_cast<std::int64_t>(digits), static_cast<int>(scale));
}

Result<Decimal> Decimal::add(const Decimal& other) const {
    int scale = std::max(scale_, other.scale_);
    Wide sum = rescaled(*this, scale) + rescaled(other, scale);
    // At the common scale an exact sum may need more than 64 bits only for
    // trailing zeros (-9223372036855.1 at scale 6): drop them before giving up.
    while (!fits_int64(sum) && scale > 0 && sum % 10 == 0) {
        sum /= 10;
        --scale;
    }
    if (!fits_int64(sum)) return overflow("sum");
    return Decimal(static_cast<std::int64_t>(sum), scale);
}

Result<Decimal> Decimal::negate() const {
    if (coefficient_ == kInt64Min) return overflow("negation");
    return Decimal(-coefficient_, scale_);
}

Result<Decimal> Decimal::subtract(const Decimal& other) const {
    auto negated = other.negate();
    if (!negated) return negated.error();
    return add(*negated);
}

Result<std::int64_t> Decimal::divide_to_integer(const Decimal& divisor, Rounding mode) const {
    if (divisor.is_zero()) return make_error("division_by_zero", "unit price must not be zero");
    // a/10^sa / (b/10^sb) = (a * 10^sb) / (b * 10^sa); both fit in 128 bits.
    Wide numerator = static_cast<Wide>(coefficient_) * pow10_wide(divisor.scale_);
    Wide denominator = static_cast<Wide>(divisor.coefficient_) * pow10_wide(scale_);
    const bool negative = (numerator < 0) != (denominator < 0);
    if (numerator < 0) numerator = -numerator;
    if (denominator < 0) denominator = -denominator;

    Wide quotient = numerator / denominator;
    const Wide remainder = numerator % denominator;
    bool bump = false;
    switch (mode) {
        case Rounding::Down: bump = false; break;
        case Rounding::Up: bump = remainder != 0; break;
        case Rounding::HalfUp: bump = 2 * remainder >= denominator; break;
        case Rounding::HalfEven:
            bump = 2 * remainder > denominator || (2 * remainder == denominator && quotient % 2 != 0);
            break;
    }
    if (bump) ++quotient;
    if (negative) quotient = -quotient;
    if (!fits_int64(quotient)) return overflow("quotient");
    return static_cast<std::int64_t>(quotient);
}

int Decimal::compare(const Decimal& a, const Decimal& b) noexcept {
    const int scale = std::max(a.scale_, b.scale_);
    const Wide x = rescaled(a, scale);
    const Wide y = rescaled(b, scale);
    return x < y ? -1 : (x > y ? 1 : 0);
}

std::string Decimal::to_string() const {
    const bool negative = coefficient_ < 0;
    // Via unsigned so that INT64_MIN has a magnitude.
    std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(coefficient_)
                                       : static_cast<std::uint64_t>(coefficient_);
    std::string digits = std::to_string(magnitude);
    if (scale_ > 0) {
        const auto width = static_cast<std::size_t>(scale_);
        if (digits.size() <= width) digits.insert(0, width + 1 - digits.size(), '0');
        digits.insert(digits.size() - width, 1, '.');
    }
    return negative ? "-" + digits : digits;
}

}  // namespace meterbridge

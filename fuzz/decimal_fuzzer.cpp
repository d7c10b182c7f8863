// libFuzzer target: Decimal::parse and the arithmetic the conversion relies on.
// Input: "<a>" or "<a>\n<b>" (two decimal texts). Invariants: parsing
// round-trips through to_string; add/subtract/negate/compare agree with each
// other; divide_to_integer rounds to one of the two integers around the exact
// quotient, by its mode, and never divides by zero.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "meterbridge/core/decimal.hpp"

using namespace meterbridge;
using fuzz::check;

namespace {

__extension__ typedef __int128 Wide;

int sign_of(const Decimal& d) { return d.is_zero() ? 0 : (d.is_negative() ? -1 : 1); }

// A parsed value has no trailing fractional zeros, so it round-trips exactly;
// sums keep the larger scale ("-7.0"), so they round-trip to an equal value.
void check_round_trip(const Decimal& d, bool parsed) {
    check(d.scale() >= 0 && d.scale() <= Decimal::kMaxScale, "scale out of range");
    const std::string text = d.to_string();
    auto again = Decimal::parse(text);
    check(again.ok(), "to_string wrote text parse refuses:", text);
    check(*again == d, "round trip changed the value:", text);
    if (parsed) check(again->coefficient() == d.coefficient() && again->scale() == d.scale(), "round trip changed", text);
}

// a = n / 10^sa compared with q * b where b = m / 10^sb, computed without
// overflow where possible: returns false when the product does not fit.
bool scaled_product(std::int64_t q, const Decimal& b, int scale_a, Wide& out) {
    Wide factor = b.coefficient();
    for (int i = 0; i < scale_a; ++i) {
        if (__builtin_mul_overflow(factor, Wide{10}, &factor)) return false;
    }
    return !__builtin_mul_overflow(factor, Wide{q}, &out);
}

Wide scaled(const Decimal& a, int extra) {
    Wide value = a.coefficient();
    for (int i = 0; i < extra; ++i) value *= 10;  // at most 10^18 * int64: fits
    return value;
}

void check_division(const Decimal& a, const Decimal& b) {
    for (Rounding mode : {Rounding::Down, Rounding::Up, Rounding::HalfUp, Rounding::HalfEven}) {
        auto q = a.divide_to_integer(b, mode);
        if (b.is_zero()) {
            check(!q.ok(), "division by zero succeeded");
            continue;
        }
        if (!q) continue;  // quotient out of range
        auto down = a.divide_to_integer(b, Rounding::Down);
        check(down.ok(), "a rounded quotient fits but the truncated one does not");
        const std::int64_t t = *down;
        check(*q == t || *q == t + (sign_of(a) * sign_of(b) < 0 ? -1 : 1), "rounding moved more than one unit");
        // |t * b| <= |a| < |(t+1) * b| in exact arithmetic, where it fits in 128 bits.
        Wide product = 0;
        if (scaled_product(t, b, a.scale(), product)) {
            const Wide exact = scaled(a, b.scale());
            const Wide abs_product = product < 0 ? -product : product;
            const Wide abs_exact = exact < 0 ? -exact : exact;
            check(abs_product <= abs_exact, "truncated quotient too large");
            const bool exact_quotient = abs_product == abs_exact;
            if (exact_quotient) check(*q == t, "exact quotient was rounded");
            if (mode == Rounding::Up) check(exact_quotient || *q != t, "Up did not round away from zero");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = fuzz::as_text(data, size);
    const auto newline = input.find('\n');
    auto a = Decimal::parse(input.substr(0, newline));
    if (a) check_round_trip(*a, true);
    if (newline == std::string_view::npos) {
        if (a) {
            auto negated = a->negate();
            if (negated) {
                check(Decimal::compare(*negated, *a) == -sign_of(*a), "negation does not flip the sign");
                check(negated->negate().ok() && *negated->negate() == *a, "double negation");
            }
        }
        return 0;
    }
    auto b = Decimal::parse(input.substr(newline + 1));
    if (!a || !b) return 0;
    check_round_trip(*b, true);
    check(Decimal::compare(*a, *b) == -Decimal::compare(*b, *a), "compare is not antisymmetric");
    check((*a == *b) == (Decimal::compare(*a, *b) == 0), "== disagrees with compare");

    auto sum = a->add(*b);
    auto flipped = b->add(*a);
    check(sum.ok() == flipped.ok(), "addition is not commutative in range");
    if (sum) {
        check(*sum == *flipped, "addition is not commutative");
        check_round_trip(*sum, false);
        check(Decimal::compare(*sum, *a) == sign_of(*b), "a + b compared with a has not the sign of b");
        // subtract() negates b first, so b = INT64_MIN / 10^s cannot be taken back.
        auto back = sum->subtract(*b);
        check((back.ok() || !b->negate().ok()) && (!back.ok() || *back == *a), "(a + b) - b != a");
    }
    auto difference = a->subtract(*b);
    if (difference) {
        check_round_trip(*difference, false);
        check(Decimal::compare(*difference, Decimal{}) == Decimal::compare(*a, *b), "sign of a - b");
    }
    check_division(*a, *b);
    return 0;
}

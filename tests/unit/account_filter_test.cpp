#include "meterbridge/core/account_filter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace meterbridge {
namespace {

Json account(std::string_view text) {
    auto parsed = parse_exact_json(text);
    EXPECT_TRUE(parsed.ok()) << text;
    return parsed.ok() ? *parsed : Json();
}

bool matches(std::string_view expression, const Json& subject) {
    auto filter = AccountFilter::parse(expression);
    EXPECT_TRUE(filter.ok()) << expression << ": " << (filter.ok() ? "" : filter.error().message);
    return filter.ok() && filter->matches(subject);
}

std::string syntax_error(std::string_view expression) {
    auto filter = AccountFilter::parse(expression);
    EXPECT_FALSE(filter.ok()) << expression;
    if (filter.ok()) return {};
    EXPECT_EQ(filter.error().field, "account_filter");
    return filter.error().message;
}

const Json kUk = account(R"({"id":"a1","code":"acme","customFields":{"country":"UK","seats":12,"amount":0.1,
                              "active":true,"tier":"gold","note":null}})");

TEST(AccountFilter, MatchesTheSpecExample) {
    const std::string expression = R"(customFields != null AND customFields.country == "UK")";
    EXPECT_TRUE(matches(expression, kUk));
    EXPECT_FALSE(matches(expression, account(R"({"customFields":{"country":"FR"}})")));
    EXPECT_FALSE(matches(expression, account(R"({"id":"no-custom-fields"})")));
}

TEST(AccountFilter, AcceptsTheM3terDocSpellingOfEquals) {
    // m3ter's doc writes "customFields.country = = UK"; a single '=' and a
    // spaced "= =" both mean '=='.
    EXPECT_TRUE(matches(R"(customFields != null AND customFields.country = "UK")", kUk));
    EXPECT_TRUE(matches(R"(customFields != null AND customFields.country = = "UK")", kUk));
    EXPECT_FALSE(matches(R"(customFields.country = = "FR")", kUk));
}

TEST(AccountFilter, AndBindsTighterThanOr) {
    // false OR (true AND true) -> true; (false OR true) AND false would be false.
    EXPECT_TRUE(matches(R"(id == "x" OR code == "acme" AND customFields.seats == 12)", kUk));
    EXPECT_FALSE(matches(R"(id == "x" OR code == "acme" AND customFields.seats == 13)", kUk));
    EXPECT_TRUE(matches(R"(code == "acme" AND customFields.seats == 13 OR id == "a1")", kUk));
}

TEST(AccountFilter, NotBindsTighterThanAnd) {
    // (NOT false) AND true
    EXPECT_TRUE(matches(R"(NOT id == "x" AND code == "acme")", kUk));
    // (NOT true) OR true
    EXPECT_TRUE(matches(R"(NOT id == "a1" OR code == "acme")", kUk));
    EXPECT_FALSE(matches(R"(NOT id == "a1")", kUk));
    EXPECT_TRUE(matches(R"(NOT NOT id == "a1")", kUk));
}

TEST(AccountFilter, ParenthesesOverridePrecedence) {
    EXPECT_FALSE(matches(R"((id == "x" OR code == "acme") AND customFields.seats == 13)", kUk));
    EXPECT_TRUE(matches(R"((id == "x" OR code == "acme") AND customFields.seats == 12)", kUk));
    EXPECT_FALSE(matches(R"(NOT (id == "x" OR code == "acme"))", kUk));
    EXPECT_TRUE(matches(R"(((id == "a1")))", kUk));
}

TEST(AccountFilter, KeywordsAreCaseInsensitive) {
    EXPECT_TRUE(matches(R"(id == "a1" and code == "acme")", kUk));
    EXPECT_TRUE(matches(R"(id == "x" or Not code == "zzz")", kUk));
    EXPECT_TRUE(matches(R"(customFields.note == NULL AND customFields.active == True)", kUk));
}

TEST(AccountFilter, EachOperatorOnNumbers) {
    struct Case {
        std::string_view expression;
        bool expected;
    };
    for (const Case& c : {Case{"customFields.seats == 12", true}, Case{"customFields.seats != 12", false},
                          Case{"customFields.seats < 13", true}, Case{"customFields.seats < 12", false},
                          Case{"customFields.seats <= 12", true}, Case{"customFields.seats <= 11", false},
                          Case{"customFields.seats > 11", true}, Case{"customFields.seats > 12", false},
                          Case{"customFields.seats >= 12", true}, Case{"customFields.seats >= 13", false},
                          Case{"customFields.seats > -1", true}, Case{"12 == customFields.seats", true}}) {
        EXPECT_EQ(matches(c.expression, kUk), c.expected) << c.expression;
    }
}

TEST(AccountFilter, EachOperatorOnStrings) {
    EXPECT_TRUE(matches(R"(customFields.tier == "gold")", kUk));
    EXPECT_FALSE(matches(R"(customFields.tier == "Gold")", kUk));  // exact, case-sensitive
    EXPECT_TRUE(matches(R"(customFields.tier != "silver")", kUk));
    EXPECT_TRUE(matches(R"(customFields.tier < "silver")", kUk));
    EXPECT_TRUE(matches(R"(customFields.tier <= "gold")", kUk));
    EXPECT_TRUE(matches(R"(customFields.tier > "bronze")", kUk));
    EXPECT_TRUE(matches(R"(customFields.tier >= "gold")", kUk));
    EXPECT_FALSE(matches(R"(customFields.tier > "gold")", kUk));
}

TEST(AccountFilter, ComparesNumbersExactly) {
    // 0.1 in the account, 0.10 in the expression: equal as decimals.
    EXPECT_TRUE(matches("customFields.amount == 0.10", kUk));
    EXPECT_TRUE(matches("customFields.amount == 1e-1", kUk));
    EXPECT_FALSE(matches("customFields.amount == 0.100000000000000001", kUk));
    EXPECT_TRUE(matches("customFields.amount < 0.100000000000000001", kUk));
    EXPECT_TRUE(matches("customFields.seats == 12.0", kUk));
    // A value a double would round: 9007199254740993 is not 9007199254740992.
    const Json big = account(R"({"n":9007199254740993})");
    EXPECT_FALSE(matches("n == 9007199254740992", big));
    EXPECT_TRUE(matches("n > 9007199254740992", big));
}

TEST(AccountFilter, NumbersAndStringsNeverEqualOrOrder) {
    const Json subject = account(R"({"zip":"12","n":12})");
    EXPECT_FALSE(matches("zip == 12", subject));
    EXPECT_TRUE(matches("zip != 12", subject));
    EXPECT_FALSE(matches(R"(n < "13")", subject));
    EXPECT_FALSE(matches(R"(n >= "12")", subject));
    EXPECT_FALSE(matches("customFields < 1", kUk));  // object vs number
}

TEST(AccountFilter, NullHandling) {
    EXPECT_TRUE(matches("customFields.note == null", kUk));
    EXPECT_FALSE(matches("customFields.note != null", kUk));
    EXPECT_TRUE(matches("customFields.country != null", kUk));
    EXPECT_TRUE(matches("null == null", kUk));
    // Ordering against null is false both ways.
    EXPECT_FALSE(matches("customFields.note < 1", kUk));
    EXPECT_FALSE(matches("customFields.note >= 1", kUk));
    EXPECT_FALSE(matches("null <= null", kUk));
}

TEST(AccountFilter, MissingPathsAreNull) {
    EXPECT_TRUE(matches("customFields.region == null", kUk));
    EXPECT_TRUE(matches("nothing.at.all == null", kUk));
    EXPECT_TRUE(matches("customFields.country.deeper == null", kUk));  // through a string
    EXPECT_FALSE(matches(R"(customFields.region == "EU")", kUk));
    EXPECT_TRUE(matches(R"(customFields.region != "EU")", kUk));
    EXPECT_TRUE(matches("customFields == null", account("{}")));
    EXPECT_TRUE(matches("anything == null", Json(nullptr)));  // a non-object account
}

TEST(AccountFilter, BarePathIsTrueOnlyForTrue) {
    EXPECT_TRUE(matches("customFields.active", kUk));
    EXPECT_FALSE(matches("NOT customFields.active", kUk));
    EXPECT_FALSE(matches("customFields.country", kUk));  // a string is not true
    EXPECT_FALSE(matches("customFields.seats", kUk));
    EXPECT_FALSE(matches("customFields.missing", kUk));
    EXPECT_TRUE(matches("true", kUk));
    EXPECT_FALSE(matches("false", kUk));
    EXPECT_TRUE(matches("customFields.active AND customFields.tier == \"gold\"", kUk));
}

TEST(AccountFilter, BooleanComparisons) {
    EXPECT_TRUE(matches("customFields.active == true", kUk));
    EXPECT_FALSE(matches("customFields.active == false", kUk));
    EXPECT_FALSE(matches("customFields.active < true", kUk));
}

TEST(AccountFilter, StringEscapes) {
    const Json subject = account(R"({"name":"say \"hi\" \\ bye"})");
    EXPECT_TRUE(matches(R"(name == "say \"hi\" \\ bye")", subject));
    EXPECT_FALSE(matches(R"(name == "say \"hi\" \\\\ bye")", subject));
}

TEST(AccountFilter, KeepsItsText) {
    auto filter = AccountFilter::parse("id == \"a1\"");
    ASSERT_TRUE(filter.ok());
    EXPECT_EQ(filter->text(), "id == \"a1\"");
    const AccountFilter copy = *filter;
    EXPECT_TRUE(copy.matches(kUk));
}

TEST(AccountFilter, SyntaxErrorsNameTheColumn) {
    EXPECT_EQ(syntax_error(R"(customFields.country == )"), "column 25: expected a value after '==', found end of expression");
    EXPECT_EQ(syntax_error(R"(customFields.country == AND x)"),
              "column 25: expected a value after '==', found 'AND'");
    EXPECT_EQ(syntax_error(""), "column 1: expected an expression");
    EXPECT_EQ(syntax_error("   "), "column 4: expected an expression");
    EXPECT_EQ(syntax_error(R"(id == "a1)"), "column 7: unterminated string");
    EXPECT_EQ(syntax_error(R"((id == "a1")"), "column 12: expected ')' to close '(' at column 1, found end of expression");
    EXPECT_EQ(syntax_error(R"(id == "a1")"
                           R"( code == "x")"),
              "column 12: expected AND, OR or end of expression, found 'code'");
    EXPECT_EQ(syntax_error("id # 1"), "column 4: unexpected character '#'");
    EXPECT_EQ(syntax_error("id == 1 AND"), "column 12: expected an expression, found end of expression");
    EXPECT_EQ(syntax_error("NOT"), "column 4: expected an expression after NOT");
    EXPECT_EQ(syntax_error("a == b == c"), "column 8: expected AND, OR or end of expression, found '=='");
    EXPECT_EQ(syntax_error("id ! 1"), "column 4: unexpected character '!' (did you mean '!=' or NOT?)");
    EXPECT_EQ(syntax_error(R"(id == "a\n")"), "column 9: unknown escape '\\n' in string (only \\\" and \\\\ are allowed)");
    EXPECT_EQ(syntax_error("customFields. == 1"), "column 14: expected a field name after '.'");
    EXPECT_EQ(syntax_error("n == 12abc"), "column 6: '12abc' is not a valid number");
    EXPECT_EQ(syntax_error(")"), "column 1: expected an expression, found ')'");
}

TEST(AccountFilter, LimitsNestingDepth) {
    const std::string ok = std::string(64, '(') + "true" + std::string(64, ')');
    EXPECT_TRUE(matches(ok, kUk));
    const std::string deep = std::string(65, '(') + "true" + std::string(65, ')');
    EXPECT_EQ(syntax_error(deep), "column 65: expression nested deeper than 64 levels");

    std::string nots;
    for (int i = 0; i < 100000; ++i) nots += "NOT ";
    EXPECT_NE(syntax_error(nots + "true").find("nested deeper than 64 levels"), std::string::npos);
    const std::string parens = std::string(100000, '(');
    EXPECT_NE(syntax_error(parens).find("nested deeper than 64 levels"), std::string::npos);
}

TEST(AccountFilter, LongFlatChainsNeedNoDeepRecursion) {
    std::string expression = "id == \"x\"";
    for (int i = 0; i < 50000; ++i) expression += " OR id == \"x\"";
    expression += " OR id == \"a1\"";
    EXPECT_TRUE(matches(expression, kUk));
}

}  // namespace
}  // namespace meterbridge

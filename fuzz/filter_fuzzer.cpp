// libFuzzer target: the account filter language. Input: the expression on
// the first line; the rest, if it is JSON, is the account it is evaluated
// against (otherwise fixed accounts are used). Invariants: no exception, no
// deep recursion; a parsed filter keeps its text; NOT (e) is the complement of e.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "meterbridge/core/account_filter.hpp"
#include "meterbridge/core/exact_json.hpp"

using namespace meterbridge;
using fuzz::check;

namespace {

const std::vector<Json>& fixed_accounts() {
    static const std::vector<Json> accounts = [] {
        std::vector<Json> list;
        for (const char* text :
             {R"({"id":"acc-1","code":"acme","customFields":{"country":"UK","seats":12,"rate":0.25,"vip":true}})",
              R"({"id":"acc-2","name":"Contoso","customFields":null,"parentAccountId":"acc-1"})",
              R"({"id":"acc-3","customFields":{"country":"DE","seats":-1e3,"big":123456789012345678901234567890}})",
              R"([])"}) {
            list.push_back(parse_exact_json(text).value());
        }
        return list;
    }();
    return accounts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = fuzz::as_text(data, size);
    const auto newline = input.find('\n');
    const std::string_view expression = input.substr(0, newline);
    auto filter = AccountFilter::parse(expression);
    if (!filter) {
        check(filter.error().message.find("column ") == 0, "syntax error without a column:", filter.error().message);
        return 0;
    }
    check(filter->text() == expression, "filter text changed");

    std::vector<Json> accounts = fixed_accounts();
    if (newline != std::string_view::npos) {
        if (auto account = parse_exact_json(input.substr(newline + 1))) accounts.push_back(std::move(*account));
    }
    auto negated = AccountFilter::parse("NOT (" + std::string(expression) + ")");  // may be too deep
    for (const Json& account : accounts) {
        const bool match = filter->matches(account);
        if (negated) check(negated->matches(account) != match, "NOT (e) is not the complement of e");
    }
    return 0;
}

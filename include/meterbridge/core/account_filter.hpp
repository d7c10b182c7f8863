#pragma once
// The account filter expression language of an integration (SPEC §3), e.g.
//   customFields != null AND customFields.country == "UK"
// Parsed once at config load; evaluated against an account JSON object.
#include <memory>
#include <string>
#include <string_view>

#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/result.hpp"

namespace meterbridge {

class AccountFilter {
public:
    // A syntax error is an Error whose message names the 1-based column.
    static Result<AccountFilter> parse(std::string_view expression);

    // True when `account` (an m3ter Account object) satisfies the expression.
    bool matches(const Json& account) const;

    const std::string& text() const noexcept { return text_; }

    struct Node;  // expression tree, defined in account_filter.cpp

private:
    AccountFilter(std::string text, std::shared_ptr<const Node> root) : text_(std::move(text)), root_(std::move(root)) {}

    std::string text_;
    std::shared_ptr<const Node> root_;  // immutable, so copies share it
};

}  // namespace meterbridge

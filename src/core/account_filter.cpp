// The account filter language (SPEC §3): a tokenizer, a recursive-descent
// parser into an immutable tree, and its evaluation against an account object.
//
//   expression := or
//   or         := and  ( OR  and )*
//   and        := unary ( AND unary )*
//   unary      := NOT unary | primary
//   primary    := '(' expression ')' | operand [ comparison operand ]
//   operand    := string | number | true | false | null | path
//   comparison := '==' | '=' | '!=' | '<' | '<=' | '>' | '>='
//
// Numbers are kept as Decimal and compared exactly. Recursion (parentheses and
// NOT) is limited to kMaxDepth levels; AND/OR chains are n-ary nodes, so neither
// parsing nor evaluation recurses deeper than that.
#include "meterbridge/core/account_filter.hpp"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "meterbridge/core/decimal.hpp"

namespace meterbridge {
namespace {

constexpr int kMaxDepth = 64;

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };

enum class TokenKind { LParen, RParen, Compare, String, Number, True, False, Null, And, Or, Not, Path, End };

struct Token {
    TokenKind kind = TokenKind::End;
    std::size_t column = 1;  // 1-based byte column of the token's first character
    std::string text;        // as written (operators, paths, numbers); unescaped value for strings
    CompareOp op = CompareOp::Eq;
};

// A literal or a path: what one side of a comparison is.
struct Operand {
    std::vector<std::string> path;  // non-empty for a path
    Json literal;                   // for a literal; numbers are held in `number`
    std::optional<Decimal> number;  // set for a number literal
};

Error syntax_error(std::size_t column, const std::string& message) {
    return make_error("invalid_account_filter", "column " + std::to_string(column) + ": " + message,
                      "account_filter");
}

bool is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string describe(const Token& token) {
    switch (token.kind) {
        case TokenKind::End: return "end of expression";
        case TokenKind::String: return "string \"" + token.text.substr(0, 40) + "\"";
        default: return "'" + token.text.substr(0, 40) + "'";
    }
}

class Tokenizer {
public:
    explicit Tokenizer(std::string_view text) : text_(text) {}

    Result<std::vector<Token>> run() {
        std::vector<Token> tokens;
        while (true) {
            while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
            if (pos_ >= text_.size()) {
                tokens.push_back(Token{TokenKind::End, pos_ + 1, "", CompareOp::Eq});
                return tokens;
            }
            auto token = next();
            if (!token) return token.error();
            tokens.push_back(std::move(*token));
        }
    }

private:
    Result<Token> next() {
        const std::size_t start = pos_;
        const char c = text_[pos_];
        Token token;
        token.column = start + 1;
        if (c == '(' || c == ')') {
            ++pos_;
            token.kind = c == '(' ? TokenKind::LParen : TokenKind::RParen;
            token.text = std::string(1, c);
            return token;
        }
        if (c == '"') return string_token(token);
        if (is_digit(c) || (c == '-' && pos_ + 1 < text_.size() && (is_digit(text_[pos_ + 1]) || text_[pos_ + 1] == '.')) ||
            (c == '.' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1]))) {
            return number_token(token);
        }
        if (is_ident_start(c)) return word_token(token);
        if (c == '=' || c == '!' || c == '<' || c == '>') return operator_token(token);
        return syntax_error(token.column, "unexpected character '" + std::string(1, c) + "'");
    }

    Result<Token> string_token(Token& token) {
        token.kind = TokenKind::String;
        ++pos_;  // opening quote
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            if (c == '"') {
                ++pos_;
                return std::move(token);
            }
            if (c == '\\') {
                if (pos_ + 1 >= text_.size()) break;
                const char escaped = text_[pos_ + 1];
                if (escaped != '"' && escaped != '\\') {
                    return syntax_error(pos_ + 1, "unknown escape '\\" + std::string(1, escaped) +
                                                      "' in string (only \\\" and \\\\ are allowed)");
                }
                token.text.push_back(escaped);
                pos_ += 2;
                continue;
            }
            token.text.push_back(c);
            ++pos_;
        }
        return syntax_error(token.column, "unterminated string");
    }

    Result<Token> number_token(Token& token) {
        token.kind = TokenKind::Number;
        const std::size_t start = pos_;
        if (text_[pos_] == '-') ++pos_;
        while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
        if (pos_ < text_.size() && text_[pos_] == '.') {
            ++pos_;
            while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
            while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
        }
        // "12abc" is one malformed token, not a number followed by a path.
        while (pos_ < text_.size() && (is_ident_char(text_[pos_]) || text_[pos_] == '.')) ++pos_;
        token.text = std::string(text_.substr(start, pos_ - start));
        return std::move(token);
    }

    Result<Token> word_token(Token& token) {
        const std::size_t start = pos_;
        while (true) {
            while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
            if (pos_ < text_.size() && text_[pos_] == '.') {
                if (pos_ + 1 >= text_.size() || !is_ident_start(text_[pos_ + 1])) {
                    return syntax_error(pos_ + 2, "expected a field name after '.'");
                }
                ++pos_;
                continue;
            }
            break;
        }
        token.text = std::string(text_.substr(start, pos_ - start));
        token.kind = TokenKind::Path;
        if (token.text.find('.') == std::string::npos) {
            if (equals_ignore_case(token.text, "and")) token.kind = TokenKind::And;
            if (equals_ignore_case(token.text, "or")) token.kind = TokenKind::Or;
            if (equals_ignore_case(token.text, "not")) token.kind = TokenKind::Not;
            if (equals_ignore_case(token.text, "true")) token.kind = TokenKind::True;
            if (equals_ignore_case(token.text, "false")) token.kind = TokenKind::False;
            if (equals_ignore_case(token.text, "null")) token.kind = TokenKind::Null;
        }
        return std::move(token);
    }

    Result<Token> operator_token(Token& token) {
        token.kind = TokenKind::Compare;
        const char c = text_[pos_];
        const bool then_equals = pos_ + 1 < text_.size() && text_[pos_ + 1] == '=';
        switch (c) {
            case '=': {
                token.op = CompareOp::Eq;
                if (then_equals) {
                    pos_ += 2;
                } else {
                    ++pos_;
                    // m3ter's documentation writes "= =": one operator split by spaces.
                    std::size_t look = pos_;
                    while (look < text_.size() && is_space(text_[look])) ++look;
                    if (look < text_.size() && text_[look] == '=' &&
                        !(look + 1 < text_.size() && text_[look + 1] == '=')) {
                        pos_ = look + 1;
                    }
                }
                break;
            }
            case '!':
                if (!then_equals) return syntax_error(token.column, "unexpected character '!' (did you mean '!=' or NOT?)");
                token.op = CompareOp::Ne;
                pos_ += 2;
                break;
            case '<':
                token.op = then_equals ? CompareOp::Le : CompareOp::Lt;
                pos_ += then_equals ? 2 : 1;
                break;
            default:  // '>'
                token.op = then_equals ? CompareOp::Ge : CompareOp::Gt;
                pos_ += then_equals ? 2 : 1;
                break;
        }
        token.text = std::string(text_.substr(token.column - 1, pos_ - (token.column - 1)));
        return std::move(token);
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace

struct AccountFilter::Node {
    enum class Kind { Or, And, Not, Compare, Truthy };
    Kind kind = Kind::Truthy;
    std::vector<std::unique_ptr<const Node>> children;  // Or/And: two or more; Not: one
    CompareOp op = CompareOp::Eq;
    Operand lhs;  // Compare and Truthy
    Operand rhs;  // Compare
};

namespace {

using Node = AccountFilter::Node;
using NodePtr = std::unique_ptr<const Node>;

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

    Result<NodePtr> parse() {
        if (peek().kind == TokenKind::End) return syntax_error(peek().column, "expected an expression");
        auto root = parse_or(0);
        if (!root) return root;
        if (peek().kind != TokenKind::End) {
            return syntax_error(peek().column, "expected AND, OR or end of expression, found " + describe(peek()));
        }
        return root;
    }

private:
    const Token& peek() const { return tokens_[pos_]; }
    const Token& take() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

    Result<NodePtr> parse_chain(int depth, TokenKind separator, Node::Kind kind) {
        auto first = separator == TokenKind::Or ? parse_and(depth) : parse_unary(depth);
        if (!first || peek().kind != separator) return first;
        auto node = std::make_unique<Node>();
        node->kind = kind;
        node->children.push_back(std::move(*first));
        while (peek().kind == separator) {
            take();
            auto next = separator == TokenKind::Or ? parse_and(depth) : parse_unary(depth);
            if (!next) return next;
            node->children.push_back(std::move(*next));
        }
        return NodePtr(std::move(node));
    }

    Result<NodePtr> parse_or(int depth) { return parse_chain(depth, TokenKind::Or, Node::Kind::Or); }
    Result<NodePtr> parse_and(int depth) { return parse_chain(depth, TokenKind::And, Node::Kind::And); }

    Result<NodePtr> parse_unary(int depth) {
        if (peek().kind != TokenKind::Not) return parse_primary(depth);
        const Token& not_token = take();
        if (depth + 1 > kMaxDepth) return too_deep(not_token);
        if (peek().kind == TokenKind::End) return syntax_error(peek().column, "expected an expression after NOT");
        auto operand = parse_unary(depth + 1);
        if (!operand) return operand;
        auto node = std::make_unique<Node>();
        node->kind = Node::Kind::Not;
        node->children.push_back(std::move(*operand));
        return NodePtr(std::move(node));
    }

    Result<NodePtr> parse_primary(int depth) {
        if (peek().kind == TokenKind::LParen) {
            const Token& open = take();
            if (depth + 1 > kMaxDepth) return too_deep(open);
            auto inner = parse_or(depth + 1);
            if (!inner) return inner;
            if (peek().kind != TokenKind::RParen) {
                return syntax_error(peek().column, "expected ')' to close '(' at column " +
                                                       std::to_string(open.column) + ", found " + describe(peek()));
            }
            take();
            return inner;
        }
        auto lhs = parse_operand("an expression");
        if (!lhs) return lhs.error();
        auto node = std::make_unique<Node>();
        node->lhs = std::move(*lhs);
        if (peek().kind != TokenKind::Compare) {
            node->kind = Node::Kind::Truthy;
            return NodePtr(std::move(node));
        }
        const Token& op = take();
        auto rhs = parse_operand("a value after '" + op.text + "'");
        if (!rhs) return rhs.error();
        node->kind = Node::Kind::Compare;
        node->op = op.op;
        node->rhs = std::move(*rhs);
        return NodePtr(std::move(node));
    }

    Result<Operand> parse_operand(const std::string& expected) {
        const Token& token = peek();
        Operand operand;
        switch (token.kind) {
            case TokenKind::String: operand.literal = token.text; break;
            case TokenKind::True: operand.literal = true; break;
            case TokenKind::False: operand.literal = false; break;
            case TokenKind::Null: operand.literal = nullptr; break;
            case TokenKind::Number: {
                auto number = Decimal::parse(token.text);
                if (!number) {
                    return syntax_error(token.column, "'" + token.text.substr(0, 40) + "' is not a valid number");
                }
                operand.number = *number;
                break;
            }
            case TokenKind::Path: {
                std::size_t begin = 0;
                while (true) {
                    const std::size_t dot = token.text.find('.', begin);
                    operand.path.push_back(token.text.substr(begin, dot - begin));
                    if (dot == std::string::npos) break;
                    begin = dot + 1;
                }
                break;
            }
            default: return syntax_error(token.column, "expected " + expected + ", found " + describe(token));
        }
        take();
        return operand;
    }

    Error too_deep(const Token& token) const {
        return syntax_error(token.column, "expression nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }

    std::vector<Token> tokens_;  // always ends with an End token
    std::size_t pos_ = 0;
};

// One side of a comparison, evaluated: a JSON value, or an exact number.
struct Value {
    const Json* json = nullptr;     // when not a number
    std::optional<Decimal> number;  // exact numbers
    bool unrepresentable_number = false;  // a JSON number Decimal cannot hold
};

const Json& null_json() {
    static const Json kNull = nullptr;
    return kNull;
}

Value evaluate(const Operand& operand, const Json& account) {
    Value value;
    if (operand.number) {
        value.number = operand.number;
        return value;
    }
    const Json* current = &operand.literal;
    if (!operand.path.empty()) {
        current = &account;
        for (const std::string& segment : operand.path) {
            if (!current->is_object()) {
                current = &null_json();
                break;
            }
            const auto found = current->find(segment);
            if (found == current->end()) {
                current = &null_json();
                break;
            }
            current = &*found;
        }
    }
    if (is_exact_number(*current) || current->is_number_float()) {
        // A DOM not built by parse_exact_json holds doubles; its shortest
        // round-trip text is the best exact reading of the value there is.
        const std::string text = current->is_number_float() ? current->dump() : *exact_number_text(*current);
        auto number = Decimal::parse(text);
        if (number) {
            value.number = *number;
        } else {
            value.unrepresentable_number = true;
        }
    }
    value.json = current;
    return value;
}

bool values_equal(const Value& a, const Value& b) {
    if (a.number && b.number) return *a.number == *b.number;
    if (a.number || b.number || a.unrepresentable_number || b.unrepresentable_number) {
        // Numbers beyond Decimal's range are equal only if written identically.
        return a.unrepresentable_number && b.unrepresentable_number && *a.json == *b.json;
    }
    return *a.json == *b.json;
}

bool compare(CompareOp op, const Value& a, const Value& b) {
    switch (op) {
        case CompareOp::Eq: return values_equal(a, b);
        case CompareOp::Ne: return !values_equal(a, b);
        default: break;
    }
    int order = 0;
    if (a.number && b.number) {
        order = Decimal::compare(*a.number, *b.number);
    } else if (!a.number && !b.number && a.json->is_string() && b.json->is_string()) {
        order = a.json->get_ref<const std::string&>().compare(b.json->get_ref<const std::string&>());
    } else {
        return false;  // ordering is defined only between two numbers or two strings
    }
    switch (op) {
        case CompareOp::Lt: return order < 0;
        case CompareOp::Le: return order <= 0;
        case CompareOp::Gt: return order > 0;
        default: return order >= 0;  // Ge
    }
}

bool evaluate(const Node& node, const Json& account) {
    switch (node.kind) {
        case Node::Kind::Or:
            for (const auto& child : node.children) {
                if (evaluate(*child, account)) return true;
            }
            return false;
        case Node::Kind::And:
            for (const auto& child : node.children) {
                if (!evaluate(*child, account)) return false;
            }
            return true;
        case Node::Kind::Not: return !evaluate(*node.children.front(), account);
        case Node::Kind::Compare:
            return compare(node.op, evaluate(node.lhs, account), evaluate(node.rhs, account));
        case Node::Kind::Truthy: {
            const Value value = evaluate(node.lhs, account);
            return !value.number && value.json->is_boolean() && value.json->get<bool>();
        }
    }
    return false;
}

}  // namespace

Result<AccountFilter> AccountFilter::parse(std::string_view expression) {
    auto tokens = Tokenizer(expression).run();
    if (!tokens) return tokens.error();
    auto root = Parser(std::move(*tokens)).parse();
    if (!root) return root.error();
    return AccountFilter(std::string(expression), std::shared_ptr<const Node>(std::move(*root)));
}

bool AccountFilter::matches(const Json& account) const { return root_ && evaluate(*root_, account); }

}  // namespace meterbridge

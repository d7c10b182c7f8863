#include "meterbridge/core/json_tape.hpp"

#include <utility>

#include "exact_json_lexer.hpp"

namespace meterbridge {

using exact_json_detail::ExactLexer;
using exact_json_detail::is_digit;
using exact_json_detail::LexedNumber;

// The tape parser: the structure of exact_json.cpp's DomParser, writing
// tokens instead of nodes (keep the two in step: the differential test
// compares them).
class TapeParser : ExactLexer {
public:
    explicit TapeParser(std::string_view text) : ExactLexer(text) {
        tape_.tokens_.reserve(text.size() / 8 + 1);  // a 4 KB bill has ~450 tokens
    }

    Result<JsonTape> parse() {
        skip_byte_order_mark();
        if (!value(0) || !at_end_of_document()) return std::move(*error_);
        return std::move(tape_);
    }

private:
    using Kind = TapeNode::Kind;

    // Appends a token for a value of no size; returns its index.
    std::uint32_t push(Kind kind, std::string_view text = {}, std::uint64_t bits = 0) {
        const auto index = static_cast<std::uint32_t>(tape_.tokens_.size());
        tape_.tokens_.push_back(JsonTape::Token{kind, index + 1, text, bits});
        return index;
    }

    bool value(std::size_t depth) {
        skip_whitespace();
        switch (peek()) {
            case '{':
                return object(depth);
            case '[':
                return array(depth);
            case '"':
                return string_token();
            case 't':
                push(Kind::True);
                return literal("true");
            case 'f':
                push(Kind::False);
                return literal("false");
            case 'n':
                push(Kind::Null);
                return literal("null");
            default:
                if (peek() == '-' || is_digit(peek())) return number_token();
                return fail("expected a value");
        }
    }

    // Pushes the container's token and steps over its bracket, unless
    // `depth` containers are open already.
    std::optional<std::uint32_t> open_container(Kind kind, std::size_t depth) {
        if (!may_open(depth)) return std::nullopt;
        const std::uint32_t index = push(kind);
        ++pos_;  // '{' or '['
        skip_whitespace();
        return index;
    }

    // Ends the container at `index` after its last child.
    bool close(std::uint32_t index) {
        tape_.tokens_[index].next = static_cast<std::uint32_t>(tape_.tokens_.size());
        return true;
    }

    bool object(std::size_t depth) {
        const auto index = open_container(Kind::Object, depth);
        if (!index) return false;
        if (consume('}')) return close(*index);
        do {
            skip_whitespace();
            if (peek() != '"') return fail("expected a string key");
            if (!string_token()) return false;
            skip_whitespace();
            if (!consume(':')) return fail("expected ':'");
            if (!value(depth + 1)) return false;
            skip_whitespace();
        } while (consume(','));
        return consume('}') ? close(*index) : fail("expected ',' or '}'");
    }

    bool array(std::size_t depth) {
        const auto index = open_container(Kind::Array, depth);
        if (!index) return false;
        if (consume(']')) return close(*index);
        do {
            if (!value(depth + 1)) return false;
            skip_whitespace();
        } while (consume(','));
        return consume(']') ? close(*index) : fail("expected ',' or ']'");
    }

    // A string (a key or a value): a view into the text unless it has
    // escapes, then a view of its unescaped copy.
    bool string_token() {
        std::string_view verbatim;
        scratch_.clear();
        if (!string(scratch_, &verbatim)) return false;
        if (scratch_.empty()) {  // no escape (each escape adds at least one byte)
            push(Kind::String, verbatim);
        } else {
            push(Kind::String, tape_.unescaped_.emplace_back(scratch_));
        }
        return true;
    }

    bool number_token() {
        LexedNumber lexed;
        if (!number(lexed)) return false;
        switch (lexed.kind) {
            case LexedNumber::Kind::Unsigned: push(Kind::Unsigned, {}, lexed.unsigned_value); break;
            case LexedNumber::Kind::Integer:
                push(Kind::Integer, {}, static_cast<std::uint64_t>(lexed.integer_value));
                break;
            case LexedNumber::Kind::Text: push(Kind::NumberText, lexed.text); break;
        }
        return true;
    }

    JsonTape tape_;
    std::string scratch_;  // the string being unescaped
};

Result<JsonTape> JsonTape::parse(std::string_view text) { return TapeParser(text).parse(); }

TapeNode::Kind TapeNode::kind() const { return tape_->tokens_[index_].kind; }

std::string_view TapeNode::string() const { return is_string() ? tape_->tokens_[index_].text : std::string_view{}; }

std::uint64_t TapeNode::number_unsigned() const { return is_number_unsigned() ? tape_->tokens_[index_].bits : 0; }

std::optional<std::string> TapeNode::exact_number_text() const {
    const auto& token = tape_->tokens_[index_];
    switch (token.kind) {
        case Kind::Unsigned: return std::to_string(token.bits);
        case Kind::Integer: return std::to_string(static_cast<std::int64_t>(token.bits));
        case Kind::NumberText: return std::string(token.text);
        default: return std::nullopt;
    }
}

std::optional<TapeNode> TapeNode::member(std::string_view key) const {
    if (!is_object()) return std::nullopt;
    const auto& tokens = tape_->tokens_;
    std::optional<TapeNode> found;
    // Children alternate: a key's token (a string, size 1), then its value.
    for (std::uint32_t i = index_ + 1; i < tokens[index_].next; i = tokens[i + 1].next) {
        if (tokens[i].text == key) found = TapeNode(*tape_, i + 1);
    }
    return found;
}

std::vector<TapeNode> TapeNode::elements() const {
    std::vector<TapeNode> out;
    if (!is_array()) return out;
    const auto& tokens = tape_->tokens_;
    for (std::uint32_t i = index_ + 1; i < tokens[index_].next; i = tokens[i].next) out.push_back(TapeNode(*tape_, i));
    return out;
}

std::vector<std::pair<std::string_view, TapeNode>> TapeNode::members() const {
    std::vector<std::pair<std::string_view, TapeNode>> out;
    if (!is_object()) return out;
    const auto& tokens = tape_->tokens_;
    for (std::uint32_t i = index_ + 1; i < tokens[index_].next; i = tokens[i + 1].next) {
        out.emplace_back(tokens[i].text, TapeNode(*tape_, i + 1));
    }
    return out;
}

}  // namespace meterbridge

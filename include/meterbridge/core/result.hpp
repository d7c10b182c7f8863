#pragma once
// Result<T>: a value or a domain Error. The core's single error policy for
// expected failures (bad input, failed validation); exceptions are kept for
// start-up/config and programmer errors (see docs/architecture.md).
#include <string>
#include <utility>
#include <variant>

namespace meterbridge {

// A domain error. `code` is a stable machine word (e.g. "invalid_field"),
// `field` the JSON path or config key it concerns (may be empty).
struct Error {
    std::string code;
    std::string message;
    std::string field;

    friend bool operator==(const Error&, const Error&) = default;
};

inline Error make_error(std::string code, std::string message, std::string field = {}) {
    return Error{std::move(code), std::move(message), std::move(field)};
}

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

    bool ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    const Error& error() const { return std::get<1>(state_); }

    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }

private:
    std::variant<T, Error> state_;
};

// Result of an operation that yields nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace meterbridge

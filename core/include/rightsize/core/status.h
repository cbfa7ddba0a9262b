#pragma once

// Error values returned across module boundaries instead of exceptions.
//
// An Error carries a kind (a short, stable label used in metrics such as
// rightsize_agent_errors_total{kind}) and a message for humans that names what
// was wrong and where (file, field, line, URL). Expected<T> holds either a T or
// an Error; Status is Expected<void>.

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rightsize {

enum class ErrorKind {
  kUnavailable,      // a peer is down, refused, or too slow (timeouts)
  kHttpStatus,       // a peer answered with an unexpected HTTP status
  kMalformed,        // a body or file could not be parsed at all (bad or truncated JSON)
  kMissingField,     // a required field or file entry is absent
  kInvalidValue,     // a value is present but unusable (NaN, negative, out of range)
  kCounterReset,     // a cumulative counter went backwards (a restarted container)
  kClockJump,        // time did not advance between two samples
  kUnreadable,       // a file or directory could not be read
  kInvalidArgument,  // bad flag or configuration
  kConflict,         // the peer refused because of a competing owner (a lost lease, a locked app)
  kInvalidApp,       // an app definition from Marathon that cannot be used (left alone, its state kept)
  kInternal,
};

// Stable snake_case name of a kind, used as a metric label value.
std::string_view errorKindName(ErrorKind kind);

// The text of an errno value (thread-safe, unlike strerror).
std::string systemErrorText(int error_number);

class Error {
 public:
  Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is prefixed with `context: `.
  Error withContext(std::string_view context) const;

 private:
  ErrorKind kind_;
  std::string message_;
};

// Either a value or an Error. Accessing the wrong alternative is a programming
// error and asserts.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : storage_(std::in_place_index<0>, std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Expected(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(storage_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(storage_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(storage_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(storage_);
  }

 private:
  std::variant<T, Error> storage_;
};

template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  static Expected success() { return {}; }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_{ErrorKind::kInternal, ""};
  bool ok_ = true;
};

using Status = Expected<void>;

}  // namespace rightsize

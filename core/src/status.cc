#include "rightsize/core/status.h"

#include <string.h>

namespace rightsize {

std::string_view errorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kHttpStatus:
      return "http_status";
    case ErrorKind::kMalformed:
      return "malformed";
    case ErrorKind::kMissingField:
      return "missing_field";
    case ErrorKind::kInvalidValue:
      return "invalid_value";
    case ErrorKind::kCounterReset:
      return "counter_reset";
    case ErrorKind::kClockJump:
      return "clock_jump";
    case ErrorKind::kUnreadable:
      return "unreadable";
    case ErrorKind::kInvalidArgument:
      return "invalid_argument";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kInvalidApp:
      return "invalid_app";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "internal";
}

std::string systemErrorText(int error_number) {
  char buffer[256];
  // GNU strerror_r: returns a pointer to the text, not always into buffer.
  return strerror_r(error_number, buffer, sizeof buffer);
}

Error Error::withContext(std::string_view context) const {
  std::string message(context);
  message += ": ";
  message += message_;
  return Error(kind_, std::move(message));
}

}  // namespace rightsize

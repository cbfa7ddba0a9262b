#pragma once

// Pure parsers for small textual values read from flags, environment
// variables, labels and kernel files. None of them allocate on success except
// where a string is returned.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"

namespace rightsize {

// "500ms", "10s", "5m", "1h", "1h30m", "1.5s", "250us", "0". A bare number
// other than 0 is rejected: units are mandatory.
Expected<Duration> parseDuration(std::string_view text);

// The longest wait a setting may ask for (a flag, a label): ten years.
// Duration reaches 292 years from 1970, and a wait is added to a time (a
// cooldown's end, a hold's): a longer one would overflow, and the sum come
// out in the past (no wait at all) instead of a long wait.
inline constexpr Duration kMaxWait = std::chrono::hours(24 * 3650);
// parseDuration, refused beyond kMaxWait: "too long: at most 3650d".
Expected<Duration> parseWait(std::string_view text);

// The shortest exact form using the units above, e.g. "5m", "1h30m", "500ms".
std::string formatDuration(Duration d);

// Whole seconds since the Unix epoch ("1700000000"), as the sizer's reasons
// and records write instants.
std::string unixSecondsText(TimePoint t);

// `value` with exactly `decimals` digits after the point ("0.55", "1024").
std::string formatFixed(double value, int decimals);

// The shortest decimal that parseDouble() reads back as the same double
// ("0.1", "1e+300", "1024").
std::string formatExact(double value);

// `value` rounded to `decimals` (0 to 17) digits after the point, without
// trailing zeros or point: (0.35000000000000006, 3) gives "0.35",
// (544.0000000001, 3) "544", (-0.0001, 3) "0". A valid JSON number for a
// finite value; "inf" or "nan" otherwise.
std::string formatRounded(double value, int decimals);

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// "host:port", "0.0.0.0:9540", "[::1]:0", ":9540" (host empty = all interfaces).
Expected<HostPort> parseHostPort(std::string_view text);

// Whole-string decimal parsers; leading/trailing ASCII whitespace is ignored.
std::optional<std::uint64_t> parseUint64(std::string_view text);
std::optional<std::int64_t> parseInt64(std::string_view text);
// Finite values only: "nan" and "inf" are rejected.
std::optional<double> parseDouble(std::string_view text);

std::string_view trim(std::string_view text);

// `text` with every byte sequence that is not valid UTF-8 replaced by U+FFFD,
// for values from outside that end up in JSON or Prometheus labels.
std::string sanitizeUtf8(std::string_view text);
// True when `text` is valid UTF-8 (the fast path of sanitizeUtf8).
bool isValidUtf8(std::string_view text);

// Standard base64 with padding (RFC 4648), e.g. for Basic authorization.
std::string base64Encode(std::string_view bytes);

// A URL fit for logs: "user:password@" is replaced by "***@".
std::string redactUrl(std::string_view url);

// One segment of a URL path with every byte but RFC 3986's unreserved
// characters (letters, digits, '-', '.', '_', '~') written as %XX, so that
// '/', '?', '#', '%' and the like in `segment` stay inside it. "." and ".."
// are returned as they are: a caller that must not move up or stay put in the
// path refuses them first.
std::string percentEncodePathSegment(std::string_view segment);

// One CSV field (RFC 4180): `text` as it is, or in double quotes (each
// inner one doubled) when it holds a comma, a quote or a line break.
std::string csvField(std::string_view text);

// Splits on `separator`, trims each piece and drops empty pieces.
std::vector<std::string> splitList(std::string_view text, char separator = ',');

}  // namespace rightsize

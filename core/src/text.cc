#include "rightsize/core/text.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace rightsize {
namespace {

struct Unit {
  std::string_view suffix;
  Duration size;
};

// Longest suffixes first so that "ms" is not read as "m" followed by "s".
constexpr Unit kUnits[] = {
    {"ns", std::chrono::nanoseconds(1)},  {"us", std::chrono::microseconds(1)}, {"µs", std::chrono::microseconds(1)},
    {"ms", std::chrono::milliseconds(1)}, {"s", std::chrono::seconds(1)},       {"m", std::chrono::minutes(1)},
    {"h", std::chrono::hours(1)},         {"d", std::chrono::hours(24)},
};

Error durationError(std::string_view text, std::string_view why) {
  return Error(ErrorKind::kInvalidArgument, "invalid duration '" + std::string(text) + "': " + std::string(why) +
                                                " (write e.g. 500ms, 10s, 5m, 1h, 1h30m)");
}

}  // namespace

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0.
std::size_t utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8SequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string csvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string sanitizeUtf8(std::string_view text) {
  if (isValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8SequenceLength(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(bytes[i + k]); };
    const unsigned value = (b(0) << 16U) | (b(1) << 8U) | b(2);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(value >> static_cast<unsigned>(shift)) & 63U];
  }
  if (i < bytes.size()) {
    const unsigned first = static_cast<unsigned char>(bytes[i]);
    const unsigned second = i + 1 < bytes.size() ? static_cast<unsigned char>(bytes[i + 1]) : 0;
    const unsigned value = (first << 16U) | (second << 8U);
    out += kAlphabet[(value >> 18U) & 63U];
    out += kAlphabet[(value >> 12U) & 63U];
    out += i + 1 < bytes.size() ? kAlphabet[(value >> 6U) & 63U] : '=';
    out += '=';
  }
  return out;
}

std::string redactUrl(std::string_view url) {
  const auto scheme = url.find("://");
  const auto authority_start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const auto authority_end = url.find_first_of("/?#", authority_start);
  const auto at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < authority_start) return std::string(url);
  return std::string(url.substr(0, authority_start)) + "***" + std::string(url.substr(at));
}

std::string percentEncodePathSegment(std::string_view segment) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (const char c : segment) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || (byte >= '0' && byte <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    }
  }
  return out;
}

std::vector<std::string> splitList(std::string_view text, char separator) {
  std::vector<std::string> out;
  while (true) {
    const auto pos = text.find(separator);
    const auto piece = trim(text.substr(0, pos));
    if (!piece.empty()) out.emplace_back(piece);
    if (pos == std::string_view::npos) break;
    text.remove_prefix(pos + 1);
  }
  return out;
}

std::optional<std::uint64_t> parseUint64(std::string_view text) {
  text = trim(text);
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<std::int64_t> parseInt64(std::string_view text) {
  text = trim(text);
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parseDouble(std::string_view text) {
  text = trim(text);
  double value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || !std::isfinite(value)) return std::nullopt;
  return value;
}

Expected<Duration> parseDuration(std::string_view text) {
  const std::string_view original = text;
  text = trim(text);
  if (text.empty()) return durationError(original, "empty");
  if (text == "0") return Duration::zero();
  long double total_ns = 0;
  while (!text.empty()) {
    double number = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || !std::isfinite(number) || number < 0) {
      return durationError(original, "expected a non-negative number");
    }
    text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
    const Unit* unit = nullptr;
    for (const auto& candidate : kUnits) {
      if (text.starts_with(candidate.suffix)) {
        // "m" must not swallow the "m" of "ms": kUnits lists "ms" before "m".
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) return durationError(original, "missing or unknown unit");
    text.remove_prefix(unit->suffix.size());
    total_ns += static_cast<long double>(number) * static_cast<long double>(unit->size.count());
  }
  // Rounded before the range check, and not through a double: a total just
  // below 2^63 ns would round up to 2^63, beyond Duration's range.
  const long double rounded_ns = std::round(total_ns);
  if (rounded_ns >= 0x1p63L) return durationError(original, "too long");
  return Duration(static_cast<Duration::rep>(rounded_ns));
}

Expected<Duration> parseWait(std::string_view text) {
  auto parsed = parseDuration(text);
  if (parsed && *parsed > kMaxWait) return durationError(text, "too long: at most 3650d");
  return parsed;
}

std::string formatExact(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

std::string formatRounded(double value, int decimals) {
  decimals = std::clamp(decimals, 0, 17);
  // Room for DBL_MAX's 309 integer digits, the sign, the point and 17 decimals.
  char buffer[352];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals);
  if (ec != std::errc()) return formatExact(value);
  std::string out(buffer, end);
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

std::string formatFixed(double value, int decimals) {
  char buffer[64];
  // std::to_chars writes what printf's "%.*f" writes (both round the exact
  // binary value), several times faster; printf for what does not fit.
  if (decimals >= 0) {
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer - 1, value, std::chars_format::fixed, decimals);
    if (ec == std::errc()) return std::string(buffer, end);
  }
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string unixSecondsText(TimePoint t) { return std::to_string(static_cast<long long>(toUnixSeconds(t))); }

std::string formatDuration(Duration d) {
  if (d == Duration::zero()) return "0s";
  std::string out;
  if (d < Duration::zero()) {
    out = "-";
    d = -d;
  }
  if (d % std::chrono::seconds(1) != Duration::zero() && d < std::chrono::seconds(1)) {
    if (d % std::chrono::milliseconds(1) == Duration::zero()) {
      return out + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
    }
    if (d % std::chrono::microseconds(1) == Duration::zero()) {
      return out + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count()) + "us";
    }
    return out + std::to_string(d.count()) + "ns";
  }
  const auto hours = std::chrono::duration_cast<std::chrono::hours>(d);
  d -= hours;
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(d);
  d -= minutes;
  if (hours.count() != 0) out += std::to_string(hours.count()) + "h";
  if (minutes.count() != 0) out += std::to_string(minutes.count()) + "m";
  if (d != Duration::zero()) {
    if (d % std::chrono::seconds(1) == Duration::zero()) {
      out += std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
    } else {
      char buffer[32];
      auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, toSeconds(d));
      (void)ec;
      out.append(buffer, ptr);
      out += "s";
    }
  }
  return out;
}

Expected<HostPort> parseHostPort(std::string_view text) {
  const std::string original(text);
  auto bad = [&](std::string_view why) {
    return Error(ErrorKind::kInvalidArgument, "invalid listen address '" + original + "': " + std::string(why) +
                                                  " (write host:port, e.g. 0.0.0.0:9540 or 127.0.0.1:0)");
  };
  text = trim(text);
  HostPort out;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("bracketed IPv6 host must be followed by :port");
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing ':port'");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("IPv6 hosts must be bracketed, e.g. [::1]:9540");
    port_text = text.substr(colon + 1);
  }
  const auto port = parseUint64(port_text);
  if (!port || port_text != trim(port_text) || *port > 65535) return bad("port must be a number from 0 to 65535");
  out.port = static_cast<std::uint16_t>(*port);
  return out;
}

}  // namespace rightsize

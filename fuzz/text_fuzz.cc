// Small textual values from flags, environment variables and labels:
// durations, listen addresses, numbers, Redis URLs, consumer group lists,
// bands, and the UTF-8 repair applied to outside strings. Every input goes
// to every parser.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"

#include "rightsize/core/text.h"
#include "rightsize/lag/groups.h"
#include "rightsize/sizing/app_settings.h"
#include "rightsize/sizing/redis_store.h"

namespace rightsize {
namespace {

void checkDuration(std::string_view text) {
  const auto duration = parseDuration(text);
  if (!duration) return;
  FUZZ_CHECK(*duration >= Duration::zero());
  // What formatDuration writes (flag defaults in --help) reads back exactly.
  const auto again = parseDuration(formatDuration(*duration));
  FUZZ_CHECK(again && *again == *duration);
}

void checkHostPort(std::string_view text) {
  const auto address = parseHostPort(text);
  if (!address) return;
  if (address->host.find(':') != std::string::npos) FUZZ_CHECK(trim(text).starts_with('['));
  if (address->host.find(']') == std::string::npos) {
    const auto again = parseHostPort("[" + address->host + "]:" + std::to_string(address->port));
    FUZZ_CHECK(again && again->host == address->host && again->port == address->port);
  }
}

void checkNumbers(std::string_view text) {
  if (const auto value = parseDouble(text)) {
    FUZZ_CHECK(std::isfinite(*value));
    char buffer[64];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, *value);
    FUZZ_CHECK(ec == std::errc());
    FUZZ_CHECK(parseDouble(std::string_view(buffer, static_cast<std::size_t>(end - buffer))) == *value);
  }
  if (const auto value = parseUint64(text)) FUZZ_CHECK(parseUint64(std::to_string(*value)) == *value);
  if (const auto value = parseInt64(text)) FUZZ_CHECK(parseInt64(std::to_string(*value)) == *value);
}

void checkRedisUrl(std::string_view text) {
  const auto options = sizing::parseRedisUrl(text);
  if (!options) return;
  FUZZ_CHECK(text.find('@') == std::string_view::npos);
  FUZZ_CHECK(!options->host.empty());
  FUZZ_CHECK(options->port >= 1);
  FUZZ_CHECK(options->database >= 0);
}

void checkGroups(std::string_view text) {
  const auto groups = lag::parseGroupList(text);
  if (!groups) return;
  for (std::size_t i = 0; i < groups->size(); ++i) {
    const std::string& group = (*groups)[i];
    FUZZ_CHECK(!group.empty() && group.size() <= 255 && group == trim(group));
    FUZZ_CHECK(group.find(',') == std::string::npos);
    for (const char c : group) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK((*groups)[j] != group);
  }
}

void checkBand(std::string_view text) {
  const auto band = sizing::parseBand(text);
  if (!band) return;
  FUZZ_CHECK(std::isfinite(band->low) && std::isfinite(band->high) && band->low < band->high);
}

void checkUtf8(std::string_view text) {
  const std::string clean = sanitizeUtf8(text);
  FUZZ_CHECK(isValidUtf8(clean));
  if (isValidUtf8(text)) FUZZ_CHECK(clean == text);
  for (const auto& piece : splitList(text)) {
    FUZZ_CHECK(!piece.empty() && piece == trim(piece) && piece.find(',') == std::string::npos);
  }
}

void fuzzOne(std::string_view text) {
  checkDuration(text);
  checkHostPort(text);
  checkNumbers(text);
  checkRedisUrl(text);
  checkGroups(text);
  checkBand(text);
  checkUtf8(text);
}

}  // namespace
}  // namespace rightsize

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}

// What a restarted agent reads back from Redis: one container's checkpoint
// entry (a field of the hash <prefix>agent:<host>). Redis is outside input:
// an older or newer agent, another program or an operator may have written
// anything there. An entry that decodes must round-trip exactly: encoding
// it and decoding that gives the same checkpoint, and the same text again.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"

#include "rightsize/agent/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rightsize::agent;
  const auto decoded = decodeTrackerCheckpoint(rightsize::fuzz::asText(data, size), "fuzz");
  if (!decoded) {
    FUZZ_CHECK(!decoded.error().message().empty());
    return 0;
  }
  const std::string text = encodeTrackerCheckpoint(*decoded);
  const auto again = decodeTrackerCheckpoint(text, "fuzz re-encoded");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *decoded);
  FUZZ_CHECK(encodeTrackerCheckpoint(*again) == text);
  return 0;
}

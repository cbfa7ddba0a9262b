#pragma once

// Shared by the fuzz targets: the input as text, and invariant checks that
// abort, so that libFuzzer saves the input that broke one as a crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace rightsize::fuzz {

inline std::string_view asText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, condition);
  std::abort();
}

}  // namespace rightsize::fuzz

// Not assert(): the fuzzers are built with NDEBUG (RelWithDebInfo) and must
// check all the same.
#define FUZZ_CHECK(condition)                                                  \
  do {                                                                         \
    if (!(condition)) ::rightsize::fuzz::fail(#condition, __FILE__, __LINE__); \
  } while (false)

#pragma once

// Where components report problems with outside input they survived: a bad
// body, a missing file, a counter that went backwards. Implementations count
// them (rightsize_agent_errors_total{source,kind}) and log each kind once.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "rightsize/core/status.h"

namespace rightsize {

// Thread-safety: implementations must allow concurrent record() calls.
class ErrorSink {
 public:
  virtual ~ErrorSink() = default;
  // `source` names the subsystem ("mesos", "cgroups", "http"), the error's
  // kind becomes the metric's kind label.
  virtual void record(std::string_view source, const Error& error) = 0;
};

// An ErrorSink that only counts, for components used without metrics and for
// tests that assert on what was reported.
class CountingErrorSink final : public ErrorSink {
 public:
  void record(std::string_view source, const Error& error) override;

  // Count for (source, kind name), e.g. count("mesos", "malformed").
  std::uint64_t count(std::string_view source, std::string_view kind) const;
  std::uint64_t total() const;
  std::string lastMessage() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::uint64_t, std::less<>> counts_;
  std::string last_message_;
};

}  // namespace rightsize

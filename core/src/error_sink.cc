#include "rightsize/core/error_sink.h"

namespace rightsize {

void CountingErrorSink::record(std::string_view source, const Error& error) {
  std::lock_guard lock(mutex_);
  ++counts_[{std::string(source), std::string(errorKindName(error.kind()))}];
  last_message_ = error.message();
}

std::uint64_t CountingErrorSink::count(std::string_view source, std::string_view kind) const {
  std::lock_guard lock(mutex_);
  const auto it = counts_.find(std::pair<std::string, std::string>(source, kind));
  return it == counts_.end() ? 0 : it->second;
}

std::uint64_t CountingErrorSink::total() const {
  std::lock_guard lock(mutex_);
  std::uint64_t sum = 0;
  for (const auto& [key, n] : counts_) sum += n;
  return sum;
}

std::string CountingErrorSink::lastMessage() const {
  std::lock_guard lock(mutex_);
  return last_message_;
}

}  // namespace rightsize

#include "rightsize/exporters/error_counter.h"

#include <spdlog/spdlog.h>

namespace rightsize::exporters {

ErrorCounter::ErrorCounter(prometheus::Family<prometheus::Counter>& family, std::string name, bool source_label)
    : family_(family), name_(std::move(name)), source_label_(source_label) {}

prometheus::Counter& ErrorCounter::series(std::string_view source, std::string_view kind) {
  if (source_label_) return family_.Add({{"source", std::string(source)}, {"kind", std::string(kind)}});
  return family_.Add({{"kind", std::string(kind)}});
}

void ErrorCounter::record(std::string_view source, const Error& error) {
  const std::string_view kind = errorKindName(error.kind());
  series(source, kind).Increment();
  std::lock_guard lock(logged_mutex_);
  if (logged_.emplace(std::string(source), std::string(kind)).second) {
    spdlog::warn("{} error ({}): {} [further {} errors of this kind are counted in {}, not logged]", source, kind,
                 error.message(), source, name_);
  }
}

void ErrorCounter::declare(std::string_view source, ErrorKind kind) { series(source, errorKindName(kind)); }

}  // namespace rightsize::exporters

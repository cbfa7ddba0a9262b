#pragma once

// "Count and log once", the one way agent and sizer report the bad input they
// survive: every error increments <name>{[source,]kind}, and the first of
// each (source, kind) is logged at warning level; later ones are only
// counted, so that a flood of one problem neither fills the log nor hides
// another source's first error of the same kind.

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "rightsize/core/status.h"

namespace rightsize::exporters {

// Thread-safety: record() and declare() may be called concurrently.
class ErrorCounter {
 public:
  // `family` is the counter named `name`; with `source_label` its series
  // carry {source, kind} (the agent's), else {kind} only (the sizer's).
  ErrorCounter(prometheus::Family<prometheus::Counter>& family, std::string name, bool source_label);

  void record(std::string_view source, const Error& error);
  // Exposes the series of (source, kind) at 0, so that rate() and increase()
  // see the first error.
  void declare(std::string_view source, ErrorKind kind);

 private:
  prometheus::Counter& series(std::string_view source, std::string_view kind);

  prometheus::Family<prometheus::Counter>& family_;
  std::string name_;
  bool source_label_;
  std::mutex logged_mutex_;
  std::set<std::pair<std::string, std::string>> logged_;
};

}  // namespace rightsize::exporters

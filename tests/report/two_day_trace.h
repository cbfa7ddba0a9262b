#pragma once

// Synthetic apps over two days at 5 minutes from a UTC midnight, as a trace
// in the canonical CSV's shape: the report tests' histories.

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "rightsize/simulate/trace.h"

namespace rightsize::report {

struct SyntheticApp {
  const char* id;
  double reserved, mem_reserved;
  double (*used)(int step, int hour);
  double (*mem_used)(int step);
};

inline simulate::Trace twoDayTrace(std::initializer_list<SyntheticApp> apps, const char* name) {
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  const long long start = 1'700'006'400;  // a midnight, UTC
  for (const SyntheticApp& app : apps) {
    for (int i = 0; i < 576; ++i) {
      const long long t = start + 300LL * i;
      const int hour = static_cast<int>((t / 3600) % 24);
      csv += std::string(app.id) + "," + std::to_string(t) + "," + std::to_string(app.reserved) + "," +
             std::to_string(app.used(i, hour)) + "," + std::to_string(app.mem_reserved) + "," +
             std::to_string(app.mem_used(i)) + "\n";
    }
  }
  auto trace = simulate::parseTrace(csv, name);
  EXPECT_TRUE(trace) << trace.error().message();
  return trace ? std::move(*trace) : simulate::Trace{};
}

}  // namespace rightsize::report

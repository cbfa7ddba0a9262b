#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "baseline_parts.h"

#include "rightsize/core/stats.h"
#include "rightsize/simulate/baselines.h"

namespace rightsize::simulate {
namespace {

using namespace baseline;

class BandPolicy final : public SimPolicy {
 public:
  explicit BandPolicy(const BandOptions& options)
      : options_(options), cpu_used_(options.window), mem_used_(options.window) {}

  Reservation observe(const Observation& o, bool deployment_pending) override {
    cpu_used_.update(o.at, o.cpu_used_cores);
    const bool memory = hasMemory(o);
    if (memory) mem_used_.update(o.at, *o.mem_used_mib);
    if (deployment_pending) return o.reserved;
    Reservation wish = o.reserved;
    const double cpu_avg = *cpu_used_.value();
    const double cpu_lying = o.reserved.cpus - cpu_avg;
    if (cpu_lying < options_.cpu_low_cores || cpu_lying > options_.cpu_high_cores) {
      wish.cpus = roundUpCores(cpu_avg + (options_.cpu_low_cores + options_.cpu_high_cores) / 2);
    }
    if (memory) {
      const double mem_avg = *mem_used_.value();
      const double mem_lying = *o.reserved.mem_mib - mem_avg;
      if (mem_lying < options_.memory_low_mib || mem_lying > options_.memory_high_mib) {
        wish.mem_mib = roundUpMib(mem_avg + (options_.memory_low_mib + options_.memory_high_mib) / 2);
      }
    }
    return wish;
  }

 private:
  BandOptions options_;
  TimeEwma cpu_used_;
  TimeEwma mem_used_;
};

}  // namespace

PolicySpec bandPolicy(const BandOptions& options) {
  return {"band", [options](const std::string&, const Reservation&) { return std::make_unique<BandPolicy>(options); }};
}

}  // namespace rightsize::simulate

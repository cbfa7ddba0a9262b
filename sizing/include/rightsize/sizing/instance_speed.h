#pragma once

// Cores are not equal across instance types: the same work costs more CPU
// on an older or smaller-cache type. The sizer learns each type's CPU cost
// relative to a reference type from the apps whose tasks run on several
// types at once (their tasks share the same work: a load-balanced service,
// a consumer group's members), and sizes each app's CPU for the slowest type
// its Marathon constraints let it land on (docs/capacity.md).
//
// Estimator: each cycle, for an app with tasks on the reference type R and
// on type T, each using at least `min_cores`, the log of the ratio of its
// mean CPU per task on T to that on R; per (T, app) the running mean of
// those logs. The factor of T is exp(median over apps of their means): one
// app whose tasks on T happen to do other work moves it little. It is
// trusted once `min_apps` apps have each `min_samples` cycles on both; an
// untrusted factor is not used (1, as the reference). R is the type with the
// most tasks when a type is first seen, and stays.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rightsize/sizing/agent_reader.h"
#include "rightsize/sizing/marathon.h"

namespace rightsize::sizing {

struct SpeedOptions {
  double min_cores = 0.05;       // per task, on both types, for a cycle to count
  std::size_t min_apps = 3;      // --speed-min-apps
  std::size_t min_samples = 10;  // --speed-min-samples: cycles per app
};

struct SpeedFactor {
  std::string instance_type;
  double factor = 1;             // CPU on this type per core of the same work on the reference
  std::size_t apps = 0;          // apps measured on both
  std::size_t trusted_apps = 0;  // of which with min_samples cycles
  double spread = 0;             // median absolute deviation of the apps' log ratios
  bool trusted = false;
  bool reference = false;
};

// Thread-safety: none; the sizer's cycle owns it.
class InstanceSpeed {
 public:
  explicit InstanceSpeed(SpeedOptions options = {}) : options_(options) {}

  // One cycle's containers, as the agents reported them.
  void observe(const std::vector<AgentReport>& reports);

  const std::string& reference() const { return reference_; }
  // The trusted factor of `instance_type` (1 for the reference), nullopt
  // when not trusted or unknown.
  std::optional<double> factor(const std::string& instance_type) const;
  // Every type seen, by name (as of the last observe()).
  const std::vector<SpeedFactor>& factors() const { return factors_; }

 private:
  // The factors from the ratios: once a cycle, as every app's sizing asks
  // for them.
  void refresh();
  struct Ratio {
    double log_sum = 0;
    std::size_t samples = 0;
  };
  SpeedOptions options_;
  std::string reference_;
  std::map<std::string, std::map<std::string, Ratio>> ratios_;  // by type, then app
  std::map<std::string, bool> seen_;                            // types seen
  std::vector<SpeedFactor> factors_;                            // by type
  std::map<std::string, double> trusted_;                       // the trusted factors, by type
};

// The instance types an app's Marathon constraints on the field
// `attribute` (the agents' "instance_type") let it land on, out of `known`:
// LIKE / UNLIKE (a regular expression over the whole value), CLUSTER and IS
// with a value; CLUSTER without a value pins the app to the types its tasks
// run on. nullopt: no such constraint (any type). A constraint whose
// regular expression does not compile is left out and said in `problems`.
std::optional<std::vector<std::string>> allowedTypes(const std::vector<Constraint>& constraints,
                                                     const std::vector<std::string>& known,
                                                     const std::vector<std::string>& running_on,
                                                     std::vector<std::string>& problems,
                                                     const std::string& attribute = "instance_type");

// How an app's CPU figures are scaled: from what its tasks use on the
// slowest trusted type they run on now to the slowest trusted type it may
// land on.
struct SpeedScale {
  double scale = 1;
  std::string measured_on;  // "" when no trusted factor applies
  std::string sized_for;
};
SpeedScale speedScale(const InstanceSpeed& speed, const std::vector<std::string>& running_on,
                      const std::optional<std::vector<std::string>>& allowed);

}  // namespace rightsize::sizing

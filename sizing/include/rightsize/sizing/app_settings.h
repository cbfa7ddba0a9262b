#pragma once

// Per-app settings from Marathon labels, validated. Every label is optional;
// a bad value is reported (and shown in /v1/apps) and the default used.
//
//   rightsize.enabled=true          the sizer may redeploy this app (apply mode)
//   rightsize.cpu.band=-0.1:0.6     lying factor band, cores
//   rightsize.cpu.min, .cpu.max     cores
//   rightsize.mem.band=-64:512      lying factor band, MiB
//   rightsize.mem.min, .mem.max     MiB
//   rightsize.cooldown=30m          after a resize
//   rightsize.max-downsizes-per-day=1  resizes that take something away, per
//                                   --downsize-window (0: never shrink)
//   rightsize.min-change=0.1        a shrink worth a restart: by this share
//   rightsize.cpu.min-change=0.25   ... and by this much of a resource
//   rightsize.mem.min-change=512    (cores, MiB)
//   rightsize.allow-single-instance=true  a one-instance app may be shrunk
//                                   (each restart is an outage; grown when at
//                                   risk all the same)
//   rightsize.cpu.percentile=95     of the history's CPU p95s, 50 to 100
//   rightsize.cpu.headroom=0.1      above it, a share (0 to 10)
//   rightsize.mem.percentile=100    of the history's memory peaks, 50 to 100
//   rightsize.mem.headroom=0.15     above it, a share (0 to 10)
//   rightsize.limits=burstable      request and limit sized apart, written as
//                                   Marathon's resourceLimits (none: cpus and
//                                   mem only, an existing resourceLimits kept)
//   rightsize.cpu.limit=unlimited   a burstable app's limit: "unlimited", or
//   rightsize.mem.limit=unlimited   "sized" (the default: from its peaks)
//   rightsize.kafka.groups=g1,g2    consumer groups (read by the agents)
//   rightsize.instances.min=2       horizontal scaling (docs/scaling.md): on
//   rightsize.instances.max=6       only when both are given
//   rightsize.scale.metric=cpu      cpu (mean task use / cpus) or kafka_lag_seconds
//   rightsize.scale.up=0.8          out above it (cpu: 0.8; lag: 60 seconds)
//   rightsize.scale.down=0.3        in below it (cpu: 0.3; lag: 5 seconds)
//   rightsize.scale.step=1          instances per decision, 1 to 100
//   rightsize.scale.interval=5m     between scale decisions (--scale-interval)

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"

namespace rightsize::sizing {

struct Band {
  double low = 0;
  double high = 0;
  bool operator==(const Band&) const = default;
};

// "-0.1:0.6": low below high, both finite.
Expected<Band> parseBand(std::string_view text);

// The most downsizes per window a label or flag may allow.
inline constexpr int kMaxDownsizes = 1000;

// The largest amount a shrink may be required to take (label or flag):
// beyond a host's cores or memory no shrink could take it.
inline constexpr double kMaxMinChangeCpus = 1024;
inline constexpr double kMaxMinChangeMemMib = 1024.0 * 1024;

// What horizontal scaling looks at (rightsize.scale.metric).
enum class ScaleMetric {
  kCpu,              // "cpu": the tasks' mean CPU use over their reservation
  kKafkaLagSeconds,  // "kafka_lag_seconds": the app's consumer groups' highest lag
};
std::string_view scaleMetricName(ScaleMetric metric);

// The most instances a scaling label may name, and the largest step.
inline constexpr int kMaxInstances = 10000;
inline constexpr int kMaxScaleStep = 100;

// An app's scaling rules (docs/scaling.md). Scaling is on only when both
// bounds are given; the thresholds default by metric (defaultScaleUp/Down).
struct ScaleSettings {
  std::optional<int> min_instances, max_instances;
  ScaleMetric metric = ScaleMetric::kCpu;
  std::optional<double> up, down;  // unset: the metric's default
  int step = 1;
  std::optional<Duration> interval;  // unset: the sizer's --scale-interval
  bool enabled() const { return min_instances.has_value() && max_instances.has_value(); }
  double upThreshold() const;
  double downThreshold() const;
};

struct AppSettings {
  bool enabled = false;
  bool disabled = false;  // rightsize.enabled=false: never, even with --apply-all
  Band cpu_band{-0.1, 0.6};
  Band mem_band{-64, 512};
  std::optional<double> cpu_min, cpu_max;
  std::optional<double> mem_min, mem_max;
  Duration cooldown = std::chrono::minutes(30);
  // Restarts are a cost with a budget: at most this many resizes that take
  // something away (either resource shrinks) per --downsize-window, as each
  // restarts every instance on Mesos. A grow the app needs is never held
  // (it then keeps what it would have taken). 0: never shrink.
  int max_downsizes = 1;
  // A resize that only shrinks is worth a restart when a resource goes down
  // by at least this share of what it reserves (VPA's updater: 10 %).
  double min_change = 0.1;
  // ... and by at least this much of it (cores, MiB): a restart costs as
  // much for a small saving as for a large one (a tenth of a 1,200 MiB app
  // is 120 MiB).
  double min_change_cpus = 0.25;
  double min_change_mem_mib = 512;
  // A single-instance app's restart is an outage: it is shrunk only when
  // this is set (rightsize.allow-single-instance=true); it grows when at
  // risk all the same.
  bool allow_single_instance = false;
  // What the app is sized on, when its labels say (else the policy's,
  // PolicyOptions): the percentile (a share, 0.5 to 1) of the history's CPU
  // p95s and memory peaks, and the headroom (a share) above it.
  std::optional<double> cpu_percentile, cpu_headroom;
  std::optional<double> mem_percentile, mem_headroom;
  // Burstable (rightsize.limits=burstable, or the sizer's --limits): the
  // request (cpus, mem) is sized to sustained use, the limit
  // (resourceLimits) to the bursts it must absorb, or unlimited.
  bool burstable = false;
  bool cpu_limit_unlimited = false;
  bool mem_limit_unlimited = false;
  std::vector<std::string> kafka_groups;
  ScaleSettings scale;
};

struct ParsedSettings {
  AppSettings settings;
  std::vector<std::string> errors;  // "rightsize.cpu.band: ..." per bad label
};

// A label under "rightsize." that is none of these (kAppLabels) is reported
// too: a misspelt one ("rightsize.max-downsize-per-day") would otherwise be
// ignored without a word.
ParsedSettings parseAppLabels(const std::map<std::string, std::string>& labels, const AppSettings& defaults);

// Every label the sizer reads (docs/sizer.md lists them).
inline constexpr std::array<std::string_view, 28> kAppLabels = {
    "rightsize.enabled",        "rightsize.cpu.band",
    "rightsize.mem.band",       "rightsize.cpu.min",
    "rightsize.cpu.max",        "rightsize.mem.min",
    "rightsize.mem.max",        "rightsize.cooldown",
    "rightsize.kafka.groups",   "rightsize.max-downsizes-per-day",
    "rightsize.min-change",     "rightsize.cpu.min-change",
    "rightsize.mem.min-change", "rightsize.allow-single-instance",
    "rightsize.cpu.percentile", "rightsize.mem.percentile",
    "rightsize.cpu.headroom",   "rightsize.mem.headroom",
    "rightsize.limits",         "rightsize.cpu.limit",
    "rightsize.mem.limit",      "rightsize.instances.min",
    "rightsize.instances.max",  "rightsize.scale.metric",
    "rightsize.scale.up",       "rightsize.scale.down",
    "rightsize.scale.step",     "rightsize.scale.interval"};

}  // namespace rightsize::sizing

#include "simulate_host_loss.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <tuple>

#include "rightsize/core/json.h"
#include "rightsize/core/text.h"
#include "rightsize/simulate/host_loss.h"

namespace rightsize::cli {
namespace {

std::string resultJson(const simulate::HostLossResult& r) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  for (const auto& [key, value] : {std::pair{"headroom_multiple", r.multiple},
                                   {"events", static_cast<double>(r.events)},
                                   {"hosts_lost", static_cast<double>(r.hosts_lost)},
                                   {"host_hours", r.host_hours},
                                   {"spare_host_hours", r.spare_host_hours},
                                   {"tasks_displaced", static_cast<double>(r.tasks_displaced)},
                                   {"tasks_unplaced", static_cast<double>(r.tasks_unplaced)},
                                   {"max_unplaced", static_cast<double>(r.max_unplaced)},
                                   {"unplaced_task_hours", r.unplaced_task_hours}}) {
    json::writeKey(writer, key);
    json::writeNumber(writer, value);
  }
  json::writeKey(writer, "held");
  writer.Bool(r.held());
  writer.EndObject();
  return buffer.GetString();
}

}  // namespace

int runHostLossSimulation(const simulate::Trace& trace, const std::string& trace_name, const HostLossFlags& flags,
                          double host_cores, double host_memory_gib, bool json) {
  simulate::HostLossOptions options;
  if (host_cores <= 0) {
    spdlog::error("--host-loss-rate needs hosts of a size: --host-cores must be above 0");
    return 2;
  }
  options.host_cores = host_cores;
  options.host_mem_mib = host_memory_gib * 1024;
  options.rate_per_day = flags.rate_per_day;
  options.burst = flags.burst;
  options.multiple = flags.multiple;
  options.seed = flags.seed;
  for (auto [name, text, out] : {std::tuple{"--headroom-lead-time", &flags.lead_time, &options.lead_time},
                                 {"--headroom-window", &flags.window, &options.window}}) {
    auto parsed = parseDuration(*text);
    if (!parsed || *parsed <= Duration::zero()) {
      spdlog::error("{}: '{}' is not a duration above 0", name, *text);
      return 2;
    }
    *out = *parsed;
  }
  simulate::HostLossOptions none = options;
  none.multiple = 0;
  const simulate::HostLossResult without = simulate::replayHostLoss(trace, none);
  const simulate::HostLossResult with = simulate::replayHostLoss(trace, options);
  if (json) {
    std::printf("%s\n%s\n", resultJson(without).c_str(), resultJson(with).c_str());
    return 0;
  }
  std::printf(
      "%s: %zu apps as one task each on %s-core, %s GiB hosts; %.2f loss events a day of 1-%d hosts, "
      "replaced after %s\n",
      trace_name.c_str(), trace.apps.size(), formatRounded(host_cores, 3).c_str(),
      formatRounded(host_memory_gib, 3).c_str(), flags.rate_per_day, flags.burst,
      formatDuration(options.lead_time).c_str());
  std::printf("%-9s %7s %11s %11s %12s %9s %9s %13s %5s\n", "headroom", "events", "hosts lost", "host-hours",
              "spare host-h", "displaced", "unplaced", "unplaced t-h", "held");
  for (const auto* r : {&without, &with}) {
    std::printf("%-9s %7zu %11zu %11.0f %12.0f %9zu %9zu %13.1f %5s\n", ("x" + formatRounded(r->multiple, 2)).c_str(),
                r->events, r->hosts_lost, r->host_hours, r->spare_host_hours, r->tasks_displaced, r->tasks_unplaced,
                r->unplaced_task_hours, r->held() ? "yes" : "no");
  }
  return 0;
}

}  // namespace rightsize::cli

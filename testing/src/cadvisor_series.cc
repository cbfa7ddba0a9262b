#include "rightsize/testing/cadvisor_series.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <vector>

#include "rightsize/core/text.h"
#include "rightsize/core/units.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::testing {
namespace {

constexpr int kScrapesPerStep = 5;  // every minute of a 5-minute step
constexpr double kMappedFileBytes = 8 * kMiB;
constexpr double kCfsPeriodUs = 100000;

// Marathon's task id of an app's first task: its path, '/' as '_', then a
// uuid made from the app's index.
std::string taskId(const std::string& app_id, std::size_t index) {
  std::string path = app_id.substr(app_id.starts_with('/') ? 1 : 0);
  for (char& c : path) {
    if (c == '/') c = '_';
  }
  char uuid[48];
  std::snprintf(uuid, sizeof uuid, "0a1b2c3d-0000-4000-8000-%012zu", index + 1);
  return path + ".instance-" + uuid + "._app.1";
}

}  // namespace

std::string cadvisorOpenMetrics(const simulate::Trace& trace, const CadvisorShape& shape) {
  const double executor_cpus = shape.docker ? 0 : sizing::kExecutorCpus;
  const double executor_mib = shape.docker ? 0 : sizing::kExecutorMemMib;
  struct Container {
    std::string labels;  // {...}
    const simulate::AppTrace* app = nullptr;
    double scale = 1;  // of its use
  };
  std::vector<Container> containers;
  for (std::size_t i = 0; i < trace.apps.size(); ++i) {
    const simulate::AppTrace& app = trace.apps[i];
    const std::string value = shape.task_id ? taskId(app.app_id, i) : app.app_id;
    std::string labels = "{" + shape.app_label + "=\"" + value + "\",";
    if (shape.docker) {
      labels += "id=\"/docker/c" + std::to_string(i) + "\",image=\"registry.example/app:1\",name=\"mesos-c" +
                std::to_string(i) + "\"";
    } else {
      labels += "id=\"/mesos/c" + std::to_string(i) + "\",container_label_framework=\"marathon\"";
    }
    containers.push_back({labels + "}", &app});
  }
  // The cgroup above them (cAdvisor exports it too), without the app label.
  if (!trace.apps.empty())
    containers.push_back({shape.docker ? "{id=\"/docker\"}" : "{id=\"/mesos\"}", &trace.apps[0], 50});
  std::string out;
  const auto timestamp = [](TimePoint at) { return formatRounded(toUnixSeconds(at), 3); };
  // One family: for each container, each scrape in the step that ends at a
  // point (the first point's step too), value_of(point, the container's
  // scale of use).
  using ValueOf = std::function<std::optional<double>(const simulate::TracePoint&, double)>;
  const auto family = [&](const std::string& name, const char* type, const std::string& extra,
                          const ValueOf& value_of) {
    const std::string family_name =
        std::string(type) == "counter" && name.ends_with("_total") ? name.substr(0, name.size() - 6) : name;
    out += "# TYPE " + family_name + " " + type + "\n";
    for (const Container& container : containers) {
      std::string labels = container.labels;
      if (!extra.empty()) labels.insert(labels.size() - 1, "," + extra);
      const auto& points = container.app->points;
      for (std::size_t p = 0; p < points.size(); ++p) {
        const double step = p == 0 ? 300 : toSeconds(points[p].at - points[p - 1].at);
        for (int k = p == 0 ? 0 : 1; k <= kScrapesPerStep; ++k) {
          const double into = step * k / kScrapesPerStep;
          if (const auto value = value_of(points[p], container.scale)) {
            const TimePoint at =
                points[p].at - std::chrono::duration_cast<Duration>(std::chrono::duration<double>(step - into));
            out += name + labels + " " + formatExact(*value) + " " + timestamp(at) + "\n";
          }
        }
      }
    }
  };
  // The CPU counter: the seconds used so far, growing at each step's use.
  {
    out += "# TYPE container_cpu_usage_seconds counter\n";
    for (std::size_t c = 0; c < containers.size(); ++c) {
      std::string labels = containers[c].labels;
      labels.insert(labels.size() - 1, ",cpu=\"total\"");
      const auto& points = containers[c].app->points;
      double total = 1000;  // the container ran before the history
      for (std::size_t p = 0; p < points.size(); ++p) {
        const double step = p == 0 ? 300 : toSeconds(points[p].at - points[p - 1].at);
        for (int k = p == 0 ? 0 : 1; k <= kScrapesPerStep; ++k) {
          const double into = step * k / kScrapesPerStep;
          const TimePoint at =
              points[p].at - std::chrono::duration_cast<Duration>(std::chrono::duration<double>(step - into));
          out += "container_cpu_usage_seconds_total" + labels + " " +
                 formatExact(total + containers[c].scale * points[p].cpu_used_cores * into) + " " + timestamp(at) +
                 "\n";
        }
        total += containers[c].scale * points[p].cpu_used_cores * step;
      }
    }
  }
  family("container_memory_rss", "gauge", "", [](const simulate::TracePoint& p, double scale) {
    return p.memory_used_mib ? std::optional(scale * *p.memory_used_mib * kMiB - kMappedFileBytes) : std::nullopt;
  });
  family("container_memory_mapped_file", "gauge", "", [](const simulate::TracePoint& p, double) {
    return p.memory_used_mib ? std::optional(kMappedFileBytes) : std::nullopt;
  });
  // Mesos and Docker: 1024 shares a core, truncated; the quota over a
  // 100 ms period.
  family("container_spec_cpu_shares", "gauge", "", [&](const simulate::TracePoint& p, double) {
    return std::optional(std::floor(1024 * (p.cpu_reserved_cores + executor_cpus)));
  });
  family("container_spec_cpu_quota", "gauge", "", [&](const simulate::TracePoint& p, double) {
    return std::optional(std::round((p.cpu_reserved_cores + executor_cpus) * kCfsPeriodUs));
  });
  family("container_spec_cpu_period", "gauge", "",
         [](const simulate::TracePoint&, double) { return std::optional(kCfsPeriodUs); });
  family("container_spec_memory_limit_bytes", "gauge", "", [&](const simulate::TracePoint& p, double) {
    return p.memory_reserved_mib ? std::optional((*p.memory_reserved_mib + executor_mib) * kMiB) : std::nullopt;
  });
  // Docker sets no soft limit (cAdvisor writes 0 for unlimited); Mesos'
  // memory isolator sets it to the request.
  family("container_spec_memory_reservation_limit_bytes", "gauge", "", [&](const simulate::TracePoint& p, double) {
    if (!p.memory_reserved_mib) return std::optional<double>();
    return std::optional(shape.docker ? 0.0 : (*p.memory_reserved_mib + executor_mib) * kMiB);
  });
  out += "# EOF\n";
  return out;
}

}  // namespace rightsize::testing

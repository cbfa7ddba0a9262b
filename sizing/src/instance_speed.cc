#include "rightsize/sizing/instance_speed.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

namespace rightsize::sizing {
namespace {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// Marathon's LIKE and UNLIKE take a regular expression over the whole value;
// nullopt when it does not compile.
std::optional<std::regex> compile(const std::string& text) {
  try {
    return std::regex(text, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
}

}  // namespace

void InstanceSpeed::observe(const std::vector<AgentReport>& reports) {
  // Per app and type: CPU in use over its tasks there, and how many.
  struct Sum {
    double cores = 0;
    std::size_t tasks = 0;
  };
  std::map<std::string, std::map<std::string, Sum>> per_app;
  std::map<std::string, std::size_t> tasks_per_type;
  for (const AgentReport& report : reports) {
    if (!report.reachable) continue;
    for (const wire::Container& container : report.containers) {
      const std::string& type = container.instance_type.empty() ? report.place.instance_type : container.instance_type;
      if (type.empty() || container.app_id.empty()) continue;
      seen_[type] = true;
      ++tasks_per_type[type];
      if (!container.cpu.used_cores_avg) continue;
      Sum& sum = per_app[container.app_id][type];
      sum.cores += *container.cpu.used_cores_avg;
      ++sum.tasks;
    }
  }
  if (reference_.empty() && !tasks_per_type.empty()) {
    reference_ = std::max_element(tasks_per_type.begin(), tasks_per_type.end(), [](const auto& a, const auto& b) {
                   return a.second < b.second || (a.second == b.second && a.first > b.first);
                 })->first;
  }
  for (const auto& [app, types] : per_app) {
    const auto on_reference = types.find(reference_);
    if (on_reference == types.end()) continue;
    const double reference_cores = on_reference->second.cores / static_cast<double>(on_reference->second.tasks);
    if (reference_cores < options_.min_cores) continue;
    for (const auto& [type, sum] : types) {
      if (type == reference_) continue;
      const double cores = sum.cores / static_cast<double>(sum.tasks);
      if (cores < options_.min_cores) continue;
      Ratio& ratio = ratios_[type][app];
      ratio.log_sum += std::log(cores / reference_cores);
      ++ratio.samples;
    }
  }
  refresh();
}

void InstanceSpeed::refresh() {
  std::vector<SpeedFactor>& out = factors_;
  out.clear();
  trusted_.clear();
  for (const auto& [type, seen] : seen_) {
    SpeedFactor factor;
    factor.instance_type = type;
    factor.reference = type == reference_;
    if (factor.reference) {
      factor.trusted = true;
      trusted_[type] = 1;
      out.push_back(factor);
      continue;
    }
    std::vector<double> logs;
    if (const auto found = ratios_.find(type); found != ratios_.end()) {
      factor.apps = found->second.size();
      for (const auto& [app, ratio] : found->second) {
        if (ratio.samples < options_.min_samples) continue;
        logs.push_back(ratio.log_sum / static_cast<double>(ratio.samples));
      }
    }
    factor.trusted_apps = logs.size();
    if (!logs.empty()) {
      const double center = median(logs);
      std::vector<double> deviations;
      for (const double log : logs) deviations.push_back(std::abs(log - center));
      factor.factor = std::exp(center);
      factor.spread = median(deviations);
    }
    factor.trusted = logs.size() >= options_.min_apps && options_.min_apps > 0;
    if (factor.trusted) trusted_[type] = factor.factor;
    out.push_back(factor);
  }
}

std::optional<double> InstanceSpeed::factor(const std::string& instance_type) const {
  const auto found = trusted_.find(instance_type);
  return found == trusted_.end() ? std::nullopt : std::optional<double>(found->second);
}

std::optional<std::vector<std::string>> allowedTypes(const std::vector<Constraint>& constraints,
                                                     const std::vector<std::string>& known,
                                                     const std::vector<std::string>& running_on,
                                                     std::vector<std::string>& problems, const std::string& attribute) {
  std::optional<std::set<std::string>> allowed;
  const auto narrow = [&](auto keep) {
    std::set<std::string> next;
    for (const std::string& type : allowed ? std::vector<std::string>(allowed->begin(), allowed->end()) : known) {
      if (keep(type)) next.insert(type);
    }
    allowed = std::move(next);
  };
  for (const Constraint& constraint : constraints) {
    if (constraint.field != attribute) continue;
    if (constraint.op == "LIKE" || constraint.op == "UNLIKE") {
      if (!constraint.value) continue;
      const std::optional<std::regex> pattern = compile(*constraint.value);
      if (!pattern) {
        problems.push_back("constraint [" + constraint.field + ", " + constraint.op + ", " + *constraint.value +
                           "]: not a regular expression");
        continue;
      }
      const bool like = constraint.op == "LIKE";
      narrow([&](const std::string& type) { return std::regex_match(type, *pattern) == like; });
    } else if (constraint.op == "CLUSTER" || constraint.op == "IS") {
      if (constraint.value) {
        narrow([&](const std::string& type) { return type == *constraint.value; });
      } else {
        narrow([&](const std::string& type) {
          return std::find(running_on.begin(), running_on.end(), type) != running_on.end();
        });
      }
    }
  }
  if (!allowed) return std::nullopt;
  return std::vector<std::string>(allowed->begin(), allowed->end());
}

SpeedScale speedScale(const InstanceSpeed& speed, const std::vector<std::string>& running_on,
                      const std::optional<std::vector<std::string>>& allowed) {
  SpeedScale out;
  // Where the app's figures were measured: the slowest trusted type its
  // tasks run on (its busiest task is most likely there).
  double measured = 0;
  for (const std::string& type : running_on) {
    if (const auto factor = speed.factor(type); factor && *factor > measured) {
      measured = *factor;
      out.measured_on = type;
    }
  }
  if (out.measured_on.empty()) return out;
  double target = 0;
  std::vector<std::string> candidates;
  if (allowed) {
    candidates = *allowed;
  } else {
    for (const SpeedFactor& factor : speed.factors()) candidates.push_back(factor.instance_type);
  }
  for (const std::string& type : candidates) {
    if (const auto factor = speed.factor(type); factor && *factor > target) {
      target = *factor;
      out.sized_for = type;
    }
  }
  if (out.sized_for.empty()) {
    out.sized_for = out.measured_on;
    return out;
  }
  out.scale = target / measured;
  return out;
}

}  // namespace rightsize::sizing

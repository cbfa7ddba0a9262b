#include "rightsize/simulate/host_loss.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>

#include "rightsize/sizing/capacity.h"

namespace rightsize::simulate {
namespace {

constexpr Duration kStep = std::chrono::minutes(5);

struct Task {
  double cores = 0;
  double mem_mib = 0;
  std::optional<std::size_t> host;
};

struct Host {
  std::string name;
  double cores = 0;  // reserved on it
  double mem_mib = 0;
  std::size_t tasks = 0;
  bool alive = false;
  TimePoint ready_at{};
};

class Fleet {
 public:
  explicit Fleet(const HostLossOptions& options) : options_(options) {}

  std::size_t addHost(TimePoint ready_at, bool alive) {
    hosts_.push_back(Host{"h" + std::to_string(hosts_.size()), 0, 0, 0, alive, ready_at});
    return hosts_.size() - 1;
  }
  bool fits(const Host& host, const Task& task) const {
    return host.alive && host.cores + task.cores <= options_.host_cores + 1e-9 &&
           (options_.host_mem_mib <= 0 || host.mem_mib + task.mem_mib <= options_.host_mem_mib + 1e-6);
  }
  // First fit on the hosts alive; false when none has room.
  bool place(Task& task) {
    for (std::size_t h = 0; h < hosts_.size(); ++h) {
      if (!fits(hosts_[h], task)) continue;
      hosts_[h].cores += task.cores;
      hosts_[h].mem_mib += task.mem_mib;
      ++hosts_[h].tasks;
      task.host = h;
      return true;
    }
    return false;
  }
  std::vector<Host>& hosts() { return hosts_; }

 private:
  const HostLossOptions& options_;
  std::vector<Host> hosts_;
};

}  // namespace

HostLossResult replayHostLoss(const Trace& trace, const HostLossOptions& options) {
  HostLossResult result;
  result.multiple = options.multiple;
  if (trace.apps.empty()) return result;
  // Each app one task, at the reservation the trace starts it with.
  std::vector<Task> tasks;
  for (const AppTrace& app : trace.apps) {
    if (app.points.empty()) continue;
    tasks.push_back(
        Task{app.points.front().cpu_reserved_cores, app.points.front().memory_reserved_mib.value_or(0), {}});
  }
  std::vector<std::size_t> order(tasks.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return tasks[a].cores > tasks[b].cores; });
  Fleet fleet(options);
  for (const std::size_t i : order) {
    if (!fleet.place(tasks[i])) {
      fleet.addHost(trace.start, true);
      fleet.place(tasks[i]);  // a task larger than a host stays unplaced
    }
  }

  // Two streams: the losses' times and sizes, and which hosts they take, so
  // that runs with other headroom see the same losses.
  std::mt19937_64 random(options.seed);
  std::mt19937_64 picks(options.seed ^ 0x9e3779b97f4a7c15ULL);
  std::exponential_distribution<double> gap_days(options.rate_per_day > 0 ? options.rate_per_day : 1);
  std::optional<TimePoint> next_event;
  const auto nextEvent = [&](TimePoint after) {
    return after +
           std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::ratio<86400>>(gap_days(random)));
  };
  if (options.rate_per_day > 0) next_event = nextEvent(trace.start);

  sizing::HeadroomOptions headroom{.lead_time = options.lead_time,
                                   .window = options.window,
                                   .multiple = options.multiple,
                                   .lost_after = Duration::zero()};
  sizing::HostLossTracker tracker(headroom);
  std::vector<std::size_t> unplaced;
  for (TimePoint now = trace.start; now <= trace.end; now += kStep) {
    auto& hosts = fleet.hosts();
    for (Host& host : hosts) {
      if (!host.alive && host.ready_at <= now && host.ready_at != TimePoint{}) host.alive = true;
    }
    // Tasks waiting go where there is room now.
    std::erase_if(unplaced, [&](std::size_t t) { return fleet.place(tasks[t]); });
    // Losses due by now.
    while (next_event && *next_event <= now) {
      ++result.events;
      std::vector<std::size_t> alive;
      for (std::size_t h = 0; h < hosts.size(); ++h) {
        if (hosts[h].alive) alive.push_back(h);
      }
      std::shuffle(alive.begin(), alive.end(), picks);
      const int count = std::uniform_int_distribution<int>(1, std::max(1, options.burst))(random);
      alive.resize(std::min<std::size_t>(alive.size(), static_cast<std::size_t>(count)));
      for (const std::size_t h : alive) {
        hosts[h].alive = false;
        hosts[h].ready_at = TimePoint{};  // gone for good
        hosts[h].cores = hosts[h].mem_mib = 0;
        hosts[h].tasks = 0;
        ++result.hosts_lost;
        fleet.addHost(now + options.lead_time, false);  // its replacement
      }
      for (std::size_t t = 0; t < tasks.size(); ++t) {
        if (!tasks[t].host || std::find(alive.begin(), alive.end(), *tasks[t].host) == alive.end()) continue;
        tasks[t].host.reset();
        ++result.tasks_displaced;
        if (!fleet.place(tasks[t])) {
          ++result.tasks_unplaced;
          unplaced.push_back(t);
        }
      }
      next_event = nextEvent(*next_event);
    }
    // The sizer's view: the hosts alive now, their losses, the headroom.
    std::vector<sizing::HostFigures> seen;
    double pending_cores = 0, pending_mem = 0;
    for (const Host& host : hosts) {
      if (host.alive) {
        seen.push_back(sizing::HostFigures{.host = host.name,
                                           .capacity_cores = options.host_cores,
                                           .capacity_bytes = options.host_mem_mib * 1024 * 1024,
                                           .reserved_cores = host.cores,
                                           .reserved_bytes = host.mem_mib * 1024 * 1024});
      } else if (host.ready_at > now) {
        pending_cores += options.host_cores;
        pending_mem += options.host_mem_mib;
      }
    }
    tracker.observe(now, seen);
    const auto markets = sizing::fleetCapacity(seen, tracker, headroom, now);
    if (!markets.empty()) {
      // The operator (or an autoscaler) answering the alert: hosts to cover
      // what is short, counting those on their way.
      const sizing::MarketCapacity& m = markets.front();
      const double short_cores = m.needed_cores - m.free_cores - pending_cores;
      const double short_mem =
          options.host_mem_mib > 0 ? m.needed_bytes / 1024 / 1024 - m.free_bytes / 1024 / 1024 - pending_mem : 0;
      const double more =
          std::max({0.0, std::ceil(short_cores / options.host_cores - 1e-9),
                    options.host_mem_mib > 0 ? std::ceil(short_mem / options.host_mem_mib - 1e-9) : 0.0});
      for (int i = 0; i < static_cast<int>(more); ++i) fleet.addHost(now + options.lead_time, false);
    }
    const double hours = toHours(kStep);
    for (const Host& host : fleet.hosts()) {
      if (!host.alive) continue;
      result.host_hours += hours;
      if (host.tasks == 0) result.spare_host_hours += hours;
    }
    result.unplaced_task_hours += static_cast<double>(unplaced.size()) * hours;
    result.max_unplaced = std::max(result.max_unplaced, unplaced.size());
  }
  return result;
}

}  // namespace rightsize::simulate

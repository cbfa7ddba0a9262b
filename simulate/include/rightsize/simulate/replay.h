#pragma once

// Replaying a usage trace through sizing policies on a simulated clock
// (`rightsize simulate`, docs/simulate.md). The apps of the trace are
// replayed sample by sample in time order, each with its own policy, which
// knows of the others only how many of their redeploys are in flight (the
// sizer's deployment slots): the policy observes what the app
// used, may ask for a new reservation, and that reservation takes effect
// after the redeploy delay (the old one holds meanwhile; while a redeploy is
// pending the policy's wishes are not acted on, as the sizer never touches an
// app in a deployment). A slot that frees between samples goes at once to
// the apps waiting for one (SimPolicy::retry), and a step that OOM-kills a
// container is played at its start, when the kill happens. Every app starts
// from the reservation its trace starts with.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/simulate/trace.h"
#include "rightsize/sizing/resize_flow.h"

namespace rightsize::simulate {

// What an app reserves per instance: Marathon's cpus (cores) and mem (MiB).
// mem is absent for traces without a memory signal.
// A burstable app also has limits (Marathon's resourceLimits; its cpus and
// mem are then its request): what its container may use beyond them when
// the host has it to spare (isolation.h, shareHostCpu).
struct Reservation {
  double cpus = 0;
  std::optional<double> mem_mib;
  std::optional<double> cpus_limit;     // cores or sizing::kUnlimited; nullopt: cpus
  std::optional<double> mem_limit_mib;  // MiB or sizing::kUnlimited; nullopt: mem
  bool operator==(const Reservation&) const = default;
};

// The sizer's deployment slots as one app sees them.
struct Slots {
  // Redeploys of the other apps asked for and not yet in effect: what the
  // sizer counts against its --max-concurrent-deployments.
  std::size_t other_deployments_in_flight = 0;
  // Other apps at risk that wait for a deployment slot (SimPolicy::waitsAtRisk):
  // the sizer gives free slots to them first.
  std::size_t other_apps_at_risk_waiting = 0;
  // The apps whose resize that can wait waits for a slot, with their claims
  // (SimPolicy::slotClaim), and the fleet's MiB per core that prices them.
  const sizing::SlotQueue* queue = nullptr;
  double fleet_mem_per_core = 0;
};

// One sample as the policy sees it: what the app's container showed over the
// step that ends at `at`, under the CPU isolation replayed (isolation.h).
struct Observation {
  TimePoint at{};
  Duration step{};  // the time since the previous sample (the trace's step for the first)
  // What the container used and its cgroup shows: under a CFS quota at most
  // the reservation, with shares all of the demand.
  double cpu_used_cores = 0;
  double cpu_throttled_ratio = 0;  // throttled periods / periods (CFS only)
  double cpu_throttled_cores = 0;  // demand the quota held back: throttled time per second
  // Memory the container showed, never above its limit (nullopt: the trace
  // has no memory signal).
  std::optional<double> mem_used_mib;
  // The reservation in force during the step.
  Reservation reserved;
  // The trace's demand exceeded the limit: CPU (the container's, with the
  // executor's share; met with shares, not under a quota), and memory (the kernel OOM-killed the task, which
  // restarted: Marathon shows it as the app's last task failure).
  bool cpu_starved = false;
  bool oom = false;
  // The sizer's deployment slots as the app sees them.
  Slots slots;
  // The share of its host's cores the host's containers use (the agents'
  // host figures; nullopt: hosts not modelled).
  std::optional<double> host_busy;
  // The app's trace began with the trace: its first container ran before
  // (a fleet the sizer is switched on over). One whose trace begins later is
  // a new app, its first container new.
  bool app_began_with_trace = true;
  // The trace's CPU demand, which a real policy cannot see: for the
  // clairvoyant bounds and the tests, not for policies.
  double cpu_demand_cores = 0;
};

// One app's policy under simulation. Implementations keep whatever history
// they need; time comes only from the observations.
class SimPolicy {
 public:
  virtual ~SimPolicy() = default;
  // Returns the reservation the policy wants from now on; returning
  // `observation.reserved` (or anything equal to it) changes nothing.
  // `deployment_pending` is true while a redeploy it asked for has not taken
  // effect yet (what it returns then is ignored).
  virtual Reservation observe(const Observation& observation, bool deployment_pending) = 0;
  // After observe() or retry(): the app's resize waits for a deployment
  // slot, and whether the app is at risk.
  virtual bool waitsForSlot() const { return false; }
  virtual bool waitsAtRisk() const { return false; }
  // A resize that can wait, waiting for a slot: what it claims of one.
  virtual std::optional<sizing::SlotClaim> slotClaim() const { return std::nullopt; }
  // A deployment slot freed at `at`, between the app's samples, while it
  // waits for one: the policy decides again on what it has seen (the
  // sizer's next cycle does, with the agents' same readings). Returns the
  // reservation it wants from now on, as observe() does; nullopt: nothing.
  virtual std::optional<Reservation> retry(TimePoint /*at*/, const Slots& /*slots*/) { return std::nullopt; }
};

// A named policy: makes one SimPolicy per app, given the app's first
// reservation.
struct PolicySpec {
  std::string name;
  std::function<std::unique_ptr<SimPolicy>(const std::string& app_id, const Reservation& initial)> make;
};

}  // namespace rightsize::simulate

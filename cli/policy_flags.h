#pragma once

// The sizing policy's flags that `rightsize sizer` takes, and that
// `rightsize simulate` takes for its replay of the sizer: the same names,
// defaults, checks and meaning, so that a replay previews a setting before
// the sizer is given it.

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"
#include "rightsize/sizing/app_settings.h"
#include "rightsize/sizing/policy.h"
#include "rightsize/sizing/usage_history.h"

namespace rightsize::cli {

struct PolicyFlags {
  std::string min_history = "6h";
  std::string min_task_age = "6h";
  std::string min_app_age = "24h";
  std::string history = "6h";
  std::string memory_history = "12h";
  int memory_days = 7;
  int peak_days = 1;
  int forecast_days = 2;      // --forecast-days: grown ahead of an hour's peak seen on this many days
  int anomaly_days = 3;       // --anomaly-days: use scored against an hour seen on this many days
  double anomaly_sigmas = 3;  // --anomaly-sigmas: a collapse beyond this many standard deviations
  std::string cpu_half_life = "24h";
  std::string search_back_window = "7d";
  std::string wrong_shrink_hold = "48h";
  // The name the sizer's --history goes by: `rightsize report`'s own
  // --history is how far back it reads, so there it is --sizer-history,
  // which the report adds itself (addPolicyFlags adds only --history).
  std::string history_flag = "--history";
};

// What a shrink must take off to be worth a restart (the apps' defaults;
// labels rightsize.min-change, rightsize.cpu.min-change and
// rightsize.mem.min-change override them): the sizer's flags, and
// simulate's and report's for their replays.
struct MinChangeFlags {
  double share = 0.1;
  double cpus = 0.25;
  double mem_mib = 512;
};

void addMinChangeFlags(CLI::App& command, MinChangeFlags& flags, bool replay);

// Sets them as the apps' defaults.
void applyMinChangeFlags(const MinChangeFlags& flags, sizing::AppSettings& defaults);

// The deployment slots (--max-concurrent-deployments, 1-1000, and
// --max-concurrent-oom-deployments, 0-1000): the sizer's flags, and
// simulate's for its replay.
void addSlotFlags(CLI::App& command, std::size_t& deployments, std::size_t& oom_deployments, std::string& order,
                  bool replay);

// Adds them to `command`. `replay`: simulate's and report's, whose help says
// each is the sizer's flag for the rightsize policy.
void addPolicyFlags(CLI::App& command, PolicyFlags& flags, bool replay);

// What they set in the policy, its history and the flow's search back
// window; an error names the flag (a --min-history longer than the history
// kept could never end, and nothing would ever be shrunk).
Status applyPolicyFlags(const PolicyFlags& flags, sizing::PolicyOptions& policy, sizing::HistoryOptions& history,
                        Duration& search_back_window);

}  // namespace rightsize::cli

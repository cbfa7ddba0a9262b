#pragma once

// The parts of `rightsize simulate` beyond the table: --out (per-app CSV, SVG
// plots of reserved vs used, a Markdown summary) and --grid.

#include <filesystem>
#include <string>
#include <vector>

#include "rightsize/core/status.h"
#include "rightsize/simulate/simulate.h"

namespace rightsize::cli {

// Writes `content` to `path` (replacing it); the error names the path.
Status writeFile(const std::filesystem::path& path, const std::string& content);

// Writes into `directory` (created if needed): <policy>.csv (one row per app
// and sample: app, timestamp, used and reserved cpu and memory), <policy>-
// <rank>.svg for the worst, median and best app of each policy (by CPU
// core-hours saved against the trace's own reservation), and summary.md.
Status writeReport(const std::string& directory, const std::string& trace_name,
                   const std::vector<simulate::PolicyResult>& results);

// Replays the product's policy over a grid of CPU and memory bands and
// sustain times; prints every setting and the one that reserves the fewest
// core-hours while keeping the insufficient-sample rate of CPU and memory at
// or under `max_insufficient_pct`. Returns the exit code (1 when no setting
// qualifies).
int runGrid(const simulate::Trace& trace, const simulate::ReplayOptions& options,
            const simulate::RightsizePolicyOptions& rightsize, double max_insufficient_pct, bool json);

}  // namespace rightsize::cli

#pragma once

// `rightsize report --format html`: one self-contained page (docs/report.md,
// "The HTML page"): the fleet's totals, the per-app table, and per plotted
// app its CPU use over time against the reservation it had and the one the
// policy's replay gave it (memory likewise), as inline SVG. No network: no
// external script, style sheet, font or image; one small inline script
// sorts the table by a column when its header is clicked.

#include <cstddef>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rightsize/core/status.h"
#include "rightsize/report/fleet_report.h"
#include "rightsize/simulate/replay.h"

namespace rightsize::report {

// Apps --plot-apps may add to the worst, median and best: more would make
// a page too heavy to open (and a replay each).
inline constexpr std::size_t kMaxNamedPlots = 50;
// Points per line of a plot at most (downsample()).
inline constexpr std::size_t kMaxPlotPoints = 500;

// --plot-apps: an ECMAScript regular expression matched against the whole
// app id; a clear error naming the flag when it does not compile.
Expected<std::regex> plotAppsRegex(const std::string& text);

// Which apps the page plots, by index into `apps`: ranked by core-hours
// saved per month (then GiB-hours, then their order), the worst (saves the
// least, or needs the most), the median and the best, each once with every
// reason it has; then the apps `named` matches (by app id), in their order,
// at most `max_named`. More matching: a warning in `warnings`.
struct PlotPick {
  std::size_t app = 0;
  std::vector<std::string> why;
};
std::vector<PlotPick> pickPlotted(const std::vector<AppReport>& apps, const std::optional<std::regex>& named,
                                  std::size_t max_named, std::vector<std::string>& warnings);

// The picked apps of `report` over time: their traces of `history` replayed
// again through `spec` with the series kept. The same replay as the report's
// when the apps replay independently (options.replay.host_cores 0, every app
// its own slot); otherwise the whole trace is replayed again.
std::vector<AppPlot> plotReplays(const AppsHistory& history, const FleetReport& report,
                                 const simulate::PolicySpec& spec, const ReportOptions& options,
                                 std::vector<std::string>& warnings);

// A line of (x, y) points in x order with at most `max_points` (at least 2):
// the x span cut in max_points / 2 buckets of equal width, each giving its
// lowest and its highest point, in x order (one when they are the same).
// Peaks and troughs stay; a line short enough comes back as it is.
std::vector<std::pair<double, double>> downsample(const std::vector<std::pair<double, double>>& line,
                                                  std::size_t max_points);

// `text` fit for HTML text and attribute values: & < > " ' escaped.
std::string htmlEscape(std::string_view text);

// The page.
std::string reportHtml(const FleetReport& report);

}  // namespace rightsize::report

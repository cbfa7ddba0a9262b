#include "simulate_report.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>

#include "rightsize/core/json.h"
#include "rightsize/core/text.h"

namespace rightsize::cli {
namespace {

// Characters safe in a file name.
std::string fileSafe(std::string_view text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  while (!out.empty() && out.front() == '_') out.erase(out.begin());
  return out;
}

// `text` as a Markdown code span (CommonMark): fenced by one backtick more
// than its longest run of them, and padded with a space where it begins or
// ends with one, so an app id of any characters reads as itself.
std::string markdownCode(std::string_view text) {
  std::size_t longest = 0;
  for (std::size_t run = 0; const char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(longest + 1, '`');
  const bool pad = !text.empty() && (text.front() == '`' || text.back() == '`');
  return fence + (pad ? " " : "") + std::string(text) + (pad ? " " : "") + fence;
}

std::string xmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A line chart of used and reserved over time: CPU on top, memory below when
// the app has it.
std::string plot(const simulate::AppResult& app, const std::string& policy) {
  constexpr int kWidth = 900;
  constexpr int kPanel = 220;
  constexpr int kLeft = 70;
  constexpr int kTop = 40;
  const bool has_mem = std::any_of(app.series.begin(), app.series.end(),
                                   [](const simulate::SeriesPoint& p) { return p.mem_used_mib && p.mem_reserved_mib; });
  const int height = kTop + kPanel + (has_mem ? kPanel + 50 : 0) + 40;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kWidth) + "\" height=\"" +
                    std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + std::to_string(kLeft) + "\" y=\"20\" font-size=\"14\">" + xmlEscape(app.app_id) + " — " +
         xmlEscape(policy) + ": reserved (blue) vs used (orange)</text>\n";
  if (app.series.empty()) return svg + "</svg>\n";
  const double t0 = toUnixSeconds(app.series.front().at);
  const double t1 = std::max(t0 + 1, toUnixSeconds(app.series.back().at));
  const int plot_width = kWidth - kLeft - 20;
  auto panel = [&](int top, const char* unit, auto used_of, auto reserved_of) {
    double top_value = 0;
    for (const auto& p : app.series) {
      if (auto u = used_of(p)) top_value = std::max(top_value, *u);
      if (auto r = reserved_of(p)) top_value = std::max(top_value, *r);
    }
    top_value = top_value > 0 ? top_value * 1.1 : 1;
    auto x = [&](const simulate::SeriesPoint& p) {
      return kLeft + (toUnixSeconds(p.at) - t0) / (t1 - t0) * plot_width;
    };
    auto y = [&](double v) { return top + kPanel - v / top_value * kPanel; };
    std::string out = "<rect x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(top) + "\" width=\"" +
                      std::to_string(plot_width) + "\" height=\"" + std::to_string(kPanel) +
                      "\" fill=\"none\" stroke=\"#999\"/>\n";
    out +=
        "<text x=\"5\" y=\"" + std::to_string(top + 12) + "\">" + formatFixed(top_value, 2) + " " + unit + "</text>\n";
    out += "<text x=\"5\" y=\"" + std::to_string(top + kPanel) + "\">0</text>\n";
    for (int series = 0; series < 2; ++series) {
      std::string points;
      for (const auto& p : app.series) {
        const auto v = series == 0 ? used_of(p) : reserved_of(p);
        if (!v) continue;
        points += formatFixed(x(p), 1) + "," + formatFixed(y(*v), 1) + " ";
      }
      out += std::string("<polyline fill=\"none\" stroke=\"") + (series == 0 ? "#e6550d" : "#3182bd") +
             "\" stroke-width=\"" + (series == 0 ? "1" : "2") + "\" points=\"" + points + "\"/>\n";
    }
    return out;
  };
  svg += panel(
      kTop, "cores", [](const simulate::SeriesPoint& p) { return std::optional<double>(p.cpu_used); },
      [](const simulate::SeriesPoint& p) { return std::optional<double>(p.cpu_reserved); });
  if (has_mem) {
    svg += panel(
        kTop + kPanel + 50, "MiB", [](const simulate::SeriesPoint& p) { return p.mem_used_mib; },
        [](const simulate::SeriesPoint& p) { return p.mem_reserved_mib; });
  }
  svg += "<text x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(height - 10) + "\">" +
         formatFixed((t1 - t0) / 3600, 1) + " hours</text>\n";
  return svg + "</svg>\n";
}

}  // namespace

Status writeFile(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  out.close();
  if (!out) return Error(ErrorKind::kUnreadable, "cannot write " + path.string() + ": " + systemErrorText(errno));
  return Status::success();
}

Status writeReport(const std::string& directory, const std::string& trace_name,
                   const std::vector<simulate::PolicyResult>& results) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return Error(ErrorKind::kUnreadable, "cannot create " + directory + ": " + error.message());
  const std::filesystem::path dir(directory);
  std::string summary = "# rightsize simulate: " + trace_name + "\n\n";
  if (!results.empty()) {
    summary += std::to_string(results.front().apps) + " apps, " + std::to_string(results.front().samples) +
               " samples, " + formatFixed(results.front().days, 1) + " days, CPU isolation " +
               std::string(simulate::cpuIsolationName(results.front().cpu_isolation)) + ".\n\n";
  }
  summary +=
      "| policy | CPU core-hours | of the trace's | CPU slack % | CPU insufficient samples % | CPU demand unmet % | "
      "memory GiB-hours | of the trace's | memory insufficient samples % | redeploys per app-day | restarts per "
      "app-day | restarts per app-day after each app's first redeploy "
      "|\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : results) {
    auto share = [](const simulate::ResourceFigures& f) {
      return f.static_reserved_hours > 0 ? formatFixed(100 * f.reserved_hours / f.static_reserved_hours, 1) + "%" : "–";
    };
    // A trace without memory figures: "–", not 0 reserved.
    const bool mem = r.mem.samples > 0;
    summary += "| " + r.policy + " | " + formatFixed(r.cpu.reserved_hours, 0) + " | " + share(r.cpu) + " | " +
               formatFixed(r.cpu.slackPct(), 1) + " | " + formatFixed(r.cpu.insufficientPct(), 2) + " | " +
               formatFixed(r.cpu.unmetPct(), 2) + " | " + (mem ? formatFixed(r.mem.reserved_hours, 0) : "–") + " | " +
               share(r.mem) + " | " + (mem ? formatFixed(r.mem.insufficientPct(), 2) : "–") + " | " +
               formatFixed(r.redeploysPerAppDay(), 3) + " | " + formatFixed(r.restartsPerAppDay(), 3) + " | " +
               (r.restartsPerAppDayAfterFirstRedeploy() ? formatFixed(*r.restartsPerAppDayAfterFirstRedeploy(), 3)
                                                        : std::string("–")) +
               " |\n";
  }
  for (const auto& r : results) {
    // A limit: empty when it is the request, "unlimited", or the number.
    const auto limit = [](const std::optional<double>& value, int decimals) {
      return !value                      ? std::string()
             : sizing::unlimited(*value) ? std::string("unlimited")
                                         : formatFixed(*value, decimals);
    };
    std::string csv =
        "app,timestamp_s,cpu_used_cores,cpu_reserved_cores,mem_used_mb,mem_reserved_mb,cpu_limit_cores,mem_limit_mb\n";
    for (const auto& app : r.per_app) {
      for (const auto& p : app.series) {
        csv += csvField(app.app_id) + "," + formatFixed(toUnixSeconds(p.at), 0) + "," + formatFixed(p.cpu_used, 4) +
               "," + formatFixed(p.cpu_reserved, 4) + "," + (p.mem_used_mib ? formatFixed(*p.mem_used_mib, 1) : "") +
               "," + (p.mem_reserved_mib ? formatFixed(*p.mem_reserved_mib, 1) : "") + "," + limit(p.cpu_limit, 4) +
               "," + limit(p.mem_limit_mib, 1) + "\n";
      }
    }
    if (Status s = writeFile(dir / (fileSafe(r.policy) + ".csv"), csv); !s) return s;
    // Worst, median and best apps by CPU core-hours saved.
    std::vector<const simulate::AppResult*> apps;
    for (const auto& app : r.per_app) {
      if (!app.series.empty()) apps.push_back(&app);
    }
    if (apps.empty()) continue;
    std::sort(apps.begin(), apps.end(), [](const simulate::AppResult* a, const simulate::AppResult* b) {
      return a->cpu.static_reserved_hours - a->cpu.reserved_hours <
             b->cpu.static_reserved_hours - b->cpu.reserved_hours;
    });
    summary +=
        "\n## " + r.policy + "\n\nPer-app series: [" + fileSafe(r.policy) + ".csv](" + fileSafe(r.policy) + ".csv)\n\n";
    const std::vector<std::pair<std::string, const simulate::AppResult*>> picks = {
        {"worst", apps.front()}, {"median", apps[apps.size() / 2]}, {"best", apps.back()}};
    for (const auto& [rank, app] : picks) {
      const std::string file = fileSafe(r.policy) + "-" + rank + ".svg";
      if (Status s = writeFile(dir / file, plot(*app, r.policy)); !s) return s;
      summary += "**" + rank + "**: " + markdownCode(app->app_id) + ", " +
                 formatFixed(app->cpu.static_reserved_hours - app->cpu.reserved_hours, 1) +
                 " core-hours saved, CPU insufficient in " + formatFixed(app->cpu.insufficientPct(), 1) +
                 "% of samples, " + std::to_string(app->redeploys) + " redeploys\n\n![" + rank + "](" + file + ")\n\n";
    }
  }
  return writeFile(dir / "summary.md", summary);
}

int runGrid(const simulate::Trace& trace, const simulate::ReplayOptions& options,
            const simulate::RightsizePolicyOptions& rightsize, double max_insufficient_pct, bool json) {
  struct Candidate {
    sizing::Band cpu_band;
    sizing::Band mem_band;
    Duration sustain;
    simulate::PolicyResult result;
  };
  std::vector<Candidate> candidates;
  simulate::ReplayOptions quiet = options;
  quiet.keep_series = false;
  for (double cpu_low : {-0.2, -0.1, 0.0}) {
    for (double cpu_high : {0.2, 0.4, 0.6, 1.0}) {
      for (double mem_high : {256.0, 512.0, 1024.0}) {
        for (Duration sustain : {Duration(std::chrono::minutes(10)), Duration(std::chrono::minutes(30))}) {
          simulate::RightsizePolicyOptions policy = rightsize;
          policy.settings.cpu_band = {cpu_low, cpu_high};
          policy.settings.mem_band = {-64, mem_high};
          policy.policy.sustain = sustain;
          auto spec = simulate::rightsizePolicy(policy);
          simulate::PolicyResult result = simulate::replay(trace, spec, quiet);
          // Only totals are compared: every setting's per-app results would
          // hold 72 copies of the trace's apps (5 GB for 400k apps).
          std::vector<simulate::AppResult>().swap(result.per_app);  // `= {}` would keep the capacity
          candidates.push_back({policy.settings.cpu_band, policy.settings.mem_band, sustain, std::move(result)});
        }
      }
    }
  }
  const Candidate* best = nullptr;
  for (const auto& c : candidates) {
    const bool qualifies = c.result.cpu.insufficientPct() <= max_insufficient_pct &&
                           c.result.mem.insufficientPct() <= max_insufficient_pct;
    if (qualifies && (best == nullptr || c.result.cpu.reserved_hours < best->result.cpu.reserved_hours)) best = &c;
  }
  auto describe = [](const Candidate& c) {
    return "cpu band " + formatFixed(c.cpu_band.low, 2) + ":" + formatFixed(c.cpu_band.high, 2) + ", mem band " +
           formatFixed(c.mem_band.low, 0) + ":" + formatFixed(c.mem_band.high, 0) + ", sustain " +
           formatDuration(c.sustain);
  };
  if (json) {
    for (const auto& c : candidates) {
      std::printf("{\"cpu_band\": [%g, %g], \"mem_band\": [%g, %g], \"sustain_s\": %g, \"best\": %s, \"result\": %s}\n",
                  c.cpu_band.low, c.cpu_band.high, c.mem_band.low, c.mem_band.high, toSeconds(c.sustain),
                  &c == best ? "true" : "false", simulate::resultJson(c.result).c_str());
    }
  } else {
    std::printf("%-55s %12s %8s %8s %11s\n", "setting", "cpu core-h", "cpu ins%", "mem ins%", "redeploys/d");
    for (const auto& c : candidates) {
      std::printf("%-55s %12s %8s %8s %11s%s\n", describe(c).c_str(),
                  formatFixed(c.result.cpu.reserved_hours, 0).c_str(),
                  formatFixed(c.result.cpu.insufficientPct(), 2).c_str(),
                  formatFixed(c.result.mem.insufficientPct(), 2).c_str(),
                  formatFixed(c.result.redeploysPerAppDay(), 3).c_str(), &c == best ? "  <- best" : "");
    }
  }
  if (best == nullptr) {
    std::fprintf(stderr, "no setting keeps the insufficient-sample rate at or under %g%%\n", max_insufficient_pct);
    return 1;
  }
  if (!json) {
    std::printf(
        "\nmost efficient within %g%% insufficient samples: %s (--cpu-band %g:%g --mem-band %g:%g --sustain %s)\n",
        max_insufficient_pct, describe(*best).c_str(), best->cpu_band.low, best->cpu_band.high, best->mem_band.low,
        best->mem_band.high, formatDuration(best->sustain).c_str());
  }
  return 0;
}

}  // namespace rightsize::cli
